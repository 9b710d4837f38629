"""Where hot payloads, generations and counters live: Redis (``RedisStore``), or process memory (``LocalStore``).

Both implement ``HotStore``, whose docstrings give each method's answer and what it answers when
Redis is unreachable: down, paused, refusing writes, the circuit open, or (for the reads served to
clients) not asked because an invalidation is lost and not yet replayed (``outage.pending()``, so
requests are answered from the database: "bypass"). The rule throughout: a method that reads
returns ``None`` where Redis did not answer (a generation, an epoch, a whole answer), never a
made-up value that could pass for one Redis holds; a method that writes returns ``False`` (or
``None`` for what it would have computed) when nothing was applied. ``LocalStore`` is never
unreachable. The key layout and the payload format are in ``payload.py``.

Every Redis call goes through the shared circuit breaker (``guard.guarded_call``), as the cache
backend's calls do.
"""

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from django.conf import settings
from django.core.cache import caches
from redis.crc import REDIS_CLUSTER_HASH_SLOTS

from backend.caching.backends import ResilientRedisCache
from backend.caching.breaker import REDIS, breaker_for
from backend.caching.cluster import (
    check_replicated,
    is_cluster,
    redis_py_faults_as_failures,
    require_replicas,
    set_replicated,
    wait_for_replicas,
)
from backend.caching.guard import guarded_call
from backend.caching.payload import (
    EPOCH_KEY,
    NO_EPOCH,
    KeyLayout,
    Payload,
    epoch_key_of_slot,
    gen_key,
    layout_for,
    marker_key,
    new_generation,
    payload_key,
)
from backend.observability.meter import count_cache_round_trip

STAT_FIELDS = ("hits", "misses", "stale_rejects", "rebuilds", "rebuild_failures")
LATENCY_WINDOW = 1000

T = TypeVar("T")
Key = tuple[str, int]


@dataclass(frozen=True)
class ReadResult:
    """One key as read on a request: its generation, the epoch and the stored payload.

    ``reachable=False``: Redis did not answer (or was not asked); then all three are None.
    """

    gen: bytes | None
    epoch: bytes | None
    payload: Payload | None
    reachable: bool = True


UNREACHABLE = ReadResult(None, None, None, reachable=False)
_PREFETCHED = "_hot_cache_prefetched"


def keep_prefetched(request, ns: str, key_id: int, result: ReadResult) -> None:
    """Keep on ``request`` a read of ``(ns, key_id)`` made earlier in the request (with the token's
    entry, in one round trip: ``backend.accounts.authentication``), for ``read.respond`` to use
    instead of reading again. That read counted the key's popularity."""
    setattr(request, _PREFETCHED, (ns, key_id, result))


def take_prefetched(request, ns: str, key_id: int) -> ReadResult | None:
    """The read ``keep_prefetched`` kept for ``(ns, key_id)``, once; None if none was (or it was of another key)."""
    kept = vars(request).pop(_PREFETCHED, None)
    return kept[2] if kept is not None and kept[:2] == (ns, key_id) else None


