import json

from django.core.management.base import BaseCommand

from backend.caching import stats


class Command(BaseCommand):
    help = "Hot-cache statistics per namespace (hits, misses, stale rejects, rebuilds, latency)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print JSON")
        parser.add_argument("--reset", action="store_true", help="reset the counters after printing them")

    def handle(self, *args, **options):
        collected = stats.collect()
        if options["json"]:
            self.stdout.write(json.dumps(collected, indent=2))
        else:
            header = f"{'namespace':<22}{'hits':>9}{'misses':>9}{'stale':>7}{'rebuilt':>9}{'failed':>7}"
            self.stdout.write(header + f"{'hit rate':>10}{'warm p50':>10}{'warm p95':>10}")
            for ns, row in collected["namespaces"].items():
                p50 = "-" if row["warm_latency_ms_p50"] is None else f"{row['warm_latency_ms_p50']:.1f}ms"
                p95 = "-" if row["warm_latency_ms_p95"] is None else f"{row['warm_latency_ms_p95']:.1f}ms"
                self.stdout.write(
                    f"{ns:<22}{row['hits']:>9}{row['misses']:>9}{row['stale_rejects']:>7}{row['rebuilds']:>9}"
                    f"{row['rebuild_failures']:>7}{row['hit_rate']:>10.2%}{p50:>10}{p95:>10}"
                )
        if options["reset"]:
            stats.reset()
            self.stderr.write("counters reset")
