"""gunicorn settings for the Procfile's ``web`` process (https://docs.gunicorn.org/en/stable/settings.html)."""

import os

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
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms'
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
