"""Who may do what: one table, every route and method, four callers.

For every route of the URL resolver and every method its view answers, ``MATRIX`` declares the
status that an anonymous caller, another user, the owner of the object in the path and a staff
user get. Each cell is a real request against real rows (``world``): the owner owns the object in
the path, writes carry a body that is valid where the cell succeeds. A route or method without a
row fails ``test_every_route_and_method_has_a_row``, so a new endpoint cannot ship without
declaring who may call it.

The rules (backend/common/access.py): anonymous callers get 401 wherever a token is needed;
private data (payments, account details) is 404 for anyone but its owner and staff; an action on
a public object that the caller may not perform is 403; staff-only operations are 403 for
everyone else. Token authentication throughout, as the mobile clients use it; the admin, which
works with a login session, is called with one.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from tests.assertions import assert_error
from tests.factories import PASSWORD
from tests.security.conftest import World

ROLES = ("anonymous", "other", "owner", "staff")
# Routes whose sub-pages belong to a third-party site with its own access rules: one row each.
SITES = ("admin/", "silk/", "__debug__/")


@dataclass(frozen=True)
class Cell:
    world: World
    role: str
    user: object  # the caller, None when anonymous


@dataclass(frozen=True)
class Row:
    route: str
    method: str
    path: str  # with {placeholders} named after World's rows, e.g. {open_job}
    expected: tuple[int, int, int, int]  # anonymous, other, owner, staff
    body: dict | Callable[[Cell], dict] | None = None
    owner: str = "owner"  # the World attribute that owns the object in the path
    headers: dict | None = None
    session: bool = False  # the admin: a login session instead of a token

    @property
    def id(self) -> str:
        return f"{self.method} /{self.route}"


def _future_job() -> dict:
    start = timezone.now() + timedelta(days=3)
    return {
        "title": "Stocktake",
        "city": "Abuja",
        "pay_rate": "18.00",
        "shift_start": start.isoformat(),
        "shift_end": (start + timedelta(hours=6)).isoformat(),
    }


def _register(cell: Cell) -> dict:
    return {"email": f"new-{cell.role}@example.com", "password": "unusual-passphrase-4217"}


def _credentials(cell: Cell) -> dict:
    # Anonymous callers log in as the owner: logging in needs no token.
    user = cell.user or cell.world.owner
    return {"email": user.email, "password": PASSWORD}


def _payment(cell: Cell) -> dict:
    return {"payee": cell.world.worker.id, "amount": "50.00"}


def _review(cell: Cell) -> dict:
    return {"reviewee": cell.world.worker.id, "rating": 4, "comment": "On time."}


PUBLIC_READ = (200, 200, 200, 200)
OWN_DATA = (401, 200, 200, 200)  # /me/...: every caller with a token reads their own
PRIVATE = (401, 404, 200, 200)  # someone's private data: owner and staff only
CLIENT_ACTION = (401, 403, 200, 403)  # the job's client only
STAFF_ONLY = (401, 403, 403, 200)


def _legacy(route: str, method: str, path: str, expected, **kwargs) -> list[Row]:
    """The previous system's path, and the same path with the trailing slash toggled."""
    other_route = route[:-1] if route.endswith("/") else f"{route}/"
    other_path = path[:-1] if path.endswith("/") else f"{path}/"
    return [Row(route, method, path, expected, **kwargs), Row(other_route, method, other_path, expected, **kwargs)]


