"""CSV and TSV input, streamed: the first row names the columns, each further row is one document.

Quoted fields may hold newlines (kept exactly as written, ``\\r\\n`` included). A malformed row (bad
quoting, the wrong number of fields, invalid UTF-8) is reported with the line it starts on and skipped; the
rows after it are still read. Python's csv field size limit is raised so that long documents fit.

Memory: the csv module builds each field in a buffer of 4-byte characters and keeps that buffer, so a
20 MB document in a CSV costs about 10 times its size while it is read (JSONL and text files: about 3).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import BinaryIO

from pipeline.document import Document
from pipeline.errors import InputError
from pipeline.io.decode import REPLACE_HINT, InvalidUTF8, binary_lines, decode_utf8
from pipeline.io.fields import FieldOptions
from pipeline.io.problems import ErrorReport

FIELD_SIZE_LIMIT = 2**31 - 1


def read_delimited(
    stream: BinaryIO,
    source: str,
    delimiter: str,
    options: FieldOptions,
    decode_errors: str,
    report: ErrorReport,
) -> Iterator[Document]:
    lines = _Lines(stream, source, decode_errors, report)
    reader = _reader(lines, delimiter)
    header = _header(reader, lines, source)
    if header is None:
        report.warning(source, "empty file: no header row and no records")
        return
    try:
        fields = options.resolve(header, where=f"{source}:1")
    except InputError as error:
        raise InputError(f"{error}{delimiter_hint(header, delimiter)}") from None

    last = reader.line_num
    while True:
        first = last + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            last = reader.line_num
            lines.take_invalid(first, last)
            report.error(source, f"malformed record: {error}{_until(first, last)}", line=first)
            continue
        last = reader.line_num
        invalid = lines.take_invalid(first, last)
        if invalid:
            byte, bad = invalid[0]
            message = f"invalid UTF-8 at byte {byte} of the file: {bad!r}; {REPLACE_HINT}"
            report.error(source, message, line=first, byte=byte)
            continue
        if not row:
            continue  # a blank line
        if len(row) != len(header):
            expected = f"expected {len(header)} fields ({', '.join(header)}), found {len(row)}"
            report.error(source, f"malformed record: {expected}{_until(first, last)}", line=first)
            continue
        document = fields.to_document(dict(zip(header, row, strict=True)), report, source, line=first)
        if document is not None:
            yield document


def delimiter_hint(columns: list[str], delimiter: str) -> str:
    """A hint to pass ``--delimiter`` when a header read with ``delimiter`` looks split by another one."""
    if len(columns) != 1:
        return ""
    for candidate in (",", ";", "\t", "|"):
        if candidate != delimiter and candidate in columns[0]:
            return (f"; the header is one column when split at {delimiter!r}, but holds {candidate!r}: "
                    f"is the delimiter {candidate!r}? pass --delimiter {_shell_quote(candidate)}")
    return ""


def _shell_quote(character: str) -> str:
    return "$'\\t'" if character == "\t" else f"'{character}'"


def delimited_header(stream: BinaryIO, source: str, delimiter: str) -> list[str] | None:
    """The column names of a CSV/TSV file (None when it is empty), to check options before reading."""
    lines = _Lines(stream, source, "strict", ErrorReport())
    return _header(_reader(lines, delimiter), lines, source)


def _reader(lines: Iterator[str], delimiter: str) -> Iterator[list[str]]:
    if csv.field_size_limit() < FIELD_SIZE_LIMIT:
        csv.field_size_limit(FIELD_SIZE_LIMIT)
    return csv.reader(lines, delimiter=delimiter, strict=True)


def _header(reader: Iterator[list[str]], lines: _Lines, source: str) -> list[str] | None:
    try:
        header = next(reader)
    except StopIteration:
        return None
    except csv.Error as error:
        raise InputError(f"{source}:1: malformed header row: {error}") from None
    if lines.invalid:
        byte, bad = next(iter(lines.invalid.values()))
        raise InputError(f"{source}:1: invalid UTF-8 in the header row at byte {byte}: {bad!r}")
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise InputError(f"{source}:1: duplicate column names: {', '.join(duplicates)}")
    return header


def _until(first: int, last: int) -> str:
    return f" (the record runs to line {last})" if last > first else ""


class _Lines:
    """Decoded lines for the csv module. In strict mode a line with invalid UTF-8 is decoded with
    replacement so that parsing can go on, and remembered, so that the row holding it is reported."""

    def __init__(self, stream: BinaryIO, source: str, decode_errors: str, report: ErrorReport) -> None:
        self._lines = binary_lines(stream)
        self._source = source
        self._decode_errors = decode_errors
        self._report = report
        self.invalid: dict[int, tuple[int, bytes]] = {}  # line number -> (byte offset in file, bad bytes)

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        number, offset, raw = next(self._lines)
        strip_bom = number == 1
        try:
            line, bad = decode_utf8(raw, errors=self._decode_errors, strip_bom=strip_bom, offset=offset)
        except InvalidUTF8 as error:
            self.invalid[number] = (error.byte, error.bad)
            line, _ = decode_utf8(raw, errors="replace", strip_bom=strip_bom)
            return line
        if bad is not None:
            message = f"invalid UTF-8 replaced with U+FFFD (at byte {bad})"
            self._report.warning(self._source, message, line=number, byte=bad)
        return line

    def take_invalid(self, first: int, last: int) -> list[tuple[int, bytes]]:
        """Forget and return the invalid bytes found on lines ``first`` to ``last``."""
        if not self.invalid:
            return []
        return [self.invalid.pop(n) for n in sorted(self.invalid) if first <= n <= last]
