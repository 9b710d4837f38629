"""Assertions shared by the API tests."""


def assert_error(response, status: int, code: str | None = None, attr: str | None = None) -> dict:
    """Every 4xx has the one error shape: ``{"type", "errors": [{"code", "detail", "attr"}]}``."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"type", "errors"}, body
    assert body["errors"], body
    for error in body["errors"]:
        assert set(error) == {"code", "detail", "attr"}, body
    if code is not None:
        assert code in [e["code"] for e in body["errors"]], body
    if attr is not None:
        assert attr in [e["attr"] for e in body["errors"]], body
    return body
