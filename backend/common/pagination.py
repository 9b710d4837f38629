"""Pagination shared by every list endpoint: 20 a page by default, at most 100.

``next``/``previous`` are links relative to the host (``/api/v1/...?page=2``) and, for views that
declare a canonical path, point at the canonical path even when the request came through a
legacy twin. A response is then the same bytes whatever host name or path alias the client
used, which is what lets the hot caches keep one rendered body per key.
"""

from django.core.paginator import InvalidPage, Paginator
from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.utils.urls import remove_query_param, replace_query_param

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


class PageNumberPagination(pagination.PageNumberPagination):
    """``?page=N&page_size=M``; a page past the end (or not a page number) is a 404.

    A ``page_size`` over the maximum gives the maximum; one that is not a whole number of at
    least 1 is a 400 (DRF alone would silently use the default).
    """

    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    page_query_description = "A page number, from 1; a page past the last one is a 404."
    page_size_query_description = (
        f"Results per page: {DEFAULT_PAGE_SIZE} by default, at most {MAX_PAGE_SIZE} (a larger number "
        f"gives {MAX_PAGE_SIZE}); anything but a whole number of at least 1 is a 400."
    )

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
            raise ValidationError(
                {self.page_size_query_param: ["A whole number of at least 1 is required."]}, code="invalid"
            )
        return min(int(raw), self.max_page_size)

    def get_schema_operation_parameters(self, view) -> list[dict]:
        """DRF's two parameters with the bounds the server applies: both are whole numbers of at least 1
        (``page=0`` is a 404 like any page past the end, ``page_size=0`` a 400)."""
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
        return parameters

    def get_paginated_response_schema(self, schema: dict) -> dict:
        """DRF's page envelope, with ``next``/``previous`` documented as what they are: references
        relative to the host (``/api/v1/jobs/?page=2``), not absolute URIs (see the module docstring)."""
        envelope = super().get_paginated_response_schema(schema)
        for name, page in (("next", 3), ("previous", 1)):
            envelope["properties"][name] = {
                "type": "string",
                "nullable": True,
                "format": "uri-reference",
                "pattern": "^/",
                "description": f"The {name} page, as a path and query relative to this host; null on the "
                f"{'last' if name == 'next' else 'first'} page.",
                "example": f"/api/v1/jobs/?{self.page_query_param}={page}",
            }
        envelope["required"] = ["count", "next", "previous", "results"]
        return envelope

    def paginate_queryset(self, queryset, request, view=None):
        canonical = getattr(view, "get_canonical_path", None)
        path = canonical() if canonical else request.path
        query = request.META.get("QUERY_STRING", "")
        self.base_url = f"{path}?{query}" if query else path
        return super().paginate_queryset(queryset, request, view)

    def get_next_link(self):
        if not self.page.has_next():
            return None
        return replace_query_param(self.base_url, self.page_query_param, self.page.next_page_number())

    def get_previous_link(self):
        if not self.page.has_previous():
            return None
        number = self.page.previous_page_number()
        if number == 1:
            return remove_query_param(self.base_url, self.page_query_param)
        return replace_query_param(self.base_url, self.page_query_param, number)


def first_page(
    queryset, *, serializer_class, base_path: str, extra: dict | None = None, count: int | None = None
) -> dict:
    """The default first page of ``queryset``, exactly as the paginated endpoint renders it.

    Used by code that builds a list response without a request (cache builders); ``extra`` adds
    top-level fields (an average, say) next to ``count``. A ``count`` the caller already knows
    saves the COUNT query; with a count of 0 the page itself needs no query either.
    """
    paginator = Paginator(queryset, DEFAULT_PAGE_SIZE)
    if count is not None:
        paginator.count = count  # overrides the cached_property: no COUNT query
    try:
        page = paginator.page(1)
    except InvalidPage as exc:  # pragma: no cover - page 1 always exists (allow_empty_first_page)
        raise NotFound() from exc
    return {
        "count": paginator.count,
        "next": replace_query_param(base_path, "page", 2) if page.has_next() else None,
        "previous": None,
        **(extra or {}),
        "results": serializer_class(page.object_list, many=True).data,
    }
