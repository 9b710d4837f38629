"""``manage.py explain_hot_reads``: index evidence for the hot per-user reads, on PostgreSQL.

For each hot read, the exact SQL the ORM sends is captured and run under ``EXPLAIN (ANALYZE, BUFFERS)`` on a
typical busy user, and a markdown report (``docs/indexes.md``) records the table sizes, each query's SQL and plan,
the indexes it used and its execution time. The queries are the app's own: its selectors
(``backend.<app>.selectors``), through the view's FilterSet where a list is filtered, cut to a page as the
paginator cuts it; so the report is evidence about the code that runs. One comparison row (the payments count as
a UNION ALL) is an alternative the code does not run, and says so.

A user's payments are those they paid OR received: two indexed columns. PostgreSQL answers an OR with a BitmapOr of
the two indexes, which fetches every payment of the user before sorting them; a UNION ALL of the two indexed halves,
each ordered and limited, reads about one page from each index instead. The report measures both, for a median, a
typical busy and the busiest user.
"""

import os
import re
from collections import Counter
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import sqlparse
from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.models import Count, QuerySet
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.accounts.models import Profile, User
from backend.jobs import selectors as jobs_selectors
from backend.jobs.filters import MyApplicationFilter, MyJobFilter
from backend.jobs.models import Application, Job
from backend.payments import selectors as payments_selectors
from backend.payments.models import Payment
from backend.ratings import selectors as ratings_selectors
from backend.ratings.models import Review

PAGE_SIZE = 20
TABLES = (User, Profile, Job, Application, Payment, Review)
REGENERATE = (
    "createdb -h 127.0.0.1 -U postgres paeshift_explain\n"
    "export DATABASE_URL=postgres://postgres@127.0.0.1:5432/paeshift_explain\n"
    "python manage.py migrate && python manage.py seed_demo --users 10000 --seed 1\n"
    "python manage.py explain_hot_reads --output docs/indexes.md\n"
    "dropdb -h 127.0.0.1 -U postgres paeshift_explain"
)


# --- the reads: the app's own selectors ----------------------------------------------------------------------


def payments_union_count(user_id: int) -> QuerySet[Payment]:
    """The alternative the code does not run, kept for the comparison: the count as a UNION ALL of the two
    halves (two index-only counts added up). ``payment_count_for_user`` counts with the OR filter."""
    payer = Payment.objects.filter(payer_id=user_id).order_by().values("id")
    return payer.union(Payment.objects.filter(payee_id=user_id).order_by().values("id"), all=True)


@dataclass(frozen=True)
class HotRead:
    key: str
    title: str
    run: Callable[[], object]  # runs the read's one query
    table: str  # the table the read must reach through an index
    leading_columns: frozenset[str]  # the indexes it should use start with these columns


