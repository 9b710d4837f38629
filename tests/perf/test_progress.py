"""Progress where work is long: `make bench` (bench/harness/progress.py), seed_demo's planning and inserts,
perf_report. A bar only on a terminal; in logs and CI (not a terminal) a line per phase for the benchmark
and nothing for the others; nothing with --quiet / -v0."""

import io
import re
import time

import pytest
from django.conf import settings
from django.core.management import call_command

from bench.harness.configs import CONFIGS
from bench.harness.driver import Options, Run
from bench.harness.progress import RunProgress, phases_of


class Terminal(io.StringIO):
    """What a terminal is to tqdm and to RunProgress: a stream whose isatty() is true."""

    def isatty(self) -> bool:
        return True


def run_three_phases(progress: RunProgress) -> None:
    with progress.phase("200 users: data"):
        progress.write("data: seeding 200 users")
    with progress.phase("200 users, floor (1/2): mixed workload", 0.3):
        time.sleep(0.35)
    with progress.phase("200 users, full (2/2): mixed workload", 0.3):
        time.sleep(0.35)
    progress.close()


def test_not_a_terminal_gets_one_line_per_phase_with_the_time_left_and_no_bar():
    stream = io.StringIO()

    run_three_phases(RunProgress(0.6, stream=stream))

    lines = stream.getvalue().splitlines()
    phases = [line for line in lines if line.startswith("-- ")]
    assert "\r" not in stream.getvalue()
    assert [line.split(":")[0] for line in phases] == [
        "-- 200 users",
        "-- 200 users, floor (1/2)",
        "-- 200 users, full (2/2)",
        "-- done",
    ]
    assert "data: seeding 200 users" in lines
    # Nothing measured yet: no estimate. Then half the measured seconds ran: about as long again is left.
    assert "0 of 1 measured seconds done" in phases[1]
    assert "left" not in phases[1]
    assert re.search(r", about 0:0\d left$", phases[2]), phases[2]


def test_a_terminal_gets_a_bar_that_moves_during_a_phase_and_log_lines_above_it():
    stream = Terminal()
    progress = RunProgress(2.0, stream=stream)
    progress.TICK = 0.05

    with progress.phase("200 users, full (1/1): mixed workload", 2.0):
        progress.write("[full] a log line")
        time.sleep(1.2)
        during = progress.bar.n
    progress.close()

    out = stream.getvalue()
    assert 1 <= during < 2  # the ticker advanced the bar before the phase ended
    assert "\r" in out
    assert "200 users, full (1/1): mixed workload" in out
    assert "[full] a log line\n" in out
    assert re.search(r"100%\|.*\| 2/2 s measured \[[\d:]+ elapsed, [\d:]+ left\]", out)


def test_quiet_prints_nothing_but_the_log_lines():
    stream = Terminal()

    run_three_phases(RunProgress(0.6, stream=stream, quiet=True))

    assert stream.getvalue() == "data: seeding 200 users\n"


def test_the_planned_seconds_are_every_phase_of_every_configuration():
    options = Options(configs=("floor", "full"), warmup=2, duration=3, read_duration=1)

    phases = {name: dict(phases_of(CONFIGS[name], options)) for name in options.configs}

    # Each phase is its warm-up (hot reads: at most 3 s; wrk: at most 2 s) and its window.
    assert phases["full"]["mixed workload"] == 5
    assert phases["full"]["hot reads alone"] == 5
    assert all(seconds == 3 for label, seconds in phases["full"].items() if label.startswith("wrk "))
    assert "hot reads alone" not in phases["floor"]
    assert Run.planned_seconds(options, scales=2) == 2 * sum(sum(p.values()) for p in phases.values())


@pytest.mark.django_db
def test_seed_demo_draws_its_planning_and_inserts_on_a_terminal_only(monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    call_command("seed_demo", users=30, stdout=io.StringIO())
    bars = terminal.getvalue()

    assert re.search(r"planning\s+: 100%\|.*\| (\d+)/\1 ", bars), bars[-400:]
    assert re.search(r"users\s+: 100%\|.*\| 31/31 ", bars)

    logs = io.StringIO()
    monkeypatch.setattr("sys.stderr", logs)
    call_command("seed_demo", "--reset", users=30, stdout=io.StringIO())
    assert logs.getvalue() == ""


@pytest.mark.django_db
def test_perf_report_draws_one_step_per_endpoint_and_overhead_figure(monkeypatch, tmp_path):
    from bench.management.commands.perf_report import get_endpoints

    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    call_command("perf_report", "--repeat", "1", "--seed-users", "20", stdout=io.StringIO(), stderr=io.StringIO())

    # One step per endpoint, then two overhead figures (four with silk installed and recording).
    steps = len(get_endpoints()) + (4 if "silk" in settings.INSTALLED_APPS else 2)
    final = terminal.getvalue().split("\r")[-1]
    assert re.search(rf"perf_report: 100%\|.*\| {steps}/{steps} ", final), final
