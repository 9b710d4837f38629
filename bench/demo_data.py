"""Deterministic demo data for Paeshift: the seeding behind ``manage.py seed_demo``.

The data describes a marketplace with a past. ``users`` people, about 20% of them clients and the rest workers,
live in 15 real cities and deal in their city's currency. Clients post about 2 jobs per user (most completed, some
open, filled, in progress or cancelled); workers of the job's city apply (pending, accepted, rejected, withdrawn,
never more accepted than the job has slots). Each completed job pays its accepted workers (succeeded mostly; some
pending, failed then retried, refunded; tips) and its client and workers review each other, so there are about 10
payments and 10 reviews per user, all within the rules the API enforces. Popularity is skewed (log-normal): a few
clients post hundreds of jobs and a few workers get most of the work, as on a real marketplace.

Time. Everything comes from ``random.Random`` seeded with ``seed`` and from fixed dates, never from the clock, so
one seed gives the same rows on any day, with one exception:

- Recorded history (``date_joined``, ``created_at``, ``updated_at``) lies between ``HISTORY_START`` and
  ``HISTORY_END``, whatever the day of seeding.
- Shift times (``shift_start``, ``shift_end``) lie on that same calendar moved forward so that ``HISTORY_END``
  falls on the seeding day at midnight UTC (``shift_anchor``): a shift that history places 3 days before its end
  happened 3 days before today, in-progress shifts began the evening before, and open and filled jobs start 1 to 30
  days from today. Payments to a worker stay within the job's ceiling (wage plus tips of at most 20%, under the 25%
  allowance of ``backend.payments.services.payment_ceiling``).

Rows are inserted in chronological order (ids grow with ``created_at``, as in a live database) in batches of
``BATCH_SIZE`` with a progress bar per table, inside one transaction, with one password hash shared by every user:
with ``bulk_create``, or with ``COPY`` on PostgreSQL (see ``_Loader``).
"""

import gc
import math
import random
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import accumulate

from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.contrib.auth.hashers import make_password
from django.core.cache import caches
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token
from tqdm import tqdm

from backend.accounts.models import AccountDetails, Profile, User
from backend.jobs.models import FEED_ALL, Application, Job, city_key
from backend.payments.models import Payment
from backend.ratings.models import Review

HISTORY_START = datetime(2025, 1, 1, tzinfo=UTC)
HISTORY_END = datetime(2026, 1, 1, tzinfo=UTC)
BATCH_SIZE = 5000

DEMO_EMAIL = "demo@paeshift.dev"
DEMO_WORKER_EMAIL = "worker@paeshift.dev"
ADMIN_EMAIL = "admin@paeshift.dev"
DEMO_PASSWORD = "paeshift-demo"

CLIENT_SHARE = 0.2
JOBS_PER_USER = 2.0

CENT = Decimal("0.01")
HALF = Decimal("0.50")


# --- the world -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Region:
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]


@dataclass(frozen=True)
class City:
    name: str
    weight: int  # share of users living there
    currency: str
    hourly_rate: tuple[int, int]  # typical shift pay per hour, in the local currency
    region: Region
    streets: tuple[str, ...]
    banks: tuple[str, ...]
    account_number: tuple[str, int]  # prefix, number of digits


@dataclass(frozen=True)
class Trade:
    role: str
    places: tuple[str, ...]
    skills: tuple[str, ...]
    rate_factor: float


_NIGERIA = Region(
    first_names=(
        "Adaeze", "Chinedu", "Oluwaseun", "Temitope", "Ngozi", "Emeka", "Funmilayo", "Ibrahim", "Aisha", "Tunde",
        "Yetunde", "Babajide", "Chiamaka", "Obinna", "Kemi", "Segun", "Zainab", "Uche", "Bisi", "Femi", "Amaka",
        "Musa", "Halima", "Ifeoma", "Kelechi", "Bolaji", "Nneka", "Sade", "Yusuf", "Damilola",
    ),
    last_names=(
        "Okafor", "Adeyemi", "Balogun", "Eze", "Nwosu", "Okonkwo", "Bello", "Abubakar", "Olawale", "Adebayo",
        "Ogunleye", "Chukwu", "Ibekwe", "Lawal", "Nnamdi", "Oyelaran", "Afolabi", "Danjuma", "Ekwueme", "Ogunbiyi",
    ),
)  # fmt: skip
_GHANA = Region(
    first_names=(
        "Kwame", "Ama", "Kofi", "Akosua", "Yaw", "Abena", "Kwabena", "Efua", "Kojo", "Adwoa", "Kwesi", "Esi",
        "Nana", "Afua", "Yaa",
    ),
    last_names=(
        "Mensah", "Owusu", "Boateng", "Asante", "Osei", "Appiah", "Agyeman", "Darko", "Ofori", "Acheampong",
        "Amoah", "Tetteh",
    ),
)  # fmt: skip
_KENYA = Region(
    first_names=(
        "Wanjiru", "Otieno", "Achieng", "Kamau", "Njeri", "Mwangi", "Wambui", "Ochieng", "Akinyi", "Kipchoge",
        "Nyambura", "Mutua", "Chebet", "Kariuki", "Atieno",
    ),
    last_names=(
        "Odhiambo", "Kiprono", "Wanjala", "Njoroge", "Omondi", "Kimani", "Mutai", "Onyango", "Githinji", "Kibet",
        "Macharia", "Wafula",
    ),
)  # fmt: skip
_SOUTH_AFRICA = Region(
    first_names=(
        "Thabo", "Naledi", "Sipho", "Lerato", "Lwazi", "Zanele", "Pieter", "Anele", "Karabo", "Refilwe", "Johan",
        "Nomvula", "Mandla", "Ayanda", "Mpho",
    ),
    last_names=(
        "Nkosi", "Dlamini", "Khumalo", "Mokoena", "van der Merwe", "Botha", "Naidoo", "Ndlovu", "Mahlangu",
        "Pillay", "Sithole", "Zulu",
    ),
)  # fmt: skip
_UK = Region(
    first_names=(
        "Oliver", "Amelia", "Harry", "Isla", "Jack", "Priya", "Mohammed", "Sophie", "George", "Chloe", "Liam",
        "Grace", "Arjun", "Ellie", "Callum",
    ),
    last_names=(
        "Smith", "Jones", "Taylor", "Brown", "Williams", "Patel", "Khan", "Wilson", "Evans", "Thomas", "Roberts",
        "Walker", "Wright", "Hughes",
    ),
)  # fmt: skip
_NORTH_AMERICA = Region(
    first_names=(
        "James", "Maria", "Michael", "Emily", "Daniel", "Sofia", "Ethan", "Olivia", "Carlos", "Ava", "Noah", "Mia",
        "Jayden", "Zoe", "Wei",
    ),
    last_names=(
        "Johnson", "Garcia", "Martinez", "Rodriguez", "Lee", "Nguyen", "Davis", "Miller", "Hernandez", "Lopez",
        "Tremblay", "Roy", "Chen", "Wilson",
    ),
)  # fmt: skip
_GULF = Region(
    first_names=(
        "Ahmed", "Fatima", "Omar", "Mariam", "Rahul", "Anjali", "Jose", "Maricel", "Khalid", "Noura", "Imran",
        "Sana", "Arnel", "Layla", "Vikram",
    ),
    last_names=(
        "Al Mansoori", "Haddad", "Khan", "Nair", "Santos", "Reyes", "Qureshi", "Menon", "Farouk", "Aziz",
        "Pereira", "Sharma",
    ),
)  # fmt: skip

