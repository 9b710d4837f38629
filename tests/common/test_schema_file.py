"""The committed OpenAPI document (``schema.yaml``) is the one the code generates, and clients can trust it.

``test_the_committed_schema_is_the_generated_one`` regenerates it as ``make schema`` does (``manage.py
spectacular --file --validate`` with production settings: the API a deployment serves, without the
benchmark's floor) and fails on any difference, with the breaking changes among them
(backend/common/schema_compat.py) and the start of the diff. An intended change: run ``make schema``
and commit the file; a breaking one also needs the clients told (docs/api-clients.md).
"""

import copy
import difflib
from pathlib import Path

import pytest
import yaml

from backend.common.schema_compat import breaking_changes
from tests.deployment.test_production_settings import production_env, run

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "schema.yaml"


@pytest.fixture(scope="module")
def committed() -> dict:
    return yaml.load(SCHEMA.read_text(), Loader=yaml.CSafeLoader)


def test_the_committed_schema_is_the_generated_one(tmp_path, committed):
    generated_file = tmp_path / "schema.yaml"
    result = run(
        ["manage.py", "spectacular", "--file", str(generated_file), "--validate", "--fail-on-warn"], production_env()
    )
    assert result.returncode == 0, result.stdout + result.stderr

    old, new = SCHEMA.read_text(), generated_file.read_text()
    if old != new:
        breaking = breaking_changes(committed, yaml.load(new, Loader=yaml.CSafeLoader))
        diff = list(difflib.unified_diff(old.splitlines(), new.splitlines(), "schema.yaml", "generated", lineterm=""))
        report = "\n".join(
            [
                "schema.yaml differs from the schema the code generates: run `make schema` and commit it.",
                f"Breaking changes ({len(breaking)}):" if breaking else "No breaking change.",
                *(f"  - {change}" for change in breaking),
                f"Diff ({len(diff)} lines, the first 80):",
                *diff[:80],
            ]
        )
        pytest.fail(report, pytrace=False)


def test_every_path_id_is_an_integer(committed):
    parameters = [
        (path, parameter)
        for path, item in committed["paths"].items()
        for operation in item.values()
        if isinstance(operation, dict)
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "path"
    ]
    assert parameters
    for path, parameter in parameters:
        assert parameter["schema"] == {"type": "integer", "minimum": 1, "maximum": 10**18 - 1}, (path, parameter)


# --- the breaking-change report ----------------------------------------------------------------


def _changed(committed, change) -> list[str]:
    new = copy.deepcopy(committed)
    change(new)
    return breaking_changes(committed, new)


def test_an_identical_schema_has_no_breaking_change(committed):
    assert breaking_changes(committed, copy.deepcopy(committed)) == []


def test_additions_are_not_breaking(committed):
    def add(doc):
        doc["paths"]["/api/v1/new/"] = {"get": {"responses": {"200": {"description": ""}}}}
        doc["paths"]["/api/v1/jobs/"]["get"]["parameters"].append(
            {"in": "query", "name": "colour", "schema": {"type": "string"}}
        )
        doc["components"]["schemas"]["JobListOutput"]["properties"]["colour"] = {"type": "string"}

    assert _changed(committed, add) == []


def test_removals_and_new_requirements_are_breaking(committed):
    def break_it(doc):
        del doc["paths"]["/api/v1/auth/logout/"]
        del doc["paths"]["/api/v1/jobs/"]["post"]
        doc["paths"]["/api/v1/jobs/"]["get"]["parameters"].append(
            {"in": "query", "name": "colour", "required": True, "schema": {"type": "string"}}
        )
        del doc["components"]["schemas"]["JobListOutput"]["properties"]["title"]
        doc["components"]["schemas"]["JobDetailOutput"]["properties"]["id"] = {"type": "string"}
        doc["components"]["schemas"]["RegisterInputRequest"]["required"].append("phone")

    # Every operation that answers a job's detail reports the changed id.
    assert _changed(committed, break_it) == [
        "/api/v1/auth/logout/: path removed",
        "POST /api/v1/auth/register/: request body: phone: added as required",
        "GET /api/v1/jobs/: query parameter colour: added as required",
        "GET /api/v1/jobs/: response 200: results[].title: property removed",
        "POST /api/v1/jobs/: operation removed",
        "GET /api/v1/jobs/{job_id}/: response 200: id: type changed from integer to string",
        "PATCH /api/v1/jobs/{job_id}/: response 200: id: type changed from integer to string",
        "POST /api/v1/jobs/{job_id}/cancel/: response 200: id: type changed from integer to string",
        "POST /api/v1/jobs/{job_id}/complete/: response 200: id: type changed from integer to string",
        "POST /api/v1/jobs/{job_id}/start/: response 200: id: type changed from integer to string",
        "GET /jobs/{job_id}: response 200: id: type changed from integer to string",
    ]


def test_enum_and_requirement_changes_are_breaking_in_the_direction_clients_see(committed):
    def change(doc):
        schemas = doc["components"]["schemas"]
        schemas["JobStatusEnum"]["enum"].append("archived")  # a client's enum does not know it
        schemas["JobDetailOutput"]["required"].remove("title")  # a client may rely on it

    assert "GET /api/v1/jobs/{job_id}/: response 200: status: enum values added: 'archived'" in (
        _changed(committed, change)
    )
    assert "GET /api/v1/jobs/{job_id}/: response 200: title: no longer required" in _changed(committed, change)


def test_narrowing_what_a_client_may_send_or_widening_what_it_may_receive_is_breaking(committed):
    # The kinds a reviewer found missed: each change alone, each reported.
    def schemas(doc):
        return doc["components"]["schemas"]

    changes = {
        "GET /api/v1/jobs/{job_id}/: response 200: title: made nullable": lambda doc: schemas(doc)["JobDetailOutput"][
            "properties"
        ]["title"].update(nullable=True),
        "POST /api/v1/jobs/: request body: description: type changed from string to integer": lambda doc: schemas(doc)[
            "JobInputRequest"
        ]["properties"].update(description={"type": "integer"}),
        "GET /api/v1/jobs/{job_id}/: response 200: status: enum dropped (any value may come back)": lambda doc: schemas(
            doc
        )["JobStatusEnum"].pop("enum"),
        "POST /api/v1/jobs/: request body: city: enum added (values outside it are refused)": lambda doc: schemas(doc)[
            "JobInputRequest"
        ]["properties"]["city"].update(enum=["Lagos"]),
        "POST /api/v1/jobs/: request body: removed": lambda doc: doc["paths"]["/api/v1/jobs/"]["post"].pop(
            "requestBody"
        ),
        "GET /api/v1/jobs/{job_id}/: response 200: media type application/json removed": lambda doc: doc["paths"][
            "/api/v1/jobs/{job_id}/"
        ]["get"]["responses"]["200"].update(content={"application/xml": {"schema": {"type": "object"}}}),
        "GET /api/v1/jobs/: security: credentials now required": lambda doc: doc["paths"]["/api/v1/jobs/"][
            "get"
        ].update(security=[{"tokenAuth": []}]),
        "POST /api/v1/jobs/: request body: title: maxLength lowered to 5 (was 200)": lambda doc: schemas(doc)[
            "JobInputRequest"
        ]["properties"]["title"].update(maxLength=5),
    }
    for expected, change in changes.items():
        assert expected in _changed(committed, change), expected
