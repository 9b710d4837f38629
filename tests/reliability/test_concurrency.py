"""Concurrency against the running stack: stale reads, idempotent payments, slots.

One stack for the module: the Procfile's web (2 gunicorn workers), worker and beat under honcho,
on a copy of the seeded database, with the cache and the broker on private redis-servers. Every
request goes over HTTP, from threads of the test process, so requests really run in parallel in
different server processes, each with its own database connection.
"""

import threading
import time
import uuid
from collections import Counter
from decimal import Decimal

import psycopg
import pytest

from bench.stack import drop_database, free_port, stack_environment, with_path
from tests.redis_server import RedisServer
from tests.reliability.conftest import copy_template
from tests.reliability.load import Load, Phase, final_agreement, summarize
from tests.stack import Stack

pytestmark = [pytest.mark.reliability, pytest.mark.postgres, pytest.mark.redis]

TARGET_OPERATIONS = 10_000
# A safety cap, not a speed requirement (speed is the benchmark's): the test judges 10,000 operations
# however long they take on a shared machine (about 100 s alone on 2 cores; make test runs it beside
# the in-process tests, tests/lanes.py).
MAX_SECONDS = 420.0


@pytest.fixture(scope="module")
def shared(rel_server_url, rel_template, tmp_path_factory):
    name = copy_template(rel_server_url, rel_template)
    database_url = with_path(rel_server_url, f"/{name}")
    cache, broker = RedisServer(), RedisServer()
    stack = None
    try:
        cache.start()
        broker.start()
        workdir = tmp_path_factory.mktemp("concurrency")
        env = stack_environment(database_url, cache.url, free_port(), workdir, CELERY_BROKER_URL=broker.url)
        stack = Stack(env, ("web", "worker", "beat"))
        stack.wait_ready()
        yield stack, database_url
    finally:
        if stack is not None:
            stack.close()
        cache.close()
        broker.close()
        drop_database(rel_server_url, name)


