"""The benchmark's load generator: the Paeshift workload (bench/workload.py) over HTTP.

Run by ``manage.py bench`` as its own process (``python -m locust -f this --headless ...``); no
Django here: the population (users, tokens, targets) comes from the JSON file the bench command
wrote. Each virtual user owns a ``Workload``: seed ``BENCH_SEED + index``, the same hot users and
jobs for everyone (``order_seed``), its own share of the one-time targets. Every response is
timed and its ``Server-Timing`` header parsed (SQL queries, hot-cache outcome); the reads that can
be judged are checked against the writes acknowledged before them (``staleness``).

Environment:
  BENCH_POPULATION  population JSON (required)
  BENCH_MODE        mixed (the workload), hot (hot reads only), floor (every request to the floor)
  BENCH_SEED        base seed (default 1)
  BENCH_CLIENTS     number of virtual users (shards the one-time targets)
  BENCH_DURATION    seconds measured after the warm-up
  BENCH_CONTROL     a directory: wait for the file ``measure`` there before measuring (the bench
                    command resets the server's counters first); without it, measure after
                    BENCH_WARMUP seconds
  BENCH_OUTPUT      where to write the phase's figures (JSON)
  BENCH_WRITES_IN / BENCH_WRITES_OUT  the stale-read checker's write log, carried between phases
"""

import itertools
import json
import os
import time
from pathlib import Path

import gevent
from locust import FastHttpUser, constant, events, task

from bench.harness.metrics import ClientMetrics
from bench.staleness import StaleReadChecker
from bench.workload import HOT_READ_MIX, READ_MIX, Op, Population, Workload

FLOOR_PATH = "/api/v1/ops/floor/"
MODE = os.environ.get("BENCH_MODE", "mixed")
SEED = int(os.environ.get("BENCH_SEED", "1"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "1"))
DURATION = float(os.environ.get("BENCH_DURATION", "30"))
WARMUP = float(os.environ.get("BENCH_WARMUP", "5"))
CONTROL = Path(os.environ["BENCH_CONTROL"]) if os.environ.get("BENCH_CONTROL") else None
OUTPUT = os.environ.get("BENCH_OUTPUT")

with open(os.environ["BENCH_POPULATION"]) as _handle:
    POPULATION = Population.from_json(json.load(_handle))
METRICS = ClientMetrics()
CHECKER = StaleReadChecker()
if os.environ.get("BENCH_WRITES_IN") and os.path.exists(os.environ["BENCH_WRITES_IN"]):
    with open(os.environ["BENCH_WRITES_IN"]) as _handle:
        CHECKER.load_json(json.load(_handle))
_index = itertools.count()


def http_headers(op: Op, token: str) -> dict[str, str]:
    """The op's headers (WSGI spelling, ``HTTP_IDEMPOTENCY_KEY``) as sent on the wire."""
    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
    for meta, value in op.headers.items():
        name = meta.removeprefix("HTTP_").replace("_", "-").title()
        headers[name] = value
    return headers


def _results(data) -> list[dict]:
    return data.get("results", []) if isinstance(data, dict) else data


