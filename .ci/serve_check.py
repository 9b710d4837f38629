"""What `make run` does, in the virtualenv of the serving set alone (requirements/lock/local.txt).

.ci/run runs this right after `make venv` built a fresh .venv, before `make test` adds the benchmark's and
the tests' toolchains: `manage.py check`, the migrations and demo data (50 users) on a throwaway SQLite file with
the in-process cache (the embedded defaults), then runserver answering the pages README promises. Exits
non-zero with the reason when any step fails. Standard library only: the serving set has no test runner.

    .venv/bin/python .ci/serve_check.py
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# (path, status, what the body must contain)
PAGES = [
    ("/healthz", 200, b""),
    ("/api/schema/", 200, b"openapi"),
    ("/api/docs/", 200, b"swagger"),
    ("/api/v1/jobs/", 200, b"results"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def manage(env: dict, *args: str) -> None:
    started = time.monotonic()
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    print(f"  manage.py {' '.join(args)}: {time.monotonic() - started:.1f} s", flush=True)


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="paeshift-serve-check-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "CELERY_"))}
        env["DATABASE_URL"] = f"sqlite:///{tmp}/db.sqlite3"
        manage(env, "check")
        manage(env, "migrate", "--noinput", "-v0")
        manage(env, "seed_demo", "--if-empty", "--users", "50")  # make run's command, on less data
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    get(f"http://127.0.0.1:{port}/healthz")
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        print(server.stderr.read().decode(errors="replace") if server.poll() is not None else "")
                        print("runserver did not answer", file=sys.stderr)
                        return 1
                    time.sleep(0.2)
            failures = []
            for path, status, needle in PAGES:
                code, body = get(f"http://127.0.0.1:{port}{path}")
                ok = code == status and needle in body.lower()
                print(f"  GET {path}: {code}{'' if ok else '  <-- expected ' + str(status)}", flush=True)
                if not ok:
                    failures.append(path)
        finally:
            server.terminate()
            server.wait(timeout=10)
    if failures:
        print(f"the serving set alone failed on {json.dumps(failures)}", file=sys.stderr)
        return 1
    print("the serving set alone checks, migrates, seeds and serves")
    return 0


if __name__ == "__main__":
    sys.exit(main())
