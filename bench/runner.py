"""Running workload ops in-process (Django's test client) and counting what reached the database."""

import re
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field

from django.db import connections
from django.test import Client

from bench.workload import Op, Workload

_READ_TABLES = re.compile(r'(?:FROM|JOIN)\s+"?(\w+)"?', re.IGNORECASE)
_WRITE_TABLE = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)
_CONTROL = re.compile(r"^\s*(SAVEPOINT|RELEASE|ROLLBACK|BEGIN|COMMIT)", re.IGNORECASE)


@dataclass
class QueryLog:
    """Queries that reached the database, by table."""

    queries: int = 0
    seconds: float = 0.0
    reads_by_table: Counter = field(default_factory=Counter)
    writes_by_table: Counter = field(default_factory=Counter)

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - start
            if not _CONTROL.match(sql):
                self.queries += 1
                written = _WRITE_TABLE.match(sql)
                if written:
                    self.writes_by_table[written.group(1)] += 1
                else:
                    for table in set(_READ_TABLES.findall(sql)):
                        self.reads_by_table[table] += 1


@dataclass
class RunResult:
    requests: int = 0
    seconds: float = 0.0
    statuses: Counter = field(default_factory=Counter)
    errors: int = 0
    log: QueryLog = field(default_factory=QueryLog)


def execute(client: Client, workload: Workload, op: Op):
    headers = {"HTTP_AUTHORIZATION": f"Token {workload.token_for(op)}", **op.headers}
    if op.method == "GET":
        response = client.get(op.path, **headers)
    else:
        method = getattr(client, op.method.lower())
        response = method(op.path, data=op.body or {}, content_type="application/json", **headers)
    if op.name == "payment_create" and response.status_code == 201:
        workload.payment_created(response.json()["id"])
    return response


def run(workload: Workload, requests: int) -> RunResult:
    """Run ``requests`` ops through the full middleware stack, logging every query that ran."""
    client = Client()
    result = RunResult()
    with ExitStack() as stack:
        for alias in connections:
            stack.enter_context(connections[alias].execute_wrapper(result.log))
        start = time.perf_counter()
        for _ in range(requests):
            op = workload.next()
            response = execute(client, workload, op)
            result.statuses[response.status_code] += 1
            if response.status_code >= 500 or (op.kind == "read" and response.status_code != 200):
                result.errors += 1
        result.seconds = time.perf_counter() - start
    result.requests = requests
    return result
