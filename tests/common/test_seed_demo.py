"""``manage.py seed_demo``: deterministic, realistic demo data that keeps every business rule."""

import re
from collections import Counter
from datetime import timedelta
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.utils import timezone

from backend.accounts.models import AccountDetails, Profile, User
from backend.common.validation import validate_field_values
from backend.jobs.models import Application, Job
from backend.payments.models import Payment
from backend.payments.services import payment_ceiling
from backend.ratings.models import Review
from bench import demo_data
from tests.factories import make_job, make_payment, make_review, make_user

pytestmark = pytest.mark.django_db

USERS = 60


def seed_demo(*args: str, **options) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=StringIO(), verbosity=0, **options)
    return out.getvalue()


def snapshot() -> dict:
    """Counts and sample rows, described without ids or the day of seeding (shift times vary with it)."""
    jobs = Job.objects.order_by("created_at", "id")
    return {
        "counts": {m.__name__: m.objects.count() for m in (User, Profile, AccountDetails, Job, Application, Payment)},
        "reviews": Review.objects.count(),
        "users": list(User.objects.order_by("email").values_list("email", "date_joined", "is_staff")[:15]),
        "profiles": list(
            Profile.objects.order_by("user__email").values_list(
                "user__email", "display_name", "headline", "skills", "city", "hourly_rate"
            )[:15]
        ),
        "jobs": [
            (j.client.email, j.title, j.city, j.pay_rate, j.slots, j.status, j.created_at, j.shift_end - j.shift_start)
            for j in jobs.select_related("client")[:15]
        ],
        "applications": list(
            Application.objects.order_by("created_at", "id").values_list(
                "job__title", "applicant__email", "status", "created_at"
            )[:15]
        ),
        "payments": list(
            Payment.objects.order_by("created_at", "id").values_list(
                "job__title",
                "payer__email",
                "payee__email",
                "amount",
                "currency",
                "status",
                "idempotency_key",
                "created_at",
            )[:15]
        ),
        "reviews_sample": list(
            Review.objects.order_by("created_at", "id").values_list(
                "job__title", "reviewer__email", "reviewee__email", "rating", "comment", "created_at"
            )[:15]
        ),
    }


def test_seed_demo_gives_the_same_data_for_the_same_seed():
    # given
    seed_demo(users=USERS, seed=3)
    first = snapshot()

    # when
    seed_demo(users=USERS, seed=3, reset=True)

    # then
    assert snapshot() == first
    assert first["counts"]["Payment"] > 0
    assert first["reviews"] > 0


def test_seed_demo_gives_other_data_for_another_seed():
    seed_demo(users=USERS, seed=3)
    first = snapshot()

    seed_demo(users=USERS, seed=4, reset=True)

    assert snapshot()["payments"] != first["payments"]


def test_seed_demo_reset_restarts_ids_so_a_reseed_is_identical_to_the_row():
    # Sequences outlive rolled-back tests (on PostgreSQL), so both runs start from a reset.
    seed_demo(users=USERS, seed=3, reset=True)
    first = list(Payment.objects.order_by("id").values_list("id", "job_id", "payer_id", "payee_id", "amount"))

    seed_demo(users=USERS, seed=3, reset=True)

    assert list(Payment.objects.order_by("id").values_list("id", "job_id", "payer_id", "payee_id", "amount")) == first


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
def test_copy_and_bulk_create_insert_the_same_rows():
    anchor = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    models = (User, Profile, AccountDetails, Job, Application, Payment, Review)

    def rows():
        # Every column except the password hashes, whose salt is random.
        return {m.__name__: list(m.objects.order_by("pk").values_list()) for m in models if m is not User} | {
            "User": list(User.objects.order_by("pk").values_list("id", "email", "date_joined", "is_staff"))
        }

    demo_data.reset()  # sequences outlive rolled-back tests: start them afresh
    demo_data.seed(users=USERS, seed=5, shift_anchor=anchor, method="copy")
    copied = rows()
    demo_data.reset()
    demo_data.seed(users=USERS, seed=5, shift_anchor=anchor, method="bulk_create")

    assert rows() == copied


