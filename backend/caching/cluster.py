"""The cache on a Redis Cluster: redis-py's ``RedisCluster`` under django-redis, and replicated invalidations.

django-redis has no cluster client (its maintainers leave it to plug-ins: jazzband/django-redis#208,
#606); its documented extension points are the connection factory (``CONNECTION_FACTORY``) and the
client class (``CLIENT_CLASS``). ``ClusterConnectionFactory`` makes one ``redis.cluster.RedisCluster``
per URL and process (redis-py keeps a pool per node itself, so django-redis's pool is not used);
``ClusterClient`` is django-redis's ``DefaultClient`` with the three calls that would send one
command across slots done per slot by redis-py (``get_many``: ``mget_nonatomic``; ``set_many``: a
cluster pipeline; ``delete_many``: redis-py's ``delete``, split per slot), and ``set_many``'s writes
replicated before it returns (below). Sharding, slot maps, ``MOVED``/``ASK`` and failover discovery
are redis-py's.

**Replicated invalidations.** A Redis master acknowledges a write before its replica has it; if the
master dies then, the replica promoted in its place has lost the write. For an invalidation (a
generation bump, an epoch bump, a cachalot table invalidation) that would bring a stale entry back
to life. So every write that invalidates is followed, on the same connection of the same node, by
``WAIT 1 <REDIS_CLUSTER_WAIT_MS>`` (``wait_for_replicas``): the write counts as done only when the
slot's replica has it, and a replica that has it is the only one a failover can promote (one replica
per master). If the replica does not confirm in time, the call raises ``NotReplicated``, a Redis
failure: the guard records the lost invalidation and the outage replay (epoch bump, every cachalot
table invalidated, itself replicated the same way) makes it harmless, as for any outage
(docs/caching.md, "Failures"). A master without a replica (its replica was promoted and it has not
come back yet) therefore confirms no invalidation: while a shard has no replica, the cache is
bypassed (reads from the database, writes succeed) and the replay waits for a replica. We chose
this over skipping the ``WAIT`` where the client's slot map shows no replica: that map is refreshed
only on errors and redirections, so a replica that joined since would go unwaited-for, and its
promotion would lose acknowledged invalidations. Writes that are not invalidations (payloads, locks,
counters, popularity) are not waited for: losing one loses a cached value (a miss) or a statistic,
never freshness (docs/scaling.md, "Failover").
"""

import contextlib
import os
import threading
import traceback
from typing import Any

import redis
from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django_redis.client import DefaultClient
from django_redis.exceptions import ConnectionInterrupted
from django_redis.pool import ConnectionFactory
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.retry import Retry


class NotReplicated(RedisError):
    """An invalidation reached a master but its replica did not confirm it in time (``WAIT``)."""


def is_cluster(client: Any) -> bool:
    return isinstance(client, RedisCluster)


def wait_for_replicas(client: RedisCluster, pipe, keys: list[str]) -> list[tuple[str, Any]]:
    """Queue ``WAIT 1 <REDIS_CLUSTER_WAIT_MS>`` on ``pipe`` for the master of each of ``keys``.

    Call after queuing the writes to ``keys`` on ``pipe`` (a ``RedisCluster`` pipeline: one
    connection per node, so the ``WAIT`` covers them). Returns what ``check_replicated`` needs after
    ``pipe.execute()``: ``[(node name, [keys])]`` in the order the ``WAIT``s were queued.
    """
    timeout_ms = int(settings.REDIS_CLUSTER_WAIT_MS)
    nodes: dict[str, tuple[Any, list[str]]] = {}
    for key in keys:
        primary = client.get_node_from_key(key)
        nodes.setdefault(primary.name, (primary, []))[1].append(key)
    for primary, _ in nodes.values():
        pipe.execute_command("WAIT", 1, timeout_ms, target_nodes=primary)
    return [(name, node_keys) for name, (_, node_keys) in nodes.items()]


def check_replicated(client: RedisCluster, waited: list[tuple[str, Any]], replies: list) -> None:
    """Raise ``NotReplicated`` unless every ``WAIT`` of ``wait_for_replicas`` saw a replica, and
    every key it covered is still on that node (a key redirected by ``MOVED`` during the pipeline
    was written on another connection, which the ``WAIT`` does not cover)."""
    for (name, keys), acknowledged in zip(waited, replies, strict=True):
        if isinstance(acknowledged, Exception) or int(acknowledged) < 1:
            raise NotReplicated(f"{name}: no replica confirmed the write ({acknowledged!r})")
        for key in keys:
            if client.get_node_from_key(key).name != name:
                raise NotReplicated(f"{key} moved from {name} during the write")


def require_replicas(client: RedisCluster) -> None:
    """Raise ``NotReplicated`` unless every master has a replica in sync (``INFO replication``: one
    command per master). A cheap check before a large write that would otherwise time out its
    ``WAIT``s; the ``WAIT``s still decide."""
    infos = client.info("replication", target_nodes=RedisCluster.PRIMARIES)
    for name, info in infos.items():
        online = [
            v for k, v in info.items() if k.startswith("slave") and isinstance(v, dict) and v.get("state") == "online"
        ]
        if not online:
            raise NotReplicated(f"{name} has no replica in sync")


