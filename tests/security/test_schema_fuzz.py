"""Schema fuzzing: every operation of the OpenAPI schema, anonymous, as a user with data, and as staff.

schemathesis generates requests from the project's own schema (drf-spectacular, generated in
process: the document ``/api/schema/`` serves) and sends them through ``config.wsgi``'s application,
the same WSGI callable gunicorn runs. Each response must not be a 5xx and must conform to the
schema: a documented status code, a documented content type and a body valid against the
documented schema. Generation is reproducible: derandomized (the seed comes from the test), a
fixed number of examples per operation, no example database.

Each example runs inside a savepoint that is rolled back, with every cache cleared after it, so
examples do not see each other's writes; ids in paths are often those of the seeded rows, so
requests reach the code behind a successful lookup and not only the 404.
"""

import json

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from tests.conftest import _clear_all_caches

EXAMPLES_PER_OPERATION = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _openapi_document() -> dict:
    document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(document))


schema = schemathesis.openapi.from_dict(_openapi_document())
schema.app = application
schema.config.generation.update(modes=["positive", "negative"])

# The ids of the current test's seeded rows, by path parameter name (set by the ``fuzz_world`` fixture).
_real_ids: dict[str, list[int]] = {}


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    """Half the time, put the id of a seeded row in each id parameter of the path."""
    if not path_parameters:
        return st.just(path_parameters)
    choices = {
        name: st.one_of(st.just(value), st.sampled_from(_real_ids[name]).map(str))
        if _real_ids.get(name)
        else st.just(value)
        for name, value in path_parameters.items()
    }
    return st.fixed_dictionaries(choices)


@pytest.fixture
def fuzz_world(world):
    # Requests go through the WSGI handler, whose request signals would close the test's
    # connection (and with it the transaction holding the seeded rows): Django's test client
    # disconnects them the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    _real_ids.update(world.ids())
    yield world
    _real_ids.clear()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.parametrize("who", [None, "owner", "staff"], ids=["anonymous", "owner", "staff"])
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    database=None,
    # The seeded rows are a function-scoped fixture shared by the examples on purpose: each example
    # runs in a rolled-back savepoint, so every one of them starts from the same rows.
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(case, who, fuzz_world):
    headers = fuzz_world.auth(who)
    with transaction.atomic():
        response = case.call(headers=headers)
        transaction.set_rollback(True)
    _clear_all_caches()
    case.validate_response(response, checks=CHECKS, headers=headers)
