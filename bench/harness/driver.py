"""One benchmark run: data, then each configuration in turn on a fresh copy of it, then the report.

For each configuration: a fresh copy of the seeded database (so every configuration starts from
the same rows and the same one-time targets), empty Redis databases, the stack started with the
configuration's environment, the keys the run will read built beforehand where the
configuration has hot caches (the steady state of a running system), the workload as a warm-up
and then measured, the hot reads alone (throughput of the hot endpoints), the stack stopped.
"""

import hashlib
import json
import math
import os
import platform
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit

from bench.harness import cpu, report, results, wrk
from bench.harness import profile as profiling
from bench.harness.bare import bare_wsgi_server
from bench.harness.configs import CONFIGS, MAIN_CONFIGS, Config
from bench.harness.progress import RunProgress, phases_of
from bench.harness.services import Services
from bench.stack import PYTHON, REPO, WEB_SERVERS, Stack, manage
from bench.workload import HOT_READ_MIX, Population, Workload

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
# The dashboards' reads and their hot namespaces (the feed's nine keys are built by the warm-up).
DASHBOARD_READS = {name: ns for ns, name in wrk.NAMESPACE_READS.items() if ns.startswith("dashboard:")}
RESET_ALLOWANCE = 3.0  # seconds the server's counters take to reset between warm-up and measurement


@dataclass
class Options:
    users: int = 10_000
    duration: float = 30.0
    warmup: float = 10.0
    hot_duration: float | None = None  # default: duration
    read_duration: float | None = None  # each wrk window (bench/harness/wrk.py); default: min(duration, 10)
    clients: int = 16
    web_workers: int = 2
    web_threads: int = 1
    server: str = "gunicorn-sync"  # one of bench.stack.WEB_SERVERS (docs/benchmarks/servers.md)
    worker_concurrency: int = 2
    configs: tuple[str, ...] = MAIN_CONFIGS
    seed: int = 1
    output: Path = REPO / "docs" / "benchmarks"
    workdir: Path = Path("/tmp/paeshift-bench")
    database_url: str = "postgres://postgres@127.0.0.1:5432/postgres"
    redis_url: str = "redis://127.0.0.1:6379/0"
    cache_db: int = 8
    broker_db: int = 9
    broker_url: str | None = None  # another broker than broker_db of redis_url (RabbitMQ: amqp://...)
    keep_template: bool = False
    profile: bool = False
    note: str = ""
    expected_rps: float = 2000.0
    extra_params: dict = field(default_factory=dict)

    @property
    def read_seconds(self) -> float:
        return self.read_duration or min(self.duration, 10.0)

    def params(self) -> dict:
        data = asdict(self)
        for key in ("output", "workdir", "database_url", "redis_url", "extra_params", "keep_template", "note"):
            data.pop(key)
        # The broker's kind, not its URL (which may carry a password).
        data["broker_url"] = urlsplit(self.broker_url).scheme if self.broker_url else "redis"
        data["configs"] = list(self.configs)
        data["hot_duration"] = self.hot_duration or self.duration
        data["read_duration"] = self.read_seconds
        data.update(self.extra_params)
        return data


def _fingerprint() -> str:
    """What the seeded data depends on: the schema and the seeding code."""
    digest = hashlib.sha1()
    paths = [*sorted(REPO.glob("backend/*/migrations/*.py")), REPO / "bench/demo_data.py"]
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:8]


def machine(services: Services) -> dict:
    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass

    def version(package: str) -> str | None:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return None

    return {
        "cpu": cpu_model,
        "cores": os.cpu_count(),
        "memory_gib": memory_gib,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "postgresql": services.postgres_version(),
        "redis": services.redis_version(),
        "packages": {
            p: version(p) for p in ("Django", "djangorestframework", "gunicorn", "granian", "celery", "locust")
        },
        "note": "load generator, web workers, Celery worker, beat, PostgreSQL and Redis share this machine",
    }


