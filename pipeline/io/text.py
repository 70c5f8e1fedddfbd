"""Plain-text inputs: a file is one document; a directory holds one document per file.

In a directory the id is the file's path relative to the directory (``/``-separated); files and folders
whose name starts with ``.`` are ignored. A file that cannot be read as text (binary, invalid UTF-8, a NUL
byte, a name that is not valid UTF-8) is an error, reported and skipped, inside a directory too: a dropped
document always counts. A UTF-16 or UTF-32 byte order mark selects that encoding. A single file's id is its
name. Text read from standard input gets ``stable_id(text)``.
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
    bom_encoding,
    decode_utf8,
    first_surrogate,
    line_and_column,
    looks_binary,
    printable,
)
from pipeline.io.fields import make_document
from pipeline.io.problems import ErrorReport


def read_text_file(
    path: Path, doc_id: str | None, decode_errors: str, report: ErrorReport
) -> Document | None:
    """One document from ``path``, or None after reporting why not (binary, invalid UTF-8, unreadable)."""
    source = printable(str(path))
    try:
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
    bom = bom_encoding(data[:4])
    if bom is not None:
        return _decode_utf16_or_32(data, *bom, doc_id, decode_errors, report, source)
    try:
        text, bad = decode_utf8(data, errors=decode_errors)
    except InvalidUTF8 as error:
        line, column = line_and_column(data, error.byte)
        where = f"at byte {error.byte} (line {line}, column {column}): {error.bad!r}"
        if looks_binary(data[:BINARY_SNIFF_BYTES]):
            message = f"binary file, not text (NUL bytes, and invalid UTF-8 {where}); is --format right?"
        else:
            message = f"invalid UTF-8 {where}; {REPLACE_HINT}"
        report.error(source, message, byte=error.byte)
        return None
    if bad is not None:
        report.warning(source, f"invalid UTF-8 replaced with U+FFFD (first at byte {bad})", byte=bad)
    nul = data.find(b"\x00")
    if nul >= 0:
        line, column = line_and_column(data, nul)
        where = f"at byte {nul} (line {line}, column {column})"
        if decode_errors == "strict":
            report.error(source, f"a NUL byte {where}: a binary file, or text with a stray NUL; {REPLACE_HINT}",
                         byte=nul)
            return None
        text = text.replace("\x00", "\ufffd")
        report.warning(source, f"NUL bytes replaced with U+FFFD (first {where})", byte=nul)
    return make_document(doc_id, text, {}, report, source)


def _decode_utf16_or_32(
    data: bytes, codec: str, mark: int, doc_id: str | None, decode_errors: str, report: ErrorReport, source: str
) -> Document | None:
    """A document from UTF-16 or UTF-32 bytes with a byte order mark; the mark is removed."""
    try:
        text = str(memoryview(data)[mark:], codec)
    except UnicodeDecodeError as error:
        byte = mark + error.start
        if decode_errors == "strict":
            report.error(source, f"invalid {codec.upper()} at byte {byte}: {error.reason}; {REPLACE_HINT}",
                         byte=byte)
            return None
        text = str(memoryview(data)[mark:], codec, "replace")
        report.warning(source, f"invalid {codec.upper()} replaced with U+FFFD (first at byte {byte})", byte=byte)
    if "\x00" in text:
        position = text.index("\x00")
        if decode_errors == "strict":
            report.error(source, f"a NUL character at character {position}, which text does not hold; "
                         + REPLACE_HINT)
            return None
        text = text.replace("\x00", "\ufffd")
        report.warning(source, f"NUL characters replaced with U+FFFD (first at character {position})")
    return make_document(doc_id, text, {}, report, source)


def read_text_directory(root: Path, decode_errors: str, report: ErrorReport) -> Iterator[Document]:
    """Every non-hidden file under ``root``, in sorted order, one directory listing in memory at a time."""
    for path in iter_text_files(root):
        doc_id = path.relative_to(root).as_posix()
        if first_surrogate(doc_id) is not None:  # os.walk decodes undecodable bytes as lone surrogates
            report.error(printable(str(path)), "skipped: the file name is not valid UTF-8, so it cannot be a "
                         f"document id ({os.fsencode(doc_id)!r}); rename the file")
            continue
        document = read_text_file(path, doc_id, decode_errors, report)
        if document is not None:
            yield document


def iter_text_files(root: Path) -> Iterator[Path]:
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(folder, name)
