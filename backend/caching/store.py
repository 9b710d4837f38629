"""Where hot payloads, generations and counters live: Redis, or an in-process store.

Keys (raw Redis keys, outside Django's cache key scheme so that one pipeline can mix them):

- ``hc:{ns}:{id}:g``  generation: a time-based value (ns since the epoch), replaced on every
  invalidation. Equality is all that matters; being time-based means that a counter lost to
  eviction is recreated with a value no old payload carries.
- ``hc:{ns}:{id}:p``  payload: ``b"{epoch}|{gen}|{status}|{built_ms}|{digest}|" + body``. Served only
  while its generation and epoch are the current ones. ``digest`` (32 hex digits, a hash of the
  body) is the ETag: computed once when the payload is built, so a hit or a 304 hashes nothing.
- ``hc:{ns}:{id}:q`` / ``:t``  coalescing markers (leading and trailing rebuild pending).
- ``hc:{ns}:{id}:l``  short build lock, so concurrent misses do not all hit the database.
- ``hc:epoch``  bumped after a cache outage: every payload stored before it becomes unservable.
- ``hc:pop:{ns}``  sorted set of key popularity (decayed by beat); ``hc:stats:{ns}`` counters;
  ``hc:lat:{ns}`` recent commit-to-warm latencies in ms.

Every Redis call goes through the shared circuit breaker: while Redis is down, reads report a
miss and writes report failure, instantly. While an invalidation is lost and not yet replayed
(``outage.pending()``), the read path reports Redis unreachable without asking it, so requests are
answered from the database ("bypass"): no payload and no 304 that the lost invalidation would have
made unservable.
"""

import hashlib
import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches

from backend.caching import outage
from backend.caching.breaker import breaker_for
from backend.observability.meter import count_cache_round_trip

EPOCH_KEY = "hc:epoch"
STAT_FIELDS = ("hits", "misses", "stale_rejects", "rebuilds", "rebuild_failures")
LATENCY_WINDOW = 1000


def gen_key(ns: str, key_id: int) -> str:
    return f"hc:{ns}:{key_id}:g"


def payload_key(ns: str, key_id: int) -> str:
    return f"hc:{ns}:{key_id}:p"


def _marker_key(ns: str, key_id: int, kind: str) -> str:
    return f"hc:{ns}:{key_id}:{kind}"


def new_generation() -> bytes:
    return str(time.time_ns()).encode()


def body_digest(body: bytes) -> bytes:
    """32 hex digits that change exactly when ``body`` does (BLAKE2b, 128 bits: collisions are not a concern)."""
    return hashlib.blake2b(body, digest_size=16).hexdigest().encode()


_DIGEST = re.compile(rb"[0-9a-f]{32}")


@dataclass(frozen=True)
class Payload:
    epoch: bytes
    gen: bytes
    status: int
    built_ms: int
    body: bytes
    digest: bytes = b""  # computed from ``body`` when not given

    def __post_init__(self) -> None:
        if not self.digest:
            object.__setattr__(self, "digest", body_digest(self.body))

    def encode(self) -> bytes:
        return b"%s|%s|%d|%d|%s|" % (self.epoch, self.gen, self.status, self.built_ms, self.digest) + self.body

    @classmethod
    def decode(cls, raw: bytes | None) -> "Payload | None":
        """The payload, or None for nothing or anything else (a payload stored before the digest
        field existed fails the digest check, so it is a miss and is rebuilt, never misread)."""
        if not raw:
            return None
        try:
            epoch, gen, status, built_ms, digest, body = raw.split(b"|", 5)
            if not _DIGEST.fullmatch(digest):
                return None
            return cls(epoch, gen, int(status), int(built_ms), body, digest)
        except ValueError:
            return None


@dataclass(frozen=True)
class ReadResult:
    gen: bytes | None
    epoch: bytes
    payload: Payload | None
    reachable: bool = True


