"""Per-endpoint performance report: queries cold and warm, server time, bytes; a gate on query budgets."""

import json
import platform
import statistics
import sys
import time
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import caches
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client, override_settings
from drf_spectacular.generators import EndpointEnumerator
from rest_framework.authtoken.models import Token
from rest_framework.permissions import IsAdminUser
from tqdm import tqdm

from backend.accounts.models import User
from backend.caching.store import get_store
from backend.jobs.models import Application, Job
from backend.payments.models import Payment
from bench.budgets import EXCLUDED, budget_for
from bench.server_timing import desc_counts, parse_server_timing


def server_timing(response) -> dict:
    """The figures of our Server-Timing header: {"db": n, "cachalot": n, "redis": n, "app_ms": x}."""
    metrics = parse_server_timing(response.get("Server-Timing"))
    return {**desc_counts(metrics), "app_ms": metrics.get("app", {}).get("dur")}


def clear_caches() -> None:
    for cache in caches.all():
        cache.clear()
    get_store().clear()


class Command(BaseCommand):
    help = "Measure every GET endpoint cold and warm and check each against its query budget (exit 1 if over)."

    def add_arguments(self, parser):
        parser.add_argument("--json", dest="json_path")
        parser.add_argument("--markdown", dest="markdown_path")
        parser.add_argument("--repeat", type=int, default=20, help="warm requests per endpoint (median taken)")
        parser.add_argument("--seed-users", type=int, default=300, help="demo users to seed on an empty database")

    def handle(self, *args, json_path, markdown_path, repeat, seed_users, **options):
        if not User.objects.exists():
            self.stderr.write(f"empty database: seeding {seed_users} demo users")
            call_command("seed_demo", users=seed_users, verbosity=0)
        # The API's own figures: silk and the debug toolbar, where installed, add work of their own.
        without_silk = [m for m in settings.MIDDLEWARE if not m.startswith(("silk.", "debug_toolbar."))]
        # A bar on a terminal (not in logs or CI: tqdm's disable=None), one step per endpoint and per overhead figure.
        steps = len(get_endpoints()) + (4 if "silk" in settings.INSTALLED_APPS else 2)
        with (
            override_settings(SERVER_TIMING_ENABLED=True, HOT_CACHE_WORKER_REBUILD=False, MIDDLEWARE=without_silk),
            tqdm(
                total=steps,
                desc="perf_report",
                unit=" step",
                file=sys.stderr,
                disable=None if options["verbosity"] >= 1 else True,
            ) as self.bar,
        ):
            endpoints = self.measure_endpoints(repeat)
            overhead = self.measure_overhead(repeat)
        report = {
            "machine": machine(),
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "database": connection.vendor,
            "cache": settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1],
            "repeat": repeat,
            "endpoints": endpoints,
            "overhead": overhead,
        }
        if json_path:
            with open(json_path, "w") as handle:
                json.dump(report, handle, indent=2)
        if markdown_path:
            with open(markdown_path, "w") as handle:
                handle.write(to_markdown(report))
        self.stdout.write(to_markdown(report))
        over = [e["name"] for e in endpoints if not e["within_budget"]]
        if over:
            raise CommandError(f"over budget: {', '.join(over)}")

    def sample_ids(self) -> tuple[dict, dict]:
        """Path parameters pointing at busy, real rows; and the tokens of the owner and of staff."""
        payment = Payment.objects.order_by("id").first()
        if payment is None:
            raise CommandError("no payments: seed demo data first (manage.py seed_demo)")
        owner = payment.payer
        job = Job.objects.filter(client=owner).order_by("-id").first() or payment.job
        application = Application.objects.filter(job=job).first() or Application.objects.order_by("id").first()
        staff = User.objects.filter(is_staff=True, is_active=True).order_by("id").first()
        if staff is None:
            staff = User.objects.create_user(email="perf-staff@paeshift.dev", password=None, is_staff=True)
        tokens = {
            "owner": Token.objects.get_or_create(user=owner)[0].key,
            "staff": Token.objects.get_or_create(user=staff)[0].key,
        }
        params = {
            "user_id": owner.id,
            "job_id": job.id,
            "payment_id": payment.id,
            "application_id": application.id if application else 0,
        }
        return params, tokens

    def measure_endpoints(self, repeat: int) -> list[dict]:
        params, tokens = self.sample_ids()
        rows = []
        for path, callback in get_endpoints():
            self.bar.set_postfix_str(path, refresh=False)
            view = callback.cls
            actor = "staff" if IsAdminUser in getattr(view, "permission_classes", []) else "owner"
            url = path.format(**params)
            client = Client(HTTP_AUTHORIZATION=f"Token {tokens[actor]}")
            clear_caches()
            client.get("/api/v1/auth/me/")  # authenticate once, as a client's first call would
            clear_caches()
            cold = client.get(url)
            cold_figures = server_timing(cold)
            times, warm_figures, warm = [], {}, cold
            for _ in range(repeat):
                warm = client.get(url)
                warm_figures = server_timing(warm)
                times.append(warm_figures["app_ms"])
            budget = budget_for(path)
            hot = getattr(warm, "hot_cache_outcome", None) is not None
            cold_queries = cold_figures.get("db", 0)
            warm_queries = warm_figures.get("db", 0)
            ok_status = cold.status_code == 200 and warm.status_code == 200
            within = ok_status and cold_queries <= budget.cold_queries and (not hot or warm_queries == 0)
            rows.append(
                {
                    "name": f"{view.__name__}",
                    "path": path,
                    "actor": actor,
                    "status": cold.status_code,
                    "hot": hot,
                    "cold_queries": cold_queries,
                    "warm_queries": warm_queries,
                    "cold_cachalot_hits": cold_figures.get("cachalot", 0),
                    "warm_cachalot_hits": warm_figures.get("cachalot", 0),
                    "cold_round_trips": cold_figures.get("redis", 0),
                    "warm_round_trips": warm_figures.get("redis", 0),
                    "cold_ms_median": round(cold_figures["app_ms"] or 0.0, 3),
                    "warm_ms_median": round(statistics.median(times), 3),
                    "bytes": len(warm.content),
                    "budget_queries": budget.cold_queries,
                    "within_budget": within,
                }
            )
            self.bar.update()
        return rows

    def measure_overhead(self, repeat: int) -> dict:
        """Wall time of a warm hot read with the Server-Timing middleware off and on (and silk, if installed)."""
        params, tokens = self.sample_ids()
        url = f"/api/v1/users/{params['user_id']}/profile/"

        def median_ms(**overrides) -> float:
            self.bar.set_postfix_str(f"overhead {overrides}", refresh=False)
            with override_settings(**overrides):
                client = Client(HTTP_AUTHORIZATION=f"Token {tokens['owner']}")
                for _ in range(5):
                    client.get(url)
                samples = []
                for _ in range(max(repeat, 50)):
                    start = time.perf_counter()
                    client.get(url)
                    samples.append((time.perf_counter() - start) * 1000)
            self.bar.update()
            return round(statistics.median(samples), 4)

        figures = {"server_timing_off_ms": median_ms(SERVER_TIMING_ENABLED=False)}
        figures["server_timing_on_ms"] = median_ms(SERVER_TIMING_ENABLED=True)
        if "silk" in settings.INSTALLED_APPS:
            from config.settings.base import SILK_MIDDLEWARE as silk_middleware

            middleware = [m for m in settings.MIDDLEWARE if m != silk_middleware]
            figures["silk_off_ms"] = median_ms(SERVER_TIMING_ENABLED=False, MIDDLEWARE=middleware)
            figures["silk_on_ms"] = median_ms(
                SERVER_TIMING_ENABLED=False, MIDDLEWARE=[*middleware, silk_middleware], SILKY_INTERCEPT_FUNC=None
            )
        return figures