class PendingCounters:
    """Counters kept in process memory and written with the next Redis round trip (no extra trip).

    Keyed by ``(hash key, field)``: the hot caches' ``hc:stats:{ns}`` and any other counter hash a
    caller keeps in the cache's Redis (the request metrics' ``ops:http``, backend/ops). ``age()`` is
    how long the oldest unsent count has waited, for callers that bound it with a flush of their own.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter = Counter()
        self._since: float | None = None  # time.monotonic() of the oldest unsent count

    def add(self, key: str, field: str, n: int = 1) -> None:
        with self._lock:
            self._counts[(key, field)] += n
            if self._since is None:
                self._since = time.monotonic()

    def drain(self) -> dict:
        with self._lock:
            counts, self._counts, self._since = self._counts, Counter(), None
        return counts

    def restore(self, counts: dict) -> None:
        if not counts:
            return
        with self._lock:
            self._counts.update(counts)
            if self._since is None:
                self._since = time.monotonic()

    def age(self) -> float:
        """Seconds the oldest unsent count has waited (0.0 when there is none)."""
        since = self._since
        return 0.0 if since is None else time.monotonic() - since


def _replicate(client, pipe, keys: list[str]) -> list:
    """On a Redis Cluster, ``WAIT`` for the replicas of ``keys``' masters at the end of ``pipe``
    (``cluster.wait_for_replicas``); nothing on a single server."""
    return wait_for_replicas(client, pipe, keys) if is_cluster(client) else []


def _replicated(client, waited: list, results: list) -> None:
    """Raise ``cluster.NotReplicated`` unless the ``WAIT``s queued by ``_replicate`` (the last
    ``len(waited)`` of ``results``) all saw a replica; removes them from ``results``."""
    if waited:
        replies = results[len(results) - len(waited) :]
        del results[len(results) - len(waited) :]
        check_replicated(client, waited, replies)


def _hincrby_all(pipe, counts: dict) -> None:
    for (key, field), n in counts.items():
        pipe.hincrby(key, field, n)


pending_counters = PendingCounters()


class HotStore(Protocol):
    """The hot caches' store. "Unreachable" below: Redis down, paused, refusing the command (out of
    memory, read-only replica, paused for writes), or skipped because the circuit is open.
    ``LocalStore`` is never unreachable. Keys and payload format: ``payload.py``."""

    def read(self, ns: str, key_id: int, *, record_access: bool) -> ReadResult:
        """Generation, epoch (``NO_EPOCH`` before the first bump) and decoded payload (None if absent or
        malformed) in one round trip; ``record_access`` counts the read towards the key's popularity.
        Unreachable, or not asked because an invalidation is pending: ``UNREACHABLE``
        (``reachable=False``, the rest None)."""
        ...

    def read_many(self, reads: list[tuple[str, int, bool]]) -> list[ReadResult]:
        """``read()`` of each ``(ns, key_id, record_access)``, in their order, in one round trip (a
        request's token entry and its hot payload). Unreachable, or an invalidation pending:
        ``UNREACHABLE`` for each."""
        ...

    def read_generation(self, ns: str, key_id: int) -> tuple[bytes | None, bytes | None]:
        """``(generation or None if the key has none, epoch)``. Unreachable, or an invalidation
        pending: ``(None, None)``."""
        ...

    def ensure_generation(self, ns: str, key_id: int) -> tuple[bytes | None, bytes | None]:
        """``(generation, epoch)``, the generation created (time-based, ``HOT_CACHE_GENERATION_TTL``)
        if the key had none. Unreachable: ``(None, None)``."""
        ...

    def store(self, ns: str, key_id: int, payload: Payload, ttl: float, *, latency_ms: float | None = None) -> bool:
        """Store ``payload`` for ``ttl`` seconds (a non-200 for ``HOT_CACHE_NOT_FOUND_TTL`` at most, its
        generation too), keep ``HOT_CACHE_POPULARITY_KEEP`` popular keys per namespace, record
        ``latency_ms`` (commit-to-warm, ms) if given. True when stored; unreachable: False."""
        ...

    def acquire_lock(self, ns: str, key_id: int, ttl: float) -> bool | None:
        """Take the key's build lock for ``ttl`` seconds: True if taken, False if another holder has
        it. Unreachable: None."""
        ...

    def release_lock(self, ns: str, key_id: int) -> None:
        """Release the key's build lock. Returns None; unreachable: None too (the lock expires by its ttl)."""
        ...

    def bump(
        self, keys: Iterable[Key], *, window: float, popular: float = 0.0
    ) -> tuple[list[Key], list[tuple[Key, float]]] | None:
        """New generations for ``keys``; returns the rebuilds to enqueue, ``(leading, trailing)``.

        A key whose last leading rebuild is more than ``window`` seconds old gets a leading rebuild,
        enqueued at once. Otherwise it gets at most one trailing rebuild, due when the window closes:
        ``trailing`` holds ``(key, seconds_until_due)``. So a burst of writes to one key enqueues two
        rebuilds, and the last write of the burst is always followed by one. Only keys whose
        popularity (the decayed count of reads, ``hc:pop:{ns}``) is at least ``popular`` are returned:
        the others are invalidated all the same and built by their next read. Read in the same round
        trip as the bump. Unreachable: None, and the lost invalidation is recorded for replay
        (``outage.record_lost_write``)."""
        ...

    def bump_epoch(self) -> bool:
        """Set a new epoch (time-based): every payload stored before becomes unservable. True when
        set (on a Redis Cluster: in every hash slot, each confirmed by the slot's replica);
        unreachable, or any slot not set: False."""
        ...

    def epoch(self) -> bytes | None:
        """The current epoch (``NO_EPOCH`` before the first bump; on a Redis Cluster, the last one that
        every hash slot was given). Unreachable: None."""
        ...

    def top_keys(self, ns: str, k: int) -> list[int]:
        """The ``k`` most popular key ids of ``ns``, most popular first. Unreachable: ``[]``."""
        ...

    def payloads(
        self, ns: str, key_ids: list[int]
    ) -> tuple[list[bytes | None], list[Payload | None], list[bytes | None]]:
        """``(generations, payloads, epochs)`` for ``key_ids``, in their order, in one round trip (None
        for a key without one; each key's epoch, which on a Redis Cluster is its hash slot's).
        Unreachable: ``([None] * n, [None] * n, [None] * n)``."""
        ...

    def decay_popularity(self, namespaces: Iterable[str], factor: float, keep: int) -> None:
        """Multiply every popularity by ``factor``, drop those below 0.01, keep the ``keep`` most
        popular per namespace. Returns None; unreachable: None (nothing decayed)."""
        ...

    def count(self, ns: str, field: str, n: int = 1) -> None:
        """Add ``n`` to a counter of ``ns`` (one of ``STAT_FIELDS``). In process memory until the next
        round trip carries it (``RedisStore``), so never fails; counts kept while unreachable are sent later."""
        ...

    def flush_counters(self) -> None:
        """Send the counters kept in process memory now. Unreachable: None, and they are kept for later."""
        ...

    def raw_stats(self, namespaces: Iterable[str]) -> dict[str, tuple[dict[str, int], list[float]]]:
        """``{ns: ({counter: value}, [recent commit-to-warm latencies, ms, newest first])}`` for every
        namespace asked. Unreachable: ``({}, [])`` for each."""
        ...

    def reset_stats(self, namespaces: Iterable[str]) -> None:
        """Zero the counters and latencies of ``namespaces``. Returns None; unreachable: None (not reset)."""
        ...

    def clear(self) -> None:
        """Delete everything the hot caches hold (tests, measurements). Returns None; unreachable: None
        (not cleared)."""
        ...


class RedisStore:
    """``HotStore`` on the Redis of Django's cache ``alias`` (a ``ResilientRedisCache``)."""

    def __init__(self, alias: str = "default") -> None:
        self.alias = alias
        self.breaker = breaker_for(REDIS)

    @property
    def client(self):
        return caches[self.alias].client.get_client(write=True)

    def _call(
        self,
        operation: Callable,
        fallback: T,
        *,
        write: bool,
        serves: bool = False,
        lost_write: str | None = None,
    ) -> T:
        """``operation(client)`` through the breaker (``guard.guarded_call``); ``fallback`` when Redis fails."""

        def attempt():
            count_cache_round_trip()  # one pipeline or command per attempt (Server-Timing)
            with redis_py_faults_as_failures():
                return operation(self.client)

        return guarded_call(
            self.breaker,
            attempt,
            lambda: fallback,
            write=write,
            serves=serves,
            lost_write=lost_write,
            alias=self.alias,
        )

    # -- read path ---------------------------------------------------------------------------

    def read(self, ns: str, key_id: int, *, record_access: bool) -> ReadResult:
        return self.read_many([(ns, key_id, record_access)])[0]

    def read_many(self, reads: list[tuple[str, int, bool]]) -> list[ReadResult]:
        counts = pending_counters.drain()  # piggybacked on this round trip

        def op(client):
            layout = layout_for(client)
            pipe = client.pipeline(transaction=False)
            if layout.cluster:
                # One MGET per hot key, each within its hash slot (its epoch is kept there too).
                for ns, key_id, _ in reads:
                    pipe.execute_command(
                        "MGET", layout.gen(ns, key_id), layout.payload(ns, key_id), layout.epoch(ns, key_id)
                    )
            else:
                names = [name for ns, key_id, _ in reads for name in (gen_key(ns, key_id), payload_key(ns, key_id))]
                pipe.mget(*names, EPOCH_KEY)
            for ns, key_id, record_access in reads:
                if record_access:
                    pipe.zincrby(f"hc:pop:{ns}", 1, key_id)
            _hincrby_all(pipe, counts)
            values = pipe.execute()
            if layout.cluster:
                return [values[i] for i in range(len(reads))]
            flat = values[0]
            return [[flat[2 * i], flat[2 * i + 1], flat[-1]] for i in range(len(reads))]

        # A read, though it counts: repeated after a replay, it counts twice (statistics only).
        values = self._call(op, None, write=False, serves=True)
        if values is None:
            pending_counters.restore(counts)
            return [UNREACHABLE] * len(reads)
        return [ReadResult(gen, epoch or NO_EPOCH, Payload.decode(raw)) for gen, raw, epoch in values]

    def read_generation(self, ns: str, key_id: int) -> tuple[bytes | None, bytes | None]:
        def op(client):
            layout = layout_for(client)
            return client.mget(layout.gen(ns, key_id), layout.epoch(ns, key_id))

        values = self._call(op, None, write=False, serves=True)
        if values is None:
            return None, None
        return values[0], values[1] or NO_EPOCH

    def ensure_generation(self, ns: str, key_id: int) -> tuple[bytes | None, bytes | None]:
        ttl_ms = int(settings.HOT_CACHE_GENERATION_TTL * 1000)

        def op(client):
            layout = layout_for(client)
            pipe = client.pipeline(transaction=False)
            pipe.set(layout.gen(ns, key_id), new_generation(), nx=True, px=ttl_ms)
            pipe.execute_command("MGET", layout.gen(ns, key_id), layout.epoch(ns, key_id))
            return pipe.execute()[1]

        # Creating a missing generation is idempotent: a read as far as repeating it goes.
        values = self._call(op, None, write=False)
        if values is None:
            return None, None
        return values[0], values[1] or NO_EPOCH

    def store(self, ns: str, key_id: int, payload: Payload, ttl: float, *, latency_ms: float | None = None) -> bool:
        counts = pending_counters.drain()
        found = payload.status == 200
        ttl_ms = int((ttl if found else min(ttl, settings.HOT_CACHE_NOT_FOUND_TTL)) * 1000)

        def op(client):
            layout = layout_for(client)
            pipe = client.pipeline(transaction=False)
            pipe.set(layout.payload(ns, key_id), payload.encode(), px=ttl_ms)
            if not found:
                # Shortening a generation is always safe: a missing generation is recreated
                # with a new value, so a payload can only lose its validity, never regain it.
                pipe.pexpire(layout.gen(ns, key_id), ttl_ms)
                pipe.zrem(f"hc:pop:{ns}", key_id)
            pipe.zremrangebyrank(f"hc:pop:{ns}", 0, -(settings.HOT_CACHE_POPULARITY_KEEP + 1))
            if latency_ms is not None:
                pipe.lpush(f"hc:lat:{ns}", round(latency_ms, 3))
                pipe.ltrim(f"hc:lat:{ns}", 0, LATENCY_WINDOW - 1)
            _hincrby_all(pipe, counts)
            pipe.execute()
            return True

        stored = self._call(op, False, write=True)
        if not stored:
            pending_counters.restore(counts)
        return stored

    def acquire_lock(self, ns: str, key_id: int, ttl: float) -> bool | None:
        ttl_ms = int(ttl * 1000)
        return self._call(
            lambda c: bool(c.set(layout_for(c).marker(ns, key_id, "l"), b"1", nx=True, px=ttl_ms)), None, write=True
        )

    def release_lock(self, ns: str, key_id: int) -> None:
        self._call(lambda c: c.delete(layout_for(c).marker(ns, key_id, "l")), None, write=True)

    # -- write path --------------------------------------------------------------------------

    def bump(
        self, keys: Iterable[Key], *, window: float, popular: float = 0.0
    ) -> tuple[list[Key], list[tuple[Key, float]]] | None:
        keys = list(dict.fromkeys(keys))
        gen_ttl_ms = int(settings.HOT_CACHE_GENERATION_TTL * 1000)
        window_ms = max(1, int(window * 1000))

        def op(client):
            layout = layout_for(client)
            pipe = client.pipeline(transaction=False)
            for ns, key_id in keys:
                pipe.set(layout.gen(ns, key_id), new_generation(), px=gen_ttl_ms)
                pipe.set(layout.marker(ns, key_id, "q"), b"1", nx=True, px=window_ms)
                pipe.pttl(layout.marker(ns, key_id, "q"))
                pipe.zscore(f"hc:pop:{ns}", key_id)
            waited = _replicate(client, pipe, [layout.gen(ns, key_id) for ns, key_id in keys])
            results = pipe.execute()
            _replicated(client, waited, results)
            leading, waiting = [], []
            for index, key in enumerate(keys):
                first, remaining_ms, score = results[4 * index + 1 : 4 * index + 4]
                if (score or 0.0) < popular:
                    continue  # invalidated; its next read builds it
                if first:
                    leading.append(key)
                else:
                    waiting.append((key, max(1, remaining_ms)))
            trailing = []
            if waiting:
                count_cache_round_trip()  # a second pipeline in the same operation
                pipe = client.pipeline(transaction=False)
                for (ns, key_id), remaining_ms in waiting:
                    pipe.set(layout.marker(ns, key_id, "t"), b"1", nx=True, px=remaining_ms)
                for (key, remaining_ms), first in zip(waiting, pipe.execute(), strict=True):
                    if first:
                        trailing.append((key, remaining_ms / 1000))
            return leading, trailing

        return self._call(op, None, write=True, lost_write="invalidation")

    def bump_epoch(self) -> bool:
        def op(client):
            epoch = new_generation()
            if not is_cluster(client):
                return client.set(EPOCH_KEY, epoch)
            # Every slot's epoch, each confirmed by its replica, then the summary ``epoch()`` reads.
            # Not sent while a master has no replica in sync: its ``WAIT`` would refuse it anyway.
            require_replicas(client)
            set_replicated(client, [epoch_key_of_slot(slot) for slot in range(REDIS_CLUSTER_HASH_SLOTS)], epoch)
            set_replicated(client, [EPOCH_KEY], epoch)
            return True

        return bool(self._call(op, False, write=True))

    def epoch(self) -> bytes | None:
        return self._call(lambda c: c.get(EPOCH_KEY) or NO_EPOCH, None, write=False)

    # -- warming and statistics -------------------------------------------------------------

    def top_keys(self, ns: str, k: int) -> list[int]:
        members = self._call(lambda c: c.zrevrange(f"hc:pop:{ns}", 0, k - 1), [], write=False)
        return [int(m) for m in members]

    def payloads(
        self, ns: str, key_ids: list[int]
    ) -> tuple[list[bytes | None], list[Payload | None], list[bytes | None]]:
        n = len(key_ids)
        if not key_ids:
            return [], [], []

        def op(client):
            layout: KeyLayout = layout_for(client)
            if layout.cluster:
                pipe = client.pipeline(transaction=False)
                for i in key_ids:
                    pipe.execute_command("MGET", layout.gen(ns, i), layout.payload(ns, i), layout.epoch(ns, i))
                return pipe.execute()
            keys = [gen_key(ns, i) for i in key_ids] + [payload_key(ns, i) for i in key_ids] + [EPOCH_KEY]
            values = client.mget(keys)
            return [(values[j], values[n + j], values[-1]) for j in range(n)]

        values = self._call(op, None, write=False)
        if values is None:
            return [None] * n, [None] * n, [None] * n
        return (
            [gen for gen, _, _ in values],
            [Payload.decode(raw) for _, raw, _ in values],
            [epoch or NO_EPOCH for _, _, epoch in values],
        )

    def decay_popularity(self, namespaces: Iterable[str], factor: float, keep: int) -> None:
        def op(client):
            pipe = client.pipeline(transaction=False)
            for ns in namespaces:
                key = f"hc:pop:{ns}"
                pipe.zunionstore(key, {key: factor})
                pipe.zremrangebyscore(key, "-inf", 0.01)
                pipe.zremrangebyrank(key, 0, -(keep + 1))
            pipe.execute()

        self._call(op, None, write=True)

    def count(self, ns: str, field: str, n: int = 1) -> None:
        pending_counters.add(f"hc:stats:{ns}", field, n)

    def flush_counters(self) -> None:
        counts = pending_counters.drain()
        if not counts:
            return

        def op(client):
            pipe = client.pipeline(transaction=False)
            _hincrby_all(pipe, counts)
            pipe.execute()
            return True

        if not self._call(op, False, write=True):
            pending_counters.restore(counts)

    def raw_stats(self, namespaces: Iterable[str]) -> dict[str, tuple[dict[str, int], list[float]]]:
        self.flush_counters()
        namespaces = list(namespaces)

        def op(client):
            pipe = client.pipeline(transaction=False)
            for ns in namespaces:
                pipe.hgetall(f"hc:stats:{ns}")
                pipe.lrange(f"hc:lat:{ns}", 0, -1)
            return pipe.execute()

        values = self._call(op, None, write=False) or [{}, []] * len(namespaces)
        result = {}
        for i, ns in enumerate(namespaces):
            counters = {k.decode(): int(v) for k, v in values[2 * i].items()}
            result[ns] = (counters, [float(v) for v in values[2 * i + 1]])
        return result

    def reset_stats(self, namespaces: Iterable[str]) -> None:
        pending_counters.drain()
        keys = [k for ns in namespaces for k in (f"hc:stats:{ns}", f"hc:lat:{ns}")]
        self._call(lambda c: c.delete(*keys), None, write=True)

    def clear(self) -> None:
        def op(client):
            for key in client.scan_iter(match="hc:*", count=1000):
                client.unlink(key)

        pending_counters.drain()
        self._call(op, None, write=True)


class LocalStore:
    """``HotStore`` in process memory: the embedded default (one process, no Redis), never unreachable."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._data: dict[str, tuple[object, float | None]] = {}
        self._popularity: dict[str, Counter] = defaultdict(Counter)
        self._stats: dict[str, Counter] = defaultdict(Counter)
        self._latency: dict[str, list[float]] = defaultdict(list)

    def _get(self, key: str):
        item = self._data.get(key)
        if item is None:
            return None
        value, expires = item
        if expires is not None and expires <= time.monotonic():
            del self._data[key]
            return None
        return value

    def _set(self, key: str, value, ttl: float | None, nx: bool = False) -> bool:
        if nx and self._get(key) is not None:
            return False
        self._data[key] = (value, None if ttl is None else time.monotonic() + ttl)
        return True

    def read(self, ns: str, key_id: int, *, record_access: bool) -> ReadResult:
        with self._lock:
            if record_access:
                self._popularity[ns][key_id] += 1
            return ReadResult(
                self._get(gen_key(ns, key_id)),
                self._get(EPOCH_KEY) or NO_EPOCH,
                Payload.decode(self._get(payload_key(ns, key_id))),
            )

    def read_many(self, reads: list[tuple[str, int, bool]]) -> list[ReadResult]:
        with self._lock:
            return [self.read(ns, key_id, record_access=record_access) for ns, key_id, record_access in reads]

    def read_generation(self, ns: str, key_id: int) -> tuple[bytes | None, bytes | None]:
        with self._lock:
            return self._get(gen_key(ns, key_id)), self._get(EPOCH_KEY) or NO_EPOCH

    def ensure_generation(self, ns: str, key_id: int) -> tuple[bytes | None, bytes | None]:
        with self._lock:
            self._set(gen_key(ns, key_id), new_generation(), settings.HOT_CACHE_GENERATION_TTL, nx=True)
            return self.read_generation(ns, key_id)

    def store(self, ns: str, key_id: int, payload: Payload, ttl: float, *, latency_ms: float | None = None) -> bool:
        with self._lock:
            if payload.status != 200:  # the same bounds as RedisStore.store
                ttl = min(ttl, settings.HOT_CACHE_NOT_FOUND_TTL)
                generation = self._get(gen_key(ns, key_id))
                if generation is not None:
                    self._set(gen_key(ns, key_id), generation, ttl)
                self._popularity[ns].pop(key_id, None)
            popularity = self._popularity[ns]
            if len(popularity) > settings.HOT_CACHE_POPULARITY_KEEP:
                self._popularity[ns] = Counter(dict(popularity.most_common(settings.HOT_CACHE_POPULARITY_KEEP)))
            self._set(payload_key(ns, key_id), payload.encode(), ttl)
            if latency_ms is not None:
                samples = self._latency[ns]
                samples.insert(0, round(latency_ms, 3))
                del samples[LATENCY_WINDOW:]
        return True

    def acquire_lock(self, ns: str, key_id: int, ttl: float) -> bool | None:
        with self._lock:
            return self._set(marker_key(ns, key_id, "l"), b"1", ttl, nx=True)

    def release_lock(self, ns: str, key_id: int) -> None:
        with self._lock:
            self._data.pop(marker_key(ns, key_id, "l"), None)

    def bump(
        self, keys: Iterable[Key], *, window: float, popular: float = 0.0
    ) -> tuple[list[Key], list[tuple[Key, float]]]:
        leading, trailing = [], []
        with self._lock:
            for ns, key_id in dict.fromkeys(keys):
                self._set(gen_key(ns, key_id), new_generation(), settings.HOT_CACHE_GENERATION_TTL)
                first = self._set(marker_key(ns, key_id, "q"), b"1", window, nx=True)
                if self._popularity[ns].get(key_id, 0.0) < popular:
                    continue  # invalidated; its next read builds it
                if first:
                    leading.append((ns, key_id))
                    continue
                remaining = max(0.001, self._data[marker_key(ns, key_id, "q")][1] - time.monotonic())
                if self._set(marker_key(ns, key_id, "t"), b"1", remaining, nx=True):
                    trailing.append(((ns, key_id), remaining))
        return leading, trailing

    def bump_epoch(self) -> bool:
        with self._lock:
            self._set(EPOCH_KEY, new_generation(), None)
        return True

    def epoch(self) -> bytes | None:
        with self._lock:
            return self._get(EPOCH_KEY) or NO_EPOCH

    def top_keys(self, ns: str, k: int) -> list[int]:
        with self._lock:
            return [key_id for key_id, _ in self._popularity[ns].most_common(k)]

    def payloads(
        self, ns: str, key_ids: list[int]
    ) -> tuple[list[bytes | None], list[Payload | None], list[bytes | None]]:
        with self._lock:
            gens = [self._get(gen_key(ns, i)) for i in key_ids]
            payloads = [Payload.decode(self._get(payload_key(ns, i))) for i in key_ids]
            return gens, payloads, [self._get(EPOCH_KEY) or NO_EPOCH] * len(key_ids)

    def decay_popularity(self, namespaces: Iterable[str], factor: float, keep: int) -> None:
        with self._lock:
            for ns in namespaces:
                decayed = Counter({k: v * factor for k, v in self._popularity[ns].items() if v * factor >= 0.01})
                self._popularity[ns] = Counter(dict(decayed.most_common(keep)))

    def count(self, ns: str, field: str, n: int = 1) -> None:
        with self._lock:
            self._stats[ns][field] += n

    def flush_counters(self) -> None:
        return None

    def raw_stats(self, namespaces: Iterable[str]) -> dict[str, tuple[dict[str, int], list[float]]]:
        with self._lock:
            return {ns: (dict(self._stats[ns]), list(self._latency[ns])) for ns in namespaces}

    def reset_stats(self, namespaces: Iterable[str]) -> None:
        with self._lock:
            for ns in namespaces:
                self._stats.pop(ns, None)
                self._latency.pop(ns, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._popularity.clear()
            self._stats.clear()
            self._latency.clear()


_local_store = LocalStore()
_redis_stores: dict[str, RedisStore] = {}


def get_store(alias: str = "default") -> HotStore:
    """The Redis store when Django's cache ``alias`` is Redis (``ResilientRedisCache``), else the in-process store."""
    if isinstance(caches[alias], ResilientRedisCache):
        if alias not in _redis_stores:
            _redis_stores[alias] = RedisStore(alias)
        return _redis_stores[alias]
    return _local_store