class BenchUser(FastHttpUser):
    wait_time = constant(0)
    network_timeout = 30.0
    connection_timeout = 10.0

    def on_start(self) -> None:
        index = next(_index)
        read_mix = HOT_READ_MIX if MODE == "hot" else READ_MIX
        write_share = 0.05 if MODE == "mixed" else 0.0
        self.workload = Workload(
            POPULATION,
            seed=SEED + index if MODE != "hot" else SEED + 100_000 + index,
            order_seed=SEED,
            shard=(index, max(CLIENTS, index + 1)),
            read_mix=read_mix,
            write_share=write_share,
        )

    @task
    def act(self) -> None:
        op = self.workload.next()
        token = self.workload.token_for(op)
        path, name = (FLOOR_PATH, "floor") if MODE == "floor" else (op.path, f"{op.kind}:{op.name}")
        pending = self._begin_write(op) if op.kind == "write" else None
        sent = time.time()
        start = time.perf_counter()
        with self.client.request(
            op.method,
            path,
            name=name,
            headers=http_headers(op, token),
            json=op.body if op.method != "GET" else None,
            catch_response=True,
        ) as response:
            latency_ms = (time.perf_counter() - start) * 1000
            acked = time.time()
            status = response.status_code or 0
            ok = 200 <= status < 300
            if ok:
                response.success()
            else:
                response.failure(f"HTTP {status}")
            METRICS.record(
                name,
                kind="read" if op.kind == "read" or MODE == "floor" else "write",
                namespace=None if MODE == "floor" else op.namespace,
                latency_ms=latency_ms,
                status=status,
                ok=ok,
                server_timing=(response.headers or {}).get("Server-Timing"),
            )
            if MODE == "floor":
                return
            if op.kind == "write":
                self._end_write(op, pending, response, sent=sent, acked=acked, ok=ok)
            elif ok:
                self._check_read(op, response, sent=sent)

    # -- stale-read bookkeeping ----------------------------------------------------------------

    def _begin_write(self, op: Op):
        now = time.time()
        if op.name == "profile_update":
            return CHECKER.begin_write("headline", op.user_id, op.body["headline"], sent=now)
        if op.name == "account_update":
            return CHECKER.begin_write("bank_name", op.user_id, op.body["bank_name"], sent=now)
        if op.name in ("payment_succeed", "payment_fail"):
            payment_id = int(op.path.rstrip("/").split("/")[-2])
            status = "succeeded" if op.name == "payment_succeed" else "failed"
            return CHECKER.begin_write("payment_status", payment_id, status, sent=now)
        return None

    def _end_write(self, op: Op, pending, response, *, sent: float, acked: float, ok: bool) -> None:
        if pending is not None:
            CHECKER.end_write(pending, acked=acked, ok=ok)
        if not ok:
            return
        if op.name == "payment_create":
            data = response.json()
            self.workload.payment_created(data["id"])
            CHECKER.wrote_value("payment_status", data["id"], data.get("status"), sent=sent, acked=acked)
            for party in (op.user_id, op.body["payee"]):
                CHECKER.added_item("payments", party, data["id"], sent=sent, acked=acked)
        elif op.name == "review_create":
            data = response.json()
            CHECKER.added_item("reviews_received", op.body["reviewee"], data["id"], sent=sent, acked=acked)
            CHECKER.added_item("reviews_given", op.user_id, data["id"], sent=sent, acked=acked)
        elif op.name == "application_create":
            # A worker's new application heads their list of applications (newest first).
            CHECKER.added_item("my_applications", op.user_id, response.json()["id"], sent=sent, acked=acked)

    def _check_read(self, op: Op, response, *, sent: float) -> None:
        problems: list[str] = []
        if op.name == "profile":
            headline = response.json().get("headline")
            if CHECKER.value_is_stale("headline", op.subject_id, headline, sent=sent):
                problems.append(f"headline {headline!r}")
        elif op.name == "account_details":
            bank_name = response.json().get("bank_name")
            if CHECKER.value_is_stale("bank_name", op.user_id, bank_name, sent=sent):
                problems.append(f"bank_name {bank_name!r}")
        elif op.name in ("payments", "reviews_received", "reviews_given") or (
            op.name == "my_applications" and "?" not in op.path  # the default page: every status, newest first
        ):
            rows = _results(response.json())
            missing = CHECKER.items_missing(op.name, op.subject_id, [row["id"] for row in rows], sent=sent)
            if missing:
                problems.append(f"{op.name} missing {missing[:5]}")
            if op.name == "payments":
                for row in rows:
                    if CHECKER.value_is_stale("payment_status", row["id"], row.get("status"), sent=sent):
                        problems.append(f"payment {row['id']} status {row.get('status')!r}")
        else:
            return
        CHECKER.tally(problems, path=op.path)


# -- phases: warm-up, measured window, summary ---------------------------------------------------


def _measure(environment) -> None:
    """Wait for the end of the warm-up, measure for DURATION seconds, then stop the run."""
    if CONTROL:
        while not (CONTROL / "measure").exists():
            gevent.sleep(0.01)
    else:
        gevent.sleep(WARMUP)
    environment.runner.stats.reset_all()
    CHECKER.reset_counts()
    now = time.time()
    METRICS.start(now)
    if CONTROL:
        (CONTROL / "measuring").write_text(json.dumps({"started": now}))
    gevent.sleep(DURATION)
    METRICS.stop(time.time())
    environment.runner.quit()


@events.test_start.add_listener
def _on_test_start(environment, **kwargs) -> None:
    if CONTROL:
        (CONTROL / "started").write_text(json.dumps({"started": time.time()}))
    gevent.spawn(_measure, environment)


@events.quitting.add_listener
def _on_quitting(environment, **kwargs) -> None:
    METRICS.stop(time.time())
    if OUTPUT:
        summary = METRICS.to_json()
        summary["mode"] = MODE
        summary["clients"] = CLIENTS
        summary["stale"] = {"checked": CHECKER.checked, "stale": CHECKER.stale, "examples": CHECKER.examples}
        with open(OUTPUT, "w") as handle:
            json.dump(summary, handle)
    if os.environ.get("BENCH_WRITES_OUT"):
        with open(os.environ["BENCH_WRITES_OUT"], "w") as handle:
            json.dump(CHECKER.to_json(), handle)
