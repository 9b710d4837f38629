"""The workload is deterministic, Zipf-skewed and mostly reads, and every op it makes succeeds."""

from collections import Counter

import pytest
from django.core.management import call_command

from bench.runner import run
from bench.workload import Population, Workload, ZipfPicker

pytestmark = pytest.mark.django_db


@pytest.fixture
def population(db):
    call_command("seed_demo", users=60, verbosity=0)
    return Population.load(seed=3)


def test_same_seed_same_ops(population):
    a, b = Workload(population, seed=5), Workload(population, seed=5)

    assert [a.next() for _ in range(300)] == [b.next() for _ in range(300)]


def test_mix_is_about_95_percent_reads(population):
    workload = Workload(population, seed=9)
    kinds = Counter(workload.next().kind for _ in range(4000))

    assert 0.93 <= kinds["read"] / 4000 <= 0.97


def test_zipf_makes_a_few_users_hot():
    import random

    picker = ZipfPicker(list(range(1000)), 1.1, random.Random(1))
    counts = Counter(picker.pick() for _ in range(20000))
    top10 = sum(n for _, n in counts.most_common(10))

    assert top10 / 20000 > 0.3  # ten users out of a thousand take a third of the traffic


def test_every_op_of_the_workload_succeeds_in_process(population):
    result = run(Workload(population, seed=11), 400)

    assert result.errors == 0, result.statuses
    assert set(result.statuses) <= {200, 201}


def test_workers_read_their_applications_and_clients_their_jobs(population):
    # given: the seeded marketplace's workers (who applied) and clients (who posted)
    assert population.workers
    assert population.clients
    workload = Workload(population, seed=13, write_share=0.0)

    # when
    ops = [workload.next() for _ in range(4000)]

    # then: about 8 and 4 in 112 reads, each by a user of the right side, on their own list
    names = Counter(op.name for op in ops)
    assert 0.05 <= names["my_applications"] / 4000 <= 0.09
    assert 0.02 <= names["my_jobs"] / 4000 <= 0.05
    for op in ops:
        if op.name == "my_applications":
            assert op.user_id in population.workers
            assert op.path.startswith("/api/v1/me/applications/")
        elif op.name == "my_jobs":
            assert op.user_id in population.clients
            assert op.path.startswith("/api/v1/me/jobs/")
    paths = {op.path for op in ops if op.name in ("my_applications", "my_jobs")}
    assert "/api/v1/me/applications/?upcoming=true" in paths
    assert "/api/v1/me/jobs/?status=open" in paths


def test_the_workloads_payments_stay_within_their_jobs_ceiling(population):
    """Issue 12: every payment the workload makes is accepted, however many it makes (write-only)."""
    workload = Workload(population, seed=13, write_share=1.0)
    assert population.pay_targets

    result = run(workload, 600)

    assert result.errors == 0, result.statuses
    assert 409 not in result.statuses
