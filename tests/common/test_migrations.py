"""The models and their migrations agree (tests run with --no-migrations, so this is where drift shows)."""

import io

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_model_change_is_missing_a_migration():
    out = io.StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exc:  # --check exits non-zero when a migration is missing
        if exc.code:
            pytest.fail(f"missing migrations:\n{out.getvalue()}")
