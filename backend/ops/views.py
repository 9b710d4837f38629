"""Health endpoints for the platform's probes: liveness and readiness.

Both take no authentication (so no token query), are never throttled and never touch the hot
caches. ``settings.OPS_PATHS`` lists them for middleware that must leave them alone.
"""

import logging

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.ops import probes

logger = logging.getLogger(__name__)

OK = "ok"
FAILED = "failed"
READINESS_CHECKS = {"database": probes.database, "cache": probes.cache, "broker": probes.broker}


class _AlwaysJson(BaseContentNegotiation):
    """JSON whatever the Accept header asks for: a probe must never fail on content negotiation."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class _ProbeView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []
    renderer_classes = [JSONRenderer]
    content_negotiation_class = _AlwaysJson


# Plain strings rather than enums: one choice set under several field names would make
# drf-spectacular warn (and `check --deploy` runs its schema checks).
_ReadinessSerializer = inline_serializer(
    "Readiness",
    {
        "status": serializers.CharField(help_text="`ok` when every check passed, else `failed`."),
        "checks": inline_serializer(
            "ReadinessChecks",
            {name: serializers.CharField(help_text="`ok` or `failed`.") for name in READINESS_CHECKS},
        ),
    },
)


class LivenessView(_ProbeView):
    """Liveness: the process serves requests. Touches no database, cache or broker, so it is always fast.

    Restart the process when this fails; do not use it to decide whether to send traffic (that is `/readyz`).
    """

    @extend_schema(
        tags=["ops"],
        responses=inline_serializer("Liveness", {"status": serializers.CharField(help_text="Always `ok`.")}),
    )
    def get(self, request):
        return Response({"status": OK})


class ReadinessView(_ProbeView):
    """Readiness: the database, the cache (Redis) and the Celery broker each answered a round trip just now.

    200 when all three did; 503 otherwise, with `status: failed` and each failing part marked
    `failed` in `checks` (details go to the server's log, not to the caller). Send traffic to
    this process only while it answers 200.
    """

    @extend_schema(
        tags=["ops"],
        responses={
            200: _ReadinessSerializer,
            503: OpenApiResponse(_ReadinessSerializer, description="At least one check failed."),
        },
    )
    def get(self, request):
        checks = {}
        for name, probe in READINESS_CHECKS.items():
            try:
                probe()
            except Exception as exc:
                logger.warning("readiness check %s failed: %r", name, exc, extra={"check": name})
                checks[name] = FAILED
            else:
                checks[name] = OK
        ready = all(result == OK for result in checks.values())
        return Response(
            {"status": OK if ready else FAILED, "checks": checks},
            status=status.HTTP_200_OK if ready else status.HTTP_503_SERVICE_UNAVAILABLE,
        )
