"""RabbitMQ for the scale tests: a virtual host of their own on the machine's RabbitMQ.

The broker is the machine's RabbitMQ (``RABBITMQ_URL``, default ``amqp://guest:guest@127.0.0.1:5672/``;
.ci/run starts it). Each test gets a fresh virtual host (``paeshift_scale_<random>``, created with
``rabbitmqctl`` and deleted afterwards), so its queues are its own and other runs sharing the broker
are never touched. Skipped locally when RabbitMQ does not answer or ``rabbitmqctl`` is missing; failed
under ``CI=true``.
"""

import os
import secrets
import shutil
import socket
import subprocess
from urllib.parse import quote, urlsplit

import pytest

RABBITMQ_URL = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"RabbitMQ is needed under CI (.ci/run starts it): {reason}")
    pytest.skip(f"needs RabbitMQ: {reason}")


def _rabbitmqctl(*args: str) -> None:
    result = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=60, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {result.stdout}{result.stderr}")


def rabbitmq_vhost():
    """A generator for a fixture: yields the ``amqp://`` URL of a new virtual host, deleted afterwards."""
    parts = urlsplit(RABBITMQ_URL)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5672), timeout=2):
            pass
    except OSError as exc:
        _unavailable(f"{RABBITMQ_URL} does not answer ({exc})")
    if shutil.which("rabbitmqctl") is None:
        _unavailable("rabbitmqctl is not installed (the tests create a virtual host of their own)")
    vhost = f"paeshift_scale_{secrets.token_hex(4)}"
    user = parts.username or "guest"
    _rabbitmqctl("add_vhost", vhost)
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
        yield f"{parts.scheme}://{parts.netloc}/{quote(vhost, safe='')}"
    finally:
        _rabbitmqctl("delete_vhost", vhost)
