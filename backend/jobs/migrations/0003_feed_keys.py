"""Job.city_key and Job.feed_key (the hot open-jobs feed's key ids, docs/caching.md); the open-jobs index on
(status, city_key, shift_start), which the ``?city=`` filter now reads."""

from django.db import migrations, models


def fill_keys(apps, schema_editor):
    from backend.jobs.models import FEED_ALL, city_key

    Job = apps.get_model("jobs", "Job")
    jobs = list(Job.objects.only("id", "city", "status"))
    for job in jobs:
        job.city_key = city_key(job.city)
        job.feed_key = FEED_ALL if job.status == "open" else None
    Job.objects.bulk_update(jobs, ["city_key", "feed_key"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [("jobs", "0002_my_lists_indexes")]

    operations = [
        migrations.AddField(
            model_name="job",
            name="city_key",
            field=models.BigIntegerField(editable=False, null=True, help_text="city_key(city): the city's feed key."),
        ),
        migrations.AddField(
            model_name="job",
            name="feed_key",
            field=models.SmallIntegerField(
                editable=False,
                null=True,
                help_text="FEED_ALL while the job is open (listed in the feed), else null.",
            ),
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="job",
            name="city_key",
            field=models.BigIntegerField(editable=False, help_text="city_key(city): the city's feed key."),
        ),
        migrations.RemoveIndex(model_name="job", name="job_status_city_start_idx"),
        migrations.AddIndex(
            model_name="job",
            index=models.Index(fields=["status", "city_key", "shift_start"], name="job_status_city_start_idx"),
        ),
    ]
