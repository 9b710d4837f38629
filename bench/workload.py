"""The Paeshift workload: who reads and writes what, and how often.

One definition, used by every measurement (in-process by ``measure_cachalot``, over HTTP by the
benchmark): users drawn from a Zipf distribution (a few are hot, as on a real marketplace); 95%
reads over the six hot endpoints (some through their legacy paths), the open jobs list and the
two lists each side opens every day (a worker's applications, a client's posted jobs); 5% writes:
payments created and settled, reviews, profile and account updates, applications. Every client
acts with a real token. Deterministic for a given seed and database.

Only ``Population.load`` touches Django (its imports are local), so a load generator can run the
workload from a ``Population`` saved as JSON (``to_json``/``from_json``) without Django.
"""

import bisect
import itertools
import random
import uuid
from dataclasses import asdict, dataclass, field
from decimal import Decimal

CITIES = ("Lagos", "Abuja", "Accra", "Nairobi", "Kigali", "Cape Town", "Cairo", "Casablanca")

READ_MIX = (
    # (name, weight, namespace)
    ("payments", 15, "payments:user"),
    ("reviews_received", 15, "reviews:user"),
    ("reviews_given", 10, "reviews:reviewer"),
    ("profile", 20, "profile:user"),
    ("account_details", 15, "account_details:user"),
    ("job_detail", 15, "job:detail"),
    ("open_jobs", 10, None),
    # Each side's own list, read by a worker (about four users in five) or a client: a worker checks
    # their applications and shifts about as often as they browse open jobs; a client, a fifth of the
    # users, checks their posted jobs and applicants several times a day.
    ("my_applications", 8, None),
    ("my_jobs", 4, None),
)
# Of those reads, the share that opens a tab other than the default page (upcoming shifts, open jobs).
MY_LIST_TAB_SHARE = 0.4
WRITE_MIX = (
    ("payment_create", 25),
    ("review_create", 20),
    ("application_create", 20),
    ("profile_update", 20),
    ("account_update", 15),
)
# The reads that a hot cache serves (the open jobs list is not one).
HOT_READ_MIX = tuple(read for read in READ_MIX if read[2] is not None)
LEGACY_SHARE = 0.25
# The smallest payment the workload makes (a tip); a target with less room left is dropped.
MIN_PAYMENT = Decimal("5.00")


@dataclass(frozen=True)
class Op:
    """One request of the workload."""

    kind: str  # "read" or "write"
    name: str
    method: str
    path: str
    user_id: int | None  # who acts (whose token is sent); None for staff
    body: dict | None = None
    headers: dict = field(default_factory=dict)
    namespace: str | None = None
    subject_id: int | None = None  # whose data the op touches (a user or a job id)


class ZipfPicker:
    """Draws items with probability proportional to 1 / rank**exponent (ranks in a seeded random order)."""

    def __init__(self, items: list, exponent: float, rng: random.Random) -> None:
        self.items = list(items)
        rng.shuffle(self.items)
        self.cum = list(itertools.accumulate(1 / (rank**exponent) for rank in range(1, len(self.items) + 1)))
        self.rng = rng

    def pick(self):
        return self.items[bisect.bisect_left(self.cum, self.rng.random() * self.cum[-1])]