MATRIX: list[Row] = [
    # accounts
    Row("api/v1/auth/register/", "POST", "/api/v1/auth/register/", (201, 201, 201, 201), body=_register),
    Row("api/v1/auth/token/", "POST", "/api/v1/auth/token/", (200, 200, 200, 200), body=_credentials),
    Row("api/v1/auth/logout/", "POST", "/api/v1/auth/logout/", (401, 204, 204, 204)),
    Row("api/v1/auth/me/", "GET", "/api/v1/auth/me/", OWN_DATA),
    Row("api/v1/me/profile/", "GET", "/api/v1/me/profile/", OWN_DATA),
    Row("api/v1/me/profile/", "PATCH", "/api/v1/me/profile/", OWN_DATA, body={"headline": "Night shifts"}),
    Row("api/v1/me/account-details/", "GET", "/api/v1/me/account-details/", OWN_DATA),
    Row(
        "api/v1/me/account-details/",
        "PATCH",
        "/api/v1/me/account-details/",
        OWN_DATA,
        body={"bank_name": "Zenith"},
    ),
    Row("api/v1/users/<id:user_id>/profile/", "GET", "/api/v1/users/{owner}/profile/", PUBLIC_READ),
    Row("api/v1/users/<id:user_id>/account-details/", "GET", "/api/v1/users/{owner}/account-details/", PRIVATE),
    # jobs and applications
    Row("api/v1/jobs/", "GET", "/api/v1/jobs/", PUBLIC_READ),
    Row("api/v1/jobs/", "POST", "/api/v1/jobs/", (401, 201, 201, 201), body=lambda cell: _future_job()),
    Row("api/v1/jobs/<id:job_id>/", "GET", "/api/v1/jobs/{open_job}/", PUBLIC_READ),
    Row("api/v1/jobs/<id:job_id>/", "PATCH", "/api/v1/jobs/{open_job}/", CLIENT_ACTION, body={"title": "Renamed"}),
    Row("api/v1/jobs/<id:job_id>/cancel/", "POST", "/api/v1/jobs/{open_job}/cancel/", CLIENT_ACTION),
    Row("api/v1/jobs/<id:job_id>/start/", "POST", "/api/v1/jobs/{filled_job}/start/", CLIENT_ACTION),
    Row("api/v1/jobs/<id:job_id>/complete/", "POST", "/api/v1/jobs/{in_progress_job}/complete/", CLIENT_ACTION),
    # the caller's own lists: a worker's applications, a client's posted jobs (empty for whoever has none)
    Row("api/v1/me/applications/", "GET", "/api/v1/me/applications/", OWN_DATA),
    Row("api/v1/me/jobs/", "GET", "/api/v1/me/jobs/", OWN_DATA),
    Row(
        "api/v1/jobs/<id:job_id>/applications/",
        "GET",
        "/api/v1/jobs/{open_job}/applications/",
        (401, 403, 200, 200),
    ),
    # Anyone but the job's client may apply (staff included: staff accounts are users too).
    Row(
        "api/v1/jobs/<id:job_id>/applications/",
        "POST",
        "/api/v1/jobs/{open_job}/applications/",
        (401, 201, 403, 201),
        body={"cover_note": "Available all week."},
    ),
    # The applicant withdraws; the job's client accepts and rejects. Staff see the application
    # (403, not 404) but act for neither side.
    Row(
        "api/v1/applications/<id:application_id>/withdraw/",
        "POST",
        "/api/v1/applications/{pending_application}/withdraw/",
        (401, 404, 200, 403),
        owner="worker",
    ),
    Row(
        "api/v1/applications/<id:application_id>/accept/",
        "POST",
        "/api/v1/applications/{pending_application}/accept/",
        (401, 404, 200, 403),
    ),
    Row(
        "api/v1/applications/<id:application_id>/reject/",
        "POST",
        "/api/v1/applications/{pending_application}/reject/",
        (401, 404, 200, 403),
    ),
    # payments
    Row("api/v1/users/<id:user_id>/payments/", "GET", "/api/v1/users/{owner}/payments/", PRIVATE),
    Row(
        "api/v1/jobs/<id:job_id>/payments/",
        "POST",
        "/api/v1/jobs/{unreviewed_job}/payments/",
        (401, 403, 201, 403),
        body=_payment,
        headers={"Idempotency-Key": "matrix-payment-1"},
    ),
    Row("api/v1/payments/<id:payment_id>/", "GET", "/api/v1/payments/{succeeded_payment}/", PRIVATE),
    Row("api/v1/payments/<id:payment_id>/succeed/", "POST", "/api/v1/payments/{pending_payment}/succeed/", STAFF_ONLY),
    Row("api/v1/payments/<id:payment_id>/fail/", "POST", "/api/v1/payments/{pending_payment}/fail/", STAFF_ONLY),
    Row("api/v1/payments/<id:payment_id>/refund/", "POST", "/api/v1/payments/{succeeded_payment}/refund/", STAFF_ONLY),
    # reviews
    Row(
        "api/v1/jobs/<id:job_id>/reviews/",
        "POST",
        "/api/v1/jobs/{unreviewed_job}/reviews/",
        (401, 403, 201, 403),
        body=_review,
    ),
    Row("api/v1/users/<id:user_id>/reviews/", "GET", "/api/v1/users/{owner}/reviews/", PUBLIC_READ),
    Row("api/v1/users/<id:user_id>/reviews-given/", "GET", "/api/v1/users/{owner}/reviews-given/", PUBLIC_READ),
    # operations: cache statistics are staff-only; the probes answer everyone without a token
    Row("api/v1/ops/cache/stats/", "GET", "/api/v1/ops/cache/stats/", STAFF_ONLY),
    # the benchmark's floor (bench/views.py, installed by test settings): a constant body for any caller with a token
    Row("api/v1/ops/floor/", "GET", "/api/v1/ops/floor/", (401, 200, 200, 200)),
    Row("healthz", "GET", "/healthz", PUBLIC_READ),
    Row("readyz", "GET", "/readyz", PUBLIC_READ),
    # Prometheus's scrape: off (404) without METRICS_TOKEN, as here; an API token is never the scrape's
    # bearer token (tests/ops/test_metrics.py has the 401s once it is on)
    Row("metrics", "GET", "/metrics", (404, 404, 404, 404)),
    # documentation
    Row("api/schema/", "GET", "/api/schema/", PUBLIC_READ),
    Row("api/docs/", "GET", "/api/docs/", PUBLIC_READ),
    # the admin: its login page for anyone but staff
    Row("admin/", "GET", "/admin/", (302, 302, 302, 200), session=True),
    # Developer tools, installed only by local (and, for silk, production) settings, and the toolbar
    # only with DEBUG: never in the test settings, so their cells run only under those settings,
    # e.g. `DJANGO_DEBUG=true pytest --ds=config.settings.local -o django_debug_mode=true
    # tests/security/test_access_matrix.py` (tests/observability/test_profiling.py and tests/browser check
    # them too). silk: staff only, anonymous visitors go to the admin login; the toolbar does not
    # exist (404) for anyone but staff.
    Row("silk/", "GET", "/silk/", (302, 403, 403, 200), session=True),
    Row(
        "__debug__/",
        "GET",
        "/__debug__/render_panel/?request_id=gone&panel_id=SQLPanel",
        (404, 404, 404, 200),
        session=True,
    ),
    # the previous system's paths: the same access as their canonical twins
    *_legacy("get-profile/<id:user_id>", "GET", "/get-profile/{owner}", PUBLIC_READ),
    *_legacy("get-account-details", "GET", "/get-account-details", OWN_DATA),
    *_legacy("jobs/<id:job_id>", "GET", "/jobs/{open_job}", PUBLIC_READ),
    *_legacy("users/<id:user_id>/payments", "GET", "/users/{owner}/payments", PRIVATE),
    *_legacy("reviews/<id:user_id>", "GET", "/reviews/{owner}", PUBLIC_READ),
    *_legacy("ratings/reviewer_<id:user_id>/", "GET", "/ratings/reviewer_{owner}/", PUBLIC_READ),
]


