"""The API's one error shape (drf-standardized-errors), extended to Django's model validation.

A database constraint violation becomes a 409. Every 4xx body is
``{"type": ..., "errors": [{"code": ..., "detail": ..., "attr": ...}]}``.
Services call ``full_clean()``, which raises Django's ``ValidationError``; it becomes a 400 here
instead of a 500. A database that cannot be reached (restarting, failing over, out of
connections) is a 503 ``service_unavailable`` with ``Retry-After``, in the same shape: the request
was fine, the service will be back. ``backend.common.views.server_error`` does the same for
requests outside DRF.
"""

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, InterfaceError, OperationalError
from drf_standardized_errors.handler import ExceptionHandler
from rest_framework import exceptions
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.settings import api_settings


class ApiExceptionHandler(ExceptionHandler):
    def get_response(self, exc, data):
        # An error is JSON even from a view that renders something else on success (the schema's
        # YAML, Swagger UI's HTML page): a 429 from /api/schema/ is the same shape as anywhere.
        request = self.context.get("request")
        renderer = getattr(request, "accepted_renderer", None)
        if request is not None and not isinstance(renderer, JSONRenderer | BrowsableAPIRenderer):
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
        return super().get_response(exc, data)

    def convert_known_exceptions(self, exc: Exception) -> Exception:
        if isinstance(exc, DjangoValidationError):
            if hasattr(exc, "error_dict"):
                detail = {
                    (api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field): messages
                    for field, messages in exc.message_dict.items()
                }
            else:
                detail = exc.messages
            return exceptions.ValidationError(detail)
        if isinstance(exc, RequestDataTooBig):
            return RequestTooLarge()
        if isinstance(exc, DATABASE_UNAVAILABLE):
            return ServiceUnavailable()
        if isinstance(exc, IntegrityError):
            # A database constraint refused the write (a concurrent request won a race the
            # service's own checks could not see). Nothing was written: the transaction rolled back.
            return Conflict("The request conflicts with data written at the same time; retry it.")
        return super().convert_known_exceptions(exc)


# What Django raises when the database cannot answer: a refused or lost connection
# (OperationalError), a connection already closed under the request (InterfaceError); also the
# server's own refusals (too many connections, shutting down, a cancelled statement).
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)


class ServiceUnavailable(exceptions.APIException):
    """The database is unreachable for the moment (a restart, a failover): retry shortly."""

    status_code = 503
    default_detail = "The service is temporarily unavailable; retry shortly."
    default_code = "service_unavailable"
    wait = 1  # seconds, sent as Retry-After


class Conflict(exceptions.APIException):
    """The request is valid but conflicts with the current state (a job no longer open, say)."""

    status_code = 409
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"


class RequestTooLarge(exceptions.APIException):
    """The request body is over ``DATA_UPLOAD_MAX_MEMORY_SIZE``: refused before it is parsed."""

    status_code = 413
    default_code = "request_too_large"

    def __init__(self):
        super().__init__(f"The request body is larger than the {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes allowed.")
