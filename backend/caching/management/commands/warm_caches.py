from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from backend.caching import registry
from backend.caching.rebuild import rebuild
from backend.caching.store import get_store


class Command(BaseCommand):
    help = "Build hot-cache payloads now: the most read keys of each namespace, or all of them (e.g. after a deploy)."

    def add_arguments(self, parser):
        parser.add_argument("--namespace", action="append", choices=registry.namespaces(), help="repeatable")
        parser.add_argument("--top", type=int, default=100, help="the K most read keys per namespace (default 100)")
        parser.add_argument("--all", action="store_true", help="every key of the namespace, not only the hottest")

    def handle(self, *args, namespace=None, top=100, all=False, **options):
        if top < 1:
            raise CommandError("--top must be at least 1")
        total = 0
        for ns in namespace or registry.namespaces():
            view = registry.get(ns)
            key_ids = list(view.all_ids()) if all else get_store().top_keys(ns, top)
            stored = 0
            for key_id in tqdm(key_ids, desc=ns, unit="key", disable=not key_ids or options["verbosity"] < 1):
                if rebuild(ns, key_id) is not None:
                    stored += 1
            total += stored
            self.stdout.write(f"{ns}: {stored}/{len(key_ids)} keys warmed")
        self.stdout.write(self.style.SUCCESS(f"{total} keys warmed"))
