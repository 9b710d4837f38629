"""docs/reliability.md, rendered from what the reliability tests saw.

Each test in ``tests/reliability/`` writes one JSON document to ``test-artifacts/reliability/``
(its name, outcome, time, and its figures). ``render()`` turns a set of them into the Markdown
page: a summary table (operations, failed requests, 500s, stale reads, lost writes, longest
staleness) and one section per fault or check, followed by the findings the tests forced and the
trade-offs behind the settings. Pure Python: ``python -m tests.reliability.report`` reads the files
and writes the page (``main()``); the tests drive ``render()`` directly.
"""

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_INPUT = Path("test-artifacts/reliability")
DEFAULT_OUTPUT = Path("docs/reliability.md")
NONE = "\N{EN DASH}"  # an empty cell


def load(directory: Path) -> list[dict]:
    """The documents in ``directory``, ordered as the summary lists them."""
    documents = []
    for path in sorted(directory.glob("*.json")):
        document = json.loads(path.read_text())
        document.setdefault("name", path.stem)
        documents.append(document)
    return sorted(documents, key=lambda d: (_ORDER.get(_section_of(d), len(_ORDER)), d["name"]))


def _section_of(document: dict) -> str:
    name = document["name"]
    return next((prefix for prefix in _ORDER if name.startswith(prefix)), name)


def _cell(value) -> str:
    if value is None:
        return NONE
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value):,}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value).replace("|", "\\|")


def _table(header: list[str], rows: Iterable[list], align: str | None = None) -> list[str]:
    align = align or "l" + "r" * (len(header) - 1)
    marks = {"l": "---", "r": "---:"}
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(marks[a] for a in align) + " |"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


def _span(values: list) -> str:
    return str(values[0]) if values[0] == values[-1] else f"{values[0]} to {values[-1]}"


def _title(document: dict) -> str:
    return document.get("fault") or document.get("check") or document["name"]


def _ms(figures: dict | None) -> str:
    if not figures or figures.get("p50") is None:
        return NONE
    return f"{_cell(figures['p50'])} / {_cell(figures['p99'])}"


# -- sections -------------------------------------------------------------------------------------


def _redis_outage(doc: dict) -> list[str]:
    phases = doc["phases"]
    rows = [
        [
            name,
            p["seconds"],
            p["operations"],
            p["failed"],
            _ms(p["read_ms"]),
            _ms(p["write_ms"]),
            ", ".join(f"{k} {v}" for k, v in sorted(p["cache"].items())),
            p["stale_reads"],
        ]
        for name, p in phases.items()
    ]
    after = phases.get("after", {})
    return [
        *_table(
            [
                "phase",
                "s",
                "operations",
                "failed",
                "read ms p50 / p99",
                "write ms p50 / p99",
                "cache outcomes",
                "stale",
            ],
            rows,
            "lrrrrrlr",
        ),
        "",
        f"{doc['clients']['writers']} writer and {doc['clients']['readers']} reader threads over "
        f"{doc['clients']['users']} users. Circuit-breaker transitions logged by the web processes: "
        f"{doc.get('breaker_events_web', 0)}; outage replays: {len(doc.get('outage_replays', []))} "
        f"({'; '.join(doc.get('outage_replays', [])) or 'none'}). Longest staleness after Redis returned: "
        f"{_cell(after.get('max_staleness_s', 0.0))} s; final check: "
        f"{doc['final_agreement']['reads_checked']} reads of {doc['final_agreement']['subjects']} values, "
        f"{len(doc['final_agreement']['disagreements'])} disagreeing with the database.",
    ]


def _lost_after_replay(doc: dict) -> list[str]:
    return [
        f"Reads after the web process's circuit closed: {doc.get('reads_after_cooldown', 0)}, stale: "
        f"{doc['stale_reads']}.",
    ]


def _broker(doc: dict) -> list[str]:
    rows = [[phase, _ms(figures), _cell(figures.get("max"))] for phase, figures in doc["write_ms"].items()]
    warm = doc["commit_to_warm_s"]
    return [
        *_table(["broker", "write ms p50 / p99", "worst write ms"], rows),
        "",
        f"Reads during the outage: {', '.join(f'{k} {v}' for k, v in doc['reads_during_outage'].items())} "
        f"(each rebuilt by the read itself, fresh). Commit to warm by the worker: {warm['before']} s before, "
        f"{warm['after the outage']} s after; broker back to every key warm: {doc['back_to_all_warm_s']} s.",
    ]


