"""gunicorn's access log, cheaper: only the atoms ``access_log_format`` names (config/gunicorn.conf.py).

gunicorn's ``Logger.atoms()`` builds, for every request, a dict of every request header, every
response header and every WSGI environ variable (about 40 entries here) plus a ``strftime`` of the
time, whatever the format uses; our format uses five atoms. Measured with
``python bench/request_overhead.py`` (docs/performance.md, "Per-request overhead"). gunicorn has no
setting for this, hence the subclass (``logger_class``); what is logged is the same text.

Each line also carries the request's id as the field ``request_id`` (``None`` for a response Django
did not make: gunicorn's own framing errors), read from the response's ``REQUEST_ID_HEADER`` header
(``X-Request-ID``), which RequestIdMiddleware set (backend/observability/request_id.py): the same
id as the request's application log lines and the tasks it enqueued.
"""

import os
import traceback

from gunicorn.glogging import Logger

# The atoms of access_log_format (config/gunicorn.conf.py), each computed as gunicorn's Logger.atoms() does.
FORMAT = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms'


# The response header that holds the request id (config/settings/base.py, REQUEST_ID_HEADER), lowercased.
REQUEST_ID_HEADER = os.environ.get("REQUEST_ID_HEADER", "X-Request-ID").lower()


def response_request_id(resp) -> str | None:
    """The value of the response's request-id header, if it has one."""
    for name, value in resp.headers:
        if name.lower() == REQUEST_ID_HEADER:
            return value
    return None


class AccessLogger(Logger):
    @property
    def access_log_enabled(self) -> bool:
        """Whether ``accesslog`` is set (``GUNICORN_ACCESS_LOG``). gunicorn also counts a ``logconfig_dict`` as
        asking for it, and ours configures the ``gunicorn.access`` logger's JSON format either way."""
        return self.cfg.accesslog is not None

    def atoms(self, resp, req, environ, request_time):
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        return {
            "h": environ.get("REMOTE_ADDR", "-"),
            "r": f"{environ['REQUEST_METHOD']} {environ['RAW_URI']} {environ['SERVER_PROTOCOL']}",
            "s": status,
            "B": getattr(resp, "sent", None),
            "M": request_time.seconds * 1000 + request_time.microseconds // 1000,
        }

    def access(self, resp, req, environ, request_time):
        """gunicorn's ``Logger.access``, with the request id as an extra field of the record."""
        if not self.access_log_enabled:
            return
        safe_atoms = self.atoms_wrapper_class(self.atoms(resp, req, environ, request_time))
        try:
            self.access_log.info(
                self.cfg.access_log_format, safe_atoms, extra={"request_id": response_request_id(resp)}
            )
        except Exception:
            self.error(traceback.format_exc())
