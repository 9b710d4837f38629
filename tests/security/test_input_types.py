"""The schema and the server agree on every value of every request body field (issue 11, kind 10;
backend/common/input.py).

The table is read from the schema ``/api/schema/`` serves: each property of each operation's JSON
body, with values where DRF's own reading differs from what a schema can say. Each value is sent
alone; the server must refuse it (a 400 naming the field, in the API's error shape) exactly when
the documented property schema refuses it (jsonschema, as schemathesis checks it):

- another JSON type that DRF would coerce into a valid value: ``"account_holder": 0``, stored as
  ``"0"``, was the example; a string gets 12345, an integer ``"4"``, a list of strings ``[12345]``;
- decimal strings DRF reads as numbers although the documented pattern refuses them;
- text: NUL (DRF refuses it), only whitespace (DRF trims it to "", refused unless blank is allowed),
  padding around a value of a pattern or at the length limit (DRF trims before it checks);
- http(s) URLs at the host length limit (Django refuses a host over 253 characters).
"""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

import jsonschema
import jsonschema_rs
import pytest
from rest_framework.test import APIClient

from backend.common.input import WHITESPACE
from backend.common.schema_view import schema_document
from tests.assertions import assert_error

WRONG_TYPE = {"string": 12345, "integer": "4"}
OFF_PATTERN_DECIMALS = ("+5", " 5", "5 ", "1e1", "-0", "\u0663")  # the last: an Arabic-Indic 3
# A value each patterned text property accepts, to pad with spaces.
PATTERNED_SAMPLES = {"account_number": "0123456789", "currency": "USD", "avatar_url": "https://cdn.example.com/a.png"}
_LABEL = "a" * 63
URLS = (
    f"https://{_LABEL}.{_LABEL}.{_LABEL}.{'b' * 59}/a.png",  # a host of 253 characters
    f"https://{_LABEL}.{_LABEL}.{_LABEL}.{'b' * 60}/a.png",  # 254
    "https://0.com",
    "https://cdn.example.com:8443/a%20b.png?size=64#top",
    "http://localhost/a.png",  # no dot: no public host name
    "javascript:alert(1)",
)


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # as documented, e.g. /api/v1/jobs/{job_id}/payments/
    field: str
    schema: dict  # the property's documented schema
    value: object

    @property
    def id(self) -> str:
        return f"{self.method} {self.path} {self.field}={self.value!r:.40}"

    @property
    def documented(self) -> bool:
        return jsonschema.Draft4Validator(self.schema).is_valid(self.value)


def _resolve(document: dict, schema: dict) -> dict:
    if len(schema.get("allOf", ())) == 1:  # drf-spectacular's wrapper of an enum with a description
        rest = {key: value for key, value in schema.items() if key != "allOf"}
        schema = {**_resolve(document, schema["allOf"][0]), **rest}
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
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
                if prop.get("type") == "array":
                    prop = {**prop, "items": _resolve(document, prop["items"])}
                yield method.upper(), path, field, prop


def _options(prop: dict) -> list[dict]:
    """A property's alternatives (drf-spectacular: a pattern or format, or "" when blank is allowed)."""
    return prop.get("oneOf", [prop])


def _values(field: str, prop: dict) -> Iterator[object]:
    main = _options(prop)[0]
    if main["type"] == "array":
        yield [WRONG_TYPE[main["items"]["type"]]]
        yield ["a\x00b"]
        return
    yield WRONG_TYPE[main["type"]]
    if main.get("format") == "decimal":
        yield from OFF_PATTERN_DECIMALS
    elif main["type"] == "string" and "format" not in main:
        yield "a\x00b"
        yield "   "
        if field in PATTERNED_SAMPLES:
            yield f" {PATTERNED_SAMPLES[field]} "
        elif "maxLength" in main:
            yield "x" * main["maxLength"] + " "
    if field == "avatar_url":
        yield from URLS


def _cases() -> list[Case]:
    cases = [
        Case(method, path, field, prop, value)
        for method, path, field, prop in _body_properties()
        for value in _values(field, prop)
    ]
    # The example leads the table.
    example = ("/api/v1/me/account-details/", "account_holder", 0)
    return sorted(cases, key=lambda case: (case.path, case.field, case.value) != example)


CASES = _cases()


def test_the_table_covers_every_body_of_the_api():
    assert len({(case.method, case.path) for case in CASES}) == 9
    assert len({(case.method, case.path, case.field) for case in CASES}) == 39


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_the_server_refuses_a_value_exactly_when_the_schema_does(world, case):
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

    # then the field is refused (other fields may be missing) exactly when the schema refuses it
    errors = assert_error(response, 400)["errors"] if response.status_code == 400 else []
    refused = [error for error in errors if (error["attr"] or "").split(".")[0] == case.field]
    assert not refused if case.documented else refused, (case.documented, response.content)


def _query_text_cases() -> list[tuple[str, str, dict, str]]:
    """(path, parameter, its schema, value) for every free-text query parameter of a GET: NUL, and a
    value one space longer than the filter's limit (Django strips the ends before it checks)."""
    document = schema_document()
    limits = {"city": 80, "search": 100}  # the filters' max_length (backend/jobs/filters.py)
    return [
        (path, parameter["name"], parameter["schema"], value)
        for path, operations in document["paths"].items()
        for parameter in operations.get("get", {}).get("parameters", [])
        if parameter["in"] == "query" and parameter["schema"].get("type") == "string"
        if not {"enum", "format", "anyOf"} & set(parameter["schema"])
        for value in ("a\x00b", "x" * limits[parameter["name"]] + " ")
    ]


QUERY_CASES = _query_text_cases()


def test_the_query_table_covers_every_free_text_parameter():
    assert {(path, name) for path, name, _, _ in QUERY_CASES} == {
        ("/api/v1/jobs/", "city"),
        ("/api/v1/jobs/", "search"),
    }


@pytest.mark.parametrize(
    ("path", "name", "schema", "value"), QUERY_CASES, ids=[f"{name}={value!r:.20}" for _, name, _, value in QUERY_CASES]
)
def test_the_server_refuses_a_query_value_exactly_when_the_schema_does(api_client, path, name, schema, value):
    documented = jsonschema.Draft4Validator(schema).is_valid(value)

    response = api_client.get(path, {name: value})

    assert response.status_code == (200 if documented else 400), response.content


def _patterns(node) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            else:
                yield from _patterns(value)
    elif isinstance(node, list):
        for value in node:
            yield from _patterns(value)


def test_every_documented_pattern_compiles_in_the_fuzzers_regex_engine():
    # schemathesis validates and generates with jsonschema_rs (Rust): a pattern it cannot compile is
    # not applied at all, so the fuzzing would send what the pattern was meant to exclude.
    patterns = set(_patterns(schema_document()))
    assert patterns
    for pattern in patterns:
        jsonschema_rs.validator_for({"type": "string", "pattern": pattern})


def test_the_whitespace_the_text_pattern_names_is_what_str_strip_removes():
    whitespace = {chr(code) for code in range(0x110000) if chr(code).isspace()}
    named = re.compile(f"[{WHITESPACE}]")
    assert {char for char in map(chr, range(0x110000)) if named.fullmatch(char)} == whitespace
