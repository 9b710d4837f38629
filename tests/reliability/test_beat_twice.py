"""Beat started twice by mistake: every periodic task is sent twice, and nothing happens twice.

The Procfile's web, worker and beat run under honcho; a second beat runs beside them with its own
schedule file, as a second host or a scaled-up formation would. Refresh-ahead runs every second
and refreshes every popular key every time (the worst case for doubled work), outage replay every
second.

- Warm-ups: the keys the two beats have the worker rebuild are the popular keys and no others, and
  every rebuild of a key stores the same body (what the database says), however many times it runs.
- Replays: outage records are replayed once. Records are inserted as a process that saw an outage
  would insert them; besides the two beats' own sends, the test sends two ``recover_cache`` at the
  same instant (two beats firing together) and holds them up on a lock so that they overlap for
  certain, the case that can race: one replay bumps the epoch and deletes the records, the other
  finds none.
"""

import threading
import time
from collections import defaultdict

import psycopg
import pytest
import redis
from celery import Celery

from backend.caching.payload import Payload, gen_key, payload_key
from tests.reliability.processes import ProcfileProcess
from tests.stack import wait_until

pytestmark = [pytest.mark.reliability, pytest.mark.postgres, pytest.mark.redis]

ROUNDS = 4  # outages replayed
ROWS_PER_ROUND = 2  # processes that recorded each outage
REFRESH_SECONDS = 6.0
HOT = (
    ("profile:user", "/api/v1/users/{id}/profile/", False),
    ("account_details:user", "/api/v1/me/account-details/", True),
)


class PayloadWatcher:
    """Polls the cache: every (generation, body) each watched key has held."""

    def __init__(self, url: str, keys: list[tuple[str, int]]) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=2)
        self.keys = keys
        self.seen: dict[tuple[str, int], set[tuple[bytes, bytes]]] = defaultdict(set)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        names = [name for ns, key_id in self.keys for name in (gen_key(ns, key_id), payload_key(ns, key_id))]
        while not self._stop.is_set():
            values = self.client.mget(names)
            for index, key in enumerate(self.keys):
                payload = Payload.decode(values[2 * index + 1])
                if payload is not None:
                    self.seen[key].add((payload.gen, payload.body))
            time.sleep(0.03)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.client.close()


def replays_waiting(connection) -> list[int]:
    """Backends of the stack's database waiting for a lock while replaying outage records."""
    rows = connection.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        " AND query ILIKE %s AND pid <> pg_backend_pid()",
        ["%caching_cacheoutage%"],
    ).fetchall()
    return [pid for (pid,) in rows]


def test_two_beats_send_everything_twice_and_nothing_happens_twice(
    database_url, seed, redis_servers, launch, figures, tmp_path
):
    cache, broker = redis_servers(), redis_servers()
    settings = {
        "CELERY_BROKER_URL": broker.url,
        "HOT_CACHE_REFRESH_PERIOD": "1",
        "HOT_CACHE_REFRESH_FRACTION": "0",
        "CACHE_RECOVERY_PERIOD": "1",
    }
    stack = launch(database_url, cache.url, "web", "worker", "beat", **settings)
    second_beat = ProcfileProcess(
        "beat",
        {**stack.env, "CELERY_BEAT_SCHEDULE_FILE": str(tmp_path / "second-beat-schedule")},
        tmp_path / "beat2.log",
    )
    api, users = stack.api, seed.people[:6]
    popular = [(ns, user) for ns, _, _ in HOT for user in users]
    try:
        second_beat.wait_for("Sending due task refresh-hot-keys")
        for _ in range(2):
            for _ns, path, private in HOT:
                for user in users:
                    token = seed.token(user)
                    assert api.call("GET", path.format(id=user), token=token if private else None).status == 200
        expected = {
            (ns, user): api.call("GET", path.format(id=user) + "?format=json", token=seed.token(user)).body
            for ns, path, _ in HOT
            for user in users
        }
        watcher = PayloadWatcher(cache.url, popular)
        refresh_from = time.monotonic()

        aligned_beats = Celery(broker=broker.url)
        with psycopg.connect(database_url, autocommit=True, connect_timeout=5) as connection:
            for _ in range(ROUNDS):
                for _ in range(ROWS_PER_ROUND):
                    connection.execute(
                        "INSERT INTO caching_cacheoutage (recorded_at, cache_alias, reason) VALUES (now(), %s, %s)",
                        ["default", "recorded by a web process during an outage"],
                    )
                # Two replays at once, held up at their DELETE by a slow database (a SHARE lock lets
                # them read the records and blocks their removal): they overlap for certain.
                with psycopg.connect(database_url, connect_timeout=5) as slow:
                    slow.execute("LOCK TABLE caching_cacheoutage IN SHARE MODE")
                    for _ in range(2):
                        aligned_beats.send_task("workers.cache.recover_cache", queue="cache")
                    wait_until(lambda: len(replays_waiting(connection)) >= 2, 10, "the replays did not overlap")
                    slow.rollback()
                wait_until(
                    lambda: connection.execute("SELECT count(*) FROM caching_cacheoutage").fetchone()[0] == 0,
                    10,
                    "the outage records were not replayed",
                )
                time.sleep(0.3)
        time.sleep(max(0.0, refresh_from + REFRESH_SECONDS - time.monotonic()))
        watcher.stop()
    finally:
        second_beat.stop()

    worker = [message for _, message in stack.messages("worker.1")]
    sent_by = {
        "beat.1": sum(1 for _, m in stack.messages("beat.1") if "Sending due task refresh-hot-keys" in m),
        "second beat": sum(1 for line in second_beat.lines() if "Sending due task refresh-hot-keys" in line),
    }
    refreshed = defaultdict(int)
    for message in worker:
        if message.startswith("hot cache rebuilt ") and message.endswith("(refresh-ahead)"):
            ns, _, key_id = message.split()[3].rpartition(":")
            refreshed[(ns, int(key_id))] += 1
    replays = [m for m in worker if m.startswith("cache recovered:")]
    replayed_rows = sum(int(m.split()[2]) for m in replays)
    bodies = {key: {body for _, body in held} for key, held in watcher.seen.items()}
    differing = {
        f"{ns}:{key_id}": len(found) for (ns, key_id), found in bodies.items() if found != {expected[(ns, key_id)]}
    }

    figures.update(
        fault="two beats (a second one started by mistake) for refresh-ahead and outage replay",
        kind="fault",
        operations=sum(refreshed.values()) + len(replays),
        failed=0,
        stale_reads=0,
        lost_writes=0,
        refresh_sends=sent_by,
        keys_popular=len(popular),
        keys_refreshed=len(refreshed),
        refresh_rebuilds=sum(refreshed.values()),
        payload_versions_seen=sum(len(held) for held in watcher.seen.values()),
        keys_with_a_different_body=differing,
        outage_records_inserted=ROUNDS * ROWS_PER_ROUND,
        outage_records_replayed=replayed_rows,
        replays=len(replays),
        replay_log=replays,
    )
    assert sent_by["beat.1"] >= 3, sent_by
    assert sent_by["second beat"] >= 3, sent_by
    assert set(refreshed) == set(popular), sorted(set(refreshed) ^ set(popular))
    assert max(refreshed.values()) >= 4  # each key refreshed again and again, by both beats' sends
    assert differing == {}
    assert replayed_rows == ROUNDS * ROWS_PER_ROUND
    assert replays == [f"cache recovered: {ROWS_PER_ROUND} outage record(s) replayed"] * ROUNDS
