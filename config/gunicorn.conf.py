"""gunicorn settings for the Procfile's ``web`` process (https://docs.gunicorn.org/en/stable/settings.html)."""

import json
import os
from http import HTTPStatus

from gunicorn import util

from config.gunicorn_logging import FORMAT

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# Requests are short; a worker stuck longer than this is killed and replaced.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On SIGTERM, finish in-flight requests for up to this long (the platform kills at 30 s).
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = 100
# The access log: one JSON line per request on stdout. GUNICORN_ACCESS_LOG=false turns it off where the
# platform's router logs every request already (Heroku, Render, Fly, Cloud Run, an ALB with access
# logs): measured at a tenth of /healthz's time per request (docs/performance.md, "Per-request overhead").
_access_log = os.environ.get("GUNICORN_ACCESS_LOG", "true").lower()
if _access_log not in ("true", "false"):
    raise ValueError(f"GUNICORN_ACCESS_LOG must be true or false, not {_access_log!r}")
accesslog = "-" if _access_log == "true" else None
# Builds only the atoms the format uses (config/gunicorn_logging.py), not every header and environ key.
logger_class = "config.gunicorn_logging.AccessLogger"
access_log_format = FORMAT
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# One JSON object per line on stdout, like the application's own logs (config/settings/production.py).
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(process)d %(message)s",
            "rename_fields": {"levelname": "level", "name": "logger", "process": "pid"},
            "timestamp": "time",
        }
    },
    "handlers": {"stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "json"}},
    "root": {"level": "INFO", "handlers": ["stdout"]},
    "loggers": {
        "gunicorn.error": {"level": loglevel.upper(), "handlers": ["stdout"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["stdout"], "propagate": False},
    },
}
# Import the app before forking, so workers share memory and start fast.
preload_app = True
# No runtime control socket ($HOME/.gunicorn/gunicorn.ctl): the platform manages processes with
# signals, and two servers on one machine (a test beside `make up`) would share its path.
control_socket_disable = True
# The heartbeat file of each worker: in memory where there is /dev/shm (containers), so a slow
# disk cannot make a healthy worker look stuck.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"


# Errors gunicorn answers itself, before Django sees the request (a request line over
# limit_request_line: 414; more than limit_request_fields headers or one over
# limit_request_field_size: 431; two Content-Length headers, Content-Length with
# Transfer-Encoding, chunked HTTP/1.0: 400; an unknown transfer coding: 501), in the API's JSON
# error shape instead of gunicorn's HTML page. gunicorn has no setting for this: its workers call
# gunicorn.util.write_error, replaced here (checked by tests/deployment/test_request_framing.py,
# so a gunicorn upgrade that stops calling it fails the build). An unknown transfer coding is the
# client's framing, like the others, so it is a 400 here (RFC 9112 section 6.1 suggests 501, which
# alerting would count as a server fault). The limits are gunicorn's defaults, in docs/deployment.md.
_GUNICORN_STATUS = {501: 400}
_GUNICORN_CODES = {
    400: "bad_request",
    403: "permission_denied",
    414: "request_line_too_long",
    417: "expectation_failed",
    431: "request_headers_too_large",
}


def _write_json_error(sock, status_int, reason, mesg):
    status = _GUNICORN_STATUS.get(status_int, status_int)
    body = json.dumps(
        {
            "type": "client_error" if status < 500 else "server_error",
            "errors": [{"code": _GUNICORN_CODES.get(status, "error"), "detail": mesg or reason, "attr": None}],
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


util.write_error = _write_json_error
