"""Two web nodes and two workers on one PostgreSQL, one Redis and one broker (issue 16, part 4).

Node A and node B are two stacks of the Procfile under honcho, each with its own gunicorn (2 worker
processes, so four breakers in all) on its own port and its own Celery worker; beat runs once, on B.
They share a copy of the reliability tests' seeded database, a private redis-server for the cache and
another (``noeviction``) for the broker. B reaches the cache directly; A through a TCP proxy in this
process (tests/scale/tcp_proxy.py), so that A's connection alone can be cut.

The load (tests/reliability/load.py: serial writers per user, each read judged by bench/staleness.py
against the writes acknowledged before it was sent) crosses the nodes: half the users are written
through A and read through B, the other half written through B and read through A.

Phases:

1. ``cross``: both nodes healthy. No stale read.
2. ``cut``: A's proxy is closed; A's breakers open. A router would send writes to the healthy node,
   and here every write goes to B, while reads keep crossing. A answers its reads from the database
   (``bypass``). No stale read on either node, and B keeps serving hits: A, only reading, skips cache
   writes that are not invalidations (cachalot storing a query's result, the throttles' counts), and
   those are not recorded as lost (backend/common/cache_writes.py), so no outage record takes B off
   the cache.
3. ``cut_writes_on_a``: A takes its users' writes again while still cut. Each lost invalidation is
   recorded in the database before the write is acknowledged (docs/caching.md, "Failures"); B stops
   serving the cache once its poll sees the record, so B may show a superseded value for at most
   ``CACHE_OUTAGE_POLL`` (1 s) after such a write. A's own reads are never stale.
4. ``reconnecting``: the proxy listens again; A's breakers close within their cooldown (2 s) and
   replay the outage (epoch bump). Until they do, A's writes still skip Redis: B's bound as in 3.
5. ``converged``: both nodes serve hits again, no stale read, and afterwards every read path on
   both nodes agrees with the database.

Figures are printed per phase and per node.
"""

import itertools
import random
import time
from dataclasses import dataclass, field
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest

from bench.stack import free_port, stack_environment
from tests.redis_server import RedisServer
from tests.reliability import conftest as reliability
from tests.reliability.load import Load, Op, Phase, final_agreement, summarize
from tests.scale.tcp_proxy import TcpProxy
from tests.stack import Api, Stack

pytestmark = [pytest.mark.scale, pytest.mark.postgres, pytest.mark.redis]

rel_server_url = reliability.rel_server_url
rel_template = reliability.rel_template
database_url = reliability.database_url
seed = reliability.seed

CROSS, CUT, CUT_WRITES_ON_A, CONVERGED = 4.0, 4.0, 3.0, 5.0
DRAIN = 0.5  # writes already sent to A finish before A is cut
OUTAGE_POLL = 1.0  # CACHE_OUTAGE_POLL's default: how long B may serve an entry A's lost write superseded
POLL_MARGIN = 0.5  # one read's and one poll's scheduling on a 2-core machine shared with the load
BREAKER_COOLDOWN = 2.0  # CACHE_BREAKER_COOLDOWN's default: A's breakers stay open this long after the restore
RECONNECTING = BREAKER_COOLDOWN + OUTAGE_POLL + POLL_MARGIN


@dataclass
class NodeOp(Op):
    node: str = ""


