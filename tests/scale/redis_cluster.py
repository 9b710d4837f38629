"""A private Redis Cluster for the scale tests: three masters and three replicas of ``redis-server`` on
free loopback ports, in a temporary directory, made a cluster by ``redis-cli --cluster create``.

``RedisCluster`` (this class, not redis-py's) starts, inspects, kills and restarts its nodes;
``require_redis_binaries()`` skips a test without ``redis-server``/``redis-cli`` locally and fails it
under ``CI=true``. Nothing here touches the machine's shared Redis.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass

import pytest
import redis


def require_redis_binaries() -> None:
    """Skip (fail under ``CI=true``) when ``redis-server`` or ``redis-cli`` is not installed."""
    missing = [name for name in ("redis-server", "redis-cli") if shutil.which(name) is None]
    if missing:
        message = f"{', '.join(missing)} not installed: the Redis Cluster tests start their own cluster"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _cluster_ports(count: int) -> list[int]:
    """``count`` free ports whose cluster bus ports (port + 10000) are free too."""
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port + 10000 < 65536 and port not in ports and _port_free(port + 10000):
            ports.append(port)
        elif port + 10000 >= 65536:
            # Ephemeral ports are often above 55535: pick from the low range instead.
            for candidate in range(20000 + os.getpid() % 5000, 40000):
                if candidate not in ports and _port_free(candidate) and _port_free(candidate + 10000):
                    ports.append(candidate)
                    break
    return ports


@dataclass
class Node:
    port: int
    dir: str
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def client(self, **kwargs) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2, socket_connect_timeout=1, **kwargs)


class RedisCluster:
    """``masters`` masters with one replica each; ``node_timeout_ms`` is ``cluster-node-timeout``
    (how long a master must be unreachable before its replica is promoted)."""

    def __init__(self, *, masters: int = 3, node_timeout_ms: int = 1000) -> None:
        self.node_timeout_ms = node_timeout_ms
        self.root = tempfile.mkdtemp(prefix="paeshift-cluster-")
        self.nodes = []
        for port in _cluster_ports(masters * 2):
            path = os.path.join(self.root, str(port))
            os.mkdir(path)
            self.nodes.append(Node(port, path))

    @property
    def url(self) -> str:
        """A node's URL, what ``REDIS_URL`` names with ``REDIS_CLUSTER=true`` (redis-py finds the rest)."""
        return self.nodes[0].url

    def _launch(self, node: Node) -> None:
        node.process = subprocess.Popen(
            [
                shutil.which("redis-server"),
                *("--port", str(node.port), "--bind", "127.0.0.1", "--dir", node.dir),
                *("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"),
                *("--cluster-node-timeout", str(self.node_timeout_ms)),
                *("--save", "", "--appendonly", "no"),
                # A replica that rejoins syncs at once (Redis waits 5 s by default for more replicas).
                *("--repl-diskless-sync-delay", "0"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                node.client().ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def start(self) -> "RedisCluster":
        for node in self.nodes:
            self._launch(node)
        subprocess.run(
            [
                shutil.which("redis-cli"),
                "--cluster",
                "create",
                *(f"127.0.0.1:{node.port}" for node in self.nodes),
                "--cluster-replicas",
                "1",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        self.wait_healthy()
        return self

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Until every running node says ``cluster_state:ok`` and each master has a replica in sync (``online``)."""
        deadline = time.monotonic() + timeout
        while True:
            if self._healthy():
                return
            if time.monotonic() > deadline:
                raise TimeoutError("the Redis Cluster did not become healthy")
            time.sleep(0.05)

    def _healthy(self) -> bool:
        running = [node for node in self.nodes if node.process is not None]
        try:
            for node in running:
                if node.client().cluster("info").get("cluster_state") != "ok":
                    return False
            masters = self.masters()
            if len(masters) * 2 != len(running):
                return False
            for node in masters:
                replica = node.client().info("replication").get("slave0")
                if not replica or replica.get("state") != "online":
                    return False
            return True
        except redis.RedisError:
            return False

    def masters(self) -> list[Node]:
        """The running nodes that are masters now."""
        found = []
        for node in self.nodes:
            if node.process is None:
                continue
            with contextlib.suppress(redis.RedisError):
                if node.client().info("replication")["role"] == "master":
                    found.append(node)
        return found

    def master_of(self, key: str) -> Node:
        """The running node that serves ``key``'s slot as master now."""
        slot = redis.crc.key_slot(key.encode())
        for node in self.masters():
            for start, end, *_ in node.client().cluster("slots"):
                if start <= slot <= end and int(_[0][1]) == node.port:
                    return node
        raise LookupError(f"no master serves slot {slot}")

    def replica_of(self, master: Node) -> Node:
        info = master.client().info("replication")
        return next(node for node in self.nodes if node.port == int(info["slave0"]["port"]))

    def cut_replication(self, master: Node) -> None:
        """Close ``master``'s replication links (``CLIENT KILL TYPE replica``): what it acknowledges from
        now on reaches no replica until the replica reconnects. With the replica paused first, the
        replica cannot reconnect: writes acknowledged then exist on the master alone."""
        master.client().execute_command("CLIENT", "KILL", "TYPE", "replica")

    def kill(self, node: Node) -> None:
        """SIGKILL: no shutdown, no last replication, as a crash."""
        os.kill(node.process.pid, signal.SIGKILL)
        node.process.wait(timeout=10)
        node.process = None

    def pause(self, node: Node) -> None:
        os.kill(node.process.pid, signal.SIGSTOP)

    def resume(self, node: Node) -> None:
        os.kill(node.process.pid, signal.SIGCONT)

    def restart(self, node: Node) -> None:
        """Start a killed node again on its port and directory (it rejoins from its ``nodes.conf``)."""
        self._launch(node)

    def close(self) -> None:
        for node in self.nodes:
            if node.process is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(node.process.pid, signal.SIGCONT)
                node.process.kill()
                node.process.wait(timeout=10)
                node.process = None
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def running_cluster(**kwargs):
    """A started ``RedisCluster``, torn down on exit (skips without the binaries; fails under CI)."""
    require_redis_binaries()
    cluster = RedisCluster(**kwargs)
    try:
        yield cluster.start()
    finally:
        cluster.close()
