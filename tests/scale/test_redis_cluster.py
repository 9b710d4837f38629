"""The hot store, Django's cache API and cachalot on a real Redis Cluster (three masters, three replicas).

docs/scaling.md, "Redis Cluster". One cluster for the module (started by ``tests/scale/redis_cluster.py``),
the app's cache pointed at it with ``REDIS_CLUSTER``'s configuration (``redis_cache(url, cluster=True)``).
"""

import pytest
import redis
from django.core.cache import caches
from django.test import override_settings
from redis.cluster import RedisCluster as ClusterClient
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

from backend.caching import outage, recovery
from backend.caching.breaker import REDIS, breaker_for
from backend.caching.payload import CLUSTER, EPOCH_KEY, NO_EPOCH, Payload, epoch_key_of_slot, servable, stored
from backend.caching.store import RedisStore, get_store
from backend.ratings.hot_caches import REVIEWS_RECEIVED
from config.settings.base import redis_cache
from tests.factories import make_review, make_user
from tests.scale.redis_cluster import running_cluster

pytestmark = [pytest.mark.scale, pytest.mark.django_db(transaction=True)]

NS = "payments:user"


@pytest.fixture(scope="module")
def cluster():
    with running_cluster(node_timeout_ms=1000) as started:
        yield started


@pytest.fixture
def on_cluster(cluster):
    """The app's cache on the cluster, as ``REDIS_URL=<a node> REDIS_CLUSTER=true`` configures it."""
    with override_settings(CACHES={"default": redis_cache(cluster.url, cluster=True)}):
        caches["default"].clear()
        breaker_for(REDIS).reset()
        outage.reset()
        yield ClusterClient.from_url(cluster.url)
        caches["default"].clear()


def test_the_keys_of_one_hot_key_share_a_slot_and_the_keys_of_many_spread_over_every_master(cluster):
    for key_id in (1, 7, 123456789, 2**62):
        slot = key_slot(CLUSTER.gen(NS, key_id).encode())
        names = [CLUSTER.payload(NS, key_id), CLUSTER.epoch(NS, key_id)]
        names += [CLUSTER.marker(NS, key_id, kind) for kind in "qtl"]
        assert {key_slot(name.encode()) for name in names} == {slot}
    assert {key_slot(epoch_key_of_slot(slot).encode()) for slot in range(REDIS_CLUSTER_HASH_SLOTS)} == set(
        range(REDIS_CLUSTER_HASH_SLOTS)
    )
    masters = {cluster.master_of(CLUSTER.gen(NS, key_id)).port for key_id in range(1, 200)}
    assert len(masters) == 3


def test_the_store_reads_stores_bumps_and_replays_on_the_cluster(on_cluster):
    store = get_store()
    assert isinstance(store, RedisStore)
    keys = [(NS, key_id) for key_id in range(1, 40)]  # over every master
    for ns, key_id in keys:
        gen, epoch = store.ensure_generation(ns, key_id)
        assert gen is not None
        assert epoch == NO_EPOCH
        assert store.store(ns, key_id, Payload(epoch, gen, 200, 0, b'{"id": %d}' % key_id), 60)
    results = store.read_many([(ns, key_id, True) for ns, key_id in keys])
    assert all(servable(r.payload, r.gen, r.epoch) for r in results)
    assert [r.payload.body for r in results] == [b'{"id": %d}' % key_id for _, key_id in keys]
    # The tools' view (``stored``) agrees with the app's, on the same keys.
    assert all(servable(*stored(on_cluster, ns, key_id)) for ns, key_id in keys)
    gens, payloads, epochs = store.payloads(NS, [key_id for _, key_id in keys])
    assert all(servable(p, g, e) for p, g, e in zip(payloads, gens, epochs, strict=True))

    # A write's bump makes exactly its keys unservable; the others stay hits.
    assert store.bump(keys[:5], window=1.0) is not None
    results = store.read_many([(ns, key_id, False) for ns, key_id in keys])
    assert [servable(r.payload, r.gen, r.epoch) for r in results] == [False] * 5 + [True] * (len(keys) - 5)

    # The replay's epoch bump reaches every slot: nothing stored before it is servable.
    before = store.epoch()
    assert store.bump_epoch()
    after = store.epoch()
    assert after not in (None, before)
    every_slot = [epoch_key_of_slot(slot) for slot in range(REDIS_CLUSTER_HASH_SLOTS)]
    assert set(on_cluster.mget_nonatomic(every_slot)) == {after}
    assert not any(servable(*stored(on_cluster, ns, key_id)) for ns, key_id in keys)
    assert store.top_keys(NS, 3)  # popularity counted across slots
    store.clear()
    assert not list(on_cluster.scan_iter(match="hc:*"))


