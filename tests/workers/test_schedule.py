"""The worker's interface: task names that never change, routed by name, and beat's schedule."""

import os
import subprocess
import sys
import textwrap

import pytest
from django.conf import settings

from config.celery_app import app

# Every task the worker runs, by the name queued messages carry, and its queue. A rename or a
# move would leave the messages queued during a deploy without a task: add names, never change them.
TASKS = {
    "workers.cache.rebuild_hot_key": "cache",
    "workers.cache.rebuild_hot_keys": "cache",
    "workers.cache.refresh_hot_keys": "cache",
    "workers.cache.recover_cache": "cache",
    "workers.cache.decay_popularity": "cache",
    "workers.profiling.collect_silk_garbage": "default",
}


def test_the_registered_task_names_are_the_published_ones():
    app.loader.import_default_modules()

    registered = {name for name in app.tasks if not name.startswith(("celery.", "tests."))}

    assert registered == set(TASKS)


def test_a_process_that_never_imported_workers_finds_the_rebuild_task_by_name():
    """backend/ enqueues by name; the app registers CELERY_IMPORTS' tasks when it is first used, so a
    web process runs the registered task (eagerly without a broker) instead of publishing blind."""
    script = textwrap.dedent(
        """
        import sys
        import django
        django.setup()
        from celery import current_app
        assert "workers.cache" not in sys.modules, "imported before any enqueue"
        task = current_app.signature("workers.cache.rebuild_hot_key", args=("profile:user", 1)).type
        print(task.name, type(task).__module__, "workers.cache" in sys.modules)
        """
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    env.pop("REDIS_URL", None)
    env.pop("DATABASE_URL", None)

    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["workers.cache.rebuild_hot_key", "workers.cache", "True"]


def test_every_task_is_routed_by_its_name_to_its_queue():
    assert set(settings.CELERY_TASK_ROUTES) == set(TASKS)  # names, no module globs
    for name, queue in TASKS.items():
        assert app.amqp.router.route({}, name)["queue"].name == queue, name


def test_every_scheduled_task_is_a_published_one():
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in TASKS, entry["task"]


@pytest.mark.parametrize(
    ("name", "limits"), [("workers.cache.rebuild_hot_key", (10, 15)), ("workers.cache.rebuild_hot_keys", (30, 45))]
)
def test_rebuild_task_is_safe_to_redeliver(name, limits):
    task = app.tasks[name]

    assert task.acks_late is True
    assert task.reject_on_worker_lost is True
    assert (task.soft_time_limit, task.time_limit) == limits
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