_NG_BANKS = ("Access Bank", "GTBank", "Zenith Bank", "First Bank of Nigeria", "UBA", "Opay", "Moniepoint")

CITIES: tuple[City, ...] = (
    City("Lagos", 20, "NGN", (1500, 4000), _NIGERIA, ("Marina Road", "Adeola Odeku Street", "Allen Avenue",
         "Awolowo Road", "Herbert Macaulay Way"), _NG_BANKS, ("", 10)),
    City("Abuja", 9, "NGN", (1400, 3800), _NIGERIA, ("Ahmadu Bello Way", "Aminu Kano Crescent", "Adetokunbo Ademola "
         "Crescent"), _NG_BANKS, ("", 10)),
    City("Port Harcourt", 6, "NGN", (1300, 3500), _NIGERIA, ("Aba Road", "Trans-Amadi Road", "Olu Obasanjo Road"),
         _NG_BANKS, ("", 10)),
    City("Ibadan", 5, "NGN", (1200, 3000), _NIGERIA, ("Ring Road", "Bodija Road", "Challenge Road"), _NG_BANKS,
         ("", 10)),
    City("Accra", 8, "GHS", (18, 45), _GHANA, ("Oxford Street", "Independence Avenue", "Liberation Road"),
         ("GCB Bank", "Ecobank Ghana", "Fidelity Bank Ghana", "Stanbic Bank Ghana"), ("", 13)),
    City("Kumasi", 3, "GHS", (15, 38), _GHANA, ("Harper Road", "Prempeh II Street", "Lake Road"),
         ("GCB Bank", "Ecobank Ghana", "CalBank"), ("", 13)),
    City("Nairobi", 8, "KES", (250, 650), _KENYA, ("Moi Avenue", "Kenyatta Avenue", "Ngong Road", "Waiyaki Way"),
         ("Equity Bank", "KCB Bank", "Co-operative Bank", "NCBA"), ("", 12)),
    City("Mombasa", 3, "KES", (220, 550), _KENYA, ("Moi Avenue", "Nyali Road", "Digo Road"),
         ("Equity Bank", "KCB Bank", "Co-operative Bank"), ("", 12)),
    City("Johannesburg", 7, "ZAR", (35, 95), _SOUTH_AFRICA, ("Jan Smuts Avenue", "Rivonia Road", "Commissioner "
         "Street"), ("Standard Bank", "FNB", "Capitec", "Absa", "Nedbank"), ("", 10)),
    City("Cape Town", 5, "ZAR", (35, 90), _SOUTH_AFRICA, ("Long Street", "Bree Street", "Main Road"),
         ("Standard Bank", "FNB", "Capitec", "Absa"), ("", 10)),
    City("London", 9, "GBP", (12, 19), _UK, ("Commercial Road", "Kingsland Road", "Borough High Street",
         "Old Kent Road"), ("Barclays", "HSBC UK", "Monzo", "Lloyds Bank", "NatWest", "Starling Bank"), ("", 8)),
    City("Manchester", 4, "GBP", (12, 16), _UK, ("Deansgate", "Oxford Road", "Portland Street"),
         ("Barclays", "HSBC UK", "Monzo", "Lloyds Bank", "Santander UK"), ("", 8)),
    City("New York", 6, "USD", (17, 30), _NORTH_AMERICA, ("Atlantic Avenue", "Broadway", "Flatbush Avenue",
         "Lexington Avenue"), ("Chase", "Bank of America", "Wells Fargo", "Citibank"), ("", 12)),
    City("Toronto", 4, "CAD", (17, 26), _NORTH_AMERICA, ("Queen Street West", "Yonge Street", "Spadina Avenue"),
         ("RBC", "TD Canada Trust", "Scotiabank", "BMO"), ("", 12)),
    City("Dubai", 3, "AED", (25, 60), _GULF, ("Sheikh Zayed Road", "Al Wasl Road", "Al Rigga Road"),
         ("Emirates NBD", "ADCB", "Mashreq", "Dubai Islamic Bank"), ("AE", 21)),
)  # fmt: skip

