"""Browser tests: headless Debian Chromium, driven by Playwright, against the app as a developer runs it.

Why a server in a subprocess rather than pytest-django's ``live_server``: these tests need silk
installed (its app, tables, middleware and URLs), and the test settings keep silk out. An app
cannot be added to a running Django process's registry without re-running every app's
``ready()`` (cachalot would patch the ORM twice), and silk's first recorded request patches the
ORM compiler for the rest of the process, which would leak into every later test. So the
server is ``manage.py runserver`` with the local settings (silk on, every request recorded),
on a fresh SQLite file and the in-process cache, and the tests talk to it only over HTTP.

The browser is the system's (``apt-get install chromium``); Playwright never downloads one. Each
page may reach the test server only: any other request is aborted and fails the test, so the
pages are proved to work offline (Swagger UI comes from drf-spectacular-sidecar, not a CDN).
Screenshots go to ``test-artifacts/browser/``. Without Chromium the tests skip, except under
CI (``CI=true``), where a missing browser is a failure.
"""

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bench.stack import free_port

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Runs in the server's environment: the people and data the tests use.
SETUP = """
import json
import django
django.setup()
from django.test import Client
from rest_framework.authtoken.models import Token
from tests.factories import make_job, make_user

staff = make_user(email="staff@example.com", is_staff=True)
worker = make_user(email="worker@example.com")
for _ in range(3):
    make_job()
# A logged-in session for the non-staff user: the admin's login form only logs staff in.
client = Client()
client.force_login(worker)
print(json.dumps({
    "staff": {"email": staff.email, "id": staff.id},
    "worker": {"email": worker.email, "id": worker.id, "token": Token.objects.create(user=worker).key,
               "session": client.cookies["sessionid"].value},
}))
"""


def _require_chromium() -> None:
    problem = None
    if not CHROMIUM.exists():
        problem = f"{CHROMIUM} is missing (apt-get install -y chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "Playwright for Python is not installed (requirements/local.txt)"
    if problem is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser tests cannot run in CI: {problem}")
    pytest.skip(problem)


def _server_env(database: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SILK", "CELERY_", "DEBUG_TOOLBAR"))}
    env.pop("REDIS_URL", None)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DATABASE_URL=f"sqlite:///{database}",
        SILK_ENABLED="true",
        SERVER_TIMING_ENABLED="true",
        # The toolbar would draw itself over the staff pages being screenshotted; it is covered
        # by tests/observability/test_profiling.py.
        DEBUG_TOOLBAR_ENABLED="false",
        PYTHONUNBUFFERED="1",
    )
    return env


class Server:
    def __init__(self, url: str, people: dict) -> None:
        self.url = url
        self.people = people

    def api(self, path: str, token: str | None = None) -> tuple[int, dict, dict]:
        """GET ``path`` from outside the browser: status, headers, JSON body."""
        request = urllib.request.Request(self.url + path)
        if token:
            request.add_header("Authorization", f"Token {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, dict(response.headers), json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), json.loads(error.read() or b"{}")


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    _require_chromium()
    workdir = tmp_path_factory.mktemp("browser-server")
    env = _server_env(workdir / "db.sqlite3")
    manage = [sys.executable, str(ROOT / "manage.py")]

    def run(*args: str) -> str:
        result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"{args}: {result.stderr}"
        return result.stdout

    run(*manage, "migrate", "--noinput", "-v", "0")
    people = json.loads(run(sys.executable, "-c", SETUP).strip().splitlines()[-1])

    port = free_port()
    log = (workdir / "server.log").open("w")
    process = subprocess.Popen(
        [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/admin/login/", timeout=2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the test server did not start: {(workdir / 'server.log').read_text()}"
                    ) from None
                time.sleep(0.2)
        yield Server(url, people)
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


@pytest.fixture(scope="session")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server, request):
    """A fresh browser context (no cookies) whose pages may talk to the test server only."""
    context = browser.new_context(base_url=server.url, viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(15_000)
    foreign = []
    server_host = urlsplit(server.url).netloc

    def only_the_test_server(route):
        if urlsplit(route.request.url).netloc == server_host:
            route.continue_()
        else:
            foreign.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_test_server)
    page = context.new_page()
    page.foreign_requests = foreign
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-last.png"))
    context.close()
    assert foreign == [], f"the page tried to leave the test server: {foreign}"


def screenshot(target, name: str) -> None:
    """Save a screenshot of a page (its visible part) or of one element to test-artifacts/browser/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target.screenshot(path=str(ARTIFACTS / f"{name}.png"))
