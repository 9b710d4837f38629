"""Which tables should cachalot cache? Run the workload three ways and count what reached the database."""

import json
import random

from django.conf import settings
from django.core.cache import caches
from django.core.management.base import BaseCommand
from django.test import override_settings

from bench.runner import run
from bench.workload import Population, Workload

BOOKKEEPING = frozenset(
    {"django_migrations", "django_session", "django_admin_log", "caching_cacheoutage"}
    | {t for t in settings.CACHALOT_UNCACHABLE_TABLES if t.startswith("silk_")}
)
CONFIGS = {
    "off": {"CACHALOT_ENABLED": False},
    "all tables": {
        "CACHALOT_ENABLED": True,
        "CACHALOT_ONLY_CACHABLE_TABLES": frozenset(),
        "CACHALOT_UNCACHABLE_TABLES": BOOKKEEPING,
    },
    "chosen": {"CACHALOT_ENABLED": True},
}


class Command(BaseCommand):
    help = (
        "Run the same workload with cachalot off, on for every table, and on for the chosen read-mostly tables "
        "(hot caches off throughout), and report per table the queries that reached the database and the writes."
    )

    def add_arguments(self, parser):
        parser.add_argument("--requests", type=int, default=3000)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--users", type=int, default=None, help="act as at most this many users")
        parser.add_argument("--json", dest="json_path")

    def handle(self, *args, requests, seed, users, json_path, **options):
        results = {}
        for name, overrides in CONFIGS.items():
            with override_settings(HOT_CACHE_ENABLED=False, **overrides):
                for cache in caches.all():
                    cache.clear()
                population = Population.load(max_users=users, seed=seed)
                workload = Workload(population, seed=seed)
                random.seed(seed)
                result = run(workload, requests)
            results[name] = result
            self.stderr.write(
                f"{name}: {result.log.queries / requests:.2f} queries/request, "
                f"{result.seconds / requests * 1000:.2f} ms/request, errors {result.errors}, {dict(result.statuses)}"
            )
        tables = sorted(
            set().union(
                *(r.log.reads_by_table for r in results.values()), *(r.log.writes_by_table for r in results.values())
            )
        )
        off = results["off"].log.reads_by_table
        rows = []
        for table in tables:
            row = {
                "table": table,
                "writes_per_1000_requests": round(results["off"].log.writes_by_table[table] * 1000 / requests, 1),
                "reads_off": off[table],
                "reads_all_tables": results["all tables"].log.reads_by_table[table],
                "reads_chosen": results["chosen"].log.reads_by_table[table],
                "cached_in_chosen": table in settings.CACHALOT_ONLY_CACHABLE_TABLES,
            }
            row["saved_by_caching_all"] = (
                round(1 - row["reads_all_tables"] / row["reads_off"], 3) if row["reads_off"] else None
            )
            rows.append(row)
        summary = {
            name: {
                "queries_per_request": round(r.log.queries / requests, 3),
                "db_ms_per_request": round(r.log.seconds * 1000 / requests, 3),
                "ms_per_request": round(r.seconds * 1000 / requests, 3),
                "errors": r.errors,
            }
            for name, r in results.items()
        }
        self.stdout.write(
            "| table | writes / 1000 req | reads reaching DB: off | all tables | chosen | saved (all) | cached |"
        )
        self.stdout.write("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
        for row in rows:
            saved = "-" if row["saved_by_caching_all"] is None else f"{row['saved_by_caching_all']:.0%}"
            cached = "yes" if row["cached_in_chosen"] else "no"
            self.stdout.write(
                f"| `{row['table']}` | {row['writes_per_1000_requests']} | {row['reads_off']} "
                f"| {row['reads_all_tables']} | {row['reads_chosen']} | {saved} | {cached} |"
            )
        self.stdout.write("")
        self.stdout.write("| configuration | queries / request | DB ms / request | ms / request | errors |")
        self.stdout.write("| --- | ---: | ---: | ---: | ---: |")
        for name, row in summary.items():
            self.stdout.write(
                f"| {name} | {row['queries_per_request']} | {row['db_ms_per_request']} | {row['ms_per_request']} "
                f"| {row['errors']} |"
            )
        if json_path:
            with open(json_path, "w") as handle:
                json.dump({"requests": requests, "seed": seed, "tables": rows, "configs": summary}, handle, indent=2)
