"""Unknown query parameters are refused (400), so a misspelt filter never silently returns everything.

``GET /api/v1/users/7/payments/?stauts=pending`` would otherwise list every payment as if it had
been filtered. Each of the API's views accepts exactly the parameters its schema documents: its
filters, ``page`` and ``page_size`` on paginated lists, and DRF's ``format`` everywhere. Views
that are not the API's own (the admin, the schema and its docs, silk) are left alone.
"""

import functools

from django.http import JsonResponse
from rest_framework.settings import api_settings

UNKNOWN_PARAMETER = "unknown_parameter"


def is_api_view(view_class) -> bool:
    return view_class is not None and view_class.__module__.startswith("backend.")


@functools.cache
def allowed_query_parameters(view_class) -> frozenset[str]:
    allowed = {api_settings.URL_FORMAT_OVERRIDE}
    paginator = getattr(view_class, "pagination_class", None)
    if paginator is not None and hasattr(view_class, "list"):
        allowed |= {paginator.page_query_param, paginator.page_size_query_param}
    filterset = getattr(view_class, "filterset_class", None)
    if filterset is not None:
        allowed |= set(filterset.base_filters)
    return frozenset(name for name in allowed if name)


class UnknownQueryParametersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        view_class = getattr(view_func, "view_class", None)
        if not request.GET or not is_api_view(view_class):
            return None
        unknown = sorted(set(request.GET) - allowed_query_parameters(view_class))
        if not unknown:
            return None
        errors = [
            {"code": UNKNOWN_PARAMETER, "detail": f"Unknown query parameter: {name}.", "attr": None} for name in unknown
        ]
        return JsonResponse({"type": "validation_error", "errors": errors}, status=400)