def _pool_killed(doc: dict) -> list[str]:
    return [
        f"Redelivered to the replacement pool process {doc['redelivered_after_s']} s after the SIGKILL "
        f"(WorkerLostError logged: {doc['worker_lost_logged']}); warm {doc['warm_after_lock_released_s']} s after "
        f"the database let it through; completed rebuilds of the key: {doc['completed_rebuilds_of_the_key']}.",
    ]


def _whole_worker_killed(doc: dict) -> list[str]:
    return [
        f"Unacknowledged messages in the broker after the kill: {doc['unacked_after_kill']}. The next read rebuilt "
        f"the key (a miss, fresh). A worker started later redelivered the message "
        f"{doc['redelivered_after_s']} s after its first delivery (visibility timeout shortened to "
        f"{doc['visibility_timeout_s']} s for the test); same payload after the redelivered rebuild: "
        f"{'yes' if doc['same_payload_after_redelivery'] else 'NO'}.",
    ]


def _postgres(doc: dict) -> list[str]:
    phases = doc["phases"]
    rows = [
        [name, p["operations"], ", ".join(f"{k}: {v}" for k, v in p["statuses"].items()), _ms(p["read_ms"])]
        for name, p in phases.items()
    ]
    return [
        *_table(["phase", "operations", "statuses", "read ms p50 / p99"], rows, "lrlr"),
        "",
        f"500s: {doc.get('server_errors', 0)}; dropped connections: {doc['no_answer']}; 503 `service_unavailable`: "
        f"{doc['answered_503']}. During the outage, hot-cache hits still answered 200: "
        f"{doc['outage_reads_served_200']} reads. The admin (outside DRF) answered {doc['admin_during_outage']}, "
        f"`/readyz` {doc['readyz_during_outage']}. Every request answered 200 again "
        f"{doc['recovered_after_s']} s after PostgreSQL accepted connections; processes restarted: "
        f"{doc['processes_restarted']}.",
    ]


def _beat_twice(doc: dict) -> list[str]:
    sends = ", ".join(f"{who} {n}" for who, n in doc["refresh_sends"].items())
    return [
        f"Refresh-ahead sends: {sends}. Keys rebuilt: {doc['keys_refreshed']} of {doc['keys_popular']} popular "
        f"(no other key), {doc['refresh_rebuilds']} rebuilds, {doc['payload_versions_seen']} distinct payloads "
        f"seen (one per key), keys with a body differing from the database: "
        f"{len(doc['keys_with_a_different_body'])}. Outage records: {doc['outage_records_inserted']} inserted, "
        f"{doc['outage_records_replayed']} replayed in {doc['replays']} replays.",
    ]


def _stale_checker(doc: dict) -> list[str]:
    return [
        *_table(
            ["operations", "reads", "writes", "seconds", "ops/s", "stale reads", "lost writes", "read ms p50 / p99"],
            [
                [
                    doc["operations"],
                    doc["reads"],
                    doc["writes"],
                    doc["seconds"],
                    doc["ops_per_s"],
                    doc["stale_reads"],
                    doc["lost_writes"],
                    _ms(doc["read_ms"]),
                ]
            ],
        ),
        "",
        f"{doc['clients']['writers']} writer and {doc['clients']['readers']} reader threads over "
        f"{doc['clients']['users']} users against {doc['servers']['gunicorn_workers']} gunicorn workers and a "
        f"worker with {doc['servers']['celery_pool']} pool processes. Cache outcomes: "
        f"{', '.join(f'{k} {v}' for k, v in sorted(doc['cache'].items()))}. Final check: "
        f"{doc['final_reads_checked']} reads on every path, {doc['final_disagreements']} disagreeing with the "
        "database.",
    ]


