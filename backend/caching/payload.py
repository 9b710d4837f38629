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
"""

import hashlib
import re
import time
from dataclasses import dataclass

import redis

EPOCH_KEY = "hc:epoch"
NO_EPOCH = b"0"  # the epoch before the first bump (``hc:epoch`` absent)


def gen_key(ns: str, key_id: int) -> str:
    return f"hc:{ns}:{key_id}:g"


def payload_key(ns: str, key_id: int) -> str:
    return f"hc:{ns}:{key_id}:p"


def marker_key(ns: str, key_id: int, kind: str) -> str:
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
    cache's server and database: ``servable(*stored(client, ns, key_id))``. Raises redis-py's
    errors (no circuit breaker here).
    """
    gen, raw, epoch = client.mget(gen_key(ns, key_id), payload_key(ns, key_id), EPOCH_KEY)
    return Payload.decode(raw), gen, epoch or NO_EPOCH
