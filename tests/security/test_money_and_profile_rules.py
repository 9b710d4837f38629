# ruff: noqa: RUF001 -- the tables hold look-alike characters on purpose
"""Money as documented and profile content (issue 12), through the API, on every field that takes them.

Amounts: a decimal string of ASCII digits with at most 2 places, the schema's pattern
(``backend.common.input.decimal_pattern``) and the server's rule being one definition, on every decimal
input (payment amount, job pay rate, profile hourly rate). Currencies: one of ``Currency``, on every
field that takes one (payment, account details). Avatars: https to a public host name. Display names:
NFKC, no control or invisible characters.
"""

import re

import pytest

from backend.accounts.models import Profile
from backend.common.money import Currency
from tests.assertions import assert_error
from tests.factories import make_completed_job, make_job, make_user

pytestmark = pytest.mark.django_db

REFUSED_AMOUNTS = [
    "1_000",  # the examples first
    "١٢",
    "５",
    "1e2",
    "1٢",  # an ASCII digit first, then another script's (Python's \d takes it, ECMA's does not)
    "12.٥",
    "1５.50",
    "12.505",
    " 12",
    "12 ",
    "+12",
    "-12",
    "0x10",
    "1,000",
    "NaN",
    "Infinity",
    "",
    ".",
    "12.5.1",
    "１２",
]
ACCEPTED_AMOUNTS = ["12", "12.5", "12.50", "0.01", ".5"]


def _decimal_fields(user):
    """(field, send(value) -> response) for each decimal input of the API."""
    worker = make_user()
    paid_job = make_completed_job(client=user, workers=[worker])
    open_job = make_job(client=user)
    return {
        "amount": lambda client, value: client.post(
            f"/api/v1/jobs/{paid_job.id}/payments/",
            {"payee": worker.id, "amount": value},
            format="json",
            HTTP_IDEMPOTENCY_KEY=f"k-{value.encode().hex()}",
        ),
        "pay_rate": lambda client, value: client.patch(
            f"/api/v1/jobs/{open_job.id}/", {"pay_rate": value}, format="json"
        ),
        "hourly_rate": lambda client, value: client.patch("/api/v1/me/profile/", {"hourly_rate": value}, format="json"),
    }


@pytest.mark.parametrize("field", ["amount", "pay_rate", "hourly_rate"])
def test_a_decimal_is_ascii_digits_with_at_most_two_places(client_for, user, field):
    client = client_for(user)
    send = _decimal_fields(user)[field]
    pattern = _documented_pattern(client, field)
    for value in REFUSED_AMOUNTS:
        if field == "hourly_rate" and value == "":
            continue  # a nullable field documents "" as null
        assert_error(send(client, value), 400, code="invalid", attr=field)
        assert not re.fullmatch(pattern, value, flags=re.ASCII), value
    for value in ACCEPTED_AMOUNTS:
        assert send(client, value).status_code in (200, 201), value
        assert re.fullmatch(pattern, value), value


def _documented_pattern(client, field: str) -> str:
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    patterns = {
        prop["pattern"]
        for component_name, component in schema["components"]["schemas"].items()
        if component_name.endswith("Request")  # what a request body is held to
        for name, prop in component.get("properties", {}).items()
        if name == field and "pattern" in prop
    }
    assert len(patterns) == 1, patterns
    return patterns.pop()


REFUSED_CURRENCIES = ["ZZZ", "XXX", "XTS", "usd", "US", "USDD", "JPY", " USD", "USD\n", "ＵＳＤ"]


@pytest.mark.parametrize("where", ["payment", "account-details"])
def test_a_currency_is_one_the_marketplace_supports(client_for, user, where):
    worker = make_user()
    client = client_for(user)

    def send(code):
        if where == "payment":
            # a job of its own per code: a job's payments are all in one currency (currency_mismatch)
            job = make_completed_job(client=user, workers=[worker])
            body = {"payee": worker.id, "amount": "1.00", "currency": code}
            return client.post(
                f"/api/v1/jobs/{job.id}/payments/", body, format="json", HTTP_IDEMPOTENCY_KEY=code.encode().hex() or "k"
            )
        return client.patch("/api/v1/me/account-details/", {"currency": code}, format="json")

    for code in REFUSED_CURRENCIES:
        assert_error(send(code), 400, code="invalid_choice", attr="currency")
    for code in Currency.values:
        assert send(code).status_code in (200, 201), code


