"""Benchmark runs: production settings plus the measurement tooling (the ``bench`` app).

The processes of a benchmark stack (``manage.py bench``, bench/stack.py) start with
``DJANGO_SETTINGS_MODULE=config.settings.bench``: everything production does, plus the floor
endpoint (``/api/v1/ops/floor/``, the framework's own cost) and the commands that seed demo data
and prepare a run (``seed_demo``, ``bench --dump-population``/``--prewarm``). Production itself
never installs ``bench`` (tests/deployment/test_production_settings.py).
"""

from .production import *  # noqa: F403
from .production import INSTALLED_APPS, env

INSTALLED_APPS = [*INSTALLED_APPS, "bench"]

# The benchmark's `ttl` peer (bench/ttl_peer.py): every hot view's route behind Django's per-view cache
# with the previous system's TTLs and no event-driven invalidation. Off unless a benchmark run turns it on.
TTL_PEER_CACHE = env.bool("TTL_PEER_CACHE", default=False)
if TTL_PEER_CACHE:
    ROOT_URLCONF = "bench.ttl_urls"
