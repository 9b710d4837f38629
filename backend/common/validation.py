"""How services validate a model before saving it."""

from django.db import models


def validate_field_values(instance: models.Model) -> None:
    """``full_clean()`` of each field's value (lengths, choices, URLs, decimal places), with no query.

    Foreign keys come from rows the service loaded, and uniqueness and check constraints are
    enforced by the database itself (a violation becomes a 409, see ``backend.common.errors``),
    so the per-save queries that full validation would add buy nothing on a write path whose
    query count is budgeted.
    """
    relations = [field.name for field in instance._meta.concrete_fields if field.is_relation]
    instance.full_clean(exclude=relations, validate_unique=False, validate_constraints=False)
