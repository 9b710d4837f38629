"""Profiling housekeeping as a beat task, on the ``default`` queue (it is no cache work).

The logic is ``backend.observability.silk_housekeeping``; this module is the worker's interface to it.
"""

from celery import shared_task

from backend.observability import silk_housekeeping


@shared_task(name="workers.profiling.collect_silk_garbage", ignore_result=True, soft_time_limit=120, time_limit=180)
def collect_silk_garbage() -> int:
    """``silk_housekeeping.collect_silk_garbage``: how many recorded requests went (0 without silk). Idempotent."""
    return silk_housekeeping.collect_silk_garbage()