def at_once(calls: list) -> list:
    """Run the callables in threads released together by a barrier; their results, in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index: int, call) -> None:
        barrier.wait()
        results[index] = call()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_no_stale_read_and_no_lost_write_over_ten_thousand_operations(shared, seed, figures):
    stack, database_url = shared
    load = Load(stack.api, {u: seed.token(u) for u in seed.people}, seed.people, writers=3, readers=6)

    started = time.monotonic()
    load.start()
    while len(load.ops) < TARGET_OPERATIONS and time.monotonic() - started < MAX_SECONDS:
        time.sleep(0.25)
    load.stop()
    elapsed = time.monotonic() - started
    agreement = final_agreement(stack.api, database_url, load)
    run = summarize(load, [Phase("run", started, time.monotonic())], reference=started)["run"]

    figures.update(
        kind="concurrency",
        check="stale reads and lost writes under concurrent writers and readers",
        clients={"writers": load.writers, "readers": load.readers, "users": len(seed.people)},
        servers={"gunicorn_workers": 2, "celery_pool": 2},
        operations=run["operations"],
        reads=run["reads"],
        writes=run["writes"],
        seconds=round(elapsed, 1),
        ops_per_s=round(run["operations"] / elapsed, 1),
        failed=run["failed"],
        stale_reads=run["stale_reads"],
        wrong_reads=run["wrong_reads"],
        lost_writes=len(agreement["lost_writes"]),
        final_disagreements=len(agreement["disagreements"]),
        final_reads_checked=agreement["reads_checked"],
        read_ms=run["read_ms"],
        write_ms=run["write_ms"],
        cache=run["cache"],
        stale_examples=run["stale_examples"],
    )
    assert run["operations"] >= TARGET_OPERATIONS, f"only {run['operations']} operations in {elapsed:.0f} s"
    assert run["failed"] == 0, run["failures"]
    assert run["stale_reads"] == 0, run["stale_examples"]
    assert run["wrong_reads"] == 0
    assert agreement["lost_writes"] == [], agreement
    assert agreement["disagreements"] == [], agreement


def test_payment_retries_create_one_payment_and_balances_add_up(shared, seed, figures):
    stack, database_url = shared
    api, payer_token, staff_token = stack.api, seed.token(seed.payer), seed.token(seed.staff)
    (retried_job, retried_payee), *other_jobs = seed.paid_jobs

    def pay(job_id: int, payee: int, amount: str, key: str):
        return api.call(
            "POST",
            f"/api/v1/jobs/{job_id}/payments/",
            token=payer_token,
            body={"payee": payee, "amount": amount},
            headers={"Idempotency-Key": key},
        )

    # 20 concurrent retries of one payment (one key).
    key = str(uuid.uuid4())
    retries = at_once([lambda: pay(retried_job, retried_payee, "120.00", key) for _ in range(20)])
    retry_statuses = Counter(reply.status for reply in retries)
    retry_ids = {reply.json()["id"] for reply in retries if reply.status in (200, 201)}

    # Concurrent payments for different jobs, each with its own key and amount.
    amounts = {job: (payee, f"{10 + index}.50") for index, (job, payee) in enumerate(other_jobs)}
    created = at_once([lambda j=j, p=p, a=a: pay(j, p, a, str(uuid.uuid4())) for j, (p, a) in amounts.items()])
    payments = {retried_payee: (next(iter(retry_ids)), Decimal("120.00"))} | {
        payee: (reply.json()["id"], Decimal(amount))
        for (payee, amount), reply in zip(amounts.values(), created, strict=True)
        if reply.status == 201
    }

    # All of them succeed at once; five concurrent confirmations of one payment move it once.
    succeeded = at_once(
        [
            lambda pid=pid: api.call("POST", f"/api/v1/payments/{pid}/succeed/", token=staff_token)
            for pid, _ in payments.values()
        ]
    )
    extra = at_once(
        [lambda: api.call("POST", f"/api/v1/payments/{payments[retried_payee][0]}/succeed/", token=staff_token)] * 5
    )

    total = sum(amount for _, amount in payments.values())
    payer_account = api.expect(200, "GET", "/api/v1/me/account-details/", token=payer_token)
    payee_accounts = {
        payee: api.expect(200, "GET", "/api/v1/me/account-details/", token=seed.token(payee)) for payee in payments
    }
    with psycopg.connect(database_url, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT job_id, count(*), sum(amount) FILTER (WHERE status = 'succeeded') FROM payments_payment"
            " WHERE payer_id = %s GROUP BY job_id",
            [seed.payer],
        ).fetchall()
    per_job = {job_id: (count, amount) for job_id, count, amount in rows}

    figures.update(
        kind="concurrency",
        check="payments: 20 concurrent retries with one Idempotency-Key; concurrent payments for different jobs",
        operations=len(retries) + len(created) + len(succeeded) + len(extra) + 1 + len(payee_accounts),
        failed=sum(1 for r in created + succeeded if r.status >= 400),
        retry_statuses=dict(retry_statuses),
        payments_created_by_retries=len(retry_ids),
        concurrent_payments=len(created),
        concurrent_payments_created=sum(1 for r in created if r.status == 201),
        duplicate_confirmations=dict(Counter(r.status for r in extra)),
        sum_of_succeeded_payments=str(total),
        payer_total_paid=payer_account["total_paid"],
        stale_reads=0,
        lost_writes=0,
    )
    assert retry_statuses == {201: 1, 200: 19}, retry_statuses
    assert len(retry_ids) == 1
    assert per_job[retried_job][0] == 1
    assert [r.status for r in created] == [201] * len(other_jobs)
    assert [r.status for r in succeeded] == [200] * len(payments)
    assert Counter(r.status for r in extra) == {409: 5}
    assert Decimal(payer_account["total_paid"]) == total == sum(amount for _, amount in per_job.values())
    assert Decimal(payer_account["balance"]) == -total
    for payee, (_, amount) in payments.items():
        assert Decimal(payee_accounts[payee]["total_earned"]) == amount
        assert Decimal(payee_accounts[payee]["balance"]) == amount


def test_concurrent_accepts_never_exceed_the_slots(shared, seed, figures):
    stack, database_url = shared
    api, poster_token = stack.api, seed.token(seed.poster)
    applications = {int(job): ids for job, ids in seed.open_jobs.items()}

    calls = [
        lambda a=application: api.call("POST", f"/api/v1/applications/{a}/accept/", token=poster_token)
        for ids in applications.values()
        for application in ids
    ]
    replies = at_once(calls)
    statuses = Counter(reply.status for reply in replies)
    jobs = {job: api.expect(200, "GET", f"/api/v1/jobs/{job}/") for job in applications}
    with psycopg.connect(database_url, autocommit=True) as connection:
        accepted = dict(
            connection.execute(
                "SELECT job_id, count(*) FROM jobs_application WHERE status = 'accepted' AND job_id = ANY(%s)"
                " GROUP BY job_id",
                [list(applications)],
            ).fetchall()
        )

    figures.update(
        kind="concurrency",
        check=f"applications: {len(calls)} concurrent accepts over {len(applications)} jobs of {seed.slots} slots",
        operations=len(calls) + len(jobs),
        failed=sum(1 for reply in replies if reply.status not in (200, 409)),
        statuses=dict(statuses),
        accepted_per_job=sorted(accepted.values()),
        slots=seed.slots,
        stale_reads=sum(1 for job, body in jobs.items() if body["applications"]["accepted"] != accepted.get(job)),
        lost_writes=0,
    )
    assert statuses == {200: seed.slots * len(applications), 409: len(calls) - seed.slots * len(applications)}
    assert accepted == dict.fromkeys(applications, seed.slots)
    for _job, body in jobs.items():
        assert (body["status"], body["slots_remaining"], body["applications"]["accepted"]) == ("filled", 0, seed.slots)
    conflicts = [reply.json() for reply in replies if reply.status == 409]
    assert all(c["type"] == "client_error" and c["errors"][0]["code"] for c in conflicts)