def get_endpoints() -> list[tuple[str, object]]:
    """``(path, callback)`` of every GET endpoint the report measures, in path order."""
    return [
        (path, callback)
        for path, _regex, method, callback in sorted(EndpointEnumerator().get_api_endpoints())
        if method == "GET" and path not in EXCLUDED
    ]


def machine() -> dict:
    import os

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
    }


def to_markdown(report: dict) -> str:
    m = report["machine"]
    lines = [
        "# Performance report",
        "",
        f"Generated by `make perf-report` (`python manage.py perf_report`) on {report['date']}, "
        f"{report['database']} with {report['cache']}, {report['repeat']} warm requests per endpoint.",
        f"Machine: {m['platform']}, {m['cpus']} CPUs, Python {m['python']}.",
        "",
        "Queries are those that reached the database (cachalot hits are counted apart); round trips are Redis calls;",
        "times are server times (Server-Timing `app`), in-process, medians. Budget: queries allowed cold (3 for the",
        "endpoint's data + 1 for token authentication, or less); a hot endpoint must also run 0 queries warm.",
        "",
        "| endpoint | path | hot | cold queries | warm queries | cachalot hits cold/warm | round trips cold/warm "
        "| cold ms | warm ms | bytes | budget | ok |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for e in report["endpoints"]:
        lines.append(
            f"| {e['name']} | `{e['path']}` | {'yes' if e['hot'] else ''} | {e['cold_queries']} | {e['warm_queries']} "
            f"| {e['cold_cachalot_hits']}/{e['warm_cachalot_hits']} | {e['cold_round_trips']}/{e['warm_round_trips']} "
            f"| {e['cold_ms_median']:.2f} | {e['warm_ms_median']:.2f} | {e['bytes']} | {e['budget_queries']} "
            f"| {'yes' if e['within_budget'] else '**NO**'} |"
        )
    o = report["overhead"]
    lines += [
        "",
        "## Overhead of the measurement itself",
        "",
        "Median wall time of a warm hot read (`GET /api/v1/users/{id}/profile/`, in-process test client), measured in",
        "one run so the figures compare:",
        "",
        "| configuration | ms per request | ratio |",
        "| --- | ---: | ---: |",
        f"| Server-Timing middleware off | {o['server_timing_off_ms']:.3f} | 1.00 |",
        f"| Server-Timing middleware on | {o['server_timing_on_ms']:.3f} "
        f"| {o['server_timing_on_ms'] / o['server_timing_off_ms']:.2f} |",
    ]
    if "silk_on_ms" in o:
        lines += [
            f"| silk off | {o['silk_off_ms']:.3f} | 1.00 |",
            f"| silk on (every request recorded) | {o['silk_on_ms']:.3f} | {o['silk_on_ms'] / o['silk_off_ms']:.2f} |",
        ]
    return "\n".join(lines) + "\n"
