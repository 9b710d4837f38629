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
