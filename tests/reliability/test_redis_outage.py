"""Redis (the cache) stopped, or paused with SIGSTOP, under steady reads and writes.

The Procfile's web (2 gunicorn workers), worker and beat run under honcho; the cache is a private
redis-server and the broker another one, so only the cache fails. Two writer threads and three
reader threads work over the seeded users before, during and after the outage (tests/reliability/
load.py judges every read against the writes acknowledged before it was sent).

Expected: no 5xx; no stale read before or during the outage (reads go to the database while the
circuit breaker is open); after Redis returns, any stale read is at most RECOVERY_LIMIT seconds
after its return and shows data superseded at most that long ago (lost invalidations are replayed
by an epoch bump); the breaker keeps latency bounded while Redis does not answer; at the end the
database and every read path agree with each user's last write.
"""

import time

import pytest
import redis
from celery import Celery

from backend.caching.payload import servable, stored
from tests.reliability.load import Load, Phase, final_agreement, summarize
from tests.stack import wait_until

pytestmark = [pytest.mark.reliability, pytest.mark.postgres, pytest.mark.redis]

BEFORE, OUTAGE, AFTER = 4.0, 6.0, 12.0
RECOVERY_LIMIT = 10.0  # seconds after Redis returns within which a stale read is tolerated
OUTAGE_P99_LIMIT_MS = 1000.0  # the breaker's job: without it every request waits out socket timeouts
COOLDOWN = 12  # the web process's breaker cooldown in the replay-gap test


def servable_on(server, namespace: str, key_id: int) -> bool:
    """Whether the cache holds a payload for the key's current generation and epoch."""
    client = redis.Redis.from_url(server.url, socket_timeout=2)
    try:
        return servable(*stored(client, namespace, key_id))
    finally:
        client.close()


@pytest.mark.parametrize("fault", ["stopped", "paused"])
def test_redis_outage_under_steady_reads_and_writes(fault, database_url, seed, redis_servers, launch, figures):
    cache, broker = redis_servers(), redis_servers()
    stack = launch(database_url, cache.url, "web", "worker", "beat", CELERY_BROKER_URL=broker.url)
    load = Load(stack.api, {u: seed.token(u) for u in seed.people}, seed.people, writers=2, readers=3)

    started = time.monotonic()
    load.start()
    time.sleep(BEFORE)
    down = time.monotonic()
    cache.stop() if fault == "stopped" else cache.pause()
    time.sleep(OUTAGE)
    cache.start() if fault == "stopped" else cache.resume()
    back = time.monotonic()
    time.sleep(AFTER)
    load.stop()
    ended = time.monotonic()
    agreement = final_agreement(stack.api, database_url, load)

    phases = summarize(
        load,
        [Phase("before", started, down), Phase("outage", down, back), Phase("after", back, ended)],
        reference=back,
    )
    breaker_events = [
        message for _, message in stack.messages("web.1", "backend.caching.breaker") if "circuit redis" in message
    ]
    replays = [
        message
        for process in ("web.1", "worker.1")
        for _, message in stack.messages(process, "backend.caching.recovery")
        if message.startswith("cache recovered")
    ]
    figures.update(
        fault=f"cache Redis {fault} for {OUTAGE:.0f} s",
        kind="fault",
        clients={"writers": load.writers, "readers": load.readers, "users": len(seed.people)},
        phases=phases,
        operations=sum(p["operations"] for p in phases.values()),
        failed=sum(p["failed"] for p in phases.values()),
        server_errors=sum(p["server_errors"] for p in phases.values()),
        stale_reads=sum(p["stale_reads"] for p in phases.values()),
        wrong_reads=sum(p["wrong_reads"] for p in phases.values()),
        longest_staleness_s=max(p["max_staleness_s"] for p in phases.values()),
        lost_writes=len(agreement["lost_writes"]),
        final_agreement=agreement,
        breaker_events_web=len(breaker_events),
        outage_replays=replays,
    )

    for name, phase in phases.items():
        assert phase["server_errors"] == 0, (name, phase["failures"])
        assert phase["failed"] == 0, (name, phase["failures"])
        assert phase["wrong_reads"] == 0, name
    assert phases["before"]["stale_reads"] == 0, phases["before"]["stale_examples"]
    assert phases["outage"]["stale_reads"] == 0, phases["outage"]["stale_examples"]
    after = phases["after"]
    assert after["max_staleness_s"] <= RECOVERY_LIMIT, after["stale_examples"]
    assert (after["last_stale_read_at_s"] or 0) <= RECOVERY_LIMIT, after["stale_examples"]
    # While Redis is down, reads are answered from the database, quickly.
    assert phases["outage"]["cache"].get("bypass", 0) > 0, phases["outage"]["cache"]
    assert phases["outage"]["read_ms"]["p99"] <= OUTAGE_P99_LIMIT_MS, phases["outage"]["read_ms"]
    assert phases["outage"]["write_ms"]["p99"] <= OUTAGE_P99_LIMIT_MS, phases["outage"]["write_ms"]
    # After it: the caches serve hits again, and nothing written was lost.
    assert after["cache"].get("hit", 0) > 0, after["cache"]
    assert agreement["lost_writes"] == [], agreement["lost_writes"]
    assert agreement["disagreements"] == [], agreement["disagreements"]
    assert replays, "no process replayed the invalidations lost during the outage"


