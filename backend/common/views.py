"""Project-wide error views, so that every error, even outside DRF, has the API's one JSON shape."""

import sys

from django.http import JsonResponse

from backend.common.errors import DATABASE_UNAVAILABLE, ServiceUnavailable


def _error(status: int, type_: str, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"type": type_, "errors": [{"code": code, "detail": detail, "attr": None}]}, status=status)


def bad_request(request, exception=None):
    return _error(400, "client_error", "bad_request", "Bad request.")


def permission_denied(request, exception=None):
    return _error(403, "client_error", "permission_denied", "You do not have permission to perform this action.")


def not_found(request, exception=None):
    return _error(404, "client_error", "not_found", "Not found.")


def server_error(request):
    # Django calls this while handling the exception, so it is still the current one.
    if isinstance(sys.exc_info()[1], DATABASE_UNAVAILABLE):
        response = _error(503, "server_error", ServiceUnavailable.default_code, str(ServiceUnavailable.default_detail))
        response["Retry-After"] = str(ServiceUnavailable.wait)
        return response
    return _error(500, "server_error", "error", "A server error occurred.")