@dataclass
class Population:
    """Who and what the workload acts on, read from the database once."""

    users: list[int]
    tokens: dict[int, str]
    staff_token: str
    jobs: list[int]
    open_jobs: list[int]
    # (client, job, accepted worker, room) of completed jobs: room is what the job's payment ceiling
    # still allows for that worker (backend.payments.services.payment_ceiling), a decimal string.
    pay_targets: list[tuple]
    review_targets: list[tuple[int, int, int]]  # (job, reviewer, reviewee) not reviewed yet
    apply_targets: list[tuple[int, int]]  # (open job, worker who has not applied)
    workers: list[int] = field(default_factory=list)  # users who applied to a job
    clients: list[int] = field(default_factory=list)  # users who posted a job

    @classmethod
    def load(cls, *, max_users: int | None = None, seed: int = 1) -> "Population":
        from django.db.models import Sum
        from rest_framework.authtoken.models import Token

        from backend.accounts.models import User
        from backend.jobs.models import Application, Job
        from backend.payments.models import Payment
        from backend.payments.services import payment_ceiling
        from backend.ratings.models import Review

        rng = random.Random(seed)
        users = list(
            User.objects.filter(is_active=True, is_staff=False).order_by("id").values_list("id", flat=True)[:max_users]
        )
        if not users:
            raise RuntimeError("no users: seed the database first (manage.py seed_demo)")
        user_set = set(users)
        existing = dict(Token.objects.filter(user_id__in=users).values_list("user_id", "key"))
        missing = [Token(user_id=u, key=Token.generate_key()) for u in users if u not in existing]
        Token.objects.bulk_create(missing, batch_size=5000)
        existing.update({t.user_id: t.key for t in missing})
        staff = User.objects.filter(is_staff=True, is_active=True).order_by("id").first()
        if staff is None:
            staff = User.objects.create_user(email="bench-staff@paeshift.dev", password=None, is_staff=True)
        staff_token, _ = Token.objects.get_or_create(user=staff)

        jobs = list(Job.objects.order_by("id").values_list("id", flat=True))
        open_jobs = list(Job.objects.filter(status=Job.Status.OPEN).order_by("id").values_list("id", flat=True))
        accepted = list(
            Application.objects.filter(status=Application.Status.ACCEPTED, job__status=Job.Status.COMPLETED)
            .order_by("id")
            .values_list("job__client_id", "job_id", "applicant_id")
        )
        accepted = [a for a in accepted if a[0] in user_set and a[2] in user_set]
        committed = {
            (row["job"], row["payee"]): row["total"]
            for row in Payment.objects.filter(status__in=[Payment.Status.PENDING, Payment.Status.SUCCEEDED])
            .values("job", "payee")
            .annotate(total=Sum("amount"))
        }
        completed = Job.objects.in_bulk({job for _, job, _ in accepted})
        pay_targets = []
        for client, job, worker in accepted:
            room = payment_ceiling(completed[job]) - committed.get((job, worker), 0)
            if room >= MIN_PAYMENT:
                pay_targets.append((client, job, worker, str(room)))
        review_targets = []
        done = set(Review.objects.values_list("job_id", "reviewer_id", "reviewee_id").iterator())
        for client, job, worker in accepted:
            for reviewer, reviewee in ((client, worker), (worker, client)):
                if (job, reviewer, reviewee) not in done:
                    review_targets.append((job, reviewer, reviewee))
        applied = set(
            Application.objects.filter(job__status=Job.Status.OPEN).values_list("job_id", "applicant_id").iterator()
        )
        clients = dict(Job.objects.filter(status=Job.Status.OPEN).values_list("id", "client_id"))
        apply_targets = []
        for job in open_jobs:
            for worker in rng.sample(users, min(5, len(users))):
                if (job, worker) not in applied and clients[job] != worker:
                    apply_targets.append((job, worker))
        rng.shuffle(review_targets)
        rng.shuffle(apply_targets)
        workers = sorted(set(Application.objects.values_list("applicant_id", flat=True).distinct()) & user_set)
        clients = sorted(set(Job.objects.values_list("client_id", flat=True).distinct()) & user_set)
        return cls(
            users,
            existing,
            staff_token.key,
            jobs,
            open_jobs,
            pay_targets,
            review_targets,
            apply_targets,
            workers,
            clients,
        )

    def to_json(self) -> dict:
        """A JSON-ready dict (token keys become strings, tuples lists); ``from_json`` reverses it."""
        data = asdict(self)
        data["tokens"] = {str(user): key for user, key in self.tokens.items()}
        return data

    @classmethod
    def from_json(cls, data: dict) -> "Population":
        return cls(
            users=list(data["users"]),
            tokens={int(user): key for user, key in data["tokens"].items()},
            staff_token=data["staff_token"],
            jobs=list(data["jobs"]),
            open_jobs=list(data["open_jobs"]),
            pay_targets=[tuple(t) for t in data["pay_targets"]],
            review_targets=[tuple(t) for t in data["review_targets"]],
            apply_targets=[tuple(t) for t in data["apply_targets"]],
            workers=list(data.get("workers", [])),
            clients=list(data.get("clients", [])),
        )