# One command per master for many slots: Redis 7's ``allow-cross-slot-keys`` lets a script write keys
# of several slots, all served by the node that runs it (a key it does not serve is refused). The keys
# travel as arguments: declared keys must still share one slot.
_SET_ALL = """#!lua flags=allow-cross-slot-keys
for i = 2, #ARGV do redis.call('SET', ARGV[i], ARGV[1]) end
return #ARGV - 1
"""


def set_replicated(client: RedisCluster, names: list[str], value: bytes) -> None:
    """``SET name value`` for each of ``names`` (any number of slots), then ``WAIT 1`` on each master;
    raises ``NotReplicated`` unless every master's replica confirmed.

    For the replay's 16,384 epoch keys: one command per key through redis-py's cluster pipeline cost
    some 0.6 s of this process's CPU, so the keys are grouped by the master that redis-py's slot map
    gives them and written by one script per master (Redis 7.0+), followed by the ``WAIT`` on the same
    connection: about 20 ms. A key whose slot moved meanwhile is refused by the node (a Redis failure:
    the replay is retried, after a slot-map refresh).
    """
    timeout_ms = int(settings.REDIS_CLUSTER_WAIT_MS)
    by_node: dict[str, tuple[Any, list[str]]] = {}
    for name in names:
        node = client.get_node_from_key(name)
        by_node.setdefault(node.name, (node, []))[1].append(name)
    for node, node_names in by_node.values():
        pipe = client.get_redis_connection(node).pipeline(transaction=False)
        pipe.eval(_SET_ALL, 0, value, *node_names)
        pipe.execute_command("WAIT", 1, timeout_ms)
        try:
            _, acknowledged = pipe.execute()
        except RedisError:
            client.nodes_manager.initialize()  # the slot map may be out of date: look again next time
            raise
        if int(acknowledged) < 1:
            raise NotReplicated(f"{node.name}: no replica confirmed the write ({acknowledged!r})")


_REDIS_PY = os.path.dirname(redis.__file__)


@contextlib.contextmanager
def redis_py_faults_as_failures():
    """Turn an ``AttributeError``, ``TypeError`` or ``ValueError`` raised inside redis-py itself into a
    Redis failure (``redis.exceptions.ConnectionError``). redis-py's cluster client raises them while
    its slot map changes under it: a connection closed by another thread's topology refresh mid-read
    (``'NoneType' object has no attribute 'readline'``, ``I/O operation on closed file``, both seen
    here during a failover under load; redis/redis-py#3835 for another). The
    guard then treats them as it treats a refused connection: a miss, the breaker, a recorded lost
    write, never a 500. The same exceptions raised by our code or a caller's still propagate."""
    try:
        yield
    except (AttributeError, TypeError, ValueError) as exc:
        frames = traceback.extract_tb(exc.__traceback__)
        if frames and frames[-1].filename.startswith(_REDIS_PY):
            raise RedisConnectionError(f"redis-py failed mid-call: {exc!r}") from exc
        raise


class ClusterConnectionFactory(ConnectionFactory):
    """django-redis's ``CONNECTION_FACTORY`` for a Redis Cluster: one ``RedisCluster`` per URL and
    process. The URL names any node (``redis://host:port``, no database: a cluster has only 0);
    redis-py discovers the others. django-redis's ``SOCKET_TIMEOUT``/``SOCKET_CONNECT_TIMEOUT``
    apply to every node's connections."""

    _clusters: dict[str, RedisCluster] = {}
    _lock = threading.Lock()

    def connect(self, url: str) -> RedisCluster:
        params = self.make_connection_params(url)
        with self._lock:
            client = self._clusters.get(url)
            if client is None:
                params.pop("parser_class", None)
                client = RedisCluster.from_url(
                    params.pop("url"),
                    # The circuit breaker decides what a failure means: redis-py retries once, after
                    # refreshing its slot map, so a request does not wait out a failover.
                    retry=Retry(NoBackoff(), 1),
                    **params,
                )
                self._clusters[url] = client
        return client

    def disconnect(self, connection: RedisCluster) -> None:
        connection.disconnect_connection_pools()


class ClusterClient(DefaultClient):
    """django-redis's ``DefaultClient`` on a ``RedisCluster`` (with ``ClusterConnectionFactory``)."""

    def get_many(self, keys, version=None, client=None) -> dict:
        if client is None:
            client = self.get_client(write=False)
        if not keys:
            return {}
        map_keys = {self.make_key(k, version=version): k for k in keys}
        try:
            results = client.mget_nonatomic(list(map_keys))
        except RedisError as exc:
            raise ConnectionInterrupted(connection=client) from exc
        found = zip(map_keys, results, strict=True)
        return {map_keys[key]: self.decode(value) for key, value in found if value is not None}

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None, client=None) -> None:
        """As django-redis's, and replicated before it returns (cachalot invalidates tables with
        ``set_many``); raises ``NotReplicated`` (through ``ConnectionInterrupted``) otherwise."""
        if client is None:
            client = self.get_client(write=True)
        if not data:
            return
        try:
            pipe = client.pipeline(transaction=False)
            keys = []
            for key, value in data.items():
                self.set(key, value, timeout, version=version, client=pipe)
                keys.append(str(self.make_key(key, version=version)))
            waited = wait_for_replicas(client, pipe, keys)
            replies = pipe.execute()
            check_replicated(client, waited, replies[len(replies) - len(waited) :])
        except RedisError as exc:
            raise ConnectionInterrupted(connection=client) from exc