@dataclass
class CrossLoad(Load):
    """``Load`` over two nodes: user i is written through ``home(i)`` and read through the other node.

    ``writes_to``: when set to a node name, every write goes there (the router has drained the other)."""

    nodes: dict[str, Api] = field(default_factory=dict)
    writes_to: str | None = None

    def home(self, user: int) -> str:
        return "A" if self.users.index(user) % 2 == 0 else "B"

    def away(self, user: int) -> str:
        return "B" if self.home(user) == "A" else "A"

    def _write_loop(self, index: int, own: list[int]) -> None:
        rng = random.Random(self.seed * 1000 + index)
        sequence = itertools.count(1)
        for user in itertools.cycle(own):
            if self._stop.is_set():
                return
            facet = rng.choice(self.facets)
            value = f"{facet.name[0]}{user}-{next(sequence)}"
            node = self.writes_to or self.home(user)
            op = NodeOp("write", facet.name, user, facet.write_path, time.monotonic(), value=value, node=node)
            write = self.ledger.begin(facet.name, user, value, op.sent)
            body = self._request(op, "PATCH", self.tokens[user], {facet.field: value})
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
            op = NodeOp("read", facet.name, user, path.format(id=user), time.monotonic(), node=self.away(user))
            body = self._request(op, "GET", token)
            if body is not None:
                op.value = body.get(facet.field)
            self._record(op)

    def _request(self, op: NodeOp, method: str, token: str | None, body=None):
        """``Load._call`` on the op's node (each thread its own Api call; Api holds no connection)."""
        api = self.nodes[op.node]
        try:
            reply = api.call(method, op.path, token=token, body=body)
        except OSError as exc:
            op.done, op.error = time.monotonic(), f"{type(exc).__name__}: {exc}"
            return None
        op.done, op.status = time.monotonic(), reply.status
        op.cache = reply.timing.get("cache")
        if reply.status != 200:
            op.error = reply.body[:300].decode(errors="replace")
            return None
        return reply.json()


@pytest.fixture
def shared_redis():
    """The cache (one Redis for both nodes) and the broker (``noeviction``), private servers."""
    cache, broker = RedisServer(), RedisServer("--maxmemory-policy", "noeviction")
    cache.start()
    broker.start()
    proxy = TcpProxy("127.0.0.1", cache.port).start()
    try:
        yield cache, broker, proxy
    finally:
        proxy.close()
        cache.close()
        broker.close()


@pytest.fixture
def two_nodes(database_url, shared_redis, tmp_path):
    cache, broker, proxy = shared_redis
    stacks = {}
    for name, cache_url, processes in (
        ("A", proxy.url(path=urlsplit(cache.url).path), ("web", "worker")),
        ("B", cache.url, ("web", "worker", "beat")),
    ):
        workdir = tmp_path / f"node-{name}"
        workdir.mkdir()
        env = stack_environment(database_url, cache_url, free_port(), workdir, CELERY_BROKER_URL=broker.url)
        stacks[name] = Stack(env, processes)
    try:
        for stack in stacks.values():  # started together, then waited for
            stack.wait_ready()
        yield stacks
    finally:
        for stack in stacks.values():
            stack.close()


def _per_node(load: CrossLoad, node: str, phases: list[Phase], reference: float) -> dict:
    view = SimpleNamespace(ops=[op for op in load.ops if op.node == node], ledger=load.ledger)
    return summarize(view, phases, reference=reference)


def _breaker_events(stack: Stack) -> list[str]:
    return [
        message
        for _, message in stack.messages("web.1", "backend.caching.breaker")
        if message.startswith("cache circuit redis")
    ]


