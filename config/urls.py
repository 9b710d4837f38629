from django.conf import settings
from django.contrib import admin
from django.urls import include, path, register_converter
from drf_spectacular.views import SpectacularSwaggerView

from backend.common.converters import IdConverter
from backend.common.schema_view import SchemaView

register_converter(IdConverter, "id")

api_v1 = [
    path("", include("backend.accounts.urls")),
    path("", include("backend.jobs.urls")),
    path("", include("backend.payments.urls")),
    path("", include("backend.ratings.urls")),
    path("", include("backend.caching.urls")),
]

# The benchmark's floor (bench/): local, test and benchmark settings install it, production does not.
if "bench" in settings.INSTALLED_APPS:
    api_v1.append(path("", include("bench.urls")))

# Django tries patterns in order, so the order is by traffic: the API first, then the health probes (polled
# every few seconds by the platform), the previous system's paths, and last the pages people open (schema,
# docs, admin, developer tools). No two of them can match one path, so the order changes nothing else.
urlpatterns = [
    path("api/v1/", include(api_v1)),
    # Health probes: /healthz (liveness), /readyz (readiness).
    path("", include("backend.ops.urls")),
    # The previous system's paths, kept for its REST clients (deprecated in the schema).
    path("", include("backend.accounts.legacy_urls")),
    path("", include("backend.jobs.legacy_urls")),
    path("", include("backend.payments.legacy_urls")),
    path("", include("backend.ratings.legacy_urls")),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("admin/", admin.site.urls),
]

# Developer tools, present only where the settings install them (docs/profiling.md).
if "silk" in settings.INSTALLED_APPS:
    urlpatterns.append(path("silk/", include("silk.urls", namespace="silk")))
if "debug_toolbar" in settings.INSTALLED_APPS:
    from debug_toolbar.toolbar import debug_toolbar_urls

    urlpatterns += debug_toolbar_urls()

handler400 = "backend.common.views.bad_request"
handler403 = "backend.common.views.permission_denied"
handler404 = "backend.common.views.not_found"
handler500 = "backend.common.views.server_error"
