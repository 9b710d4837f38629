"""What one request costs on Django's side, in process: the middleware stack, URL resolution, the access log.

    DATABASE_URL=postgres://... REDIS_URL=redis://... python bench/request_overhead.py [--requests N] [--repeat R]

Production settings (``config.settings.production``; a throwaway secret and host are filled in), the
database migrated and Redis reachable. It serves, through Django's WSGI handler and without a network
(so neither the server nor a load generator is measured), ``/healthz`` and three hot hits (the open-jobs
feed, a job's detail and its legacy twin, anonymous; a job is created if there is none), and prints
CPU microseconds of this process per request, the median of ``R`` interleaved runs of ``N`` requests each:

- the whole stack, the stack with each middleware left out in turn, and no middleware at all;
- ``resolve()`` of each path, alone;
- gunicorn's access log line (config/gunicorn.conf.py's JSON format, written to /dev/null): gunicorn's own
  ``Logger`` and ours (config/gunicorn_logging.py).

Figures are for comparing rows of one run on one machine (ratios), not absolute: run it twice for the spread.
"""

import argparse
import io
import logging
import os
import runpy
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
os.environ.setdefault("DJANGO_SECRET_KEY", "request-overhead-measurement-only-not-a-secret-0123456789")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
os.environ.setdefault("CELERY_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
# The anonymous rate limit would answer 429 after 120 requests: counted still (its Redis round trip), never hit.
os.environ.setdefault("DJANGO_ANON_THROTTLE_RATE", "100000000/min")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.test import override_settings  # noqa: E402
from django.urls import resolve  # noqa: E402


def environ(path: str) -> dict:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "RAW_URI": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "443",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.1",
        "HTTP_HOST": "testserver",
        "HTTP_ACCEPT": "application/json",
        "HTTP_X_FORWARDED_PROTO": "https",
        "HTTP_X_FORWARDED_FOR": "203.0.113.7",
        "HTTP_USER_AGENT": "request-overhead/1",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "https",
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def _start_response(status, headers, exc_info=None):
    _start_response.status = status


def serve(handler: WSGIHandler, path: str) -> str:
    body = handler(environ(path), _start_response)
    for _ in body:
        pass
    body.close()
    return _start_response.status


def per_request_us(call, n: int) -> float:
    """CPU time of this process per call (``time.process_time``): what the web process spends, not what it
    waits for (Redis, PostgreSQL), and much less disturbed than wall time by other processes on the machine."""
    started = time.process_time()
    for _ in range(n):
        call()
    return (time.process_time() - started) / n * 1e6


def paths() -> dict[str, str]:
    from datetime import UTC, datetime

    from backend.accounts.models import User
    from backend.jobs.models import Job

    job = Job.objects.filter(status=Job.Status.OPEN).first()
    if job is None:
        client, _ = User.objects.get_or_create(email="request-overhead@example.com")
        start = datetime(2100, 1, 1, 8, tzinfo=UTC)
        job = Job.objects.create(client=client, title="request_overhead", city="Lagos", pay_rate=15,
                                 shift_start=start, shift_end=start + timedelta(hours=8))  # fmt: skip
    return {"healthz": "/healthz", "feed hit": "/api/v1/jobs/", "job hit": f"/api/v1/jobs/{job.id}/",
            "legacy job hit": f"/jobs/{job.id}"}  # fmt: skip


# What the admin (and silk, and the browsable API in local settings) needs and the token API does not.
ADMIN_ONLY = (
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "backend.common.throttling.AuthThrottleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
)


def handlers() -> dict[str, WSGIHandler]:
    """The whole stack, the stack without each middleware (those the rest can do without), without the
    admin's five, and none."""
    variants = {"whole stack": list(settings.MIDDLEWARE)}
    for middleware in settings.MIDDLEWARE:
        variants[f"  without {middleware.rsplit('.', 1)[1]}"] = [m for m in settings.MIDDLEWARE if m != middleware]
    variants["  without the admin's five"] = [m for m in settings.MIDDLEWARE if m not in ADMIN_ONLY]
    variants["no middleware"] = []
    built = {}
    for name, middleware in variants.items():
        with override_settings(MIDDLEWARE=middleware):
            built[name] = WSGIHandler()
    return built


def access_loggers() -> dict:
    """gunicorn's Logger and ours, configured by config/gunicorn.conf.py, writing to /dev/null."""
    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    from config.gunicorn_logging import AccessLogger

    conf = runpy.run_path(str(ROOT / "config" / "gunicorn.conf.py"))
    loggers = {}
    for name, klass in (("gunicorn Logger", Logger), ("config AccessLogger", AccessLogger)):
        cfg = Config()
        for key in ("accesslog", "access_log_format", "errorlog", "loglevel", "logconfig_dict"):
            cfg.set(key, conf[key])
        cfg.set("accesslog", "-")
        loggers[name] = klass(cfg)
    devnull = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    for handler in logging.getLogger("gunicorn.access").handlers:
        handler.setStream(devnull)
    return loggers


class _Response:
    status = "200 OK"
    sent = 512
    headers = [("Content-Type", "application/json"), ("Content-Length", "512"), ("ETag", 'W/"x"')]


class _Request:
    headers = [(k[5:].replace("_", "-"), v) for k, v in environ("/").items() if k.startswith("HTTP_")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000, help="requests per run (default 1000)")
    parser.add_argument("--repeat", type=int, default=5, help="interleaved runs; the median is printed (default 5)")
    parser.add_argument("--urlconf", default=settings.ROOT_URLCONF, help="another URLconf module, to compare orders")
    args = parser.parse_args()
    override_settings(ROOT_URLCONF=args.urlconf).enable()

    targets, stacks = paths(), handlers()
    logging.getLogger("django.request").setLevel(logging.CRITICAL)  # a variant that cannot serve is dropped below
    for stack_name, handler in list(stacks.items()):  # warm: hot keys built, connections open, cachalot filled
        statuses = {serve(handler, path) for path in targets.values() for _ in range(3)}
        if statuses != {"200 OK"}:
            print(f"{stack_name.strip()}: cannot serve ({', '.join(sorted(statuses))}), left out")
            del stacks[stack_name]

    print(f"CPU µs per request, median of {args.repeat} runs of {args.requests} (python {sys.version.split()[0]}, "
          f"{args.urlconf}); in brackets, the ratio to the whole stack")  # fmt: skip
    results: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.repeat):
        for stack_name, handler in stacks.items():
            for name, path in targets.items():
                cost = per_request_us(lambda h=handler, p=path: serve(h, p), args.requests)
                results.setdefault((stack_name, name), []).append(cost)
    width = max(len(name) for name in stacks)
    print(f"{'':{width}}  " + "  ".join(f"{name:>15}" for name in targets))
    whole = {name: statistics.median(results[("whole stack", name)]) for name in targets}
    for stack_name in stacks:
        cells = []
        for name in targets:
            median = statistics.median(results[(stack_name, name)])
            cells.append(f"{median:8.1f} ({median / whole[name]:4.2f})")
        print(f"{stack_name:{width}}  " + "  ".join(f"{cell:>15}" for cell in cells))

    print("\nresolve() alone, µs")
    for name, path in targets.items():
        runs = [per_request_us(lambda p=path: resolve(p), args.requests * 5) for _ in range(args.repeat)]
        print(f"  {name:15} {path:24} {statistics.median(runs):6.2f}")

    print("\naccess log line (JSON to /dev/null), µs")
    loggers = access_loggers()
    env, elapsed = environ("/api/v1/jobs/"), timedelta(microseconds=1234)
    for name, logger in loggers.items():
        runs = [per_request_us(lambda lg=logger: lg.access(_Response, _Request, env, elapsed), args.requests * 5)
                for _ in range(args.repeat)]  # fmt: skip
        print(f"  {name:22} {statistics.median(runs):6.2f}")


if __name__ == "__main__":
    main()
