"""Connecting to Label Studio: where the URL and token come from, retries with back-off, token hygiene.

The URL comes from ``--url``, else ``LABEL_STUDIO_URL``, else the local config file that ``framing ls up``
writes (``<project>/.framing/labelstudio.json``, or ``FRAMING_LS_CONFIG``). That file is found from any
working directory: ``FRAMING_LS_CONFIG``, else the one of the project around the working directory, else the
one the data directory in ``FRAMING_LS_DATA_DIR`` names, else the one ``framing ls up`` recorded for the user
(``$XDG_STATE_HOME/framing/labelstudio-server.json``, by default under ``~/.local/state``). The token comes from
``LABEL_STUDIO_API_KEY``, else that file -- but only when the file describes the same server, so a local
token is never sent to another host. The token is never printed or logged: every message that leaves this
module passes through ``scrub``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pipeline.errors import ConfigError, FramingError

log = logging.getLogger(__name__)
T = TypeVar("T")

CONFIG_ENV = "FRAMING_LS_CONFIG"
DATA_DIR_ENV = "FRAMING_LS_DATA_DIR"
STATE_DIR_ENV = "FRAMING_STATE_DIR"  # overrides $XDG_STATE_HOME/framing (tests)
SERVER_POINTER = "labelstudio-server.json"  # in the user's state folder and in the server's data directory
URL_ENV = "LABEL_STUDIO_URL"
TOKEN_ENV = "LABEL_STUDIO_API_KEY"
_AUTH_HEADER = re.compile(r"(?i)\b(token|bearer)(\s+|=|:\s*)[A-Za-z0-9._\-]{6,}")


class LabelStudioError(FramingError):
    """Label Studio refused a request, or could not be reached even after retries."""


@dataclass(frozen=True)
class Settings:
    """Where the server is and how to authenticate. ``repr`` hides the token."""

    url: str
    token: str | None = None
    origin: str = "explicit"

    def __repr__(self) -> str:
        return f"Settings(url={self.url!r}, token={'***' if self.token else None}, origin={self.origin!r})"


DEFAULT_RETRY_SECONDS = 120.0  # longer than a server's first start (~40 s of migrations) and a restart (~5 s)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off for transient failures (connection errors, timeouts, 5xx, 429): retried until
    ``total_seconds`` have passed (the retry window), or ``attempts`` were made when that is set."""

    attempts: int | None = None
    first_wait: float = 0.5
    max_wait: float = 8.0
    total_seconds: float = DEFAULT_RETRY_SECONDS

    @classmethod
    def window(cls, seconds: float) -> RetryPolicy:
        return cls(total_seconds=seconds)


# -- the local config file -----------------------------------------------------------------------------
def project_root(start: Path | None = None) -> Path:
    """The nearest directory at or above ``start`` holding ``.framing``, ``.git`` or ``pyproject.toml``."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if any((directory / marker).exists() for marker in (".framing", ".git", "pyproject.toml")):
            return directory
    return here


def config_path(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The local server's config file (see the module docstring for the order in which it is looked for);
    ``data_dir`` (or ``$FRAMING_LS_DATA_DIR``) asks for the one of the server on that data directory."""
    override = os.environ.get(CONFIG_ENV)
    if override and data_dir is None:
        return Path(override).expanduser()
    data_dir = data_dir or os.environ.get(DATA_DIR_ENV)
    if data_dir:
        named = _pointer(Path(data_dir).expanduser() / SERVER_POINTER)
        if named is None:
            raise ConfigError(f"{data_dir}: no Label Studio server of `framing ls up` has used this data directory "
                              f"(no {SERVER_POINTER} in it)")
        return named
    local = project_root() / ".framing" / "labelstudio.json"
    if local.exists():
        return local
    return _pointer(user_state_dir() / SERVER_POINTER) or local


def user_state_dir() -> Path:
    override = os.environ.get(STATE_DIR_ENV)
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "framing"


