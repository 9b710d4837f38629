"""perf_report: every GET endpoint measured, shaped as documented, and a gate that fails over budget."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from bench import budgets

pytestmark = pytest.mark.django_db

HOT_PATHS = {
    "/api/v1/users/{user_id}/payments/",
    "/users/{user_id}/payments",
    "/api/v1/users/{user_id}/reviews/",
    "/reviews/{user_id}",
    "/api/v1/users/{user_id}/reviews-given/",
    "/ratings/reviewer_{user_id}/",
    "/api/v1/users/{user_id}/profile/",
    "/get-profile/{user_id}",
    "/api/v1/me/profile/",
    "/api/v1/me/account-details/",
    "/get-account-details",
    "/api/v1/jobs/{job_id}/",
    "/jobs/{job_id}",
}


@pytest.fixture
def report(tmp_path):
    path = tmp_path / "report.json"
    call_command("perf_report", "--json", str(path), "--repeat", "2", "--seed-users", "30", stdout=io.StringIO())
    return json.loads(path.read_text())


def test_report_covers_every_get_endpoint_within_budget(report):
    endpoints = {e["path"]: e for e in report["endpoints"]}

    assert set(endpoints) >= HOT_PATHS
    assert "/api/v1/jobs/" in endpoints
    for entry in report["endpoints"]:
        assert set(entry) >= {
            "name",
            "path",
            "cold_queries",
            "warm_queries",
            "cold_ms_median",
            "warm_ms_median",
            "bytes",
            "budget_queries",
            "within_budget",
        }
        assert entry["within_budget"], entry
    for path in HOT_PATHS:
        assert endpoints[path]["hot"] is True
        assert endpoints[path]["warm_queries"] == 0
        assert 1 <= endpoints[path]["cold_queries"] <= 4


def test_report_measures_the_middlewares_own_cost(report):
    overhead = report["overhead"]

    assert overhead["server_timing_off_ms"] > 0
    assert overhead["server_timing_on_ms"] > 0


def test_an_endpoint_over_its_budget_fails_the_gate(monkeypatch, tmp_path):
    monkeypatch.setitem(budgets.BUDGETS, "/api/v1/users/{user_id}/profile/", budgets.Budget(cold_queries=0))

    with pytest.raises(CommandError, match="over budget: UserProfileView"):
        call_command("perf_report", "--repeat", "1", "--seed-users", "30", stdout=io.StringIO())
