"""The scale model (bench/scale_model.py) computes from the committed figures; docs/scaling.md carries its output."""

import json
import math

from bench import scale_model
from bench.scale_model import PAYLOAD_SIZES, RESULTS, ROOT, WRITE_COST


def test_inputs_are_the_committed_figures():
    full = json.loads(RESULTS.read_text())["configs"]["full"]
    after = json.loads(WRITE_COST.read_text())["after"]["per_write"]
    sizes = json.loads(PAYLOAD_SIZES.read_text())
    inputs = scale_model.inputs_table()
    assert math.isclose(inputs["web_cpu_ms_per_request"], full["cpu_cores_busy"]["web"] * 1000 / full["rps"])
    assert inputs["server_ms_per_request"] == full["server_app_ms_mean"]
    assert inputs["redis_round_trips_per_request"] == full["redis_round_trips_per_request"]
    assert math.isclose(inputs["rebuilds_per_write"], sum(w["rebuilds"] for w in after.values()) / len(after))
    assert math.isclose(inputs["worker_cpu_ms_per_write"], sum(w["worker_cpu_ms"] for w in after.values()) / len(after))
    assert inputs["hot_cache_bytes_per_user"] == sizes["per_user"]["memory_bytes"]
    # Every namespace the payload measurement saw has keys: a measurement of an empty Redis would not.
    assert all(figures["keys"] > 0 for figures in sizes["namespaces"].values()), sizes
    assert 0 < inputs["primary_statement_share"] < 1


def test_the_formulas():
    inputs = scale_model.inputs_table()
    small, large = scale_model.model(10_000, inputs), scale_model.model(1_000_000, inputs)
    assert small["requests_per_s"] == 10_000 * inputs["requests_per_active_user_per_s"]
    assert math.isclose(large["requests_per_s"], 100 * small["requests_per_s"])
    assert large["writes_per_s"] == large["requests_per_s"] * inputs["write_share"]
    assert large["web_processes"] == math.ceil(
        large["requests_per_s"] * inputs["server_ms_per_request"] / 1000 / inputs["target_utilization"]
    )
    assert large["redis_instances"] == large["redis_masters"] * 2
    assert large["postgres_connections"] == 2 * large["web_processes"] + large["worker_processes"] + 1
    limits = scale_model.first_limits(inputs)
    assert [users for _, users in limits] == sorted(users for _, users in limits)


def test_docs_carry_the_models_output():
    doc = (ROOT / "docs" / "scaling.md").read_text()
    begin, end = "<!-- scale-model:begin (python -m bench.scale_model) -->\n", "<!-- scale-model:end -->"
    assert doc[doc.index(begin) + len(begin) : doc.index(end)] == scale_model.markdown(), (
        "docs/scaling.md is out of date: paste `python -m bench.scale_model` between its markers"
    )
