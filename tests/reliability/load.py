"""Steady reads and writes over HTTP, and the judge of every read: is it stale?

Writers and readers are threads. Each user's writes come from one writer thread, one after the
other, with a value never used before (``h7-12``: facet, user, sequence), so that the value a read
shows names the write it comes from. Two facets per user: the profile's ``headline`` (written with
PATCH /api/v1/me/profile/, read on three paths, cached in ``profile:user``) and the account details'
``bank_name`` (PATCH /api/v1/me/account-details/, read on two paths, cached privately in
``account_details:user``).

A read is judged against the writes *acknowledged before it was sent*: it must show the last of
them or a later one (still in flight, so possibly committed). Anything older is a stale read; its
*staleness* is how long before the read the first write that superseded the shown value had been
acknowledged. A value no write made (and not the seeded one) is counted as wrong. The judge is the
benchmark's (bench/staleness.py), behind a lock for the threads.
"""

import itertools
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import psycopg

from bench.harness.metrics import percentile
from bench.staleness import PENDING, StaleReadChecker, Verdict, Write
from tests.reliability.seed import SEED_VALUE
from tests.stack import Api


@dataclass(frozen=True)
class Facet:
    name: str
    field: str
    write_path: str
    read_paths: tuple[tuple[str, str], ...]  # (path with {id}, who asks: "owner", "other" or "anonymous")
    table: str


HEADLINE = Facet(
    "headline",
    "headline",
    "/api/v1/me/profile/",
    (("/api/v1/users/{id}/profile/", "anonymous"), ("/api/v1/me/profile/", "owner"), ("/get-profile/{id}", "other")),
    "accounts_profile",
)
BANK_NAME = Facet(
    "bank_name",
    "bank_name",
    "/api/v1/me/account-details/",
    (("/api/v1/me/account-details/", "owner"), ("/get-account-details", "owner")),
    "accounts_accountdetails",
)
FACETS = (HEADLINE, BANK_NAME)


@dataclass
class Op:
    kind: str  # "read" or "write"
    facet: str
    user: int
    path: str
    sent: float
    done: float = PENDING
    status: int = 0  # 0: no HTTP answer (timeout, refused, reset)
    value: str | None = None
    cache: str | None = None  # Server-Timing cache outcome: hit, miss, bypass
    error: str = ""

    @property
    def latency_ms(self) -> float:
        return (self.done - self.sent) * 1000


class Ledger:
    """Every write per (facet, user), in the order its one writer sent them; shared by the threads."""

    def __init__(self) -> None:
        self.checker = StaleReadChecker()
        self._lock = threading.Lock()

    def begin(self, facet: str, user: int, value: str, sent: float) -> Write:
        """A write being sent; the caller sets its ``acked`` and ``ok`` once answered."""
        with self._lock:
            return self.checker.begin_write(facet, user, value, sent=sent)

    def judge(self, op: Op) -> Verdict:
        with self._lock:
            return self.checker.judge_value(op.facet, op.user, op.value, sent=op.sent, seeded=SEED_VALUE)

    def last_acknowledged(self) -> dict[tuple[str, int], Write]:
        """Per (facet, user): the last write, which every later read and the database must show.

        Writers are serial per user, so the last write sent is the last committed if it succeeded.
        """
        with self._lock:
            return {key: writes[-1] for key, writes in self.checker.values.items() if writes}