def test_a_write_lost_after_another_process_replayed_the_outage_is_replayed_too(
    database_url, seed, redis_servers, launch, figures
):
    """The gap between two processes' recoveries.

    A web process whose circuit is open skips Redis on every write until its cooldown ends. If
    another process replays the outage in that time (beat's ``recover_cache`` on the worker) and a
    payload is rebuilt (refresh-ahead, a read elsewhere), a write the web process then makes has
    no invalidation and no outage record: once its circuit closes, it must not serve that payload.
    One web process (so the test knows which process serves each request) with a long cooldown;
    beat's tasks are sent by the test, as beat would send them, at the moments the scenario needs.
    """
    cache, broker = redis_servers(), redis_servers()
    stack = launch(
        database_url,
        cache.url,
        "web",
        "worker",
        CELERY_BROKER_URL=broker.url,
        WEB_CONCURRENCY="1",
        CACHE_BREAKER_COOLDOWN=str(COOLDOWN),
    )
    api, user = stack.api, seed.people[0]
    token, path = seed.token(user), f"/api/v1/users/{user}/profile/"
    beat = Celery(broker=broker.url)
    wait_until(lambda: api.call("GET", path).timing.get("cache") == "hit", 10, "the profile never became a hit")

    # 1. Redis stops answering during a write: the web process's circuit opens, the loss is recorded.
    cache.pause()
    opened = time.monotonic()
    api.expect(200, "PATCH", "/api/v1/me/profile/", token=token, body={"headline": "written-during-outage"})
    cache.resume()

    # 2. Another process replays the outage and a payload is rebuilt from the database.
    beat.send_task("workers.cache.recover_cache", queue="cache")

    def replayed() -> bool:
        messages = stack.messages("worker.1", "backend.caching.recovery")
        return any(message.startswith("cache recovered: 1") for _, message in messages)

    wait_until(
        replayed,
        10,
        lambda: f"the worker did not replay the outage:\n{stack.honcho.tail()}",
    )
    beat.send_task("workers.cache.rebuild_hot_key", args=("profile:user", user), queue="cache")
    wait_until(lambda: servable_on(cache, "profile:user", user), 10, "the worker did not rebuild the profile")

    # 3. The web process's circuit is still open: this write reaches the database only.
    assert time.monotonic() - opened < COOLDOWN - 2, "too slow: the web process's cooldown is nearly over"
    api.expect(200, "PATCH", "/api/v1/me/profile/", token=token, body={"headline": "written-after-replay"})
    assert api.call("GET", path).json()["headline"] == "written-after-replay"  # from the database

    # 4. Its circuit closes: every read shows the last write.
    reads = []
    deadline = opened + COOLDOWN + 3
    while time.monotonic() < deadline:
        reply = api.call("GET", path)
        reads.append((round(time.monotonic() - opened, 2), reply.timing.get("cache"), reply.json()["headline"]))
        time.sleep(0.1)
    stale = [read for read in reads if read[2] != "written-after-replay"]
    figures.update(
        fault="cache Redis paused during a write; another process replays before this one's circuit closes",
        kind="fault",
        operations=len(reads) + 4,
        failed=0,
        stale_reads=len(stale),
        lost_writes=0,
        longest_staleness_s=round(reads[-1][0] - stale[0][0], 2) if stale else 0.0,
        reads_after_cooldown=len([r for r in reads if r[1] != "bypass"]),
        stale_examples=stale[:5],
    )
    assert any(outcome != "bypass" for _, outcome, _ in reads), f"the circuit never closed: {reads[-3:]}\n" + "\n".join(
        f"{line.process} | {line.text}" for line in stack.honcho.lines if "gunicorn.access" not in line.text
    )
    assert stale == [], stale
