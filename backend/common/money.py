"""Money as the API documents it (issue 12): the currencies the marketplace supports.

An amount is a decimal string of ASCII digits with at most two places (the request pattern:
``backend.common.input.decimal_pattern``). A currency is one of ``Currency``: the ISO 4217 codes of the
cities the marketplace serves (Nigeria, Ghana, Kenya, South Africa, the United Kingdom, the euro area,
the United States, Canada, the United Arab Emirates), not any three capital letters: ``XXX`` ("no
currency"), ``XTS`` (testing) or ``ZZZ`` (no code at all) are refused. Adding a currency is adding a
member here and a migration (the database constraints list the codes too).
"""

from django.db import models


class Currency(models.TextChoices):
    AED = "AED", "UAE dirham"
    CAD = "CAD", "Canadian dollar"
    EUR = "EUR", "Euro"
    GBP = "GBP", "Pound sterling"
    GHS = "GHS", "Ghanaian cedi"
    KES = "KES", "Kenyan shilling"
    NGN = "NGN", "Nigerian naira"
    USD = "USD", "US dollar"
    ZAR = "ZAR", "South African rand"
