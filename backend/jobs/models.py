from hashlib import blake2b

from django.conf import settings
from django.db import models
from django.db.models import F, Q

# The hot key id of the marketplace-wide open-jobs feed (``jobs:open``, backend/jobs/hot_caches.py);
# a city's feed is keyed by its ``city_key``, never 0.
FEED_ALL = 0


def city_normal(city: str) -> str:
    """A city as the job list compares it: whitespace runs collapsed to one space, ends stripped,
    case folded (``str.casefold``, Unicode's full case folding: "Straße" and "STRASSE" are one city)."""
    return " ".join(city.split()).casefold()


def city_key(city: str) -> int:
    """A stable id for ``city_normal(city)``: the first 63 bits of its BLAKE2b-64 digest, from 1 to 2**63 - 1.

    Stored on each job (``Job.city_key``), read by the ``?city=`` filter, and the hot key id of the city's
    open-jobs feed, so the list, its filter and its invalidation share one definition and need no lookup
    table. Two different cities share a key with probability 2**-63 per pair (about 5e-8 among a million
    cities): they would be listed together, by the filter and the hot feed alike.
    """
    digest = int.from_bytes(blake2b(city_normal(city).encode(), digest_size=8).digest(), "big") >> 1
    return digest or 1


class Job(models.Model):
    """A paid shift posted by a client."""

    class Status(models.TextChoices):
        OPEN = "open"
        FILLED = "filled"
        IN_PROGRESS = "in_progress"
        COMPLETED = "completed"
        CANCELLED = "cancelled"

    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="jobs")
    title = models.CharField(max_length=200)
    description = models.TextField(max_length=10000, blank=True)
    city = models.CharField(max_length=80)
    address = models.CharField(max_length=255, blank=True)
    pay_rate = models.DecimalField(max_digits=10, decimal_places=2, help_text="Pay per hour.")
    shift_start = models.DateTimeField()
    shift_end = models.DateTimeField()
    slots = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Both set by save() from city and status: what the hot feed's declaration names as the ids of the
    # keys a change of this job makes stale (docs/caching.md, "Hot views").
    city_key = models.BigIntegerField(editable=False, help_text="city_key(city): the city's feed key.")
    feed_key = models.SmallIntegerField(
        null=True, editable=False, help_text="FEED_ALL while the job is open (listed in the feed), else null."
    )

    class Meta:
        ordering = ["shift_start", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(pay_rate__gt=0), name="job_pay_rate_positive"),
            models.CheckConstraint(condition=Q(shift_end__gt=F("shift_start")), name="job_shift_ends_after_start"),
            models.CheckConstraint(condition=Q(slots__gte=1), name="job_slots_at_least_one"),
            models.CheckConstraint(
                condition=Q(status__in=["open", "filled", "in_progress", "completed", "cancelled"]),
                name="job_status_valid",
            ),
        ]
        indexes = [
            # Open jobs list: WHERE status = 'open' [AND city_key = ?] ORDER BY shift_start, id.
            models.Index(fields=["status", "city_key", "shift_start"], name="job_status_city_start_idx"),
            models.Index(fields=["status", "shift_start"], name="job_status_start_idx"),
            # "Jobs I posted" (GET /api/v1/me/jobs/, backend.jobs.selectors.job_list_for_client):
            # WHERE client_id = ? ORDER BY created_at DESC, id DESC, read in index order.
            models.Index(fields=["client", "-created_at", "-id"], name="job_client_created_idx"),
            # The same with ?status=: WHERE client_id = ? AND status = ? ORDER BY created_at DESC, id DESC.
            models.Index(fields=["client", "status", "-created_at", "-id"], name="job_client_status_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        """Derives ``city_key`` and ``feed_key`` (and saves them with ``city`` or ``status`` under ``update_fields``).

        Writes past ``save()`` (``QuerySet.update(city=...)``) would leave them behind: services do not
        make them (tests/caching/test_write_path.py).
        """
        self.city_key = city_key(self.city)
        self.feed_key = FEED_ALL if self.status == self.Status.OPEN else None
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            fields = set(update_fields)
            fields |= {"city_key"} if "city" in fields else set()
            fields |= {"feed_key"} if "status" in fields else set()
            kwargs["update_fields"] = fields
        super().save(*args, **kwargs)


class Application(models.Model):
    """A worker's application to a job."""

    class Status(models.TextChoices):
        PENDING = "pending"
        ACCEPTED = "accepted"
        REJECTED = "rejected"
        WITHDRAWN = "withdrawn"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="applications")
    applicant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="applications")
    cover_note = models.TextField(max_length=2000, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["job", "applicant"], name="application_one_per_job_and_applicant"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "accepted", "rejected", "withdrawn"]),
                name="application_status_valid",
            ),
        ]
        indexes = [
            # A job with its applications, counted by status: WHERE job_id = ? GROUP BY status.
            # (The unique constraint above already indexes (job_id, applicant_id); this one also
            # covers the status so the counts are read from the index alone.)
            models.Index(fields=["job", "status"], name="application_job_status_idx"),
            # "My applications" (GET /api/v1/me/applications/, backend.jobs.selectors.application_list_for_worker):
            # WHERE applicant_id = ? ORDER BY created_at DESC, id DESC, read in index order.
            models.Index(fields=["applicant", "-created_at", "-id"], name="application_applicant_idx"),
            # The same with ?status=: WHERE applicant_id = ? AND status = ? ORDER BY created_at DESC, id DESC;
            # and ?upcoming=true: WHERE applicant_id = ? AND status = 'accepted', joined to the job's shift.
            models.Index(fields=["applicant", "status", "-created_at", "-id"], name="application_applicant_stat_idx"),
        ]

    def __str__(self) -> str:
        return f"Application {self.pk} to job {self.job_id}"
