"""Error tracking with Sentry (or any server that accepts its envelopes), switched on by ``SENTRY_DSN``.

``init`` is called by the production settings, so the web processes, the worker and beat all report:

- the Django integration: unhandled exceptions in views (the 500s), with the route as transaction;
- the Celery integration: tasks that fail (a rebuild whose builder raised, after its retries), and,
  with ``monitor_beat_tasks``, every entry of beat's schedule as a Sentry cron monitor: beat marks
  each task it sends, the worker checks in when the task starts and ends, and Sentry alerts when a
  check-in is missing (a dead beat, a stuck worker). Sentry's crons accept intervals of a minute or
  more (https://docs.sentry.io/platforms/python/integrations/celery/crons/): the hourly popularity
  decay and silk's garbage collection are monitored; the 3 s outage replay and the 30 s refresh are
  not (their absence shows as ``paeshift_beat_last_run_timestamp_seconds`` going old, and in
  ``/readyz``'s ``beat_stale`` warning);
- the Redis integration: Redis commands as breadcrumbs (and spans when tracing is on).

Traces are off unless ``SENTRY_TRACES_SAMPLE_RATE`` is above 0. ``send_default_pii`` stays off: no
user ids, addresses or bodies leave the process.
"""

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.integrations.logging import LoggingIntegration
from sentry_sdk.integrations.redis import RedisIntegration


def init(*, dsn: str, environment: str, traces_sample_rate: float, release: str | None = None) -> None:
    """Start the SDK for this process. ``traces_sample_rate``: 0 (no traces) to 1 (every request and task)."""
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        traces_sample_rate=traces_sample_rate,
        send_default_pii=False,
        integrations=[
            DjangoIntegration(),
            CeleryIntegration(monitor_beat_tasks=True),
            RedisIntegration(),
            # Error log records become events too (e.g. "cache write lost"); INFO ones are breadcrumbs.
            LoggingIntegration(),
        ],
    )