TRADES: tuple[Trade, ...] = (
    Trade("Warehouse picker", ("a distribution centre", "an e-commerce fulfilment hub"),
          ("picking", "packing", "inventory", "scanner guns"), 1.0),
    Trade("Event server", ("a wedding reception", "a corporate gala dinner", "a conference"),
          ("silver service", "food safety", "customer service"), 1.05),
    Trade("Bartender", ("a rooftop bar", "a music festival", "a wedding reception"),
          ("cocktails", "cash handling", "customer service"), 1.15),
    Trade("Barista", ("a city-centre coffee shop", "a conference"), ("espresso", "latte art", "cash handling"), 1.05),
    Trade("Delivery rider", ("a restaurant group", "a grocery delivery hub"),
          ("motorbike licence", "navigation", "time management"), 1.1),
    Trade("Line cook", ("a busy restaurant", "a hotel kitchen"), ("food safety", "grill", "prep"), 1.2),
    Trade("Kitchen porter", ("a hotel kitchen", "a catering company"),
          ("dishwashing", "cleaning", "food safety"), 0.95),
    Trade("Retail assistant", ("a shopping mall store", "a pop-up store"),
          ("merchandising", "cash handling", "customer service"), 1.0),
    Trade("Office cleaner", ("an office block", "a co-working space"), ("cleaning", "time management"), 0.95),
    Trade("Security guard", ("a music festival", "a football match", "a shopping mall"),
          ("crowd control", "first aid", "CCTV"), 1.15),
    Trade("Brand ambassador", ("a product launch", "a trade fair", "a supermarket"),
          ("sales", "public speaking", "customer service"), 1.2),
    Trade("Receptionist", ("a conference", "a hotel", "a clinic"), ("front desk", "scheduling", "MS Office"), 1.1),
    Trade("Stocktaker", ("a supermarket", "a warehouse"), ("inventory", "attention to detail"), 1.0),
    Trade("Forklift operator", ("a distribution centre", "a port warehouse"),
          ("forklift", "health and safety"), 1.3),
    Trade("Hotel housekeeper", ("a hotel", "serviced apartments"), ("housekeeping", "laundry", "cleaning"), 0.95),
    Trade("Catering assistant", ("a corporate lunch", "a wedding reception", "a school event"),
          ("food safety", "prep", "silver service"), 1.0),
    Trade("Usher", ("a football match", "a concert", "a theatre"), ("crowd control", "customer service"), 0.95),
    Trade("Data entry clerk", ("a logistics office", "a hospital records office"),
          ("typing", "MS Office", "attention to detail"), 1.1),
    Trade("Cashier", ("a supermarket", "a cinema", "a fast-food restaurant"),
          ("cash handling", "POS", "customer service"), 1.0),
)  # fmt: skip

_BUSINESS_KINDS = ("Events", "Logistics", "Catering", "Hospitality", "Retail", "Facilities", "Staffing")
_DUTIES = (
    "You will be briefed on arrival by the shift supervisor.",
    "Uniform is provided; wear black trousers and closed shoes.",
    "Expect a busy shift with a 30-minute paid break.",
    "Previous experience in a similar role is a plus.",
    "Please arrive 15 minutes early to sign in.",
    "Meals are provided during the shift.",
)
_WORKER_BIOS = (
    "Reliable and punctual, happy to pick up last-minute shifts.",
    "Student working weekends and evenings.",
    "Experienced with high-volume events and busy venues.",
    "Friendly, quick learner, comfortable on my feet all day.",
    "Looking for regular shifts close to home.",
    "",
)
_CLIENT_COMMENTS = {
    5: ("Excellent work, would book again.", "Punctual and hard-working.", "Went above and beyond.", "Great attitude."),
    4: ("Good shift, no issues.", "Reliable, needed a little guidance.", "Solid work."),
    3: ("Okay, arrived a bit late.", "Did the job, could be more proactive."),
    2: ("Left early without notice.", "Needed a lot of supervision."),
    1: ("Did not follow instructions.", "Very late and unprepared."),
}
_WORKER_COMMENTS = {
    5: ("Clear instructions and paid on time.", "Great team, would work here again.", "Well organised shift."),
    4: ("Good client, shift ran a little over.", "Friendly staff."),
    3: ("Briefing was unclear.", "Long wait before the shift started."),
    2: ("Shift was disorganised.", "Breaks were not respected."),
    1: ("Unsafe conditions.", "Payment took far too long."),
}

_JOB_STATUSES = (
    (Job.Status.COMPLETED, 70),
    (Job.Status.CANCELLED, 11),
    (Job.Status.OPEN, 11),
    (Job.Status.FILLED, 5),
    (Job.Status.IN_PROGRESS, 3),
)
_SLOTS = ((1, 18), (2, 15), (3, 12), (4, 10), (5, 9), (6, 8), (8, 9), (10, 7), (12, 5), (15, 4), (20, 3))
_START_HOURS = (6, 7, 8, 9, 10, 12, 14, 16, 17, 18, 20, 22)
_SHIFT_HOURS = (4, 5, 6, 8, 8, 8, 10, 12)


# --- the plan (pure Python, no database) ----------------------------------------------------------------------


@dataclass(slots=True)
class Person:
    email: str
    first: str
    last: str
    city: City
    is_client: bool
    weight: float  # popularity
    quality: float  # how others rate them, around 0
    joined: datetime
    trade: Trade
    business: str = ""


