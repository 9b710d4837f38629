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

from backend.ops import broker_placement, probes

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
        "warnings": serializers.ListField(
            child=serializers.CharField(),
            required=False,
            help_text=(
                "Present only when something is wrong that does not stop this process from serving: "
                "`broker_evicts` (the broker's Redis server may evict queued tasks), `broker_shares_cache_server` "
                "(the broker is on the cache's Redis server). `check --deploy` fails the release for the same."
            ),
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


def _warnings() -> list[str]:
    try:
        return broker_placement.readiness_warnings()
    except Exception as exc:  # a probe must answer whatever the check does
        logger.warning("broker placement check failed: %r", exc)
        return []


class ReadinessView(_ProbeView):
    """Readiness: the database, the cache (Redis) and the Celery broker each answered a round trip just now.

    200 when all three did; 503 otherwise, with `status: failed` and each failing part marked
    `failed` in `checks` (details go to the server's log, not to the caller). Send traffic to
    this process only while it answers 200. `warnings` lists what is wrong without stopping this
    process from serving (the broker where it can be evicted); alert on it.
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
        body = {"status": OK if ready else FAILED, "checks": checks}
        # Reported, not a readiness failure: every process shares the configuration, so failing
        # readiness would take the whole API out of the load balancer for a risk.
        if warnings := _warnings():
            body["warnings"] = warnings
        return Response(
            body,
            status=status.HTTP_200_OK if ready else status.HTTP_503_SERVICE_UNAVAILABLE,
        )