def test_seed_demo_has_a_marketplace_shape():
    seed_demo(users=200, seed=1)
    users = User.objects.count()
    marketplace_users = users - 1  # the staff user is not part of it

    clients = User.objects.filter(jobs__isnull=False).distinct().count()
    assert 0.1 * marketplace_users < clients < 0.3 * marketplace_users
    assert Job.objects.count() == 2 * marketplace_users
    assert 7 * marketplace_users < Payment.objects.count() < 14 * marketplace_users
    assert 7 * marketplace_users < Review.objects.count() < 14 * marketplace_users
    job_statuses = Counter(Job.objects.values_list("status", flat=True))
    assert set(job_statuses) == set(Job.Status.values)
    assert job_statuses.most_common(1)[0][0] == Job.Status.COMPLETED
    assert set(Application.objects.values_list("status", flat=True)) == set(Application.Status.values)
    payment_statuses = Counter(Payment.objects.values_list("status", flat=True))
    assert set(payment_statuses) == set(Payment.Status.values)
    assert payment_statuses.most_common(1)[0][0] == Payment.Status.SUCCEEDED
    assert len(set(Profile.objects.exclude(city="").values_list("city", flat=True))) >= 10
    # Popularity is skewed: the busiest client posts several times the median client's jobs.
    per_client = sorted(Job.objects.values("client").annotate(n=Count("id")).values_list("n", flat=True))
    assert per_client[-1] >= 4 * per_client[len(per_client) // 2]


def test_seed_demo_keeps_every_business_rule():
    seed_demo(users=200, seed=2)
    completed = Job.objects.filter(status=Job.Status.COMPLETED)
    accepted = Application.objects.filter(status=Application.Status.ACCEPTED)

    def accepted_on_job(worker: str):
        return Exists(accepted.filter(job=OuterRef("job"), applicant=OuterRef(worker)))

    # Payments: only on completed jobs, from the job's client to one of its accepted workers.
    assert Payment.objects.exclude(job__in=completed).count() == 0
    assert Payment.objects.exclude(payer=F("job__client")).count() == 0
    assert Payment.objects.exclude(accepted_on_job("payee")).count() == 0
    # Reviews: only on completed jobs, between the client and an accepted worker, either way.
    assert Review.objects.exclude(job__in=completed).count() == 0
    client_to_worker = Q(reviewer=F("job__client"), worker_accepted_as_reviewee=True)
    worker_to_client = Q(reviewee=F("job__client"), worker_accepted_as_reviewer=True)
    between_parties = Review.objects.annotate(
        worker_accepted_as_reviewee=accepted_on_job("reviewee"), worker_accepted_as_reviewer=accepted_on_job("reviewer")
    ).filter(client_to_worker | worker_to_client)
    assert between_parties.count() == Review.objects.count()
    # Never more accepted workers than slots; nobody applies to their own job.
    overfilled = Job.objects.annotate(
        n=Count("applications", filter=Q(applications__status=Application.Status.ACCEPTED))
    ).filter(n__gt=F("slots"))
    assert overfilled.count() == 0
    assert Application.objects.filter(applicant=F("job__client")).count() == 0
    # Jobs still to be worked start in the future; completed ones are over.
    now = timezone.now()
    assert not Job.objects.filter(status__in=[Job.Status.OPEN, Job.Status.FILLED], shift_start__lte=now).exists()
    assert not completed.filter(shift_end__gt=now).exists()
    # Issue 12: no job in progress or completed before its shift began; payments to a worker within the
    # job's ceiling (pending and succeeded ones).
    assert not Job.objects.filter(
        status__in=[Job.Status.IN_PROGRESS, Job.Status.COMPLETED], shift_start__gt=now
    ).exists()
    assert Job.objects.filter(status=Job.Status.IN_PROGRESS).exists()
    committed = (
        Payment.objects.filter(status__in=[Payment.Status.PENDING, Payment.Status.SUCCEEDED])
        .values("job", "payee")
        .annotate(total=Sum("amount"))
    )
    jobs = Job.objects.in_bulk([row["job"] for row in committed])
    assert committed
    assert all(row["total"] <= payment_ceiling(jobs[row["job"]]) for row in committed)
    # Every user has a profile and account details; payments are in the job's city currency.
    assert Profile.objects.count() == AccountDetails.objects.count() == User.objects.count()
    assert Payment.objects.exclude(currency=F("payer__account_details__currency")).count() == 0


def test_seed_demo_rows_pass_field_validation():
    """What the database does not check (lengths, choices, decimal places on SQLite), the models do."""
    seed_demo(users=USERS, seed=1)

    for model in (User, Profile, AccountDetails, Job, Application, Payment, Review):
        for instance in model.objects.all():
            validate_field_values(instance)


def test_seed_demo_history_comes_from_fixed_dates_not_the_clock():
    seed_demo(users=USERS, seed=1)

    for model in (Job, Application, Payment, Review):
        stamps = model.objects.values_list("created_at", flat=True)
        assert all(demo_data.HISTORY_START <= stamp <= demo_data.HISTORY_END for stamp in stamps), model
    assert all(joined <= demo_data.HISTORY_START for joined in User.objects.values_list("date_joined", flat=True))
    assert not Payment.objects.filter(updated_at__lt=F("created_at")).exists()
    assert not Application.objects.filter(updated_at__lt=F("created_at")).exists()


def test_seed_demo_prints_the_logins_and_a_token_that_works(api_client):
    # when
    output = seed_demo(users=USERS, seed=1)

    # then
    assert f"{demo_data.DEMO_EMAIL} / {demo_data.DEMO_PASSWORD}" in output
    assert f"{demo_data.ADMIN_EMAIL} / {demo_data.DEMO_PASSWORD}" in output
    token = re.search(r"API token\s+(\w+)", output).group(1)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = api_client.get("/api/v1/auth/me/")
    assert response.status_code == 200
    assert response.json()["email"] == demo_data.DEMO_EMAIL
    assert re.search(r"payments\s+[\d,]+", output)


def test_seed_demo_staff_user_can_log_in_with_the_printed_password(api_client):
    seed_demo(users=USERS, seed=1)

    response = api_client.post(
        "/api/v1/auth/token/", {"email": demo_data.ADMIN_EMAIL, "password": demo_data.DEMO_PASSWORD}
    )

    assert response.status_code == 200, response.content
    assert response.json()["user"]["is_staff"] is True
    assert User.objects.get(email=demo_data.ADMIN_EMAIL).is_superuser


def test_seed_demo_if_empty_seeds_an_empty_database():
    seed_demo(if_empty=True, users=USERS)

    assert User.objects.filter(email=demo_data.DEMO_EMAIL).exists()
    assert Payment.objects.exists()


def test_seed_demo_if_empty_leaves_a_database_with_users_alone():
    # given
    user = make_user()

    # when
    output = seed_demo(if_empty=True, users=USERS)

    # then
    assert "nothing seeded" in output
    assert list(User.objects.all()) == [user]


def test_seed_demo_if_empty_reprints_the_demo_logins_of_an_earlier_seed(api_client):
    seed_demo(users=USERS)

    output = seed_demo(if_empty=True, users=USERS)

    token = re.search(r"API token\s+(\w+)", output).group(1)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get("/api/v1/auth/me/").json()["email"] == demo_data.DEMO_EMAIL


def test_seed_demo_refuses_to_mix_with_existing_users():
    make_user(email="real@example.com")

    with pytest.raises(CommandError, match="--reset"):
        seed_demo(users=USERS)

    assert User.objects.count() == 1


def test_seed_demo_reset_replaces_existing_users_and_domain_data():
    # given
    worker = make_user(email="worker@example.com")
    payment = make_payment(payer=make_user(email="client@example.com"), payee=worker)
    make_review(reviewer=payment.payer, reviewee=worker, job=payment.job)

    # when
    seed_demo(users=USERS, reset=True)

    # then
    assert not User.objects.filter(email__in=["worker@example.com", "client@example.com"]).exists()
    assert not Payment.objects.filter(idempotency_key=payment.idempotency_key, amount=payment.amount).exists()
    assert User.objects.count() == USERS + 1


def test_seed_demo_refuses_where_demo_data_is_disabled(settings):
    settings.PAESHIFT_ALLOW_DEMO_SEED = False

    with pytest.raises(CommandError, match="PAESHIFT_ALLOW_DEMO_SEED"):
        seed_demo(users=USERS)

    assert not User.objects.exists()


def test_seed_demo_force_overrides_the_setting(settings):
    settings.PAESHIFT_ALLOW_DEMO_SEED = False

    seed_demo(users=USERS, force=True)

    assert User.objects.filter(email=demo_data.DEMO_EMAIL).exists()


@pytest.mark.parametrize("args", [["--users", "0"], ["--users", "-5"], ["--users", "many"], ["--reset", "--if-empty"]])
def test_seed_demo_rejects_bad_arguments(args):
    with pytest.raises(CommandError):
        seed_demo(*args)

    assert not User.objects.exists()


def test_seed_demo_open_jobs_are_in_the_future_relative_to_the_day_of_seeding():
    seed_demo(users=USERS, seed=1)

    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    open_starts = Job.objects.filter(status=Job.Status.OPEN).values_list("shift_start", flat=True)
    assert open_starts
    assert all(today + timedelta(days=1) <= start <= today + timedelta(days=31) for start in open_starts)


def test_seed_demo_clears_the_caches_once_committed(django_capture_on_commit_callbacks):
    """Bulk inserts send no signals: cached responses from before the seed must not outlive it."""
    cache.set("hc:payments:user:1:p", b"stale")

    with django_capture_on_commit_callbacks(execute=True):
        seed_demo(users=USERS)

    assert cache.get("hc:payments:user:1:p") is None


def test_seed_demo_gives_auto_now_fields_back_their_clock():
    seed_demo(users=USERS)

    job = make_job()

    assert job.created_at > demo_data.HISTORY_END
    assert timezone.now() - job.created_at < timedelta(minutes=1)


def test_seed_demo_gives_each_side_a_demo_login_with_full_lists(api_client):
    # given
    output = seed_demo(users=USERS, seed=1)
    assert f"{demo_data.DEMO_WORKER_EMAIL} / {demo_data.DEMO_PASSWORD}" in output

    def listed(email: str, path: str) -> list[dict]:
        login = api_client.post("/api/v1/auth/token/", {"email": email, "password": demo_data.DEMO_PASSWORD})
        assert login.status_code == 200, login.content
        api_client.credentials(HTTP_AUTHORIZATION=f"Token {login.json()['token']}")
        response = api_client.get(path)
        assert response.status_code == 200, response.content
        return response.json()["results"]

    # when
    applications = listed(demo_data.DEMO_WORKER_EMAIL, "/api/v1/me/applications/?page_size=100")
    upcoming = listed(demo_data.DEMO_WORKER_EMAIL, "/api/v1/me/applications/?upcoming=true")
    jobs = listed(demo_data.DEMO_EMAIL, "/api/v1/me/jobs/?page_size=100")

    # then: the demo worker has applications in several statuses and shifts ahead; the demo client, jobs
    assert len({application["status"] for application in applications}) >= 3
    assert upcoming
    assert len({job["status"] for job in jobs}) >= 3
    assert any(job["applications"]["total"] for job in jobs)
