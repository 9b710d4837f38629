"""Request ids: one id per request, in every log line it causes, in its response, and in the Celery tasks it enqueued.

- **Web.** ``RequestIdMiddleware`` (right after ``SecurityMiddleware``) takes the id from the
  ``REQUEST_ID_HEADER`` request header (``X-Request-ID``) when ``REQUEST_ID_TRUST_HEADER`` is on and
  the value is well-formed (``REQUEST_ID_PATTERN``: 1 to 64 of ``A-Z a-z 0-9 . _ : -``, starting with
  a letter or digit; a UUID is one), and otherwise generates a UUID4. A refused value is never
  logged: the warning says its length and the id that replaced it. The id is kept in django-guid's
  context variable (the library does the header, the generation and the response header: the same
  header name, on every response Django makes) and cleared when the request finishes.
- **Log lines.** ``RequestIdFilter`` on the logging handlers puts ``request_id`` on every record
  (``null`` outside a request or task): a field of its own in the JSON lines, ``[id]`` in the plain
  format. gunicorn's access line takes it from the response header (config/gunicorn_logging.py), so
  it needs no context once Django is done.
- **Tasks.** A ``before_task_publish`` handler copies the id into the message's headers
  (``TASK_HEADER``); in the worker ``task_prerun`` adopts it (or generates one for a task nobody's
  request sent: beat's schedule) and ``task_postrun`` clears it. The one rebuild message a
  transaction sends is published from its ``on_commit`` callback, inside the request that committed,
  so it carries that request's id (backend/caching/invalidation.py). A task run eagerly
  (``CELERY_TASK_ALWAYS_EAGER``, the embedded default) runs inside the request and keeps its id:
  django-guid's own Celery integration would replace it there and clear it for the rest of the
  request, hence these three handlers of our own.

docs/operations.md, "Request ids".
"""

import logging
import re
import uuid

from celery.signals import before_task_publish, task_postrun, task_prerun
from django.conf import settings
from django_guid.context import guid
from django_guid.middleware import guid_middleware

logger = logging.getLogger(__name__)

# What an id from outside may look like: bounded, ASCII letters, digits and a few separators, so
# it cannot break a log line (no newline, quote or control character) or fill one.
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
# The message header that carries the id to the worker (a Celery custom header: ``task.request.<name>``).
TASK_HEADER = "x_request_id"


def is_valid(value: str) -> bool:
    """Whether ``value`` may be used as a request id as it is (``REQUEST_ID_PATTERN``, whole)."""
    return REQUEST_ID_PATTERN.fullmatch(value) is not None


def new_id() -> str:
    """A fresh request id: a UUID4 in its 36-character form."""
    return str(uuid.uuid4())


def current() -> str | None:
    """The id of the request or task this code runs in (None outside one)."""
    return guid.get()


def _meta_key(header: str) -> str:
    return "HTTP_" + header.upper().replace("-", "_")


class RequestIdMiddleware:
    """Screens the incoming id, then hands over to django-guid's middleware (the id, the response header)."""

    def __init__(self, get_response) -> None:
        self.inner = guid_middleware(get_response)
        self.header = settings.REQUEST_ID_HEADER
        self.meta_key = _meta_key(self.header)
        self.trust = settings.REQUEST_ID_TRUST_HEADER

    def __call__(self, request):
        given = request.META.get(self.meta_key)
        if given is not None and not (self.trust and is_valid(given)):
            # django-guid takes the header as it is (VALIDATE_GUID off): put the id to use there.
            request.META[self.meta_key] = replacement = new_id()
            if self.trust:
                logger.warning(
                    "%s refused (%d characters, not 1-64 of A-Z a-z 0-9 . _ : -); this request's id is %s",
                    self.header,
                    len(given),
                    replacement,
                    extra={"request_id": replacement},
                )
        return self.inner(request)


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record: the current request's or task's id, unless the record has one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = guid.get()
        return True


def _carry(headers=None, **kwargs) -> None:
    request_id = guid.get()
    if request_id is not None and headers is not None:
        headers[TASK_HEADER] = request_id


def _adopt(task=None, **kwargs) -> None:
    if task is None or task.request.is_eager:
        return  # run inside the request (or task) that sent it: keep its id
    given = task.request.get(TASK_HEADER)
    guid.set(given if isinstance(given, str) and is_valid(given) else new_id())


def _clear(task=None, **kwargs) -> None:
    if task is not None and not task.request.is_eager:
        guid.set(None)


def connect() -> None:
    """Carry ids through Celery messages. Called by the ops app's ``ready()`` (web, worker and beat)."""
    before_task_publish.connect(_carry, dispatch_uid="backend.observability.request_id.carry", weak=False)
    task_prerun.connect(_adopt, dispatch_uid="backend.observability.request_id.adopt", weak=False)
    task_postrun.connect(_clear, dispatch_uid="backend.observability.request_id.clear", weak=False)
