"""The measurement tooling: outside ``backend/``, never installed by production settings.

The product never imports it; it imports the product, and the tests import it.

Django app ``bench`` (installed by local, test and benchmark settings, ``config.settings.bench``):

- ``views``/``urls``: the floor endpoint ``/api/v1/ops/floor/`` (the framework's own cost).
- ``demo_data`` and ``manage.py seed_demo``: deterministic demo data (``make run``, the benchmark).
- ``manage.py bench`` (``make bench``), ``perf_report`` (every GET endpoint against its query
  budget, ``budgets``), ``measure_cachalot`` (cachalot's table choice) and ``explain_hot_reads``
  (EXPLAIN of the app's selectors, docs/indexes.md); ``runner`` runs the workload in-process
  through Django's test client (``perf_report``, ``measure_cachalot``).

Plain Python, importable without Django set up:

- ``workload``: the one workload every measurement uses.
- ``stack``: the Procfile's processes under honcho on databases of their own (the benchmark and the
  process tests of tests/deployment/ and tests/reliability/ share it).
- ``server_timing``: reading the ``Server-Timing`` header; ``staleness``: the judge of stale reads.
- ``harness``: one benchmark run (configurations, load generator, CPU accounting, results, report).
"""