def server_env(server: str, workers: int, threads: int) -> dict[str, str]:
    """The environment that runs ``server`` (bench.stack.WEB_SERVERS) with ``workers`` processes of
    ``threads`` threads each. With threads, the database pool (config/settings/base.py, DATABASE_POOL)
    bounds each process's connections to its thread count, so no thread waits for one."""
    if server not in WEB_SERVERS:
        raise ValueError(f"unknown web server {server!r}; choose from {', '.join(WEB_SERVERS)}")
    if server == "gunicorn-sync" and threads != 1:
        raise ValueError("gunicorn-sync runs one thread per worker: use gunicorn-gthread for threads")
    if server == "gunicorn-gthread" and threads < 2:
        raise ValueError("gunicorn-gthread needs 2 threads or more (gunicorn runs sync workers with 1)")
    env = {"WEB_CONCURRENCY": str(workers), "GUNICORN_THREADS": "1" if server == "granian" else str(threads)}
    if server == "granian":
        env["GRANIAN_BLOCKING_THREADS"] = str(threads)
    if threads > 1:
        env.update(DATABASE_POOL="true", DATABASE_POOL_MIN_SIZE="1", DATABASE_POOL_MAX_SIZE=str(threads))
    return env


def keys_to_warm(
    population: Population, *, seed: int, clients: int, mixed_ops: int, hot_ops: int, floor: bool = False
) -> dict:
    """What the run's clients will touch, from their workloads replayed without a server.

    ``{"users": [ids whose token authenticates a request], "hot": {namespace: [key ids read]}}``
    (the dashboards' default pages included);
    ``floor``: the floor's reads-only workload (no hot keys). Replaying needs the payments the
    clients create to settle them later, as the real run does, so each creation is answered with
    a made-up id: the sequence of ops is the real run's whenever every write succeeds.
    """
    users: set[int] = set()
    keys: dict[str, set[int]] = {}
    fake_ids = iter(range(10**12, 10**13))
    for index in range(clients):
        shard = (index, clients)
        if floor:
            phases = (
                (Workload(population, seed=seed + index, order_seed=seed, shard=shard, write_share=0.0), mixed_ops),
            )
        else:
            phases = (
                (Workload(population, seed=seed + index, order_seed=seed, shard=shard), mixed_ops),
                (
                    Workload(
                        population,
                        seed=seed + 100_000 + index,
                        order_seed=seed,
                        shard=shard,
                        read_mix=HOT_READ_MIX,
                        write_share=0.0,
                    ),
                    hot_ops,
                ),
            )
        for workload, count in phases:
            for _ in range(count):
                op = workload.next()
                if op.user_id is not None:
                    users.add(op.user_id)
                if floor:
                    continue
                if op.kind == "read" and op.namespace:
                    keys.setdefault(op.namespace, set()).add(op.subject_id)
                elif op.kind == "read" and op.name in DASHBOARD_READS and "?" not in op.path:
                    # A dashboard's default page is its hot view (the workload names no namespace for it).
                    keys.setdefault(DASHBOARD_READS[op.name], set()).add(op.subject_id)
                elif op.name == "payment_create":
                    workload.payment_created(next(fake_ids))
    return {"users": sorted(users), "hot": {ns: sorted(ids) for ns, ids in keys.items()}}


