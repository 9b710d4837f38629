"""The benchmark's pure parts: what the load generator counts, how figures are aggregated, the
shape of results.json, stale-read bookkeeping, the keys it warms; and the floor endpoint."""

import json
import random

import pytest

from bench.harness import cpu, profile, report, results
from bench.harness.configs import CONFIGS
from bench.harness.driver import check_smoke, keys_to_warm
from bench.harness.metrics import ClientMetrics, percentile
from bench.management.commands.bench import _with_profile
from bench.server_timing import desc_count, desc_counts, parse_server_timing
from bench.staleness import StaleReadChecker
from bench.workload import HOT_READ_MIX, Population, Workload
from tests.assertions import assert_error

FULL_HEADER = (
    'cache;desc="hit", db;dur=0.00;desc="0 queries", cachalot;desc="1 hit", redis;desc="2 round trips", app;dur=1.42'
)


# The run parameters of the small documents the report tests render (shared with test_bench_issue14).
SMALL_RUN_PARAMS = {
    "users": 10,
    "seed": 1,
    "clients": 4,
    "web_workers": 2,
    "worker_concurrency": 2,
    "warmup": 1,
    "duration": 1,
    "hot_duration": 1,
}


def _population(users: int = 300) -> Population:
    """A population made up without a database (ids only), enough for the workload to run."""
    ids = list(range(1, users + 1))
    rng = random.Random(5)
    return Population(
        users=ids,
        tokens={u: f"token-{u}" for u in ids},
        staff_token="staff",
        jobs=list(range(1000, 1000 + 2 * users)),
        open_jobs=list(range(1000, 1000 + users // 2)),
        pay_targets=[(rng.choice(ids), 1000 + i, rng.choice(ids), "150.00") for i in range(users)],
        review_targets=[(1000 + i, rng.choice(ids), rng.choice(ids)) for i in range(users * 2)],
        apply_targets=[(1000 + i % (users // 2), u) for i, u in enumerate(ids * 2)],
    )


def _op_json(latencies, *, namespace=None, kind="read", statuses=None, errors=0, queries=0, timed=None, cache=None):
    return {
        "kind": kind,
        "namespace": namespace,
        "latencies_ms": latencies,
        "statuses": statuses or {"200": len(latencies)},
        "errors": errors,
        "timed": len(latencies) if timed is None else timed,
        "queries": queries,
        "cachalot_hits": 0,
        "redis_round_trips": len(latencies),
        "app_ms": 1.0 * len(latencies),
        "cache": cache or {},
    }


# -- Server-Timing and metrics ------------------------------------------------------------------


def test_server_timing_is_parsed_into_names_durations_and_descriptions():
    timing = parse_server_timing(FULL_HEADER)

    assert timing["cache"] == {"dur": None, "desc": "hit"}
    assert timing["db"] == {"dur": 0.0, "desc": "0 queries"}
    assert timing["app"]["dur"] == 1.42
    assert desc_count(timing, "db") == 0
    assert desc_count(timing, "redis") == 2
    assert desc_count(timing, "profiler") is None


def test_server_timing_counts_are_the_numbers_its_descriptions_start_with():
    assert desc_counts(parse_server_timing(FULL_HEADER)) == {"db": 0, "cachalot": 1, "redis": 2}
    assert desc_counts(parse_server_timing('cache;desc="miss", app;dur=3.1')) == {}


def test_server_timing_tolerates_a_missing_or_odd_header():
    assert parse_server_timing(None) == {}
    assert parse_server_timing("") == {}
    assert parse_server_timing('db;desc="3 queries, cold"')["db"]["desc"] == "3 queries, cold"
    assert desc_count(parse_server_timing("db;dur=abc"), "db") is None


def test_percentile_is_nearest_rank():
    samples = list(range(1, 101))

    assert percentile(samples, 0.50) == 50
    assert percentile(samples, 0.99) == 99
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([], 0.5) is None


def test_metrics_count_only_the_measured_window():
    metrics = ClientMetrics()
    record = {"kind": "read", "namespace": "profile:user", "status": 200, "ok": True, "server_timing": FULL_HEADER}

    metrics.record("read:profile", latency_ms=5.0, **record)  # warm-up: not counted
    metrics.start(100.0)
    metrics.record("read:profile", latency_ms=2.0, **record)
    metrics.record("read:profile", latency_ms=4.0, **{**record, "status": 500, "ok": False, "server_timing": None})
    metrics.stop(110.0)
    metrics.record("read:profile", latency_ms=9.0, **record)  # after the window: not counted
    data = metrics.to_json()

    op = data["ops"]["read:profile"]
    assert data["window_s"] == 10.0
    assert op["latencies_ms"] == [2.0, 4.0]
    assert op["statuses"] == {"200": 1, "500": 1}
    assert op["errors"] == 1
    assert (op["timed"], op["queries"], op["redis_round_trips"], op["cachalot_hits"]) == (1, 0, 2, 1)
    assert op["cache"] == {"hit": 1}


# -- aggregation --------------------------------------------------------------------------------


def test_a_phase_is_summarized_into_throughput_percentiles_errors_and_queries():
    raw = {
        "window_s": 10.0,
        "ops": {
            "read:profile": _op_json([1.0] * 90, namespace="profile:user", queries=0, cache={"hit": 88, "miss": 2}),
            "write:profile_update": _op_json(
                [20.0] * 9 + [50.0], kind="write", statuses={"200": 9, "500": 1}, errors=1, queries=40
            ),
        },
        "stale": {"checked": 30, "stale": 1, "examples": [{"path": "/x", "problems": ["headline 'a'"]}]},
    }

    summary = results.summarize_phase(raw)

    assert summary["requests"] == 100
    assert summary["rps"] == 10.0
    assert summary["p50_ms"] == 1.0
    assert summary["p95_ms"] == 20.0
    assert summary["p99_ms"] == 20.0
    assert summary["errors"] == 1
    assert summary["statuses"] == {"200": 99, "500": 1}
    assert summary["queries_per_request"] == 0.4  # 40 queries over 100 timed responses
    assert summary["client_hit_rate"] == {"profile:user": pytest.approx(88 / 90, abs=1e-4)}
    assert (summary["stale_reads"], summary["stale_checks"]) == (1, 30)
    assert summary["hot_read_p99_ms"] == 1.0
    assert summary["ops"]["write:profile_update"]["queries_per_request"] == 4.0


def test_cache_figures_pool_namespaces_and_keep_the_worst_latency():
    stats = {
        "namespaces": {
            "profile:user": {"hits": 95, "misses": 5, "warm_latency_ms_p50": 2.0, "warm_latency_ms_p95": 9.0},
            "payments:user": {"hits": 0, "misses": 0, "warm_latency_ms_p50": None, "warm_latency_ms_p95": None},
            "job:detail": {"hits": 300, "misses": 0, "warm_latency_ms_p50": 4.0, "warm_latency_ms_p95": 6.0},
        }
    }

    figures = results.cache_figures(stats)

    assert figures["hit_rate"] == round(395 / 400, 4)
    assert figures["warm_latency_ms_p50"] == 4.0
    assert figures["warm_latency_ms_p95"] == 9.0
    assert figures["namespaces"]["payments:user"]["hit_rate"] is None


def test_cache_figures_are_none_when_hot_caches_are_off():
    stats = {"namespaces": {"profile:user": {"hits": 0, "misses": 0}}}

    figures = results.cache_figures(stats)

    assert figures["hit_rate"] is None
    assert figures["warm_latency_ms_p95"] is None
    assert results.cache_figures(None)["hit_rate"] is None


def _config(rps: float, *, hot_rps: float | None = None, p50=2.0, p99=6.0, errors=0, stale=0, hit=0.99) -> dict:
    ops = {"read:profile": _op_json([p50] * 98 + [p99] * 2, namespace="profile:user")}
    mixed = results.summarize_phase({"window_s": 100 / rps, "ops": ops, "stale": {"checked": 10, "stale": stale}})
    mixed["errors"] = errors
    hits = round((hit or 0) * 1000)
    stats = {"namespaces": {"profile:user": {"hits": hits, "misses": 1000 - hits}}}
    hot = None
    if hot_rps is not None:
        hot = results.summarize_phase({"window_s": 100 / hot_rps, "ops": ops})
    return results.config_result(mixed, stats if hit is not None else None, hot, stats if hot else None)


def _doc() -> dict:
    configs = {
        "floor": _config(1000.0, hit=None),
        "nocache": _config(50.0, hot_rps=40.0, hit=None),
        "cachalot": _config(100.0, hot_rps=90.0, hit=None),
        "full": _config(600.0, hot_rps=900.0),
        "full_silk": _config(300.0),
    }
    return results.document(
        machine={"cpu": "test", "cores": 2},
        date="2026-01-01T00:00:00+00:00",
        params=SMALL_RUN_PARAMS,
        configs=configs,
    )


def test_results_json_has_the_shape_the_issue_asks_for():
    doc = json.loads(json.dumps(_doc()))  # what is written is what is read back

    assert set(doc) >= {"machine", "date", "params", "configs"}
    assert list(doc["configs"]) == ["floor", "nocache", "cachalot", "full"]
    for result in doc["configs"].values():
        assert set(results.REQUIRED_KEYS) <= set(result)
        assert isinstance(result["rps"], float)
        for key in ("p50_ms", "p95_ms", "p99_ms", "queries_per_request"):
            assert isinstance(result[key], float)
        assert isinstance(result["errors"], int)
        assert isinstance(result["stale_reads"], int)
        assert result["hit_rate"] is None or isinstance(result["hit_rate"], float)
        assert result["warm_latency_ms_p95"] is None or isinstance(result["warm_latency_ms_p95"], float)
    assert doc["configs"]["floor"]["hit_rate"] is None
    assert doc["configs"]["full"]["hit_rate"] == 0.99
    assert list(doc["silk"]) == ["full_silk"]


def test_ratios_compare_with_floor_and_nocache_and_hot_reads_alone():
    doc = _doc()
    full = doc["configs"]["full"]

    assert full["rps_over_floor"] == 0.6
    assert full["rps_over_nocache"] == 12.0
    assert full["hot_rps_over_floor"] == 0.9  # floor's hot throughput is its own
    assert full["hot_rps_over_nocache"] == 22.5
    assert full["hot_rps_over_cachalot"] == 10.0
    assert doc["silk"]["full_silk"]["rps_over_full"] == 0.5


def test_targets_are_evaluated_against_the_issue_goals():
    targets = {t["key"]: t for t in _doc()["targets"]}

    assert targets["full_hot_over_floor"]["met"] is True  # 0.9 >= 0.8
    assert targets["full_over_nocache"]["met"] is True
    assert targets["hit_rate"]["met"] is True
    assert (targets["stale_reads"]["value"], targets["stale_reads"]["met"]) == (0, True)
    assert (targets["p99_over_p50"]["value"], targets["p99_over_p50"]["met"]) == (3.0, True)


def test_targets_report_misses_and_unmeasured_configurations():
    configs = {"full": _config(100.0, hot_rps=100.0, p50=1.0, p99=5.0, errors=2, stale=1, hit=0.9)}
    results.add_ratios(configs)

    targets = {t["key"]: t for t in results.evaluate_targets(configs)}

    assert targets["full_hot_over_floor"]["met"] is None  # no floor run
    assert targets["hit_rate"]["met"] is False
    assert (targets["errors"]["value"], targets["errors"]["met"]) == (2, False)
    assert targets["stale_reads"]["met"] is False
    assert targets["p99_over_p50"]["met"] is False


def test_hot_phase_errors_and_stale_reads_count_in_the_configuration():
    mixed = results.summarize_phase({"window_s": 1.0, "ops": {"read:profile": _op_json([1.0])}})
    hot = results.summarize_phase(
        {"window_s": 1.0, "ops": {"read:profile": _op_json([1.0], errors=1)}, "stale": {"checked": 1, "stale": 1}}
    )

    result = results.config_result(mixed, None, hot, None)

    assert result["errors"] == 1
    assert result["stale_reads"] == 1
    assert result["hot"]["rps"] == 1.0


def test_smoke_check_wants_full_to_beat_nocache_and_nothing_wrong():
    doc = _doc()
    doc["configs"]["nocache"]["queries_per_request"] = 2.9
    doc["configs"]["full"]["queries_per_request"] = 0.4
    assert check_smoke(doc) == []

    full = doc["configs"]["full"]
    (full["hot"] if full.get("hot") else full)["rps"] = 10.0
    full["queries_per_request"] = 3.0
    doc["configs"]["cachalot"]["errors"] = 3
    problems = check_smoke(doc)

    assert any("did not beat nocache" in p for p in problems)
    assert any("the caches saved nothing" in p for p in problems)
    assert any(p.startswith("cachalot: 3 errors") for p in problems)


def test_readme_shows_each_configuration_its_targets_and_the_chart(tmp_path):
    doc = _doc()
    doc["note"] = "PROVISIONAL"
    doc["configs"]["floor"]["cpu_cores_busy"] = {"web": 1.5, "locust": 0.4}
    doc["configs"]["full"]["hot"]["cpu_cores_busy"] = {"web": 1.8}
    (tmp_path / "results.json").write_text(json.dumps(doc))

    report.write_all(tmp_path)

    text = (tmp_path / "README.md").read_text()
    assert "> **PROVISIONAL**" in text
    for name in ("`floor`", "`nocache`", "`cachalot`", "`full`", "`full_silk`"):
        assert name in text
    assert "| full hit rate (hot namespaces) | 99.0% | ≥ 97% | met |" in text
    # Web CPU per request: 1.5 cores at 1,000 req/s; per hot read of full, 1.8 cores at 900 req/s.
    cost = text.split("### The cost of one request")[1]
    assert "| `floor` | 1.50 |" in cost
    full_row = next(line for line in cost.splitlines() if line.startswith("| `full` |"))
    assert [cell.strip() for cell in full_row.split("|")][4] == "2.00"
    assert (tmp_path / report.CHART).read_bytes()[:4] == b"\x89PNG"
    assert "No scale run yet" in text


def test_readme_has_a_scale_section_from_scale_json(tmp_path):
    # The machine was twice as busy at 10,000 users: floor halved, and so did everything else.
    scale = {
        "machine": {},
        "date": "2026-01-01",
        "params": {"clients": 4, "web_workers": 2, "duration": 1},
        "scales": {
            "1000": {
                "floor": _config(1000.0, hit=None),
                "nocache": _config(100.0, hot_rps=80.0, hit=None),
                "full": _config(400.0, hot_rps=900.0),
            },
            "10000": {
                "floor": _config(500.0, hit=None),
                "nocache": _config(50.0, hot_rps=40.0, hit=None),
                "full": _config(200.0, hot_rps=450.0),
            },
        },
    }
    for users, rows in scale["scales"].items():
        slower = 1 if users == "1000" else 2
        rows["full"]["hot"]["cpu_cores_busy"] = {"web": 2.0, "locust": 0.3}
        rows["full"]["hot"]["server_app_ms_mean"] = 1.11 * slower
    (tmp_path / "scale.json").write_text(json.dumps(scale))

    report.write_all(tmp_path)

    text = (tmp_path / "README.md").read_text()
    rows = {tuple(cell.strip() for cell in line.split("|")[1:3]): line for line in text.splitlines() if "`" in line}
    # Hot reads alone, as a fraction of floor at the same size: the same at both sizes.
    for users in ("1,000", "10,000"):
        assert "| 0.90 |" in rows[(users, "`full`")]
        assert "| 0.08 |" in rows[(users, "`nocache`")]
    # The cost of one hot read: the server's own time, and web CPU (cores busy x 1,000 / req/s).
    assert "| 1.11 | 2.22 |" in rows[("1,000", "`full`")]
    assert "| 2.22 | 4.44 |" in rows[("10,000", "`full`")]
    assert (tmp_path / report.SCALE_CHART).read_bytes()[:4] == b"\x89PNG"


# -- stale reads ----------------------------------------------------------------------------------


def test_a_read_sent_after_an_acknowledged_write_must_show_it():
    checker = StaleReadChecker()
    write = checker.begin_write("headline", 7, "new", sent=10.0)
    checker.end_write(write, acked=11.0, ok=True)

    assert checker.value_is_stale("headline", 7, "seeded", sent=12.0)
    assert not checker.value_is_stale("headline", 7, "new", sent=12.0)
    # Sent before the acknowledgement: either value is possible.
    assert not checker.value_is_stale("headline", 7, "seeded", sent=10.5)
    # Another user's data is not concerned.
    assert not checker.value_is_stale("headline", 8, "seeded", sent=12.0)


def test_an_older_write_is_stale_once_a_newer_one_is_acknowledged():
    checker = StaleReadChecker()
    first = checker.begin_write("bank_name", 1, "A", sent=1.0)
    checker.end_write(first, acked=2.0, ok=True)
    second = checker.begin_write("bank_name", 1, "B", sent=3.0)
    checker.end_write(second, acked=4.0, ok=True)

    assert checker.value_is_stale("bank_name", 1, "A", sent=5.0)
    assert not checker.value_is_stale("bank_name", 1, "B", sent=5.0)
    assert not checker.value_is_stale("bank_name", 1, "A", sent=3.5)  # B not acknowledged yet


def test_concurrent_writes_to_one_user_raise_no_false_alarm():
    checker = StaleReadChecker()
    a = checker.begin_write("headline", 1, "A", sent=1.0)
    b = checker.begin_write("headline", 1, "B", sent=1.1)
    checker.end_write(b, acked=2.0, ok=True)
    checker.end_write(a, acked=2.1, ok=True)

    # The two overlapped: the database may hold either.
    assert not checker.value_is_stale("headline", 1, "A", sent=3.0)
    assert not checker.value_is_stale("headline", 1, "B", sent=3.0)


def test_the_verdict_says_how_long_the_shown_value_had_been_superseded():
    checker = StaleReadChecker()
    first = checker.begin_write("headline", 1, "A", sent=1.0)
    checker.end_write(first, acked=2.0, ok=True)
    second = checker.begin_write("headline", 1, "B", sent=3.0)
    checker.end_write(second, acked=4.0, ok=True)
    third = checker.begin_write("headline", 1, "C", sent=5.0)
    checker.end_write(third, acked=6.0, ok=True)

    # A was superseded by B's acknowledgement (4.0), the first of the writes after it.
    assert checker.judge_value("headline", 1, "A", sent=7.5).staleness == 3.5
    # The seeded value, by A's (2.0).
    assert checker.judge_value("headline", 1, "seeded", sent=7.5, seeded="seeded").staleness == 5.5
    assert checker.judge_value("headline", 1, "C", sent=7.5).stale is False


def test_a_value_no_write_made_is_wrong_when_the_seed_is_known():
    checker = StaleReadChecker()
    write = checker.begin_write("headline", 1, "A", sent=1.0)
    checker.end_write(write, acked=2.0, ok=True)

    assert checker.judge_value("headline", 1, "Z", sent=3.0, seeded="seeded").wrong
    assert checker.judge_value("headline", 2, "Z", sent=3.0, seeded="seeded").wrong  # no writes at all
    assert not checker.judge_value("headline", 1, "seeded", sent=1.5, seeded="seeded").wrong
    # Without the seed, an unknown value is taken for the seeded one: stale, not wrong.
    verdict = checker.judge_value("headline", 1, "Z", sent=3.0)
    assert (verdict.stale, verdict.wrong) == (True, False)


def test_a_write_still_in_flight_may_already_show():
    checker = StaleReadChecker()
    done = checker.begin_write("headline", 1, "A", sent=1.0)
    checker.end_write(done, acked=2.0, ok=True)
    checker.begin_write("headline", 1, "B", sent=3.0)  # committed, response not back yet

    assert not checker.value_is_stale("headline", 1, "B", sent=3.5)


def test_a_failed_write_requires_nothing():
    checker = StaleReadChecker()
    write = checker.begin_write("headline", 1, "A", sent=1.0)
    checker.end_write(write, acked=2.0, ok=False)

    assert not checker.value_is_stale("headline", 1, "seeded", sent=3.0)


def test_an_acknowledged_item_must_be_on_the_first_page():
    checker = StaleReadChecker(page_size=3)
    checker.added_item("payments", 5, 100, sent=1.0, acked=2.0)

    assert checker.items_missing("payments", 5, [100, 9, 8], sent=3.0) == []
    assert checker.items_missing("payments", 5, [9, 8], sent=3.0) == [100]
    assert checker.items_missing("payments", 5, [9, 8], sent=1.5) == []  # sent before it was acknowledged
    # A full page of newer items pushed it to page 2.
    assert checker.items_missing("payments", 5, [103, 102, 101], sent=3.0) == []
    assert checker.items_missing("payments", 5, [99, 98, 97], sent=3.0) == [100]


def test_stale_reads_are_tallied_with_examples_and_reset_after_warm_up():
    checker = StaleReadChecker(keep_examples=1)
    checker.tally([], path="/a")
    checker.tally(["headline 'x'"], path="/b")
    checker.tally(["headline 'y'"], path="/c")

    assert (checker.checked, checker.stale) == (3, 2)
    assert checker.examples == [{"path": "/b", "problems": ["headline 'x'"]}]
    checker.reset_counts()
    assert (checker.checked, checker.stale, checker.examples) == (0, 0, [])


def test_the_write_log_carries_over_to_the_next_phase():
    checker = StaleReadChecker()
    write = checker.begin_write("headline", 1, "A", sent=1.0)
    checker.end_write(write, acked=2.0, ok=True)
    checker.begin_write("headline", 1, "B", sent=5.0)  # still in flight at the end
    checker.added_item("reviews_received", 2, 50, sent=1.0, acked=2.0)

    later = StaleReadChecker()
    later.load_json(json.loads(json.dumps(checker.to_json())))

    assert later.value_is_stale("headline", 1, "seeded", sent=3.0)
    assert not later.value_is_stale("headline", 1, "B", sent=9.0)
    assert later.items_missing("reviews_received", 2, [], sent=3.0) == [50]


# -- the workload as the benchmark drives it ------------------------------------------------------


def test_clients_share_the_hot_users_but_not_the_one_time_targets():
    population = _population()
    a = Workload(population, seed=11, order_seed=1, shard=(0, 2))
    b = Workload(population, seed=12, order_seed=1, shard=(1, 2))

    assert a.users.items == b.users.items  # the same users are hot for every client
    assert not set(a.review_targets) & set(b.review_targets)
    assert not set(a.apply_targets) & set(b.apply_targets)
    assert len(a.review_targets) + len(b.review_targets) == len(population.review_targets)


def test_every_write_value_is_unique_to_its_client_and_rank():
    population = _population()
    values = []
    for seed in (1, 2):
        workload = Workload(population, seed=seed, order_seed=1, write_share=1.0)
        for _ in range(200):
            op = workload.next()
            if op.name in ("profile_update", "account_update"):
                values.append(op.body.get("headline") or op.body["bank_name"])

    assert len(values) == len(set(values)) > 50


def test_hot_read_mix_reads_only_hot_namespaces():
    workload = Workload(_population(), seed=3, read_mix=HOT_READ_MIX, write_share=0.0)

    ops = [workload.next() for _ in range(500)]

    assert all(op.kind == "read" and op.namespace for op in ops)


def test_population_round_trips_through_json():
    population = _population(20)

    again = Population.from_json(json.loads(json.dumps(population.to_json())))

    assert again == population


def test_keys_to_warm_cover_what_the_clients_will_read():
    population = _population()
    keys = keys_to_warm(population, seed=1, clients=3, mixed_ops=400, hot_ops=100)

    # the run itself: the same clients, told the ids of the payments they create
    read, acting = set(), set()
    next_id = iter(range(1, 10**6))
    for index in range(3):
        workload = Workload(population, seed=1 + index, order_seed=1, shard=(index, 3))
        for _ in range(400):
            op = workload.next()
            if op.user_id is not None:
                acting.add(op.user_id)
            if op.kind == "read" and op.namespace:
                read.add((op.namespace, op.subject_id))
            elif op.name in ("my_applications", "my_jobs") and "?" not in op.path:
                read.add((f"dashboard:{op.name.removeprefix('my_')}", op.subject_id))
            elif op.name == "payment_create":
                workload.payment_created(next(next_id))

    assert {ns for ns, _key in read} >= {"dashboard:applications", "dashboard:jobs", "profile:user"}
    assert read <= {(ns, key) for ns, ids in keys["hot"].items() for key in ids}
    assert acting <= set(keys["users"])


def test_the_floor_warms_tokens_only():
    keys = keys_to_warm(_population(), seed=1, clients=2, mixed_ops=100, hot_ops=100, floor=True)

    assert keys["hot"] == {}
    assert 10 < len(keys["users"]) <= 200


# -- profile and CPU ---------------------------------------------------------------------------------


def test_profile_gives_each_sample_to_its_innermost_known_layer():
    raw = "\n".join(
        [
            "process 1:run (gunicorn/arbiter.py);handle (gunicorn/workers/sync.py);get (backend/caching/read.py);"
            "execute (redis/client.py);recv (socket.py) 30",
            "process 1:run (gunicorn/arbiter.py);handle (gunicorn/workers/sync.py);parse (gunicorn/http/message.py) 50",
            "process 1:run (gunicorn/arbiter.py);render (rest_framework/renderers.py);dumps (json/__init__.py) 20",
            "garbage line",
        ]
    )

    summary = profile.summarize(raw)

    layers = dict(summary["layers"])
    assert summary["samples"] == 100
    assert layers["gunicorn (HTTP parsing, worker loop)"] == 0.5
    assert layers["Redis client"] == 0.3
    assert layers["JSON and logging"] == 0.2
    assert summary["functions"][0] == ["parse (gunicorn/http/message.py)", 0.5]


def test_cpu_time_is_split_between_our_processes_and_the_rest():
    before = {10: ("python", 1, 1.0), 11: ("python", 10, 1.0), 20: ("postgres", 1, 5.0), 30: ("pytest", 1, 0.0)}
    after = {
        10: ("python", 1, 1.5),
        11: ("python", 10, 4.0),  # a gunicorn worker: a child of the master we started
        12: ("python", 10, 1.0),  # started during the window
        20: ("postgres", 1, 6.0),
        30: ("pytest", 1, 2.0),  # someone else's tests
    }

    busy = cpu.busy_cores(before, after, {10: "web"}, seconds=2.0)

    assert busy == {"web": 2.25, "other": 1.0, "postgres": 0.5}


# -- the floor endpoint ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_floor_returns_a_constant_body_for_one_token_query(client_for, user, django_assert_num_queries):
    client = client_for(user)

    with django_assert_num_queries(1):  # token authentication (cold cachalot)
        response = client.get("/api/v1/ops/floor/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_floor_needs_authentication(api_client):
    response = api_client.get("/api/v1/ops/floor/")

    assert_error(response, 401)


@pytest.mark.django_db
def test_floor_answers_staff_too(client_for, staff_user):
    response = client_for(staff_user).get("/api/v1/ops/floor/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_profile_runs_full_once_more_and_only_that_run_is_sampled():
    configs = _with_profile(("floor", "nocache", "cachalot", "full"), True)

    assert configs[-1] == "full_profiled"
    assert [name for name in configs if CONFIGS[name].profiled] == ["full_profiled"]
    assert CONFIGS["full_profiled"].env == CONFIGS["full"].env
    assert _with_profile(("full",), False) == ("full",)


def test_the_profiled_run_is_kept_out_of_the_figures():
    doc = _doc()
    configs = {**doc["configs"], "full_profiled": _config(10.0)}

    document = results.document(machine={}, date="", params=doc["params"], configs=configs)

    assert "full_profiled" not in document["configs"]
    assert "full_profiled" not in document.get("silk", {})
