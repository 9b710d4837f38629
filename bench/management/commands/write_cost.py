"""``manage.py write_cost``: what one write costs end to end, per kind of write (bench/write_cost.py)."""

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from backend.common.argtypes import positive_int
from bench import write_cost


class Command(BaseCommand):
    help = (
        "Send each kind of write through the API against the configured PostgreSQL, Redis and broker, with a real "
        "Celery worker, and report per write: web CPU, SQL statements, Redis round trips, broker publishes, "
        "rebuilds and worker CPU (means over --rounds)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--rounds", type=positive_int, default=10, help="marketplace rounds (7 writes each)")
        parser.add_argument("--json", dest="json_path", help="write the summary here as JSON")
        parser.add_argument("--label", default="", help="a name for this run in the JSON (e.g. before, after)")

    def handle(self, *args, rounds, json_path, label, **options):
        if settings.CELERY_TASK_ALWAYS_EAGER or not settings.REDIS_URL:
            raise CommandError("needs REDIS_URL (a real Redis and broker) and CELERY_TASK_ALWAYS_EAGER off")
        if "silk" in settings.INSTALLED_APPS:
            raise CommandError("silk records every request's SQL: run with SILK_ENABLED=false")
        if not getattr(settings, "SERVER_TIMING_ENABLED", False):
            raise CommandError(
                "the SQL and Redis counts are read from Server-Timing: run with SERVER_TIMING_ENABLED=true"
            )
        summary = write_cost.run(rounds, log=self.stderr.write).summary()
        self.stdout.write(write_cost.markdown(summary))
        if json_path:
            path = Path(json_path)
            data = json.loads(path.read_text()) if path.exists() else {}
            data[label or "latest"] = {"rounds": rounds, "per_write": summary}
            path.write_text(json.dumps(data, indent=2) + "\n")
