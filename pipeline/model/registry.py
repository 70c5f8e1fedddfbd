"""The models folder: which model versions exist and which one is current (``models/CURRENT``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import ConfigError
from pipeline.model.store import META_FILE, ModelMeta, read_meta

REPO_ROOT = Path(__file__).resolve().parents[2]
CURRENT_FILE = "CURRENT"


def models_dir() -> Path:
    return Path(os.environ.get("FRAMING_MODELS_DIR", REPO_ROOT / "models"))


@dataclass(frozen=True)
class ModelEntry:
    path: Path
    meta: ModelMeta
    current: bool


def current_model_dir(root: Path | None = None) -> Path:
    """The model used when none is named: ``$FRAMING_MODEL``, else the folder named in ``models/CURRENT``."""
    named = os.environ.get("FRAMING_MODEL")
    if named and root is None:
        return Path(named)
    root = root or models_dir()
    pointer = root / CURRENT_FILE
    if not pointer.is_file():
        raise ConfigError(f"no model given and no current model: {pointer} is missing (train one with `framing train`)")
    return root / pointer.read_text(encoding="utf-8").strip()


def set_current(model_dir: Path, root: Path | None = None) -> None:
    root = (root or models_dir()).resolve()
    model_dir = Path(model_dir).resolve()
    read_meta(model_dir)  # refuse anything that is not a model directory
    try:
        relative = model_dir.relative_to(root)
    except ValueError:  # a version kept elsewhere (`framing retrain --out DIR`) is named by its absolute path
        relative = model_dir
    temporary = root / (CURRENT_FILE + ".tmp")
    temporary.write_text(str(relative) + "\n", encoding="utf-8")
    temporary.replace(root / CURRENT_FILE)


def list_models(root: Path | None = None) -> list[ModelEntry]:
    root = root or models_dir()
    try:
        current = current_model_dir(root).resolve()
    except ConfigError:
        current = None
    entries = []
    for meta_file in sorted(root.glob(f"*/{META_FILE}")):
        meta = read_meta(meta_file.parent)
        entries.append(ModelEntry(meta_file.parent, meta, meta_file.parent.resolve() == current))
    return sorted(entries, key=lambda e: (e.meta.created_at or "", e.meta.version))
