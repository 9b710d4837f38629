"""Project-wide error views, so that every error, even outside DRF, has the API's one JSON shape."""

from django.http import JsonResponse


def _error(status: int, type_: str, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"type": type_, "errors": [{"code": code, "detail": detail, "attr": None}]}, status=status)


def bad_request(request, exception=None):
    return _error(400, "client_error", "bad_request", "Bad request.")


def permission_denied(request, exception=None):
    return _error(403, "client_error", "permission_denied", "You do not have permission to perform this action.")


def not_found(request, exception=None):
    return _error(404, "client_error", "not_found", "Not found.")


def server_error(request):
    return _error(500, "server_error", "error", "A server error occurred.")
