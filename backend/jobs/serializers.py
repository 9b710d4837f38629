from decimal import Decimal

from rest_framework import serializers

from backend.common.input import InputSerializer
from backend.jobs.models import Application, Job

MAX_SLOTS = 100


class JobInputSerializer(InputSerializer):
    """A job's editable fields. Creating needs the required ones; an update (PATCH) sends any of them.

    Rules between fields (a start in the future, an end after the start, a shift of at most 24
    hours) are checked on the job as it will be saved: for an update, the fields sent together
    with the job's current values.
    """

    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=10000, required=False, allow_blank=True)
    city = serializers.CharField(max_length=80)
    address = serializers.CharField(max_length=255, required=False, allow_blank=True)
    pay_rate = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=Decimal("0.01"), help_text="Pay per hour, more than 0."
    )
    shift_start = serializers.DateTimeField(help_text="In the future.")
    shift_end = serializers.DateTimeField(help_text="After `shift_start`, at most 24 hours later.")
    slots = serializers.IntegerField(min_value=1, max_value=MAX_SLOTS, default=1, help_text="Workers wanted.")


class JobClientSerializer(serializers.Serializer):
    """The client who posted the job."""

    id = serializers.IntegerField(source="client_id", read_only=True)
    display_name = serializers.CharField(source="client_display_name", read_only=True)


class JobApplicationCountsSerializer(serializers.Serializer):
    """How many applications the job has: pending, accepted, and in total (every status)."""

    pending = serializers.IntegerField(source="applications_pending", read_only=True)
    accepted = serializers.IntegerField(source="applications_accepted", read_only=True)
    total = serializers.IntegerField(source="applications_total", read_only=True)


class JobListOutputSerializer(serializers.ModelSerializer):
    client = JobClientSerializer(source="*", read_only=True)

    class Meta:
        model = Job
        fields = ["id", "title", "city", "pay_rate", "shift_start", "shift_end", "slots", "status", "client"]
        read_only_fields = fields


class JobDetailOutputSerializer(serializers.ModelSerializer):
    """A job with its client summary and application counts. ``pay_rate`` is pay per hour."""

    client = JobClientSerializer(source="*", read_only=True)
    applications = JobApplicationCountsSerializer(source="*", read_only=True)
    slots_remaining = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "id",
            "title",
            "description",
            "city",
            "address",
            "pay_rate",
            "shift_start",
            "shift_end",
            "slots",
            "slots_remaining",
            "status",
            "client",
            "applications",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_slots_remaining(self, obj: Job) -> int:
        """Slots not yet taken by an accepted application."""
        return max(obj.slots - obj.applications_accepted, 0)


class ApplicationCreateInputSerializer(InputSerializer):
    cover_note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ApplicantSerializer(serializers.Serializer):
    """The worker who applied."""

    id = serializers.IntegerField(source="applicant_id", read_only=True)
    display_name = serializers.CharField(source="applicant_display_name", read_only=True)


class ApplicationOutputSerializer(serializers.ModelSerializer):
    job_id = serializers.IntegerField(read_only=True)
    applicant = ApplicantSerializer(source="*", read_only=True)

    class Meta:
        model = Application
        fields = ["id", "job_id", "applicant", "cover_note", "status", "created_at", "updated_at"]
        read_only_fields = fields


# --- the caller's own lists ----------------------------------------------------------------------------------


class MyApplicationJobClientSerializer(serializers.Serializer):
    """The client who posted the job."""

    id = serializers.IntegerField(source="job.client_id", read_only=True)
    display_name = serializers.CharField(source="client_display_name", read_only=True)


class MyApplicationJobSerializer(serializers.Serializer):
    """The job applied to, as a worker's list shows it: what, where, when, for how much, and whose."""

    id = serializers.IntegerField(source="job_id", read_only=True)
    title = serializers.CharField(source="job.title", read_only=True)
    city = serializers.CharField(source="job.city", read_only=True)
    shift_start = serializers.DateTimeField(source="job.shift_start", read_only=True)
    shift_end = serializers.DateTimeField(source="job.shift_end", read_only=True)
    pay_rate = serializers.DecimalField(
        source="job.pay_rate", max_digits=10, decimal_places=2, read_only=True, help_text="Pay per hour."
    )
    status = serializers.ChoiceField(
        source="job.status", choices=Job.Status.choices, read_only=True, help_text="The job's status."
    )
    client = MyApplicationJobClientSerializer(source="*", read_only=True)


class MyApplicationOutputSerializer(serializers.ModelSerializer):
    """One of my applications, with the job it is for. ``status`` is the application's own."""

    job = MyApplicationJobSerializer(source="*", read_only=True)

    class Meta:
        model = Application
        fields = ["id", "status", "job", "cover_note", "created_at", "updated_at"]
        read_only_fields = fields


class MyJobApplicationCountsSerializer(serializers.Serializer):
    """How many applications the job has in each status, and in total."""

    pending = serializers.IntegerField(source="applications_pending", read_only=True)
    accepted = serializers.IntegerField(source="applications_accepted", read_only=True)
    rejected = serializers.IntegerField(source="applications_rejected", read_only=True)
    withdrawn = serializers.IntegerField(source="applications_withdrawn", read_only=True)
    total = serializers.SerializerMethodField()

    def get_total(self, obj: Job) -> int:
        """Applications in every status."""
        return sum(getattr(obj, f"applications_{status}") for status in Application.Status.values)


class MyJobOutputSerializer(serializers.ModelSerializer):
    """One of the jobs I posted, with its applications counted by status. ``pay_rate`` is pay per hour."""

    slots_filled = serializers.SerializerMethodField()
    applications = MyJobApplicationCountsSerializer(source="*", read_only=True)

    class Meta:
        model = Job
        fields = [
            "id",
            "title",
            "city",
            "pay_rate",
            "shift_start",
            "shift_end",
            "slots",
            "slots_filled",
            "status",
            "applications",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_slots_filled(self, obj: Job) -> int:
        """Slots taken by an accepted application (at most ``slots``)."""
        return min(obj.applications_accepted, obj.slots)
