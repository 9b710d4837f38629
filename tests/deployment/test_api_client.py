"""End to end against the Procfile's processes: the client generated from ``schema.yaml`` runs the main flows,
and one request's id is on its response, its web log lines and the worker's lines of the rebuild it enqueued.

One stack for the module (the Procfile's ``web``, gunicorn with 2 workers, and ``worker``, with
production settings) on a fresh PostgreSQL database, a private redis-server for the cache and one
with ``noeviction`` for the broker, as tests/deployment/test_stack.py runs it:

- ``test_the_generated_client_runs_the_main_flows``: openapi-python-client (pinned in
  requirements/local.txt) generates ``paeshift_client`` from the committed schema into a temporary
  directory (the client is built from the contract, never committed: ``make client`` makes the same),
  then, through it only: register a client and a worker, post a job, apply, accept, start,
  complete, pay (with an ``Idempotency-Key``), review both ways, and read every hot view, each
  answer parsed into the generated models (a field the schema mistyped fails the parse).
- ``test_a_request_id_reaches_the_worker``: a write with ``X-Request-ID`` → the response header,
  gunicorn's access line and the worker's "hot cache rebuilt" line of the rebuild it enqueued
  all carry it; Django's own line (a 404's ``django.request`` warning) too; hostile values (too
  long, non-ASCII, a control character, a quote) are replaced and appear in no log line.
"""

import importlib
import secrets
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from bench.stack import BIN, REPO, Stack, create_database, drop_database, free_port, manage, stack_environment
from tests.redis_server import RedisServer
from tests.stack import PASSWORD, Api, service_urls, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """web and worker under honcho on their own database, cache and broker; the stack and its API client."""
    given, _ = service_urls()
    workdir = tmp_path_factory.mktemp("client-stack")
    name = f"paeshift_client_{secrets.token_hex(4)}"
    database_url = create_database(given, name)
    cache, broker = RedisServer(), RedisServer("--maxmemory-policy", "noeviction")
    running = None
    try:
        cache.start()
        broker.start()
        env = stack_environment(database_url, cache.url, free_port(), workdir, CELERY_BROKER_URL=broker.url)
        manage(env, "migrate", "--noinput", timeout=180)
        running = Stack(env, ("web", "worker"))
        running.wait_ready()
        yield running
    finally:
        if running is not None:
            running.close()
        cache.close()
        broker.close()
        drop_database(given, name)


