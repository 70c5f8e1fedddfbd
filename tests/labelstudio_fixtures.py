"""A real Label Studio server, started once per test session on a fresh copy of a migrated data directory.

The first run migrates an empty data directory (~40 s) and keeps it as a template under
``.pytest_cache/labelstudio-template-<version>``; later sessions copy it and start in a few seconds. The
server runs from ``.venv-labelstudio`` (``make labelstudio``). Without it the tests skip, except under CI
(``CI`` set), where they fail: CI must run them.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.labelstudio import server as ls_server
from pipeline.labelstudio.client import CONFIG_ENV, Connection, RetryPolicy, Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
CREDENTIALS_FILE = "framing-test-credentials.json"


@dataclass
class LabelStudioServer:
    url: str
    token: str
    data_dir: Path
    config_file: Path

    def connection(self, retry: RetryPolicy | None = None) -> Connection:
        return Connection(Settings(self.url, self.token), retry)

    def env(self) -> dict[str, str | None]:
        """Environment for CLI calls: this server's local config file, no URL or token from the shell."""
        return {CONFIG_ENV: str(self.config_file), "LABEL_STUDIO_URL": None, "LABEL_STUDIO_API_KEY": None}

    def pid(self) -> int:
        return json.loads(self.config_file.read_text())["pid"]

    def restart(self) -> None:
        """Start the server again on the same port and data directory (after it was killed)."""
        port = int(self.url.rsplit(":", 1)[1])
        ls_server.start_server(port=port, data_dir=self.data_dir, token=self.token, timeout=120)


def _label_studio_bin() -> Path | None:
    candidates = [os.environ.get(ls_server.BIN_ENV), str(REPO_ROOT / ".venv-labelstudio" / "bin" / "label-studio")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    return None


def _restore(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def _template(executable: Path) -> Path:
    """A migrated data directory with an admin user and a known token, built once per Label Studio version."""
    version = ls_server.label_studio_version(executable)
    template = REPO_ROOT / ".pytest_cache" / f"labelstudio-template-{version}"
    if (template / CREDENTIALS_FILE).exists():
        return template
    building = template.with_name(f"{template.name}.building-{uuid.uuid4().hex[:8]}")
    credentials = {"token": secrets.token_hex(20), "password": secrets.token_urlsafe(12)}
    previous = os.environ.get(CONFIG_ENV)
    os.environ[CONFIG_ENV] = str(building / "config.json")
    try:
        ls_server.start_server(
            data_dir=building / "data",
            label_studio_bin=executable,
            port=ls_server.free_port(18180),
            token=credentials["token"],
            password=credentials["password"],
            timeout=300,
        )
        ls_server.stop_server()
        (building / "config.json").unlink()
        (building / CREDENTIALS_FILE).write_text(json.dumps(credentials))
        try:
            building.rename(template)
        except OSError:  # another session built it meanwhile
            shutil.rmtree(building, ignore_errors=True)
    finally:
        if building.exists() and not (building / CREDENTIALS_FILE).exists():
            ls_server.stop_server()  # a half-built template: stop its server while the config still names it
            shutil.rmtree(building, ignore_errors=True)
        _restore(CONFIG_ENV, previous)
    return template


@pytest.fixture(scope="session")
def labelstudio_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabelStudioServer]:
    executable = _label_studio_bin()
    if executable is None:
        reason = "Label Studio server venv missing: run `make labelstudio` (creates .venv-labelstudio)"
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail(reason + " -- CI must run the Label Studio tests")
        pytest.skip(reason)
    template = _template(executable)
    credentials = json.loads((template / CREDENTIALS_FILE).read_text())
    root = tmp_path_factory.mktemp("labelstudio")
    data_dir = root / "data"
    shutil.copytree(template / "data", data_dir)
    config_file = root / "labelstudio.json"
    saved = {name: os.environ.get(name) for name in (CONFIG_ENV, ls_server.BIN_ENV)}
    os.environ[CONFIG_ENV] = str(config_file)
    os.environ[ls_server.BIN_ENV] = str(executable)
    try:
        info = ls_server.start_server(
            data_dir=data_dir,
            port=ls_server.free_port(18080),
            token=credentials["token"],
            password=credentials["password"],
            timeout=180,
        )
        yield LabelStudioServer(info.url, credentials["token"], data_dir, config_file)
    finally:
        os.environ[CONFIG_ENV] = str(config_file)
        ls_server.stop_server()
        for name, value in saved.items():
            _restore(name, value)
