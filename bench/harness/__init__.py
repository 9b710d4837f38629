"""``manage.py bench``: the whole stack under the workload, configurations side by side.

- ``configs``: what each configuration switches (cachalot, hot caches, silk, processes).
- ``stack``: the services it runs against (a PostgreSQL database, two Redis databases) and the
  processes it starts (gunicorn, a Celery worker, beat).
- ``locustfile``: the load generator (locust, in its own process, without Django).
- ``metrics`` and ``staleness``: what the load generator counts per response.
- ``results`` and ``report``: figures, targets, ``results.json``, the README and the charts.
- ``driver``: one run from start to end.

Nothing here imports Django at module level except ``driver`` and ``stack``, so the load
generator stays a plain locust process.
"""