def _view_methods(callback) -> set[str]:
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view_class is None:  # a plain function view: all it declares is being callable
        return {"GET"}
    return {method.upper() for method in view_class.http_method_names if method not in ("head", "options")} & {
        method.upper() for method in dir(view_class)
    }


def _routes(patterns, prefix: str = ""):
    """(route, method) for every URL pattern, recursively; a third-party site counts as one route."""
    for pattern in patterns:
        route = prefix + str(pattern.pattern).removeprefix("^")  # the toolbar's routes are regexes
        if isinstance(pattern, URLResolver):
            if route in SITES:
                yield route, "GET"
            else:
                yield from _routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            for method in _view_methods(pattern.callback):
                yield route, method


def test_every_route_and_method_has_a_row():
    served = set(_routes(get_resolver().url_patterns))
    declared = {(row.route, row.method) for row in MATRIX}

    assert not served - declared, f"routes without a row in MATRIX: {sorted(served - declared)}"
    # Rows for tools that only some settings install (silk, the debug toolbar) may be absent.
    assert not {key for key in declared - served if key[0] not in SITES}, sorted(declared - served)


def test_the_matrix_declares_each_route_and_method_once():
    keys = [(row.route, row.method) for row in MATRIX]
    assert len(keys) == len(set(keys))


def _caller(world: World, row: Row, role: str):
    return {"anonymous": None, "other": world.stranger, "owner": getattr(world, row.owner), "staff": world.staff}[role]


def _client(world: World, row: Row, user) -> Client:
    if row.session:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client
    client = APIClient()
    if user is not None:
        role = next(name for name in ("owner", "worker", "stranger", "staff") if getattr(world, name) == user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {world.tokens[role]}")
    return client


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("row", MATRIX, ids=lambda row: row.id)
def test_access(world, row, role):
    if row.route in SITES and (row.route, row.method) not in set(_routes(get_resolver().url_patterns)):
        pytest.skip(f"/{row.route} is not installed in these settings")
    # given
    user = _caller(world, row, role)
    client = _client(world, row, user)
    path = row.path.format(**world.path_values())
    body = row.body(Cell(world, role, user)) if callable(row.body) else row.body
    headers = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in (row.headers or {}).items()}

    # when
    if row.session:
        response = client.generic(row.method, path, **headers)
    else:
        response = getattr(client, row.method.lower())(path, body, format="json", **headers)

    # then
    expected = row.expected[ROLES.index(role)]
    if 400 <= expected < 500 and not row.session:  # the sites answer in HTML, as a browser expects
        assert_error(response, expected)
    else:
        assert response.status_code == expected, response.content


@pytest.mark.parametrize(
    "path", ["/admin/payments/payment/", "/admin/accounts/accountdetails/", "/admin/authtoken/tokenproxy/"]
)
def test_admin_pages_with_private_data_send_non_staff_to_the_login_page(world, path):
    anonymous = Client()
    user = Client()
    user.force_login(world.owner)
    superuser = Client()
    world.staff.is_superuser = True
    world.staff.save()
    superuser.force_login(world.staff)

    for client in (anonymous, user):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    assert superuser.get(path).status_code == 200
