"""Every field of every request body accepts only what the schema documents for it (issue 11,
kind 10; backend/common/input.py).

The tables are read from the schema ``/api/schema/`` serves: each property of each operation's
JSON body, sent alone with a value that DRF would coerce into a valid one although the schema
refuses it (``"account_holder": 0``, stored as ``"0"``, was the example). Each must be one 400
naming the field (``skills.0`` for a list item), code ``invalid``, in the API's error shape.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from backend.common.schema_view import schema_document
from tests.assertions import assert_error

# Sent for a property of each documented type: another JSON type, valid once DRF coerces it (12345
# is a valid length, account number and amount as a string; "4" a valid rating, slot count or id).
WRONG_TYPE = {"string": 12345, "integer": "4"}
# Decimal strings DRF reads as numbers although the documented pattern refuses them.
OFF_PATTERN_DECIMALS = ("+5", " 5", "5 ", "1e1", "-0")


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # as documented, e.g. /api/v1/jobs/{job_id}/payments/
    field: str
    value: object
    attr: str

    @property
    def id(self) -> str:
        return f"{self.method} {self.path} {self.attr}={self.value!r}"


def _resolve(document: dict, schema: dict) -> dict:
    """A schema with its reference followed; of alternatives (``oneOf``: a URL or ""), the first, as
    they share one type."""
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    if "oneOf" in schema:
        assert len({option["type"] for option in schema["oneOf"]}) == 1, schema
        schema = schema["oneOf"][0]
    return schema


def _body_properties() -> Iterator[tuple[str, str, str, dict]]:
    """(method, path, property name, property schema) of every JSON request body the schema documents."""
    document = schema_document()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if content is None:
                continue
            for field, prop in _resolve(document, content["schema"])["properties"].items():
                prop = _resolve(document, prop)
                if prop["type"] == "array":
                    prop = {**prop, "items": _resolve(document, prop["items"])}
                yield method.upper(), path, field, prop


def _wrong_type_cases() -> list[Case]:
    cases = []
    for method, path, field, prop in _body_properties():
        if prop["type"] == "array":
            cases.append(Case(method, path, field, [WRONG_TYPE[prop["items"]["type"]]], f"{field}.0"))
        else:
            cases.append(Case(method, path, field, WRONG_TYPE[prop["type"]], field))
    # The example leads the table.
    return sorted(cases, key=lambda case: (case.path, case.field) != ("/api/v1/me/account-details/", "account_holder"))


WRONG_TYPE_CASES = _wrong_type_cases()
OFF_PATTERN_CASES = [
    Case(method, path, field, text, field)
    for method, path, field, prop in _body_properties()
    if prop.get("format") == "decimal"
    for text in OFF_PATTERN_DECIMALS
]


def test_the_tables_cover_every_body_of_the_api():
    operations = {(case.method, case.path) for case in WRONG_TYPE_CASES}
    assert len(operations) == 9, sorted(operations)
    decimals = {(case.path, case.field) for case in OFF_PATTERN_CASES}
    assert len(decimals) == 4, sorted(decimals)  # pay_rate (create, edit), amount, hourly_rate


@pytest.mark.parametrize("case", WRONG_TYPE_CASES + OFF_PATTERN_CASES, ids=lambda case: case.id)
def test_a_value_outside_the_documented_type_is_refused(world, case):
    # given the owner of every row in the path (the completed job accepts payments and reviews)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {world.tokens['owner']}")

    # when the field is sent alone
    response = client.generic(
        case.method,
        case.path.format(job_id=world.completed_job.id),
        data=json.dumps({case.field: case.value}),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="input-types",
    )

    # then it alone is refused, before any other rule (a missing required field, say) is checked
    body = assert_error(response, 400)
    assert [(error["code"], error["attr"]) for error in body["errors"]] == [("invalid", case.attr)], body
