"""Query budgets per GET endpoint, for ``perf_report``.

Every endpoint may run at most 3 queries for its own data plus 1 for token authentication,
cold; a hot endpoint runs 0 warm. Endpoints not listed here get the default, so a new endpoint
joins the report (and its gate) without a row; list one only to make its budget stricter.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Budget:
    cold_queries: int = 4


DEFAULT = Budget()

BUDGETS: dict[str, Budget] = {
    # Token authentication only.
    "/api/v1/auth/me/": Budget(cold_queries=1),
    # Token + one annotated query.
    "/api/v1/jobs/{job_id}/": Budget(cold_queries=2),
    "/jobs/{job_id}": Budget(cold_queries=2),
    "/api/v1/users/{user_id}/profile/": Budget(cold_queries=2),
    "/get-profile/{user_id}": Budget(cold_queries=2),
    "/api/v1/me/profile/": Budget(cold_queries=2),
    "/api/v1/me/account-details/": Budget(cold_queries=2),
    "/get-account-details": Budget(cold_queries=2),
    "/api/v1/payments/{payment_id}/": Budget(cold_queries=2),
    # Token + count + page.
    "/api/v1/users/{user_id}/payments/": Budget(cold_queries=3),
    "/users/{user_id}/payments": Budget(cold_queries=3),
    "/api/v1/users/{user_id}/reviews-given/": Budget(cold_queries=3),
    "/ratings/reviewer_{user_id}/": Budget(cold_queries=3),
    "/api/v1/users/{user_id}/reviews/": Budget(cold_queries=3),
    "/reviews/{user_id}": Budget(cold_queries=3),
    "/api/v1/me/applications/": Budget(cold_queries=3),
    "/api/v1/me/jobs/": Budget(cold_queries=3),
}

# Not API data: the schema and its UI; the operator's metrics (404 unless METRICS_TOKEN is set, and read
# by one scraper every few seconds, not by clients: what a scrape costs is in docs/operations.md).
EXCLUDED = {"/api/schema/", "/api/docs/", "/metrics"}


def budget_for(path: str) -> Budget:
    return BUDGETS.get(path, DEFAULT)
