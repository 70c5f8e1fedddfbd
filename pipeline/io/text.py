"""Plain-text inputs: a file is one document; a directory holds one document per file.

In a directory the id is the file's path relative to the directory (``/``-separated); files and folders
whose name starts with ``.`` are ignored, and binary files are skipped with a warning. A single file's id is
its name. Text read from standard input gets ``stable_id(text)``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from pipeline.document import Document
from pipeline.io.decode import (
    BINARY_SNIFF_BYTES,
    REPLACE_HINT,
    InvalidUTF8,
    decode_utf8,
    line_and_column,
    looks_binary,
)
from pipeline.io.fields import make_document
from pipeline.io.problems import ErrorReport


def read_text_file(
    path: Path, doc_id: str | None, decode_errors: str, report: ErrorReport, *, in_directory: bool = False
) -> Document | None:
    """One document from ``path``, or None after reporting why not (binary, invalid UTF-8, unreadable)."""
    source = str(path)
    try:
        with open(path, "rb") as stream:
            head = stream.read(BINARY_SNIFF_BYTES)
        if looks_binary(head):
            if in_directory:
                report.warning(source, "skipped: binary file (it contains NUL bytes), not text")
            else:
                report.error(source, "binary file (it contains NUL bytes), not text; is --format right?")
            return None
        data = path.read_bytes()
    except OSError as error:
        report.error(source, f"cannot read: {error.strerror or error}")
        return None
    return _decode_document(data, doc_id, decode_errors, report, source)


def read_text_stream(
    stream: BinaryIO, decode_errors: str, report: ErrorReport, source: str = "<stdin>"
) -> Document | None:
    """The whole of ``stream`` as one document, id ``stable_id(text)``."""
    return _decode_document(stream.read(), None, decode_errors, report, source)


def _decode_document(
    data: bytes, doc_id: str | None, decode_errors: str, report: ErrorReport, source: str
) -> Document | None:
    try:
        text, bad = decode_utf8(data, errors=decode_errors)
    except InvalidUTF8 as error:
        line, column = line_and_column(data, error.byte)
        report.error(
            source,
            f"invalid UTF-8 at byte {error.byte} (line {line}, column {column}): {error.bad!r}; "
            + REPLACE_HINT,
            byte=error.byte,
        )
        return None
    if bad is not None:
        report.warning(source, f"invalid UTF-8 replaced with U+FFFD (first at byte {bad})", byte=bad)
    return make_document(doc_id, text, {}, report, source)


def read_text_directory(root: Path, decode_errors: str, report: ErrorReport) -> Iterator[Document]:
    """Every non-hidden file under ``root``, in sorted order, one directory listing in memory at a time."""
    for path in iter_text_files(root):
        document = read_text_file(
            path, path.relative_to(root).as_posix(), decode_errors, report, in_directory=True
        )
        if document is not None:
            yield document


def iter_text_files(root: Path) -> Iterator[Path]:
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(folder, name)
