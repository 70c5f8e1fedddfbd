"""Where the research corpora live: one rule for every command and every data source of a config.

A relative data path is looked up under ``$FRAMING_DATA_ROOT`` first, then relative to the config that names it.
Configs written in this repository name the corpora as ``../shared/data/<corpus>`` relative to themselves; the part
after ``shared/data/`` is what is looked up under the root, so a model directory moved elsewhere (or a config
read from another working directory) still finds them. Without the variable the root is ``../shared/data`` next to
the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_ROOT_ENV = "FRAMING_DATA_ROOT"
REPO_ROOT = Path(__file__).resolve().parents[1]
_MARKER = ("shared", "data")


def data_root() -> Path:
    """``$FRAMING_DATA_ROOT`` when set, else ``../shared/data`` next to the repository."""
    override = os.environ.get(DATA_ROOT_ENV)
    return Path(override).expanduser() if override else REPO_ROOT.parent / "shared" / "data"


def _tail_after_marker(path: Path) -> Path | None:
    parts = path.parts
    for index in range(len(parts) - len(_MARKER), -1, -1):
        if parts[index : index + len(_MARKER)] == _MARKER:
            tail = parts[index + len(_MARKER):]
            return Path(*tail) if tail else Path()
    return None


def resolve_data_path(path: str | os.PathLike[str], base_dir: str | os.PathLike[str]) -> Path:
    """The file or folder a config's data path names (see the module docstring for the rule)."""
    candidate = Path(path).expanduser()
    relative = (Path(base_dir) / candidate).resolve()
    tail = _tail_after_marker(candidate)
    if os.environ.get(DATA_ROOT_ENV):
        root = data_root()
        if tail is not None:
            return root / tail
        if not candidate.is_absolute() and candidate.parts[:1] != ("..",) and (root / candidate).exists():
            return root / candidate
    if candidate.is_absolute():
        return candidate
    if tail is not None and not relative.exists() and (data_root() / tail).exists():
        return data_root() / tail
    return relative


def missing_data_message(kind: str, path: Path) -> str:
    """One clear line for a data path that does not exist, naming the variable that moves the corpora."""
    root = os.environ.get(DATA_ROOT_ENV)
    where = f"${DATA_ROOT_ENV}={root}" if root else f"${DATA_ROOT_ENV} is not set; default {data_root()}"
    return (f"data source {kind}: {path} does not exist ({where}); set {DATA_ROOT_ENV} to the folder that holds "
            "the research corpora (ptc/, semeval2023-task3-en/, semeval2025-task10-en/)")


def canonical_data_path(resolved: Path, written: str | os.PathLike[str]) -> Path:
    """Where a config saved elsewhere should point for a data path written as ``written``: a corpus under the
    data root is named at its default place (``../shared/data/<corpus>`` next to the repository), which
    ``resolve_data_path`` maps to ``$FRAMING_DATA_ROOT`` when that is set; anything else keeps its place."""
    tail = _tail_after_marker(Path(written))
    return resolved if tail is None else REPO_ROOT.parent / "shared" / "data" / tail
