"""The hot-cache mechanism itself: read path, generations, stale-set protection, coalescing, ETags."""

import pytest
from django.test import override_settings

from backend.accounts import services as account_services
from backend.caching import registry, stats
from backend.caching.invalidation import _batch_for, flush
from backend.caching.payload import payload_key
from backend.caching.rebuild import build_payload
from backend.caching.store import get_store
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def settle_fixture_writes() -> None:
    """Flush the invalidations of the rows fixtures created, as their commit would have.

    Inside a test's transaction on_commit callbacks only run where a test captures them; rows made
    by fixtures leave their keys pending, and the next captured commit would flush them too.
    """
    flush(_batch_for("default").take())


def profile_url(user) -> str:
    return f"/api/v1/users/{user.id}/profile/"


def test_warm_read_runs_no_query_and_returns_the_same_bytes(client_for, user, django_assert_num_queries):
    client = client_for(user)
    with django_assert_num_queries(2):  # token + profile with rating summary
        cold = client.get(profile_url(user))
    with django_assert_num_queries(0):
        warm = client.get(profile_url(user))

    assert cold.status_code == warm.status_code == 200
    assert warm.content == cold.content
    assert warm["ETag"] == cold["ETag"]
    assert warm.hot_cache_outcome == "hit"


def test_unknown_id_is_a_cached_404(api_client, db, django_assert_num_queries):
    with django_assert_num_queries(1):
        cold = api_client.get("/api/v1/users/424242/profile/")
    with django_assert_num_queries(0):
        warm = api_client.get("/api/v1/users/424242/profile/")

    assert cold.status_code == warm.status_code == 404
    assert warm.json()["errors"][0]["code"] == "not_found"


def test_a_write_behind_a_cached_404_makes_the_row_visible(api_client, db, django_capture_on_commit_callbacks):
    hidden = make_user(is_active=False)
    assert api_client.get(profile_url(hidden)).status_code == 404
    assert api_client.get(profile_url(hidden)).hot_cache_outcome == "hit"  # the 404 is cached

    with django_capture_on_commit_callbacks(execute=True):
        hidden.is_active = True
        hidden.save(update_fields=["is_active"])

    assert api_client.get(profile_url(hidden)).status_code == 200


def test_a_write_is_visible_to_the_very_next_read(client_for, user, django_capture_on_commit_callbacks):
    client = client_for(user)
    assert client.get(profile_url(user)).json()["city"] == ""

    with django_capture_on_commit_callbacks(execute=True):
        client.patch("/api/v1/me/profile/", {"city": "Ibadan"})

    assert client.get(profile_url(user)).json()["city"] == "Ibadan"


def test_a_write_leaves_other_users_keys_alone(client_for, user, other_user, django_capture_on_commit_callbacks):
    settle_fixture_writes()
    store = get_store()
    client_for(other_user).get(profile_url(other_user))
    untouched_gen = store.read_generation("profile:user", other_user.id)[0]

    with django_capture_on_commit_callbacks(execute=True):
        account_services.profile_update(user=user, city="Kano")

    assert store.read_generation("profile:user", other_user.id)[0] == untouched_gen
    assert client_for(other_user).get(profile_url(other_user)).hot_cache_outcome == "hit"


def test_rebuild_that_read_before_a_write_is_never_served(api_client, user, django_capture_on_commit_callbacks):
    """The stale-set race, step by step: read generation, read database, write commits, store."""
    view = registry.get("profile:user")
    store = get_store()
    # given a rebuild that has read the generation and the database...
    gen, epoch = store.ensure_generation("profile:user", user.id)
    stale = build_payload(view, user.id, gen, epoch)
    # ...when a write commits before it stores...
    with django_capture_on_commit_callbacks(execute=True):
        account_services.profile_update(user=user, city="Enugu")
    store.store("profile:user", user.id, stale, view.effective_ttl)
    # ...then the next read does not serve what it stored.
    stats.reset()

    response = api_client.get(profile_url(user))

    assert response.json()["city"] == "Enugu"
    assert response.hot_cache_outcome == "miss"
    assert stats.collect()["namespaces"]["profile:user"]["stale_rejects"] == 1


def test_payload_built_under_an_older_generation_is_rejected(api_client, user):
    view = registry.get("profile:user")
    store = get_store()
    gen, epoch = store.ensure_generation("profile:user", user.id)
    payload = build_payload(view, user.id, gen, epoch)
    flush({("profile:user", user.id)})  # a write elsewhere bumps the generation
    store.store("profile:user", user.id, payload, 60)

    result = store.read("profile:user", user.id, record_access=False)

    assert result.payload is not None
    assert result.payload.gen != result.gen


# A window far longer than the burst, so the test does not depend on how fast this machine writes.
@override_settings(HOT_CACHE_COALESCE_WINDOW=60.0)
def test_a_burst_of_writes_to_one_key_enqueues_at_most_two_rebuilds(
    client_for, user, django_capture_on_commit_callbacks
):
    client_for(user).get("/api/v1/me/account-details/")  # read: a key writes rebuild (popular)
    stats.reset()
    for i in range(50):
        with django_capture_on_commit_callbacks(execute=True):
            account_services.account_details_update(user=user, bank_name=f"Bank {i}")

    # Tasks run eagerly here, so every enqueued rebuild ran and was counted: the leading one
    # (first write) and at most one trailing one (for all the writes after it in the window).
    assert 1 <= stats.collect()["namespaces"]["account_details:user"]["rebuilds"] <= 2
    assert client_for(user).get("/api/v1/me/account-details/").json()["bank_name"] == "Bank 49"


def test_if_none_match_with_the_current_tag_is_304_without_sql(client_for, user, django_assert_num_queries):
    client = client_for(user)
    tag = client.get(profile_url(user))["ETag"]

    with django_assert_num_queries(0):
        response = client.get(profile_url(user), HTTP_IF_NONE_MATCH=tag)

    assert response.status_code == 304
    assert response["ETag"] == tag
    assert response.content == b""


def test_a_write_changes_the_tag(client_for, user, django_capture_on_commit_callbacks):
    client = client_for(user)
    tag = client.get(profile_url(user))["ETag"]
    with django_capture_on_commit_callbacks(execute=True):
        account_services.profile_update(user=user, headline="Forklift pro")

    response = client.get(profile_url(user), HTTP_IF_NONE_MATCH=tag)

    assert response.status_code == 200
    assert response["ETag"] != tag
    assert response.json()["headline"] == "Forklift pro"


def test_an_empty_store_does_not_serve_anything(api_client, user):
    get_store().clear()
    response = api_client.get(profile_url(user))
    assert response.hot_cache_outcome == "miss"


@override_settings(HOT_CACHE_ENABLED=False)
def test_hot_cache_can_be_switched_off(api_client, user, django_assert_num_queries):
    with django_assert_num_queries(1):
        api_client.get(profile_url(user))
    with django_assert_num_queries(1):
        response = api_client.get(profile_url(user))
    assert not hasattr(response, "hot_cache_outcome")
    assert get_store().read("profile:user", user.id, record_access=False).payload is None


def test_requests_with_query_parameters_or_html_take_the_normal_path(api_client, user):
    api_client.get(profile_url(user))

    assert not hasattr(api_client.get(profile_url(user), {"format": "json"}), "hot_cache_outcome")
    assert not hasattr(api_client.get(profile_url(user), HTTP_ACCEPT="text/html"), "hot_cache_outcome")


def test_payload_key_names_namespace_and_id():
    assert payload_key("payments:user", 7) == "hc:payments:user:7:p"