class Run:
    def __init__(
        self, options: Options, log: Callable[[str], None] = print, progress: RunProgress | None = None
    ) -> None:
        self.options = options
        self.log = log
        # Where the run is (bench/harness/progress.py): the command gives a bar or a line per phase.
        self.progress = progress or RunProgress(0, quiet=True)
        self.where = ""
        self.services = Services(
            options.database_url, options.redis_url, options.cache_db, options.broker_db, options.broker_url
        )
        self.workdir = options.workdir / datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.profile: dict | None = None

    @staticmethod
    def planned_seconds(options: Options, scales: int = 1) -> float:
        """The measured seconds of a run of ``options.configs`` at ``scales`` data sizes (progress's total)."""
        return scales * sum(
            seconds for name in options.configs for _label, seconds in phases_of(CONFIGS[name], options)
        )

    # -- data ----------------------------------------------------------------------------------

    def template_name(self, users: int) -> str:
        return f"{self.services.prefix}bench_tpl_{users}u_s{self.options.seed}_{_fingerprint()}"

    def prepare_data(self, users: int) -> tuple[str, Path]:
        """The seeded template database (made unless kept from an earlier run) and its population."""
        with self.progress.phase(f"{users:,} users: data"):
            return self._prepare_data(users)

    def _prepare_data(self, users: int) -> tuple[str, Path]:
        template = self.template_name(users)
        if self.services.database_exists(template):
            self.log(f"data: reusing {template}")
        else:
            building = f"{template}_new"
            self.services.create_database(building)
            env = self.services.env(
                building, {"SILK_ENABLED": "true"}, workdir=self.workdir
            )  # silk's tables, for the silk configurations
            started = time.monotonic()
            self.log(f"data: migrating {building}")
            manage(env, "migrate", "--noinput", "-v0", log=self.workdir / "setup.log")
            self.log(f"data: seeding {users:,} users (seed {self.options.seed})")
            manage(
                env,
                "seed_demo",
                "--users",
                str(users),
                "--seed",
                str(self.options.seed),
                "--force",
                "-v0",
                log=self.workdir / "setup.log",
            )
            population = self.workdir / f"population-{users}.json"
            manage(env, "bench", "--dump-population", str(population), "--seed", str(self.options.seed))
            self.services.drop_database(template)
            with self.services.admin() as conn:
                conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{template}"')
            self.log(f"data: {template} ready in {time.monotonic() - started:.0f} s")
        population = self.workdir / f"population-{users}.json"
        if not population.exists():
            env = self.services.env(template, {}, workdir=self.workdir)
            manage(env, "bench", "--dump-population", str(population), "--seed", str(self.options.seed))
        return template, population

    # -- one configuration ---------------------------------------------------------------------

    def run_config(self, config: Config, *, template: str, population_path: Path, users: int, floor_rps) -> dict:
        options = self.options
        database = f"{self.services.prefix}bench_run_{users}u_{config.name}"
        self.log(f"[{config.name}] {config.description}")
        self.services.create_database(database, template=template)
        self.services.flush_redis()
        logs = self.workdir / f"{users}u" / config.name
        logs.mkdir(parents=True, exist_ok=True)
        env = self.services.env(
            database,
            {
                "TTL_PEER_CACHE": "false",
                **config.env,
                **server_env(options.server, options.web_workers, options.web_threads),
                "CELERY_WORKER_CONCURRENCY": str(options.worker_concurrency),
            },
            workdir=logs,
        )
        # The Procfile's processes, as production runs them (the web line replaced for another
        # server than gunicorn); honcho writes their output to a file.
        stack = Stack(
            env,
            ("web", "worker", "beat") if config.beat else ("web", "worker"),
            log=logs / "stack.log",
            server=options.server,
        )
        planned = dict(phases_of(config, options))
        try:
            with self.progress.phase(f"{self.where}: starting the stack, warming"):
                stack.wait_ready(timeout=90)
                self.prewarm(env, population_path, config, floor_rps)
            mode = "floor" if config.floor else "mixed"
            with self.progress.phase(f"{self.where}: mixed workload", planned["mixed workload"]):
                mixed, stats = self.run_phase(
                    stack,
                    env,
                    logs,
                    mode=mode,
                    population_path=population_path,
                    warmup=options.warmup,
                    duration=options.duration,
                    profile=config.profiled,
                )
            hot = hot_stats = None
            if config.hot_phase:
                with self.progress.phase(f"{self.where}: hot reads alone", planned["hot reads alone"]):
                    hot, hot_stats = self.run_phase(
                        stack,
                        env,
                        logs,
                        mode="hot",
                        population_path=population_path,
                        warmup=min(3.0, options.warmup),
                        duration=options.hot_duration or options.duration,
                    )
            windows = self.run_read_windows(stack, env, logs, config, population_path) if config.wrk_windows else {}
        finally:
            stack.close()
            self.services.drop_database(database)
        result = results.config_result(mixed, stats, hot, hot_stats, client_side_hits=config.client_side_hits)
        result["cpu_cores_busy"] = mixed.pop("cpu_cores_busy", {})
        result["generator_cpu_share"] = results.generator_share(result["cpu_cores_busy"], "locust")
        if result.get("hot"):
            result["hot"]["generator_cpu_share"] = results.generator_share(
                result["hot"].get("cpu_cores_busy", {}), "locust"
            )
        if windows:
            result["windows"] = windows
        self.log(
            f"[{config.name}] {result['rps']:.0f} req/s, p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, "
            f"{result['queries_per_request']} queries/request, hit rate {result['hit_rate']}, "
            f"errors {result['errors']}, stale {result['stale_reads']}"
            + (f"; hot reads alone {result['hot']['rps']:.0f} req/s" if result.get("hot") else "")
            + "".join(f"; {name} {w['rps']:.0f} req/s (wrk)" for name, w in windows.items())
        )
        return result

    def run_read_windows(self, stack: Stack, env: dict, logs: Path, config: Config, population_path: Path) -> dict:
        """Each of ``config.wrk_windows`` alone under wrk: a short warm-up, the server's counters reset,
        then the measured window; a hot namespace's window reports its hit rate from those counters."""
        options = self.options
        population = Population.from_json(json.loads(population_path.read_text()))
        lines = {
            name: wrk.requests_for(name, population, seed=options.seed + 200_000 + i)
            for i, name in enumerate(config.wrk_windows)
        }
        warm_tokens = config.env.get("CACHALOT_ENABLED") == "true"
        plan = {
            "tokens": sorted({token for rows in lines.values() for _p, token, _k in rows if token})
            if warm_tokens
            else [],
            "hot": {
                name: sorted({key for _p, _t, key in rows})
                for name, rows in lines.items()
                if config.prewarm and name in wrk.NAMESPACE_READS and name != "jobs:open"
            },
        }
        self._build(env, plan, f"warm-{config.name}-wrk")
        windows = {}
        planned = dict(phases_of(config, options))
        for name in config.wrk_windows:
            with self.progress.phase(f"{self.where}: wrk {name}", planned[f"wrk {name}"]):
                windows[name] = self._read_window(stack, env, logs, name, lines[name])
        return windows

    def _read_window(self, stack: Stack, env: dict, logs: Path, name: str, lines: list) -> dict:
        """One wrk window of ``run_read_windows``: ``lines``, its requests."""
        requests_file = logs / f"wrk-{name.replace(':', '-')}.requests"
        wrk.write_requests(requests_file, lines)
        output = logs / f"wrk-{name.replace(':', '-')}.json"
        if name == "bare_wsgi":
            with bare_wsgi_server(env, logs / "bare-wsgi.log") as (url, pid):
                return self._wrk_window(url, requests_file, output, env, roots={pid: "web"})
        roots = {pid: part for part, pid in stack.pids().items()}
        namespace = name if name in wrk.NAMESPACE_READS else None
        return self._wrk_window(stack.url, requests_file, output, env, roots=roots, namespace=namespace)

    def _wrk_window(
        self, url: str, requests_file: Path, output: Path, env: dict, *, roots: dict, namespace: str | None = None
    ) -> dict:
        options = self.options
        warmup = min(2.0, options.warmup)
        wrk.run(url, requests_file, duration=warmup, connections=options.clients, output=output)
        if namespace:
            manage(env, "cache_stats", "--reset")
        result = wrk.run(
            url, requests_file, duration=options.read_seconds, connections=options.clients, output=output, roots=roots
        )
        if namespace:
            row = json.loads(manage(env, "cache_stats", "--json")).get("namespaces", {}).get(namespace, {})
            hits, misses = row.get("hits", 0), row.get("misses", 0)
            result.update(
                hits=hits, misses=misses, hit_rate=round(hits / (hits + misses), 4) if hits + misses else None
            )
        return result

    def prewarm(self, env: dict, population_path: Path, config: Config, floor_rps: float | None) -> None:
        """The steady state of a running system, for what the run will touch: cachalot holds the
        tokens (when on) and, with hot caches, the worker has built every key the clients will read."""
        options = self.options
        warm_tokens = config.env.get("CACHALOT_ENABLED") == "true"
        if not (warm_tokens or config.prewarm):
            return
        rate = floor_rps or options.expected_rps
        per_client = rate / options.clients * 1.3
        mixed_ops = math.ceil(per_client * (options.warmup + RESET_ALLOWANCE + options.duration))
        hot_duration = options.hot_duration or options.duration
        hot_ops = math.ceil(per_client * (min(3.0, options.warmup) + RESET_ALLOWANCE + hot_duration))
        population = Population.from_json(json.loads(population_path.read_text()))
        touched = keys_to_warm(
            population,
            seed=options.seed,
            clients=options.clients,
            mixed_ops=mixed_ops,
            hot_ops=hot_ops,
            floor=config.floor,
        )
        plan = {
            "tokens": [population.tokens[u] for u in touched["users"]] + [population.staff_token]
            if warm_tokens
            else [],
            "hot": touched["hot"] if config.prewarm else {},
        }
        total = sum(len(ids) for ids in plan["hot"].values())
        started = time.monotonic()
        self._build(env, plan, f"warm-{config.name}")
        self.log(
            f"  warmed {len(plan['tokens']):,} tokens (auth:token entries, or cachalot) and {total:,} hot keys "
            f"in {time.monotonic() - started:.0f} s"
        )

    def _build(self, env: dict, plan: dict, name: str) -> None:
        """Authenticate ``plan["tokens"]`` once and build ``plan["hot"]``'s keys, as many builders as the
        worker has processes, each on its share, in-process: the same rebuild the worker runs, without a
        queue the measured run would find still full."""
        if not plan["tokens"] and not plan["hot"]:
            return
        path = self.workdir / f"{name}.json"
        path.write_text(json.dumps(plan))
        parts = max(1, self.options.worker_concurrency)
        builders = []
        with (self.workdir / "setup.log").open("ab") as log:
            for part in range(parts):
                argv = [PYTHON, str(REPO / "manage.py"), "bench", "--prewarm", str(path), "--part", f"{part}/{parts}"]
                builders.append(subprocess.Popen(argv, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT))
        failed = [b.args for b in builders if b.wait() != 0]
        if failed:
            raise RuntimeError(f"warming failed: {failed}; see {self.workdir / 'setup.log'}")

    def run_phase(
        self,
        stack: Stack,
        env: dict,
        logs: Path,
        *,
        mode: str,
        population_path: Path,
        warmup: float,
        duration: float,
        profile: bool = False,
    ) -> tuple[dict, dict | None]:
        control = logs / f"control-{mode}"
        shutil.rmtree(control, ignore_errors=True)
        control.mkdir(parents=True)
        output = logs / f"locust-{mode}.json"
        writes = logs / "writes.json"
        locust_env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))}
        locust_env.update(
            {
                "PYTHONPATH": str(REPO),
                "BENCH_POPULATION": str(population_path),
                "BENCH_MODE": mode,
                "BENCH_SEED": str(self.options.seed),
                "BENCH_CLIENTS": str(self.options.clients),
                "BENCH_DURATION": str(duration),
                "BENCH_CONTROL": str(control),
                "BENCH_OUTPUT": str(output),
                "BENCH_WRITES_IN": str(writes),
                "BENCH_WRITES_OUT": str(writes),
            }
        )
        clients = str(self.options.clients)
        argv = [
            PYTHON,
            "-m",
            "locust",
            "-f",
            str(LOCUSTFILE),
            "--headless",
            "-u",
            clients,
            "-r",
            clients,
            "--host",
            stack.url,
            "--run-time",
            f"{int(warmup + duration + 120)}s",
            "--csv",
            str(logs / f"locust-{mode}"),
            "--only-summary",
            "--loglevel",
            "WARNING",
        ]
        with (logs / f"locust-{mode}.log").open("ab") as log:
            locust = subprocess.Popen(
                argv, env=locust_env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            self._wait_for(control / "started", locust, timeout=120)
            time.sleep(warmup)
            manage(env, "cache_stats", "--reset")
            roots = {**{pid: name for name, pid in stack.pids().items()}, locust.pid: "locust", os.getpid(): "bench"}
            before = cpu.snapshot()
            (control / "measure").touch()
            self._wait_for(control / "measuring", locust, timeout=30)
            spy = self._start_profiler(stack, duration, logs) if profile else None
            if spy is not None:
                roots[spy.pid] = "profiler"
            # The window's end, as the load generator counts it; snapshot while it still runs.
            window_start = time.monotonic()
            started = json.loads((control / "measuring").read_text())["started"]
            time.sleep(max(0.0, started + duration - 0.05 - time.time()))
            after = cpu.snapshot()
            busy = cpu.busy_cores(before, after, roots, time.monotonic() - window_start)
            locust.wait(timeout=90)
            if spy is not None:
                spy.wait(timeout=60)
                self.profile = profiling.summarize(Path(spy.args[spy.args.index("--output") + 1]).read_text())
        finally:
            if locust.poll() is None:
                locust.terminate()
                locust.wait(timeout=30)
        if locust.returncode not in (0, 1):  # locust exits 1 when any request failed: counted, not fatal
            raise RuntimeError(f"locust exited with {locust.returncode}; see {logs / f'locust-{mode}.log'}")
        stats = json.loads(manage(env, "cache_stats", "--json"))
        summary = results.summarize_phase(json.loads(output.read_text()))
        summary["cpu_cores_busy"] = busy
        return summary, stats

    @staticmethod
    def _wait_for(path: Path, process: subprocess.Popen, *, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not path.exists():
            if process.poll() is not None:
                raise RuntimeError(f"locust exited with {process.returncode} before {path.name}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"locust did not reach {path.name} within {timeout:.0f} s")
            time.sleep(0.01)

    def _start_profiler(self, stack: Stack, duration: float, logs: Path) -> subprocess.Popen | None:
        spy = shutil.which("py-spy", path=str(Path(PYTHON).parent)) or shutil.which("py-spy")
        if spy is None:
            self.log("  py-spy not found: no profile")
            return None
        output = logs / "py-spy-web.txt"
        argv = [
            spy,
            "record",
            "--pid",
            str(stack.pids()["web"]),
            "--subprocesses",
            "--nonblocking",
            "--format",
            "raw",
            "--rate",
            "100",
            "--duration",
            str(max(1, int(duration) - 1)),
            "--output",
            str(output),
        ]
        with (logs / "py-spy.log").open("ab") as log:
            return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)

    # -- whole runs ----------------------------------------------------------------------------

    def run_configs(self, users: int, names: tuple[str, ...]) -> dict[str, dict]:
        template, population = self.prepare_data(users)
        configs: dict[str, dict] = {}
        try:
            for number, name in enumerate(names, 1):
                self.where = f"{users:,} users, {name} ({number}/{len(names)})"
                floor_rps = configs.get("floor", {}).get("rps")
                configs[name] = self.run_config(
                    CONFIGS[name], template=template, population_path=population, users=users, floor_rps=floor_rps
                )
        finally:
            if not self.options.keep_template:
                self.services.drop_database(template)
        return configs

    def main(self) -> dict:
        options = self.options
        started = datetime.now(UTC)
        configs = self.run_configs(options.users, options.configs)
        extra = {"note": options.note} if options.note else {}
        if self.profile:
            extra["profile"] = self.profile
        doc = results.document(
            machine=machine(self.services),
            date=started.isoformat(timespec="seconds"),
            params=options.params(),
            configs=configs,
            extra=extra,
        )
        self.write(doc, "results.json")
        return doc

    def scale(self, scales: tuple[int, ...]) -> dict:
        options = self.options
        started = datetime.now(UTC)
        by_scale = {}
        for users in scales:
            by_scale[str(users)] = self.run_configs(users, options.configs)
            for result in by_scale[str(users)].values():
                result.pop("ops", None)
                result.pop("cache_namespaces", None)
        params = options.params()
        params["scales"] = list(scales)
        params.pop("users")
        doc = {
            "machine": machine(self.services),
            "date": started.isoformat(timespec="seconds"),
            "params": params,
            "scales": by_scale,
        }
        if options.note:
            doc["note"] = options.note
        self.write(doc, "scale.json")
        return doc

    def write(self, doc: dict, name: str) -> None:
        output = self.options.output
        output.mkdir(parents=True, exist_ok=True)
        (output / name).write_text(json.dumps(doc, indent=2) + "\n")
        report.write_all(output)
        self.log(f"wrote {output / name}, {output / 'README.md'} and the charts; logs in {self.workdir}")


def check_smoke(doc: dict) -> list[str]:
    """What a smoke run must show: it ran end to end (wrk's windows too), full beat nocache, nothing failed
    or was stale (but in the ttl peer, which has no invalidation), the peer's per-view cache served hits."""
    configs = doc["configs"]
    problems = []
    for name, result in configs.items():
        if not result["requests"]:
            problems.append(f"{name}: no request measured")
        if result["errors"]:
            problems.append(f"{name}: {result['errors']} errors ({result['statuses']})")
        if result["stale_reads"] and name != "ttl":
            problems.append(f"{name}: {result['stale_reads']} stale reads ({result['stale_examples']})")
        for window, figures in (result.get("windows") or {}).items():
            if not figures["requests"] or figures["errors"]:
                problems.append(
                    f"{name}: wrk window {window}: {figures['requests']} requests, errors {figures['error_kinds']}"
                )
    if "ttl" in configs and not configs["ttl"]["hit_rate"]:
        problems.append(f"ttl: the per-view cache served no hit (hit rate {configs['ttl']['hit_rate']})")
    if "full" in configs and "nocache" in configs:
        full, nocache = configs["full"], configs["nocache"]
        # Judged on the hot reads (what the caches are for) and on the SQL each request costs: the
        # mixed rate of a few seconds on small data is too close between the two to gate on.
        full_rate, nocache_rate = results.hot_rps(full), results.hot_rps(nocache)
        if not full_rate > nocache_rate:
            problems.append(f"full ({full_rate} hot reads/s) did not beat nocache ({nocache_rate} hot reads/s)")
        if not full["queries_per_request"] < nocache["queries_per_request"]:
            problems.append(
                f"full ran {full['queries_per_request']} queries per request, nocache "
                f"{nocache['queries_per_request']}: the caches saved nothing"
            )
    return problems
