"""Profiling housekeeping: keep django-silk's recorded requests bounded.

silk can collect its own garbage inside requests (``SILKY_MAX_RECORDED_REQUESTS_CHECK_PERCENT``),
which makes a random request pay for deleting thousands of rows. The settings turn that off and
beat runs this task instead, on the ``default`` queue (it is no cache work).
"""

import logging

from celery import shared_task
from django.apps import apps

logger = logging.getLogger(__name__)


@shared_task(name="workers.profiling.collect_silk_garbage", ignore_result=True, soft_time_limit=120, time_limit=180)
def collect_silk_garbage() -> int:
    """Delete all but the newest ``SILKY_MAX_RECORDED_REQUESTS`` recorded requests; returns how many went.

    A no-op (returns 0) where silk is not installed. Idempotent: a second run finds nothing to delete.
    """
    if not apps.is_installed("silk"):
        return 0
    from silk.models import Request  # here: silk is installed only where the settings enable it

    before = Request.objects.count()
    Request.garbage_collect(force=True)  # what silk's `silk_request_garbage_collect` command runs
    removed = before - Request.objects.count()
    if removed:
        logger.info("silk garbage collection removed %d recorded requests", removed)
    return removed
