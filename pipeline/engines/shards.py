"""Input shards: the unit of work of a cluster run, planned on the driver and read on any worker.

A shard is a file, or a fixed-size slice of one: ``shard_size`` lines of a JSON Lines file (cut at line starts,
found by one pass over the bytes), whole row groups of a Parquet file adding up to about ``shard_size`` rows,
or ``shard_size`` files of a folder of text files. CSV/TSV files (a quoted field may span lines), text files,
UTF-16/32 JSON Lines and Hugging Face datasets are one shard each. Inputs are what ``framing annotate`` reads,
plus globs (``data/*.parquet``) and folders of JSON Lines, CSV or Parquet files (read file by file).

Reading a shard uses the readers of :mod:`pipeline.io`, so a shard's documents and problems (with file, line
and record) are the ones the local engine reads; only a duplicate id in two different shards is found later,
by the driver (see :mod:`pipeline.engines.ray`).
"""

from __future__ import annotations

import glob
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipeline.document import Document
from pipeline.errors import ConfigError, InputError
from pipeline.io import ErrorReport, Problem, read_documents
from pipeline.io.arrow import open_parquet, read_parquet
from pipeline.io.decode import bom_encoding, first_surrogate, printable
from pipeline.io.fields import FieldOptions, ReadOptions
from pipeline.io.jsonl import first_record_fields, read_jsonl
from pipeline.io.problems import SeenIds
from pipeline.io.read import EXTENSIONS, HF_MARKERS
from pipeline.io.text import iter_text_files, read_text_file

GLOB_CHARACTERS = "*?["


@dataclass(frozen=True)
class Shard:
    """One unit of work. ``kind``: ``jsonl`` (lines from byte ``start`` to ``stop``, the first being line
    ``first``), ``parquet`` (row groups ``start`` to ``stop``, the first row being record ``first``),
    ``texts`` (``files`` under the folder ``path``), or ``file`` (the whole input, read as the local engine
    reads it)."""

    id: str
    kind: str
    path: str
    start: int = 0
    stop: int | None = None
    first: int = 1
    files: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["files"] = list(self.files)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Shard:
        return cls(**{**data, "files": tuple(data.get("files") or ())})

    @property
    def name(self) -> str:
        """For messages: the input and the part of it."""
        if self.kind == "jsonl" and (self.start or self.stop is not None):
            return f"{self.path} (from line {self.first})"
        if self.kind == "parquet" and (self.start or self.stop is not None):
            return f"{self.path} (from record {self.first})"
        if self.kind == "texts":
            return f"{self.path} ({len(self.files)} files from {self.files[0] if self.files else '-'})"
        return self.path


def plan_shards(paths: list[str], options: ReadOptions, shard_size: int) -> list[Shard]:
    """The shards of ``paths``, in input order. Problems with a whole input (missing, unknown format, no text
    field) raise InputError here, before any work, with the local engine's messages."""
    if shard_size < 1:
        raise ConfigError(f"the shard size must be at least 1, got {shard_size}")
    sources: list[tuple[str, str]] = []  # (path, what: "texts" | "hf" | "file")
    for argument in paths:
        if argument == "-":
            raise InputError("the Ray engine cannot read standard input (its workers read the inputs): give a path")
        for path in _expand(argument):
            sources.extend(_sources_of(path, options))
    files = [path for path, what in sources if what in ("file", "hf")]
    if files:  # the local engine's checks: formats, fields, readable files (nothing is read yet)
        read_documents(files, **_reader_arguments(options), errors=ErrorReport())
    shards: list[Shard] = []
    for path, what in sources:
        for kind, extra in _slices(path, what, options, shard_size):
            shards.append(Shard(f"{len(shards):05d}", kind, path, **extra))
    if not shards:
        raise InputError("no input given")
    return shards


def _expand(argument: str) -> list[str]:
    if os.path.exists(argument) or not any(c in argument for c in GLOB_CHARACTERS):
        return [argument]
    matches = sorted(glob.glob(argument, recursive=True))
    if not matches:
        raise InputError(f"{argument}: no file matches this pattern")
    return matches


def _sources_of(path: str, options: ReadOptions) -> list[tuple[str, str]]:
    """A folder of record files becomes its files; a text folder or a dataset stays whole."""
    location = Path(path)
    if not location.is_dir():
        return [(str(location.resolve()) if location.exists() else path, "file")]
    if any((location / marker).is_file() for marker in HF_MARKERS) or options.input_format == "hf":
        return [(str(location.resolve()), "hf")]
    listed = list(iter_text_files(location))
    record_format = options.input_format not in (None, "text")
    if listed and (record_format or all(p.suffix.lower() in EXTENSIONS for p in listed)):
        return [(str(p.resolve()), "file") for p in listed]
    return [(str(location.resolve()), "texts")]


