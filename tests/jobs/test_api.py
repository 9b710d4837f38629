from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from backend.jobs.models import Application, Job
from tests.assertions import assert_error
from tests.factories import make_application, make_job, make_user

pytestmark = pytest.mark.django_db

Status = Job.Status
AppStatus = Application.Status


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _payload(**overrides) -> dict:
    start = (timezone.now() + timedelta(days=3)).replace(microsecond=0)
    payload = {
        "title": "Bar staff",
        "description": "Serve drinks at a wedding.",
        "city": "Abuja",
        "address": "12 Garki Road",
        "pay_rate": "20.00",
        "shift_start": _iso(start),
        "shift_end": _iso(start + timedelta(hours=6)),
        "slots": 3,
    }
    payload.update(overrides)
    return payload


def _ids(response) -> list[int]:
    return [item["id"] for item in response.json()["results"]]


# --- list and search ----------------------------------------------------------------------


def test_job_list_shows_open_jobs_soonest_first_with_a_client_summary(api_client, user):
    now = timezone.now()
    later = make_job(client=user, shift_start=now + timedelta(days=5), shift_end=now + timedelta(days=5, hours=4))
    sooner = make_job(client=user, shift_start=now + timedelta(days=1), shift_end=now + timedelta(days=1, hours=4))
    for status in (Status.FILLED, Status.IN_PROGRESS, Status.COMPLETED, Status.CANCELLED):
        make_job(client=user, status=status)

    response = api_client.get("/api/v1/jobs/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 2
    assert _ids(response) == [sooner.id, later.id]
    assert body["results"][0] == {
        "id": sooner.id,
        "title": "Warehouse shift",
        "city": "Lagos",
        "pay_rate": "15.50",
        "shift_start": _iso(sooner.shift_start),
        "shift_end": _iso(sooner.shift_end),
        "slots": 1,
        "status": "open",
        "client": {"id": user.id, "display_name": "owner"},
    }


def test_job_list_orders_jobs_with_the_same_start_by_id(api_client):
    start = timezone.now() + timedelta(days=2)
    jobs = [make_job(shift_start=start, shift_end=start + timedelta(hours=1)) for _ in range(3)]

    assert _ids(api_client.get("/api/v1/jobs/")) == [job.id for job in jobs]


@pytest.mark.parametrize("rows", [1, 25])
def test_job_list_costs_a_count_and_a_page_whatever_the_number_of_jobs(api_client, rows, django_assert_num_queries):
    for _ in range(rows):
        make_job()

    # count, page
    with django_assert_num_queries(2):
        response = api_client.get("/api/v1/jobs/")

    assert response.json()["count"] == rows
    assert len(response.json()["results"]) == min(rows, 20)


@pytest.mark.parametrize("rows", [1, 25])
def test_job_list_with_a_token_costs_one_more_query(client_for, user, rows, django_assert_num_queries):
    for _ in range(rows):
        make_job()
    client = client_for(user)

    # token, count, page
    with django_assert_num_queries(3):
        response = client.get("/api/v1/jobs/?city=lagos&search=shift")

    assert response.json()["count"] == rows


def test_job_list_pages_link_to_the_next_page(api_client):
    for _ in range(25):
        make_job()

    first = api_client.get("/api/v1/jobs/").json()
    second = api_client.get("/api/v1/jobs/?page=2").json()

    assert first["next"] == "/api/v1/jobs/?page=2"
    assert len(first["results"]) == 20
    assert len(second["results"]) == 5
    assert second["previous"] == "/api/v1/jobs/"
    assert_error(api_client.get("/api/v1/jobs/?page=3"), 404)


def test_job_list_filters_by_status(api_client):
    filled = make_job(status=Status.FILLED)
    make_job()

    assert _ids(api_client.get("/api/v1/jobs/?status=filled")) == [filled.id]


def test_job_list_filters_by_city_ignoring_case_but_not_partial_names(api_client):
    lagos = make_job(city="Lagos")
    make_job(city="Lagos Island")
    make_job(city="Abuja")

    assert _ids(api_client.get("/api/v1/jobs/?city=LAGOS")) == [lagos.id]


def test_job_list_filters_by_shift_start_with_datetimes_and_dates(api_client):
    base = (timezone.now() + timedelta(days=10)).replace(hour=12, minute=0, second=0, microsecond=0)
    day1 = make_job(shift_start=base, shift_end=base + timedelta(hours=2))
    day2 = make_job(shift_start=base + timedelta(days=1), shift_end=base + timedelta(days=1, hours=2))
    day3 = make_job(shift_start=base + timedelta(days=2), shift_end=base + timedelta(days=2, hours=2))
    date2 = (base + timedelta(days=1)).date().isoformat()
    date3 = (base + timedelta(days=2)).date().isoformat()

    assert _ids(api_client.get(f"/api/v1/jobs/?shift_start_after={date2}")) == [day2.id, day3.id]
    assert _ids(api_client.get(f"/api/v1/jobs/?shift_start_before={date2}")) == [day1.id]
    assert _ids(api_client.get(f"/api/v1/jobs/?shift_start_after={date2}&shift_start_before={date3}")) == [day2.id]
    # A datetime is an exact instant: "after" includes it, "before" excludes it.
    exact = _iso(day2.shift_start)
    assert _ids(api_client.get("/api/v1/jobs/", {"shift_start_after": exact})) == [day2.id, day3.id]
    assert _ids(api_client.get("/api/v1/jobs/", {"shift_start_before": exact})) == [day1.id]
    # An offset is honoured: 13:00+01:00 is 12:00 UTC.
    with_offset = (day2.shift_start + timedelta(hours=1)).replace(tzinfo=None).isoformat() + "+01:00"
    assert _ids(api_client.get("/api/v1/jobs/", {"shift_start_after": with_offset})) == [day2.id, day3.id]


def test_job_list_filters_by_client(api_client, user, other_user):
    mine = make_job(client=user)
    make_job(client=other_user)

    assert _ids(api_client.get(f"/api/v1/jobs/?client={user.id}")) == [mine.id]
    assert _ids(api_client.get("/api/v1/jobs/?client=999999")) == []


def test_job_list_searches_title_and_description_ignoring_case(api_client):
    in_title = make_job(title="Forklift driver", description="Night shift.")
    in_description = make_job(title="Warehouse", description="Must hold a FORKLIFT licence.")
    make_job(title="Waiter", description="Evening service.")

    assert _ids(api_client.get("/api/v1/jobs/?search=forklift")) == [in_title.id, in_description.id]


def test_job_list_combines_filters(api_client, user):
    match = make_job(client=user, city="Abuja", title="Cook", status=Status.FILLED)
    make_job(client=user, city="Abuja", title="Cook")
    make_job(client=user, city="Lagos", title="Cook", status=Status.FILLED)

    response = api_client.get(f"/api/v1/jobs/?status=filled&city=abuja&search=cook&client={user.id}")

    assert _ids(response) == [match.id]


@pytest.mark.parametrize(
    ("query", "attr"),
    [
        ("status=bogus", "status"),
        ("status=OPEN", "status"),
        ("shift_start_after=not-a-date", "shift_start_after"),
        ("shift_start_before=2026-13-01", "shift_start_before"),
        ("shift_start_after=99999-01-01", "shift_start_after"),
        # Valid in their own offset but outside the range of UTC datetimes.
        ("shift_start_after=0001-01-01T00:00:00%2B05:00", "shift_start_after"),
        ("shift_start_before=9999-12-31T23:00:00-05:00", "shift_start_before"),
        ("client=abc", "client"),
        ("client=1.5", "client"),
        ("client=-1", "client"),
        ("client=1e30", "client"),
        ("client=99999999999999999999999", "client"),
        (f"search={'x' * 101}", "search"),
        (f"city={'x' * 81}", "city"),
    ],
)
def test_job_list_rejects_invalid_filters(api_client, db, query, attr):
    assert_error(api_client.get(f"/api/v1/jobs/?{query}"), 400, attr=attr)


# --- create -------------------------------------------------------------------------------


def test_create_job_makes_the_caller_its_client(client_for, user, django_assert_num_queries):
    client = client_for(user)
    payload = _payload()

    # token; savepoint, insert, release (transaction control counts in tests); detail read
    with django_assert_num_queries(5):
        response = client.post("/api/v1/jobs/", payload)

    assert response.status_code == 201, response.content
    job = Job.objects.get()
    assert job.client == user
    assert job.status == Status.OPEN
    assert job.pay_rate == Decimal("20.00")
    body = response.json()
    assert body == {
        "id": job.id,
        **payload,
        "slots_remaining": 3,
        "status": "open",
        "client": {"id": user.id, "display_name": "owner"},
        "applications": {"pending": 0, "accepted": 0, "total": 0},
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }


def test_create_job_with_only_the_required_fields(client_for, user):
    payload = _payload()
    for optional in ("description", "address", "slots"):
        del payload[optional]

    response = client_for(user).post("/api/v1/jobs/", payload)

    assert response.status_code == 201, response.content
    assert response.json()["slots"] == 1
    assert response.json()["description"] == ""


def test_create_job_stores_times_with_an_offset_in_utc(client_for, user):
    start = (timezone.now() + timedelta(days=3)).replace(microsecond=0)
    local = start.astimezone(timezone.get_fixed_timezone(60)).isoformat()

    response = client_for(user).post(
        "/api/v1/jobs/", _payload(shift_start=local, shift_end=_iso(start + timedelta(hours=1)))
    )

    assert response.status_code == 201, response.content
    assert response.json()["shift_start"] == _iso(start)
    assert Job.objects.get().shift_start == start


def test_create_job_accepts_a_shift_of_exactly_24_hours(client_for, user):
    start = timezone.now() + timedelta(days=3)

    response = client_for(user).post(
        "/api/v1/jobs/", _payload(shift_start=_iso(start), shift_end=_iso(start + timedelta(hours=24)))
    )

    assert response.status_code == 201, response.content


def test_create_job_requires_authentication(api_client):
    assert_error(api_client.post("/api/v1/jobs/", _payload()), 401, code="not_authenticated")
    assert not Job.objects.exists()


_SOON = timezone.now() + timedelta(days=3)


@pytest.mark.parametrize(
    ("overrides", "attr"),
    [
        ({"title": None}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": ["Bar staff"]}, "title"),
        ({"title": "Bar\x00staff"}, "title"),
        ({"description": "x" * 10001}, "description"),
        ({"city": ""}, "city"),
        ({"city": "x" * 81}, "city"),
        ({"address": "x" * 256}, "address"),
        ({"pay_rate": "0"}, "pay_rate"),
        ({"pay_rate": "0.00"}, "pay_rate"),
        ({"pay_rate": "-5.00"}, "pay_rate"),
        ({"pay_rate": "1e30"}, "pay_rate"),
        ({"pay_rate": 1e30}, "pay_rate"),
        ({"pay_rate": "1e309"}, "pay_rate"),
        ({"pay_rate": "100000000.00"}, "pay_rate"),
        ({"pay_rate": "12.345"}, "pay_rate"),
        ({"pay_rate": "NaN"}, "pay_rate"),
        ({"pay_rate": "Infinity"}, "pay_rate"),
        ({"pay_rate": "twenty"}, "pay_rate"),
        ({"pay_rate": True}, "pay_rate"),
        ({"shift_start": "tomorrow"}, "shift_start"),
        ({"shift_start": 1767225600}, "shift_start"),
        ({"shift_start": "9999-12-31T23:59:59-05:00"}, "shift_start"),
        ({"shift_start": _iso(timezone.now() - timedelta(hours=1))}, "shift_start"),
        ({"shift_end": _iso(_SOON - timedelta(hours=1)), "shift_start": _iso(_SOON)}, "shift_end"),
        ({"shift_end": _iso(_SOON), "shift_start": _iso(_SOON)}, "shift_end"),
        ({"shift_end": _iso(_SOON + timedelta(hours=24, seconds=1)), "shift_start": _iso(_SOON)}, "shift_end"),
        ({"slots": 0}, "slots"),
        ({"slots": -1}, "slots"),
        ({"slots": 101}, "slots"),
        ({"slots": 10**30}, "slots"),
        ({"slots": 1.5}, "slots"),
        ({"slots": "many"}, "slots"),
    ],
)
def test_create_job_rejects_invalid_input_without_creating_anything(client_for, user, overrides, attr):
    response = client_for(user).post("/api/v1/jobs/", _payload(**overrides))

    assert_error(response, 400, attr=attr)
    assert not Job.objects.exists()


@pytest.mark.parametrize("missing", ["title", "city", "pay_rate", "shift_start", "shift_end"])
def test_create_job_requires_its_required_fields(client_for, user, missing):
    payload = _payload()
    del payload[missing]

    assert_error(client_for(user).post("/api/v1/jobs/", payload), 400, code="required", attr=missing)


@pytest.mark.parametrize("body", ["{not json", "[]", '"a string"', '{"pay_rate": Infinity}'])
def test_create_job_rejects_a_body_that_is_not_a_json_object(client_for, user, body):
    response = client_for(user).generic("POST", "/api/v1/jobs/", body, content_type="application/json")

    assert_error(response, 400)
    assert not Job.objects.exists()


# --- detail -------------------------------------------------------------------------------


def test_job_detail_shows_client_application_counts_and_slots_remaining(api_client, user, django_assert_num_queries):
    job = make_job(client=user, slots=3)
    for status in (AppStatus.PENDING, AppStatus.PENDING, AppStatus.ACCEPTED, AppStatus.REJECTED, AppStatus.WITHDRAWN):
        make_application(job=job, status=status)
    make_application(status=AppStatus.ACCEPTED)  # another job's

    with django_assert_num_queries(1):
        response = api_client.get(f"/api/v1/jobs/{job.id}/")

    assert response.status_code == 200
    assert response.json() == {
        "id": job.id,
        "title": "Warehouse shift",
        "description": "Pick and pack.",
        "city": "Lagos",
        "address": "1 Marina Road",
        "pay_rate": "15.50",
        "shift_start": _iso(job.shift_start),
        "shift_end": _iso(job.shift_end),
        "slots": 3,
        "slots_remaining": 2,
        "status": "open",
        "client": {"id": user.id, "display_name": "owner"},
        "applications": {"pending": 2, "accepted": 1, "total": 5},
        "created_at": _iso(job.created_at),
        "updated_at": _iso(job.updated_at),
    }


def test_job_detail_with_a_token_costs_one_more_query(client_for, user, django_assert_num_queries):
    job = make_job()
    client = client_for(user)

    # token, job with its annotations
    with django_assert_num_queries(2):
        response = client.get(f"/api/v1/jobs/{job.id}/")

    assert response.json()["id"] == job.id


def test_job_detail_is_public_whatever_the_status(api_client):
    job = make_job(status=Status.COMPLETED)

    assert api_client.get(f"/api/v1/jobs/{job.id}/").json()["status"] == "completed"


@pytest.mark.parametrize(
    "path", ["/api/v1/jobs/999999/", "/api/v1/jobs/1234567890123456789/", "/api/v1/jobs/abc/", "/api/v1/jobs/-1/"]
)
def test_unknown_job_is_404(api_client, db, path):
    assert_error(api_client.get(path), 404, code="not_found")


# --- legacy twin --------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "/"])
def test_legacy_job_detail_is_the_canonical_json(api_client, user, suffix, django_assert_num_queries):
    job = make_job(client=user, slots=2)
    make_application(job=job, status=AppStatus.ACCEPTED)
    canonical = api_client.get(f"/api/v1/jobs/{job.id}/")

    # The twins share one hot-cache key: the canonical read warmed it for the legacy one.
    with django_assert_num_queries(0):
        legacy = api_client.get(f"/jobs/{job.id}{suffix}")

    assert legacy.status_code == 200
    assert legacy.content == canonical.content


@pytest.mark.parametrize("path", ["/jobs/999999", "/jobs/999999/", "/jobs/1234567890123456789"])
def test_legacy_unknown_job_is_404(api_client, db, path):
    assert_error(api_client.get(path), 404)


def test_legacy_job_detail_is_read_only(client_for, user):
    job = make_job(client=user)

    assert_error(client_for(user).patch(f"/jobs/{job.id}", {"title": "Renamed"}), 405)
    job.refresh_from_db()
    assert job.title == "Warehouse shift"


# --- update -------------------------------------------------------------------------------


def test_owner_updates_an_open_job(client_for, user, django_assert_num_queries):
    job = make_job(client=user, slots=2)
    client = client_for(user)

    # token; savepoint, job FOR UPDATE, accepted count (the pay rate is a term, fixed once someone is
    # hired), update, release (transaction control counts in tests); detail read
    # + the hot-cache fan-out to the dashboards that show the job or application (one UNION)
    with django_assert_num_queries(8):
        response = client.patch(f"/api/v1/jobs/{job.id}/", {"title": "Night picker", "pay_rate": "18.25"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["title"] == "Night picker"
    assert body["pay_rate"] == "18.25"
    assert body["slots"] == 2
    assert body["client"]["id"] == user.id
    job.refresh_from_db()
    assert job.title == "Night picker"
    assert job.pay_rate == Decimal("18.25")


def test_updating_slots_counts_the_accepted_applications(client_for, user, django_assert_num_queries):
    job = make_job(client=user, slots=2)
    make_application(job=job, status=AppStatus.ACCEPTED)
    client = client_for(user)

    # token; savepoint, job FOR UPDATE, accepted count, update, release; detail read
    with django_assert_num_queries(7):
        response = client.patch(f"/api/v1/jobs/{job.id}/", {"slots": 5})

    assert response.status_code == 200, response.content
    assert response.json()["slots"] == 5
    assert response.json()["slots_remaining"] == 4


def test_slots_cannot_go_below_the_accepted_applications(client_for, user):
    job = make_job(client=user, slots=3)
    make_application(job=job, status=AppStatus.ACCEPTED)
    make_application(job=job, status=AppStatus.ACCEPTED)
    make_application(job=job, status=AppStatus.PENDING)

    assert_error(client_for(user).patch(f"/api/v1/jobs/{job.id}/", {"slots": 1}), 400, attr="slots")
    job.refresh_from_db()
    assert job.slots == 3


def test_slots_equal_to_the_accepted_applications_fill_the_job(client_for, user):
    job = make_job(client=user, slots=3)
    make_application(job=job, status=AppStatus.ACCEPTED)
    make_application(job=job, status=AppStatus.ACCEPTED)

    response = client_for(user).patch(f"/api/v1/jobs/{job.id}/", {"slots": 2})

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "filled"
    assert response.json()["slots_remaining"] == 0


def test_update_moves_the_shift_checking_it_against_the_current_values(client_for, user):
    job = make_job(client=user)
    client = client_for(user)
    new_end = job.shift_start + timedelta(hours=10)

    assert client.patch(f"/api/v1/jobs/{job.id}/", {"shift_end": _iso(new_end)}).status_code == 200
    # The end alone cannot move before the current start, nor more than 24 hours after it.
    before = _iso(job.shift_start - timedelta(minutes=1))
    assert_error(client.patch(f"/api/v1/jobs/{job.id}/", {"shift_end": before}), 400, attr="shift_end")
    too_late = _iso(job.shift_start + timedelta(hours=25))
    assert_error(client.patch(f"/api/v1/jobs/{job.id}/", {"shift_end": too_late}), 400, attr="shift_end")
    # The start alone cannot move past the current end.
    after_end = _iso(new_end + timedelta(hours=1))
    assert_error(client.patch(f"/api/v1/jobs/{job.id}/", {"shift_start": after_end}), 400, attr="shift_end")
    job.refresh_from_db()
    assert job.shift_end == new_end


def test_update_refuses_a_start_in_the_past(client_for, user):
    job = make_job(client=user)
    past = _iso(timezone.now() - timedelta(hours=1))

    response = client_for(user).patch(f"/api/v1/jobs/{job.id}/", {"shift_start": past})

    assert_error(response, 400, attr="shift_start")


def test_update_of_a_job_whose_shift_has_begun_can_leave_the_start_alone(client_for, user):
    start = timezone.now() - timedelta(hours=1)
    job = make_job(client=user, shift_start=start, shift_end=start + timedelta(hours=4))

    response = client_for(user).patch(f"/api/v1/jobs/{job.id}/", {"description": "Bring boots."})

    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    ("payload", "attr"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"city": None}, "city"),
        ({"pay_rate": "0"}, "pay_rate"),
        ({"pay_rate": "-1"}, "pay_rate"),
        ({"pay_rate": "1e30"}, "pay_rate"),
        ({"slots": 0}, "slots"),
        ({"slots": 101}, "slots"),
        ({"description": "x" * 10001}, "description"),
    ],
)
def test_update_rejects_invalid_input(client_for, user, payload, attr):
    job = make_job(client=user)

    assert_error(client_for(user).patch(f"/api/v1/jobs/{job.id}/", payload), 400, attr=attr)
    job.refresh_from_db()
    assert job.title == "Warehouse shift"


def test_update_cannot_change_the_status(client_for, user):
    job = make_job(client=user)

    response = client_for(user).patch(f"/api/v1/jobs/{job.id}/", {"status": "completed", "title": "New"})

    # Refused whole, not applied in part with the status silently dropped.
    body = assert_error(response, 400, code="unknown_field")
    assert "Unknown field: 'status'." in [error["detail"] for error in body["errors"]]
    job.refresh_from_db()
    assert (job.status, job.title) == ("open", "Warehouse shift")


@pytest.mark.parametrize("status", [Status.FILLED, Status.IN_PROGRESS, Status.COMPLETED, Status.CANCELLED])
def test_only_an_open_job_can_be_updated(client_for, user, status):
    job = make_job(client=user, status=status)

    assert_error(client_for(user).patch(f"/api/v1/jobs/{job.id}/", {"title": "New"}), 409, code="conflict")
    job.refresh_from_db()
    assert job.title == "Warehouse shift"


def test_only_the_client_can_update_a_job(client_for, user, other_user, staff_user, api_client):
    job = make_job(client=user)

    assert_error(client_for(other_user).patch(f"/api/v1/jobs/{job.id}/", {"title": "X"}), 403, "permission_denied")
    assert_error(client_for(staff_user).patch(f"/api/v1/jobs/{job.id}/", {"title": "X"}), 403, "permission_denied")
    assert_error(api_client.patch(f"/api/v1/jobs/{job.id}/", {"title": "X"}), 401, "not_authenticated")
    assert_error(client_for(user).patch("/api/v1/jobs/999999/", {"title": "X"}), 404)
    job.refresh_from_db()
    assert job.title == "Warehouse shift"


# --- cancel, start, complete --------------------------------------------------------------


@pytest.mark.parametrize("status", [Status.OPEN, Status.FILLED])
def test_client_cancels_an_open_or_filled_job(client_for, user, status, django_assert_num_queries):
    job = make_job(client=user, status=status)
    client = client_for(user)

    # token; savepoint, job FOR UPDATE, update, release (transaction control counts in tests); detail read
    # + the hot-cache fan-out to the dashboards that show the job or application (one UNION)
    with django_assert_num_queries(7):
        response = client.post(f"/api/v1/jobs/{job.id}/cancel/")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    job.refresh_from_db()
    assert job.status == Status.CANCELLED


@pytest.mark.parametrize("status", [Status.IN_PROGRESS, Status.COMPLETED, Status.CANCELLED])
def test_cancel_refuses_other_statuses(client_for, user, status):
    job = make_job(client=user, status=status)

    assert_error(client_for(user).post(f"/api/v1/jobs/{job.id}/cancel/"), 409, code="conflict")
    job.refresh_from_db()
    assert job.status == status


@pytest.mark.parametrize("status", [Status.OPEN, Status.FILLED])
def test_client_starts_a_job_with_an_accepted_worker(client_for, user, status, django_assert_num_queries):
    job = make_job(
        client=user, status=status, slots=2, shift_start=timezone.now(), shift_end=timezone.now() + timedelta(hours=8)
    )
    make_application(job=job, status=AppStatus.ACCEPTED)
    client = client_for(user)

    # token; savepoint, job FOR UPDATE, accepted count, update, release; detail read
    # + the hot-cache fan-out to the dashboards that show the job or application (one UNION)
    with django_assert_num_queries(8):
        response = client.post(f"/api/v1/jobs/{job.id}/start/")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "in_progress"


def test_start_needs_an_accepted_application(client_for, user):
    job = make_job(client=user, shift_start=timezone.now(), shift_end=timezone.now() + timedelta(hours=8))
    make_application(job=job, status=AppStatus.PENDING)
    make_application(job=job, status=AppStatus.WITHDRAWN)

    assert_error(client_for(user).post(f"/api/v1/jobs/{job.id}/start/"), 409, code="conflict")
    job.refresh_from_db()
    assert job.status == Status.OPEN


@pytest.mark.parametrize("status", [Status.IN_PROGRESS, Status.COMPLETED, Status.CANCELLED])
def test_start_refuses_other_statuses(client_for, user, status):
    job = make_job(client=user, status=status)
    make_application(job=job, status=AppStatus.ACCEPTED)

    assert_error(client_for(user).post(f"/api/v1/jobs/{job.id}/start/"), 409, code="conflict")


def test_client_completes_a_job_in_progress(client_for, user, django_assert_num_queries):
    job = make_job(client=user, status=Status.IN_PROGRESS)
    client = client_for(user)

    # token; savepoint, job FOR UPDATE, update, release (transaction control counts in tests); detail read
    # + the hot-cache fan-out to the dashboards that show the job or application (one UNION)
    with django_assert_num_queries(7):
        response = client.post(f"/api/v1/jobs/{job.id}/complete/")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "completed"


@pytest.mark.parametrize("status", [Status.OPEN, Status.FILLED, Status.COMPLETED, Status.CANCELLED])
def test_complete_refuses_other_statuses(client_for, user, status):
    job = make_job(client=user, status=status)

    assert_error(client_for(user).post(f"/api/v1/jobs/{job.id}/complete/"), 409, code="conflict")


@pytest.mark.parametrize(("action", "status"), [("cancel", "open"), ("start", "filled"), ("complete", "in_progress")])
def test_only_the_client_can_change_a_jobs_status(client_for, api_client, user, other_user, staff_user, action, status):
    job = make_job(client=user, status=status)
    make_application(job=job, applicant=other_user, status=AppStatus.ACCEPTED)

    assert_error(client_for(other_user).post(f"/api/v1/jobs/{job.id}/{action}/"), 403, "permission_denied")
    assert_error(client_for(staff_user).post(f"/api/v1/jobs/{job.id}/{action}/"), 403, "permission_denied")
    assert_error(api_client.post(f"/api/v1/jobs/{job.id}/{action}/"), 401, "not_authenticated")
    assert_error(client_for(user).post(f"/api/v1/jobs/999999/{action}/"), 404)
    assert_error(client_for(user).post(f"/api/v1/jobs/1234567890123456789/{action}/"), 404)
    job.refresh_from_db()
    assert job.status == status


# --- apply --------------------------------------------------------------------------------


def test_worker_applies_to_an_open_job(client_for, user, other_user, django_assert_num_queries):
    job = make_job(client=user)
    client = client_for(other_user)

    # token; savepoint, job FOR UPDATE, savepoint, insert, release, release (transaction control
    # counts in tests; the inner savepoint turns a duplicate into a 409); application read
    with django_assert_num_queries(8):
        response = client.post(f"/api/v1/jobs/{job.id}/applications/", {"cover_note": "I have done this before."})

    assert response.status_code == 201, response.content
    application = Application.objects.get()
    body = response.json()
    assert body == {
        "id": application.id,
        "job_id": job.id,
        "applicant": {"id": other_user.id, "display_name": "other"},
        "cover_note": "I have done this before.",
        "status": "pending",
        "created_at": _iso(application.created_at),
        "updated_at": _iso(application.updated_at),
    }


def test_apply_without_a_cover_note(client_for, user, other_user):
    job = make_job(client=user)

    response = client_for(other_user).post(f"/api/v1/jobs/{job.id}/applications/")

    assert response.status_code == 201, response.content
    assert response.json()["cover_note"] == ""


def test_apply_twice_is_a_conflict(client_for, user, other_user):
    job = make_job(client=user)
    client = client_for(other_user)
    assert client.post(f"/api/v1/jobs/{job.id}/applications/").status_code == 201

    assert_error(client.post(f"/api/v1/jobs/{job.id}/applications/"), 409, code="conflict")
    assert Application.objects.count() == 1


def test_apply_again_after_withdrawing_is_a_conflict(client_for, user, other_user):
    job = make_job(client=user)
    make_application(job=job, applicant=other_user, status=AppStatus.WITHDRAWN)

    assert_error(client_for(other_user).post(f"/api/v1/jobs/{job.id}/applications/"), 409, code="conflict")


def test_client_cannot_apply_to_their_own_job(client_for, user):
    job = make_job(client=user)

    assert_error(client_for(user).post(f"/api/v1/jobs/{job.id}/applications/"), 403, code="permission_denied")
    assert not Application.objects.exists()


@pytest.mark.parametrize("status", [Status.FILLED, Status.IN_PROGRESS, Status.COMPLETED, Status.CANCELLED])
def test_apply_only_to_an_open_job(client_for, user, other_user, status):
    job = make_job(client=user, status=status)

    assert_error(client_for(other_user).post(f"/api/v1/jobs/{job.id}/applications/"), 409, code="conflict")
    assert not Application.objects.exists()


@pytest.mark.parametrize("cover_note", ["x" * 2001, ["a note"], {"text": "a note"}, "a\x00note"])
def test_apply_rejects_an_invalid_cover_note(client_for, user, other_user, cover_note):
    job = make_job(client=user)

    response = client_for(other_user).post(f"/api/v1/jobs/{job.id}/applications/", {"cover_note": cover_note})

    assert_error(response, 400, attr="cover_note")
    assert not Application.objects.exists()


def test_apply_needs_authentication_and_a_known_job(api_client, client_for, other_user):
    job = make_job()

    assert_error(api_client.post(f"/api/v1/jobs/{job.id}/applications/"), 401, code="not_authenticated")
    assert_error(client_for(other_user).post("/api/v1/jobs/999999/applications/"), 404)
    assert_error(client_for(other_user).post("/api/v1/jobs/1234567890123456789/applications/"), 404)


# --- a job's applications -----------------------------------------------------------------


def test_client_lists_their_jobs_applications_oldest_first(client_for, user):
    job = make_job(client=user)
    first = make_application(job=job, status=AppStatus.ACCEPTED)
    second = make_application(job=job)
    make_application()  # another job's

    response = client_for(user).get(f"/api/v1/jobs/{job.id}/applications/")

    assert response.status_code == 200
    assert _ids(response) == [first.id, second.id]
    assert response.json()["results"][0] == {
        "id": first.id,
        "job_id": job.id,
        "applicant": {"id": first.applicant_id, "display_name": first.applicant.profile.display_name},
        "cover_note": "Keen.",
        "status": "accepted",
        "created_at": _iso(first.created_at),
        "updated_at": _iso(first.updated_at),
    }


@pytest.mark.parametrize("rows", [1, 25])
def test_application_list_costs_the_same_whatever_the_number(client_for, user, rows, django_assert_num_queries):
    job = make_job(client=user)
    for _ in range(rows):
        make_application(job=job)
    client = client_for(user)

    # token, job's client, count, page
    with django_assert_num_queries(4):
        response = client.get(f"/api/v1/jobs/{job.id}/applications/")

    assert response.json()["count"] == rows
    assert len(response.json()["results"]) == min(rows, 20)


def test_application_list_filters_by_status(client_for, user):
    job = make_job(client=user)
    make_application(job=job)
    accepted = make_application(job=job, status=AppStatus.ACCEPTED)

    assert _ids(client_for(user).get(f"/api/v1/jobs/{job.id}/applications/?status=accepted")) == [accepted.id]
    assert_error(client_for(user).get(f"/api/v1/jobs/{job.id}/applications/?status=nope"), 400, attr="status")


def test_staff_lists_any_jobs_applications(client_for, staff_user):
    application = make_application()

    assert _ids(client_for(staff_user).get(f"/api/v1/jobs/{application.job_id}/applications/")) == [application.id]


def test_only_the_client_and_staff_list_a_jobs_applications(client_for, api_client, user, other_user):
    job = make_job(client=user)
    make_application(job=job, applicant=other_user)

    assert_error(client_for(other_user).get(f"/api/v1/jobs/{job.id}/applications/"), 403, "permission_denied")
    assert_error(client_for(make_user()).get(f"/api/v1/jobs/{job.id}/applications/"), 403, "permission_denied")
    assert_error(api_client.get(f"/api/v1/jobs/{job.id}/applications/"), 401, "not_authenticated")
    assert_error(client_for(user).get("/api/v1/jobs/999999/applications/"), 404)
    assert_error(client_for(user).get("/api/v1/jobs/1234567890123456789/applications/"), 404)


# --- accept -------------------------------------------------------------------------------


def test_client_accepts_a_pending_application(client_for, user, other_user, django_assert_num_queries):
    job = make_job(client=user, slots=2)
    application = make_application(job=job, applicant=other_user)
    client = client_for(user)

    # token; savepoint, job FOR UPDATE, application with accepted count, update, release
    # (transaction control counts in tests)
    # + the hot-cache fan-out to the dashboards that show the job or application (one UNION)
    with django_assert_num_queries(7):
        response = client.post(f"/api/v1/applications/{application.id}/accept/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == application.id
    assert body["status"] == "accepted"
    assert body["applicant"] == {"id": other_user.id, "display_name": "other"}
    job.refresh_from_db()
    assert job.status == Status.OPEN


def test_accepting_the_last_slot_fills_the_job(client_for, api_client, user, django_assert_num_queries):
    job = make_job(client=user, slots=2)
    make_application(job=job, status=AppStatus.ACCEPTED)
    application = make_application(job=job)
    client = client_for(user)

    # token; savepoint, job FOR UPDATE, application with accepted count, update it, update job, release
    # + the hot-cache fan-outs to the dashboards showing them: one for the application, one for the job
    with django_assert_num_queries(9):
        response = client.post(f"/api/v1/applications/{application.id}/accept/")

    assert response.status_code == 200, response.content
    detail = api_client.get(f"/api/v1/jobs/{job.id}/").json()
    assert detail["status"] == "filled"
    assert detail["slots_remaining"] == 0
    assert detail["applications"] == {"pending": 0, "accepted": 2, "total": 2}


def test_accepting_never_exceeds_the_slots(client_for, user):
    job = make_job(client=user, slots=2)
    applications = [make_application(job=job) for _ in range(4)]
    client = client_for(user)

    statuses = [client.post(f"/api/v1/applications/{a.id}/accept/").status_code for a in applications]

    assert statuses == [200, 200, 409, 409]
    assert job.applications.filter(status=AppStatus.ACCEPTED).count() == 2
    job.refresh_from_db()
    assert job.status == Status.FILLED


@pytest.mark.parametrize("status", [AppStatus.ACCEPTED, AppStatus.REJECTED, AppStatus.WITHDRAWN])
def test_accept_only_a_pending_application(client_for, user, status):
    application = make_application(job=make_job(client=user, slots=5), status=status)

    assert_error(client_for(user).post(f"/api/v1/applications/{application.id}/accept/"), 409, code="conflict")
    application.refresh_from_db()
    assert application.status == status


@pytest.mark.parametrize("status", [Status.IN_PROGRESS, Status.COMPLETED, Status.CANCELLED])
def test_accept_only_while_the_job_is_open(client_for, user, status):
    application = make_application(job=make_job(client=user, slots=5, status=status))

    assert_error(client_for(user).post(f"/api/v1/applications/{application.id}/accept/"), 409, code="conflict")
    application.refresh_from_db()
    assert application.status == AppStatus.PENDING


# --- reject -------------------------------------------------------------------------------


def test_client_rejects_a_pending_application(client_for, user, django_assert_num_queries):
    application = make_application(job=make_job(client=user))
    client = client_for(user)

    # token; savepoint, job FOR UPDATE, application, update, release (transaction control counts in tests)
    # + the hot-cache fan-out to the dashboards that show the job or application (one UNION)
    with django_assert_num_queries(7):
        response = client.post(f"/api/v1/applications/{application.id}/reject/")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "rejected"
    application.refresh_from_db()
    assert application.status == AppStatus.REJECTED


@pytest.mark.parametrize("status", [AppStatus.ACCEPTED, AppStatus.REJECTED, AppStatus.WITHDRAWN])
def test_reject_only_a_pending_application(client_for, user, status):
    application = make_application(job=make_job(client=user), status=status)

    assert_error(client_for(user).post(f"/api/v1/applications/{application.id}/reject/"), 409, code="conflict")
    application.refresh_from_db()
    assert application.status == status


# --- withdraw -----------------------------------------------------------------------------


def test_applicant_withdraws_a_pending_application(client_for, other_user, django_assert_num_queries):
    application = make_application(applicant=other_user)
    client = client_for(other_user)

    # token; savepoint, job FOR UPDATE, application, update, release (transaction control counts in tests)
    # + the hot-cache fan-out to the dashboards that show the job or application (one UNION)
    with django_assert_num_queries(7):
        response = client.post(f"/api/v1/applications/{application.id}/withdraw/")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "withdrawn"


def test_withdrawing_an_accepted_application_reopens_a_filled_job(
    client_for, api_client, user, other_user, django_assert_num_queries
):
    job = make_job(client=user, slots=1, status=Status.FILLED)
    application = make_application(job=job, applicant=other_user, status=AppStatus.ACCEPTED)
    client = client_for(other_user)

    # token; savepoint, job FOR UPDATE, application, update it, update job, release
    # + the hot-cache fan-outs to the dashboards showing them: one for the application, one for the job
    with django_assert_num_queries(9):
        response = client.post(f"/api/v1/applications/{application.id}/withdraw/")

    assert response.status_code == 200, response.content
    detail = api_client.get(f"/api/v1/jobs/{job.id}/").json()
    assert detail["status"] == "open"
    assert detail["slots_remaining"] == 1
    # The freed slot can be taken by someone else.
    newcomer = make_user()
    assert client_for(newcomer).post(f"/api/v1/jobs/{job.id}/applications/").status_code == 201
    new_application = Application.objects.get(applicant=newcomer)
    assert client_for(user).post(f"/api/v1/applications/{new_application.id}/accept/").status_code == 200
    job.refresh_from_db()
    assert job.status == Status.FILLED


@pytest.mark.parametrize("status", [AppStatus.REJECTED, AppStatus.WITHDRAWN])
def test_withdraw_only_a_pending_or_accepted_application(client_for, other_user, status):
    application = make_application(applicant=other_user, status=status)

    assert_error(client_for(other_user).post(f"/api/v1/applications/{application.id}/withdraw/"), 409, "conflict")


@pytest.mark.parametrize("status", [Status.IN_PROGRESS, Status.COMPLETED, Status.CANCELLED])
def test_withdraw_only_while_the_job_is_open_or_filled(client_for, other_user, status):
    application = make_application(job=make_job(status=status), applicant=other_user, status=AppStatus.ACCEPTED)

    assert_error(client_for(other_user).post(f"/api/v1/applications/{application.id}/withdraw/"), 409, "conflict")
    application.refresh_from_db()
    assert application.status == AppStatus.ACCEPTED


# --- who may act on an application --------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "allowed", "refused"),
    [("accept", "client", "applicant"), ("reject", "client", "applicant"), ("withdraw", "applicant", "client")],
)
def test_application_actions_permissions(
    client_for, api_client, user, other_user, staff_user, action, allowed, refused
):
    application = make_application(job=make_job(client=user), applicant=other_user)
    party = {"client": user, "applicant": other_user}
    path = f"/api/v1/applications/{application.id}/{action}/"

    # A party without the right is refused; staff can see the application but not act on it.
    assert_error(client_for(party[refused]).post(path), 403, "permission_denied")
    assert_error(client_for(staff_user).post(path), 403, "permission_denied")
    # Anyone else cannot see it at all.
    assert_error(client_for(make_user()).post(path), 404, "not_found")
    assert_error(api_client.post(path), 401, "not_authenticated")
    application.refresh_from_db()
    assert application.status == AppStatus.PENDING

    assert client_for(party[allowed]).post(path).status_code == 200


@pytest.mark.parametrize("action", ["accept", "reject", "withdraw"])
@pytest.mark.parametrize("application_id", ["999999", "1234567890123456789", "abc"])
def test_unknown_application_is_404(client_for, user, action, application_id):
    assert_error(client_for(user).post(f"/api/v1/applications/{application_id}/{action}/"), 404)
