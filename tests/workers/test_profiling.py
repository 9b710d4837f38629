"""silk's recorded requests are trimmed by beat, not by requests."""

import json
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from config.celery_app import app
from workers.profiling import collect_silk_garbage

ROOT = Path(__file__).resolve().parents[2]

# Runs under the local settings (silk installed) on a fresh SQLite file with silk's tables.
COLLECT = """
import json
from datetime import timedelta
import django
django.setup()
from django.core.management import call_command
from django.utils import timezone
call_command("migrate", "silk", verbosity=0)
from silk.models import Request
from workers.profiling import collect_silk_garbage
now = timezone.now()
for age in range(15):
    Request.objects.create(path=f"/api/v1/jobs/?age={age}", method="GET", start_time=now - timedelta(minutes=age))
first = collect_silk_garbage()
second = collect_silk_garbage()
kept = sorted(int(p.split("=")[1]) for p in Request.objects.values_list("path", flat=True))
print(json.dumps({"first": first, "second": second, "kept": kept}))
"""


def test_silk_garbage_collection_is_scheduled_on_the_default_queue():
    app.loader.import_default_modules()
    entries = [
        e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "workers.profiling.collect_silk_garbage"
    ]

    assert len(entries) == 1
    assert entries[0]["schedule"] == settings.SILK_GARBAGE_COLLECT_PERIOD
    assert app.amqp.router.route({}, "workers.profiling.collect_silk_garbage")["queue"].name == "default"


def test_requests_never_collect_silk_garbage_themselves():
    assert settings.SILKY_MAX_RECORDED_REQUESTS_CHECK_PERCENT == 0
    assert settings.SILKY_MAX_RECORDED_REQUESTS == 10_000


def test_collecting_silk_garbage_is_a_no_op_without_silk():
    assert "silk" not in settings.INSTALLED_APPS

    assert collect_silk_garbage() == 0


def test_collecting_silk_garbage_keeps_the_newest_requests(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SILK"))}
    env.pop("REDIS_URL", None)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DATABASE_URL=f"sqlite:///{tmp_path / 'silk.sqlite3'}",
        SILKY_MAX_RECORDED_REQUESTS="10",
        DEBUG_TOOLBAR_ENABLED="false",
    )

    result = subprocess.run(
        [sys.executable, "-c", COLLECT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome == {"first": 5, "second": 0, "kept": list(range(10))}  # the ten newest; idempotent
