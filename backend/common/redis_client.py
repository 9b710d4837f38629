"""The redis-py client options every Redis connection of the product is made with: fail fast.

redis-py's defaults moved between 6.4 (pinned until issue 15) and 8.1 (measured on this machine): a
client built without a connection pool retries a failed command 10 times with jittered exponential backoff
(3.9 s before a refused connection surfaces, against 0 s in 6.4), connections speak RESP3 (a ``HELLO``
round trip on every new connection; 6.4 spoke RESP2) and time out after 5 s (6.4: never). The design wants
the opposite (docs/caching.md, "Failures"): a command against a dead or paused Redis fails once, within
the socket timeout, and the circuit breaker (backend/caching/guard.py) decides what happens next; a
retry would hold the request up to (retries + 1) x the timeout. So every client pins:

- ``retry``: ``Retry(NoBackoff(), 0)``, no retry at all (what pooled connections did by default in 6.x);
- ``protocol``: 2, RESP2, the wire protocol the reliability figures (docs/reliability.md) were measured
  with;
- the socket timeouts: given by each caller (the cache's are ``REDIS_SOCKET_TIMEOUT`` /
  ``REDIS_SOCKET_CONNECT_TIMEOUT``, 0.25 s by default, config/settings/base.py).

Gated by the reliability tests that stop, pause and fill a real Redis (tests/reliability/test_redis_outage.py,
tests/caching/test_failures.py, tests/caching/test_store_contract.py) and by tests/caching/test_client_options.py.
"""

from typing import Any

from redis.backoff import NoBackoff
from redis.retry import Retry

RESP_PROTOCOL = 2


def fail_fast_options() -> dict[str, Any]:
    """Connection keyword arguments for ``ConnectionPool``/``Redis.from_url``: no retry, RESP2.

    A new ``Retry`` each call: redis-py mutates a connection's ``Retry`` (its supported errors).
    """
    return {"retry": Retry(NoBackoff(), 0), "protocol": RESP_PROTOCOL}
