"""Operator endpoints: the platform's probes (liveness, readiness) and Prometheus's ``/metrics``.

Both take no authentication (so no token query), are never throttled and never touch the hot
caches. ``settings.OPS_PATHS`` lists them for middleware that must leave them alone.
"""

import logging
import secrets

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from prometheus_client.exposition import choose_encoder
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.ops import beat_heartbeat, broker_placement, metrics, probes

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
                "(the broker is on the cache's Redis server; `check --deploy` fails the release for these two), "
                "`beat_stale` (Celery beat has sent no task for `BEAT_HEARTBEAT_MAX_AGE` seconds: refresh-ahead "
                "and outage replay are not running)."
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
    found = []
    for check in (broker_placement.readiness_warnings, beat_heartbeat.readiness_warnings):
        try:
            found += check()
        except Exception as exc:  # a probe must answer whatever the check does
            logger.warning("readiness warning check %s failed: %r", check.__module__, exc)
    return found


class ReadinessView(_ProbeView):
    """Readiness: the database, the cache (Redis) and the Celery broker each answered a round trip just now.

    200 when all three did; 503 otherwise, with `status: failed` and each failing part marked
    `failed` in `checks` (details go to the server's log, not to the caller). Send traffic to
    this process only while it answers 200. `warnings` lists what is wrong without stopping this
    process from serving (the broker where it can be evicted, a beat that stopped); alert on it.
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


class MetricsTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer <METRICS_TOKEN>`` (RFC 6750), compared in constant time.

    Authenticates no user (the scraper is not one): ``request.auth`` is the token's name.
    """

    keyword = "Bearer"

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].decode("latin-1").lower() != self.keyword.lower():
            return None
        if len(header) != 2 or not secrets.compare_digest(header[1], settings.METRICS_TOKEN.encode()):
            raise exceptions.AuthenticationFailed("Invalid metrics token.")
        return AnonymousUser(), "metrics"

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="metrics"'


class HasMetricsToken(BasePermission):
    def has_permission(self, request, view) -> bool:
        return request.auth == "metrics"


class MetricsView(_ProbeView):
    """Prometheus metrics (text exposition format), for the operator's Prometheus, not for API clients.

    Off (404, the API's error body) unless the server has `METRICS_TOKEN` set; then the scraper sends
    `Authorization: Bearer <METRICS_TOKEN>`, and anything else is a 401 with `WWW-Authenticate: Bearer`.
    What each series means: docs/operations.md.
    """

    authentication_classes = [MetricsTokenAuthentication]
    permission_classes = [HasMetricsToken]

    def initial(self, request, *args, **kwargs):
        if not settings.METRICS_TOKEN:
            raise exceptions.NotFound()
        super().initial(request, *args, **kwargs)

    @extend_schema(exclude=True)
    def get(self, request):
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
        return HttpResponse(encoder(metrics.exposition_registry()), content_type=content_type)
