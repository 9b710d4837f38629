"""What the hot store holds for a key, and the one rule that says whether a stored payload may be served.

Keys (raw Redis keys, outside Django's cache key scheme so that one pipeline can mix them):

- ``hc:{ns}:{id}:g``  generation: a time-based value (ns since the epoch), replaced on every
  invalidation. Equality is all that matters; being time-based means that a counter lost to
  eviction is recreated with a value no old payload carries.
- ``hc:{ns}:{id}:p``  payload: ``b"{epoch}|{gen}|{status}|{built_ms}|{digest}|" + body``. Served only
  while its generation and epoch are the current ones (``servable``). ``digest`` (32 hex digits, a
  hash of the body) is the ETag: computed once when the payload is built, so a hit or a 304 hashes nothing.
- ``hc:{ns}:{id}:q`` / ``:t``  coalescing markers (leading and trailing rebuild pending).
- ``hc:{ns}:{id}:l``  short build lock, so concurrent misses do not all hit the database.
- ``hc:epoch``  bumped after a cache outage: every payload stored before it becomes unservable.
- ``hc:pop:{ns}``  sorted set of key popularity (decayed by beat); ``hc:stats:{ns}`` counters;
  ``hc:lat:{ns}`` recent commit-to-warm latencies in ms.

On a Redis Cluster (``CLUSTER``, a ``KeyLayout``) the keys of one hot key share a hash tag, so that the
read pipeline's ``MGET`` and the generation's creation stay in one slot: ``hc:{ns:id}:g``, ``:p``,
``:q``, ``:t``, ``:l``. The epoch is kept once per hash slot, ``hc:epoch:{tag}`` with ``tag`` a string
that hashes to that slot (``slot_tag``), so a key's generation, payload and epoch are read in one
command on one node; a replay writes the same new value to all 16,384 of them and then to
``hc:epoch`` (the value every slot has had since: ``RedisStore.epoch()``). A single Redis server keeps
the names above (``PLAIN``), so a deploy does not change the keys of a running cache.
"""

import hashlib
import re
import time
from dataclasses import dataclass

import redis
from redis.cluster import RedisCluster
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

EPOCH_KEY = "hc:epoch"
NO_EPOCH = b"0"  # the epoch before the first bump (``hc:epoch`` absent)


def gen_key(ns: str, key_id: int) -> str:
    return f"hc:{ns}:{key_id}:g"


def payload_key(ns: str, key_id: int) -> str:
    return f"hc:{ns}:{key_id}:p"


def marker_key(ns: str, key_id: int, kind: str) -> str:
    return f"hc:{ns}:{key_id}:{kind}"


_slot_tags: list[str] = []


def slot_tag(slot: int) -> str:
    """A short string whose CRC16 falls in hash slot ``slot`` (0-16383): the hash tag of that slot's
    epoch key. The table is found once per process by counting up from 0 (about 180,000 CRC16s of
    short strings, some 100 ms) and is the same in every process."""
    if not _slot_tags:
        tags: list[str | None] = [None] * REDIS_CLUSTER_HASH_SLOTS
        missing, n = REDIS_CLUSTER_HASH_SLOTS, 0
        while missing:
            candidate = str(n)
            slot_of = key_slot(candidate.encode())
            if tags[slot_of] is None:
                tags[slot_of] = candidate
                missing -= 1
            n += 1
        _slot_tags.extend(tags)
    return _slot_tags[slot]


@dataclass(frozen=True)
class KeyLayout:
    """Key names of the hot store on one kind of Redis deployment (``PLAIN`` or ``CLUSTER``)."""

    cluster: bool

    def gen(self, ns: str, key_id: int) -> str:
        return self.marker(ns, key_id, "g")

    def payload(self, ns: str, key_id: int) -> str:
        return self.marker(ns, key_id, "p")

    def marker(self, ns: str, key_id: int, kind: str) -> str:
        return f"hc:{{{ns}:{key_id}}}:{kind}" if self.cluster else f"hc:{ns}:{key_id}:{kind}"

    def epoch(self, ns: str, key_id: int) -> str:
        """The epoch key read with ``(ns, key_id)``: in its hash slot on a cluster, else ``hc:epoch``."""
        if not self.cluster:
            return EPOCH_KEY
        return epoch_key_of_slot(key_slot(self.gen(ns, key_id).encode()))


def epoch_key_of_slot(slot: int) -> str:
    return f"{EPOCH_KEY}:{{{slot_tag(slot)}}}"


PLAIN = KeyLayout(cluster=False)
CLUSTER = KeyLayout(cluster=True)


def layout_for(client) -> KeyLayout:
    """``CLUSTER`` for a ``redis.cluster.RedisCluster`` (or its pipeline), else ``PLAIN``."""
    return CLUSTER if isinstance(client, RedisCluster) else PLAIN


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


def servable(payload: Payload | None, gen: bytes | None, epoch: bytes | None) -> bool:
    """Whether ``payload`` may be served: it was built from the key's current generation ``gen``
    and stored under the current ``epoch`` (``None`` for either: unknown, so not servable).

    The rule behind guarantees 2 and 5 of the design: a payload built before an invalidation (an
    older generation) or before an outage's replay (an older epoch) is never served. The read path,
    refresh-ahead and the tests all judge payloads with this function.
    """
    return (
        payload is not None and gen is not None and epoch is not None and payload.gen == gen and payload.epoch == epoch
    )


def stored(client: redis.Redis, ns: str, key_id: int) -> tuple[Payload | None, bytes | None, bytes]:
    """``(payload, generation, epoch)`` of one key as a Redis server holds it, read in one MGET.

    For code outside the app's cache layer (tests, tools) that holds a plain ``redis.Redis`` on the
    cache's server and database (or a ``RedisCluster`` on the cache's cluster):
    ``servable(*stored(client, ns, key_id))``. Raises redis-py's errors (no circuit breaker here).
    """
    layout = layout_for(client)
    gen, raw, epoch = client.mget(layout.gen(ns, key_id), layout.payload(ns, key_id), layout.epoch(ns, key_id))
    return Payload.decode(raw), gen, epoch or NO_EPOCH
