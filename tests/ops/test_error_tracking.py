"""Sentry is switched on by SENTRY_DSN alone, in the production settings (backend/ops/error_tracking.py).

Loaded in a fresh process, as the platform loads them. Events reaching a receiver: tests/ops/test_observability.py.
"""

import json

from tests.deployment.test_production_settings import django, production_env

CLIENT = (
    "import json, sentry_sdk; c = sentry_sdk.get_client(); "
    "print(json.dumps({'active': c.is_active(), 'options': {k: c.options.get(k) for k in "
    "('environment', 'traces_sample_rate', 'send_default_pii')}, "
    "'integrations': sorted(getattr(c, 'integrations', {}))}))"
)


def test_sentry_is_off_without_a_dsn():
    result = django(CLIENT, production_env(SENTRY_DSN=None))

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["active"] is False


def test_sentry_reports_from_django_celery_and_redis_with_traces_off_by_default():
    result = django(CLIENT, production_env(SENTRY_DSN="http://publickey@127.0.0.1:9/1", SENTRY_ENVIRONMENT="staging"))

    assert result.returncode == 0, result.stderr
    client = json.loads(result.stdout)
    assert client["active"] is True
    assert client["options"] == {"environment": "staging", "traces_sample_rate": 0.0, "send_default_pii": False}
    assert {"django", "celery", "redis"} <= set(client["integrations"])


def test_a_traces_sample_rate_outside_0_to_1_refuses_to_start():
    result = django("", production_env(SENTRY_DSN="http://publickey@127.0.0.1:9/1", SENTRY_TRACES_SAMPLE_RATE="2"))

    assert result.returncode != 0
    assert "SENTRY_TRACES_SAMPLE_RATE must be between 0 and 1" in result.stderr
