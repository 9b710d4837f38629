"""Marketplace rules on jobs (issue 12): shift timing and terms fixed once someone is hired.

Each rule: a table of allowed and refused cases through the API, the issue's example first; for the
terms, a concurrent accept against a terms change on PostgreSQL.
"""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.utils import timezone

from backend.jobs.models import Application, Job
from backend.jobs.services import EARLY_START_TOLERANCE
from tests.assertions import assert_error
from tests.factories import make_application, make_job, make_user

pytestmark = pytest.mark.django_db

# --- shift timing --------------------------------------------------------------------------------

# (case, action, status, shift start relative to now, expected status code, error code)
TIMING = [
    # The example: started and completed two days before the shift.
    ("start-two-days-early", "start", Job.Status.FILLED, timedelta(days=2), 409, "shift_not_open"),
    ("complete-two-days-early", "complete", Job.Status.IN_PROGRESS, timedelta(days=2), 409, "shift_not_begun"),
    ("start-just-outside-the-tolerance", "start", Job.Status.OPEN, EARLY_START_TOLERANCE + timedelta(minutes=1), 409,
     "shift_not_open"),
    ("start-within-the-tolerance", "start", Job.Status.FILLED, EARLY_START_TOLERANCE - timedelta(minutes=1), 200, None),
    ("start-at-the-shift", "start", Job.Status.OPEN, timedelta(0), 200, None),
    ("start-during-the-shift", "start", Job.Status.FILLED, -timedelta(hours=2), 200, None),
    ("complete-started-early-before-the-shift", "complete", Job.Status.IN_PROGRESS, timedelta(minutes=10), 409,
     "shift_not_begun"),
    ("complete-once-the-shift-began", "complete", Job.Status.IN_PROGRESS, -timedelta(minutes=1), 200, None),
    ("complete-after-the-shift", "complete", Job.Status.IN_PROGRESS, -timedelta(days=1), 200, None),
    ("complete-never-started", "complete", Job.Status.FILLED, -timedelta(hours=1), 409, "conflict"),
]  # fmt: skip


@pytest.mark.parametrize(("action", "status", "starts_in", "expected", "code"), [c[1:] for c in TIMING],
                         ids=[c[0] for c in TIMING])  # fmt: skip
def test_a_job_starts_and_completes_only_when_its_shift_allows(
    client_for, user, action, status, starts_in, expected, code
):
    start = timezone.now() + starts_in
    job = make_job(client=user, status=status, shift_start=start, shift_end=start + timedelta(hours=8))
    make_application(job=job, status=Application.Status.ACCEPTED)

    response = client_for(user).post(f"/api/v1/jobs/{job.id}/{action}/")

    job.refresh_from_db()
    if expected == 200:
        assert response.status_code == 200, response.content
        assert job.status == {"start": Job.Status.IN_PROGRESS, "complete": Job.Status.COMPLETED}[action]
    else:
        assert_error(response, expected, code=code)
        assert job.status == status


# --- terms fixed once someone is hired -------------------------------------------------------------

IN_4_DAYS = (timezone.now() + timedelta(days=4)).replace(microsecond=0)
# (case, accepted applications' statuses, change, expected status code, error code)
TERMS = [
    # The example: the pay rate cut after a worker was hired.
    ("pay-rate-after-accept", ["accepted"], {"pay_rate": "9.00"}, 409, "terms_locked"),
    ("shift-start-after-accept", ["accepted"], {"shift_start": IN_4_DAYS.isoformat()}, 409, "terms_locked"),
    ("shift-end-after-accept", ["accepted"], {"shift_end": "__end+1h__"}, 409, "terms_locked"),
    ("city-after-accept", ["accepted", "pending"], {"city": "Abuja"}, 409, "terms_locked"),
    ("terms-of-a-filled-job", ["accepted"], {"pay_rate": "20.00"}, 409, "terms_locked"),
    ("title-after-accept", ["accepted"], {"title": "Night picker"}, 200, None),
    ("same-pay-rate-after-accept", ["accepted"], {"pay_rate": "15.5"}, 200, None),
    ("pay-rate-with-pending-only", ["pending", "rejected"], {"pay_rate": "9.00"}, 200, None),
    ("city-after-the-hired-worker-withdrew", ["withdrawn"], {"city": "Abuja"}, 200, None),
]


@pytest.mark.parametrize(("statuses", "change", "expected", "code"), [c[1:] for c in TERMS], ids=[c[0] for c in TERMS])
def test_terms_are_fixed_once_an_application_is_accepted(client_for, user, statuses, change, expected, code, request):
    job_status = Job.Status.FILLED if request.node.callspec.id == "terms-of-a-filled-job" else Job.Status.OPEN
    job = make_job(client=user, slots=3, status=job_status, pay_rate=Decimal("15.50"))
    for status in statuses:
        make_application(job=job, status=status)
    if change.get("shift_end") == "__end+1h__":
        change = {"shift_end": (job.shift_end + timedelta(hours=1)).isoformat()}
    before = {name: getattr(job, name) for name in ("pay_rate", "shift_start", "shift_end", "city", "title")}

    response = client_for(user).patch(f"/api/v1/jobs/{job.id}/", change, format="json")

    job.refresh_from_db()
    if expected == 200:
        assert response.status_code == 200, response.content
    else:
        assert_error(response, expected, code=code)
        assert {name: getattr(job, name) for name in before} == before


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: concurrent transactions and row locks")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(5))
def test_an_accept_racing_a_terms_change_never_hires_on_terms_that_changed(client_for, round_):
    """The client accepts an application while (another device of) the client cuts the pay rate: one
    of them goes first on the job's row lock. Either the accept sees the new rate, or the change is
    refused with ``terms_locked``; never an accepted worker on a rate that changed after the accept."""
    client, worker = make_user(), make_user()
    job = make_job(client=client, slots=2, pay_rate=Decimal("15.50"))
    application = make_application(job=job, applicant=worker)
    accepting, changing = client_for(client), client_for(client)
    barrier = threading.Barrier(2)
    results = {}

    def run(name, call):
        try:
            barrier.wait()
            results[name] = call()
        finally:
            connections.close_all()

    calls = {
        "accept": lambda: accepting.post(f"/api/v1/applications/{application.id}/accept/"),
        "change": lambda: changing.patch(f"/api/v1/jobs/{job.id}/", {"pay_rate": "9.00"}),
    }
    threads = [threading.Thread(target=run, args=item) for item in calls.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert results["accept"].status_code == 200, results["accept"].content
    job.refresh_from_db()
    application.refresh_from_db()
    if results["change"].status_code == 200:  # the change went first: the worker was hired at 9.00
        assert job.pay_rate == Decimal("9.00")
        # Each write stamps its row after taking the job's lock: the accept came after the change.
        assert job.updated_at < application.updated_at
    else:  # the accept went first: the rate stays what the worker accepted
        assert_error(results["change"], 409, code="terms_locked")
        assert job.pay_rate == Decimal("15.50")