def test_a_hot_view_is_read_your_writes_on_the_cluster(on_cluster, client_for):
    reviewee, reviewer = make_user(email="reviewee@example.com"), make_user(email="reviewer@example.com")
    api = client_for(reviewer)
    path = f"/api/v1/users/{reviewee.id}/reviews/"
    first = api.get(path)
    assert first.status_code == 200
    assert first.json()["count"] == 0
    again = api.get(path)
    assert again.content == first.content
    assert servable(*stored(on_cluster, REVIEWS_RECEIVED.namespace, reviewee.id))
    make_review(reviewer, reviewee)  # committed: its bump reaches the key's master
    after = api.get(path)
    assert after.status_code == 200
    assert after.json()["count"] == 1


def test_django_cache_api_and_cachalot_work_on_the_cluster(on_cluster, client_for):
    cache = caches["default"]
    many = {f"k{i}": i for i in range(50)}  # keys in many slots
    cache.set_many(many, 30)
    assert cache.get_many(list(many)) == many
    cache.delete_many(list(many)[:10])
    assert cache.get_many(list(many)) == dict(list(many.items())[10:])
    assert cache.incr("k20") == 21
    with cache.lock("a-lock", timeout=2):
        pass

    # cachalot: a cached query's result is invalidated by a write to its table, across slots.
    from django.contrib.auth import get_user_model

    user = make_user(email="cachalot@example.com")
    User = get_user_model()
    assert User.objects.get(pk=user.pk).email == "cachalot@example.com"
    assert User.objects.get(pk=user.pk).email == "cachalot@example.com"  # from cachalot
    User.objects.filter(pk=user.pk).update(email="renamed@example.com")
    assert User.objects.get(pk=user.pk).email == "renamed@example.com"
    assert any(True for _ in on_cluster.scan_iter(match=":1:*"))  # cachalot's entries are on the cluster


def test_a_recovery_replays_on_the_cluster(on_cluster):
    store = get_store()
    gen, epoch = store.ensure_generation(NS, 1)
    assert store.store(NS, 1, Payload(epoch, gen, 200, 0, b"{}"), 60)
    outage.record_lost_write("default", "test")
    assert recovery.recover() == 1
    assert not servable(*stored(on_cluster, NS, 1))
    assert on_cluster.get(EPOCH_KEY) == store.epoch() != NO_EPOCH


def test_the_single_server_key_names_are_unchanged():
    assert CLUSTER.gen(NS, 7) == "hc:{payments:user:7}:g"
    plain = redis.Redis()
    from backend.caching.payload import layout_for

    assert layout_for(plain).gen(NS, 7) == "hc:payments:user:7:g"
    assert layout_for(plain).epoch(NS, 7) == EPOCH_KEY


def test_an_invalidation_its_replica_does_not_confirm_is_a_lost_write(cluster, on_cluster):
    """``WAIT 1``: a bump whose slot's replica does not answer is recorded for replay, so nothing
    that bump should have removed is served (``outage.pending()``) until the replay."""
    store = get_store()
    gen, epoch = store.ensure_generation(NS, 3)
    assert store.store(NS, 3, Payload(epoch, gen, 200, 0, b"{}"), 60)
    replica = cluster.replica_of(cluster.master_of(CLUSTER.gen(NS, 3)))
    cluster.pause(replica)
    try:
        assert store.bump([(NS, 3)], window=1.0) is None  # applied on the master, not confirmed
        assert outage.pending()
        assert not store.read(NS, 3, record_access=False).reachable  # nothing served meanwhile
    finally:
        cluster.resume(replica)
    breaker_for(REDIS).reset()
    assert recovery.recover() == 1
    assert not outage.pending()
    assert not servable(*stored(on_cluster, NS, 3))


def test_a_redis_py_fault_mid_failover_is_a_redis_failure_and_ours_are_not():
    """redis-py's cluster client raised ``AttributeError`` from a connection another thread's slot-map
    refresh had closed (seen in test_failover.py's load): the guard must see a Redis failure."""
    from redis._parsers.resp2 import _RESP2Parser

    from backend.caching.cluster import redis_py_faults_as_failures

    parser = _RESP2Parser(socket_read_size=65536)  # disconnected: no buffer to read from
    with pytest.raises(redis.ConnectionError), redis_py_faults_as_failures():
        parser.read_response()
    with pytest.raises(AttributeError), redis_py_faults_as_failures():
        None.readline()  # a bug of ours stays a bug