def test_two_nodes_cross_reads_stay_fresh_and_one_node_cut_from_redis_degrades_alone(
    database_url, seed, shared_redis, two_nodes, capsys
):
    _, _, proxy = shared_redis
    nodes = {name: stack.api for name, stack in two_nodes.items()}
    load = CrossLoad(
        nodes["A"], {u: seed.token(u) for u in seed.people}, seed.people, writers=2, readers=4, nodes=nodes
    )
    assert {load.home(u) for u in load.users[0::2]} == {"A"}  # writer 0's users live on A, writer 1's on B

    started = time.monotonic()
    load.start()
    time.sleep(CROSS - DRAIN)
    load.writes_to = "B"
    time.sleep(DRAIN)
    cut = time.monotonic()
    proxy.cut()
    time.sleep(CUT)
    writes_on_a = time.monotonic()
    load.writes_to = None
    time.sleep(CUT_WRITES_ON_A)
    restored = time.monotonic()
    proxy.restore()
    time.sleep(RECONNECTING)
    converged = time.monotonic()
    time.sleep(CONVERGED)
    load.stop()
    ended = time.monotonic()

    phases = [
        Phase("cross", started, cut),
        Phase("cut", cut, writes_on_a),
        Phase("cut_writes_on_a", writes_on_a, restored),
        Phase("reconnecting", restored, converged),
        Phase("converged", converged, ended),
    ]
    by_node = {node: _per_node(load, node, phases, restored) for node in ("A", "B")}
    agreement = {node: final_agreement(api, database_url, load) for node, api in nodes.items()}
    replays = [
        (name, message)
        for name, stack in two_nodes.items()
        for process in ("web.1", "worker.1")
        for _, message in stack.messages(process, "backend.caching.recovery")
        if message.startswith("cache recovered")
    ]
    figures = {
        node: {
            phase: {
                key: summary[key]
                for key in ("reads", "writes", "failed", "stale_reads", "max_staleness_s", "cache", "read_ms")
            }
            for phase, summary in phases_of_node.items()
        }
        for node, phases_of_node in by_node.items()
    }
    with capsys.disabled():
        print("\n[several nodes] per node and phase:")
        for node, rows in figures.items():
            for phase, row in rows.items():
                print(f"  {node} {phase}: {row}")
        print(f"  breaker events on A: {_breaker_events(two_nodes['A'])[:4]}")
        print(f"  outage replays: {replays}")
        print(
            "  final agreement: "
            + ", ".join(f"{n}: {a['reads_checked']} reads, {len(a['disagreements'])} off" for n, a in agreement.items())
        )

    for node, phases_of_node in by_node.items():
        for name, phase in phases_of_node.items():
            assert phase["server_errors"] == 0, (node, name, phase["failures"])
            assert phase["failed"] == 0, (node, name, phase["failures"])
            assert phase["wrong_reads"] == 0, (node, name)
    a, b = by_node["A"], by_node["B"]
    # 1. Across healthy nodes: fresh everywhere, and the cache works on both.
    for node in (a, b):
        assert node["cross"]["stale_reads"] == 0, node["cross"]["stale_examples"]
        assert node["cross"]["cache"].get("hit", 0) > 0, node["cross"]["cache"]
    # 2. A cut from Redis: A answers from the database, never stale; B is never stale and keeps its cache
    # (A, only reading, lost no invalidation: nothing takes B off the cache).
    assert a["cut"]["stale_reads"] == 0, a["cut"]["stale_examples"]
    assert a["cut"]["cache"].get("hit", 0) == 0, a["cut"]["cache"]
    assert a["cut"]["cache"].get("bypass", 0) > 0, a["cut"]["cache"]
    assert b["cut"]["stale_reads"] == 0, b["cut"]["stale_examples"]
    assert b["cut"]["cache"].get("hit", 0) > b["cut"]["cache"].get("bypass", 0), b["cut"]["cache"]
    assert a["cut"]["writes"] == 0  # the router sent every write to B
    assert any("opened" in event for event in _breaker_events(two_nodes["A"]))
    # 3. Writes on the cut node, until its breakers close after the restore: A is never stale; B may
    # serve what such a write superseded until its poll sees the outage record (or a new one, when
    # another process's replay consumed A's while A kept losing writes): at most one poll period.
    for phase in ("cut_writes_on_a", "reconnecting"):
        assert a[phase]["stale_reads"] == 0, a[phase]["stale_examples"]
        assert b[phase]["max_staleness_s"] <= OUTAGE_POLL + POLL_MARGIN, b[phase]["stale_examples"]
    assert a["cut_writes_on_a"]["writes"] > 0
    # 4. Reconnected: the outage is replayed, both nodes serve hits again, nothing stale, all agree.
    assert replays, "no process replayed the outage"
    for node in (a, b):
        assert node["converged"]["stale_reads"] == 0, node["converged"]["stale_examples"]
        assert node["converged"]["cache"].get("hit", 0) > 0, node["converged"]["cache"]
    for node, result in agreement.items():
        assert result["lost_writes"] == [], (node, result["lost_writes"])
        assert result["disagreements"] == [], (node, result["disagreements"])
