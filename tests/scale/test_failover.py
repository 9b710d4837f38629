"""A Redis Cluster master killed (SIGKILL) under a write-and-read load through the app: its replica takes
over, every write succeeds and reaches PostgreSQL, and the stale-read judge (bench/staleness.py) sees no
stale read; and an invalidation the dead master had acknowledged but not replicated is never lost.

docs/scaling.md, "Failover", has the figures these tests print (``FAILOVER`` lines, ``pytest -s``).
The load runs in this process, in threads, through Django's test client (each thread its own database
connection): writers PATCH profiles' headlines, readers GET the public profiles (a hot view), and a
thread replays outages every ``CACHE_RECOVERY_PERIOD``, as beat's ``recover_cache`` does.
"""

import itertools
import random
import threading
import time
from dataclasses import dataclass

import pytest
from django.core.cache import caches
from django.db import connection
from django.test import override_settings
from redis.cluster import RedisCluster as ClusterClient
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from backend.accounts.models import Profile
from backend.caching import outage, recovery
from backend.caching.breaker import REDIS, breaker_for
from backend.caching.payload import CLUSTER, new_generation, servable, stored
from backend.caching.store import get_store
from bench.staleness import StaleReadChecker
from config.settings.base import redis_cache
from tests.factories import make_user
from tests.scale.redis_cluster import running_cluster

pytestmark = [
    pytest.mark.scale,
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: writers and readers in threads"),
    pytest.mark.django_db(transaction=True),
]

NS = "profile:user"
USERS = 12
RECOVERY_PERIOD = 0.5  # beat's recover_cache, faster than production's 3 s to keep the test short


@pytest.fixture(scope="module")
def cluster():
    with running_cluster(node_timeout_ms=1000) as started:
        yield started


@pytest.fixture
def on_cluster(cluster):
    cluster.wait_healthy()
    with override_settings(CACHES={"default": redis_cache(cluster.url, cluster=True)}, CACHE_BREAKER_COOLDOWN=0.5):
        breaker_for(REDIS).reset()
        breaker_for(REDIS).cooldown = 0.5
        outage.reset()
        caches["default"].clear()
        yield ClusterClient.from_url(cluster.url)
    breaker_for(REDIS).cooldown = 2.0
    breaker_for(REDIS).reset()
    outage.reset()


def _users() -> list[tuple[int, str]]:
    found = []
    for n in range(USERS):
        user = make_user(email=f"failover{n}@example.com")
        found.append((user.id, Token.objects.create(user=user).key))
    return found


@dataclass
class Read:
    sent: float
    done: float
    user: int
    status: int
    outcome: str
    stale: bool


class Load:
    """Writers (one per user group, sequential per user) and readers, judged by ``StaleReadChecker``."""

    def __init__(self, users: list[tuple[int, str]], *, writers: int = 2, readers: int = 3) -> None:
        self.users = users
        self.checker = StaleReadChecker()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.reads: list[Read] = []
        self.writes: list[tuple[float, float, int, int]] = []  # sent, done, user, status
        self.last_acked: dict[int, str] = {}
        self.errors: list[BaseException] = []  # what a request raised (a 500 in production)
        self.threads = [
            threading.Thread(target=self._writer, args=(users[i::writers],), daemon=True) for i in range(writers)
        ] + [threading.Thread(target=self._reader, args=(i,), daemon=True) for i in range(readers)]
        self.sequence = itertools.count()

    def __enter__(self) -> "Load":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def _writer(self, users) -> None:
        try:
            self._write(users)
        except BaseException as exc:
            self.errors.append(exc)
            raise
        finally:
            connection.close()

    def _reader(self, seed: int) -> None:
        try:
            self._read(seed)
        except BaseException as exc:
            self.errors.append(exc)
            raise
        finally:
            connection.close()

    def _write(self, users) -> None:
        clients = {}
        for user_id, token in users:
            clients[user_id] = APIClient()
            clients[user_id].credentials(HTTP_AUTHORIZATION=f"Token {token}")
        while not self.stop.is_set():
            for user_id, _ in users:
                value = f"h{user_id}-{next(self.sequence)}"
                with self.lock:
                    write = self.checker.begin_write("headline", user_id, value, sent=time.monotonic())
                sent = time.monotonic()
                response = clients[user_id].patch("/api/v1/me/profile/", {"headline": value}, format="json")
                done = time.monotonic()
                with self.lock:
                    self.checker.end_write(write, acked=done, ok=response.status_code == 200)
                    self.writes.append((sent, done, user_id, response.status_code))
                    if response.status_code == 200:
                        self.last_acked[user_id] = value
                time.sleep(0.01)

    def _read(self, seed: int) -> None:
        rng = random.Random(seed)
        client = APIClient()
        while not self.stop.is_set():
            user_id = rng.choice(self.users)[0]
            sent = time.monotonic()
            response = client.get(f"/api/v1/users/{user_id}/profile/")
            done = time.monotonic()
            outcome = getattr(response, "hot_cache_outcome", "none")
            with self.lock:
                stale = response.status_code == 200 and self.checker.value_is_stale(
                    "headline", user_id, response.json()["headline"], sent=sent
                )
                self.reads.append(Read(sent, done, user_id, response.status_code, outcome, stale))


