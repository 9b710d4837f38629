"""The pure parts of the reliability tests: the judge of stale reads and the report's rendering.

No services needed: these run everywhere, so a change that blinds the judge or breaks the page
fails at once, not only in a run with PostgreSQL and Redis.
"""

import json

from tests.reliability import report as reliability
from tests.reliability.load import Ledger, Op
from tests.reliability.seed import SEED_VALUE


def read(value: str, *, sent: float, facet: str = "headline", user: int = 1) -> Op:
    return Op("read", facet, user, "/api/v1/me/profile/", sent, sent + 0.01, 200, value)


def write(ledger: Ledger, value: str, *, sent: float, acked: float | None, user: int = 1) -> None:
    entry = ledger.begin("headline", user, value, sent)
    if acked is not None:
        entry.acked, entry.ok = acked, True


def test_a_read_showing_the_last_acknowledged_write_is_fresh():
    ledger = Ledger()
    write(ledger, "h1-1", sent=1.0, acked=1.1)

    assert not ledger.judge(read("h1-1", sent=2.0)).stale


def test_a_read_showing_a_write_still_in_flight_is_fresh():
    ledger = Ledger()
    write(ledger, "h1-1", sent=1.0, acked=1.1)
    write(ledger, "h1-2", sent=1.9, acked=None)  # may have committed before the read

    assert not ledger.judge(read("h1-2", sent=2.0)).stale
    assert not ledger.judge(read("h1-1", sent=2.0)).stale


def test_a_read_showing_a_superseded_write_is_stale_with_its_staleness():
    ledger = Ledger()
    write(ledger, "h1-1", sent=1.0, acked=1.1)
    write(ledger, "h1-2", sent=1.2, acked=1.5)
    write(ledger, "h1-3", sent=1.6, acked=1.8)

    verdict = ledger.judge(read("h1-1", sent=2.0))

    assert verdict.stale
    assert round(verdict.staleness, 3) == 0.5  # h1-2 superseded it at 1.5


def test_the_seeded_value_is_stale_once_a_write_was_acknowledged_and_a_made_up_value_is_wrong():
    ledger = Ledger()
    assert not ledger.judge(read(SEED_VALUE, sent=0.5)).stale
    write(ledger, "h1-1", sent=1.0, acked=1.1)

    assert ledger.judge(read(SEED_VALUE, sent=2.0)).stale
    assert not ledger.judge(read(SEED_VALUE, sent=1.05)).stale  # sent before the acknowledgement
    assert ledger.judge(read("h1-999", sent=2.0)).wrong


def test_users_and_facets_are_judged_apart():
    ledger = Ledger()
    write(ledger, "h1-1", sent=1.0, acked=1.1, user=1)

    assert not ledger.judge(read(SEED_VALUE, sent=2.0, user=2)).stale
    assert not ledger.judge(read(SEED_VALUE, sent=2.0, facet="bank_name")).stale


def _document(name: str, **figures) -> dict:
    return {
        "name": name,
        "test": f"tests/reliability/x.py::{name}",
        "outcome": "passed",
        "recorded_at": "2026-11-28T15:00:00+00:00",
        "machine": {"cpus": 2, "load_avg_1m": 1.2},
        **figures,
    }


def test_the_report_sums_up_every_test_and_renders_each_known_section(tmp_path):
    documents = [
        _document(
            "test_payment_retries_create_one_payment_and_balances_add_up",
            check="payments",
            operations=52,
            failed=0,
            stale_reads=0,
            lost_writes=0,
            retry_statuses={"201": 1, "200": 19},
            payments_created_by_retries=1,
            concurrent_payments=8,
            concurrent_payments_created=8,
            duplicate_confirmations={"409": 5},
            sum_of_succeeded_payments="232.00",
            payer_total_paid="232.00",
        ),
        _document("test_something_new", fault="a new fault", operations=7, failed=1, stale_reads=2, lost_writes=0),
    ]
    for document in documents:
        (tmp_path / f"{document['name']}.json").write_text(json.dumps(document))

    page = reliability.render(reliability.load(tmp_path))

    assert page.startswith("# Reliability\n")
    assert "| payments | passed | 52 | 0 | 0 | 0 | 0 | 0 |" in page
    assert "| a new fault | passed | 7 | 1 | 0 | 2 | 0 | 0 |" in page
    assert "Totals: 59 operations, 2 stale reads, 0 lost writes" in page
    assert "payments created: 1" in page
    assert "## What the tests found, and the fixes" in page
    assert "on 2 CPU(s), load average 1 while they ran" in page


def test_the_fault_matrix_section_shows_routes_x_faults_5xx_and_lost_writes(tmp_path):
    per_fault = {
        "requests": 208,
        "seconds": 20.5,
        "statuses": {"200": 200, "503": 8},
        "server_errors": [],
        "documented_503": 8,
        "acknowledged_writes": 29,
    }
    document = _document(
        "test_every_route_under_every_cache_fault",
        fault="every route under the cache Redis stopped",
        operations=208,
        failed=8,
        server_errors=0,
        stale_reads=0,
        lost_writes=0,
        routes=52,
        faults=["stopped"],
        routes_x_faults=52,
        documented_503=8,
        acknowledged_writes=29,
        revoked_token={"tries": 31, "authenticated": 0, "last_authenticated_s": None, "poll_s": 1.0},
        per_fault={"stopped": per_fault},
    )
    (tmp_path / "matrix.json").write_text(json.dumps(document))

    page = reliability.render(reliability.load(tmp_path))

    assert "52 routes x faults tried, 0 responses >= 500 other than the documented 503s, 0 of 29" in page
    assert "| stopped | 208 | 20.5 | 200: 200, 503: 8 | 0 | 8 | 29 |" in page
    assert "authenticated 0 times (the bound" in page


def test_the_report_command_writes_the_page_and_refuses_an_empty_directory(tmp_path, capsys):
    figures, page = tmp_path / "figures", tmp_path / "reliability.md"
    figures.mkdir()

    assert reliability.main(["--input", str(figures), "--output", str(page)]) == 1
    assert "no figures in" in capsys.readouterr().err
    assert not page.exists()

    document = _document("test_payments", fault="payments", operations=3, failed=0, stale_reads=0, lost_writes=0)
    (figures / "test_payments.json").write_text(json.dumps(document))
    assert reliability.main(["--input", str(figures), "--output", str(page)]) == 0
    assert page.read_text() == reliability.render(reliability.load(figures))
    assert "python -m tests.reliability.report" in page.read_text()
