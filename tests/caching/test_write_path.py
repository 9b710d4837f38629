"""The write path made visible and checked (issue 13, step 5).

- The map of what each model change makes stale (``manage.py hot_cache_map``) is committed in
  docs/caching.md; the committed text must be the command's output.
- Every registered builder, run on seeded data under query capture, reads only tables of models its
  declaration lists as dependencies: a forgotten ``Dependency`` fails here, not silently in production.
- Services that write past model signals (``QuerySet.update()``, ``bulk_create``, ``bulk_update``) to a
  model a hot view depends on call the invalidation hook in the same function.
"""

import ast
import re
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backend.caching import registry
from backend.jobs.models import FEED_ALL
from tests.factories import make_application, make_completed_job, make_job, make_payment, make_review, make_user

ROOT = Path(__file__).resolve().parents[2]
MAP_HEADING = "### What each write makes stale"
BYPASSING_SIGNALS = {"update", "bulk_create", "bulk_update"}


def test_the_committed_map_is_the_command_s_output():
    out = StringIO()
    call_command("hot_cache_map", stdout=out)
    docs = (ROOT / "docs" / "caching.md").read_text()
    section = docs[docs.index(MAP_HEADING) :]
    committed = re.search(r"```text\n(.*?)```", section, re.DOTALL).group(1)
    assert committed == out.getvalue(), "docs/caching.md is out of date: paste `manage.py hot_cache_map` there"


@pytest.fixture
def seeded(db):
    """Rows for every builder to read: a completed job with payments and reviews both ways, an open job
    with an application, so that no builder takes a shortcut past a join."""
    client, worker = make_user(), make_user()
    job = make_completed_job(client=client, workers=[worker])
    make_payment(payer=client, payee=worker, job=job)
    make_review(reviewer=client, reviewee=worker, job=job)
    make_review(reviewer=worker, reviewee=client, job=job)
    open_job = make_job(client=client)
    make_application(job=open_job, applicant=worker)
    feeds = [FEED_ALL, open_job.city_key]  # every city, and the open job's city
    return {"users": [client.id, worker.id], "jobs": [job.id, open_job.id], "feeds": feeds}


def _tables_read(sql: str) -> set[str]:
    return set(re.findall(r'(?:FROM|JOIN)\s+"([^"]+)"', sql))


@pytest.mark.parametrize("namespace", registry.namespaces())
def test_a_builder_reads_only_its_declared_dependencies(seeded, namespace):
    view = registry.get(namespace)
    model_of_table = {model._meta.db_table: model._meta.label for model in apps.get_models()}
    declared = {dependency.model for dependency in view.depends_on}
    key_ids = {"job:detail": seeded["jobs"], "jobs:open": seeded["feeds"]}.get(namespace, seeded["users"])
    read = set()
    for key_id in key_ids:
        with CaptureQueriesContext(connection) as captured:
            assert view.build(key_id) is not None
        for query in captured.captured_queries:
            read |= {model_of_table.get(table, table) for table in _tables_read(query["sql"])}
    assert read, "the builder read nothing: the capture is not seeing its queries"
    undeclared = read - declared
    assert not undeclared, f"{namespace} reads {sorted(undeclared)} but declares no Dependency on them"


def _hot_dependency_models() -> set[str]:
    return {dependency.model.split(".")[1] for view in registry.all_views() for dependency in view.depends_on}


def _bypassing_writes(function: ast.FunctionDef, models: set[str]) -> list[str]:
    """``Model.objects....update()`` (or bulk_*) calls in ``function`` on one of ``models``."""
    found = []
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in BYPASSING_SIGNALS:
            receiver = node.func.value
            while isinstance(receiver, ast.Call | ast.Attribute):
                receiver = receiver.func if isinstance(receiver, ast.Call) else receiver.value
            if isinstance(receiver, ast.Name) and receiver.id in models:
                found.append(f"{receiver.id}.{node.func.attr}() at line {node.lineno}")
    return found


def _calls_invalidation(function: ast.FunctionDef) -> bool:
    return any(
        isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "invalidation"
        for node in ast.walk(function)
    )


@pytest.mark.parametrize("services", sorted((ROOT / "backend").glob("*/services.py")), ids=lambda p: p.parent.name)
def test_services_writing_past_signals_call_the_invalidation_hook(services):
    tree = ast.parse(services.read_text())
    models = _hot_dependency_models()
    missing = [
        f"{function.name}: {write}"
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef) and not _calls_invalidation(function)
        for write in _bypassing_writes(function, models)
    ]
    assert not missing, f"writes that skip model signals without backend.caching.invalidation: {missing}"


def test_the_guard_sees_the_registration_update():
    # The guard is not vacuous: user_register's QuerySet.update() is one it finds (and its hook call).
    tree = ast.parse((ROOT / "backend" / "accounts" / "services.py").read_text())
    register = next(
        node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name == "user_register"
    )
    update_line = next(
        node.lineno
        for node in ast.walk(register)
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "update"
    )
    assert _bypassing_writes(register, _hot_dependency_models()) == [f"Profile.update() at line {update_line}"]
    assert _calls_invalidation(register)