def _payments(doc: dict) -> list[str]:
    return [
        f"20 retries with one key: statuses {doc['retry_statuses']}, payments created: "
        f"{doc['payments_created_by_retries']}. Concurrent payments for different jobs: "
        f"{doc['concurrent_payments_created']} of {doc['concurrent_payments']} created. Five concurrent "
        f"confirmations of one payment: {doc['duplicate_confirmations']}. Sum of succeeded payments "
        f"{doc['sum_of_succeeded_payments']}, the payer's `total_paid` {doc['payer_total_paid']}.",
    ]


def _applications(doc: dict) -> list[str]:
    return [
        f"Statuses: {doc['statuses']}; accepted per job: {doc['accepted_per_job']} (slots: {doc['slots']}).",
    ]


def _fault_matrix(doc: dict) -> list[str]:
    rows = [
        [
            fault,
            f["requests"],
            f["seconds"],
            ", ".join(f"{status}: {count}" for status, count in f["statuses"].items()),
            len(f["server_errors"]),
            f["documented_503"],
            f["acknowledged_writes"],
        ]
        for fault, f in doc["per_fault"].items()
    ]
    revoked = doc["revoked_token"]
    return [
        f"Every route and method of the access matrix ({doc['routes']}) by each of its four callers, under each "
        f"of {len(doc['faults'])} cache faults: {doc['routes_x_faults']} routes x faults tried, "
        f"{doc['server_errors']} responses >= 500 other than the documented 503s, {doc['lost_writes']} of "
        f"{doc['acknowledged_writes']} acknowledged writes lost (each checked in the database and in the API on "
        "both web workers after the outage was replayed; every revoked token checked to stay revoked). The "
        "4xx are the access rules' answers to the callers who may not do what they ask.",
        "",
        *_table(
            ["cache Redis", "requests", "s", "statuses", ">= 500", "503 documented", "writes acknowledged"],
            rows,
            "lrrlrrr",
        ),
        "",
        f"Redis paused for writes (half available): after an acknowledged `POST /api/v1/auth/logout/`, the old "
        f"token was tried {revoked['tries']} times over both web workers and authenticated "
        f"{revoked['authenticated']} times"
        + (
            f", the last {_cell(revoked['last_authenticated_s'])} s after the acknowledgement"
            if revoked["authenticated"]
            else ""
        )
        + f" (the bound: one outage check, `CACHE_OUTAGE_POLL` = {_cell(revoked['poll_s'])} s; before the fix: "
        "22 of 31 over 15 s).",
    ]


_SECTIONS: dict[str, Callable[[dict], list[str]]] = {
    "test_every_route_under_every_cache_fault": _fault_matrix,
    "test_redis_outage_under_steady_reads_and_writes": _redis_outage,
    "test_a_write_lost_after_another_process_replayed": _lost_after_replay,
    "test_broker_unreachable_at_commit": _broker,
    "test_pool_process_killed_mid_rebuild": _pool_killed,
    "test_whole_worker_killed_mid_rebuild": _whole_worker_killed,
    "test_postgres_restart": _postgres,
    "test_two_beats": _beat_twice,
    "test_no_stale_read_and_no_lost_write": _stale_checker,
    "test_payment_retries": _payments,
    "test_concurrent_accepts": _applications,
}
_ORDER = {prefix: index for index, prefix in enumerate(_SECTIONS)}


