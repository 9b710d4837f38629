"""What a developer sees in a browser: silk's recorded requests (staff only) and the API docs."""

import pytest

from bench.server_timing import desc_counts, parse_server_timing
from tests.browser.conftest import screenshot
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def figures(server_timing: str) -> dict[str, int]:
    """``{"db": n, "cachalot": n, ...}`` from our Server-Timing header."""
    return desc_counts(parse_server_timing(server_timing))


def log_in_through_the_admin(page, email: str, then: str):
    page.goto(f"/admin/login/?next={then}")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")


def test_staff_see_the_requests_just_made_with_their_query_counts(page, server):
    # given: requests a client app just made (a list, then one profile read cold and warm)
    worker = server.people["worker"]
    profile = f"/api/v1/users/{worker['id']}/profile/"
    made = {}
    for name, path in [("list", "/api/v1/jobs/"), ("cold", profile), ("warm", profile)]:
        status, headers, _ = server.api(path, token=worker["token"])
        assert status == 200
        made[name] = figures(headers["Server-Timing"])

    # when: a staff member logs in and opens silk
    log_in_through_the_admin(page, server.people["staff"]["email"], "/silk/")
    page.wait_for_url("**/silk/")
    screenshot(page, "silk-summary")
    page.goto(f"/silk/requests/?path={profile}&order_by=start_time&order_dir=DESC")
    cards = page.locator(".cell", has=page.locator(".path-div", has_text=profile))
    cards.first.wait_for()
    screenshot(page, "silk-requests-profile")

    # then: both profile reads are listed, newest first, each with its query count. silk counts
    # queries above cachalot, so its number is what reached the database plus cachalot's hits.
    counts = [int(c) for c in cards.locator(".num-queries-div .numeric").all_inner_texts()]
    assert counts == [made[r]["db"] + made[r]["cachalot"] for r in ("warm", "cold")]
    assert made["warm"]["db"] == 0  # the hot store answered the token and the body: nothing reached the database
    assert counts[0] == made["warm"]["cachalot"] == 0  # ...and silk, which counts cachalot's hits, shows none

    page.goto("/silk/requests/?path=/api/v1/jobs/")
    listed = page.locator(".cell", has=page.locator(".path-div", has_text="/api/v1/jobs/"))
    listed.first.wait_for()
    assert listed.locator(".num-queries-div .numeric").first.inner_text() == str(
        made["list"]["db"] + made["list"]["cachalot"]
    )
    assert listed.locator(".method-div").first.inner_text().strip() == "200 GET"
    screenshot(page, "silk-requests-jobs")


def test_a_non_staff_user_is_refused(page, server):
    worker = server.people["worker"]

    # the admin's login form, the way into silk, turns them away
    log_in_through_the_admin(page, worker["email"], "/silk/")
    page.locator(".errornote", has_text="staff account").wait_for()
    assert "/admin/login/" in page.url
    screenshot(page, "silk-non-staff-login")

    # and with a session of their own, silk refuses them
    page.context.add_cookies([{"name": "sessionid", "value": worker["session"], "url": server.url}])
    response = page.goto("/silk/")
    assert response.status == 403
    requests_page = page.goto("/silk/requests/")
    assert requests_page.status == 403
    assert "permission_denied" in page.content()  # the API's one error shape
    assert "/api/v1/" not in page.content()
    screenshot(page, "silk-non-staff-refused")


def test_anonymous_visitors_are_sent_to_log_in(page, server):
    page.goto("/silk/requests/")

    assert page.url.startswith(f"{server.url}/admin/login/")
    assert page.locator("#id_username").is_visible()


def test_the_api_docs_render_and_try_it_out_runs_a_request(page):
    page.goto("/api/docs/")
    page.locator(".swagger-ui .info .title", has_text="Paeshift API").wait_for()
    screenshot(page, "api-docs")

    operation = page.locator(".opblock.opblock-get", has=page.locator('[data-path="/api/v1/jobs/"]')).first
    operation.locator(".opblock-summary").click()
    operation.locator(".try-out__btn").click()
    operation.locator(".execute").click()

    status = operation.locator(".live-responses-table .response .response-col_status").first
    status.wait_for()
    assert status.inner_text().strip() == "200"
    assert '"count"' in operation.locator(".live-responses-table .response-col_description pre").first.inner_text()
    screenshot(operation.locator(".live-responses-table").first, "api-docs-try-it-out")
