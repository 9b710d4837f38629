"""Is beat alive? Beat notes the time each time it sends a task; readiness and ``/metrics`` read it.

Exactly one beat must run (refresh-ahead, outage replay, silk's garbage collection), and nothing
else notices when it dies: the worker stays idle, the web keeps serving. Beat's own process sends
the tasks of its schedule, so a ``before_task_publish`` handler connected only in that process
(on ``beat_init``) writes ``ops:beat:last_publish`` each time. Its fastest entry, the outage
replay (``CACHE_RECOVERY_PERIOD``, 3 s), makes that a heartbeat every few seconds, independent of
the worker (a task that was sent but not run still shows beat alive; the queue depth shows the
rest). ``BEAT_HEARTBEAT_MAX_AGE`` seconds without one and ``/readyz`` warns ``beat_stale``: a
warning, not a failure, since web processes must not leave the load balancer because beat died.
"""

import threading
import time

from celery.signals import beat_init, before_task_publish
from django.conf import settings

from backend.ops import ops_store

STALE = "beat_stale"


def record_publish(at: float | None = None, **kwargs) -> None:
    """Note that beat sent a task (now, or at Unix time ``at``); best effort: a heartbeat lost to a
    Redis outage is followed by the next one."""
    now = time.time() if at is None else at
    if not ops_store.uses_redis():
        ops_store.local.beat = now
        return
    ops_store.call(lambda client: client.set(ops_store.BEAT_KEY, repr(now)), None)


def _connect_in_beat(**kwargs) -> None:
    before_task_publish.connect(record_publish, dispatch_uid="backend.ops.beat_heartbeat", weak=False)


def connect() -> None:
    """Arrange for beat (and only beat) to write the heartbeat. Called by the ops app's ``ready()``."""
    beat_init.connect(_connect_in_beat, dispatch_uid="backend.ops.beat_heartbeat.init", weak=False)


def last_publish() -> float | None:
    """Unix time (seconds) at which beat last sent a task; None when never seen or Redis is unreachable."""
    if not ops_store.uses_redis():
        return ops_store.local.beat
    raw = ops_store.call(lambda client: client.get(ops_store.BEAT_KEY), None)
    return float(raw) if raw is not None else None


_memo_lock = threading.Lock()
_memo: dict[str, float | None] = {}


# A process that has never seen a heartbeat gives beat this long from its own start: web and beat start
# together on a deploy, and beat sends its first task a period after it starts.
_process_started = time.time()


def readiness_warnings() -> list[str]:
    """``["beat_stale"]`` when beat has sent nothing for ``BEAT_HEARTBEAT_MAX_AGE`` seconds (never
    anything: for that long since this process started).

    Nothing where no beat is expected: tasks run eagerly (the embedded default), or the check is
    off (``BEAT_HEARTBEAT_MAX_AGE`` 0). Redis is asked at most once per ``READINESS_CACHE_SECONDS``
    per process, like the probes (``/readyz`` is anonymous).
    """
    if settings.CELERY_TASK_ALWAYS_EAGER or settings.BEAT_HEARTBEAT_MAX_AGE <= 0:
        return []
    with _memo_lock:
        now = time.monotonic()
        if "at" not in _memo or now - _memo["at"] >= settings.READINESS_CACHE_SECONDS:
            _memo.update(at=now, last=last_publish())
        last = _memo["last"]
    if time.time() - (last if last is not None else _process_started) > settings.BEAT_HEARTBEAT_MAX_AGE:
        return [STALE]
    return []
