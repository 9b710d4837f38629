"""Conditional requests as RFC 9110 defines them, on every hot view and every path that serves one (kind 9).

- ``If-None-Match`` uses weak comparison (13.1.2, 8.8.3.2): the strong form of the current weak tag
  matches (the issue's example), as do lists, ``*`` and surrounding whitespace; anything malformed
  matches nothing and gets the full 200, never a 500.
- ETags are opaque (a hash of the body: no timestamp, no epoch) and change exactly when the
  representation does: writes that leave a representation as it was keep its tag, writes that change
  it change the tag.
"""

import re

import pytest
from django.test import Client

from backend.accounts import services as account_services
from tests.caching import test_hot_endpoints
from tests.caching.test_hot_endpoints import PATHS, PROFILE, VARIANTS, World, url
from tests.factories import PASSWORD, make_review

pytestmark = pytest.mark.django_db

world = test_hot_endpoints.world  # the same fixture: several users with realistic rows around an owner

TAG = re.compile(r'W/"[0-9a-f]{32}"')

# (If-None-Match, given the current tag W/"h"; whether it names the current representation)
IF_NONE_MATCH_FORMS = [
    ('"{h}"', True),  # the strong form of the current weak tag: the example
    ('W/"{h}"', True),
    ('"0123", W/"{h}"', True),
    ('W/"{h}","0123"', True),
    ('  W/"{h}"  ', True),
    ('"0123" ,\t"{h}"', True),
    ("*", True),
    ('*, "{h}"', True),  # "*" in a list is malformed; the well-formed member still counts
    ('"0123"', False),
    ('W/"0123"', False),
    ('W/"{h}0"', False),
    ("{h}", False),  # unquoted
    ("W/{h}", False),
    ('"{h}', False),  # unterminated
    ('w/"{h}"x', False),
    (",", False),
    ('"é{h}"', False),
    ('"' + "a" * 8000 + '"', False),
]


def _hot_reads(world: World):
    for namespace, path in VARIANTS:
        key_id = world.key_id(namespace)
        client = world.client(world.owner) if "/me/" in path else world.reader(namespace, key_id)
        yield namespace, path, client, url(namespace, key_id, path)


@pytest.mark.parametrize(("header", "matches"), IF_NONE_MATCH_FORMS)
def test_if_none_match_forms_on_every_hot_path(world, header, matches):
    for _namespace, path, client, target in _hot_reads(world):
        current = client.get(target)
        assert current.status_code == 200, (path, current.content)
        tag = current["ETag"]
        assert TAG.fullmatch(tag), (path, tag)

        response = client.get(target, HTTP_IF_NONE_MATCH=header.format(h=tag[3:-1]))

        if matches:
            assert response.status_code == 304, (path, header)
            assert response.content == b""
        else:
            assert response.status_code == 200, (path, header)
            assert response.content == current.content
        assert response["ETag"] == tag, (path, header)


def test_if_none_match_star_does_not_match_what_does_not_exist(api_client, db):
    for namespace in ("reviews:user", "reviews:reviewer", PROFILE, "job:detail"):
        response = api_client.get(PATHS[namespace][0].format(id=424242), HTTP_IF_NONE_MATCH="*")
        assert response.status_code == 404, namespace
        assert "ETag" not in response


def _admin_login(world: World) -> None:
    """The issue's example: the user signs in to the admin, which saves ``last_login``."""
    response = Client().post("/admin/login/", {"username": world.owner.email, "password": PASSWORD})
    assert response.status_code == 302, response.content


def _token_login(world: World) -> None:
    response = world.anonymous.post("/api/v1/auth/token/", {"email": world.owner.email, "password": PASSWORD})
    assert response.status_code == 200, response.content


def _password_change(world: World) -> None:
    world.owner.set_password("another-correct-horse-battery")
    world.owner.save()


# A PATCH that repeats the current values is not here: the profile shows ``updated_at``, which it moves.
UNCHANGED_BY = [_admin_login, _token_login, _password_change]


def _headline_change(world: World) -> None:
    account_services.profile_update(user=world.owner, headline="Night-shift forklift driver")


def _review_received(world: World) -> None:
    make_review(world.newcomer, world.owner, rating=1, comment="Late.")


CHANGED_BY = [_headline_change, _review_received]


def _public_tags(world: World) -> dict[str, str]:
    return {path: client.get(target)["ETag"] for _namespace, path, client, target in _hot_reads(world)}


@pytest.mark.parametrize("write", UNCHANGED_BY, ids=lambda f: f.__name__.strip("_"))
def test_a_write_that_leaves_the_representation_alone_keeps_its_etag(world, write, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        world.owner.is_staff = True  # so that the owner may sign in to the admin
        world.owner.save(update_fields=["is_staff"])
    before = _public_tags(world)

    with django_capture_on_commit_callbacks(execute=True):
        write(world)

    assert _public_tags(world) == before


@pytest.mark.parametrize("write", CHANGED_BY, ids=lambda f: f.__name__.strip("_"))
def test_a_write_that_changes_the_profile_changes_its_etag(world, write, django_capture_on_commit_callbacks):
    target = url(PROFILE, world.owner.id)
    before = world.anonymous.get(target)

    with django_capture_on_commit_callbacks(execute=True):
        write(world)

    after = world.anonymous.get(target, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200
    assert after["ETag"] != before["ETag"]
    assert after.content != before.content