FINDINGS = """\
## What the tests found, and the fixes

Each of these failed its test before the fix (figures from that run) and passes after it.

1. **PostgreSQL restart: 500s.** With the database down, every request that reached it answered 500
   (`Server Error (500)`): 508 of them in one 5 s outage, the admin included. Now a refused or lost
   database connection (`OperationalError`, `InterfaceError`) is a 503 `service_unavailable` with
   `Retry-After: 1` in the one error shape, from DRF views (`backend/common/errors.py`) and from
   everything else (`handler500`, `backend/common/views.py`). The processes reconnect by themselves
   (`CONN_HEALTH_CHECKS`; the worker closes unusable connections between tasks).
2. **Broker paused: 6 s writes.** A paused or blackholed broker accepts connections and never
   answers: the first publish after the pause waited out the 2 s socket timeout three times (an
   attempt, then a retry on a new connection), each later probe of the circuit breaker once; writes
   took up to 6,029 ms. Now the broker's
   socket timeout is 1 s and a publish is not retried (a reconnect after a broker restart needs no
   retry; the next read rebuilds a key whose rebuild could not be sent): the worst write is about
   1 s, once per cooldown per web process (`config/settings/base.py`).
3. **A write lost after another process's replay stayed stale.** A web process whose circuit is
   open skips Redis until its cooldown ends; the writes it skips are recorded at most once per
   outage. When another process replayed the outage in the meantime (deleting that record) and a
   payload was rebuilt, the later skipped write had no record left: once the circuit closed, the
   old payload was served as a hit (26 of 26 reads in the 3 s observed; it would have lasted until
   the TTL, an hour for profiles). Now a process that lost writes bumps the epoch at its own
   recovery unless the epoch was bumped after its last lost write (`backend/caching/recovery.py`).
4. **Concurrent replays bumped the epoch twice.** Two replays at once (two processes whose circuits
   close together, or two beats) both bumped the epoch, one deleting the records and the other none
   (`cache recovered: 0 outage record(s) replayed` in the logs): every payload invalidated twice.
   Now a replay locks the records (`SELECT ... FOR UPDATE`) while it bumps and deletes them, so
   the second waits and finds nothing to do.
5. **The cache failing outside the hot path: 500s.** With the cache Redis stopped or paused,
   `POST /api/v1/auth/token/`, `/auth/register/` and `/auth/logout/` answered 500: the cache
   backend returned None where DRF's throttle passed a default (`cache.get(key, [])`), and
   `set_many`, `incr` and the async `aset_many` broke their contracts too (233 of 561 cases of
   `tests/reliability/test_cache_contract.py` failed). Now every method of the backend answers as
   Django documents for an empty cache and a write not applied (`backend/caching/backends.py`).
6. **Half-available Redis: a revoked token kept working.** With Redis answering reads and refusing
   writes, the logout's cachalot invalidation was lost and the old token authenticated on 22 of 31
   requests over 15 s, from both web workers; before the fix the matrix's logout answered 500 under
   `CLIENT PAUSE ... WRITE`. Now no process serves anything from the cache while an invalidation is
   lost and not replayed: the process that lost it at once, every other one within
   `CACHE_OUTAGE_POLL` (1 s) of the acknowledgement (docs/caching.md, "Failures").
"""

TRADE_OFFS = """\
## Settings and their trade-offs

- **Broker timeouts** (`CELERY_BROKER_TRANSPORT_OPTIONS`): connection and socket timeouts of 1 s,
  no publish retry, and the broker's circuit breaker (`CACHE_BREAKER_COOLDOWN`, 2 s). A write pays
  at most about 1 s when the broker hangs, and only the write that probes it after each cooldown;
  when the broker refuses connections the cost is a millisecond. A rebuild that could not be sent
  is not needed for correctness: the key was invalidated at commit and the next read builds it.
  The worker's consumer is not affected by `socket_timeout` (its event loop has its own checks).
- **Visibility timeout** (`visibility_timeout`, 120 s; `CELERY_BROKER_VISIBILITY_TIMEOUT`). A
  message delivered to a worker that dies without acknowledging it (SIGKILL of the whole worker,
  a lost host) is redelivered this long after its delivery; a dead *pool process* is different:
  its task is redelivered at once (`acks_late` + `reject_on_worker_lost`, measured above). A
  shorter timeout would redeliver sooner after a hard crash, but any message unacknowledged for
  longer while its worker is alive would run twice: a prefetched message waiting behind a task of
  up to 60 s (refresh-ahead) and then running. Nothing is lost meanwhile: the message stays in the
  broker, and the key it would rebuild is rebuilt by the next read. So the timeout stays at 120 s,
  and `unacked_restore_throttle` is 1 so that workers look for such messages every 10 s (kombu's
  default, 100 s, added up to 100 s more). The silk garbage collection may run up to 180 s; run
  twice, it deletes nothing more.
- **Clock skew** (`backend.caching.recovery.CLOCK_SKEW_NS`, 1 s): a process that lost writes
  trusts another process's replay only if the epoch (a timestamp) is over 1 s newer than its last
  lost write. Hosts whose clocks differ by more would need a larger margin; a replay too many costs
  a burst of misses, never a stale read.
- **The embedded default's writers** (SQLite, `config/settings/base.py`): `transaction_mode`
  IMMEDIATE, a 20 s busy timeout (`DJANGO_SQLITE_TIMEOUT`) and WAL. Before, 12 users editing their
  profiles at once through `make run`'s server got 50 of 60 writes answered 503 (`database is
  locked`: a deferred transaction that reads and then writes cannot wait for the lock). Now 12
  writers over 3 rounds, and 24 over 5, are all applied with 0 errors, serialised at about 12
  writes a second on the 2-core CI machine; IMMEDIATE alone removes the errors, WAL makes them
  faster (`tests/deployment/test_embedded_concurrency.py`, README). A write waits at most the
  timeout before a 503.
- **Readiness** (`READINESS_CACHE_SECONDS`, 1 s): each `/readyz` check's outcome is remembered per
  process and concurrent calls share one check, so anonymous callers cost at most one round trip
  per service per process per second, over connections already open (25 calls: 0 new Redis
  connections, `tests/ops/test_readiness_load.py`; before, 26). An outage shows up to 1 s late.
- **Outage check** (`CACHE_OUTAGE_POLL`, 1 s): how often each process asks the database whether
  an invalidation is lost and not replayed (one indexed `EXISTS` from a daemon thread per process,
  never on a request's path). It bounds how long another process may serve a cached entry after a write
  whose invalidation Redis refused was acknowledged; shorter costs a query more often per process,
  longer widens the window. The process that lost the write needs no check: it stops at once.
- **One beat**: two beats double every periodic task (measured above) and change nothing else;
  docs/deployment.md says how to keep it at one.
"""

