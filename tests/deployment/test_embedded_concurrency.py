"""Kind 8 of issue 11: ``make run``'s embedded default serves a small team's concurrent writes.

``make run`` is ``manage.py runserver`` (one thread per request) with local settings (silk
recording every request, which is a write of its own) on SQLite. This starts the same server on
a temporary SQLite file and has WRITERS users each PATCH their own profile at once, ROUNDS times
over, through HTTP: every write must answer 200 and be there when read back (before SQLite's
options in ``config/settings/base.py``, 12 writers got mostly 503 ``database is locked``).
"""

import concurrent.futures
import json
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from bench.stack import clean_environment, free_port
from tests.stack import ROOT, run, wait_until

WRITERS = 12
ROUNDS = 3

CREATE_USERS = """
from rest_framework.authtoken.models import Token
from backend.accounts.models import User
tokens = [Token.objects.create(user=User.objects.create_user(email=f"w{i}@example.com")).key for i in range({n})]
print(" ".join(tokens))
"""


def call(port: int, method: str, token: str, body: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/me/profile/",
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@pytest.fixture
def runserver(tmp_path):
    env = clean_environment()
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        PYTHONUNBUFFERED="1",
    )
    python = sys.executable
    migrated = run([python, "manage.py", "migrate", "--noinput"], env)
    assert migrated.returncode == 0, migrated.stderr
    created = run([python, "manage.py", "shell", "-c", CREATE_USERS.replace("{n}", str(WRITERS))], env)
    assert created.returncode == 0, created.stderr
    tokens = created.stdout.strip().splitlines()[-1].split()  # after the shell's own banner
    port = free_port()
    server = subprocess.Popen(
        [python, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    threading.Thread(target=lambda: output.extend(server.stdout), daemon=True).start()
    try:
        wait_until(lambda: _listening(port), 30, lambda: "runserver did not start:\n" + "".join(output))
        yield port, tokens
    finally:
        server.terminate()
        server.wait(timeout=10)


def _listening(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
    except OSError:
        return False
    return True


def test_a_dozen_users_editing_their_profiles_at_once_all_succeed(runserver):
    port, tokens = runserver
    barrier = threading.Barrier(WRITERS)

    def edit(index: int, round_: int) -> tuple[int, dict]:
        barrier.wait(timeout=30)  # all writers send together
        return call(port, "PATCH", tokens[index], {"bio": f"round {round_} by {index}", "skills": [f"s{round_}"]})

    failures = []
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(WRITERS) as pool:
        for round_ in range(ROUNDS):
            answers = list(pool.map(lambda index, r=round_: edit(index, r), range(WRITERS)))
            failures += [(round_, status, body) for status, body in answers if status != 200]
    elapsed = time.monotonic() - started
    print(f"{WRITERS} writers x {ROUNDS} rounds: {WRITERS * ROUNDS / elapsed:.0f} writes/s, {elapsed:.1f} s")

    assert failures == [], f"{len(failures)} of {WRITERS * ROUNDS} writes failed, e.g. {failures[:3]}"
    for index, token in enumerate(tokens):
        status, profile = call(port, "GET", token)
        assert (status, profile["bio"]) == (200, f"round {ROUNDS - 1} by {index}")
