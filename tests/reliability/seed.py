"""The rows every reliability test starts from, written once into the template database.

Run inside a stack's environment (``python -m tests.reliability.seed``): Django is set up with the
stack's settings, the rows are created with the ORM (users get unusable passwords: hashing real
ones with the production hasher would take seconds and nothing logs in with a password), and one
JSON document with the ids and tokens is printed as the last line.
"""

import json

SEED_VALUE = "seed"
PEOPLE = 16  # users whose profiles and account details the fault and stale-read tests write and read
PAID_JOBS = 8  # completed jobs, one accepted worker each: concurrent payments for different jobs
OPEN_JOBS = 4  # open jobs with APPLICANTS pending applications each: concurrent accepts
SLOTS = 3
APPLICANTS = 10


def seed() -> dict:
    from django.db import transaction
    from rest_framework.authtoken.models import Token

    from backend.accounts.models import AccountDetails, Profile, User
    from backend.jobs.models import Application, Job
    from tests.factories import make_application, make_completed_job, make_job

    def user(email: str, **fields) -> User:
        created = User.objects.create_user(email=email, password=None, **fields)
        Token.objects.create(user=created)
        return created

    with transaction.atomic():
        staff = user("staff@reliability.example", is_staff=True)
        people = [user(f"person{i}@reliability.example") for i in range(PEOPLE)]
        Profile.objects.filter(user__in=people).update(headline=SEED_VALUE)
        AccountDetails.objects.filter(user__in=people).update(bank_name=SEED_VALUE)

        payer = user("payer@reliability.example")
        payees = [user(f"payee{i}@reliability.example") for i in range(PAID_JOBS + 1)]
        paid_jobs = [make_completed_job(client=payer, workers=[payee]) for payee in payees]

        poster = user("poster@reliability.example")
        applicants = [user(f"applicant{i}@reliability.example") for i in range(APPLICANTS)]
        open_jobs = [make_job(client=poster, slots=SLOTS, status=Job.Status.OPEN) for _ in range(OPEN_JOBS)]
        applications = {
            job.id: [make_application(job=job, applicant=a, status=Application.Status.PENDING).id for a in applicants]
            for job in open_jobs
        }

    tokens = dict(Token.objects.values_list("user_id", "key"))
    return {
        "staff": staff.id,
        "people": [p.id for p in people],
        "payer": payer.id,
        # The first job takes the retries of one payment; the others one payment each.
        "paid_jobs": [[job.id, payee.id] for job, payee in zip(paid_jobs, payees, strict=True)],
        "poster": poster.id,
        "applicants": [a.id for a in applicants],
        "open_jobs": applications,
        "slots": SLOTS,
        "tokens": {str(user_id): key for user_id, key in tokens.items()},
    }


if __name__ == "__main__":
    import django

    django.setup()
    print(json.dumps(seed()))
