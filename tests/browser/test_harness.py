"""The browser tests' own rule: without Chromium they skip on a developer's machine and fail in CI."""

from pathlib import Path

import pytest

from tests.browser import conftest


def test_a_missing_browser_fails_under_ci(monkeypatch):
    monkeypatch.setattr(conftest, "CHROMIUM", Path("/nonexistent/chromium"))
    monkeypatch.setenv("CI", "true")

    with pytest.raises(pytest.fail.Exception, match="browser tests cannot run in CI"):
        conftest._require_chromium()


def test_a_missing_browser_skips_elsewhere(monkeypatch):
    monkeypatch.setattr(conftest, "CHROMIUM", Path("/nonexistent/chromium"))
    monkeypatch.delenv("CI", raising=False)

    with pytest.raises(pytest.skip.Exception, match="apt-get install -y chromium"):
        conftest._require_chromium()