@pytest.fixture(scope="module")
def paeshift_client(tmp_path_factory):
    """The package openapi-python-client generates from the committed schema.yaml, imported."""
    out = tmp_path_factory.mktemp("client")
    result = subprocess.run(
        [
            str(BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(REPO / "schema.yaml"),
            "--config",
            str(REPO / "clients" / "python.yaml"),
            "--output-path",
            str(out / "paeshift_client"),
            "--meta",
            "none",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Generated, with nothing skipped: a schema construct the generator cannot express would leave an operation out.
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module("paeshift_client")
    finally:
        sys.path.remove(str(out))
        for module in [
            name for name in sys.modules if name == "paeshift_client" or name.startswith("paeshift_client.")
        ]:
            del sys.modules[module]


def test_the_generated_client_runs_the_main_flows(stack, paeshift_client):
    running = stack
    from paeshift_client import AuthenticatedClient, Client
    from paeshift_client.api.applications import api_v1_applications_accept_create, api_v1_jobs_applications_create
    from paeshift_client.api.auth import api_v1_auth_register_create
    from paeshift_client.api.jobs import (
        api_v1_jobs_complete_create,
        api_v1_jobs_create,
        api_v1_jobs_list,
        api_v1_jobs_retrieve,
        api_v1_jobs_start_create,
    )
    from paeshift_client.api.me import api_v1_me_account_details_retrieve
    from paeshift_client.api.payments import api_v1_jobs_payments_create, api_v1_users_payments_list
    from paeshift_client.api.reviews import (
        api_v1_jobs_reviews_create,
        api_v1_users_reviews_given_list,
        api_v1_users_reviews_list,
    )
    from paeshift_client.api.users import api_v1_users_profile_retrieve
    from paeshift_client.models import (
        AccountDetailsOutput,
        ApplicationCreateInputRequest,
        ApplicationOutput,
        JobDetailOutput,
        JobInputRequest,
        PaginatedJobListOutputList,
        PaginatedPaymentListItemList,
        PaginatedReviewOutputList,
        PaginatedReviewsReceivedList,
        PaymentCreateInputRequest,
        PaymentOutput,
        ProfileOutput,
        RegisterInputRequest,
        ReviewCreateInputRequest,
        ReviewOutput,
        TokenOutput,
    )

    # TLS ends at the platform's router, which says so in X-Forwarded-Proto.
    router = {"X-Forwarded-Proto": "https"}
    anonymous = Client(base_url=running.url, headers=router, raise_on_unexpected_status=True)

    def register(email: str, name: str):
        answer = api_v1_auth_register_create.sync(
            client=anonymous, body=RegisterInputRequest(email=email, password=PASSWORD, display_name=name)
        )
        assert isinstance(answer, TokenOutput), answer
        client = AuthenticatedClient(
            base_url=running.url, token=answer.token, prefix="Token", headers=router, raise_on_unexpected_status=True
        )
        return answer.user.id, client

    client_id, as_client = register("client@client.example", "Clara Client")
    worker_id, as_worker = register("worker@client.example", "Walter Worker")

    shift_start = datetime.now(UTC) + timedelta(seconds=3)
    job = api_v1_jobs_create.sync(
        client=as_client,
        body=JobInputRequest(
            title="Warehouse night shift",
            city="Lagos",
            pay_rate="15.00",
            shift_start=shift_start,
            shift_end=shift_start + timedelta(hours=8),
        ),
    )
    assert isinstance(job, JobDetailOutput), job
    assert (job.title, job.status.value, job.client.id) == ("Warehouse night shift", "open", client_id)
    feed = api_v1_jobs_list.sync(client=as_worker, city="Lagos")
    assert isinstance(feed, PaginatedJobListOutputList), feed
    assert [listed.id for listed in feed.results] == [job.id]

    application = api_v1_jobs_applications_create.sync(
        job.id, client=as_worker, body=ApplicationCreateInputRequest(cover_note="Ready.")
    )
    assert isinstance(application, ApplicationOutput), application
    accepted = api_v1_applications_accept_create.sync(application.id, client=as_client)
    assert isinstance(accepted, ApplicationOutput), accepted
    assert accepted.status.value == "accepted"
    assert api_v1_jobs_start_create.sync(job.id, client=as_client).status.value == "in_progress"
    time.sleep(max(0.0, (shift_start - datetime.now(UTC)).total_seconds()) + 0.1)
    assert api_v1_jobs_complete_create.sync(job.id, client=as_client).status.value == "completed"

    payment = api_v1_jobs_payments_create.sync(
        job.id,
        client=as_client,
        body=PaymentCreateInputRequest(payee=worker_id, amount="120.00"),
        idempotency_key=str(uuid.uuid4()),
    )
    assert isinstance(payment, PaymentOutput), payment
    assert (payment.amount, payment.payee.id, payment.status.value) == ("120.00", worker_id, "pending")

    for author, reviewee, rating in ((as_client, worker_id, 5), (as_worker, client_id, 4)):
        review = api_v1_jobs_reviews_create.sync(
            job.id, client=author, body=ReviewCreateInputRequest(reviewee=reviewee, rating=rating, comment="Good.")
        )
        assert isinstance(review, ReviewOutput), review

    # The hot views, each parsed into its generated model.
    profile = api_v1_users_profile_retrieve.sync(worker_id, client=as_client)
    assert isinstance(profile, ProfileOutput), profile
    assert (profile.display_name, profile.rating_average, profile.rating_count) == ("Walter Worker", "5.00", 1)
    payments = api_v1_users_payments_list.sync(worker_id, client=as_worker)
    assert isinstance(payments, PaginatedPaymentListItemList), payments
    assert [(p.id, p.direction.value) for p in payments.results] == [(payment.id, "received")]
    received = api_v1_users_reviews_list.sync(client_id, client=as_worker)
    assert isinstance(received, PaginatedReviewsReceivedList), received
    assert (received.count, received.average_rating) == (1, "4.00")
    given = api_v1_users_reviews_given_list.sync(client_id, client=as_client)
    assert isinstance(given, PaginatedReviewOutputList), given
    assert [(r.reviewee.id, r.rating) for r in given.results] == [(worker_id, 5)]
    account = api_v1_me_account_details_retrieve.sync(client=as_client)
    assert isinstance(account, AccountDetailsOutput), account
    detail = api_v1_jobs_retrieve.sync(job.id, client=as_worker)
    assert isinstance(detail, JobDetailOutput), detail
    assert (detail.status.value, detail.client.id) == ("completed", client_id)


# --- request ids -------------------------------------------------------------------------------------


def _lines(running: Stack, process: str = "web.1") -> list[str]:
    return [line.text for line in running.honcho.lines if line.process.startswith(process.split(".")[0])]


def test_a_request_id_reaches_the_worker(stack):
    running = stack
    api = Api(running.port)
    user_id, token = api.register("ids@client.example", "Ida Ids")
    # A rebuild is enqueued only for a key someone reads (HOT_CACHE_REBUILD_MIN_POPULARITY): read it first.
    api.expect(200, "GET", f"/api/v1/users/{user_id}/profile/", token=token)

    request_id = f"e2e-{uuid.uuid4()}"
    reply = api.call(
        "PATCH", "/api/v1/me/profile/", token=token, body={"city": "Abuja"}, headers={"X-Request-ID": request_id}
    )
    assert reply.status == 200, reply.body
    assert reply.headers["x-request-id"] == request_id

    def records(process: str, logger: str) -> list[dict]:
        return [record for _, record in running.honcho.records(process) if record.get("logger") == logger]

    access = wait_until(
        lambda: [r for r in records("web.1", "gunicorn.access") if "PATCH /api/v1/me/profile/" in r["message"]],
        10,
        lambda: f"no access line:\n{running.honcho.tail()}",
    )
    assert [r["request_id"] for r in access] == [request_id]
    rebuilt = wait_until(
        lambda: [
            r
            for r in records("worker.1", "workers.cache")
            if r["message"] == f"hot cache rebuilt profile:user:{user_id}"
        ],
        20,
        lambda: f"no rebuild of profile:user:{user_id} by the worker:\n{running.honcho.tail()}",
    )
    assert {r["request_id"] for r in rebuilt} == {request_id}, rebuilt

    # Django's own lines: a 404 is a django.request warning.
    missing_id = f"e2e-{uuid.uuid4()}"
    assert api.call("GET", "/api/v1/jobs/999999/", token=token, headers={"X-Request-ID": missing_id}).status == 404
    warning = wait_until(
        lambda: [r for r in records("web.1", "django.request") if r.get("request_id") == missing_id],
        10,
        lambda: f"no django.request line with {missing_id}:\n{running.honcho.tail()}",
    )
    assert warning[0]["message"] == "Not Found: /api/v1/jobs/999999/"


def _raw_get(port: int, header_value: bytes) -> tuple[int, dict[str, str]]:
    """GET /healthz with ``X-Request-ID: <header_value>`` written as bytes (http.client refuses some of them)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-Proto: https\r\nConnection: close\r\n"
            b"X-Request-ID: " + header_value + b"\r\n\r\n"
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in head[1:])
    return int(head[0].split()[1]), {name.lower(): value for name, value in headers.items()}


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("too long", b"MARKER" + b"a" * 200),
        ("non-ASCII", "MARKER-café".encode("latin-1")),
        ("quote and space", b'MARKER" injected="1'),
    ],
)
def test_a_hostile_request_id_is_replaced_and_never_logged(stack, kind, value):
    running = stack
    marker = f"hostile{secrets.token_hex(4)}"
    status, headers = _raw_get(running.port, value.replace(b"MARKER", marker.encode()))

    assert status == 200
    replacement = headers["x-request-id"]
    assert str(uuid.UUID(replacement)) == replacement
    wait_until(
        lambda: any(f"this request's id is {replacement}" in text for text in _lines(running)),
        10,
        lambda: f"no refusal logged:\n{running.honcho.tail()}",
    )
    assert marker not in "\n".join(_lines(running)), kind


def test_a_control_character_never_reaches_django(stack):
    """A newline cannot be sent inside a header (it ends the line), and gunicorn refuses other control
    characters with a 400 of its own (config/gunicorn.conf.py) before Django sees the request."""
    running = stack
    marker = f"hostile{secrets.token_hex(4)}"
    status, _ = _raw_get(running.port, f"{marker}\x1b[31mred".encode())

    assert status == 400
    assert marker not in "\n".join(_lines(running))
