"""Writes to reviews."""

from django.db import IntegrityError, transaction
from rest_framework.exceptions import PermissionDenied, ValidationError

from backend.accounts.models import User
from backend.common.errors import Conflict
from backend.common.validation import validate_field_values
from backend.jobs.models import Application, Job
from backend.ratings.models import Review


@transaction.atomic
def review_create(*, job: Job, reviewer: User, reviewee_id: int, rating: int, comment: str = "") -> Review:
    """Review the other side of a completed job: its client reviews an accepted worker, a worker the client.

    Only the job's client and its accepted workers can review it (403 for anyone else). Workers do not
    review each other and nobody reviews themselves (400). One review per job, reviewer and reviewee:
    the database's unique constraint refuses a second, which is a 409.

    ``job`` should come from ``selectors.job_for_review`` (client profile joined in): creating a
    review then costs one query for the job's accepted workers and the insert.
    """
    workers = {
        application.applicant_id: application.applicant
        for application in Application.objects.select_related("applicant__profile").filter(
            job=job, status=Application.Status.ACCEPTED
        )
    }
    if reviewer.pk == job.client_id:
        author, other_side = job.client, workers
    elif reviewer.pk in workers:
        author, other_side = workers[reviewer.pk], {job.client_id: job.client}
    else:
        raise PermissionDenied("Only the job's client and its accepted workers can review it.")
    if job.status != Job.Status.COMPLETED:
        raise Conflict("A job can be reviewed once it is completed.", code="job_not_completed")
    reviewee = other_side.get(reviewee_id) if reviewee_id != reviewer.pk else None
    if reviewee is None:
        raise ValidationError(
            {"reviewee": ["The client reviews an accepted worker of the job, a worker reviews the client."]},
            code="invalid",
        )

    review = Review(job=job, reviewer=author, reviewee=reviewee, rating=rating, comment=comment)
    validate_field_values(review)
    try:
        with transaction.atomic():
            review.save(force_insert=True)
    except IntegrityError as exc:
        # The only constraint left that the checks above do not cover: one review per job and pair.
        raise Conflict("You have already reviewed this user for this job.", code="already_reviewed") from exc
    return review
