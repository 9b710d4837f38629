"""What one write costs end to end, per kind of write: the request's side and the worker's side.

For each kind of write (job create, application create, accept, payment create, payment succeed,
review create, profile update) the scenario sends the write through the API in this process
(Django's test client, the whole middleware stack) and counts:

- web CPU: this thread's CPU time for the request (``time.thread_time``), commit hooks included;
- SQL statements and Redis round trips: the response's ``Server-Timing`` (``db`` and ``redis``, counted by
  ``backend.observability.meter`` around the whole request), BEGIN/COMMIT included;
- broker publishes: Celery's ``before_task_publish`` signal, sent once per message handed to the broker;
- publish time: the wall time from ``before_task_publish`` to ``after_task_publish`` summed over the write's
  publishes (the round trip to the broker, and on RabbitMQ the wait for its publisher confirm), part of
  the write's response time;
- rebuilds: the growth of the hot caches' ``rebuilds`` counters (``backend.caching.stats``), which only
  a worker's rebuild task increments, once the worker has drained its queue;
- worker CPU: the growth of a real Celery worker's CPU time (user + system, from ``/proc/<pid>/stat``), started by
  ``run()`` as a subprocess (solo pool, one process) on the configured broker, less its idle rate
  measured beforehand over the same span.

The scenario is a marketplace round repeated ``rounds`` times with fresh users: a client who reads
their pages before writing (their keys are popular), a worker who does not (their keys are not), and
the open-jobs feed read by everyone. Each write is isolated: the coalescing window has closed and
the worker is idle before the next one starts. ``manage.py write_cost`` prints and saves the figures.
"""

import os
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from celery.signals import after_task_publish, before_task_publish
from django.conf import settings
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from backend.accounts.models import User
from backend.caching import stats
from backend.jobs.models import Application, Job
from bench.server_timing import desc_counts, parse_server_timing
from bench.stack import REPO

KINDS = (
    "job_create",
    "application_create",
    "application_accept",
    "payment_create",
    "payment_succeed",
    "review_create",
    "profile_update",
)
WORKER_CPU_IDLE_SECONDS = 3.0


@dataclass
class Sample:
    web_cpu_ms: float
    sql: int
    redis: int
    publishes: int
    publish_ms: float
    rebuilds: int
    worker_cpu_ms: float


@dataclass
class Figures:
    samples: dict[str, list[Sample]] = field(default_factory=lambda: {kind: [] for kind in KINDS})

    def summary(self) -> dict[str, dict[str, float]]:
        """``{kind: {metric: mean over the samples}}``, CPU in milliseconds."""
        return {
            kind: {
                name: round(statistics.fmean(getattr(s, name) for s in samples), 2)
                for name in Sample.__dataclass_fields__
            }
            for kind, samples in self.samples.items()
            if samples
        }


