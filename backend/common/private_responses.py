"""``Cache-Control: private, no-store`` on every response that carries one user's private data.

Payments, account details (bank account, balances), everything under ``/api/v1/me/`` and every
response that carries or revokes an API token must not be kept by a shared cache (a proxy, a CDN)
nor written to disk by the client's own. Set here, on the way out, so it covers every path to the
response: a hot-cache hit (built by ``backend.caching.read``), a miss, an ETag's 304 and an error
alike. Public resources (jobs, public profiles, reviews) keep their revalidation with ETags.
"""

from django.utils.cache import patch_cache_control

# URL names (config/urls.py and the apps' urls.py and legacy_urls.py) whose responses are private.
# The previous system's paths answer under both spellings: "<name>" and "<name>-alt".
PRIVATE_URL_NAMES = frozenset(
    {
        # a token in the body, or the revocation of one; the caller's own account
        "auth-register",
        "auth-token",
        "auth-logout",
        "auth-me",
        # /api/v1/me/...
        "me-profile",
        "me-account-details",
        "me-applications",
        "me-jobs",
        # account details and payments, whoever asks (staff included)
        "user-account-details",
        "legacy-account-details",
        "user-payments",
        "legacy-user-payments",
        "job-payments",
        "payment-detail",
        "payment-succeed",
        "payment-fail",
        "payment-refund",
    }
)


def is_private(request) -> bool:
    match = getattr(request, "resolver_match", None)
    if match is None or not match.url_name:
        return False
    return match.url_name.removesuffix("-alt") in PRIVATE_URL_NAMES or request.path.startswith("/api/v1/me/")


class PrivateResponseMiddleware:
    """Marks the responses of ``PRIVATE_URL_NAMES`` ``private, no-store`` (RFC 9111 sections 5.2.2.3, 5.2.2.7)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if is_private(request):
            patch_cache_control(response, private=True, no_store=True)
        return response