class PendingCounters:
    """Counters kept in process memory and written with the next Redis round trip (no extra trip)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter = Counter()

    def add(self, ns: str, field: str, n: int = 1) -> None:
        with self._lock:
            self._counts[(ns, field)] += n

    def drain(self) -> dict:
        with self._lock:
            counts, self._counts = self._counts, Counter()
        return counts

    def restore(self, counts: dict) -> None:
        with self._lock:
            self._counts.update(counts)


pending_counters = PendingCounters()


class RedisStore:
    def __init__(self, alias: str = "default") -> None:
        self.alias = alias
        self.breaker = breaker_for("redis")

    @property
    def client(self):
        return caches[self.alias].client.get_client(write=True)

    def _run(self, operation: Callable, default, *, lost: bool = False, reason: str = "", serves: bool = False):
        """``operation(client)`` through the breaker; ``default`` when Redis fails or is skipped.

        ``lost``: a failure loses an invalidation (recorded for replay). ``serves``: what the
        operation reads is served to clients, so it is not asked for (``default``) while an
        invalidation is pending; a half-open probe is still sent, and its answer dropped unless
        the replay its success triggers clears the pending state.
        """
        if not self.breaker.allow():
            if lost:
                outage.record_lost_write(self.alias, f"{reason} skipped: circuit open")
            return default
        from backend.caching.backends import REDIS_FAILURES

        probing = self.breaker.is_open
        if serves and not probing and outage.pending():
            return default
        try:
            count_cache_round_trip()  # one pipeline or command per operation (Server-Timing)
            result = operation(self.client)
            if probing and self.breaker.record_success():
                # Redis is back and lost invalidations were just replayed: what the call read
                # before the replay may be stale, so read again.
                count_cache_round_trip()
                result = operation(self.client)
        except REDIS_FAILURES as exc:
            self.breaker.record_failure(exc)
            if lost:
                outage.record_lost_write(self.alias, f"{reason} failed: {exc}")
            return default
        except BaseException:
            if probing:
                self.breaker.release_probe()  # no verdict on Redis: the next caller probes now
            raise
        self.breaker.record_success()
        if serves and probing and outage.pending():
            return default
        return result

    # -- read path ---------------------------------------------------------------------------

    def read(self, ns: str, key_id: int, *, record_access: bool) -> ReadResult:
        """Generation, epoch and payload in one round trip (plus piggybacked counters).

        ``reachable=False`` when Redis fails, or is not asked because an invalidation is pending.
        """
        counts = pending_counters.drain()

        def op(client):
            pipe = client.pipeline(transaction=False)
            pipe.mget(gen_key(ns, key_id), payload_key(ns, key_id), EPOCH_KEY)
            if record_access:
                pipe.zincrby(f"hc:pop:{ns}", 1, key_id)
            for (counter_ns, field), n in counts.items():
                pipe.hincrby(f"hc:stats:{counter_ns}", field, n)
            return pipe.execute()[0]

        values = self._run(op, None, serves=True)
        if values is None:
            pending_counters.restore(counts)
            return ReadResult(None, b"0", None, reachable=False)
        gen, raw, epoch = values
        return ReadResult(gen, epoch or b"0", Payload.decode(raw))

    def read_generation(self, ns: str, key_id: int) -> tuple[bytes | None, bytes]:
        """The key's generation and the epoch (for a 304); no generation while one may be stale."""
        values = self._run(lambda c: c.mget(gen_key(ns, key_id), EPOCH_KEY), None, serves=True)
        if values is None:
            return None, b"0"
        return values[0], values[1] or b"0"

    def ensure_generation(self, ns: str, key_id: int) -> tuple[bytes | None, bytes]:
        """The current generation, created (time-based) if there is none."""
        ttl_ms = int(settings.HOT_CACHE_GENERATION_TTL * 1000)

        def op(client):
            pipe = client.pipeline(transaction=False)
            pipe.set(gen_key(ns, key_id), new_generation(), nx=True, px=ttl_ms)
            pipe.mget(gen_key(ns, key_id), EPOCH_KEY)
            return pipe.execute()[1]

        values = self._run(op, None)
        if values is None:
            return None, b"0"
        return values[0], values[1] or b"0"

    def store(self, ns: str, key_id: int, payload: Payload, ttl: float, *, latency_ms: float | None = None) -> bool:
        """Store ``payload`` for ``ttl`` seconds (a 404 for ``HOT_CACHE_NOT_FOUND_TTL`` at most, its
        generation too) and keep the namespace's popularity set to ``HOT_CACHE_POPULARITY_KEEP``
        members: what a stream of requests for ids that do not exist can leave behind is bounded."""
        counts = pending_counters.drain()
        found = payload.status == 200
        ttl_ms = int((ttl if found else min(ttl, settings.HOT_CACHE_NOT_FOUND_TTL)) * 1000)

        def op(client):
            pipe = client.pipeline(transaction=False)
            pipe.set(payload_key(ns, key_id), payload.encode(), px=ttl_ms)
            if not found:
                # Shortening a generation is always safe: a missing generation is recreated
                # with a new value, so a payload can only lose its validity, never regain it.
                pipe.pexpire(gen_key(ns, key_id), ttl_ms)
                pipe.zrem(f"hc:pop:{ns}", key_id)
            pipe.zremrangebyrank(f"hc:pop:{ns}", 0, -(settings.HOT_CACHE_POPULARITY_KEEP + 1))
            if latency_ms is not None:
                pipe.lpush(f"hc:lat:{ns}", round(latency_ms, 3))
                pipe.ltrim(f"hc:lat:{ns}", 0, LATENCY_WINDOW - 1)
            for (counter_ns, field), n in counts.items():
                pipe.hincrby(f"hc:stats:{counter_ns}", field, n)
            pipe.execute()
            return True

        stored = self._run(op, False)
        if not stored:
            pending_counters.restore(counts)
        return stored

    def acquire_lock(self, ns: str, key_id: int, ttl: float) -> bool | None:
        """True if acquired, False if someone else holds it, None if Redis is unreachable."""
        return self._run(lambda c: bool(c.set(_marker_key(ns, key_id, "l"), b"1", nx=True, px=int(ttl * 1000))), None)

    def release_lock(self, ns: str, key_id: int) -> None:
        self._run(lambda c: c.delete(_marker_key(ns, key_id, "l")), None)

    # -- write path --------------------------------------------------------------------------

    def bump(self, keys: Iterable[tuple[str, int]], *, window: float) -> tuple[list, list] | None:
        """New generations for ``keys``; returns the rebuilds to enqueue: (leading, trailing).

        A key whose last leading rebuild is more than ``window`` seconds old gets a leading
        rebuild, enqueued at once. Otherwise it gets at most one trailing rebuild, due when the
        window closes: ``trailing`` holds ``(key, seconds_until_due)``. So a burst of writes to
        one key enqueues two rebuilds, and the last write of the burst is always followed by one.
        ``None`` means Redis was unreachable (the loss is recorded for replay).
        """
        keys = list(dict.fromkeys(keys))
        gen_ttl_ms = int(settings.HOT_CACHE_GENERATION_TTL * 1000)
        window_ms = max(1, int(window * 1000))

        def op(client):
            pipe = client.pipeline(transaction=False)
            for ns, key_id in keys:
                pipe.set(gen_key(ns, key_id), new_generation(), px=gen_ttl_ms)
                pipe.set(_marker_key(ns, key_id, "q"), b"1", nx=True, px=window_ms)
                pipe.pttl(_marker_key(ns, key_id, "q"))
            results = pipe.execute()
            leading, waiting = [], []
            for index, key in enumerate(keys):
                first, remaining_ms = results[3 * index + 1], results[3 * index + 2]
                if first:
                    leading.append(key)
                else:
                    waiting.append((key, max(1, remaining_ms)))
            trailing = []
            if waiting:
                count_cache_round_trip()  # a second pipeline in the same operation
                pipe = client.pipeline(transaction=False)
                for (ns, key_id), remaining_ms in waiting:
                    pipe.set(_marker_key(ns, key_id, "t"), b"1", nx=True, px=remaining_ms)
                for (key, remaining_ms), first in zip(waiting, pipe.execute(), strict=True):
                    if first:
                        trailing.append((key, remaining_ms / 1000))
            return leading, trailing

        return self._run(op, None, lost=True, reason="invalidation")

    def bump_epoch(self) -> bool:
        return bool(self._run(lambda c: c.set(EPOCH_KEY, new_generation()), False))

    def epoch(self) -> bytes | None:
        """The current epoch (``b"0"`` before the first bump); None if Redis is unreachable."""
        return self._run(lambda c: c.get(EPOCH_KEY) or b"0", None)

    # -- warming and statistics -------------------------------------------------------------

    def top_keys(self, ns: str, k: int) -> list[int]:
        members = self._run(lambda c: c.zrevrange(f"hc:pop:{ns}", 0, k - 1), [])
        return [int(m) for m in members]

    def payloads(self, ns: str, key_ids: list[int]) -> tuple[list[bytes | None], list[Payload | None], bytes]:
        if not key_ids:
            return [], [], b"0"

        def op(client):
            keys = [gen_key(ns, i) for i in key_ids] + [payload_key(ns, i) for i in key_ids] + [EPOCH_KEY]
            return client.mget(keys)

        values = self._run(op, None)
        if values is None:
            return [None] * len(key_ids), [None] * len(key_ids), b"0"
        n = len(key_ids)
        return values[:n], [Payload.decode(v) for v in values[n : 2 * n]], values[-1] or b"0"

    def decay_popularity(self, namespaces: Iterable[str], factor: float, keep: int) -> None:
        def op(client):
            pipe = client.pipeline(transaction=False)
            for ns in namespaces:
                key = f"hc:pop:{ns}"
                pipe.zunionstore(key, {key: factor})
                pipe.zremrangebyscore(key, "-inf", 0.01)
                pipe.zremrangebyrank(key, 0, -(keep + 1))
            pipe.execute()

        self._run(op, None)

    def count(self, ns: str, field: str, n: int = 1) -> None:
        pending_counters.add(ns, field, n)

    def flush_counters(self) -> None:
        counts = pending_counters.drain()
        if not counts:
            return

        def op(client):
            pipe = client.pipeline(transaction=False)
            for (counter_ns, field), n in counts.items():
                pipe.hincrby(f"hc:stats:{counter_ns}", field, n)
            pipe.execute()
            return True

        if not self._run(op, False):
            pending_counters.restore(counts)

    def raw_stats(self, namespaces: Iterable[str]) -> dict[str, tuple[dict, list[float]]]:
        self.flush_counters()
        namespaces = list(namespaces)

        def op(client):
            pipe = client.pipeline(transaction=False)
            for ns in namespaces:
                pipe.hgetall(f"hc:stats:{ns}")
                pipe.lrange(f"hc:lat:{ns}", 0, -1)
            return pipe.execute()

        values = self._run(op, None) or [{}, []] * len(namespaces)
        result = {}
        for i, ns in enumerate(namespaces):
            counters = {k.decode(): int(v) for k, v in values[2 * i].items()}
            result[ns] = (counters, [float(v) for v in values[2 * i + 1]])
        return result

    def reset_stats(self, namespaces: Iterable[str]) -> None:
        pending_counters.drain()
        keys = [k for ns in namespaces for k in (f"hc:stats:{ns}", f"hc:lat:{ns}")]
        self._run(lambda c: c.delete(*keys), None)

    def clear(self) -> None:
        def op(client):
            for key in client.scan_iter(match="hc:*", count=1000):
                client.unlink(key)

        pending_counters.drain()
        self._run(op, None)


