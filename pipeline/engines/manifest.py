"""The output folder of a sharded run: one output shard per input shard, and ``manifest.json``.

Exactly once: an output shard is written under a temporary name and renamed when complete, and only then is
the manifest (itself replaced atomically) told that its input shard is done. A rerun skips the shards the
manifest lists as done, so whatever was killed, every document is written once: a shard renamed but not yet
recorded is simply written again under the same name. A rerun whose settings (model version, ``--all-scores``,
``--precision``) or input shards differ from the manifest's is refused, so one folder never mixes two runs.

``manifest.json``: ``settings``, ``model_dir``, ``inputs``, ``shard_size``, ``output_format``, ``complete``,
``records`` (documents written), and ``shards``: per input shard its ``input`` (file and slice), ``output``
(the shard's file name), ``done``, ``records``, ``documents_read``, ``errors``, ``warnings`` and the first
``problems`` found reading it (shown again when a rerun skips it, so the exit status stays the same).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pipeline.batch import _OPTION_NAMES, _shown
from pipeline.engines.shards import Shard
from pipeline.errors import ConfigError
from pipeline.io import open_writer

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
KEPT_PROBLEMS = 100
OUTPUT_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet"}


def output_format(out: Path) -> str:
    """Parquet shards, unless the folder's name ends in ``.jsonl`` or ``.ndjson``."""
    return OUTPUT_FORMATS.get(out.suffix.lower(), "parquet")


class Manifest:
    def __init__(self, out: Path, data: dict[str, Any]) -> None:
        self.out = out
        self.data = data

    @classmethod
    def open(cls, out: Path, *, settings: dict[str, Any], model_dir: str, inputs: list[str], shard_size: int,
             shards: list[Shard]) -> Manifest:
        """The folder's manifest: a new one, or the earlier run's when it is the same run (else refused)."""
        if out.exists() and not out.is_dir():
            raise ConfigError(f"--out {out} is a file; the Ray engine writes a folder of shards: name a folder")
        path = out / MANIFEST
        if path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as error:
                raise ConfigError(f"{path} cannot be read ({error}); move the folder away to start again") from None
            _check_same_run(path, data, settings, [s.to_dict() for s in shards])
            return cls(out, data)
        if out.exists() and any(out.iterdir()):
            raise ConfigError(f"--out {out} is a folder that holds files but no {MANIFEST}; name a new or empty "
                              "folder")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ConfigError(f"--out {out}: cannot write there: {error.strerror or error}") from None
        fmt = output_format(out)
        data = {
            "format_version": FORMAT_VERSION,
            "settings": settings,
            "model_dir": model_dir,
            "inputs": inputs,
            "shard_size": shard_size,
            "output_format": fmt,
            "complete": False,
            "records": 0,
            "shards": [
                {"input": shard.to_dict(), "output": f"part-{shard.id}.{fmt}", "done": False}
                for shard in shards
            ],
        }
        manifest = cls(out, data)
        manifest.save()
        return manifest

    @property
    def shards(self) -> list[dict[str, Any]]:
        return self.data["shards"]

    def entry(self, shard_id: str) -> dict[str, Any]:
        return self.shards[int(shard_id)]

    def pending(self) -> list[Shard]:
        """Input shards not yet done (a done shard whose output has gone is redone)."""
        return [Shard.from_dict(e["input"]) for e in self.shards
                if not (e["done"] and (self.out / e["output"]).exists())]

    def write_shard(self, shard_id: str, records: Iterable[Mapping[str, Any]], *, documents_read: int,
                    problems: list[str], errors: int, warnings: int) -> int:
        """Write one output shard (temporary name, then renamed), then record it; returns the records written."""
        entry = self.entry(shard_id)
        final = self.out / entry["output"]
        temporary = final.with_name(f".{final.stem}.tmp{final.suffix}")
        count = 0
        with open_writer(temporary) as writer:
            for record in records:
                writer.write(record)
                count += 1
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, final)
        entry.update(done=True, records=count, documents_read=documents_read, errors=errors, warnings=warnings,
                     problems=problems[:KEPT_PROBLEMS])
        self.data["records"] = sum(e.get("records", 0) for e in self.shards if e["done"])
        self.data["complete"] = all(e["done"] for e in self.shards)
        self.save()
        return count

    def save(self) -> None:
        path = self.out / MANIFEST
        temporary = path.with_name(f".{MANIFEST}.tmp")
        temporary.write_text(json.dumps(self.data, indent=1) + "\n", encoding="utf-8")
        os.replace(temporary, path)


def _check_same_run(path: Path, data: dict[str, Any], settings: dict[str, Any], shards: list[dict]) -> None:
    recorded = data.get("settings") or {}
    differ = [name for name in settings if name in recorded and recorded[name] != settings[name]]
    if differ:
        then = ", ".join(f"{_OPTION_NAMES[name]} {_shown(recorded[name])}" for name in differ)
        now = ", ".join(f"{_OPTION_NAMES[name]} {_shown(settings[name])}" for name in differ)
        raise ConfigError(f"{path}: that run used {then}; this run has {now}. One output must not mix them: rerun "
                          "with the same options, or name another --out folder")
    if [e["input"] for e in data.get("shards", [])] != shards:
        raise ConfigError(f"{path}: that run read other inputs (or another --shard-size); rerun it with the same "
                          "inputs, or name another --out folder")
