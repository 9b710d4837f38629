"""The benchmark's floor: what the framework alone costs on this machine."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

FLOOR_BODY = {"status": "ok"}


class FloorView(APIView):
    """A constant small JSON body for any authenticated user.

    It goes through everything a hot read goes through (middleware, token authentication, the
    permission check, content negotiation and the JSON renderer) and does nothing else: no
    query of its own, no cache read. `make bench` measures it as the `floor` configuration, the
    throughput no endpoint of this API can beat on the same machine (docs/benchmarks/).
    """

    @extend_schema(
        tags=["ops"],
        responses=inline_serializer("Floor", {"status": serializers.CharField(help_text="Always `ok`.")}),
    )
    def get(self, request):
        return Response(FLOOR_BODY)
