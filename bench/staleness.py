"""Stale reads: a read that shows data older than a write acknowledged before the read was sent.

The load generator tells the checker about every write (when it was sent, when it was
acknowledged and whether it succeeded) and asks it about every read it can judge:

- a *value* (a profile's headline, an account's bank name, a payment's status): the read may show
  the value of any write that was not superseded before the read began. A write W is superseded
  when another successful write W2 was sent after W was acknowledged and was itself acknowledged
  before the read was sent: then W2 certainly committed after W, and before the read. Writes still
  in flight count as candidates (they may have committed already), so concurrent writers to one
  user never produce a false alarm. A value that no write made is the seeded one: stale once any
  write has been acknowledged before the read.
- an *item* in a list (a payment in a user's payments, a review in the reviews they received or
  gave, an application in the worker's own applications): every item whose creation was
  acknowledged before the read was sent must be on the page, unless the page is full and the item
  is older than everything on it (pushed to page 2).

A value's verdict (``judge_value``) also says how long the shown value had been superseded when
the read was sent (its *staleness*), and, when the seeded value is known, whether the value is one
no write made and not the seed (*wrong*). The benchmark's load generator (bench/harness/locustfile.py)
and the reliability tests (tests/reliability/load.py) judge with this one checker.

Times are wall-clock or monotonic seconds, the same clock for every call; the benchmark uses
``time.time()`` so a log saved by one phase can judge the reads of the next (``to_json``/``load_json``).
Not thread-safe (the load generator is one gevent loop; threaded callers hold a lock). Pure Python;
the tests drive it directly.
"""

import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

PENDING = math.inf  # the acknowledgement time of a write still in flight


@dataclass
class Write:
    value: Hashable
    sent: float
    acked: float = PENDING
    ok: bool = False


@dataclass
class Verdict:
    stale: bool = False
    wrong: bool = False  # a value no write made and not the seeded one (only when the seed is known)
    staleness: float = 0.0  # seconds the shown value had been superseded when the read was sent


class StaleReadChecker:
    def __init__(self, *, page_size: int = 20, keep_examples: int = 20) -> None:
        self.page_size = page_size
        self.keep_examples = keep_examples
        self.values: dict[tuple, list[Write]] = {}
        self.items: dict[tuple, list[Write]] = {}
        self.checked = 0
        self.stale = 0
        self.examples: list[dict] = []

    # -- writes --------------------------------------------------------------------------------

    def begin_write(self, facet: str, subject: Hashable, value: Hashable, *, sent: float) -> Write:
        """A write of ``value`` is being sent; call ``end_write`` with its outcome."""
        write = Write(value, sent)
        self.values.setdefault((facet, subject), []).append(write)
        return write

    @staticmethod
    def end_write(write: Write, *, acked: float, ok: bool) -> None:
        write.acked, write.ok = acked, ok

    def wrote_value(self, facet: str, subject: Hashable, value: Hashable, *, sent: float, acked: float) -> None:
        """A successful write whose value became known only with its response (a new payment's status)."""
        self.values.setdefault((facet, subject), []).append(Write(value, sent, acked, True))

    def added_item(self, facet: str, subject: Hashable, item_id: int, *, sent: float, acked: float) -> None:
        """An item (``item_id``, ids grow with creation time) was created and acknowledged."""
        self.items.setdefault((facet, subject), []).append(Write(item_id, sent, acked, True))

    # -- reads ---------------------------------------------------------------------------------

    def judge_value(
        self, facet: str, subject: Hashable, value: Hashable, *, sent: float, seeded: Hashable | None = None
    ) -> Verdict:
        """The verdict on a read of ``value`` sent at ``sent``. ``seeded``: the value before any write,
        when known (None: a value no write made is taken for the seeded one)."""
        writes = self.values.get((facet, subject), ())
        candidates = [w for w in writes if w.value == value]
        if not candidates and seeded is not None and value != seeded:
            return Verdict(wrong=True)
        done = [w for w in writes if w.ok and w.acked < sent]
        # The last acknowledgement of a write that could explain the value (-inf: the seeded value).
        shown_acked = max((w.acked for w in candidates), default=-math.inf)
        # Writes that certainly committed after it, and before the read was sent.
        superseding = [w.acked for w in done if w.sent > shown_acked]
        if not superseding:
            return Verdict()
        return Verdict(stale=True, staleness=sent - min(superseding))

    def value_is_stale(self, facet: str, subject: Hashable, value: Hashable, *, sent: float) -> bool:
        return self.judge_value(facet, subject, value, sent=sent).stale

    def items_missing(self, facet: str, subject: Hashable, item_ids: Iterable[int], *, sent: float) -> list[int]:
        writes = self.items.get((facet, subject))
        if not writes:
            return []
        shown = list(item_ids)
        shown_set = set(shown)
        full = len(shown) >= self.page_size
        oldest = min(shown) if shown else None
        return [
            w.value
            for w in writes
            if w.ok and w.acked < sent and w.value not in shown_set and not (full and w.value < oldest)
        ]

    def tally(self, problems: list[str], *, path: str) -> bool:
        """Count one checked read; ``problems`` lists what was stale in it (empty: fresh)."""
        self.checked += 1
        if not problems:
            return False
        self.stale += 1
        if len(self.examples) < self.keep_examples:
            self.examples.append({"path": path, "problems": problems})
        return True

    def reset_counts(self) -> None:
        """Start counting afresh (the end of a warm-up); the write log is kept."""
        self.checked, self.stale, self.examples = 0, 0, []

    # -- persistence ---------------------------------------------------------------------------

    def to_json(self) -> dict:
        def rows(log: dict[tuple, list[Write]]) -> list:
            return [
                [facet, subject, [[w.value, w.sent, None if w.acked == PENDING else w.acked, w.ok] for w in writes]]
                for (facet, subject), writes in log.items()
            ]

        return {"values": rows(self.values), "items": rows(self.items)}

    def load_json(self, data: dict) -> None:
        for attr in ("values", "items"):
            log = getattr(self, attr)
            for facet, subject, writes in data.get(attr, []):
                key = (facet, subject)
                for value, sent, acked, ok in writes:
                    log.setdefault(key, []).append(Write(value, sent, PENDING if acked is None else acked, ok))
