"""``manage.py bench``: the whole stack under the workload, configurations side by side.

- ``configs``: what each configuration switches (cachalot, hot caches, silk, processes).
- ``services``: what it runs against (a PostgreSQL server where it creates its databases, two Redis
  databases); the processes are the Procfile's, started by ``bench.stack``.
- ``locustfile``: the load generator (locust, in its own process, without Django).
- ``metrics`` (with ``bench.server_timing`` and ``bench.staleness``): what the load generator
  counts per response.
- ``cpu`` and ``profile``: where the machine's time went during the measured window.
- ``results`` and ``report``: figures, targets, ``results.json``, the README and the charts.
- ``driver``: one run from start to end.

Nothing here imports Django, so the load generator stays a plain locust process.
"""
