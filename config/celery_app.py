"""The Celery application: reads ``CELERY_*`` settings from Django; task modules are listed in ``CELERY_IMPORTS``."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("paeshift")
app.config_from_object("django.conf:settings", namespace="CELERY")
