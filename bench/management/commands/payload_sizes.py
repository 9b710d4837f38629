"""What the hot caches hold per user, measured in Redis: the input of docs/scaling.md's memory figures.

Run after ``seed_demo`` and ``warm_caches --all`` (every key of every hot view built), on the Redis of
``REDIS_URL``. Per namespace: the keys stored (payload ``hc:{ns}:{id}:p`` and generation ``:g``), the
payload's mean length and the pair's mean memory (``MEMORY USAGE``, Redis's own accounting of a key:
value, key name and overhead); ``--tokens N`` first authenticates N users' tokens so that ``auth:token``
entries are measured too. Writes JSON (``--json``) for ``bench/scale_model.py``::

    python manage.py seed_demo --users 1000 --reset
    python manage.py warm_caches --all -v0
    python manage.py payload_sizes --tokens 1000 --json docs/benchmarks/payload-sizes.json
"""

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django_redis import get_redis_connection
from rest_framework.authtoken.models import Token

from backend.accounts.authentication import HotTokenAuthentication
from backend.caching import registry


def _scan(client, pattern: str) -> list[bytes]:
    return list(client.scan_iter(match=pattern, count=1000))


class Command(BaseCommand):
    help = "Measure the hot caches' keys and memory per namespace and per user (docs/scaling.md)."

    def add_arguments(self, parser):
        parser.add_argument("--tokens", type=int, default=0, help="authenticate this many tokens first (auth:token)")
        parser.add_argument("--json", dest="json_path", type=Path, help="write the figures here")

    def handle(self, *args, tokens=0, json_path=None, **options):
        try:
            client = get_redis_connection("default")
        except NotImplementedError as exc:
            raise CommandError("needs the Redis cache (REDIS_URL)") from exc
        if tokens:
            authentication = HotTokenAuthentication()
            for key in Token.objects.order_by("user_id").values_list("key", flat=True)[:tokens]:
                authentication.authenticate_credentials(key)
        users = get_user_model().objects.count()
        namespaces = {}
        for declaration in registry.all_declarations():
            namespaces[declaration.namespace] = self._measure(client, declaration.namespace)
        lookups = {"auth:token"} - set(namespaces)
        for ns in sorted(lookups):
            namespaces[ns] = self._measure(client, ns)
        keys = sum(figures["keys"] for figures in namespaces.values())
        memory = sum(figures["keys"] * figures["memory_bytes_mean"] for figures in namespaces.values())
        result = {
            "users": users,
            "redis": client.info("server")["redis_version"],
            "namespaces": namespaces,
            "per_user": {
                "hot_keys": round(keys / users, 3) if users else None,
                "memory_bytes": round(memory / users, 1) if users else None,
                "note": "a hot key: a payload and its generation (two Redis keys); every key of every namespace built",
            },
        }
        text = json.dumps(result, indent=2) + "\n"
        if json_path is not None:
            json_path.write_text(text)
        self.stdout.write(text)

    @staticmethod
    def _measure(client, namespace: str) -> dict:
        payloads = _scan(client, f"hc:{namespace}:*:p")
        # ``hc:reviews:user:*`` must not count ``hc:reviews:user:...`` of another namespace: ids are digits.
        payloads = [key for key in payloads if key.decode().rsplit(":", 2)[-2].isdigit()]
        pipe = client.pipeline(transaction=False)
        for key in payloads:
            pipe.strlen(key)
            pipe.memory_usage(key, samples=0)
            pipe.memory_usage(key[:-1] + b"g", samples=0)
        answers = pipe.execute() if payloads else []
        lengths = answers[0::3]
        memory = [(p or 0) + (g or 0) for p, g in zip(answers[1::3], answers[2::3], strict=True)]
        count = len(payloads)
        return {
            "keys": count,
            "payload_bytes_mean": round(sum(lengths) / count, 1) if count else 0,
            "payload_bytes_max": max(lengths, default=0),
            "memory_bytes_mean": round(sum(memory) / count, 1) if count else 0,
        }
