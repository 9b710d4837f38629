"""Factories for the common shapes of test data, built on model-bakery.

Users go through ``User.objects.create_user`` so they get their Profile and AccountDetails the
way real users do.
"""

import itertools
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone
from model_bakery import baker

from backend.accounts.models import User
from backend.jobs.models import Application, Job
from backend.payments.models import Payment
from backend.ratings.models import Review

_seq = itertools.count(1)
PASSWORD = "correct-horse-battery-staple"


def make_user(email: str | None = None, **fields) -> User:
    email = email or f"user{next(_seq)}@example.com"
    return User.objects.create_user(email=email, password=PASSWORD, **fields)


def make_job(client: User | None = None, **fields) -> Job:
    """A job; its shift starts in 2 days, or began a day ago for a job in progress or completed (as the
    shift timing rule requires of a job the API started or completed)."""
    started = fields.get("status") in (Job.Status.IN_PROGRESS, Job.Status.COMPLETED)
    start = timezone.now() + (timedelta(days=-1) if started else timedelta(days=2))
    defaults = {
        "client": client or make_user(),
        "title": "Warehouse shift",
        "description": "Pick and pack.",
        "city": "Lagos",
        "address": "1 Marina Road",
        "pay_rate": Decimal("15.50"),
        "shift_start": start,
        "shift_end": start + timedelta(hours=8),
        "slots": 1,
    }
    defaults.update(fields)
    return baker.make(Job, **defaults)


def make_application(job: Job | None = None, applicant: User | None = None, **fields) -> Application:
    return baker.make(
        Application, job=job or make_job(), applicant=applicant or make_user(), cover_note="Keen.", **fields
    )


def make_completed_job(client: User | None = None, workers: list[User] | None = None, **fields) -> Job:
    """A completed job whose ``workers`` were accepted."""
    job = make_job(client=client, slots=max(1, len(workers or [])), status=Job.Status.COMPLETED, **fields)
    for worker in workers or []:
        make_application(job=job, applicant=worker, status=Application.Status.ACCEPTED)
    return job


def make_payment(payer: User, payee: User, job: Job | None = None, **fields) -> Payment:
    job = job or make_completed_job(client=payer, workers=[payee])
    defaults = {
        "amount": Decimal("100.00"),
        "currency": "USD",
        "status": Payment.Status.SUCCEEDED,
        "idempotency_key": f"key-{next(_seq)}",
    }
    defaults.update(fields)
    return baker.make(Payment, job=job, payer=payer, payee=payee, **defaults)


def make_review(reviewer: User, reviewee: User, job: Job | None = None, **fields) -> Review:
    job = job or make_completed_job(client=reviewer, workers=[reviewee])
    defaults = {"rating": 5, "comment": "Great work."}
    defaults.update(fields)
    return baker.make(Review, job=job, reviewer=reviewer, reviewee=reviewee, **defaults)