class _Publishes:
    """Counts publishes and sums their wall time (this process publishes from one thread at a time)."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0
        self._started: float | None = None

    def reset(self) -> None:
        self.count, self.seconds, self._started = 0, 0.0, None

    def __call__(self, **kwargs) -> None:
        self.count += 1
        self._started = time.perf_counter()

    def published(self, **kwargs) -> None:
        if self._started is not None:
            self.seconds += time.perf_counter() - self._started
            self._started = None


class Worker:
    """A real Celery worker (solo pool: the rebuilds run in the process whose CPU is read)."""

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Worker":
        command = [
            sys.executable, "-m", "celery", "-A", "config.celery_app", "worker", "--queues", "cache,default",
            "--pool", "solo", "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "WARNING",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, cwd=REPO, env=os.environ.copy(), stdout=subprocess.DEVNULL)
        # Started once its CPU use settles (imports and connections done): at most a minute.
        deadline, last = time.monotonic() + 60, -1.0
        while time.monotonic() < deadline:
            time.sleep(1.0)
            if self.process.poll() is not None:
                raise RuntimeError("the Celery worker exited at start; is the broker reachable?")
            now = self.cpu()
            if now - last < 0.02:
                break
            last = now
        return self

    def cpu(self) -> float:
        """Seconds of CPU (user + system) the worker process has used (Linux's ``/proc``, proc(5))."""
        with open(f"/proc/{self.process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _rebuilds() -> int:
    return sum(row["rebuilds"] for row in stats.collect()["namespaces"].values())


def _drained(previous: int) -> int:
    """Wait for the coalescing window to close and the worker to stop rebuilding; the rebuild count."""
    time.sleep(settings.HOT_CACHE_COALESCE_WINDOW + 0.3)
    count, stable_since = _rebuilds(), time.monotonic()
    while time.monotonic() - stable_since < 0.6:
        time.sleep(0.1)
        now = _rebuilds()
        if now != count:
            count, stable_since = now, time.monotonic()
    return count


def _user(tag: str, **fields) -> tuple[User, Client]:
    user = User.objects.create_user(email=f"wc-{tag}-{uuid.uuid4().hex[:10]}@example.com", password=None, **fields)
    token = Token.objects.create(user=user)
    return user, Client(HTTP_AUTHORIZATION=f"Token {token.key}")


def _read_pages(client: Client, user: User, job_id: int | None = None) -> None:
    """What an active user opens: their own pages (and a job), each twice (popular keys)."""
    paths = [
        f"/api/v1/users/{user.id}/profile/",
        "/api/v1/me/account-details/",
        f"/api/v1/users/{user.id}/payments/",
        f"/api/v1/users/{user.id}/reviews/",
        f"/api/v1/users/{user.id}/reviews-given/",
        "/api/v1/me/applications/",
        "/api/v1/me/jobs/",
        "/api/v1/jobs/",
    ]
    if job_id is not None:
        paths.append(f"/api/v1/jobs/{job_id}/")
    for _ in range(2):
        for path in paths:
            client.get(path)


def _completed_job(client_user: User, worker: User) -> Job:
    start = timezone.now() - timedelta(days=1)
    job = Job.objects.create(
        client=client_user,
        title="Completed shift",
        city="Lagos",
        pay_rate=Decimal("20.00"),
        shift_start=start,
        shift_end=start + timedelta(hours=8),
        status=Job.Status.COMPLETED,
    )
    Application.objects.create(job=job, applicant=worker, status=Application.Status.ACCEPTED)
    return job


def run(rounds: int, log=print) -> Figures:
    """Measure ``rounds`` marketplace rounds (7 writes each) against the configured stack."""
    figures = Figures()
    publishes = _Publishes()
    before_task_publish.connect(publishes, weak=False)
    after_task_publish.connect(publishes.published, weak=False)
    _staff, staff_client = _user("staff", is_staff=True)
    try:
        with Worker() as worker:
            _drained(_rebuilds())
            start_cpu, start = worker.cpu(), time.monotonic()
            time.sleep(WORKER_CPU_IDLE_SECONDS)
            idle_rate = (worker.cpu() - start_cpu) / (time.monotonic() - start)
            log(f"worker idle CPU: {idle_rate * 1000:.2f} ms/s")

            def write(kind: str, client: Client, method: str, path: str, body: dict | None = None, **headers):
                rebuilds = _drained(_rebuilds())
                cpu_before, wall_before = worker.cpu(), time.monotonic()
                publishes.reset()
                thread_cpu = time.thread_time()
                response = getattr(client, method)(path, body, content_type="application/json", **headers)
                web_cpu = time.thread_time() - thread_cpu
                counts = desc_counts(parse_server_timing(response.get("Server-Timing")))
                if response.status_code >= 300:
                    raise RuntimeError(f"{kind}: {response.status_code} {response.content[:300]!r}")
                after = _drained(rebuilds)
                worker_cpu = worker.cpu() - cpu_before - idle_rate * (time.monotonic() - wall_before)
                figures.samples[kind].append(
                    Sample(
                        web_cpu_ms=web_cpu * 1000,
                        sql=counts.get("db", 0),
                        redis=counts.get("redis", 0),
                        publishes=publishes.count,
                        publish_ms=publishes.seconds * 1000,
                        rebuilds=after - rebuilds,
                        worker_cpu_ms=max(0.0, worker_cpu) * 1000,
                    )
                )
                return response.json()

            for index in range(rounds):
                client_user, client = _user("client")
                worker_user, worker_client = _user("worker")
                _read_pages(client, client_user)
                shift = timezone.now() + timedelta(days=3)
                job_body = {
                    "title": f"Forklift shift {index}",
                    "city": "Lagos",
                    "pay_rate": "25.00",
                    "shift_start": shift.isoformat(),
                    "shift_end": (shift + timedelta(hours=8)).isoformat(),
                }
                job = write("job_create", client, "post", "/api/v1/jobs/", job_body)
                _read_pages(client, client_user, job["id"])
                application = write(
                    "application_create",
                    worker_client,
                    "post",
                    f"/api/v1/jobs/{job['id']}/applications/",
                    {"cover_note": "Available."},
                )
                write("application_accept", client, "post", f"/api/v1/applications/{application['id']}/accept/")
                done = _completed_job(client_user, worker_user)
                _read_pages(client, client_user, done.id)
                payment = write(
                    "payment_create",
                    client,
                    "post",
                    f"/api/v1/jobs/{done.id}/payments/",
                    {"payee": worker_user.id, "amount": "50.00"},
                    HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
                )
                write("payment_succeed", staff_client, "post", f"/api/v1/payments/{payment['id']}/succeed/")
                review = {"reviewee": worker_user.id, "rating": 5, "comment": "Punctual."}
                write("review_create", client, "post", f"/api/v1/jobs/{done.id}/reviews/", review)
                write("profile_update", client, "patch", "/api/v1/me/profile/", {"headline": f"Hiring {index}"})
                log(f"round {index + 1}/{rounds} done")
    finally:
        before_task_publish.disconnect(publishes)
        after_task_publish.disconnect(publishes.published)
    return figures


def markdown(summary: dict[str, dict[str, float]]) -> str:
    header = (
        "| write | web CPU ms | SQL | Redis round trips | broker publishes | publish ms | rebuilds | worker CPU ms |\n"
    )
    header += "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
    rows = "".join(
        f"| {kind} | {f['web_cpu_ms']} | {f['sql']} | {f['redis']} | {f['publishes']} | {f.get('publish_ms', '-')} "
        f"| {f['rebuilds']} "
        f"| {f['worker_cpu_ms']} |\n"
        for kind, f in summary.items()
    )
    return header + rows
