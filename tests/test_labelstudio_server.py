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
    monkeypatch.setattr(server, "installed_root", lambda: tmp_path)
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


def test_down_finds_the_server_from_any_directory_and_says_which_it_stopped(tmp_path, monkeypatch, capsys):
    """Issue #19: `cd /tmp && framing ls down` said no server was running and left it running."""
    import json
    import subprocess
    import time

    from pipeline.cli import main
    from pipeline.labelstudio.client import DATA_DIR_ENV, STATE_DIR_ENV, remember_server

    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.setenv(STATE_DIR_ENV, str(tmp_path / "state"))
    project, data, elsewhere = tmp_path / "project", tmp_path / "project" / ".framing" / "data", tmp_path / "else"
    data.mkdir(parents=True)
    elsewhere.mkdir()
    fake = tmp_path / "bin" / "label-studio"  # a process whose command line names label-studio, like the server
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nsleep 60\n")
    fake.chmod(0o755)

    def start():
        process = subprocess.Popen([str(fake)], start_new_session=True)
        config = project / ".framing" / "labelstudio.json"
        write_local_config({"url": "http://127.0.0.1:18999", "pid": process.pid, "data_dir": str(data),
                            "token": "tok-123456"}, config)
        remember_server(config, data)
        return process

    for how in (["ls", "down"], ["ls", "down", "--data-dir", str(data)]):
        process = start()
        deadline = time.monotonic() + 10
        while not server.process_alive(process.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        monkeypatch.chdir(elsewhere)
        try:
            main(how)
        except SystemExit as exit_:
            assert not exit_.code
        output = capsys.readouterr().out
        assert f"stopped the local Label Studio server at http://127.0.0.1:18999 (pid {process.pid}" in output
        assert process.wait(timeout=10) is not None
    assert json.loads((project / ".framing" / "labelstudio.json").read_text())["pid"] is None
    main(["ls", "down"])
    assert "no local Label Studio server is running" in capsys.readouterr().out


def test_the_data_directory_is_private(labelstudio_server):
    """Issue #19: the SQLite database (it holds the API token) and the server log were world-readable."""
    import stat

    data = labelstudio_server.data_dir
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for name in ("label_studio.sqlite3", "server.log"):
        assert stat.S_IMODE((data / name).stat().st_mode) == 0o600, name