def _pointer(path: Path) -> Path | None:
    """The config file a pointer file names, when both exist."""
    try:
        named = Path(json.loads(path.read_text(encoding="utf-8"))["config_file"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return named if named.is_file() else None


def remember_server(config_file: Path, data_dir: Path) -> None:
    """Record where the server's config file is, for the user and in its data directory, so that later
    commands find the server from any working directory."""
    value = {"config_file": str(Path(config_file).resolve())}
    for folder in (user_state_dir(), data_dir):
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            write_local_config(value, folder / SERVER_POINTER)
        except OSError as error:  # a read-only home: the project-local file still works from the project
            log.warning("could not record the server in %s: %s", folder, error.strerror or error)


def read_local_config(path: Path | None = None) -> dict[str, Any]:
    """The local server's saved settings, or ``{}`` when there are none."""
    path = path or config_path()
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigError(f"{path}: cannot read the Label Studio config file: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    return data


def write_local_config(data: dict[str, Any], path: Path | None = None) -> Path:
    """Write the config file readable and writable by the user only (it holds the token)."""
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
    os.chmod(temporary, stat.S_IRUSR | stat.S_IWUSR)
    os.replace(temporary, path)
    return path


def resolve_settings(url: str | None = None, token: str | None = None, *, require_token: bool = True) -> Settings:
    """Settings from arguments, the environment and the local config file (see the module docstring)."""
    local = read_local_config()
    chosen_url = url or os.environ.get(URL_ENV) or local.get("url")
    origin = "option" if url else "environment" if os.environ.get(URL_ENV) else "local config"
    if not chosen_url:
        raise ConfigError(
            "no Label Studio server: start a local one with `framing ls up`, or give --url "
            f"(or set {URL_ENV}) and the token in {TOKEN_ENV}"
        )
    chosen_url = chosen_url.rstrip("/")
    chosen_token = token or os.environ.get(TOKEN_ENV)
    if not chosen_token and local.get("token") and str(local.get("url", "")).rstrip("/") == chosen_url:
        chosen_token = local["token"]
    if require_token and not chosen_token:
        raise ConfigError(f"no API token for {chosen_url}: set {TOKEN_ENV} (Label Studio > Account & Settings)")
    return Settings(chosen_url, chosen_token, origin)


# -- scrubbing -----------------------------------------------------------------------------------------
def scrub(message: str, *secrets: str | None) -> str:
    """``message`` with the given secrets and anything that looks like an auth header value masked."""
    for secret in secrets:
        if secret:
            message = message.replace(secret, "***")
    return _AUTH_HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}***", message)


# -- the connection ------------------------------------------------------------------------------------
def is_transient(error: BaseException) -> bool:
    """Worth retrying: the server is unreachable, restarting, overloaded, or failed internally."""
    import httpx

    if isinstance(error, httpx.TransportError):
        return True
    status = getattr(error, "status_code", None)
    if type(error).__name__ == "ApiError" or hasattr(error, "body"):
        return status is None or status >= 500 or status in (408, 429)
    return False


def describe(error: BaseException) -> str:
    """A short, token-free description of an SDK or HTTP error."""
    status = getattr(error, "status_code", None)
    body = getattr(error, "body", None)
    if status is not None or body is not None:
        if isinstance(body, dict):
            detail, errors = body.get("detail"), body.get("validation_errors")
            if detail and errors:
                body = f"{detail}: {_flatten(errors)}"
            else:
                body = detail or errors or body
        text = json.dumps(body, ensure_ascii=False) if not isinstance(body, str) else body
        return f"HTTP {status}: {text[:500]}"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _flatten(errors: Any) -> str:
    """Django REST framework validation errors as one line: ``field: message; message``."""
    if isinstance(errors, dict):
        return "; ".join(
            _flatten(value) if key == "non_field_errors" else f"{key}: {_flatten(value)}"
            for key, value in errors.items()
        )
    if isinstance(errors, list):
        return "; ".join(_flatten(item) for item in errors)
    return " ".join(str(errors).split())


class Connection:
    """An SDK client plus retries. ``call`` runs one request with back-off; errors become ``LabelStudioError``."""

    def __init__(self, settings: Settings, retry: RetryPolicy | None = None, timeout: float = 120.0) -> None:
        self.settings = settings
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self._sdk: Any = None

    def __repr__(self) -> str:
        return f"Connection({self.settings!r})"

    @property
    def sdk(self) -> Any:
        """The ``label_studio_sdk.LabelStudio`` client (imported on first use: the import takes ~1.6 s)."""
        if self._sdk is None:
            from label_studio_sdk import LabelStudio

            # the SDK's own retries are switched off: ``call`` owns retrying, so it can keep writes idempotent
            self._sdk = LabelStudio(
                base_url=self.settings.url, api_key=self.settings.token, timeout=self.timeout, max_retries=0
            )
        return self._sdk

    def scrub(self, message: str) -> str:
        return scrub(message, self.settings.token)

    def call(self, what: str, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``function(*args, **kwargs)`` retried with back-off on transient errors.

        ``what`` names the operation for messages ("importing 100 tasks into project 3").
        """
        from tenacity import (
            RetryError,
            Retrying,
            retry_if_exception,
            stop_after_attempt,
            stop_after_delay,
            wait_exponential,
        )

        policy = self.retry
        retrying = Retrying(
            retry=retry_if_exception(is_transient),
            stop=(stop_after_delay(policy.total_seconds) if policy.attempts is None
                  else stop_after_attempt(policy.attempts) | stop_after_delay(policy.total_seconds)),
            wait=wait_exponential(multiplier=policy.first_wait, max=policy.max_wait),
            before_sleep=lambda state: log.warning(
                "%s failed (%s); retrying (attempt %d)",
                what,
                self.scrub(describe(state.outcome.exception())),
                state.attempt_number + 1,
            ),
            reraise=False,
        )
        started = time.monotonic()
        try:
            return retrying(function, *args, **kwargs)
        except RetryError as error:
            last = error.last_attempt.exception()
            raise LabelStudioError(
                self.scrub(
                    f"{what}: Label Studio at {self.settings.url} did not answer after "
                    f"{error.last_attempt.attempt_number} attempts in {time.monotonic() - started:.0f} s "
                    f"({describe(last)}); is it running? `framing ls status` checks, `framing ls up` starts a "
                    "local server, --retry-for SECONDS waits longer"
                )
            ) from None
        except FramingError:
            raise
        except Exception as error:  # a non-transient SDK error: say what was refused, without the token
            if getattr(error, "status_code", None) == 401:
                raise LabelStudioError(
                    f"{what}: Label Studio at {self.settings.url} rejected the API token (HTTP 401); "
                    f"check {TOKEN_ENV} or the local config written by `framing ls up`"
                ) from None
            raise LabelStudioError(self.scrub(f"{what}: {describe(error)}")) from None

    def pages(self, what: str, pager_factory: Callable[[], Any]) -> Iterator[Any]:
        """Every item of a paginated SDK listing, each page fetched with retries."""
        pager = self.call(what, pager_factory)
        while pager is not None:
            yield from pager.items or ()
            if not pager.has_next:
                return
            pager = self.call(what, pager.next_page)

    def health(self, timeout: float = 3.0) -> bool:
        """Whether ``GET /health`` answers ``UP`` (no token needed, no SDK import)."""
        return check_health(self.settings.url, timeout)

    def request(self, method: str, path: str, what: str, *, retry: bool = True, **kwargs: Any) -> Any:
        """A JSON API request for endpoints the SDK covers slowly or not at all; with retries unless
        ``retry=False`` (then errors pass through unchanged, for callers that retry a larger step)."""
        import httpx

        def send() -> Any:
            response = httpx.request(
                method,
                self.settings.url + path,
                headers={"Authorization": f"Token {self.settings.token}"},
                timeout=self.timeout,
                **kwargs,
            )
            if response.status_code >= 400:
                error = httpx.HTTPStatusError(
                    f"HTTP {response.status_code}", request=response.request, response=response
                )
                error.status_code = response.status_code  # type: ignore[attr-defined]
                error.body = response.text[:500]  # type: ignore[attr-defined]
                raise error
            return response.json() if response.content else None

        return self.call(what, send) if retry else send()


def check_health(url: str, timeout: float = 3.0) -> bool:
    import httpx

    try:
        response = httpx.get(url.rstrip("/") + "/health", timeout=timeout)
        return response.status_code == 200 and response.json().get("status") == "UP"
    except (httpx.HTTPError, ValueError):
        return False


def connect(url: str | None = None, token: str | None = None, retry: RetryPolicy | None = None) -> Connection:
    """A connection to the configured server (see the module docstring for where settings come from)."""
    return Connection(resolve_settings(url, token), retry)
