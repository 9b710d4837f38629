"""gunicorn's access log (config/gunicorn.conf.py, config/gunicorn_logging.py): the same line as gunicorn's own
logger writes, and none at all with ``GUNICORN_ACCESS_LOG=false``."""

import logging
import runpy
from datetime import timedelta
from pathlib import Path

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger

from config.gunicorn_logging import AccessLogger

CONF = Path(__file__).resolve().parents[2] / "config" / "gunicorn.conf.py"


class _Response:
    status = "201 Created"
    sent = 345
    headers = [("Content-Type", "application/json")]


class _Request:
    headers = [("HOST", "api.example.com"), ("USER-AGENT", "client/1")]


ENVIRON = {
    "REQUEST_METHOD": "POST",
    "RAW_URI": "/api/v1/jobs/?x=1",
    "PATH_INFO": "/api/v1/jobs/",
    "QUERY_STRING": "x=1",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "REMOTE_ADDR": "10.1.2.3",
}


def _logger(klass, monkeypatch, access_log: str):
    monkeypatch.setenv("GUNICORN_ACCESS_LOG", access_log)
    conf = runpy.run_path(str(CONF))
    cfg = Config()
    for key in ("accesslog", "access_log_format", "errorlog", "loglevel", "logconfig_dict"):
        cfg.set(key, conf[key])
    return klass(cfg)


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def _lines(logger) -> list[str]:
    """The access lines ``logger`` writes for one request (its configuration does not propagate to the root)."""
    collect = _Collect()
    access = logging.getLogger("gunicorn.access")
    access.addHandler(collect)
    try:
        logger.access(_Response, _Request, ENVIRON, timedelta(seconds=1, microseconds=234_567))
    finally:
        access.removeHandler(collect)
    return collect.lines


def test_the_line_is_gunicorn_s_own_for_the_configured_format(monkeypatch):
    ours = _lines(_logger(AccessLogger, monkeypatch, "true"))
    theirs = _lines(_logger(Logger, monkeypatch, "true"))

    assert ours == theirs == ['10.1.2.3 "POST /api/v1/jobs/?x=1 HTTP/1.1" 201 345 1234ms']


def test_off_writes_no_access_line(monkeypatch):
    logger = _logger(AccessLogger, monkeypatch, "false")

    assert logger.access_log_enabled is False
    assert _lines(logger) == []


def test_an_unknown_value_stops_start_up(monkeypatch):
    monkeypatch.setenv("GUNICORN_ACCESS_LOG", "sometimes")
    with pytest.raises(ValueError, match="GUNICORN_ACCESS_LOG must be true or false"):
        runpy.run_path(str(CONF))


def test_the_line_carries_the_response_s_request_id(monkeypatch):
    """The id RequestIdMiddleware put on the response (backend/observability/request_id.py) is a field of the record."""
    logger = _logger(AccessLogger, monkeypatch, "true")
    records = []
    collect = logging.Handler()
    collect.emit = records.append
    access = logging.getLogger("gunicorn.access")
    access.addHandler(collect)

    class WithId(_Response):
        headers = [("Content-Type", "application/json"), ("X-Request-ID", "req-0042")]

    try:
        logger.access(WithId, _Request, ENVIRON, timedelta(seconds=1))
        logger.access(_Response, _Request, ENVIRON, timedelta(seconds=1))  # gunicorn's own error pages have none
    finally:
        access.removeHandler(collect)
    assert [record.request_id for record in records] == ["req-0042", None]
