"""gunicorn's access log, cheaper: only the atoms ``access_log_format`` names (config/gunicorn.conf.py).

gunicorn's ``Logger.atoms()`` builds, for every request, a dict of every request header, every
response header and every WSGI environ variable (about 40 entries here) plus a ``strftime`` of the
time, whatever the format uses; our format uses five atoms. Measured with
``python bench/request_overhead.py`` (docs/performance.md, "Per-request overhead"). gunicorn has no
setting for this, hence the subclass (``logger_class``); what is logged is the same text.
"""

from gunicorn.glogging import Logger

# The atoms of access_log_format (config/gunicorn.conf.py), each computed as gunicorn's Logger.atoms() does.
FORMAT = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms'


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
