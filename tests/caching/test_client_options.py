"""redis-py's defaults pinned to the fail-fast design (backend/common/redis_client.py).

redis-py 8 speaks RESP3, times out after 5 s and (built without a pool) retries with backoff unless told
otherwise: these tests hold the cache's connections to one attempt, RESP2 and the configured socket
timeouts, against a private real redis-server.
"""

import time

import pytest
import redis
from django.core.cache import caches

pytestmark = pytest.mark.redis


def test_the_cache_connections_speak_resp2_with_no_retry_and_the_configured_timeouts(own_redis):
    client = caches["default"].client.get_client(write=True)
    connection = client.connection_pool.get_connection()
    try:
        assert connection.retry.get_retries() == 0
        assert (connection.socket_timeout, connection.socket_connect_timeout) == (0.25, 0.25)
        # What the server saw: the protocol this very connection negotiated.
        connection.send_command("CLIENT", "INFO")
        info = connection.read_response()
    finally:
        client.connection_pool.release(connection)
    assert b"resp=2" in info.split()


def test_a_paused_cache_fails_one_command_within_its_socket_timeout_not_after_retries(own_redis):
    client = caches["default"].client.get_client(write=True)
    client.set("probe", b"1")
    own_redis.pause()
    try:
        started = time.monotonic()
        with pytest.raises(redis.TimeoutError):
            client.get("probe")
        waited = time.monotonic() - started
    finally:
        own_redis.resume()
    # One attempt of 0.25 s; a single retry would double it.
    assert 0.2 < waited < 0.45
