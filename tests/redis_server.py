"""A private redis-server for fault tests: started on a free port, stopped, paused and resumed at will.

Fault tests must not stop the machine's shared Redis, so they get their own real server.
"""

import os
import shutil
import signal
import subprocess
import tempfile
import time

import redis

from bench.stack import free_port


class RedisServer:
    def __init__(self, *options: str) -> None:
        """``options``: more redis-server arguments, e.g. ``"--maxmemory-policy", "allkeys-lru"``."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (the fault tests need their own Redis)")
        self.binary = binary
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="paeshift-redis-")
        self.process: subprocess.Popen | None = None
        self.options = list(options)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        options = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(
            [self.binary, *options, *self.options, "--dir", self.dir],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def pause(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def close(self) -> None:
        if self.process is not None:
            self.resume()
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


PAUSE_MS = 600_000  # longer than a test module; a paused server is killed at the end, never unpaused


class Faulty:
    """One private redis-server per fault, started on first use; ``close()`` kills them all.

    Faults: ``stopped``, ``paused`` (``CLIENT PAUSE ... ALL``: nothing answers), ``paused_for_writes``,
    ``out_of_memory`` (``noeviction``, every write refused), ``read_only_replica`` (of a master that
    never answers); any other name is a healthy server of its own.
    """

    def __init__(self) -> None:
        self.servers: dict[str, RedisServer] = {}

    def server(self, fault: str) -> RedisServer:
        if fault not in self.servers:
            server = RedisServer()
            server.start()
            self.servers[fault] = server
            control = redis.Redis.from_url(server.url, socket_timeout=5)
            if fault == "stopped":
                server.stop()
            elif fault == "paused":
                control.execute_command("CLIENT", "PAUSE", PAUSE_MS, "ALL")
            elif fault == "paused_for_writes":
                control.execute_command("CLIENT", "PAUSE", PAUSE_MS, "WRITE")
            elif fault == "out_of_memory":
                control.config_set("maxmemory-policy", "noeviction")
                control.config_set("maxmemory", 1)  # below what an empty server uses: every write is refused
            elif fault == "read_only_replica":
                control.replicaof("127.0.0.1", RedisServer().port)  # a master that never answers
        return self.servers[fault]

    def close(self) -> None:
        for server in self.servers.values():
            if server.process is not None:
                server.process.kill()
                server.process.wait(timeout=10)
                server.process = None
            server.close()
