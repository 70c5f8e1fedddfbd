"""Start and stop a local Label Studio server (SQLite, project-local data directory, 127.0.0.1 only).

The server runs from its own virtual environment (its exact pins stay out of ours). It is started with a
clean, explicit environment -- Label Studio also reads unprefixed variables such as ``USERNAME``, ``PORT`` or
``DEBUG`` -- with an admin user and a preset legacy API token on the first start of a data directory. The
URL, login and token are saved in the local config file (mode 600, see ``client.config_path``); the token is
never printed. The data directory (SQLite database with the token, server log) is private to the user: mode
700, its files 600.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import ConfigError, FramingError
from pipeline.labelstudio.client import (
    CONFIG_ENV,
    check_health,
    config_path,
    project_root,
    read_local_config,
    remember_server,
    scrub,
    write_local_config,
)

BIN_ENV = "FRAMING_LABEL_STUDIO_BIN"
DEFAULT_PORT = 8080
DEFAULT_USERNAME = "admin@framing.local"
INSTALL_HINT = (
    "Label Studio is not installed: run `make labelstudio` (creates .venv-labelstudio with label-studio 1.23.2), "
    f"or pass --label-studio-bin / set {BIN_ENV} to a label-studio executable"
)


class ServerError(FramingError):
    """The local Label Studio server could not be started or stopped."""


@dataclass(frozen=True)
class ServerInfo:
    url: str
    port: int
    pid: int | None
    data_dir: Path
    username: str
    reused: bool
    config_file: Path


# -- finding the executable ----------------------------------------------------------------------------
def installed_root() -> Path:
    """The checkout this package runs from (its ``.venv-labelstudio`` serves any working directory)."""
    return Path(__file__).resolve().parents[2]


def find_label_studio(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The label-studio executable: ``explicit``, else ``$FRAMING_LABEL_STUDIO_BIN``, else PATH, else the
    repository's ``.venv-labelstudio``."""
    candidates: list[tuple[str, str | None]] = [
        ("--label-studio-bin", str(explicit) if explicit else None),
        (BIN_ENV, os.environ.get(BIN_ENV)),
        ("PATH", shutil.which("label-studio")),
        ("repository", str(project_root() / ".venv-labelstudio" / "bin" / "label-studio")),
        ("repository", str(installed_root() / ".venv-labelstudio" / "bin" / "label-studio")),
    ]
    for origin, candidate in candidates:
        if not candidate:
            continue
        path = Path(candidate).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return path
        if origin in ("--label-studio-bin", BIN_ENV):
            raise ConfigError(f"{origin} names {path}, which is not an executable file. {INSTALL_HINT}")
    raise ConfigError(INSTALL_HINT)


def label_studio_version(executable: Path) -> str:
    """The installed label-studio version, read from the package metadata next to the executable."""
    for dist_info in sorted(
        executable.resolve().parent.parent.glob("lib/python*/site-packages/label_studio-*.dist-info")
    ):
        return dist_info.name.removeprefix("label_studio-").removesuffix(".dist-info")
    return "unknown"


# -- environment and ports -----------------------------------------------------------------------------
def server_environment(
    data_dir: Path, *, username: str, password: str, token: str, allow_local_ml: bool = True
) -> dict[str, str]:
    """A clean environment for the server: nothing leaks in from the caller's shell except PATH/HOME/locale."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "TMPDIR", "SYSTEMROOT") if key in os.environ}
    env.update(
        {
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir),
            "LABEL_STUDIO_USERNAME": username,
            "LABEL_STUDIO_PASSWORD": password,
            "LABEL_STUDIO_USER_TOKEN": token,
            "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
            "SENTRY_DSN": "",
            "FRONTEND_SENTRY_DSN": "",
            "COLLECT_ANALYTICS": "false",
            "LATEST_VERSION_CHECK": "false",
        }
    )
    if allow_local_ml:
        # `framing ls serve` runs the ML backend on 127.0.0.1, which Label Studio blocks by default
        env.update({"ML_BLOCK_LOCAL_IP": "false", "SSRF_PROTECTION_ENABLED": "false"})
    return env


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # like a server does, so that connections of a killed server still in TIME_WAIT do not count
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(preferred: int = DEFAULT_PORT, tries: int = 50) -> int:
    for port in range(preferred, preferred + tries):
        if port_is_free(port):
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def process_alive(pid: int | None) -> bool:
    """Whether ``pid`` is a running Label Studio process (not merely some process that reused the id)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists():
        try:
            arguments = cmdline.read_bytes().split(b"\0")
        except OSError:
            return False
        return any(Path(os.fsdecode(argument)).name == "label-studio" for argument in arguments)
    return True


