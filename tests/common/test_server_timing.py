"""The Server-Timing header: hot-cache outcome, database time and the queries that reached the database."""

import re

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

TIMING = re.compile(r'db;dur=(?P<dur>[0-9.]+);desc="(?P<n>\d+) queries"')


def queries_in(response) -> int:
    return int(TIMING.search(response["Server-Timing"]).group("n"))


@override_settings(SERVER_TIMING_ENABLED=True)
def test_server_timing_names_the_cache_outcome_and_counts_queries(user, django_assert_num_queries):
    from rest_framework.authtoken.models import Token

    client = APIClient()  # a new client builds its middleware chain with the setting on
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")

    with django_assert_num_queries(2) as cold_queries:
        cold = client.get(f"/api/v1/users/{user.id}/profile/")
    with django_assert_num_queries(0):
        warm = client.get(f"/api/v1/users/{user.id}/profile/")

    assert 'cache;desc="miss"' in cold["Server-Timing"]
    assert queries_in(cold) == len(cold_queries) == 2
    assert 'cache;desc="hit"' in warm["Server-Timing"]
    assert queries_in(warm) == 0
    assert "app;dur=" in warm["Server-Timing"]


@override_settings(SERVER_TIMING_ENABLED=True)
def test_server_timing_on_a_normal_endpoint_has_no_cache_outcome(db):
    response = APIClient().get("/api/v1/jobs/")

    assert "cache;" not in response["Server-Timing"]
    assert queries_in(response) == 1  # the count (no jobs: no page query)


@override_settings(SERVER_TIMING_ENABLED=False)
def test_server_timing_is_absent_when_switched_off(user):
    assert "Server-Timing" not in APIClient().get(f"/api/v1/users/{user.id}/profile/")