class LocalStore:
    """The embedded default: the same semantics in process memory (one process, no Redis)."""

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
                self._get(EPOCH_KEY) or b"0",
                Payload.decode(self._get(payload_key(ns, key_id))),
            )

    def read_generation(self, ns: str, key_id: int) -> tuple[bytes | None, bytes]:
        with self._lock:
            return self._get(gen_key(ns, key_id)), self._get(EPOCH_KEY) or b"0"

    def ensure_generation(self, ns: str, key_id: int) -> tuple[bytes | None, bytes]:
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

    def acquire_lock(self, ns: str, key_id: int, ttl: float) -> bool:
        with self._lock:
            return self._set(_marker_key(ns, key_id, "l"), b"1", ttl, nx=True)

    def release_lock(self, ns: str, key_id: int) -> None:
        with self._lock:
            self._data.pop(_marker_key(ns, key_id, "l"), None)

    def bump(self, keys: Iterable[tuple[str, int]], *, window: float) -> tuple[list, list]:
        leading, trailing = [], []
        with self._lock:
            for ns, key_id in dict.fromkeys(keys):
                self._set(gen_key(ns, key_id), new_generation(), settings.HOT_CACHE_GENERATION_TTL)
                if self._set(_marker_key(ns, key_id, "q"), b"1", window, nx=True):
                    leading.append((ns, key_id))
                    continue
                remaining = max(0.001, self._data[_marker_key(ns, key_id, "q")][1] - time.monotonic())
                if self._set(_marker_key(ns, key_id, "t"), b"1", remaining, nx=True):
                    trailing.append(((ns, key_id), remaining))
        return leading, trailing

    def bump_epoch(self) -> bool:
        with self._lock:
            self._set(EPOCH_KEY, new_generation(), None)
        return True

    def epoch(self) -> bytes:
        with self._lock:
            return self._get(EPOCH_KEY) or b"0"

    def top_keys(self, ns: str, k: int) -> list[int]:
        with self._lock:
            return [key_id for key_id, _ in self._popularity[ns].most_common(k)]

    def payloads(self, ns: str, key_ids: list[int]) -> tuple[list[bytes | None], list[Payload | None], bytes]:
        with self._lock:
            gens = [self._get(gen_key(ns, i)) for i in key_ids]
            payloads = [Payload.decode(self._get(payload_key(ns, i))) for i in key_ids]
            return gens, payloads, self._get(EPOCH_KEY) or b"0"

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

    def raw_stats(self, namespaces: Iterable[str]) -> dict[str, tuple[dict, list[float]]]:
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


def get_store(alias: str = "default"):
    """The Redis store when the cache is Redis, else the in-process store."""
    from backend.caching.backends import ResilientRedisCache

    if isinstance(caches[alias], ResilientRedisCache):
        if alias not in _redis_stores:
            _redis_stores[alias] = RedisStore(alias)
        return _redis_stores[alias]
    return _local_store