class Workload:
    """An endless, deterministic sequence of ``Op``s over a ``Population``.

    Several clients acting at once (the benchmark's virtual users) each get their own
    ``Workload``: a different ``seed``, the same ``order_seed`` (so the same users and jobs are hot
    for everyone, as on a real marketplace) and their own ``shard`` (index, count) of the
    one-time targets (reviews, applications) and of the payment targets, so two clients never race for
    the same one, and each client keeps its payments within what the target's payment ceiling leaves. Every
    write carries a value unique to its client and rank (``#seed-n``), so a reader can tell which
    write it sees.
    """

    def __init__(
        self,
        population: Population,
        *,
        seed: int = 1,
        write_share: float = 0.05,
        exponent: float = 1.1,
        order_seed: int | None = None,
        shard: tuple[int, int] | None = None,
        read_mix: tuple = READ_MIX,
    ):
        self.population = population
        self.seed = seed
        self.rng = random.Random(seed)
        self.write_share = write_share
        self.users = ZipfPicker(population.users, exponent, random.Random(seed + 1))
        self.jobs = ZipfPicker(population.jobs or [0], exponent, random.Random(seed + 2))
        # Who reads each side's own list; a population saved without them falls back on every user.
        workers, clients = population.workers or population.users, population.clients or population.users
        self.workers = ZipfPicker(workers, exponent, random.Random(seed + 3))
        self.clients = ZipfPicker(clients, exponent, random.Random(seed + 4))
        if order_seed is not None:
            # Ranks from the shared order, draws from this client's own generator.
            self.users.items = ZipfPicker(population.users, exponent, random.Random(order_seed + 1)).items
            self.jobs.items = ZipfPicker(population.jobs or [0], exponent, random.Random(order_seed + 2)).items
            self.workers.items = ZipfPicker(workers, exponent, random.Random(order_seed + 3)).items
            self.clients.items = ZipfPicker(clients, exponent, random.Random(order_seed + 4)).items
        self.reads = [(name, ns) for name, weight, ns in read_mix for _ in range(weight)]
        self.writes = [name for name, weight in WRITE_MIX for _ in range(weight)]
        self.to_settle: list[int] = []
        index, count = shard or (0, 1)
        self.pay_targets = [list(target) for target in population.pay_targets[index::count]]
        self.review_targets = list(population.review_targets[index::count])
        self.apply_targets = list(population.apply_targets[index::count])
        self._serial = itertools.count(1)

    def _tag(self) -> str:
        return f"#{self.seed}-{next(self._serial)}"

    def next(self) -> Op:
        if self.to_settle and self.rng.random() < 0.5 * self.write_share:
            return self._settle(self.to_settle.pop(0))
        if self.rng.random() < self.write_share:
            return self._write(self.rng.choice(self.writes))
        return self._read(*self.rng.choice(self.reads))

    def payment_created(self, payment_id: int) -> None:
        """Tell the workload a payment was created: it settles it later, as the payment provider would."""
        self.to_settle.append(payment_id)

    def _read(self, name: str, namespace: str | None) -> Op:
        if name in ("my_applications", "my_jobs"):
            return self._own_list(name)
        legacy = self.rng.random() < LEGACY_SHARE
        user = self.users.pick()
        if name == "payments":
            path = f"/users/{user}/payments" if legacy else f"/api/v1/users/{user}/payments/"
            return Op("read", name, "GET", path, user, namespace=namespace, subject_id=user)
        if name == "account_details":
            path = "/get-account-details" if legacy else "/api/v1/me/account-details/"
            return Op("read", name, "GET", path, user, namespace=namespace, subject_id=user)
        reader = self.users.pick()
        if name == "reviews_received":
            path = f"/reviews/{user}" if legacy else f"/api/v1/users/{user}/reviews/"
        elif name == "reviews_given":
            path = f"/ratings/reviewer_{user}/" if legacy else f"/api/v1/users/{user}/reviews-given/"
        elif name == "profile":
            path = f"/get-profile/{user}" if legacy else f"/api/v1/users/{user}/profile/"
        elif name == "job_detail":
            job = self.jobs.pick()
            path = f"/jobs/{job}" if legacy else f"/api/v1/jobs/{job}/"
            return Op("read", name, "GET", path, reader, namespace=namespace, subject_id=job)
        else:
            city = self.rng.choice(CITIES)
            return Op("read", name, "GET", f"/api/v1/jobs/?city={city}", reader)
        return Op("read", name, "GET", path, reader, namespace=namespace, subject_id=user)

    def _own_list(self, name: str) -> Op:
        """A worker opens their applications (or upcoming shifts); a client, their posted jobs (or open ones)."""
        tab = self.rng.random() < MY_LIST_TAB_SHARE
        if name == "my_applications":
            user = self.workers.pick()
            path = "/api/v1/me/applications/?upcoming=true" if tab else "/api/v1/me/applications/"
        else:
            user = self.clients.pick()
            path = "/api/v1/me/jobs/?status=open" if tab else "/api/v1/me/jobs/"
        return Op("read", name, "GET", path, user, subject_id=user)

    def _write(self, name: str) -> Op:
        rng = self.rng
        if name == "payment_create" and self.pay_targets:
            target = self.pay_targets[rng.randrange(len(self.pay_targets))]
            client, job, worker, room = target
            amount = min(Decimal(rng.randrange(500, 20000)) / 100, Decimal(room))
            # Within the job's payment ceiling, as a real client's payments are (a refused one would be
            # measured as a failure); counted as spent whatever the provider says later.
            target[3] = str(Decimal(room) - amount)
            if Decimal(target[3]) < MIN_PAYMENT:
                self.pay_targets.remove(target)
            amount = str(amount)
            headers = {"HTTP_IDEMPOTENCY_KEY": str(uuid.UUID(int=rng.getrandbits(128)))}
            return Op(
                "write",
                name,
                "POST",
                f"/api/v1/jobs/{job}/payments/",
                client,
                {"payee": worker, "amount": amount},
                headers,
                subject_id=client,
            )
        if name == "review_create" and self.review_targets:
            job, reviewer, reviewee = self.review_targets.pop()
            body = {"reviewee": reviewee, "rating": rng.randint(1, 5), "comment": "Benchmark review."}
            return Op("write", name, "POST", f"/api/v1/jobs/{job}/reviews/", reviewer, body, subject_id=reviewee)
        if name == "application_create" and self.apply_targets:
            job, worker = self.apply_targets.pop()
            body = {"cover_note": "Available for this shift."}
            return Op("write", name, "POST", f"/api/v1/jobs/{job}/applications/", worker, body, subject_id=job)
        user = self.users.pick()
        if name == "account_update":
            body = {"bank_name": f"Bank {rng.randrange(100)} {self._tag()}"}
            return Op("write", "account_update", "PATCH", "/api/v1/me/account-details/", user, body, subject_id=user)
        city = rng.choice(CITIES)
        body = {"city": city, "headline": f"Available {rng.choice(('days', 'nights', 'weekends'))} {self._tag()}"}
        return Op("write", "profile_update", "PATCH", "/api/v1/me/profile/", user, body, subject_id=user)

    def _settle(self, payment_id: int) -> Op:
        outcome = "succeed" if self.rng.random() < 0.9 else "fail"
        return Op("write", f"payment_{outcome}", "POST", f"/api/v1/payments/{payment_id}/{outcome}/", None)

    def token_for(self, op: Op) -> str:
        return self.population.staff_token if op.user_id is None else self.population.tokens[op.user_id]