@dataclass(slots=True)
class PlannedApplication:
    worker: int  # index into Plan.people
    status: str
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True)
class PlannedJob:
    client: int
    city: City
    trade: Trade
    place: str
    status: str
    slots: int
    pay_rate: Decimal
    hours: int
    created_at: datetime
    updated_at: datetime
    shift_start: datetime  # on the history calendar, as shift_end; see module docstring
    shift_end: datetime
    address: str
    description: str
    applications: list[PlannedApplication] = field(default_factory=list)

    @property
    def accepted(self) -> list[int]:
        return [a.worker for a in self.applications if a.status == Application.Status.ACCEPTED]


@dataclass(slots=True)
class Plan:
    people: list[Person]
    jobs: list[PlannedJob]  # in order of created_at


def _rand_time(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A time in [start, end], to the second."""
    span = max(0, int((end - start).total_seconds()))
    return start + timedelta(seconds=_between(rng, 0, span))


def _between(rng: random.Random, low: int, high: int) -> int:
    """``rng.randint(low, high)``, several times faster (it runs millions of times at 100,000 users)."""
    return low + int(rng.random() * (high - low + 1))


def _cap(moment: datetime) -> datetime:
    return min(moment, HISTORY_END)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


def _weighted(rng: random.Random, pairs: Sequence[tuple[object, int]]):
    return rng.choices([value for value, _ in pairs], weights=[weight for _, weight in pairs])[0]


def _ticking(items: Iterable, advance: Callable[[int], object] | None, every: int = 1000) -> Iterator:
    """``items``, calling ``advance(n)`` every ``every`` items and once for the rest at the end: a progress
    bar's update, kept out of the planning's inner loops."""
    if advance is None:
        yield from items
        return
    count = 0
    for count, item in enumerate(items, 1):
        yield item
        if count % every == 0:
            advance(every)
    advance(count % every)


def _plan_people(rng: random.Random, users: int, advance: Callable[[int], object] | None = None) -> list[Person]:
    city_weights = list(accumulate(city.weight for city in CITIES))
    people = []
    for number in _ticking(range(1, users + 1), advance):
        city = rng.choices(CITIES, cum_weights=city_weights)[0]
        first = rng.choice(city.region.first_names)
        last = rng.choice(city.region.last_names)
        is_client = rng.random() < CLIENT_SHARE
        person = Person(
            email=f"{_slug(first)}.{_slug(last)}{number}@example.com",
            first=first,
            last=last,
            city=city,
            is_client=is_client,
            # Log-normal popularity: the busiest client posts tens of times more jobs than the median one.
            weight=rng.lognormvariate(0, 1.3 if is_client else 0.9),
            quality=rng.gauss(0, 0.45),
            joined=_rand_time(rng, HISTORY_START - timedelta(days=540), HISTORY_START),
            trade=rng.choice(TRADES),
        )
        if is_client:
            person.business = f"{last} {rng.choice(_BUSINESS_KINDS)}"
        people.append(person)
    # The demo client: a busy (not the busiest) client in Lagos, so its screens are full but readable.
    demo = people[0]
    client_weights = sorted(p.weight for p in people if p.is_client) or [1.0]
    demo.email, demo.first, demo.last, demo.business = DEMO_EMAIL, "Demo", "Client", "Paeshift Demo Events"
    demo.city, demo.is_client = CITIES[0], True
    demo.weight = client_weights[int(0.97 * (len(client_weights) - 1))]
    if len(people) > 1:
        # The demo worker, the other side's screens (GET /api/v1/me/applications/): as busy a worker in Lagos
        # as the demo client is a client, so they hold applications in several statuses and upcoming shifts.
        # Only their own draws change, so every other person stays as the seed made them.
        worker = people[1]
        worker_weights = sorted(p.weight for p in people if not p.is_client and p is not worker) or [1.0]
        worker.email, worker.first, worker.last, worker.business = DEMO_WORKER_EMAIL, "Demo", "Worker", ""
        worker.city, worker.is_client = CITIES[0], False
        worker.weight = worker_weights[int(0.97 * (len(worker_weights) - 1))]
    return people


class _WorkerPicker:
    """Weighted picks of distinct workers, preferring the job's city."""

    def __init__(self, people: list[Person]):
        self.by_city: dict[str, tuple[list[int], list[float]]] = {}
        everyone = [i for i, p in enumerate(people) if not p.is_client]
        self.anywhere = (everyone, list(accumulate(people[i].weight for i in everyone)))
        for city in CITIES:
            local = [i for i in everyone if people[i].city is city]
            self.by_city[city.name] = (local, list(accumulate(people[i].weight for i in local)))

    def pick(self, rng: random.Random, city: City, count: int) -> list[int]:
        pool, cum = self.by_city[city.name]
        if len(pool) < count:
            pool, cum = self.anywhere
        count = min(count, len(pool))
        if 2 * count > len(pool):  # drawing nearly everyone by weight would take long: draw evenly
            return rng.sample(pool, count)
        chosen: dict[int, None] = {}
        while len(chosen) < count:
            for worker in rng.choices(pool, cum_weights=cum, k=count - len(chosen)):
                chosen.setdefault(worker)
        return list(chosen)


def _application_statuses(rng: random.Random, status: str, slots: int) -> list[str]:
    """The statuses of one job's applications; never more accepted than slots."""
    extra = rng.randint(0, math.ceil(slots * 0.4))
    withdrawn = 1 if rng.random() < 0.15 else 0
    if status == Job.Status.OPEN:
        accepted = rng.randint(0, slots - 1)
        return ["accepted"] * accepted + ["pending"] * rng.randint(0, slots + 1) + ["withdrawn"] * withdrawn
    if status == Job.Status.CANCELLED:
        accepted = rng.randint(0, slots) if rng.random() < 0.3 else 0
        return ["accepted"] * accepted + ["rejected"] * extra + ["withdrawn"] * withdrawn
    if status == Job.Status.COMPLETED and rng.random() < 0.2:
        accepted = rng.randint(max(1, math.ceil(slots / 2)), slots)
    else:
        accepted = slots
    return ["accepted"] * accepted + ["rejected"] * extra + ["withdrawn"] * withdrawn


def _plan_job(rng: random.Random, client_index: int, client: Person) -> PlannedJob:
    status = _weighted(rng, _JOB_STATUSES)
    trade = rng.choice(TRADES)
    slots = _weighted(rng, _SLOTS)
    hours = rng.choice(_SHIFT_HOURS)
    hour, minute = rng.choice(_START_HOURS), rng.choice((0, 0, 30))
    span = HISTORY_END - HISTORY_START
    if status in (Job.Status.COMPLETED, Job.Status.CANCELLED):
        # More recent jobs are more frequent: the marketplace grows.
        created = HISTORY_START + (span - timedelta(days=16)) * math.sqrt(rng.random())
        day = created.date() + timedelta(days=rng.randint(1, 14))
    elif status == Job.Status.IN_PROGRESS:
        # Started the evening before the seeding day, running into it: a shift in progress has begun at
        # any hour of seeding (issue 12's shift timing), which a shift starting this morning would not.
        created = HISTORY_END - timedelta(days=rng.uniform(1, 14))
        day, hour, hours = HISTORY_END.date() - timedelta(days=1), rng.choice((18, 19, 20, 21)), rng.choice((10, 12))
    else:
        created = HISTORY_END - timedelta(days=rng.uniform(0.1, 14 if status == Job.Status.OPEN else 21))
        day = HISTORY_END.date() + timedelta(days=rng.randint(1, 30 if status == Job.Status.OPEN else 21))
    created = created.replace(microsecond=0)
    shift_start = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
    low, high = client.city.hourly_rate
    rate = Decimal(str(rng.uniform(low, high) * trade.rate_factor))
    pay_rate = max(HALF, (rate / HALF).quantize(Decimal(1), rounding=ROUND_HALF_UP) * HALF)
    place = rng.choice(trade.places)
    noun = trade.role.lower() + ("s" if slots > 1 else "")
    return PlannedJob(
        client=client_index,
        city=client.city,
        trade=trade,
        place=place,
        status=status,
        slots=slots,
        pay_rate=pay_rate,
        hours=hours,
        created_at=created,
        updated_at=created,
        shift_start=shift_start,
        shift_end=shift_start + timedelta(hours=hours),
        address=f"{rng.randint(1, 240)} {rng.choice(client.city.streets)}",
        description=(f"{slots} {noun} needed at {place} in {client.city.name}, {hours} hours. {rng.choice(_DUTIES)}"),
    )


def _plan_applications(rng: random.Random, job: PlannedJob, picker: _WorkerPicker) -> None:
    statuses = _application_statuses(rng, job.status, job.slots)
    workers = picker.pick(rng, job.city, len(statuses))
    # Workers apply between the posting and the shift (or today, for jobs still taking applications).
    window_end = _cap(max(job.created_at + timedelta(minutes=10), min(job.shift_start, HISTORY_END)))
    decided = job.created_at
    for worker, status in zip(workers, statuses, strict=False):
        created = _rand_time(rng, job.created_at + timedelta(minutes=5), window_end)
        updated = created
        if status != Application.Status.PENDING:
            updated = _cap(max(created, _rand_time(rng, created, window_end)))
            decided = max(decided, updated)
        job.applications.append(PlannedApplication(worker, status, created, updated))
    job.applications.sort(key=lambda a: a.created_at)
    if job.status == Job.Status.COMPLETED:
        job.updated_at = _cap(job.shift_end + timedelta(minutes=_between(rng, 20, 600)))
    elif job.status == Job.Status.CANCELLED:
        job.updated_at = _rand_time(rng, job.created_at, _cap(max(job.created_at, job.shift_start)))
    elif job.status == Job.Status.IN_PROGRESS:
        job.updated_at = HISTORY_END
    else:
        job.updated_at = decided


def planned_jobs(users: int) -> int:
    """How many jobs ``build_plan`` aims at for ``users`` users (none when the plan has no worker)."""
    return round(JOBS_PER_USER * users)


def build_plan(*, users: int, seed: int, advance: Callable[[int], object] | None = None) -> Plan:
    """The people and jobs (with applications) for ``users`` users; the same for the same arguments.
    ``advance(n)``: told as people and jobs are planned (``users + planned_jobs(users)`` in all)."""
    rng = random.Random(f"paeshift-demo:{seed}:plan")
    people = _plan_people(rng, users, advance)
    clients = [i for i, p in enumerate(people) if p.is_client]
    client_cum = list(accumulate(people[i].weight for i in clients))
    picker = _WorkerPicker(people)
    jobs = []
    if picker.anywhere[0]:
        for client_index in _ticking(
            rng.choices(clients, cum_weights=client_cum, k=round(JOBS_PER_USER * users)), advance
        ):
            job = _plan_job(rng, client_index, people[client_index])
            _plan_applications(rng, job, picker)
            jobs.append(job)
    jobs.sort(key=lambda j: j.created_at)
    return Plan(people=people, jobs=jobs)


@dataclass(slots=True)
class PlannedPayment:
    job: int  # index into Plan.jobs
    payer: int
    payee: int
    amount: Decimal
    currency: str
    status: str
    idempotency_key: str
    created_at: datetime
    updated_at: datetime


def plan_payments(plan: Plan, *, seed: int, advance: Callable[[int], object] | None = None) -> list[PlannedPayment]:
    """What each completed job paid its accepted workers, oldest first.

    One wage payment per worker: mostly succeeded; some failed and retried (two rows), some refunded, recent ones
    pending; and often a tip.
    """
    rng = random.Random(f"paeshift-demo:{seed}:payments")
    payments = []

    def add(job_index, job, worker, amount, status, created, settled_after):
        key = f"{rng.getrandbits(128):032x}"
        updated = created if status == Payment.Status.PENDING else _cap(created + settled_after)
        payments.append(
            PlannedPayment(job_index, job.client, worker, amount, job.city.currency, status, key, created, updated)
        )

    for job_index, job in _ticking(enumerate(plan.jobs), advance):
        if job.status != Job.Status.COMPLETED:
            continue
        wage = (job.pay_rate * job.hours).quantize(CENT)
        for worker in job.accepted:
            paid_at = _cap(job.shift_end + timedelta(seconds=_between(rng, 3600, 72 * 3600)))
            roll = rng.random()
            seconds = timedelta(seconds=_between(rng, 2, 40))
            if roll < 0.05:
                add(job_index, job, worker, wage, Payment.Status.FAILED, paid_at, seconds)
                retry_at = _cap(paid_at + timedelta(seconds=_between(rng, 1800, 86400)))
                add(job_index, job, worker, wage, Payment.Status.SUCCEEDED, retry_at, seconds)
            elif roll < 0.08:
                add(job_index, job, worker, wage, Payment.Status.REFUNDED, paid_at, timedelta(days=_between(rng, 1, 9)))
            elif roll < 0.40 and HISTORY_END - paid_at < timedelta(days=7):
                add(job_index, job, worker, wage, Payment.Status.PENDING, paid_at, seconds)
            else:
                add(job_index, job, worker, wage, Payment.Status.SUCCEEDED, paid_at, seconds)
            if roll >= 0.08 and rng.random() < 0.4:  # a tip, unless the wage was refunded
                tip = max(CENT, (wage * Decimal(_between(rng, 5, 20)) / 100).quantize(CENT))
                tipped_at = _cap(paid_at + timedelta(seconds=_between(rng, 60, 48 * 3600)))
                add(job_index, job, worker, tip, Payment.Status.SUCCEEDED, tipped_at, seconds)
    payments.sort(key=lambda p: p.created_at)
    return payments


@dataclass(slots=True)
class PlannedReview:
    job: int
    reviewer: int
    reviewee: int
    rating: int
    comment: str
    created_at: datetime


def plan_reviews(plan: Plan, *, seed: int, advance: Callable[[int], object] | None = None) -> list[PlannedReview]:
    """Reviews between each completed job's client and its accepted workers, at most one per direction, oldest first."""
    rng = random.Random(f"paeshift-demo:{seed}:reviews")
    reviews = []

    def add(job_index, job, reviewer, reviewee, comments):
        score = 4.4 + plan.people[reviewee].quality + rng.gauss(0, 0.75)
        rating = min(5, max(1, round(score)))
        comment = rng.choice(comments[rating]) if rng.random() < 0.8 else ""
        created = _cap(job.shift_end + timedelta(seconds=_between(rng, 3600, 10 * 86400)))
        reviews.append(PlannedReview(job_index, reviewer, reviewee, rating, comment, created))

    for job_index, job in _ticking(enumerate(plan.jobs), advance):
        if job.status != Job.Status.COMPLETED:
            continue
        for worker in job.accepted:
            if rng.random() < 0.78:
                add(job_index, job, job.client, worker, _CLIENT_COMMENTS)
            if rng.random() < 0.7:
                add(job_index, job, worker, job.client, _WORKER_COMMENTS)
    reviews.sort(key=lambda r: r.created_at)
    return reviews


# --- the database -----------------------------------------------------------------------------------------------


DOMAIN_MODELS: tuple[type[models.Model], ...] = (
    User,
    User.groups.through,
    User.user_permissions.through,
    Profile,
    AccountDetails,
    Token,
    LogEntry,
    Job,
    Application,
    Payment,
    Review,
)


def reset() -> None:
    """Delete every user and all domain data (as ``manage.py flush`` does, for these tables only).

    Identity sequences restart, so a reset followed by a seed gives the same ids every time.
    """
    tables = [model._meta.db_table for model in DOMAIN_MODELS]
    # PostgreSQL refuses to truncate a table with foreign-key checks still deferred in this transaction.
    connection.check_constraints()
    sql = connection.ops.sql_flush(no_style(), tables, reset_sequences=True, allow_cascade=True)
    connection.ops.execute_sql_flush(sql)
    _forget_cached_queries()


def _forget_cached_queries() -> None:
    """Tell cachalot that these tables changed: COPY and bulk writes go round the ORM it watches."""
    if apps.is_installed("cachalot"):
        from cachalot.api import invalidate

        invalidate(*DOMAIN_MODELS)


def _clear_caches() -> None:
    """Bulk inserts send no signals, so no cache heard of the new rows: start every cache from scratch."""
    for cache in caches.all():
        cache.clear()


@contextmanager
def explicit_timestamps(*model_classes: type[models.Model]) -> Iterator[None]:
    """Let ``bulk_create`` keep the given ``auto_now``/``auto_now_add`` values instead of stamping "now"."""
    fields = [
        f
        for model in model_classes
        for f in model._meta.concrete_fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    saved = [(f, f.auto_now, f.auto_now_add) for f in fields]
    for f in fields:
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


class _Loader:
    """Inserts rows (tuples of ``columns`` values) in batches of ``BATCH_SIZE``, with a progress bar per table.

    ``bulk_create`` is the portable way. On PostgreSQL, ``COPY`` is used instead: bulk_create spends most of its
    time building model instances and compiling parameters in Python (measured: 100,000 users took 6 minutes with
    bulk_create, 2.5 with COPY), which COPY skips. Ids that later rows refer to are then taken from the
    table's sequence beforehand, so both ways leave the sequences as inserts would.
    """

    def __init__(self, *, method: str, progress: bool):
        self.method = method
        self.progress = progress

    def insert(self, model, columns: Sequence[str], rows: Sequence[tuple], *, label: str, ids: bool = False):
        with tqdm(
            total=len(rows), desc=f"{label:<16}", unit=" rows", disable=_bar_off(self.progress), file=sys.stderr
        ) as bar:
            if self.method == "copy":
                return self._copy(model, columns, rows, bar, ids)
            return self._bulk_create(model, columns, rows, bar)

    def _bulk_create(self, model, columns, rows, bar) -> list[int]:
        new_ids: list[int] = []
        for start in range(0, len(rows), BATCH_SIZE):
            objs = [model(**dict(zip(columns, row, strict=True))) for row in rows[start : start + BATCH_SIZE]]
            model.objects.bulk_create(objs, batch_size=BATCH_SIZE)
            new_ids.extend(obj.pk for obj in objs)
            bar.update(len(objs))
        return new_ids

    def _copy(self, model, columns, rows, bar, ids: bool) -> list[int]:
        meta = model._meta
        fields = [meta.get_field(name) for name in columns]
        # Columns the rows leave out get their model default, as bulk_create would give them.
        defaults = [f for f in meta.concrete_fields if not f.primary_key and f.attname not in columns]
        default_values = tuple(f.get_db_prep_save(f.get_default(), connection) for f in defaults)
        json_positions = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
        names = [f.column for f in fields + defaults]
        new_ids: list[int] = []
        with connection.cursor() as cursor:
            if ids:
                names.insert(0, meta.pk.column)
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s) ORDER BY 1",
                    [meta.db_table, meta.pk.column, len(rows)],
                )
                new_ids = [row[0] for row in cursor.fetchall()]
            sql = "COPY {} ({}) FROM STDIN".format(
                connection.ops.quote_name(meta.db_table), ", ".join(connection.ops.quote_name(n) for n in names)
            )
            with cursor.copy(sql) as copy:
                for number, row in enumerate(rows):
                    if json_positions:
                        row = list(row)
                        for i in json_positions:
                            row[i] = fields[i].get_db_prep_save(row[i], connection)
                    copy.write_row((new_ids[number], *row, *default_values) if ids else (*row, *default_values))
                    if number % BATCH_SIZE == BATCH_SIZE - 1:
                        bar.update(BATCH_SIZE)
            bar.update(len(rows) % BATCH_SIZE)
        return new_ids


