"""``manage.py bench``: the whole stack under the workload, configurations compared in one run.

See docs/benchmarks/README.md for what it measures and how to read the figures.
"""

import argparse
import json
import os
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from backend.common.argtypes import positive_int, positive_seconds
from bench.harness.configs import CONFIGS, DEFAULT_CONFIGS, MAIN_CONFIGS, SCALE_CONFIGS, SCALE_USERS
from bench.stack import REPO, WEB_SERVERS


def _scales(value: str) -> tuple[int, ...]:
    return tuple(positive_int(part) for part in value.split(",") if part.strip())


def _configs(value: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in value.split(",") if part.strip())
    unknown = [name for name in names if name not in CONFIGS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown configuration(s) {unknown}; choose from {', '.join(CONFIGS)}")
    return names


def _with_profile(configs: tuple[str, ...], profile: bool) -> tuple[str, ...]:
    """--profile adds full_profiled, last: its sampler never shares another configuration's window."""
    if profile and "full_profiled" not in configs:
        return (*configs, "full_profiled")
    return configs


class Command(BaseCommand):
    help = (
        "Benchmark the real stack (gunicorn, PostgreSQL, Redis, a Celery worker, beat) under the Paeshift workload, "
        "configuration by configuration (floor, nocache, cachalot, full, the ttl peer, and full with silk; "
        "wrk's read-only windows), and write "
        "results.json, README.md and the charts to --output (docs/benchmarks/)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--scale",
            type=_scales,
            default=None,
            help="users to seed (default 10000); a comma-separated list runs the scale series "
            f"(default configurations {','.join(SCALE_CONFIGS)}) and writes scale.json",
        )
        parser.add_argument("--scale-series", action="store_true", help=f"--scale {','.join(map(str, SCALE_USERS))}")
        parser.add_argument("--duration", type=positive_seconds, help="measured seconds per configuration (30)")
        parser.add_argument("--warmup", type=positive_seconds, help="warm-up seconds before measuring (10)")
        parser.add_argument("--hot-duration", type=positive_seconds, help="measured seconds of hot reads alone")
        parser.add_argument(
            "--read-duration",
            type=positive_seconds,
            help="seconds of each wrk window (bare WSGI, healthz, floor, each hot namespace): min(duration, 10)",
        )
        parser.add_argument("--clients", type=positive_int, help="concurrent virtual users (16)")
        parser.add_argument(
            "--server",
            choices=WEB_SERVERS,
            default="gunicorn-sync",
            help="the web server (gunicorn-sync: the Procfile's; docs/benchmarks/servers.md)",
        )
        parser.add_argument("--web-workers", type=positive_int, help="web server processes, WEB_CONCURRENCY (2)")
        parser.add_argument(
            "--web-threads",
            type=positive_int,
            help="threads per web process (gunicorn-sync 1; gunicorn-gthread, granian 4; a database pool as large)",
        )
        parser.add_argument("--worker-concurrency", type=positive_int, help="Celery worker processes (2)")
        parser.add_argument(
            "--configs",
            type=_configs,
            help=f"comma-separated, in order (default {','.join(DEFAULT_CONFIGS)}; choices {','.join(CONFIGS)})",
        )
        parser.add_argument("--seed", type=int, default=1, help="seed of the data and of the workload (1)")
        parser.add_argument("--output", type=Path, help="where results go (docs/benchmarks; smoke: the work directory)")
        parser.add_argument("--workdir", type=Path, default=Path("/tmp/paeshift-bench"), help="logs and raw data")
        parser.add_argument("--smoke", action="store_true", help="small data, a few seconds per configuration, checks")
        parser.add_argument(
            "--profile",
            action="store_true",
            help="then full once more with py-spy on the web workers: where its time goes (the profile only)",
        )
        parser.add_argument("--keep-template", action="store_true", help="keep the seeded database for the next run")
        parser.add_argument("--note", default="", help="a note shown at the top of the README")
        parser.add_argument(
            "--quiet",
            action="store_true",
            help="no progress on stderr (otherwise a bar with the time left on a terminal, a line per phase elsewhere)",
        )
        parser.add_argument("--database-url", default=None, help="PostgreSQL server (DATABASE_URL's by default)")
        parser.add_argument("--redis-url", default=None, help="Redis server (REDIS_URL's by default)")
        parser.add_argument("--cache-db", type=int, default=8, help="Redis database of the cache (8)")
        parser.add_argument("--broker-db", type=int, default=9, help="Redis database of the broker (9)")
        parser.add_argument(
            "--broker-url",
            default=None,
            help="the broker, instead of --broker-db of the Redis server: e.g. RabbitMQ's "
            "amqp://guest:guest@127.0.0.1:5672/vhost (its default and cache queues are purged between configurations)",
        )
        # Internal: run by the bench itself with the benchmark database's settings.
        parser.add_argument("--dump-population", type=Path, help=argparse.SUPPRESS)
        parser.add_argument("--prewarm", type=Path, help=argparse.SUPPRESS)
        parser.add_argument("--part", default="0/1", help=argparse.SUPPRESS)

    def handle(self, *args, **o):
        if o["dump_population"]:
            return self._dump_population(o["dump_population"], o["seed"])
        if o["prewarm"]:
            index, count = (int(n) for n in o["part"].split("/"))
            return self._prewarm(o["prewarm"], index, count)

        from bench.harness.driver import Options, Run, check_smoke, server_env
        from bench.harness.progress import RunProgress

        smoke = o["smoke"]
        scales = o["scale"] or (SCALE_USERS if o["scale_series"] else None)
        series = scales is not None and len(scales) > 1
        default_configs = SCALE_CONFIGS if series else (MAIN_CONFIGS if smoke else DEFAULT_CONFIGS)
        options = Options(
            users=scales[0] if scales else (200 if smoke else 10_000),
            duration=o["duration"] or (3.0 if smoke else 30.0),
            warmup=o["warmup"] or (2.0 if smoke else 10.0),
            hot_duration=o["hot_duration"],
            read_duration=o["read_duration"],
            clients=o["clients"] or (8 if smoke else 16),
            web_workers=o["web_workers"] or 2,
            web_threads=o["web_threads"] or (1 if o["server"] == "gunicorn-sync" else 4),
            server=o["server"],
            worker_concurrency=o["worker_concurrency"] or 2,
            configs=_with_profile(o["configs"] or default_configs, o["profile"]),
            seed=o["seed"],
            workdir=o["workdir"].resolve(),
            database_url=o["database_url"] or os.environ.get("DATABASE_URL") or Options.database_url,
            redis_url=o["redis_url"] or os.environ.get("REDIS_URL") or Options.redis_url,
            cache_db=o["cache_db"],
            broker_db=o["broker_db"],
            broker_url=o["broker_url"],
            keep_template=o["keep_template"],
            profile=o["profile"],
            note=o["note"],
            extra_params={"smoke": smoke},
        )
        try:
            server_env(options.server, options.web_workers, options.web_threads)
        except ValueError as error:
            raise CommandError(str(error)) from error
        if not options.database_url.startswith(("postgres://", "postgresql://")):
            raise CommandError("the benchmark needs PostgreSQL: set DATABASE_URL or pass --database-url")
        progress = RunProgress(
            Run.planned_seconds(options, len(scales) if series else 1), stream=sys.stderr, quiet=o["quiet"]
        )
        run = Run(options, log=progress.write, progress=progress)
        options.output = o["output"] or (run.workdir / "results" if smoke else REPO / "docs" / "benchmarks")
        try:
            if series:
                run.scale(scales)
                return
            doc = run.main()
        finally:
            progress.close()
        if smoke:
            problems = check_smoke(doc)
            if problems:
                raise CommandError("smoke run failed:\n  " + "\n  ".join(problems))
            self.stderr.write(self.style.SUCCESS("smoke run passed: " + _one_line(doc)))

    def _dump_population(self, path: Path, seed: int) -> None:
        from bench.workload import Population

        population = Population.load(seed=seed)
        path.write_text(json.dumps(population.to_json()))

    def _prewarm(self, path: Path, index: int, count: int) -> None:
        """Share ``index`` of ``count`` of the warming plan: authenticate each token twice (its
        ``auth:token`` entry is stored by then, as by a client's first requests) and build each hot
        key as the worker would."""
        from backend.accounts.authentication import HotTokenAuthentication
        from backend.caching.rebuild import rebuild

        plan = json.loads(path.read_text())
        authentication = HotTokenAuthentication()
        for key in plan["tokens"][index::count]:
            authentication.authenticate_credentials(key)
            authentication.authenticate_credentials(key)
        keys = [(namespace, key_id) for namespace, ids in plan["hot"].items() for key_id in ids]
        for namespace, key_id in keys[index::count]:
            rebuild(namespace, key_id)


def _one_line(doc: dict) -> str:
    return ", ".join(f"{name} {result['rps']:.0f} req/s" for name, result in doc["configs"].items())
