"""The Celery application: reads ``CELERY_*`` settings from Django; task modules are listed in ``CELERY_IMPORTS``."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("paeshift")
app.config_from_object("django.conf:settings", namespace="CELERY")


@app.on_after_finalize.connect
def _import_task_modules(sender: Celery, **kwargs) -> None:
    """Register the tasks of ``CELERY_IMPORTS`` in every process that uses the app, not only in workers.

    ``backend/`` enqueues by task name and never imports ``workers/``; a signature of a registered
    task runs it in this process under ``CELERY_TASK_ALWAYS_EAGER`` (the embedded default), where an
    unregistered name would be published to the broker instead. The app is finalized on first use
    (a signature's task lookup), after Django is set up; Celery's Django fix-up sets it up first in
    the worker and beat.
    """
    sender.loader.import_default_modules()