REFUSED_AVATARS = [
    "https://cdn.example.com:99999/a.png",  # not a port (1 to 65535)
    "https://cdn.example.com:0/a.png",
    "ftp://cdn.example.com/a.png",  # the examples first
    "http://cdn.example.com/a.png",
    "https://127.0.0.1/a.png",
    "https://10.0.0.8/a.png",
    "https://192.168.1.1/a.png",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::1]/a.png",
    "https://[fe80::1]/a.png",
    "https://0x7f000001/a.png",
    "https://2130706433/a.png",
    "https://localhost/a.png",
    "https://localhost:8443/a.png",
    "https://cdn.localhost/a.png",
    "https://printer.local/a.png",
    "https://metadata.google.internal/a.png",
    "https://router.LAN/a.png",
    "https://nas.home.arpa/a.png",
    "https://1.0.0.127.in-addr.arpa/a.png",
    "https://site.test/a.png",
    "https://user:pw@cdn.example.com/a.png",
    "javascript:alert(1)",
]
ACCEPTED_AVATARS = [
    "https://cdn.example.com/a.png",
    "https://images.paeshift.com:8443/u/1.jpg?size=64",
    "https://images.paeshift.com:65535/u/1.jpg",
    "",
]


def test_an_avatar_is_an_https_url_to_a_public_host(client_for, user):
    client = client_for(user)
    for url in REFUSED_AVATARS:
        assert_error(client.patch("/api/v1/me/profile/", {"avatar_url": url}, format="json"), 400, attr="avatar_url")
    for url in ACCEPTED_AVATARS:
        response = client.patch("/api/v1/me/profile/", {"avatar_url": url}, format="json")
        assert response.status_code == 200, (url, response.content)
        assert response.json()["avatar_url"] == url


# Inside the name: DRF trims leading and trailing whitespace (U+0085 and U+2028 among it) before the
# service sees the name, which is harmless.
REFUSED_NAMES = [
    "Ada\u200bLovelace",  # zero-width space: looks like another user's "AdaLovelace"
    "Ada\u200dLovelace",  # zero-width joiner
    "Ada\u2060Lovelace",  # word joiner
    "Ada\ufeffLovelace",  # byte-order mark
    "Ada\u202eLovelace",  # right-to-left override
    "Ada\u00adLovelace",  # soft hyphen
    "Ada\x07Lovelace",  # bell (Cc)
    "Ada\tLovelace",
    "Ada\u0085Lovelace",  # next line (Cc)
    "Ada\u2028Lovelace",  # line separator (Zl)
    "Ada\ue000Lovelace",  # private use (Co)
    "Ada\U000e0041Lovelace",  # tag character (Cf)
    # Default_Ignorable_Code_Point outside those categories: they render as nothing
    "Ada\u034fLovelace",  # combining grapheme joiner (Mn)
    "Ada\ufe0fLovelace",  # variation selector 16 (Mn)
    "Ada\U000e0101Lovelace",  # variation selector 18 (Mn)
    "Ada\u3164Lovelace",  # Hangul filler (Lo; NFKC makes it U+1160, also ignorable)
    "\u115fAdaLovelace",  # Hangul choseong filler (Lo)
    "Ada\uffa0Lovelace",  # halfwidth Hangul filler (Lo)
    "Ada\u2800Lovelace",  # Braille pattern blank (So): renders as blank space
]
NORMALISED_NAMES = [
    ("\uff21\uff44\uff41", "Ada"),
    ("\ufb01ona", "fiona"),
    ("Ada Lovelace", "Ada Lovelace"),
    ("Zoë", "Zoë"),
]


@pytest.mark.parametrize("where", ["profile", "register"])
def test_a_display_name_is_nfkc_without_invisible_characters(client_for, api_client, user, where):
    client = client_for(user)
    counter = iter(range(1000))

    def send(name):
        if where == "profile":
            return client.patch("/api/v1/me/profile/", {"display_name": name}, format="json")
        body = {"email": f"n{next(counter)}@example.com", "password": "correct-horse-battery-9", "display_name": name}
        return api_client.post("/api/v1/auth/register/", body, format="json")

    for name in REFUSED_NAMES:
        assert_error(send(name), 400, code="invalid_characters", attr="display_name")
    for sent, stored in NORMALISED_NAMES:
        assert send(sent).status_code in (200, 201), sent
        assert Profile.objects.filter(display_name=stored).exists(), stored
    assert not Profile.objects.filter(display_name__contains="\u200b").exists()