LIMITS = """\
## Rate limits and where the broker lives

- **Who a client is.** Rate limits count the address the outermost trusted proxy saw
  (`DJANGO_NUM_PROXIES`: 0 by default, 1 in production for the platform's router), per /64 for IPv6,
  per user once logged in. Before, the `auth` limit keyed on the raw `X-Forwarded-For` header: a new
  value per request removed it (40 wrong passwords, no 429). `tests/security/test_auth.py` tries 7
  forwarding-header spoofs (new `X-Forwarded-For`, changing chains, two headers, `X-Real-IP`,
  `Forwarded`, garbage, IPv4-mapped IPv6) against each of the 7 endpoints that take a password or
  create an account (API register, token, logout; admin login, password change, set password, add
  user), with and without a router: 98 cases, each throttled at the limit.
- **Concurrent excess: none.** Counting is an atomic `INCR` per client and fixed window in Redis. 40
  requests from one client released together against gunicorn (2 processes x 8 threads) get exactly the
  limit of 10 through, with or without spoofed headers (`tests/security/test_throttling.py`); DRF's own
  throttle (read a list, write it back) let 28 to 40 of 40 through. A fixed window lets a client make up
  to twice the rate in a span that straddles two windows (the end of one, the start of the next).
- **During a Redis outage** (stopped, or out of memory with `noeviction`) each web process counts in its
  own memory: a client gets at most the rate from each process, never a 500, and the shared count
  resumes when Redis answers. Chosen over failing closed (every login refused while the cache is down)
  and failing open (unlimited password guessing for as long as it lasts).
- **Anonymous requests** are limited per address (`DJANGO_ANON_THROTTLE_RATE`, 120/min), the health
  probes never; authenticated ones only when `DJANGO_USER_THROTTLE_RATE` is set (a Redis round trip per
  request otherwise spared on a hot hit).
- **The broker is never evicted with the cache.** Eviction is per Redis server, not per database: with the
  broker on the next database of the cache's server (the old default) `allkeys-lru` emptied its queue (79
  queued rebuilds lost). Production now requires `CELERY_BROKER_URL`; `check --deploy` (the release) fails
  and `/readyz` lists `warnings` when the broker's server evicts or is the cache's
  (`tests/ops/test_broker_placement.py`: 10 placements on private redis-servers).
"""


