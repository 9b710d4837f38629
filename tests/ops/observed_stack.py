"""One Procfile stack watched by real monitoring tools, for tests/ops/test_observability.py.

- the Procfile's ``web`` (gunicorn, 2 workers), ``worker``, ``beat`` and ``flower`` under honcho,
  with production settings, on a fresh PostgreSQL database and private redis-servers for the cache
  and the broker (``noeviction``), with ``METRICS_TOKEN``, ``SENTRY_DSN`` and ``FLOWER_BASIC_AUTH`` set;
- Debian's ``prometheus`` (``/usr/bin/prometheus``) scraping its ``/metrics`` every second with the
  compose file's configuration (docker/prometheus/prometheus.yml), only the target and the token
  file changed;
- ``SentryReceiver``: a threaded HTTP server standing in for Sentry, keeping every envelope the SDK sends.
"""

import base64
import gzip
import json
import secrets
import subprocess
import threading
import urllib.parse
import urllib.request
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

from bench.stack import REPO, Honcho, free_port
from tests.stack import Api, wait_until

PROMETHEUS = Path("/usr/bin/prometheus")


# --- Sentry's side ------------------------------------------------------------------------------


@dataclass
class Item:
    """One item of an envelope (https://develop.sentry.dev/sdk/envelopes/): its header and payload."""

    header: dict
    payload: bytes

    @property
    def type(self) -> str:
        return self.header.get("type", "")

    def json(self) -> dict:
        return json.loads(self.payload)


def parse_envelope(body: bytes) -> list[Item]:
    """The items of an envelope: a header line, then per item a header line and its payload."""
    _, _, rest = body.partition(b"\n")
    items = []
    while rest.strip():
        line, _, rest = rest.partition(b"\n")
        header = json.loads(line)
        if "length" in header:
            payload, rest = rest[: header["length"]], rest[header["length"] + 1 :]
        else:
            payload, _, rest = rest.partition(b"\n")
        items.append(Item(header, payload))
    return items


class SentryReceiver:
    """``POST /api/<project>/envelope/`` on a free loopback port; every item is kept in ``items``."""

    def __init__(self) -> None:
        self.items: list[Item] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "br":
                    import brotli

                    body = brotli.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                receiver.items.extend(parse_envelope(body))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def dsn(self) -> str:
        return f"http://publickey@127.0.0.1:{self.server.server_address[1]}/1"

    def events(self) -> list[dict]:
        return [item.json() for item in list(self.items) if item.type == "event"]

    def check_ins(self) -> list[dict]:
        return [item.json() for item in list(self.items) if item.type == "check_in"]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- Prometheus ---------------------------------------------------------------------------------


class Prometheus:
    """Debian's prometheus, scraping ``target`` every second with the compose file's scrape job."""

    def __init__(self, workdir: Path, target: str, token: str) -> None:
        config = yaml.safe_load((REPO / "docker" / "prometheus" / "prometheus.yml").read_text())
        config["global"]["scrape_interval"] = config["global"]["evaluation_interval"] = "1s"
        (job,) = config["scrape_configs"]
        job["static_configs"] = [{"targets": [target]}]
        token_file = workdir / "metrics_token"
        token_file.write_text(token)
        job["authorization"]["credentials_file"] = str(token_file)
        (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                str(PROMETHEUS),
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={workdir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(workdir / "prometheus.log").open("w"),
        )
        self.log = workdir / "prometheus.log"

    def get(self, path: str, **params) -> dict:
        url = f"{self.url}{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.loads(response.read())

    def query(self, expr: str) -> list[dict]:
        """``/api/v1/query``: the instant vector's series (``[{"metric": {...}, "value": [t, "v"]}]``)."""
        answer = self.get("/api/v1/query", query=expr)
        assert answer["status"] == "success", answer
        return answer["data"]["result"]

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict]:
        answer = self.get("/api/v1/query_range", query=expr, start=start, end=end, step=step)
        assert answer["status"] == "success", answer
        return answer["data"]["result"]

    def wait_ready(self, timeout: float = 30) -> None:
        def ready():
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                    return response.status == 200
            except OSError:
                return False

        wait_until(ready, timeout, lambda: f"prometheus not ready:\n{self.log.read_text()[-2000:]}", step=0.1)

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# --- the stack ----------------------------------------------------------------------------------


@dataclass
class ObservedStack:
    env: dict[str, str]
    honcho: Honcho
    api: Api
    prometheus: Prometheus
    sentry: SentryReceiver
    database_url: str
    flower_port: int
    flower_auth: str
    users: dict[str, int] = field(default_factory=dict)

    def flower(self, path: str):
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.flower_port}{path}",
            headers={"Authorization": "Basic " + base64.b64encode(self.flower_auth.encode()).decode()},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())


def flower_credentials() -> str:
    return f"ops:{secrets.token_urlsafe(12)}"
