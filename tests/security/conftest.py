"""A small marketplace that the security tests run against.

``world`` holds a client (``owner``) with jobs in every status (one completed job paid and
reviewed both ways, another not yet), a worker with a pending and an accepted application, a
succeeded and a pending payment, an unrelated user (``stranger``) and a staff user, each with a
real API token, so that ids in paths name real rows owned by a known user.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token

from backend.accounts.models import User
from backend.jobs.models import Application, Job
from backend.payments.models import Payment
from backend.ratings.models import Review
from tests.factories import make_application, make_completed_job, make_job, make_payment, make_review, make_user


@dataclass
class World:
    owner: User
    worker: User
    stranger: User
    staff: User
    open_job: Job
    filled_job: Job
    in_progress_job: Job
    completed_job: Job
    unreviewed_job: Job
    pending_application: Application
    accepted_application: Application
    succeeded_payment: Payment
    pending_payment: Payment
    review_of_worker: Review
    review_of_owner: Review
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, who: str | None) -> dict[str, str]:
        """Headers authenticating as ``who`` (a role name), or none for anonymous."""
        return {} if who is None else {"Authorization": f"Token {self.tokens[who]}"}

    def path_values(self) -> dict[str, int]:
        """Each seeded row's id by its attribute name, to fill paths like ``/api/v1/jobs/{open_job}/``."""
        return {name: value.id for name, value in vars(self).items() if hasattr(value, "_meta")}

    def ids(self) -> dict[str, list[int]]:
        """The ids of real rows, by the name of the path parameter that takes them."""
        return {
            "user_id": [self.owner.id, self.worker.id, self.stranger.id, self.staff.id],
            "job_id": [
                self.open_job.id,
                self.filled_job.id,
                self.in_progress_job.id,
                self.completed_job.id,
                self.unreviewed_job.id,
            ],
            "application_id": [self.pending_application.id, self.accepted_application.id],
            "payment_id": [self.succeeded_payment.id, self.pending_payment.id],
        }


def build_world(prefix: str = "") -> World:
    """The rows above; ``prefix`` on every email, so that several worlds fit in one database."""
    owner = make_user(email=f"{prefix}client@example.com")
    worker = make_user(email=f"{prefix}worker@example.com")
    stranger = make_user(email=f"{prefix}stranger@example.com")
    staff = make_user(email=f"{prefix}admin@example.com", is_staff=True)
    for user in (owner, worker):
        user.account_details.bank_name = "First Bank"
        user.account_details.account_holder = user.email
        user.account_details.account_number = "0123456789"
        user.account_details.save()

    open_job = make_job(client=owner, title="Open shift", slots=2)
    pending_application = make_application(job=open_job, applicant=worker)
    # Its shift opens now: the owner can start it (issue 12's shift timing).
    now = timezone.now()
    later = now + timedelta(hours=8)
    filled_job = make_job(client=owner, title="Filled shift", status="filled", shift_start=now, shift_end=later)
    accepted_application = make_application(job=filled_job, applicant=worker, status=Application.Status.ACCEPTED)
    in_progress_job = make_job(client=owner, title="Running shift", status=Job.Status.IN_PROGRESS)
    make_application(job=in_progress_job, applicant=worker, status=Application.Status.ACCEPTED)
    completed_job = make_completed_job(client=owner, workers=[worker], title="Done shift")
    unreviewed_job = make_completed_job(client=owner, workers=[worker], title="Done, not yet paid")

    succeeded_payment = make_payment(owner, worker, job=completed_job, amount=Decimal("120.00"))
    pending_payment = make_payment(owner, worker, job=completed_job, status=Payment.Status.PENDING)
    review_of_worker = make_review(owner, worker, job=completed_job, rating=5)
    review_of_owner = make_review(worker, owner, job=completed_job, rating=4)

    world = World(
        owner=owner,
        worker=worker,
        stranger=stranger,
        staff=staff,
        open_job=open_job,
        filled_job=filled_job,
        in_progress_job=in_progress_job,
        completed_job=completed_job,
        unreviewed_job=unreviewed_job,
        pending_application=pending_application,
        accepted_application=accepted_application,
        succeeded_payment=succeeded_payment,
        pending_payment=pending_payment,
        review_of_worker=review_of_worker,
        review_of_owner=review_of_owner,
    )
    for role in ("owner", "worker", "stranger", "staff"):
        world.tokens[role] = Token.objects.create(user=getattr(world, role)).key
    return world


@pytest.fixture
def world(db) -> World:
    return build_world()