def render(documents: list[dict]) -> str:
    recorded = sorted(d.get("recorded_at", "") for d in documents)
    machines = {
        (d["machine"]["cpus"], round(d["machine"].get("load_avg_1m", 0))) for d in documents if d.get("machine")
    }
    cpus = sorted({cpus for cpus, _ in machines})
    loads = sorted({load for _, load in machines})
    lines = [
        "# Reliability",
        "",
        "<!-- Generated by `python -m tests.reliability.report` from test-artifacts/reliability/*.json,",
        "     which the tests in tests/reliability/ write. Do not edit by hand: run the tests, then the command. -->",
        "",
        "The guarantees of the architecture (read-your-writes, no stale sets, fail open and recover clean) "
        "checked against the real stack under faults and concurrency: the Procfile's processes under honcho "
        "(gunicorn with 2 workers, a Celery worker, beat) on PostgreSQL, with the cache and the broker on "
        "private redis-servers that the tests stop and pause (tests/reliability/). Run them with "
        "`DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/pytest -m reliability` (CI runs them in "
        "`make test`), then `python -m tests.reliability.report`.",
        "",
        f"Figures from the run of {recorded[0][:10] if recorded else NONE}"
        + (f" on {', '.join(map(str, cpus))} CPU(s)" if cpus else "")
        + (f", load average {_span(loads)} while they ran" if loads else "")
        + " (other work was running: the latencies are the machine's as much as the code's; the counts are not).",
        "",
        "A *stale read* shows a value older than the last write acknowledged before the read was sent; its "
        "*staleness* is how long before the read that newer write had been acknowledged. A *lost write* is an "
        "acknowledged write that the database or a read path does not show at the end. *Failed* counts every "
        "response other than 2xx; *5xx* the responses of 500 and above other than the 503s a database "
        "outage calls for, and requests that got no answer.",
        "",
        "## Summary",
        "",
        *_table(
            ["fault or check", "outcome", "operations", "failed", "5xx", "stale reads", "lost writes", "staleness s"],
            [
                [
                    _title(d),
                    d.get("outcome", "?"),
                    d.get("operations"),
                    d.get("failed"),
                    d.get("server_errors", 0),
                    d.get("stale_reads"),
                    d.get("lost_writes"),
                    d.get("longest_staleness_s", 0.0),
                ]
                for d in documents
            ],
            "llrrrrrr",
        ),
        "",
        f"Totals: {sum(d.get('operations') or 0 for d in documents):,} operations, "
        f"{sum(d.get('stale_reads') or 0 for d in documents)} stale reads, "
        f"{sum(d.get('lost_writes') or 0 for d in documents)} lost writes, longest staleness after recovery "
        f"{max((d.get('longest_staleness_s') or 0.0 for d in documents), default=0.0)} s. The failed requests "
        "of the PostgreSQL restart are its 503s: a request that needs the database while it is down.",
        "",
    ]
    for document in documents:
        section = _SECTIONS.get(_section_of(document))
        lines += [
            f"## {_title(document)}",
            "",
            f"`{document.get('test', document['name'])}`: {document.get('outcome')}.",
        ]
        if section is not None:
            lines += ["", *section(document)]
        lines.append("")
    lines += [FINDINGS, TRADE_OFFS, LIMITS]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m tests.reliability.report [--input DIR] [--output FILE|-]``: 0 when written, 1 when
    there are no figures; relative paths are taken from the repository's root."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.reliability.report",
        description="Render docs/reliability.md from test-artifacts/reliability/*.json, which the tests in "
        "tests/reliability/ write (run them first: pytest -m reliability).",
    )
    parser.add_argument("--input", type=Path, default=DEFAULT_INPUT, help="directory of the tests' JSON files")
    parser.add_argument("--output", default=str(DEFAULT_OUTPUT), help="Markdown file to write ('-': stdout)")
    options = parser.parse_args(argv)
    directory = options.input if options.input.is_absolute() else ROOT / options.input
    documents = load(directory) if directory.is_dir() else []
    if not documents:
        print(f"no figures in {directory}: run the reliability tests first (pytest -m reliability)", file=sys.stderr)
        return 1
    page = render(documents)
    if options.output == "-":
        sys.stdout.write(page)
        return 0
    target = Path(options.output)
    target = target if target.is_absolute() else ROOT / target
    target.write_text(page)
    print(f"wrote {target} from {len(documents)} test(s)")
    failed = [d["name"] for d in documents if d.get("outcome") != "passed"]
    if failed:
        print(f"not passed in the recorded run: {', '.join(failed)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
