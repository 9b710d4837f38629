"""The open-jobs feed (every city, and one city) and the two dashboards as hot views (issue 14, part 2).

What tests/caching/test_hot_endpoints.py checks for every hot path (cold budget, warm with no query,
the hot body equal to the uncached one, anonymous 401 on the private ones) covers these three namespaces
too; here: the feed of one city (every spelling one key, an empty city, which requests stay uncached),
exact query counts with one and with many rows, read-your-writes for every write that changes each of
them, and that the dashboards are only ever the requester's own.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.caching.store import get_store
from backend.jobs.models import FEED_ALL, Application, Job, city_key
from tests.caching.test_hot_cache import settle_fixture_writes
from tests.factories import make_application, make_job, make_user

pytestmark = pytest.mark.django_db

FEED = "/api/v1/jobs/"
MY_APPLICATIONS = "/api/v1/me/applications/"
MY_JOBS = "/api/v1/me/jobs/"


@pytest.fixture(params=["worker", "reader"])
def rebuild_mode(request, settings) -> str:
    """``worker``: the commit enqueues rebuilds (run eagerly here); ``reader``: the next read builds."""
    settings.HOT_CACHE_WORKER_REBUILD = request.param == "worker"
    return request.param


def warm(client, path: str, **params):
    """Read ``path`` twice; the second read is a hit. Returns it."""
    client.get(path, params)
    response = client.get(path, params)
    assert response.status_code == 200, response.content
    assert response.hot_cache_outcome == "hit", (path, params)
    return response


def ids(body: dict) -> list[int]:
    return [item["id"] for item in body["results"]]


# --- the feed: every city and one city ------------------------------------------------------------


@pytest.mark.parametrize("rows", [1, 25])
@pytest.mark.parametrize("city", [None, "Lagos"])
def test_feed_cold_then_warm_with_one_and_many_rows(api_client, city, rows, django_assert_num_queries):
    # given open jobs in Lagos (and one in Abuja, which only the every-city feed lists)
    client = make_user()
    start = timezone.now() + timedelta(days=1)
    jobs = [make_job(client=client, city="Lagos", shift_start=start + timedelta(minutes=i),
                     shift_end=start + timedelta(minutes=i, hours=8)) for i in range(rows)]  # fmt: skip
    abuja = make_job(client=client, city="Abuja", status=Job.Status.OPEN)  # its shift starts after all of them
    make_job(client=client, city="Lagos", status=Job.Status.FILLED)
    params = {"city": city} if city else {}

    # when: anonymous, so no token query; count, then the page with the clients' names joined
    with django_assert_num_queries(2):
        cold = api_client.get(FEED, params)
    with django_assert_num_queries(0):
        hot = api_client.get(FEED, params)

    # then
    assert (cold.hot_cache_outcome, hot.hot_cache_outcome) == ("miss", "hit")
    assert hot.content == cold.content
    assert hot["ETag"] == cold["ETag"]
    body = cold.json()
    assert body["count"] == rows + (0 if city else 1)
    assert ids(body) == [job.id for job in jobs][:20] + ([abuja.id] if rows < 20 and not city else [])
    uncached = api_client.get(FEED, {**params, "page_size": 20}).json()
    assert (uncached["count"], uncached["results"]) == (body["count"], body["results"])
    if rows > 20:
        assert body["next"] == ("/api/v1/jobs/?city=lagos&page=2" if city else "/api/v1/jobs/?page=2")
        following = api_client.get(body["next"])
        assert not hasattr(following, "hot_cache_outcome")
        assert ids(following.json()) == [job.id for job in jobs[20:]] + ([] if city else [abuja.id])
    else:
        assert body["next"] is None


def test_every_spelling_of_a_city_is_one_key(api_client, django_assert_num_queries):
    make_job(city="São Paulo")
    first = api_client.get(FEED, {"city": "São Paulo"})
    assert first.hot_cache_outcome == "miss"

    for spelling in ("SÃO PAULO", "  são   paulo ", "São\tPaulo"):
        with django_assert_num_queries(0):
            response = api_client.get(FEED, {"city": spelling})
        assert response.hot_cache_outcome == "hit", spelling
        assert response.content == first.content, spelling
    # the filter's path compares cities the same way
    assert ids(api_client.get(FEED, {"city": "SÃO  PAULO", "page_size": 5}).json()) == ids(first.json())


def test_a_city_with_no_open_job_is_the_empty_page_kept_as_briefly_as_an_unknown_id(
    api_client, django_assert_num_queries
):
    make_job(city="Lagos")

    with django_assert_num_queries(1):  # the count (0); no page to read
        cold = api_client.get(FEED, {"city": "Atlantis"})
    with django_assert_num_queries(0):
        hot = api_client.get(FEED, {"city": "Atlantis"})

    assert (cold.status_code, hot.status_code) == (200, 200)
    assert cold.json() == hot.json() == {"count": 0, "next": None, "previous": None, "results": []}
    assert hot.hot_cache_outcome == "hit"
    assert hot.content == api_client.get(FEED, {"city": "Atlantis", "page_size": 20}).content
    # stored as a 404, which the store keeps HOT_CACHE_NOT_FOUND_TTL at most (docs/caching.md, "Bounds")
    stored = get_store().read("jobs:open", city_key("Atlantis"), record_access=False).payload
    assert stored.status == 404


@pytest.mark.parametrize(
    "params",
    [
        {"city": "Lagos", "page": "2"},
        {"city": "Lagos", "page_size": "20"},
        {"status": "filled"},
        {"page": "1"},
        {"city": ""},
        {"city": "   "},
        {"city": ["Lagos", "Abuja"]},
        {"search": "shift"},
    ],
    ids=str,
)
def test_any_other_query_takes_the_uncached_path(api_client, params):
    make_job(city="Lagos", title="Night shift")
    for _ in range(21):
        make_job(city="Lagos")

    response = api_client.get(FEED, params)

    assert response.status_code == 200, response.content
    assert not hasattr(response, "hot_cache_outcome")


@pytest.mark.parametrize("city", ["x" * 81, "La\x00gos"], ids=["too long", "NUL"])
def test_an_invalid_city_is_the_filter_s_400_not_a_hot_key(api_client, city):
    response = api_client.get(FEED, {"city": city})

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "city"


# --- read-your-writes: the feed -------------------------------------------------------------------


def _job_payload(**fields) -> dict:
    start = timezone.now() + timedelta(days=3)
    return {"title": "Forklift driver", "city": "Lagos", "pay_rate": "20.00", "shift_start": start.isoformat(),
            "shift_end": (start + timedelta(hours=8)).isoformat(), "slots": 1, **fields}  # fmt: skip


@pytest.fixture
def feed_world(client_for):
    """An open job in Lagos, an open job in Abuja, each with a pending application; both feeds warm."""
    client, worker = make_user(email="client@example.com"), make_user(email="worker@example.com")
    lagos = make_job(client=client, city="Lagos", title="Lagos shift")
    abuja = make_job(client=client, city="Abuja", title="Abuja shift")
    application = make_application(job=lagos, applicant=worker)
    clients = {"client": client_for(client), "worker": client_for(worker)}
    settle_fixture_writes()
    return {"client": client, "worker": worker, "lagos": lagos, "abuja": abuja, "application": application, **clients}


def feeds(api_client) -> dict[str, dict]:
    """Every-city, Lagos and Abuja feeds, read right after a write."""
    return {name: api_client.get(FEED, params).json() for name, params in
            (("all", {}), ("Lagos", {"city": "Lagos"}), ("Abuja", {"city": "Abuja"}))}  # fmt: skip


def warm_feeds(api_client) -> None:
    for params in ({}, {"city": "Lagos"}, {"city": "Abuja"}):
        warm(api_client, FEED, **params)


def test_a_posted_job_shows_in_the_feed_and_its_city_at_once(
    feed_world, api_client, rebuild_mode, django_capture_on_commit_callbacks
):
    warm_feeds(api_client)

    with django_capture_on_commit_callbacks(execute=True):
        posted = feed_world["client"].post(FEED, _job_payload(city="ABUJA"), format="json")
    assert posted.status_code == 201, posted.content

    after = feeds(api_client)
    assert posted.json()["id"] in ids(after["all"])
    assert posted.json()["id"] in ids(after["Abuja"])
    assert posted.json()["id"] not in ids(after["Lagos"])


def test_a_job_moved_to_another_city_leaves_the_old_city_s_feed_and_joins_the_new(
    feed_world, api_client, rebuild_mode, django_capture_on_commit_callbacks
):
    lagos = feed_world["lagos"]
    Application.objects.filter(job=lagos).delete()  # no one hired: its city can still change
    settle_fixture_writes()
    warm_feeds(api_client)

    with django_capture_on_commit_callbacks(execute=True):
        response = feed_world["client"].patch(f"/api/v1/jobs/{lagos.id}/", {"city": "Abuja"}, format="json")
    assert response.status_code == 200, response.content

    after = feeds(api_client)
    assert lagos.id not in ids(after["Lagos"])
    assert lagos.id in ids(after["Abuja"])
    assert [job["city"] for job in after["all"]["results"] if job["id"] == lagos.id] == ["Abuja"]


@pytest.mark.parametrize("write", ["cancel", "fill", "retitle"])
def test_a_job_that_closes_or_changes_shows_so_in_the_feed_at_once(
    feed_world, api_client, rebuild_mode, write, django_capture_on_commit_callbacks
):
    lagos, application = feed_world["lagos"], feed_world["application"]
    warm_feeds(api_client)
    untouched = api_client.get(FEED, {"city": "Abuja"})
    abuja_generation = get_store().read_generation("jobs:open", feed_world["abuja"].city_key)[0]

    with django_capture_on_commit_callbacks(execute=True):
        if write == "cancel":
            response = feed_world["client"].post(f"/api/v1/jobs/{lagos.id}/cancel/")
        elif write == "fill":  # its one slot taken: filled, no longer open
            response = feed_world["client"].post(f"/api/v1/applications/{application.id}/accept/")
        else:
            response = feed_world["client"].patch(f"/api/v1/jobs/{lagos.id}/", {"title": "Renamed"}, format="json")
    assert response.status_code == 200, response.content

    after = feeds(api_client)
    if write == "retitle":
        assert [job["title"] for job in after["Lagos"]["results"]] == ["Renamed"]
        assert "Renamed" in [job["title"] for job in after["all"]["results"]]
    else:
        assert lagos.id not in ids(after["all"])
        assert after["Lagos"]["count"] == 0
    # another city's feed is not touched by a Lagos job
    assert get_store().read_generation("jobs:open", feed_world["abuja"].city_key)[0] == abuja_generation
    assert api_client.get(FEED, {"city": "Abuja"}).content == untouched.content


def test_a_withdrawal_that_reopens_a_filled_job_brings_it_back(
    feed_world, api_client, rebuild_mode, django_capture_on_commit_callbacks
):
    lagos, application = feed_world["lagos"], feed_world["application"]
    with django_capture_on_commit_callbacks(execute=True):
        feed_world["client"].post(f"/api/v1/applications/{application.id}/accept/")
    warm_feeds(api_client)
    assert lagos.id not in ids(api_client.get(FEED).json())

    with django_capture_on_commit_callbacks(execute=True):
        response = feed_world["worker"].post(f"/api/v1/applications/{application.id}/withdraw/")
    assert response.status_code == 200, response.content

    assert lagos.id in ids(feeds(api_client)["all"])
    assert lagos.id in ids(feeds(api_client)["Lagos"])


def test_a_client_s_new_display_name_shows_on_their_open_jobs(
    feed_world, api_client, rebuild_mode, django_capture_on_commit_callbacks
):
    warm_feeds(api_client)

    with django_capture_on_commit_callbacks(execute=True):
        response = feed_world["client"].patch("/api/v1/me/profile/", {"display_name": "Acme Staffing"}, format="json")
    assert response.status_code == 200, response.content

    for body in feeds(api_client).values():
        assert {job["client"]["display_name"] for job in body["results"]} == {"Acme Staffing"}


# --- the dashboards ------------------------------------------------------------------------------


@pytest.mark.parametrize("rows", [1, 25])
def test_dashboards_cold_then_warm_with_one_and_many_rows(client_for, rows, django_assert_num_queries):
    worker, client = make_user(), make_user()
    for _ in range(rows):
        make_application(job=make_job(client=client), applicant=worker)
    for path, owner in ((MY_APPLICATIONS, worker), (MY_JOBS, client)):
        api = client_for(owner)
        with django_assert_num_queries(3):  # token; count; page (jobs joined, or counts as subqueries)
            cold = api.get(path)
        with django_assert_num_queries(0):
            hot = api.get(path)
        assert (cold.hot_cache_outcome, hot.hot_cache_outcome) == ("miss", "hit")
        assert hot.content == cold.content
        assert cold.json()["count"] == rows
        assert len(cold.json()["results"]) == min(rows, 20)
        assert cold.json()["next"] == (f"{path}?page=2" if rows > 20 else None)
        uncached = api.get(path, {"format": "json"}).json()  # (its next link carries format=json)
        assert (uncached["count"], uncached["results"]) == (cold.json()["count"], cold.json()["results"])


def test_dashboards_are_only_ever_the_requesters_own(client_for, staff_user, django_assert_num_queries):
    # given a worker and a client with one application between them, and another user with their own
    worker, client, other = make_user(), make_user(), make_user()
    mine = make_application(job=make_job(client=client), applicant=worker)
    theirs = make_application(job=make_job(client=other), applicant=other)  # never listed: refused in the API
    readers = {reader.id: client_for(reader) for reader in (worker, client, other, staff_user)}
    for api in readers.values():
        api.get("/api/v1/auth/me/")  # each token now answered by cachalot: the counts below are the lists'
    for path, owner in ((MY_APPLICATIONS, worker), (MY_JOBS, client)):
        owners = warm(readers[owner.id], path)
        for reader, queries in ((other, 2), (staff_user, 1)):
            # when another user (staff included) asks, with the owner's ETag
            with django_assert_num_queries(queries):  # their own key, cold: count (and a page if any)
                response = readers[reader.id].get(path, HTTP_IF_NONE_MATCH=owners["ETag"])
            # then they get their own list, never a 304 on the owner's tag nor the owner's rows
            assert response.status_code == 200
            assert response.hot_cache_outcome == "miss"
            assert response.content != owners.content
            assert set(response["Cache-Control"].split(", ")) == {"private", "no-store"}
    assert ids(readers[worker.id].get(MY_APPLICATIONS).json()) == [mine.id]
    assert ids(readers[client.id].get(MY_JOBS).json()) == [mine.job_id]
    assert ids(readers[other.id].get(MY_JOBS).json()) == [theirs.job_id]
    assert ids(readers[staff_user.id].get(MY_APPLICATIONS).json()) == []


@pytest.fixture
def dashboard_world(client_for):
    """A client with an open job of two slots; a worker with a pending application to it; both dashboards warm."""
    client, worker, newcomer = make_user(), make_user(), make_user()
    job = make_job(client=client, slots=2, title="Night shift")
    application = make_application(job=job, applicant=worker)
    api = {"client": client_for(client), "worker": client_for(worker), "newcomer": client_for(newcomer)}
    settle_fixture_writes()
    return {"job": job, "application": application, "client": client, "worker": worker, **api}


def warm_dashboards(world) -> None:
    warm(world["client"], MY_JOBS)
    warm(world["worker"], MY_APPLICATIONS)
    warm(world["newcomer"], MY_APPLICATIONS)


def counts(world) -> dict:
    return world["client"].get(MY_JOBS).json()["results"][0]["applications"]


def statuses(api) -> list[str]:
    return [application["status"] for application in api.get(MY_APPLICATIONS).json()["results"]]


def test_applying_shows_in_the_applicants_list_and_the_clients_counts(
    dashboard_world, rebuild_mode, django_capture_on_commit_callbacks
):
    world = dashboard_world
    warm_dashboards(world)

    with django_capture_on_commit_callbacks(execute=True):
        response = world["newcomer"].post(f"/api/v1/jobs/{world['job'].id}/applications/", {}, format="json")
    assert response.status_code == 201, response.content

    assert statuses(world["newcomer"]) == ["pending"]
    assert counts(world)["pending"] == 2


@pytest.mark.parametrize(
    ("action", "by", "status"),
    [
        ("accept", "client", "accepted"),
        ("reject", "client", "rejected"),
        ("withdraw", "worker", "withdrawn"),
    ],
)
def test_an_application_s_new_status_shows_on_both_dashboards(
    dashboard_world, rebuild_mode, action, by, status, django_capture_on_commit_callbacks
):
    world = dashboard_world
    warm_dashboards(world)

    with django_capture_on_commit_callbacks(execute=True):
        response = world[by].post(f"/api/v1/applications/{world['application'].id}/{action}/")
    assert response.status_code == 200, response.content

    assert statuses(world["worker"]) == [status]
    assert counts(world)[status] == 1
    assert counts(world)["pending"] == 0


@pytest.mark.parametrize("write", ["retitle", "cancel"])
def test_a_job_change_shows_in_its_applicants_lists_and_its_clients_list(
    dashboard_world, rebuild_mode, write, django_capture_on_commit_callbacks
):
    world = dashboard_world
    job = world["job"]
    warm_dashboards(world)

    with django_capture_on_commit_callbacks(execute=True):
        if write == "retitle":
            response = world["client"].patch(f"/api/v1/jobs/{job.id}/", {"title": "Day shift"}, format="json")
        else:
            response = world["client"].post(f"/api/v1/jobs/{job.id}/cancel/")
    assert response.status_code == 200, response.content

    shown = world["worker"].get(MY_APPLICATIONS).json()["results"][0]["job"]
    mine = world["client"].get(MY_JOBS).json()["results"][0]
    if write == "retitle":
        assert shown["title"] == mine["title"] == "Day shift"
    else:
        assert shown["status"] == mine["status"] == "cancelled"


def test_a_posted_job_shows_in_its_clients_list(dashboard_world, rebuild_mode, django_capture_on_commit_callbacks):
    world = dashboard_world
    warm_dashboards(world)

    with django_capture_on_commit_callbacks(execute=True):
        posted = world["client"].post(FEED, _job_payload(), format="json")
    assert posted.status_code == 201, posted.content

    assert ids(world["client"].get(MY_JOBS).json()) == [posted.json()["id"], world["job"].id]


def test_a_client_s_new_display_name_shows_in_their_applicants_lists(
    dashboard_world, rebuild_mode, django_capture_on_commit_callbacks
):
    world = dashboard_world
    warm_dashboards(world)

    with django_capture_on_commit_callbacks(execute=True):
        response = world["client"].patch("/api/v1/me/profile/", {"display_name": "Acme"}, format="json")
    assert response.status_code == 200, response.content

    assert world["worker"].get(MY_APPLICATIONS).json()["results"][0]["job"]["client"]["display_name"] == "Acme"


def test_the_feed_and_dashboards_warm_on_demand(client_for, rebuild_mode):
    """``warm_caches --all`` knows every key of the three namespaces (their ``all_ids``)."""
    from django.core.management import call_command

    worker = make_user()
    job = make_job(city="Kano")
    make_application(job=job, applicant=worker)
    settle_fixture_writes()

    call_command("warm_caches", "--all", "--namespace", "jobs:open")
    call_command("warm_caches", "--all", "--namespace", "dashboard:applications")
    call_command("warm_caches", "--all", "--namespace", "dashboard:jobs")

    store = get_store()
    for namespace, key_id in (("jobs:open", FEED_ALL), ("jobs:open", city_key("kano")),
                              ("dashboard:applications", worker.id), ("dashboard:jobs", job.client_id)):  # fmt: skip
        assert store.read(namespace, key_id, record_access=False).payload is not None, (namespace, key_id)
