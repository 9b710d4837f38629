"""The benchmark's throughput-latency chart (bench/harness/report.py), read back from the matplotlib figure
before it is saved: every bar labelled, what a run did not measure hatched and labelled "not measured",
the targets drawn and named with their level, axes a reader can read. Drawn from the committed results."""

import copy
import json
from pathlib import Path

import pytest
from matplotlib.patches import Rectangle

from bench.harness import report
from bench.harness.wrk import NAMESPACE_READS, REFERENCE_WINDOWS

BENCHMARKS = Path(__file__).resolve().parents[2] / "docs" / "benchmarks"


def committed(path: str) -> dict:
    return json.loads((BENCHMARKS / path / "results.json").read_text())


@pytest.fixture(scope="module")
def issue14():
    doc = committed("issue14")
    fig = report.figure(doc)
    yield doc, fig
    fig.clf()


@pytest.fixture(scope="module")
def no_windows():
    # The committed top-level run without its wrk windows: what a run made before issue 14 (or with
    # wrk missing) has.
    doc = copy.deepcopy(committed("."))
    for row in doc["configs"].values():
        row.pop("windows", None)
    fig = report.figure(doc)
    yield doc, fig
    fig.clf()


def bars(axis) -> list[Rectangle]:
    return [patch for patch in axis.patches if isinstance(patch, Rectangle)]


def texts(axis) -> list[str]:
    return [text.get_text() for text in axis.texts]


def legend(axis) -> list[str]:
    return [text.get_text() for text in axis.get_legend().get_texts()]


def test_every_bar_has_exactly_one_label(issue14, no_windows):
    for _doc, fig in (issue14, no_windows):
        for axis in fig.axes:
            labels = [t for t in texts(axis) if t != "this run has no wrk windows"]
            assert len(bars(axis)) == len(labels), axis.get_title()
            assert all(labels)


def test_the_labels_are_the_measured_figures_and_the_ratio_to_each_target_yardstick(issue14):
    doc, fig = issue14
    throughput, windows, latency = fig.axes
    configs = doc["configs"]

    for name, result in configs.items():
        assert f"{result['rps']:,.0f}" in texts(throughput), name
        hot = result["hot"]["rps"] if name != "floor" else result["rps"]  # floor's requests are all one
        assert f"{hot:,.0f}" in texts(throughput), name
        assert f"{result['p99_ms']:,.0f}" in texts(latency), name
    floor = configs["floor"]["windows"]["floor"]["rps"]
    job = configs["full"]["windows"]["job:detail"]["rps"]
    assert f"{job:,.0f}  {job / floor:.2f} x floor" in texts(windows)
    assert report.NOT_MEASURED not in texts(throughput) + texts(windows) + texts(latency)


def test_the_targets_are_drawn_and_named_with_their_level(issue14):
    doc, fig = issue14
    throughput, windows, _latency = fig.axes
    configs = doc["configs"]

    names = legend(throughput)
    assert f"target, full's workload ≥ 0.7 x floor = {0.7 * configs['floor']['rps']:,.0f}" in names
    assert f"target, full's workload ≥ 5 x nocache = {5 * configs['nocache']['rps']:,.0f}" in names
    assert f"target, full's workload ≥ 1.0 x ttl = {configs['ttl']['rps']:,.0f}" in names
    assert sorted(line.get_ydata()[0] for line in throughput.get_lines()) == pytest.approx(
        sorted([0.7 * configs["floor"]["rps"], 5 * configs["nocache"]["rps"], configs["ttl"]["rps"]])
    )
    # One mark per window with a target: floor against healthz, every namespace against floor.
    marks = [segment for collection in windows.collections for segment in collection.get_segments()]
    assert len(marks) == 1 + len(NAMESPACE_READS)
    assert any(name.startswith("target: floor ≥ 0.7 x healthz") for name in legend(windows))
    # The highest target stays inside the panel.
    assert throughput.get_ylim()[1] > 5 * configs["nocache"]["rps"]


def test_what_the_run_did_not_measure_is_hatched_and_labelled(no_windows):
    doc, fig = no_windows
    throughput, windows, _latency = fig.axes
    without_hot = [
        name for name, row in {**doc["configs"], **doc["silk"]}.items() if name != "floor" and not row.get("hot")
    ]

    assert without_hot == ["full_silk", "full_silk_sampled"]
    assert texts(throughput).count(report.NOT_MEASURED) == 2
    hatched = [bar for bar in bars(throughput) if bar.get_hatch()]
    assert len(hatched) == 2
    assert not any(bar.get_fill() for bar in hatched)
    # No wrk window in this run: every expected window is there, hatched, and says so.
    expected = [*REFERENCE_WINDOWS, *NAMESPACE_READS]
    assert [label.get_text() for label in windows.get_xticklabels()] == expected
    assert texts(windows).count(report.NOT_MEASURED) == len(expected)
    assert "this run has no wrk windows" in texts(windows)
    assert report.NOT_MEASURED in legend(throughput)
    assert report.NOT_MEASURED in legend(windows)


def test_the_axes_are_readable(issue14):
    _doc, fig = issue14
    fig.canvas.draw()

    for axis in fig.axes:
        assert axis.get_title()
        assert axis.get_ylabel()
        assert axis.get_yscale() == "linear"
        ticks = [label.get_text() for label in axis.get_yticklabels() if label.get_text()]
        assert ticks
        assert all(tick.replace(",", "").isdigit() for tick in ticks), ticks
        assert axis.get_ylim()[0] == 0
    assert "2,000 users, 16 clients, 2 web workers" in fig._suptitle.get_text()


def test_the_committed_charts_are_the_ones_this_code_draws(tmp_path):
    for path in ("issue14", "issue14/repeat", "."):
        report.chart(committed(path), tmp_path / "chart.png")
        drawn = tmp_path / "chart.png"
        assert drawn.stat().st_size == pytest.approx((BENCHMARKS / path / report.CHART).stat().st_size, rel=0.02)