class Beat:
    """``recovery.recover()`` every ``RECOVERY_PERIOD`` seconds, as beat's ``recover_cache``."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.replays: list[float] = []  # time.monotonic() of each replay that cleared records

    def _run(self) -> None:
        try:
            while not self.stop.wait(RECOVERY_PERIOD):
                if recovery.recover():
                    self.replays.append(time.monotonic())
        finally:
            connection.close()

    def __enter__(self) -> "Beat":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


def _wait(condition, timeout: float, step: float = 0.05) -> float:
    """Seconds until ``condition()`` holds (``TimeoutError`` after ``timeout``)."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise TimeoutError
        time.sleep(step)
    return time.monotonic() - start


def test_a_master_killed_under_load_loses_no_write_and_serves_no_stale_read(cluster, on_cluster):
    users = _users()
    victim_keys = {user_id for user_id, _ in users}
    victim = cluster.master_of(CLUSTER.gen(NS, users[0][0]))
    replica = cluster.replica_of(victim)
    on_victim = {user_id for user_id in victim_keys if cluster.master_of(CLUSTER.gen(NS, user_id)) is victim}
    with Beat() as beat, Load(users) as load:
        time.sleep(2.0)  # warm: the profiles are cached and hit
        killed_at = time.monotonic()
        cluster.kill(victim)
        promoted_after = _wait(lambda: replica.client().info("replication")["role"] == "master", 20)
        time.sleep(1.0)  # the supervisor restarts the dead node: it rejoins as the new master's replica
        restarted_at = time.monotonic()
        cluster.restart(victim)
        rejoined_after = _wait(lambda: victim.client().info("replication")["role"] == "slave", 20)
        cluster.wait_healthy()

        def hit_on_victim_slots_after(moment):
            with load.lock:
                return any(r.sent > moment and r.outcome == "hit" and r.user in on_victim for r in load.reads)

        healthy_at = time.monotonic()
        _wait(lambda: hit_on_victim_slots_after(healthy_at) or load.errors, 20)
        time.sleep(1.0)
    reads, writes = load.reads, load.writes
    assert not load.errors, load.errors  # no request raised (a 500 in production)

    # Every write was acknowledged, and PostgreSQL holds each user's last acknowledged value.
    assert writes
    assert {status for *_, status in writes} == {200}
    for user_id, value in load.last_acked.items():
        assert Profile.objects.get(user_id=user_id).headline == value
    # No read failed and none was stale, before, during or after the failover.
    assert {r.status for r in reads} == {200}
    stale_before = sum(r.stale for r in reads if r.sent < killed_at)
    stale_after = sum(r.stale for r in reads if r.sent >= killed_at)
    assert stale_before == stale_after == 0, [r for r in reads if r.stale][:5]

    after = [r for r in reads if r.sent >= killed_at and r.user in on_victim]
    first_hit = min(r.done for r in after if r.outcome == "hit") - killed_at
    bypassed = [r for r in after if r.outcome == "bypass"]
    # The failover did disturb the cache (its keys were hits before, answered from the database after) ...
    assert any(r.outcome == "hit" and r.user in on_victim for r in reads if r.done < killed_at)
    assert bypassed
    # ... and the cache serves that master's slots again once a replica is back (the wait above).
    assert first_hit > promoted_after
    write_ms = sorted((done - sent) * 1000 for sent, done, _, _ in writes if sent >= killed_at)
    slow = [
        (round(sent - killed_at, 2), round((done - sent) * 1000)) for sent, done, _, _ in writes if done - sent > 0.5
    ]
    replays = [round(t - killed_at, 2) for t in beat.replays]
    print(
        f"\nFAILOVER restarted at {restarted_at - killed_at:.2f} s, healthy at {healthy_at - killed_at:.2f} s, "
        f"replays at {replays}, slow writes (sent after kill s, ms) {slow}"
    )
    print(
        f"\nFAILOVER kill->replica promoted {promoted_after:.2f} s; restarted node rejoined as replica "
        f"{rejoined_after:.2f} s after its restart; kill->first cache hit on the victim's slots {first_hit:.2f} s; "
        f"reads {len(reads)} (stale before {stale_before}, after {stale_after}); reads of the victim's keys after "
        f"the kill answered from the database (bypass) {len(bypassed)}, first cache hit at {first_hit:.2f} s; "
        f"writes {len(writes)}, all 200; write latency after the kill p50 {write_ms[len(write_ms) // 2]:.0f} ms "
        f"max {write_ms[-1]:.0f} ms"
    )


