"""A private PostgreSQL primary and a streaming replica of it, on loopback ports, torn down after.

The primary is ``tests/reliability/postgres_server.py``'s server (``wal_level = replica``, the
default, and initdb's ``pg_hba.conf`` lets local replication connections in); the replica is
``pg_basebackup -R`` of it (``standby.signal`` and ``primary_conninfo`` written for us) into another
temporary data directory, started on another port with ``recovery_min_apply_delay`` to simulate lag:
it receives the WAL at once and applies each commit that much later.
"""

import os
import shutil

import pytest

from tests.reliability.postgres_server import PostgresServer, _bin_dir


def require_postgres_binaries() -> None:
    """Skip without PostgreSQL's server programs locally; fail under CI=true (CI installs them)."""
    try:
        bin_dir = _bin_dir()
    except RuntimeError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"{exc}: CI must run the read-replica tests")
        pytest.skip(str(exc))
    if not (bin_dir / "pg_basebackup").exists() and shutil.which("pg_basebackup") is None:
        message = "pg_basebackup is not installed"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


class ReplicaPair:
    def __init__(self, apply_delay: str = "500ms") -> None:
        self.primary = PostgresServer()
        self.replica = PostgresServer()
        self.apply_delay = apply_delay

    def start(self) -> None:
        self.primary.init()
        self.primary.start()
        self.replica._run(
            "pg_basebackup",
            "-D",
            str(self.replica.data),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
            "--no-sync",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.primary.port),
            "-U",
            "postgres",
        )
        with (self.replica.data / "postgresql.auto.conf").open("a") as conf:
            conf.write(f"recovery_min_apply_delay = '{self.apply_delay}'\n")
        self.replica.start()

    def close(self) -> None:
        self.replica.close()
        self.primary.close()
