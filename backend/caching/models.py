from django.db import models


class CacheOutage(models.Model):
    """A cache write that could not reach Redis (an invalidation, most likely).

    Stored in the database, which outlives both the outage and the process that saw it. While a
    row exists, entries still in Redis may be stale; recovery (``backend.caching.recovery.recover``,
    run by beat every few seconds and by the process whose circuit closes) invalidates every hot
    key and every cachalot table, then deletes the rows.
    """

    recorded_at = models.DateTimeField(auto_now_add=True)
    cache_alias = models.CharField(max_length=50)
    reason = models.CharField(max_length=255)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.cache_alias} outage at {self.recorded_at:%Y-%m-%d %H:%M:%S}"