def _bar_off(progress: bool) -> bool | None:
    """tqdm's ``disable``: off when not asked for; None (tqdm's own test) draws the bar only when stderr is a
    terminal, so logs and CI output get no bar."""
    return None if progress else True


@dataclass
class SeedResult:
    demo_user: User
    admin_user: User
    token: str
    counts: dict[str, int]
    seconds: dict[str, float]  # per phase: planning, inserting, checking foreign keys


@contextmanager
def _without_gc() -> Iterator[None]:
    """Millions of small objects and no reference cycles: the cyclic collector would only rescan them (~20% of
    the planning time at 100,000 users)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _account_number(rng: random.Random, city: City) -> str:
    prefix, digits = city.account_number
    return prefix + "".join(rng.choices("0123456789", k=digits))


def _profile_row(rng: random.Random, user_id: int, person: Person) -> tuple:
    """user_id, display_name, headline, bio, skills, city, hourly_rate, updated_at."""
    if person.is_client:
        headline = f"Hiring {person.trade.role.lower()}s and more in {person.city.name}"
        bio = f"{person.first} {person.last} books shift staff for {person.business}."
        return (user_id, person.business[:80], headline, bio, [], person.city.name, None, person.joined)
    low, high = person.city.hourly_rate
    rate = Decimal(str(rng.uniform(low, high) * person.trade.rate_factor)).quantize(CENT)
    skills = rng.sample(person.trade.skills, k=2)
    skills += [s for s in rng.sample(rng.choice(TRADES).skills, k=1) if s not in skills]
    headline = f"{person.trade.role} · {rng.randint(1, 12)} years' experience"
    display_name = f"{person.first} {person.last[0]}."
    return (user_id, display_name, headline, rng.choice(_WORKER_BIOS), skills, person.city.name, rate, person.joined)


def _account_details_row(rng: random.Random, user_id: int, person: Person) -> tuple:
    """user_id, bank_name, account_holder, account_number, currency, updated_at."""
    holder = person.business if person.is_client else f"{person.first} {person.last}"
    bank = rng.choice(person.city.banks)
    return (user_id, bank, holder, _account_number(rng, person.city), person.city.currency, person.joined)


def seed(
    *, users: int, seed: int, progress: bool = False, shift_anchor: datetime | None = None, method: str | None = None
) -> SeedResult:
    """Insert the demo data for ``users`` users into a database without users (see the module docstring).

    ``method`` is "copy" (PostgreSQL only, its default) or "bulk_create" (the default elsewhere); both insert the
    same rows. Runs in one transaction, foreign keys checked before it returns.
    """
    clock = time.monotonic()
    method = method or ("copy" if connection.vendor == "postgresql" else "bulk_create")
    if method == "bulk_create" and not connection.features.can_return_rows_from_bulk_insert:
        raise NotImplementedError(f"seeding needs bulk inserts that return ids, which {connection.vendor} lacks")
    anchor = shift_anchor or timezone.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    shift_offset = anchor - HISTORY_END
    # Planning takes a minute or so at 100,000 users (people and jobs, then payments and reviews job by job).
    steps = users + 3 * planned_jobs(users)
    with (
        _without_gc(),
        tqdm(total=steps, desc=f"{'planning':<16}", unit=" steps", disable=_bar_off(progress), file=sys.stderr) as bar,
    ):
        plan = build_plan(users=users, seed=seed, advance=bar.update)
        bar.total = users + 3 * len(plan.jobs)
        payments = plan_payments(plan, seed=seed, advance=bar.update)
        reviews = plan_reviews(plan, seed=seed, advance=bar.update)
    people_rng = random.Random(f"paeshift-demo:{seed}:people")
    password = make_password(DEMO_PASSWORD)
    load = _Loader(method=method, progress=progress)
    seconds = {"planning": time.monotonic() - clock}
    clock = time.monotonic()

    with (
        transaction.atomic(),
        _without_gc(),
        explicit_timestamps(Profile, AccountDetails, Job, Application, Payment, Review),
    ):
        user_rows = [(p.email, password, p.joined, False, False) for p in plan.people]
        admin_joined = HISTORY_START - timedelta(days=600)
        user_rows.append((ADMIN_EMAIL, password, admin_joined, True, True))
        user_columns = ("email", "password", "date_joined", "is_staff", "is_superuser")
        user_ids = load.insert(User, user_columns, user_rows, label="users", ids=True)
        admin_id = user_ids[-1]

        profile_rows = [_profile_row(people_rng, i, p) for i, p in zip(user_ids, plan.people, strict=False)]
        profile_rows.append((admin_id, "Paeshift Admin", "", "", [], "", None, admin_joined))
        profile_columns = ("user_id", "display_name", "headline", "bio", "skills", "city", "hourly_rate", "updated_at")
        load.insert(Profile, profile_columns, profile_rows, label="profiles")

        details_rows = [_account_details_row(people_rng, i, p) for i, p in zip(user_ids, plan.people, strict=False)]
        details_rows.append((admin_id, "", "", "", "USD", admin_joined))
        details_columns = ("user_id", "bank_name", "account_holder", "account_number", "currency", "updated_at")
        load.insert(AccountDetails, details_columns, details_rows, label="account details")

        job_columns = (
            "client_id", "title", "description", "city", "address", "pay_rate", "shift_start", "shift_end", "slots",
            "status", "created_at", "updated_at", "city_key", "feed_key",
        )  # fmt: skip
        job_rows = [
            (
                user_ids[j.client],
                f"{j.trade.role} at {j.place}"[:200],
                j.description,
                j.city.name,
                j.address,
                j.pay_rate,
                j.shift_start + shift_offset,
                j.shift_end + shift_offset,
                j.slots,
                j.status,
                j.created_at,
                j.updated_at,
                # Derived by Job.save(), which neither COPY nor bulk_create calls.
                city_key(j.city.name),
                FEED_ALL if j.status == Job.Status.OPEN else None,
            )
            for j in plan.jobs
        ]
        job_ids = load.insert(Job, job_columns, job_rows, label="jobs", ids=True)

        application_rows = sorted(
            (
                (
                    job_ids[i],
                    user_ids[a.worker],
                    a.status,
                    "Available for the whole shift." if a.worker % 3 == 0 else "",
                    a.created_at,
                    a.updated_at,
                )
                for i, job in enumerate(plan.jobs)
                for a in job.applications
            ),
            key=lambda row: row[4],
        )
        application_columns = ("job_id", "applicant_id", "status", "cover_note", "created_at", "updated_at")
        load.insert(Application, application_columns, application_rows, label="applications")

        payment_columns = (
            "job_id", "payer_id", "payee_id", "amount", "currency", "status", "idempotency_key", "created_at",
            "updated_at",
        )  # fmt: skip
        payment_rows = [
            (
                job_ids[p.job],
                user_ids[p.payer],
                user_ids[p.payee],
                p.amount,
                p.currency,
                p.status,
                p.idempotency_key,
                p.created_at,
                p.updated_at,
            )
            for p in payments
        ]
        load.insert(Payment, payment_columns, payment_rows, label="payments")

        review_columns = ("job_id", "reviewer_id", "reviewee_id", "rating", "comment", "created_at")
        review_rows = [
            (job_ids[r.job], user_ids[r.reviewer], user_ids[r.reviewee], r.rating, r.comment, r.created_at)
            for r in reviews
        ]
        load.insert(Review, review_columns, review_rows, label="reviews")

        demo_user = User.objects.get(pk=user_ids[0])
        admin_user = User.objects.get(pk=admin_id)
        token = Token.objects.create(user=demo_user)
        seconds["inserting"] = time.monotonic() - clock
        clock = time.monotonic()
        # Check the deferred foreign keys now rather than at commit, so that their cost is measured.
        connection.check_constraints()
        seconds["checking foreign keys"] = time.monotonic() - clock
        _forget_cached_queries()
        transaction.on_commit(_clear_caches)
    counts = {
        "users": len(user_rows),
        "jobs": len(job_rows),
        "applications": len(application_rows),
        "payments": len(payment_rows),
        "reviews": len(review_rows),
    }
    return SeedResult(demo_user, admin_user, token.key, counts, seconds)
