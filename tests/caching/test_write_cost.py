"""Cheaper writes: rebuilds only for keys that will be read, no build done twice, creation fan-outs declared.

Tasks run eagerly here (config/settings/test.py), so every rebuild a write enqueued has run and been
counted in ``rebuilds`` by the time the write returns; the messages themselves are counted on the real
broker in tests/workers/test_rebuild_messages.py.
"""

import pytest
from django.test import override_settings

from backend.caching import stats
from backend.caching.invalidation import _batch_for, affected_keys, flush
from backend.caching.rebuild import rebuild_stale
from backend.caching.store import LocalStore, get_store
from backend.jobs import services as job_services
from backend.jobs.models import Application
from backend.ratings import services as rating_services
from tests.factories import make_completed_job, make_job, make_user

pytestmark = pytest.mark.django_db


def settle_fixture_writes() -> None:
    """Flush the invalidations of the rows fixtures created, as their commit would have."""
    flush(_batch_for("default").take())


def rebuilds() -> dict[str, int]:
    return {ns: row["rebuilds"] for ns, row in stats.collect()["namespaces"].items() if row["rebuilds"]}


@pytest.mark.parametrize("make_store", [LocalStore, get_store], ids=["local", "configured"])
def test_a_bump_invalidates_every_key_and_returns_only_the_read_ones(make_store):
    store = make_store()
    store.read("profile:user", 1, record_access=True)
    before = [store.read_generation("profile:user", key_id)[0] for key_id in (1, 2)]

    leading, trailing = store.bump([("profile:user", 1), ("profile:user", 2)], window=1.0, popular=1.0)

    assert (leading, trailing) == ([("profile:user", 1)], [])
    after = [store.read_generation("profile:user", key_id)[0] for key_id in (1, 2)]
    assert all(gen is not None for gen in after)
    assert after[0] != before[0]
    assert after[1] != before[1]


def test_a_write_rebuilds_the_keys_someone_reads_and_leaves_the_others_to_their_next_read(
    client_for, django_capture_on_commit_callbacks
):
    reviewer, reviewee = make_user(), make_user()
    job = make_completed_job(client=reviewer, workers=[reviewee])
    settle_fixture_writes()
    reader = client_for(reviewee)
    reader.get(f"/api/v1/users/{reviewee.id}/profile/")  # the reviewee's profile is read; their review lists are not
    stats.reset()

    with django_capture_on_commit_callbacks(execute=True):
        rating_services.review_create(job=job, reviewer=reviewer, reviewee_id=reviewee.id, rating=4, comment="Good")

    assert rebuilds() == {"profile:user": 1}
    warm = reader.get(f"/api/v1/users/{reviewee.id}/profile/")
    assert warm.hot_cache_outcome == "hit"
    assert warm.json()["rating_count"] == 1
    # Not rebuilt, but invalidated: the next read builds it with the review (read-your-writes).
    cold = reader.get(f"/api/v1/users/{reviewee.id}/reviews/")
    assert cold.hot_cache_outcome == "miss"
    assert [review["comment"] for review in cold.json()["results"]] == ["Good"]
    assert rebuilds() == {"profile:user": 1}


@override_settings(HOT_CACHE_REBUILD_MIN_POPULARITY=0.0)
def test_a_threshold_of_zero_rebuilds_every_key_a_write_touches(django_capture_on_commit_callbacks):
    reviewer, reviewee = make_user(), make_user()
    job = make_completed_job(client=reviewer, workers=[reviewee])
    settle_fixture_writes()
    stats.reset()

    with django_capture_on_commit_callbacks(execute=True):
        rating_services.review_create(job=job, reviewer=reviewer, reviewee_id=reviewee.id, rating=4)

    assert rebuilds() == {"profile:user": 1, "reviews:user": 1, "reviews:reviewer": 1}


def test_the_worker_skips_a_key_a_read_already_rebuilt_since_the_write(client_for, django_capture_on_commit_callbacks):
    user = make_user()
    settle_fixture_writes()
    key = ("profile:user", user.id)
    get_store().bump([key], window=0.001)
    client_for(user).get(f"/api/v1/users/{user.id}/profile/")  # read-your-writes: built inline
    stats.reset()

    assert rebuild_stale([key]) == []
    assert rebuilds() == {}

    get_store().bump([key], window=0.001)  # a later write: now the worker has something to do
    assert rebuild_stale([key, key]) == [key]
    assert rebuilds() == {"profile:user": 1}


def test_a_rebuild_of_an_unregistered_namespace_is_skipped_and_the_rest_run():
    user = make_user()
    settle_fixture_writes()

    assert rebuild_stale([("no:such", 1), ("profile:user", user.id)]) == [("profile:user", user.id)]


def test_a_new_application_invalidates_its_job_s_client_s_list_through_the_declaration(
    client_for, django_capture_on_commit_callbacks
):
    client, worker = make_user(), make_user()
    job = make_job(client=client)
    settle_fixture_writes()
    reader = client_for(client)
    assert reader.get("/api/v1/me/jobs/").json()["results"][0]["applications"]["pending"] == 0
    assert reader.get("/api/v1/me/jobs/").hot_cache_outcome == "hit"

    with django_capture_on_commit_callbacks(execute=True):
        job_services.application_create(job_id=job.id, applicant=worker)

    mine = reader.get("/api/v1/me/jobs/")
    assert mine.json()["results"][0]["applications"]["pending"] == 1


def test_a_creation_fan_out_reads_a_loaded_row_without_a_query(django_assert_num_queries):
    client, worker = make_user(), make_user()
    job = make_job(client=client)
    application = Application(job=job, applicant=worker)  # as application_create builds it, job loaded

    with django_assert_num_queries(0):
        keys = affected_keys(application, created=True)

    assert ("dashboard:jobs", client.id) in keys
    assert {("dashboard:applications", worker.id), ("job:detail", job.id)} <= keys


def test_a_creation_fan_out_of_a_row_without_its_parent_loaded_costs_one_query(django_assert_num_queries):
    client, worker = make_user(), make_user()
    job = make_job(client=client)
    application = Application(job_id=job.id, applicant_id=worker.id)

    with django_assert_num_queries(1):
        keys = affected_keys(application, created=True)

    assert ("dashboard:jobs", client.id) in keys
