"""Beat's schedule names real tasks, routed to the cache queue."""

from django.conf import settings

from config.celery_app import app


def test_every_scheduled_task_is_registered_and_routed_to_its_queue():
    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks, entry["task"]
        # cache work on the cache queue; housekeeping (silk's garbage collection) on the default one
        expected = "default" if entry["task"].startswith("workers.profiling.") else "cache"
        assert app.amqp.router.route({}, entry["task"])["queue"].name == expected


def test_rebuild_task_is_safe_to_redeliver():
    task = app.tasks["workers.cache.rebuild_hot_key"]

    assert task.acks_late is True
    assert task.reject_on_worker_lost is True
    assert (task.soft_time_limit, task.time_limit) == (10, 15)
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