def test_an_acknowledged_invalidation_lost_with_its_master_is_harmless(cluster, on_cluster, client_for):
    """The hazard is real: a bump the master acknowledged without replicating it (no WAIT) is gone
    after the failover and the old payload is servable again. The app's bump waits for the replica,
    so the same sequence leaves it recorded as lost, nothing is served until the replay, and the
    replay's epoch makes the old payload unservable."""
    store = get_store()
    user = make_user(email="lost@example.com")
    key_id = user.id
    path = f"/api/v1/users/{key_id}/profile/"
    reader = APIClient()
    first = reader.get(path)
    assert first.status_code == 200
    assert servable(*stored(on_cluster, NS, key_id))
    master = cluster.master_of(CLUSTER.gen(NS, key_id))
    replica = cluster.replica_of(master)

    # 1. Without WAIT: the master acknowledges, its replica never gets it, the master dies.
    time.sleep(0.3)  # the payload and its generation have reached the replica
    cluster.pause(replica)
    cluster.cut_replication(master)
    on_cluster.set(CLUSTER.gen(NS, key_id), new_generation())  # acknowledged by the master alone
    assert not servable(*stored(on_cluster, NS, key_id))
    cluster.kill(master)
    cluster.resume(replica)
    _wait(lambda: replica.client().info("replication")["role"] == "master", 20)
    _wait(lambda: _answers(on_cluster, key_id), 10)
    assert servable(*stored(on_cluster, NS, key_id)), "the lost bump should have revived the old payload"
    cluster.restart(master)
    cluster.wait_healthy()
    breaker_for(REDIS).reset()

    # 2. The app's write: the same sequence, through a committed profile change.
    assert reader.get(path).json()["headline"] == ""
    new_master = cluster.master_of(CLUSTER.gen(NS, key_id))
    new_replica = cluster.replica_of(new_master)
    writer = client_for(user)
    cluster.pause(new_replica)
    cluster.cut_replication(new_master)
    try:
        response = writer.patch("/api/v1/me/profile/", {"headline": "after the lost bump"}, format="json")
        assert response.status_code == 200  # the write succeeds; its bump is recorded as lost
        assert outage.pending()
        cluster.kill(new_master)
    finally:
        cluster.resume(new_replica)
    _wait(lambda: new_replica.client().info("replication")["role"] == "master", 20)
    _wait(lambda: _answers(on_cluster, key_id), 10)
    # The promoted replica holds the old generation and payload, with the epoch they were stored under:
    assert servable(*stored(on_cluster, NS, key_id))
    # ... but the app does not serve it: the lost invalidation is pending until the replay.
    assert reader.get(path).json()["headline"] == "after the lost bump"
    cluster.restart(new_master)
    cluster.wait_healthy()
    breaker_for(REDIS).reset()
    _wait(lambda: recovery.recover() >= 0 and not outage.pending(), 10, step=0.2)
    assert not servable(*stored(on_cluster, NS, key_id))  # the replay's epoch
    assert reader.get(path).json()["headline"] == "after the lost bump"
    assert reader.get(path).hot_cache_outcome == "hit"
    assert store.epoch() is not None


def _answers(client: ClusterClient, key_id: int) -> bool:
    try:
        client.get(CLUSTER.gen(NS, key_id))
        return True
    except Exception:
        return False
