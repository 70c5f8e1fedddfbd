"""``read_documents``: any supported input, streamed as Documents, with per-record problems reported.

The format of each source comes from ``input_format`` or else from the path: a directory is a folder of text
files, or a Hugging Face dataset when it holds ``dataset_info.json``/``dataset_dict.json``; ``.jsonl`` and
``.ndjson`` are JSON Lines, ``.csv`` and ``.tsv`` delimited text, ``.parquet`` and ``.pq`` Parquet, and any
other file is plain text. ``-`` is standard input: plain text (one document) unless a format is given.
A UTF-16 or UTF-32 byte order mark selects that encoding, in every format that is read as text.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from pipeline.document import Document
from pipeline.errors import ConfigError, InputError
from pipeline.io.arrow import check_hf_columns, open_parquet, read_hf_dataset, read_parquet
from pipeline.io.decode import DECODE_ERRORS, bom_encoding, transcoded_lines
from pipeline.io.delimited import delimited_header, delimiter_hint, read_delimited
from pipeline.io.fields import FieldOptions
from pipeline.io.jsonl import first_record_fields, read_jsonl
from pipeline.io.problems import ErrorReport, SeenIds
from pipeline.io.text import iter_text_files, read_text_directory, read_text_file, read_text_stream

FORMATS = ("text", "jsonl", "csv", "tsv", "parquet", "hf")
EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
HF_MARKERS = ("dataset_info.json", "dataset_dict.json")
STDIN = "-"
DELIMITERS = {"csv": ",", "tsv": "\t"}


@dataclass(frozen=True)
class _Source:
    path: Path | None  # None: standard input
    format: str
    delimiter: str | None = None  # csv/tsv: None for the format's own

    @property
    def name(self) -> str:
        return "<stdin>" if self.path is None else str(self.path)

    def check(self, options: FieldOptions) -> int | None:
        """Check that the fields chosen exist, before anything is read, where that is cheap (not for standard
        input); return the number of documents when that is cheap to know too (a progress bar's total)."""
        path, fmt = self.path, self.format
        if path is None:
            return 1 if fmt == "text" else None
        if fmt == "text":
            return sum(1 for _ in iter_text_files(path)) if path.is_dir() else 1
        if fmt == "parquet":
            parquet = open_parquet(path)
            options.resolve(parquet.schema_arrow.names, where=self.name)
            return parquet.metadata.num_rows
        if fmt == "hf":
            return check_hf_columns(path, options)
        with _open_binary(path) as stream:
            lines = _lines(stream, self.name, "replace")
            if fmt == "jsonl":
                columns = first_record_fields(lines)
            else:
                columns = delimited_header(lines, self.name, self.column_delimiter)
        if columns is not None:
            try:
                options.resolve(columns, where=f"{self.name}:1")
            except InputError as error:
                if fmt == "jsonl":
                    raise
                raise InputError(f"{error}{delimiter_hint(columns, self.column_delimiter)}") from None
        return None

    @property
    def column_delimiter(self) -> str:
        return self.delimiter or DELIMITERS[self.format]


class DocumentStream(Iterator[Document]):
    """An iterator of Documents that also knows ``total`` (the number to expect, or None when unknown)."""

    def __init__(self, documents: Iterator[Document], total: int | None) -> None:
        self._documents = documents
        self.total = total

    def __next__(self) -> Document:
        return next(self._documents)


def read_documents(
    sources: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    input_format: str | None = None,
    id_field: str | None = None,
    text_field: str | None = None,
    metadata_fields: Iterable[str] | None = None,
    decode_errors: str = "strict",
    errors: ErrorReport | None = None,
    delimiter: str | None = None,
) -> DocumentStream:
    """Stream Documents from ``sources`` (paths, ``-`` for standard input), in order.

    Per-record problems go to ``errors`` and the record is skipped (or kept and flagged, for empty
    documents); without ``errors`` the first bad record raises InputError. Problems with a whole source
    (it does not exist, its format is unknown, it has no text column) raise InputError before any document
    is read (standard input, which can be read only once, is checked as it is read). ``delimiter`` replaces
    the column delimiter of CSV and TSV sources.
    """
    if input_format is not None and input_format not in FORMATS:
        raise ConfigError(f"unknown input format {input_format!r}; choose one of: {', '.join(FORMATS)}")
    if decode_errors not in DECODE_ERRORS:
        raise ConfigError(
            f"unknown decode_errors {decode_errors!r}; choose one of: {', '.join(DECODE_ERRORS)}"
        )
    if isinstance(sources, str | os.PathLike):
        sources = [sources]
    if delimiter is not None and len(delimiter) != 1:
        raise ConfigError(f"the delimiter must be one character, got {delimiter!r}")
    plan = [_resolve(source, input_format, delimiter) for source in sources]
    if not plan:
        raise InputError("no input given")
    options = FieldOptions(
        id_field, text_field, None if metadata_fields is None else tuple(metadata_fields), decode_errors
    )
    report = errors if errors is not None else ErrorReport(raise_errors=True)
    if report.ids is None:
        report.ids = SeenIds()
    counts = [source.check(options) for source in plan]
    total = None if None in counts else sum(counts)  # type: ignore[arg-type]
    return DocumentStream(_read_all(plan, options, decode_errors, report), total)


def _resolve(source: str | os.PathLike[str], input_format: str | None, delimiter: str | None = None) -> _Source:
    if os.fspath(source) == STDIN:
        if input_format in ("parquet", "hf"):
            raise InputError(f"{input_format} input cannot come from standard input: give a path")
        return _Source(None, input_format or "text", delimiter)
    path = Path(source)
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    if path.is_dir():
        is_hf = any((path / marker).is_file() for marker in HF_MARKERS)
        detected = "hf" if is_hf else "text"
        if input_format not in (None, "text", "hf"):
            raise InputError(
                f"{path}: a directory can be read as text files or a Hugging Face dataset, not {input_format}"
            )
        if input_format == "hf" and not is_hf:
            raise InputError(f"{path}: not a dataset saved with save_to_disk (no {' or '.join(HF_MARKERS)})")
        return _Source(path, input_format or detected)
    if input_format == "hf":
        raise InputError(
            f"{path}: a Hugging Face dataset is a directory (saved with save_to_disk), not a file"
        )
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: not readable (permission denied)")
    if input_format is None and path.suffix.lower() == ".json":
        raise InputError(
            f"{path}: cannot tell the format of a .json file; if it holds one object per line, "
            "pass --format jsonl"
        )
    return _Source(path, input_format or EXTENSIONS.get(path.suffix.lower(), "text"), delimiter)


def _read_all(
    plan: list[_Source], options: FieldOptions, decode_errors: str, report: ErrorReport
) -> Iterator[Document]:
    for source in plan:
        for document in _read_one(source, options, decode_errors, report):
            report.documents += 1
            yield document


def _read_one(
    source: _Source, options: FieldOptions, decode_errors: str, report: ErrorReport
) -> Iterator[Document]:
    path, fmt = source.path, source.format
    if fmt == "parquet":
        yield from read_parquet(path, options, report)
    elif fmt == "hf":
        yield from read_hf_dataset(path, options, report)
    elif fmt == "text" and path is not None and path.is_dir():
        yield from read_text_directory(path, decode_errors, report)
    elif fmt == "text" and path is not None:
        document = read_text_file(path, path.name, decode_errors, report)
        if document is not None:
            yield document
    else:
        with _open_binary(path) as stream:
            if fmt == "text":
                document = read_text_stream(stream, decode_errors, report)
                if document is not None:
                    yield document
            elif fmt == "jsonl":
                yield from read_jsonl(_lines(stream, source.name, decode_errors), source.name, options,
                                      decode_errors, report)
            else:
                yield from read_delimited(_lines(stream, source.name, decode_errors), source.name,
                                          source.column_delimiter, options, decode_errors, report)


def _lines(stream: BinaryIO, name: str, decode_errors: str) -> BinaryIO | Iterator[bytes]:
    """``stream`` itself, or its lines transcoded to UTF-8 when it starts with a UTF-16/UTF-32 mark."""
    head = stream.peek(4)[:4] if hasattr(stream, "peek") else b""
    bom = bom_encoding(head)
    if bom is None:
        return stream
    return transcoded_lines(stream, *bom, decode_errors, name)


@contextmanager
def _open_binary(path: Path | None) -> Iterator[BinaryIO]:
    """A binary stream for ``path``, or standard input (left open) for None."""
    if path is None:
        yield sys.stdin.buffer
        return
    try:
        stream = open(path, "rb")
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror or error}") from None
    with stream:
        yield stream
