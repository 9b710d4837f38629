"""``manage.py seed_demo``: realistic, deterministic demo data (see ``bench.demo_data``)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rest_framework.authtoken.models import Token

from backend.accounts.models import User
from backend.common.argtypes import positive_int
from bench import demo_data


class Command(BaseCommand):
    help = (
        "Load demo data: N users (about 20% clients), ~2 jobs, ~10 payments and ~10 reviews per user, plus the "
        f"demo client {demo_data.DEMO_EMAIL}, the demo worker {demo_data.DEMO_WORKER_EMAIL} and the staff user "
        f"{demo_data.ADMIN_EMAIL} "
        f"(password {demo_data.DEMO_PASSWORD!r}). The same --seed gives the same data."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--users", type=positive_int, default=1000, help="marketplace users to create (default 1000)"
        )
        parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--reset", action="store_true", help="delete every user and all domain data first")
        mode.add_argument("--if-empty", action="store_true", help="do nothing when the database already has users")
        parser.add_argument(
            "--force", action="store_true", help="seed even where settings.PAESHIFT_ALLOW_DEMO_SEED is False"
        )

    def handle(self, *args, users: int, seed: int, reset: bool, if_empty: bool, force: bool, **options):
        if not getattr(settings, "PAESHIFT_ALLOW_DEMO_SEED", False) and not force:
            raise CommandError(
                "Demo data is disabled in these settings (PAESHIFT_ALLOW_DEMO_SEED is False, as in production). "
                "Pass --force if you really mean to load demo users with a published password into this database."
            )
        existing = User.objects.count()
        if existing and if_empty:
            self.stdout.write(f"The database already has {existing} users: nothing seeded (--if-empty).")
            self._print_logins(User.objects.filter(email=demo_data.DEMO_EMAIL).first())
            return
        if existing and not reset:
            raise CommandError(
                f"The database already has {existing} users. Pass --reset to replace them and all domain data, "
                "or --if-empty to leave them alone."
            )

        progress = options["verbosity"] >= 1
        with transaction.atomic():
            if reset:
                demo_data.reset()
            result = demo_data.seed(users=users, seed=seed, progress=progress)

        phases = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result.seconds.items())
        total = sum(result.seconds.values())
        self.stdout.write(self.style.SUCCESS(f"Seeded demo data (seed {seed}) in {total:.1f} s ({phases}):"))
        for name, count in result.counts.items():
            self.stdout.write(f"  {name:<14}{count:>10,}")
        self._print_logins(result.demo_user, result.token)

    def _print_logins(self, demo_user: User | None, token: str | None = None) -> None:
        if demo_user is None:
            return
        if token is None:
            token = Token.objects.get_or_create(user=demo_user)[0].key
        password = demo_data.DEMO_PASSWORD
        self.stdout.write("")
        self.stdout.write(f"  Demo client   {demo_data.DEMO_EMAIL} / {password}")
        self.stdout.write(f"  Demo worker   {demo_data.DEMO_WORKER_EMAIL} / {password}")
        self.stdout.write(f"  Staff (admin) {demo_data.ADMIN_EMAIL} / {password}")
        self.stdout.write(f"  API token     {token}    (Authorization: Token {token})")
