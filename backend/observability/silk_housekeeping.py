"""Profiling housekeeping: keep django-silk's recorded requests bounded.

silk can collect its own garbage inside requests (``SILKY_MAX_RECORDED_REQUESTS_CHECK_PERCENT``),
which makes a random request pay for deleting thousands of rows. The settings turn that off and
beat runs ``workers.profiling.collect_silk_garbage``, a thin task around ``collect_silk_garbage``
here, every ``SILK_GARBAGE_COLLECT_PERIOD`` seconds.
"""

import logging

from django.apps import apps

logger = logging.getLogger(__name__)


def collect_silk_garbage() -> int:
    """Delete all but the newest ``SILKY_MAX_RECORDED_REQUESTS`` recorded requests; returns how many went.

    A no-op (returns 0) where silk is not installed. Idempotent: a second run finds nothing to delete.
    """
    if not apps.is_installed("silk"):
        return 0
    from silk.models import Request

    before = Request.objects.count()
    Request.garbage_collect(force=True)  # what silk's `silk_request_garbage_collect` command runs
    removed = before - Request.objects.count()
    if removed:
        logger.info("silk garbage collection removed %d recorded requests", removed)
    return removed
