"""Which requests the developer tools look at: django-silk's sampling and the debug toolbar's audience.

Both are referenced from settings (``SILKY_INTERCEPT_FUNC``, ``DEBUG_TOOLBAR_CONFIG``) and read
the settings at call time, so this module imports neither tool: production settings can name
``silk_should_record`` without the debug toolbar being installed at all.
"""

import hmac
import random

from django.conf import settings

# Requests silk never records, whatever the sampling says: load balancers' probes, static files,
# silk's own UI and the toolbar's. OPS_PATHS (the probes) is defined by the deployment settings.
_DEFAULT_OPS_PATHS = ("/healthz", "/readyz")
SILK_PROFILE_HEADER = "X-Silk-Profile"


def _never_recorded() -> tuple[str, ...]:
    ops_paths = tuple(getattr(settings, "OPS_PATHS", _DEFAULT_OPS_PATHS))
    return (*ops_paths, settings.STATIC_URL, "/silk/", "/__debug__/")


def silk_should_record(request) -> bool:
    """silk's ``SILKY_INTERCEPT_FUNC``: record this request?

    Never the paths above. Otherwise always when the request carries ``X-Silk-Profile`` equal to
    ``SILK_PROFILE_SECRET`` (when one is set), else with probability ``SILK_SAMPLE_PERCENT`` / 100
    (100 in local settings: every request).
    """
    if request.path_info.startswith(_never_recorded()):
        return False
    secret = getattr(settings, "SILK_PROFILE_SECRET", "")
    if secret:
        sent = request.headers.get(SILK_PROFILE_HEADER, "")
        if sent and hmac.compare_digest(sent.encode(), secret.encode()):
            return True
    percent = getattr(settings, "SILK_SAMPLE_PERCENT", 100.0)
    return percent >= 100 or random.random() * 100 < percent


def show_debug_toolbar(request) -> bool:
    """``SHOW_TOOLBAR_CALLBACK``: staff users browsing from an internal IP, with DEBUG on."""
    if not settings.DEBUG or request.META.get("REMOTE_ADDR") not in settings.INTERNAL_IPS:
        return False
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_active and user.is_staff)