def _slices(path: str, what: str, options: ReadOptions, shard_size: int):
    if what == "texts":
        root = Path(path)
        names = [p.relative_to(root).as_posix() for p in iter_text_files(root)]
        for begin in range(0, len(names), shard_size):
            yield "texts", {"files": tuple(names[begin : begin + shard_size])}
        return
    if what == "hf":
        yield "file", {}
        return
    fmt = options.input_format or EXTENSIONS.get(Path(path).suffix.lower(), "text")
    if fmt == "jsonl":
        yield from _jsonl_slices(Path(path), shard_size)
    elif fmt == "parquet":
        yield from _parquet_slices(Path(path), shard_size)
    else:
        yield "file", {}


def _jsonl_slices(path: Path, shard_size: int):
    with open(path, "rb") as stream:
        if bom_encoding(stream.read(4)) is not None:  # UTF-16/32: not cut at bytes
            yield "file", {}
            return
        stream.seek(0)
        start, first, lines, offset = 0, 1, 0, 0
        for line in stream:
            offset += len(line)
            lines += 1
            if lines == shard_size:
                yield "jsonl", {"start": start, "stop": offset, "first": first}
                start, first, lines = offset, first + shard_size, 0
        if lines or start == 0:
            yield "jsonl", {"start": start, "stop": None, "first": first}


def _parquet_slices(path: Path, shard_size: int):
    metadata = open_parquet(path).metadata
    begin, rows, record = 0, 0, 1
    for group in range(metadata.num_row_groups):
        rows += metadata.row_group(group).num_rows
        if rows >= shard_size:
            yield "parquet", {"start": begin, "stop": group + 1, "first": record}
            begin, record, rows = group + 1, record + rows, 0
    if rows or begin == 0:
        yield "parquet", {"start": begin, "stop": metadata.num_row_groups, "first": record}


def _reader_arguments(options: ReadOptions) -> dict[str, Any]:
    return {
        "input_format": options.input_format, "id_field": options.id_field, "text_field": options.text_field,
        "metadata_fields": options.metadata_fields, "decode_errors": options.encoding_errors,
        "delimiter": options.delimiter,
    }


def read_shard(shard: Shard, options: ReadOptions) -> tuple[list[Document], list[Problem], int]:
    """The documents of one shard, the problems found reading it, and the number of documents read."""
    report = ErrorReport()
    report.ids = SeenIds()
    documents = list(_documents(shard, options, report))
    return documents, list(report.problems), len(documents)


def _documents(shard: Shard, options: ReadOptions, report: ErrorReport):
    fields = options.field_options()
    if shard.kind == "texts":
        root = Path(shard.path)
        for name in shard.files:
            path = root / name
            if first_surrogate(name) is not None:  # as pipeline.io.text.read_text_directory says it
                report.error(printable(str(path)), "skipped: the file name is not valid UTF-8, so it cannot be a "
                             f"document id ({os.fsencode(name)!r}); rename the file")
                continue
            document = read_text_file(path, name, options.encoding_errors, report)
            if document is not None:
                yield document
    elif shard.kind == "jsonl":
        with open(shard.path, "rb") as stream:
            stream.seek(shard.start)
            chosen = _first_record_fields(stream, shard.path, fields) if shard.start else None
            stream.seek(shard.start)
            yield from read_jsonl(_lines_until(stream, shard.start, shard.stop), shard.path, fields,
                                  options.encoding_errors, report, first_line=shard.first, first_byte=shard.start,
                                  fields=chosen)
    elif shard.kind == "parquet":
        yield from read_parquet(Path(shard.path), fields, report, row_groups=list(range(shard.start, shard.stop)),
                                first_record=shard.first)
    else:
        yield from read_documents([shard.path], **_reader_arguments(options), errors=report)


def _first_record_fields(stream, path: str, options: FieldOptions):
    """The fields the whole file is read with (chosen from its first record), or None when it has none."""
    stream.seek(0)
    columns = first_record_fields(stream)
    return None if columns is None else options.resolve(columns, where=f"{path}:1")


def _lines_until(stream, offset: int, stop: int | None):
    for line in stream:
        if stop is not None and offset >= stop:
            return
        offset += len(line)
        yield line
