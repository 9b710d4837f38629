"""``manage.py payload_sizes``: the hot caches' keys and memory per namespace and per user, read from Redis."""

import io
import json

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from tests.factories import make_job, make_user

pytestmark = [pytest.mark.redis, pytest.mark.django_db]


def test_measures_what_warm_caches_built(own_redis, tmp_path):
    client, worker = make_user(email="client@example.com"), make_user(email="worker@example.com")
    make_job(client=client)
    Token.objects.create(user=worker)
    call_command("warm_caches", "--all", verbosity=0)
    path = tmp_path / "sizes.json"
    call_command("payload_sizes", "--tokens", "5", "--json", str(path), stdout=io.StringIO())
    sizes = json.loads(path.read_text())
    assert sizes["users"] == 2
    namespaces = sizes["namespaces"]
    assert namespaces["profile:user"]["keys"] == 2
    assert namespaces["job:detail"]["keys"] == 1
    assert namespaces["auth:token"]["keys"] == 1  # the one token, authenticated by the command
    assert namespaces["reviews:user"]["keys"] == 2  # not reviews:reviewer's keys as well
    for figures in namespaces.values():
        if figures["keys"]:
            assert figures["memory_bytes_mean"] > figures["payload_bytes_mean"] > 0
    total = sum(f["keys"] * f["memory_bytes_mean"] for f in namespaces.values())
    assert sizes["per_user"]["memory_bytes"] == pytest.approx(total / 2, abs=0.1)
