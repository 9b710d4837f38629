"""The hot-view system checks (backend/caching/checks.py), one deliberately broken view per error id.

Each broken view is routed by a URLconf made here, so the check sees it as Django serves it.
"""

import types

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings
from django.urls import path
from rest_framework import generics
from rest_framework.views import APIView

from backend.accounts.hot_caches import ACCOUNT_DETAILS
from backend.caching.checks import check_hot_views
from backend.caching.registry import HotView
from backend.caching.views import HotCachedMixin
from backend.common.access import ensure_owner_or_staff
from backend.jobs.hot_caches import JOB_DETAIL
from backend.payments.hot_caches import PAYMENTS


class _Keyed:
    """What every hot view must say (``caching.E004``): the key a request reads."""

    def get_hot_key_id(self, request, **kwargs) -> int:
        return kwargs["user_id"]


def _urlconf(view_class: type, name: str = "user-payments") -> types.ModuleType:
    """The view routed under ``name``: by default a URL name the private-response list has."""
    module = types.ModuleType("hot_view_check_urls")
    module.urlpatterns = [path("broken/<int:user_id>/", view_class.as_view(), name=name)]
    return module


def _error_ids(view_class: type, name: str = "user-payments") -> list[str]:
    with override_settings(ROOT_URLCONF=_urlconf(view_class, name)):
        return [error.id for error in check_hot_views()]


def test_the_project_s_hot_views_pass():
    assert check_hot_views() == []


def test_a_correct_hot_view_passes():
    class Fine(_Keyed, HotCachedMixin, generics.ListAPIView):
        hot_view = PAYMENTS

        def check_hot_access(self, request, key_id):
            ensure_owner_or_staff(request.user, key_id)

    assert _error_ids(Fine) == []


def test_mixin_after_a_drf_generic_is_e001():
    class Uncached(_Keyed, generics.ListAPIView, HotCachedMixin):
        hot_view = JOB_DETAIL

    # The premise: ListAPIView's get serves the route, so the mixin's never runs.
    assert Uncached.get is generics.ListAPIView.get
    assert _error_ids(Uncached) == ["caching.E001"]


def test_mixin_after_a_base_without_get_is_fine():
    class Served(_Keyed, APIView, HotCachedMixin):
        hot_view = JOB_DETAIL

    assert Served.get is HotCachedMixin.get
    assert _error_ids(Served) == []


@pytest.mark.parametrize(
    "hot_view",
    [
        "job:detail",  # a namespace string typed a second time
        HotView(namespace="ghost:user", build=lambda key_id: None, ttl=60, depends_on=(), all_ids=list),
        # same namespace as a registered one, but not the registered object
        HotView(namespace="job:detail", build=lambda key_id: None, ttl=60, depends_on=(), all_ids=list),
        None,
    ],
    ids=["string", "unregistered", "copy", "missing"],
)
def test_a_view_naming_no_registered_declaration_is_e002(hot_view):
    class Unregistered(_Keyed, HotCachedMixin, APIView):
        pass

    Unregistered.hot_view = hot_view
    assert _error_ids(Unregistered) == ["caching.E002"]


@pytest.mark.parametrize("hot_view", [PAYMENTS, ACCOUNT_DETAILS], ids=lambda view: view.namespace)
def test_a_private_hot_view_without_access_check_is_e003(hot_view):
    class Open(_Keyed, HotCachedMixin, APIView):
        pass

    Open.hot_view = hot_view
    assert _error_ids(Open) == ["caching.E003"]


def test_manage_py_check_refuses_a_broken_hot_view():
    class Open(_Keyed, HotCachedMixin, generics.ListAPIView):
        hot_view = PAYMENTS

    with override_settings(ROOT_URLCONF=_urlconf(Open)), pytest.raises(SystemCheckError) as raised:
        call_command("check")
    assert "caching.E003" in str(raised.value)


def test_a_hot_view_that_does_not_say_its_key_is_e004():
    class Unkeyed(HotCachedMixin, APIView):
        hot_view = JOB_DETAIL

    assert _error_ids(Unkeyed) == ["caching.E004"]


@pytest.mark.parametrize("name", ["my-new-private-list", None], ids=["unlisted", "unnamed"])
def test_a_private_hot_view_on_a_route_not_marked_private_is_e005(name):
    class Unmarked(_Keyed, HotCachedMixin, APIView):
        hot_view = PAYMENTS

        def check_hot_access(self, request, key_id):
            ensure_owner_or_staff(request.user, key_id)

    assert _error_ids(Unmarked, name) == ["caching.E005"]
    # a public hot view may take any name
    assert _error_ids(type("Public", (_Keyed, HotCachedMixin, APIView), {"hot_view": JOB_DETAIL}), name) == []


class _KeyedByRequester(HotCachedMixin, APIView):
    hot_view = JOB_DETAIL
    hot_key_names_requester = False

    def get_hot_key_id(self, request, **kwargs) -> int:
        return request.user.id


class _KeyedByAuth(HotCachedMixin, APIView):
    hot_view = JOB_DETAIL
    hot_key_names_requester = False

    def get_hot_key_id(self, request, **kwargs) -> int:
        return kwargs["user_id"]

    def is_hot_request(self, request) -> bool:
        return self.request.auth is not None


@pytest.mark.parametrize("view_class", [_KeyedByRequester, _KeyedByAuth], ids=["request.user", "self.request.auth"])
def test_a_prefetched_hot_view_whose_key_reads_the_requester_is_e006(view_class):
    # Its key would be computed with the token's entry, before authentication has finished.
    assert _error_ids(view_class) == ["caching.E006"]
    # The same view saying its key depends on who asks is fine (it is then read after authentication).
    assert _error_ids(type("Declared", (view_class,), {"hot_key_names_requester": True})) == []
