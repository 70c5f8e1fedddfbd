"""Where URL and token come from, retries with back-off, and a token that never shows."""

import logging
import os
import stat

import httpx
import pytest

from pipeline.errors import ConfigError
from pipeline.labelstudio.client import (
    CONFIG_ENV,
    Connection,
    LabelStudioError,
    RetryPolicy,
    Settings,
    read_local_config,
    resolve_settings,
    scrub,
    write_local_config,
)

TOKEN = "a1b2c3d4e5f6a7b8c9d0"
FAST = RetryPolicy(attempts=4, first_wait=0, max_wait=0, total_seconds=10)


@pytest.fixture
def local_config(tmp_path, monkeypatch):
    path = tmp_path / ".framing" / "labelstudio.json"
    monkeypatch.setenv(CONFIG_ENV, str(path))
    for name in ("LABEL_STUDIO_URL", "LABEL_STUDIO_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    return path


def test_local_config_is_private_and_supplies_url_and_token(local_config):
    write_local_config({"url": "http://127.0.0.1:8080", "token": TOKEN})
    assert stat.S_IMODE(os.stat(local_config).st_mode) == 0o600
    settings = resolve_settings()
    assert (settings.url, settings.token, settings.origin) == ("http://127.0.0.1:8080", TOKEN, "local config")
    assert TOKEN not in repr(settings) and TOKEN not in repr(Connection(settings))


def test_the_environment_wins_and_a_local_token_never_goes_to_another_server(local_config, monkeypatch):
    write_local_config({"url": "http://127.0.0.1:8080", "token": TOKEN})
    monkeypatch.setenv("LABEL_STUDIO_URL", "https://ls.example.org/")
    with pytest.raises(ConfigError, match="LABEL_STUDIO_API_KEY") as missing:
        resolve_settings()
    assert TOKEN not in str(missing.value)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "env-token-123")
    assert resolve_settings().token == "env-token-123" and resolve_settings().url == "https://ls.example.org"
    assert resolve_settings(url="http://127.0.0.1:8080/").token == "env-token-123"


def test_no_server_configured_says_how_to_get_one(local_config):
    with pytest.raises(ConfigError, match="framing ls up"):
        resolve_settings()
    local_config.parent.mkdir(parents=True)
    local_config.write_text("{not json")
    with pytest.raises(ConfigError, match=str(local_config)):
        read_local_config()


def test_scrub_masks_the_token_and_auth_headers():
    message = f"headers: {{'Authorization': 'Token {TOKEN}'}} bearer eyJhbGciOi.payload.sig and {TOKEN}"
    cleaned = scrub(message, TOKEN)
    assert TOKEN not in cleaned and "eyJhbGciOi" not in cleaned and "Authorization" in cleaned


class FlakyCall:
    def __init__(self, failures):
        self.failures = list(failures)
        self.calls = 0

    def __call__(self):
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


class ApiError(Exception):
    def __init__(self, status_code, body):
        super().__init__(f"headers: {{'authorization': 'Token {TOKEN}'}}, status_code: {status_code}")
        self.status_code, self.body = status_code, body


def test_transient_failures_are_retried_until_they_pass(caplog):
    conn = Connection(Settings("http://ls.invalid", TOKEN), FAST)
    flaky = FlakyCall([httpx.ConnectError("refused"), ApiError(502, "bad gateway"), httpx.ReadTimeout("slow")])
    with caplog.at_level(logging.WARNING):
        assert conn.call("importing", flaky) == "ok"
    assert flaky.calls == 4 and len(caplog.records) == 3
    assert TOKEN not in caplog.text


def test_persistent_failures_end_in_a_clear_error_without_the_token():
    conn = Connection(Settings("http://ls.invalid", TOKEN), FAST)
    flaky = FlakyCall([ApiError(500, f"Token {TOKEN} broke")] * 10)
    with pytest.raises(LabelStudioError, match="did not answer after 4 attempts") as failure:
        conn.call("importing 5 tasks", flaky)
    assert TOKEN not in str(failure.value) and "importing 5 tasks" in str(failure.value)


def test_client_errors_are_not_retried():
    conn = Connection(Settings("http://ls.invalid", TOKEN), FAST)
    refused = FlakyCall([ApiError(400, {"detail": "Validation error", "validation_errors": {"title": ["too short"]}})])
    with pytest.raises(LabelStudioError, match="too short"):
        conn.call("creating project", refused)
    assert refused.calls == 1
    with pytest.raises(LabelStudioError, match="rejected the API token"):
        conn.call("listing", FlakyCall([ApiError(401, "Invalid token")]))


def test_an_unreachable_server_fails_fast_with_the_url_and_not_the_token():
    conn = Connection(Settings("http://127.0.0.1:9", TOKEN), RetryPolicy(2, 0, 0, 5))
    with pytest.raises(LabelStudioError, match="127.0.0.1:9") as failure:
        conn.request("GET", "/api/projects/", "listing projects")
    assert TOKEN not in str(failure.value)
    assert not conn.health()
