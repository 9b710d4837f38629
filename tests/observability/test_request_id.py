"""Request ids in one process (backend/observability/request_id.py): which ids are taken from the
header, what replaces the others, the id on log records and the response, and eager tasks.

The same id across gunicorn's access line, Django's lines and a real worker's lines is tested
against the Procfile's processes in tests/deployment/test_api_client.py.
"""

import io
import logging
import uuid

import pytest
from django.test import override_settings

from backend.observability.request_id import RequestIdFilter, is_valid

pytestmark = pytest.mark.django_db

HOSTILE = {
    "too long": "a" * 65,
    "newline": "abc\ninjected=1",
    "non-ASCII": "café-42",
    "space and quote": 'abc "def"',
    "control character": "abc\x1b[31m",
    "leading separator": "-abc",
}


# The loggers whose lines these tests read. On their own loggers, not the root: a process's first
# Celery task sets Django up again (Celery's Django fix-up), which reconfigures the root's handlers.
LOGGERS = ("django.request", "backend.observability.request_id", "workers.cache")


@pytest.fixture
def log_output():
    """What ``LOGGERS`` log while the test runs, formatted with the request id, as a string."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s [%(request_id)s] %(message)s"))
    loggers = [logging.getLogger(name) for name in LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


@pytest.mark.parametrize("value", ["0f8fad5b-d9cb-469f-a165-70867728950e", "req.42:abc_def-1", "A" * 64, "7"])
def test_well_formed_ids_are_accepted(value):
    assert is_valid(value)


@pytest.mark.parametrize("value", [*HOSTILE.values(), ""])
def test_ill_formed_ids_are_refused(value):
    assert not is_valid(value)


def test_a_given_id_is_returned_and_on_the_request_s_log_lines(api_client, log_output):
    # A 404: Django's own django.request warning is a line the request writes.
    response = api_client.get("/api/v1/jobs/999999/", HTTP_X_REQUEST_ID="client-req-0001")

    assert response.status_code == 404
    assert response["X-Request-ID"] == "client-req-0001"
    lines = [line for line in log_output.getvalue().splitlines() if line.startswith("WARNING django.request")]
    assert lines == ["WARNING django.request [client-req-0001] Not Found: /api/v1/jobs/999999/"]


def test_without_a_header_each_request_gets_a_new_uuid(api_client):
    first = api_client.get("/healthz")["X-Request-ID"]
    second = api_client.get("/healthz")["X-Request-ID"]

    assert first != second
    assert str(uuid.UUID(first)) == first
    assert str(uuid.UUID(second)) == second


@pytest.mark.parametrize("kind", HOSTILE)
def test_a_hostile_id_is_replaced_and_never_logged(api_client, log_output, kind):
    value = HOSTILE[kind]
    response = api_client.get("/api/v1/jobs/999999/", HTTP_X_REQUEST_ID=value)

    replacement = response["X-Request-ID"]
    assert replacement != value
    assert str(uuid.UUID(replacement)) == replacement
    output = log_output.getvalue()
    assert value not in output
    assert (
        f"WARNING backend.observability.request_id [{replacement}] X-Request-ID refused ({len(value)} characters"
        in (output)
    )
    assert f"WARNING django.request [{replacement}] Not Found" in output


@override_settings(REQUEST_ID_TRUST_HEADER=False)
def test_an_untrusted_header_is_replaced_silently(api_client, log_output):
    response = api_client.get("/healthz", HTTP_X_REQUEST_ID="client-req-0002")

    assert response["X-Request-ID"] != "client-req-0002"
    assert "client-req-0002" not in log_output.getvalue()


@pytest.mark.django_db(transaction=True)  # the commit, and so the rebuild, happens inside the request
@override_settings(HOT_CACHE_REBUILD_MIN_POPULARITY=0.0, HOT_CACHE_WORKER_REBUILD=True)
def test_an_eager_task_keeps_the_request_s_id(client_for, user, log_output, settings):
    """Embedded default: the rebuild runs inside the request; its lines and the response keep the request's id."""
    assert settings.CELERY_TASK_ALWAYS_EAGER
    response = client_for(user).patch(
        "/api/v1/me/profile/", {"city": "Abuja"}, format="json", HTTP_X_REQUEST_ID="write-0003"
    )

    assert response.status_code == 200, response.content
    assert response["X-Request-ID"] == "write-0003"
    rebuilt = [line for line in log_output.getvalue().splitlines() if " workers.cache " in line]
    assert rebuilt, log_output.getvalue()
    assert all("[write-0003] hot cache rebuilt" in line for line in rebuilt), log_output.getvalue()