def hot_reads(*, user_id: int, job_id: int, worker_id: int | None = None) -> list[HotRead]:
    """The hot per-user reads, each one query, for ``user_id`` (and ``job_id`` for the job detail).

    A worker's own applications are read for ``worker_id`` (default: ``user_id``): the users busiest with
    payments are clients, who apply to nothing.
    """
    payments, reviews, applications = Payment._meta.db_table, Review._meta.db_table, Application._meta.db_table
    jobs, worker_id = Job._meta.db_table, worker_id or user_id
    both_sides = frozenset({"payer_id", "payee_id"})
    # What the views run: a list page is the selector's queryset through the view's FilterSet, cut to a page.

    def worker_applications() -> QuerySet[Application]:
        return jobs_selectors.application_list_for_worker(user_id=worker_id)

    return [
        HotRead("payments-or-page", "Payments of a user (payer OR payee), page 1", lambda: list(
            payments_selectors.payment_list_for_user(user_id=user_id)[:PAGE_SIZE]), payments, both_sides),
        HotRead("payments-or-count", "Payments of a user (payer OR payee), count", lambda: (
            payments_selectors.payment_count_for_user(user_id=user_id)), payments, both_sides),
        HotRead("payments-union-page", "Payments of a user (UNION ALL of payer, payee), page 1", lambda: list(
            payments_selectors.payment_newest_for_user(user_id=user_id, size=PAGE_SIZE)), payments, both_sides),
        HotRead("payments-union-count", "Payments of a user (UNION ALL of payer, payee), count (not used)",
            lambda: payments_union_count(user_id).count(), payments, both_sides),
        HotRead("reviews-received-page", "Reviews a user received, newest first, page 1", lambda: list(
            ratings_selectors.review_list_received(user_id=user_id)[:PAGE_SIZE]), reviews, frozenset({"reviewee_id"})),
        HotRead("reviews-received-count", "Reviews a user received, count", lambda: (
            ratings_selectors.review_list_received(user_id=user_id).count()), reviews, frozenset({"reviewee_id"})),
        HotRead("rating-summary", "Reviews a user received, average rating and count", lambda: (
            ratings_selectors.review_summary_for_user(user_id=user_id)), reviews, frozenset({"reviewee_id"})),
        HotRead("reviews-written-page", "Reviews a user wrote, newest first, page 1", lambda: list(
            ratings_selectors.review_list_given(user_id=user_id)[:PAGE_SIZE]), reviews, frozenset({"reviewer_id"})),
        HotRead("reviews-written-count", "Reviews a user wrote, count", lambda: (
            ratings_selectors.review_list_given(user_id=user_id).count()), reviews, frozenset({"reviewer_id"})),
        HotRead("job-detail", "A job with its application counts by status", lambda: (
            jobs_selectors.job_detail_get(job_id=job_id)), applications, frozenset({"job_id"})),
        HotRead("my-applications-page", "A worker's applications, newest first, page 1", lambda: list(
            worker_applications()[:PAGE_SIZE]), applications, frozenset({"applicant_id"})),
        HotRead("my-applications-count", "A worker's applications, count", lambda: (
            worker_applications().count()), applications, frozenset({"applicant_id"})),
        HotRead("my-applications-upcoming", "A worker's upcoming shifts (accepted, not ended), page 1", lambda: list(
            MyApplicationFilter({"upcoming": "true"}, queryset=worker_applications()).qs[:PAGE_SIZE]),
            applications, frozenset({"applicant_id"})),
        HotRead("my-jobs-page", "A client's posted jobs with application counts, newest first, page 1", lambda: list(
            jobs_selectors.job_list_for_client(user_id=user_id)[:PAGE_SIZE]), jobs, frozenset({"client_id"})),
        HotRead("my-jobs-open-page", "A client's open jobs with application counts, newest first, page 1", lambda: list(
            MyJobFilter({"status": "open"}, queryset=jobs_selectors.job_list_for_client(user_id=user_id)).qs[
                :PAGE_SIZE]), jobs, frozenset({"client_id"})),
        HotRead("my-jobs-count", "A client's posted jobs, count", lambda: (
            jobs_selectors.job_list_for_client(user_id=user_id).count()), jobs, frozenset({"client_id"})),
    ]  # fmt: skip


# --- running EXPLAIN -------------------------------------------------------------------------------------------


def _without_orm_cache():
    """cachalot would answer a repeated read from the cache, without the query whose SQL is wanted."""
    if apps.is_installed("cachalot"):
        from backend.common.orm_cache import cachalot_off

        return cachalot_off()
    return nullcontext()


def capture_sql(run: Callable[[], object]) -> str:
    """The SQL (parameters inlined, as psycopg sent it) of the one query ``run`` makes."""
    with _without_orm_cache(), CaptureQueriesContext(connection) as captured:
        run()
    if len(captured.captured_queries) != 1:
        raise CommandError(f"expected one query, got {len(captured.captured_queries)}")
    return captured.captured_queries[0]["sql"]


_INDEX_SCAN = re.compile(r"(Index Only Scan|Index Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\S+)")
_SEQ_SCAN = re.compile(r"Seq Scan on (\S+)")
_TIME = re.compile(r"^(Planning|Execution) Time: ([\d.]+) ms", re.MULTILINE)
_BUFFERS = re.compile(r"Buffers: shared(?: hit=(\d+))?(?: read=(\d+))?")


@dataclass
class Explained:
    sql: str
    plan: str  # of the run whose execution time is the median
    execution_ms: float  # median over the runs
    planning_ms: float
    buffers_hit: int  # shared buffers of the whole query (the top node)
    buffers_read: int
    index_scans: list[tuple[str, str]] = field(default_factory=list)  # (index, table)
    seq_scans: list[str] = field(default_factory=list)  # tables