@dataclass
class Load:
    """``writers`` + ``readers`` threads over ``users`` until ``stop()``."""

    api: Api
    tokens: dict[int, str]
    users: list[int]
    writers: int = 2
    readers: int = 2
    facets: tuple[Facet, ...] = FACETS
    seed: int = 7
    ledger: Ledger = field(default_factory=Ledger)
    ops: list[Op] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for index in range(self.writers):
            own = self.users[index :: self.writers]
            self._threads.append(threading.Thread(target=self._write_loop, args=(index, own), daemon=True))
        for index in range(self.readers):
            self._threads.append(threading.Thread(target=self._read_loop, args=(index,), daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _record(self, op: Op) -> None:
        self.ops.append(op)  # list.append is atomic

    def _call(self, op: Op, method: str, token: str | None, body=None) -> dict | None:
        try:
            reply = self.api.call(method, op.path, token=token, body=body)
        except OSError as exc:
            op.done, op.error = time.monotonic(), f"{type(exc).__name__}: {exc}"
            return None
        op.done, op.status = time.monotonic(), reply.status
        op.cache = reply.timing.get("cache")
        if reply.status != 200:
            op.error = reply.body[:300].decode(errors="replace")
            return None
        return reply.json()

    def _write_loop(self, index: int, own: list[int]) -> None:
        rng = random.Random(self.seed * 1000 + index)
        sequence = itertools.count(1)
        for user in itertools.cycle(own):
            if self._stop.is_set():
                return
            facet = rng.choice(self.facets)
            value = f"{facet.name[0]}{user}-{next(sequence)}"
            op = Op("write", facet.name, user, facet.write_path, time.monotonic(), value=value)
            write = self.ledger.begin(facet.name, user, value, op.sent)
            body = self._call(op, "PATCH", self.tokens[user], {facet.field: value})
            if body is not None and body.get(facet.field) == value:
                write.acked, write.ok = op.done, True
            self._record(op)

    def _read_loop(self, index: int) -> None:
        rng = random.Random(self.seed * 1000 + 500 + index)
        while not self._stop.is_set():
            user = rng.choice(self.users)
            facet = rng.choice(self.facets)
            path, who = rng.choice(facet.read_paths)
            token = {
                "owner": self.tokens[user],
                "other": self.tokens[self.users[(self.users.index(user) + 1) % len(self.users)]],
                "anonymous": None,
            }[who]
            op = Op("read", facet.name, user, path.format(id=user), time.monotonic())
            body = self._call(op, "GET", token)
            if body is not None:
                op.value = body.get(facet.field)
            self._record(op)


@dataclass(frozen=True)
class Phase:
    name: str
    start: float
    end: float


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def summarize(load: Load, phases: list[Phase], *, reference: float) -> dict:
    """Per phase: operations, statuses, latencies, stale and wrong reads (times relative to ``reference``)."""
    result = {}
    for phase in phases:
        ops = [op for op in load.ops if phase.start <= op.sent < phase.end]
        reads = [op for op in ops if op.kind == "read"]
        writes = [op for op in ops if op.kind == "write"]
        verdicts = [(op, load.ledger.judge(op)) for op in reads if op.status == 200]
        stale = [(op, v) for op, v in verdicts if v.stale]
        statuses = Counter(str(op.status) if op.status else "no answer" for op in ops)
        result[phase.name] = {
            "seconds": round(phase.end - phase.start, 2),
            "operations": len(ops),
            "reads": len(reads),
            "writes": len(writes),
            "statuses": dict(sorted(statuses.items())),
            "failed": sum(1 for op in ops if op.status != 200),
            "server_errors": sum(1 for op in ops if op.status >= 500 or op.status == 0),
            "cache": dict(Counter(op.cache or "-" for op in reads)),
            "read_ms": latency_figures([op.latency_ms for op in reads if op.done != PENDING]),
            "write_ms": latency_figures([op.latency_ms for op in writes if op.done != PENDING]),
            "stale_reads": len(stale),
            "wrong_reads": sum(1 for _, v in verdicts if v.wrong),
            "max_staleness_s": round(max((v.staleness for _, v in stale), default=0.0), 3),
            "last_stale_read_at_s": round(max((op.sent - reference for op, _ in stale), default=0.0), 3)
            if stale
            else None,
            "stale_examples": [
                {"path": op.path, "shown": op.value, "at_s": round(op.sent - reference, 3), "stale_for_s": v.staleness}
                for op, v in stale[:5]
            ],
            "failures": [
                {"path": op.path, "kind": op.kind, "status": op.status, "error": op.error[:200]}
                for op in ops
                if op.status != 200
            ][:5],
        }
    return result


def latency_figures(samples: list[float]) -> dict:
    return {
        "p50": _ms(percentile(samples, 0.50)),
        "p99": _ms(percentile(samples, 0.99)),
        "max": _ms(max(samples, default=None)),
    }


def final_agreement(api: Api, database_url: str, load: Load) -> dict:
    """After the load: the database and every read path of every facet show each user's last write."""
    expected = load.ledger.last_acknowledged()
    lost, disagreements = [], []
    with psycopg.connect(database_url, autocommit=True, connect_timeout=5) as connection:
        stored = {
            (facet.name, user_id): value
            for facet in load.facets
            for user_id, value in connection.execute(f"SELECT user_id, {facet.field} FROM {facet.table}")
        }
    for (facet_name, user), write in sorted(expected.items()):
        if not write.ok:
            continue  # unknown outcome (no answer): either value is right; the reads below must agree
        if stored.get((facet_name, user)) != write.value:
            lost.append(
                {"facet": facet_name, "user": user, "expected": write.value, "stored": stored.get((facet_name, user))}
            )
    facets = {facet.name: facet for facet in load.facets}
    checked = 0
    for (facet_name, user), _ in sorted(expected.items()):
        facet = facets[facet_name]
        for path, who in facet.read_paths:
            token = None if who == "anonymous" else load.tokens[user]
            reply = api.call("GET", path.format(id=user), token=token)
            checked += 1
            shown = reply.json().get(facet.field) if reply.status == 200 else f"HTTP {reply.status}"
            if shown != stored.get((facet_name, user)):
                disagreements.append(
                    {"path": path.format(id=user), "shown": shown, "stored": stored[(facet_name, user)]}
                )
    return {"subjects": len(expected), "reads_checked": checked, "lost_writes": lost, "disagreements": disagreements}
