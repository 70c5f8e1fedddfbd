"""Finding and starting the server: clear errors, a clean environment, nothing stopped by mistake."""

import os

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.errors import ConfigError
from pipeline.labelstudio import server
from pipeline.labelstudio.client import CONFIG_ENV, write_local_config


@pytest.fixture
def no_label_studio(tmp_path, monkeypatch):
    monkeypatch.delenv(server.BIN_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.setattr(server, "project_root", lambda: tmp_path)
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "labelstudio.json"))
    return tmp_path


def test_missing_server_says_how_to_install_it(no_label_studio):
    with pytest.raises(ConfigError, match="make labelstudio"):
        server.find_label_studio()
    with pytest.raises(ConfigError, match="--label-studio-bin names .*nothing-here"):
        server.find_label_studio(no_label_studio / "nothing-here")
    result = CliRunner().invoke(cli, ["ls", "up"])
    assert isinstance(result.exception, ConfigError) and "make labelstudio" in str(result.exception)


def test_the_executable_is_found_in_the_documented_order(no_label_studio, monkeypatch):
    def executable(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
        return path

    repo = executable(no_label_studio / ".venv-labelstudio" / "bin" / "label-studio")
    assert server.find_label_studio() == repo
    on_path = executable(no_label_studio / "empty-bin" / "label-studio")
    assert server.find_label_studio() == on_path
    from_env = executable(no_label_studio / "env" / "label-studio")
    monkeypatch.setenv(server.BIN_ENV, str(from_env))
    assert server.find_label_studio() == from_env
    explicit = executable(no_label_studio / "explicit" / "label-studio")
    assert server.find_label_studio(explicit) == explicit


def test_the_server_environment_is_clean_and_local(monkeypatch, tmp_path):
    for name, value in {"USERNAME": "ci-user", "PORT": "1", "DEBUG": "1", "HOST": "0.0.0.0", "SECRET": "x"}.items():
        monkeypatch.setenv(name, value)
    env = server.server_environment(tmp_path, username="u@x.org", password="pw", token="tok-123456")
    assert not {"USERNAME", "PORT", "DEBUG", "HOST", "SECRET"} & env.keys()
    assert env["LABEL_STUDIO_BASE_DATA_DIR"] == str(tmp_path) and env["SENTRY_DSN"] == ""
    assert env["LABEL_STUDIO_USER_TOKEN"] == "tok-123456" and env["ML_BLOCK_LOCAL_IP"] == "false"
    assert "ML_BLOCK_LOCAL_IP" not in server.server_environment(tmp_path, username="u", password="p", token="t" * 8,
                                                               allow_local_ml=False)  # fmt: skip


def test_down_without_a_server_stops_nothing(no_label_studio):
    write_local_config({"url": "http://127.0.0.1:1", "pid": os.getpid(), "token": "tok-123456"})
    assert not server.process_alive(os.getpid())  # this pytest process is not Label Studio
    result = CliRunner().invoke(cli, ["ls", "down"])
    assert result.exit_code == 0 and "no local Label Studio server is running" in result.output


def test_an_existing_database_with_an_unknown_token_is_refused(no_label_studio):
    data = no_label_studio / "data"
    data.mkdir()
    (data / "label_studio.sqlite3").write_bytes(b"")
    fake = no_label_studio / "bin" / "label-studio"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    with pytest.raises(server.ServerError, match="API token is unknown"):
        server.start_server(data_dir=data, label_studio_bin=fake)


def test_a_server_that_exits_at_start_is_reported_with_its_log(no_label_studio):
    fake = no_label_studio / "bin" / "label-studio"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\necho "boom: bad settings for $LABEL_STUDIO_USER_TOKEN"\nexit 3\n')
    fake.chmod(0o755)
    with pytest.raises(server.ServerError, match="exited with status 3") as failure:
        server.start_server(data_dir=no_label_studio / "data", label_studio_bin=fake, token="secret-token-42")
    assert "boom" in str(failure.value) and "secret-token-42" not in str(failure.value)