def _index_tables() -> dict[str, tuple[str, list[str], bool]]:
    """Every index of the current schema: name -> (table, columns, unique or special)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.relname, t.relname, array_agg(a.attname ORDER BY k.n), x.indisunique, bool_and(c.opcdefault)
            FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_class t ON t.oid = x.indrelid
            JOIN pg_namespace s ON s.oid = t.relnamespace AND s.nspname = current_schema()
            CROSS JOIN LATERAL unnest(x.indkey, x.indclass) WITH ORDINALITY AS k(attnum, opclass, n)
            JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
            JOIN pg_opclass c ON c.oid = k.opclass
            GROUP BY i.relname, t.relname, x.indisunique
            """
        )
        # An index with a special operator class (``varchar_pattern_ops`` for LIKE, say) serves other queries
        # than a plain one on the same columns: it never counts as overlapping.
        return {
            name: (table, list(columns), unique or not plain)
            for name, table, columns, unique, plain in cursor.fetchall()
        }


def explain(sql: str, *, runs: int = 1, indexes: dict | None = None) -> Explained:
    """``EXPLAIN (ANALYZE, BUFFERS)`` of ``sql``, ``runs`` times; the median run."""
    indexes = indexes if indexes is not None else _index_tables()
    results = []
    with connection.cursor() as cursor:
        for _ in range(runs):
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            times = dict(_TIME.findall(plan))
            results.append((float(times["Execution"]), float(times.get("Planning", 0)), plan))
    results.sort(key=lambda r: r[0])
    execution_ms, planning_ms, plan = results[len(results) // 2]
    hit, read = _BUFFERS.search(plan).groups() if _BUFFERS.search(plan) else (None, None)
    scans = []
    for _kind, index in _INDEX_SCAN.findall(plan):
        table = indexes.get(index, ("?", [], False))[0]
        if (index, table) not in scans:
            scans.append((index, table))
    return Explained(
        sql=sql,
        plan=plan,
        execution_ms=execution_ms,
        planning_ms=planning_ms,
        buffers_hit=int(hit or 0),
        buffers_read=int(read or 0),
        index_scans=scans,
        seq_scans=sorted(set(_SEQ_SCAN.findall(plan))),
    )


def uses_intended_indexes(read: HotRead, explained: Explained, indexes: dict) -> bool:
    """No Seq Scan on the read's table, and its index scans on it cover every intended leading column."""
    if read.table in explained.seq_scans:
        return False
    leading = {indexes[name][1][0] for name, table in explained.index_scans if table == read.table}
    return read.leading_columns <= leading


def overlapping_indexes(indexes: dict) -> list[tuple[str, str, str]]:
    """Non-unique indexes whose columns repeat, or begin, another index of the same table: (table, index, other)."""
    found = []
    for name, (table, columns, unique) in sorted(indexes.items()):
        if unique:
            continue
        covering = [
            other
            for other, (other_table, other_columns, _) in sorted(indexes.items())
            if other != name and other_table == table and other_columns[: len(columns)] == columns
        ]
        same = [other for other in covering if indexes[other][1] == columns]
        if same and not (indexes[same[0]][2] is False and same[0] > name):
            found.append((table, name, same[0]))  # of two non-unique twins, only the second is listed
        elif covering and not same:
            found.append((table, name, covering[0]))
    return found


# --- picking users -----------------------------------------------------------------------------------------------


def payment_counts() -> Counter:
    """Payments per user, as payer or payee."""
    counts: Counter = Counter()
    for side in ("payer_id", "payee_id"):
        for user_id, n in Payment.objects.order_by().values_list(side).annotate(n=Count("id")):
            counts[user_id] += n
    return counts


def users_by_percentile(counts: Counter, *percentiles: float) -> list[int]:
    """The user at each percentile (0..100) of payment count, among users with payments (ties by id)."""
    ranked = sorted(counts, key=lambda user_id: (counts[user_id], user_id))
    return [ranked[min(len(ranked) - 1, int(len(ranked) * p / 100))] for p in percentiles]


def busy_worker_id() -> int | None:
    """The worker at the 99th percentile of applications per applicant (ties by id), or None without any."""
    counts = Application.objects.order_by().values("applicant_id").annotate(n=Count("id")).order_by("n", "applicant_id")
    ranked = list(counts.values_list("applicant_id", flat=True))
    return ranked[min(len(ranked) - 1, int(len(ranked) * 0.99))] if ranked else None


def busiest_job_id() -> int:
    """The job with the most applications: the heaviest job detail."""
    row = Application.objects.order_by().values("job_id").annotate(n=Count("id")).order_by("-n", "job_id").first()
    return row["job_id"]


def project_payment_filter() -> str:
    """How the hot payments page (``payment_newest_for_user``) combines payer and payee.

    "OR", "UNION ALL" or "unknown".
    """
    try:
        from backend.payments.selectors import payment_newest_for_user

        sql = str(payment_newest_for_user(user_id=0, size=PAGE_SIZE).query)
    except (ImportError, AttributeError, TypeError):
        return "unknown"
    if "UNION ALL" in sql:
        return "UNION ALL"
    return "OR" if " OR " in sql else "unknown"


# --- the report --------------------------------------------------------------------------------------------------


def _size(nbytes: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if nbytes < 1024 or unit == "GB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    raise AssertionError("unreachable")


def _ms(value: float) -> str:
    return f"{value:.3f} ms"


def _fence(text: str, language: str = "") -> str:
    return f"```{language}\n{text}\n```"


class Command(BaseCommand):
    help = "EXPLAIN (ANALYZE, BUFFERS) the hot per-user reads on PostgreSQL and write a markdown report."

    def add_arguments(self, parser):
        parser.add_argument("--output", default="docs/indexes.md", help="where to write the report")
        parser.add_argument("--user-id", type=int, help="the user to explain (default: a typical busy user)")
        parser.add_argument("--runs", type=int, default=5, help="EXPLAIN ANALYZE runs per query (median reported)")

    def handle(self, *args, output: str, user_id: int | None, runs: int, **options):
        if connection.vendor != "postgresql":
            raise CommandError(
                f"explain_hot_reads needs PostgreSQL (this database is {connection.vendor}); "
                "set DATABASE_URL=postgres://..."
            )
        if runs < 1:
            raise CommandError("--runs must be at least 1")
        counts = payment_counts()
        if not counts:
            raise CommandError("There are no payments to explain: run `manage.py seed_demo --users 10000` first.")
        self._refresh_statistics()

        median_user, busy_user, busiest_user = users_by_percentile(counts, 50, 99, 100)
        if user_id is not None:
            if not User.objects.filter(pk=user_id).exists():
                raise CommandError(f"There is no user {user_id}.")
            busy_user = user_id
        job_id, worker_id = busiest_job_id(), busy_worker_id()
        indexes = _index_tables()

        results = []
        for read in hot_reads(user_id=busy_user, job_id=job_id, worker_id=worker_id):
            explained = explain(capture_sql(read.run), runs=runs, indexes=indexes)
            results.append((read, explained))
            verdict = "ok" if uses_intended_indexes(read, explained, indexes) else "NOT USING ITS INDEX"
            self.stdout.write(f"{read.key:<24}{_ms(explained.execution_ms):>12}  {verdict}")

        comparison = []
        explained_label = "chosen" if user_id is not None else "busy (p99)"
        for label, uid in (("median", median_user), (explained_label, busy_user), ("busiest", busiest_user)):
            if label != explained_label and uid == busy_user:
                continue
            row = {"label": label, "user_id": uid, "payments": counts.get(uid, 0), "explained": uid == busy_user}
            for read in hot_reads(user_id=uid, job_id=job_id)[:4]:
                row[read.key] = explain(capture_sql(read.run), runs=runs, indexes=indexes)
            comparison.append(row)

        report = self._report(
            results=results, comparison=comparison, user_id=busy_user, job_id=job_id, counts=counts, runs=runs,
            indexes=indexes, user_given=user_id is not None, worker_id=worker_id,
        )  # fmt: skip
        path = Path(output)
        if not path.is_absolute():
            path = Path(settings.BASE_DIR) / path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(report)
        self.stdout.write(self.style.SUCCESS(f"Wrote {path}"))

    def _refresh_statistics(self) -> None:
        """Fresh statistics, and a visibility map so index-only scans are what they are in a steady state.

        VACUUM cannot run inside a transaction (in tests, say); there ANALYZE alone is the best we can do.
        """
        verb = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
        with connection.cursor() as cursor:
            for model in TABLES:
                cursor.execute(f"{verb} {connection.ops.quote_name(model._meta.db_table)}")

    def _table_sizes(self) -> list[str]:
        lines = ["| table | rows | table size | indexes (size) |", "| --- | ---: | ---: | --- |"]
        with connection.cursor() as cursor:
            for model in TABLES:
                table = model._meta.db_table
                cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")
                rows = cursor.fetchone()[0]
                cursor.execute(
                    """
                    SELECT pg_relation_size(t.oid), i.relname, pg_relation_size(i.oid)
                    FROM pg_class t
                    LEFT JOIN pg_index x ON x.indrelid = t.oid
                    LEFT JOIN pg_class i ON i.oid = x.indexrelid
                    WHERE t.oid = %s::regclass
                    ORDER BY i.relname
                    """,
                    [table],
                )
                found = cursor.fetchall()
                listed = ", ".join(f"`{name}` ({_size(size)})" for _, name, size in found if name)
                lines.append(f"| `{table}` | {rows:,} | {_size(found[0][0])} | {listed} |")
        return lines

    def _report(self, *, results, comparison, user_id, job_id, counts, runs, indexes, user_given, worker_id) -> str:
        with connection.cursor() as cursor:
            cursor.execute("SELECT version()")
            version = cursor.fetchone()[0].split(" on ")[0]
            settings_shown = {}
            for name in ("shared_buffers", "work_mem", "effective_cache_size", "random_page_cost"):
                cursor.execute(f"SHOW {name}")
                settings_shown[name] = cursor.fetchone()[0]
        received = Review.objects.filter(reviewee_id=user_id).count()
        written = Review.objects.filter(reviewer_id=user_id).count()
        paid = Payment.objects.filter(payer_id=user_id).count()
        job_applications = Application.objects.filter(job_id=job_id).count()
        posted = Job.objects.filter(client_id=user_id).count()
        applied = Application.objects.filter(applicant_id=worker_id).count()
        chosen = (
            "given with `--user-id`"
            if user_given
            else f"the 99th percentile of payments per user, among the {len(counts):,} users with payments"
        )
        lines = [
            "# Indexes of the hot per-user reads: EXPLAIN evidence",
            "",
            "Generated by `python manage.py explain_hot_reads --output docs/indexes.md` from a real run on PostgreSQL;",
            "do not edit by hand. To regenerate it (under a minute):",
            "",
            _fence(REGENERATE, "sh"),
            "",
            f"Generated {timezone.now():%Y-%m-%d} on {version} ("
            + ", ".join(f"`{name}` {value}" for name, value in settings_shown.items())
            + f"), after `VACUUM (ANALYZE)` of the tables below; load average of this machine {os.getloadavg()[0]:.1f}"
            f" on {os.cpu_count()} cores, database on the same machine.",
            f"Each query ran {runs} times under `EXPLAIN (ANALYZE, BUFFERS)`; times and plans are of the median run",
            "(a warm cache, as for a hot read). The SQL is exactly what the ORM sent for the app's own selectors",
            "(`backend/<app>/selectors.py`, run by `bench/management/commands/explain_hot_reads.py`).",
            "",
            "## Table sizes",
            "",
            *self._table_sizes(),
            "",
            "## The user and the job explained",
            "",
            f"User {user_id} ({chosen}): {counts.get(user_id, 0):,} payments ({paid:,} paid, "
            f"{counts.get(user_id, 0) - paid:,} received), {received:,} reviews received, {written:,} written, "
            f"{posted:,} jobs posted (the client's own lists).",
            f"Worker {worker_id} (the 99th percentile of applications per worker): {applied:,} applications "
            "(the worker's own lists).",
            f"Job {job_id}: the job with the most applications ({job_applications:,}).",
            "",
            "## Summary",
            "",
            "| read | execution | planning | shared buffers (hit/read) | indexes used | Seq Scan on |",
            "| --- | ---: | ---: | ---: | --- | --- |",
        ]
        for read, ex in results:
            used = ", ".join(f"`{name}`" for name, _ in ex.index_scans) or "none"
            seqs = ", ".join(f"`{t}`" for t in ex.seq_scans) or "none"
            lines.append(
                f"| {read.title} | {_ms(ex.execution_ms)} | {_ms(ex.planning_ms)} | "
                f"{ex.buffers_hit:,}/{ex.buffers_read:,} | {used} | {seqs} |"
            )
        lines += ["", *self._or_versus_union(comparison), "", *self._overlaps(indexes)]
        lines += ["", "## The queries and their plans", ""]
        for read, ex in results:
            formatted = sqlparse.format(ex.sql, reindent=True, keyword_case="upper", wrap_after=110).strip()
            lines += [
                f"### {read.title}",
                "",
                f"Execution {_ms(ex.execution_ms)}, planning {_ms(ex.planning_ms)}; indexes used: "
                + (", ".join(f"`{name}` on `{table}`" for name, table in ex.index_scans) or "none")
                + (f"; Seq Scan on {', '.join(f'`{t}`' for t in ex.seq_scans)}" if ex.seq_scans else "")
                + ".",
                "",
                "<details><summary>SQL</summary>",
                "",
                _fence(formatted, "sql"),
                "",
                "</details>",
                "",
                _fence(ex.plan),
                "",
            ]
        return "\n".join(lines).rstrip() + "\n"

    def _or_versus_union(self, comparison) -> list[str]:
        project = project_payment_filter()
        lines = [
            "## Payer OR payee: BitmapOr against UNION ALL",
            "",
            "A user's payments are those where they are the payer OR the payee. With `WHERE payer_id = $1 OR",
            "payee_id = $1 ORDER BY created_at DESC, id DESC LIMIT 20`, PostgreSQL can combine the two indexes only",
            "with a BitmapOr: it fetches every payment of the user from the heap, joins and sorts them all, then keeps",
            "20, so the cost grows with the user's history. As a UNION ALL of `WHERE payer_id = $1 ORDER BY ... LIMIT",
            "20` and the same on `payee_id`, each half walks its `(side, created_at DESC, id DESC)` index in order and",
            "stops after 20 rows, and a Merge Append keeps the 20 newest: the cost is one page whatever the history.",
            "(Page *n* cuts each half at `n * 20` rows. ALL is safe: a check constraint keeps payer and payee apart.)",
            "",
            "| user | payments | OR page | UNION ALL page | OR count | UNION ALL count | page buffers OR / UNION |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for row in comparison:
            or_page, union_page = row["payments-or-page"], row["payments-union-page"]
            lines.append(
                f"| {row['label']} (user {row['user_id']}) | {row['payments']:,} | {_ms(or_page.execution_ms)} | "
                f"{_ms(union_page.execution_ms)} | {_ms(row['payments-or-count'].execution_ms)} | "
                f"{_ms(row['payments-union-count'].execution_ms)} | "
                f"{or_page.buffers_hit + or_page.buffers_read:,} / "
                f"{union_page.buffers_hit + union_page.buffers_read:,} |"
            )
        busy = next(row for row in comparison if row["explained"])
        busiest = comparison[-1]

        def speedup(row) -> float:
            return row["payments-or-page"].execution_ms / max(row["payments-union-page"].execution_ms, 1e-6)

        scanned = ", ".join(f"`{table}`" for table in busy["payments-or-page"].seq_scans)
        lines += [
            "",
            f"The UNION ALL page is {speedup(busy):.0f}x faster than the OR page for the {busy['label']} user and "
            f"{speedup(busiest):.0f}x for the busiest, and reads a fraction of the buffers. Because the OR form must",
            "produce every row before it can sort, the joins of `select_related` (job, payer and payee with their",
            "profiles) run over the user's whole history too"
            + (
                f": for the {busy['label']} user the planner even chose a Seq Scan on {scanned} to hash-join them,"
                " a cost that grows with the number of users."
                if scanned
                else "."
            ),
            "The counts differ less: both visit every payment of the user, OR through a BitmapOr and the heap,",
            "UNION ALL through two index scans.",
            "",
            "**Which the project uses, and why.** The page should be read with UNION ALL: its cost is flat in the",
            "user's history, with no sort and no join before the limit. The count can use either form (see the",
            "figures). With OR, every cache miss on a busy user's payments fetches, joins and sorts their history.",
            "At the time of this run, the hot payments page (`backend.payments.selectors.payment_newest_for_user`,"
            f" which builds the cached first page) reads with **{project}**"
            + (
                ": on these figures its page should move to the UNION ALL form (paginate by cutting each half at"
                " `page * page_size`)."
                if project == "OR"
                else "; further pages (`?page=N`, uncached) and the count use the OR filter, whose count is as cheap."
            ),
        ]  # fmt: skip
        return lines

    def _overlaps(self, indexes: dict) -> list[str]:
        tables = {model._meta.db_table for model in TABLES}
        found = [(table, name, other) for table, name, other in overlapping_indexes(indexes) if table in tables]
        lines = [
            "## Overlapping indexes",
            "",
            "Non-unique indexes whose columns are the same as, or the beginning of, another index on the table.",
            "Django adds a single-column index to every foreign key; where a model index starts with that column too,",
            "both are maintained on every write. The single-column ones are not useless: B-tree deduplication makes",
            "them several times smaller, so the planner picks them for counts and BitmapOr above. Exact duplicates",
            "(same columns) are pure cost.",
            "",
            "| table | index | columns | same as / prefix of |",
            "| --- | --- | --- | --- |",
        ]
        for table, name, other in found:
            columns, other_columns = indexes[name][1], indexes[other][1]
            kind = "same as" if columns == other_columns else "prefix of"
            lines.append(
                f"| `{table}` | `{name}` | {', '.join(columns)} | {kind} `{other}` ({', '.join(other_columns)}) |"
            )
        return lines
