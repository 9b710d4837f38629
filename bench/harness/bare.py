"""The bare WSGI reference row's server: gunicorn with the product's settings (config/gunicorn.conf.py,
so the same workers, threads, keep-alive and access log) serving bench/bare_wsgi.py instead of Django.

Kept apart from bench/stack.py's Procfile runner on purpose: it is one extra process for one window.
"""

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from bench.stack import BIN, REPO, free_port


@contextlib.contextmanager
def bare_wsgi_server(env: dict[str, str], log: Path, *, timeout: float = 30) -> Iterator[tuple[str, int]]:
    """``(url, pid)`` of gunicorn serving ``bench.bare_wsgi:application`` with ``env``'s worker settings
    (WEB_CONCURRENCY, GUNICORN_THREADS, GUNICORN_ACCESS_LOG) on a free port; stopped on exit."""
    port = free_port()
    argv = [str(BIN / "gunicorn"), "bench.bare_wsgi:application", "--config", "config/gunicorn.conf.py"]
    with log.open("ab") as output:
        process = subprocess.Popen(
            argv,
            cwd=REPO,
            env={**env, "PORT": str(port)},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the bare WSGI server exited with {process.returncode}; see {log}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the bare WSGI server did not listen within {timeout:.0f} s; see {log}")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
