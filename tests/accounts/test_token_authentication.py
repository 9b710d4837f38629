"""Token authentication from the hot store (``backend.accounts.authentication.HotTokenAuthentication``).

A warm token costs no SQL; every change that must end or alter a token's access (logout, a token
deleted by the admin or the ORM, a user deactivated, deleted, made or unmade staff, given a new
password or email) shows on the very next request. Writes run their commit callbacks
(``django_capture_on_commit_callbacks``), as a real commit does. The same under Redis faults is in
``tests/reliability/test_redis_faults.py``.
"""

import pytest
from django.core.cache import caches
from django.test import override_settings
from rest_framework.authtoken.models import Token

from backend.accounts import authentication
from backend.accounts.hot_caches import TOKENS, token_key_id
from backend.accounts.models import User
from backend.caching.payload import Payload, servable, stored
from backend.caching.store import get_store
from bench.server_timing import desc_count, parse_server_timing
from tests.assertions import assert_error
from tests.caching.test_hot_cache import settle_fixture_writes
from tests.factories import make_job, make_user

pytestmark = pytest.mark.django_db

ME = "/api/v1/auth/me/"
STATS = "/api/v1/ops/cache/stats/"


def warm(client, django_assert_num_queries) -> None:
    """The token's first request stores its entry; the next runs no SQL."""
    settle_fixture_writes()
    assert client.get(ME).status_code == 200
    with django_assert_num_queries(0):
        assert client.get(ME).status_code == 200


def test_a_warm_token_authenticates_without_sql_as_the_database_would(client_for, user, django_assert_num_queries):
    client = client_for(user)
    settle_fixture_writes()
    with django_assert_num_queries(1):  # the token joined with its user, then stored
        cold = client.get(ME)
    with django_assert_num_queries(0):
        warm_response = client.get(ME)
    assert warm_response.content == cold.content
    assert warm_response.json() == {
        "id": user.id,
        "email": user.email,
        "is_staff": False,
        "date_joined": cold.json()["date_joined"],
    }


def _logout(client, user):
    assert client.post("/api/v1/auth/logout/").status_code == 204


def _delete_token(client, user):
    Token.objects.get(user=user).delete()  # the admin's delete, one object


def _delete_tokens_by_queryset(client, user):
    Token.objects.filter(user=user).delete()


def _deactivate(client, user):
    user.refresh_from_db()
    user.is_active = False
    user.save()


def _delete_user(client, user):
    User.objects.get(pk=user.pk).delete()


@pytest.mark.parametrize(
    ("revoke", "message"),
    [
        (_logout, "Invalid token."),
        (_delete_token, "Invalid token."),
        (_delete_tokens_by_queryset, "Invalid token."),
        (_deactivate, "User inactive or deleted."),
        (_delete_user, "Invalid token."),
    ],
    ids=["logout", "token-deleted", "tokens-deleted-by-queryset", "user-deactivated", "user-deleted"],
)
def test_access_ends_on_the_very_next_request(
    client_for, user, revoke, message, django_capture_on_commit_callbacks, django_assert_num_queries
):
    client = client_for(user)
    warm(client, django_assert_num_queries)

    with django_capture_on_commit_callbacks(execute=True):
        revoke(client, user)

    body = assert_error(client.get(ME), 401)
    assert body["errors"][0]["detail"] == message
    # the refusal is remembered too (no SQL), and still a 401
    with django_assert_num_queries(0):
        assert_error(client.get(ME), 401)


def test_a_user_made_staff_or_unmade_is_seen_on_the_next_request(
    client_for, user, django_capture_on_commit_callbacks, django_assert_num_queries
):
    client = client_for(user)
    warm(client, django_assert_num_queries)
    assert client.get(STATS).status_code == 403

    for is_staff, status in ((True, 200), (False, 403)):
        with django_capture_on_commit_callbacks(execute=True):
            user.is_staff = is_staff
            user.save()
        assert client.get(STATS).status_code == status
        assert client.get(ME).json()["is_staff"] is is_staff


def test_a_new_password_or_email_invalidates_the_entry(
    client_for, user, django_capture_on_commit_callbacks, django_assert_num_queries
):
    client = client_for(user)
    warm(client, django_assert_num_queries)

    with django_capture_on_commit_callbacks(execute=True):
        user.set_password("another long passphrase 42")
        user.save()
    with django_assert_num_queries(1):  # the entry was invalidated: the database again (the token stays valid)
        assert client.get(ME).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        user.email = "renamed@example.com"
        user.save()
    assert client.get(ME).json()["email"] == "renamed@example.com"


def test_a_login_that_changes_nothing_the_entry_holds_keeps_it(
    client_for, user, django_capture_on_commit_callbacks, django_assert_num_queries
):
    client = client_for(user)
    warm(client, django_assert_num_queries)
    with django_capture_on_commit_callbacks(execute=True):
        user.save(update_fields=["last_login"])  # the admin's login
    with django_assert_num_queries(0):
        assert client.get(ME).status_code == 200


def test_an_unknown_token_is_refused_and_works_once_created(
    api_client, user, django_capture_on_commit_callbacks, django_assert_num_queries
):
    key = "f" * 40
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    with django_assert_num_queries(1):
        body = assert_error(api_client.get(ME), 401)
    assert body["errors"][0]["detail"] == "Invalid token."
    with django_assert_num_queries(0):
        assert_error(api_client.get(ME), 401)

    with django_capture_on_commit_callbacks(execute=True):
        Token.objects.create(key=key, user=user)
    assert api_client.get(ME).json()["id"] == user.id