# -- start / stop ----------------------------------------------------------------------------------------
def start_server(
    *,
    port: int | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    label_studio_bin: str | os.PathLike[str] | None = None,
    token: str | None = None,
    password: str | None = None,
    username: str | None = None,
    timeout: float = 300.0,
    allow_local_ml: bool = True,
) -> ServerInfo:
    """Start a local server, or reuse the one the config file names when it is still healthy."""
    config_file = config_path()
    saved = read_local_config(config_file)
    running = saved.get("url") and (process_alive(saved.get("pid")) or check_health(saved["url"]))
    if running:
        _refuse_a_second_server(saved, port, data_dir)
        if process_alive(saved.get("pid")) and not check_health(saved["url"]):  # still starting up
            deadline = time.monotonic() + timeout
            while not check_health(saved["url"]) and time.monotonic() < deadline and process_alive(saved.get("pid")):
                time.sleep(0.5)
        if check_health(saved["url"]):
            return _info(saved, reused=True, config_file=config_file)
    executable = find_label_studio(label_studio_bin or saved.get("label_studio_bin"))
    data = Path(data_dir or saved.get("data_dir") or project_root() / ".framing" / "labelstudio-data").resolve()
    existing_db = (data / "label_studio.sqlite3").exists()
    same_dir = saved.get("data_dir") and Path(saved["data_dir"]).resolve() == data
    token = token or (saved.get("token") if same_dir else None)
    if existing_db and not token:
        raise ServerError(
            f"{data} already holds a Label Studio database, but its API token is unknown ({config_file} does not "
            "describe it): give its token with LABEL_STUDIO_API_KEY and --url, or choose another --data-dir"
        )
    token = token or secrets.token_hex(20)
    username = username or (saved.get("username") if same_dir else None) or DEFAULT_USERNAME
    password = password or (saved.get("password") if same_dir else None) or secrets.token_urlsafe(12)
    if port is None:
        port = free_port(saved.get("port") or DEFAULT_PORT)
    elif not port_is_free(port):
        raise ServerError(f"port {port} is in use on 127.0.0.1: choose another with --port")
    make_private(data)
    log_file = data / "server.log"
    command = [
        str(executable), "start", "--no-browser", "--internal-host", "127.0.0.1", "--port", str(port),
        "--data-dir", str(data), "--enable-legacy-api-token",
    ]  # fmt: skip
    with os.fdopen(os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as log:
        process = subprocess.Popen(
            command,
            env=server_environment(
                data, username=username, password=password, token=token, allow_local_ml=allow_local_ml
            ),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=data,
            start_new_session=True,  # survives the CLI process; its pid is the server itself
            umask=0o077,  # the database it creates holds the API token
        )
    url = f"http://127.0.0.1:{port}"
    record = {
        "url": url, "port": port, "pid": process.pid, "data_dir": str(data), "username": username,
        "password": password, "token": token, "label_studio_bin": str(executable), "log_file": str(log_file),
    }  # fmt: skip
    write_local_config(record, config_file)
    if os.environ.get(CONFIG_ENV):  # an explicit config file (tests, several servers): not the user's server
        _point_data_dir_at(config_file, data)
    else:
        remember_server(config_file, data)
    _wait_healthy(url, process, log_file, timeout, secrets_=(token, password))
    _check_token(url, token)
    return _info(record, reused=False, config_file=config_file)


def make_private(data: Path) -> None:
    """Create ``data`` (mode 700) and make what a server left there readable by the user only: the SQLite
    database holds the API token, the log holds request details."""
    data.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(data, 0o700)
    for path in data.iterdir():
        if path.is_file() and not path.is_symlink():
            os.chmod(path, 0o600)
        elif path.is_dir() and not path.is_symlink():
            os.chmod(path, 0o700)


def _point_data_dir_at(config_file: Path, data: Path) -> None:
    from pipeline.labelstudio.client import SERVER_POINTER

    write_local_config({"config_file": str(Path(config_file).resolve())}, data / SERVER_POINTER)


def _refuse_a_second_server(saved: dict, port: int | None, data_dir: str | os.PathLike[str] | None) -> None:
    """One data directory, one server: asking for another port or directory while one runs is an error."""
    other_port = port is not None and port != saved.get("port")
    other_dir = data_dir is not None and Path(data_dir).resolve() != Path(saved.get("data_dir") or ".").resolve()
    if other_port or other_dir:
        raise ServerError(
            f"a local Label Studio server is already running at {saved['url']} (data {saved.get('data_dir')}); "
            "stop it with `framing ls down` first, or point FRAMING_LS_CONFIG at another config file"
        )


def _wait_healthy(
    url: str, process: subprocess.Popen[bytes], log_file: Path, timeout: float, secrets_: tuple[str, ...]
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerError(
                f"Label Studio exited with status {process.returncode} while starting; last lines of {log_file}:\n"
                + scrub(_tail(log_file), *secrets_)
            )
        if check_health(url, timeout=2.0):
            return
        time.sleep(0.5)
    raise ServerError(f"Label Studio did not become healthy at {url} within {timeout:.0f} s; see {log_file}")


def _check_token(url: str, token: str) -> None:
    import httpx

    response = httpx.get(url + "/api/current-user/whoami", headers={"Authorization": f"Token {token}"}, timeout=10)
    if response.status_code == 401:
        raise ServerError(
            f"the server at {url} rejects the saved API token (legacy tokens must be enabled when the data "
            "directory is first created); start with a fresh --data-dir"
        )


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _info(record: dict, *, reused: bool, config_file: Path) -> ServerInfo:
    return ServerInfo(
        url=record["url"],
        port=int(record.get("port") or 0),
        pid=record.get("pid"),
        data_dir=Path(record.get("data_dir") or "."),
        username=record.get("username") or DEFAULT_USERNAME,
        reused=reused,
        config_file=config_file,
    )


@dataclass(frozen=True)
class Stopped:
    """What ``stop_server`` found: the config file it read and the server it names (``stopped``: whether a
    running server was stopped)."""

    config_file: Path
    stopped: bool
    url: str | None = None
    pid: int | None = None
    data_dir: str | None = None


def stop_server(timeout: float = 20.0, data_dir: str | os.PathLike[str] | None = None) -> Stopped:
    """Stop the local server the config file names (found from any working directory, see
    ``client.config_path``; ``data_dir`` picks the server of that data directory)."""
    config_file = config_path(data_dir)
    saved = read_local_config(config_file)
    pid = saved.get("pid")
    found = Stopped(config_file, False, saved.get("url"), pid, saved.get("data_dir"))
    if not process_alive(pid):
        if saved.get("pid"):
            write_local_config({**saved, "pid": None}, config_file)
        return found
    stop_process(pid, timeout)
    write_local_config({**saved, "pid": None}, config_file)
    return Stopped(config_file, True, saved.get("url"), pid, saved.get("data_dir"))


def stop_process(pid: int, timeout: float = 20.0) -> None:
    """SIGTERM the server's process group, then SIGKILL it if it is still there after ``timeout``."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        except PermissionError:
            os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                finished, _ = os.waitpid(pid, os.WNOHANG)  # reap it when it is our child
            except ChildProcessError:
                finished = 0
                if not _exists(pid):
                    return
            if finished == pid:
                return
            time.sleep(0.2)
    raise ServerError(f"Label Studio (pid {pid}) did not stop")


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat_file = Path(f"/proc/{pid}/stat")
    if stat_file.exists():  # a zombie is gone for our purposes
        try:
            return stat_file.read_text().split(") ")[-1][:1] != "Z"
        except OSError:
            return False
    return True