def test_an_entry_read_before_a_revocation_is_never_served(
    client_for, user, monkeypatch, django_capture_on_commit_callbacks, django_assert_num_queries
):
    client = client_for(user)
    settle_fixture_writes()
    real_lookup = authentication.lookup

    def lookup_then_logout_elsewhere(key):
        found = real_lookup(key)  # the miss read the token...
        with django_capture_on_commit_callbacks(execute=True):
            Token.objects.filter(key=key).delete()  # ...and another request's logout committed
        return found

    monkeypatch.setattr(authentication, "lookup", lookup_then_logout_elsewhere)
    assert client.get(ME).status_code == 200  # answered as of its read, as any request in flight
    monkeypatch.setattr(authentication, "lookup", real_lookup)

    assert_error(client.get(ME), 401)


def test_redis_holds_a_digest_of_the_token_never_the_token(client_for, user, django_assert_num_queries):
    if "Redis" not in type(caches["default"]).__name__:
        pytest.skip("needs REDIS_URL")
    client = client_for(user)
    warm(client, django_assert_num_queries)
    key = Token.objects.get(user=user).key
    redis = caches["default"].client.get_client(write=True)

    assert servable(*stored(redis, TOKENS.namespace, token_key_id(key)))
    for name in redis.scan_iter(count=1000):
        assert key.encode() not in name
        if redis.type(name) == b"string":
            assert key.encode() not in redis.get(name)


def test_hits_and_misses_are_counted(client_for, user, django_assert_num_queries):
    get_store().reset_stats([TOKENS.namespace])
    warm(client_for(user), django_assert_num_queries)
    get_store().flush_counters()
    counters, _ = get_store().raw_stats([TOKENS.namespace])[TOKENS.namespace]
    assert (counters.get("hits"), counters.get("misses")) == (1, 1)


def test_an_entry_of_another_token_on_the_same_key_id_is_a_miss_never_its_user(client_for, user, other_user):
    """Two tokens whose key ids collide (2^-63 per pair): the entry's digest tells them apart."""
    client, other = client_for(user), client_for(other_user)
    settle_fixture_writes()
    assert client.get(ME).json()["id"] == user.id
    mine = Token.objects.get(user=user).key
    theirs = Token.objects.get(user=other_user).key
    store = get_store()
    my_entry = store.read(TOKENS.namespace, token_key_id(mine), record_access=False).payload
    # my entry, servable, where the other token's entry lives
    gen, epoch = store.ensure_generation(TOKENS.namespace, token_key_id(theirs))
    collided = Payload(epoch=epoch, gen=gen, status=200, built_ms=my_entry.built_ms, body=my_entry.body)
    store.store(TOKENS.namespace, token_key_id(theirs), collided, TOKENS.effective_ttl)

    assert other.get(ME).json()["id"] == other_user.id


def test_an_inactive_user_created_with_a_token_is_refused(client_for, django_assert_num_queries):
    inactive = make_user(is_active=False)
    client = client_for(inactive)
    settle_fixture_writes()
    body = assert_error(client.get(ME), 401)
    assert body["errors"][0]["detail"] == "User inactive or deleted."


# A warm hot read with a warm token: Redis round trips (Server-Timing ``redis``). A public view keyed
# by the path or the query reads its payload in the token entry's round trip; a view keyed by who
# asks (``/me/...``) or private cannot know its key before authentication, so it takes two.
ROUND_TRIPS = [
    ("/api/v1/jobs/{job}/", 1),
    ("/jobs/{job}", 1),
    ("/api/v1/jobs/", 1),
    ("/api/v1/jobs/?city=Lagos", 1),
    ("/api/v1/users/{user}/profile/", 1),
    ("/api/v1/users/{user}/reviews/", 1),
    ("/api/v1/users/{user}/reviews-given/", 1),
    ("/api/v1/me/profile/", 2),
    ("/api/v1/me/account-details/", 2),
    ("/api/v1/users/{user}/payments/", 2),
    ("/api/v1/me/applications/", 2),
]


@pytest.mark.parametrize(("path", "round_trips"), ROUND_TRIPS)
def test_a_warm_hot_read_fetches_token_and_payload_in_as_few_round_trips_as_its_key_allows(
    client_for, user, path, round_trips, django_assert_num_queries
):
    job = make_job(city="Lagos")
    path = path.format(job=job.id, user=user.id)
    with override_settings(SERVER_TIMING_ENABLED=True):
        client = client_for(user)  # a new client builds its middleware chain with the setting on
        settle_fixture_writes()
        first = client.get(path)
        client.get(path)
        with django_assert_num_queries(0):
            warm = client.get(path)

    assert first.status_code == warm.status_code == 200
    assert warm.content == first.content
    timing = parse_server_timing(warm.headers["Server-Timing"])
    assert timing["cache"]["desc"] == "hit"
    assert desc_count(timing, "redis") == round_trips


def test_a_payload_read_with_a_refused_token_is_never_served(api_client, user, django_assert_num_queries):
    job = make_job()
    path = f"/api/v1/jobs/{job.id}/"
    settle_fixture_writes()
    assert api_client.get(path).status_code == 200  # warm, anonymously (the job is public)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {'0' * 40}")
    for _ in range(2):  # the refusal from the database, then from its entry
        assert_error(api_client.get(path), 401)
