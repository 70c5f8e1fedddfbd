"""JSON Lines input: one JSON object per line, read and decoded one line at a time.

A line that is not valid UTF-8 or not a JSON object is reported with its line number and skipped; blank lines
are ignored. The fields are chosen from the first record (a first record without a text field is fatal,
since every record would fail the same way); a later record without it is reported and skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import BinaryIO

from pipeline.document import Document
from pipeline.io.decode import REPLACE_HINT, InvalidUTF8, binary_lines, decode_utf8
from pipeline.io.fields import FieldMap, FieldOptions
from pipeline.io.problems import ErrorReport

TOO_DEEP = "invalid JSON: nested too deeply (arrays or objects inside each other thousands of levels deep)"


def read_jsonl(
    stream: BinaryIO, source: str, options: FieldOptions, decode_errors: str, report: ErrorReport,
    *, first_line: int = 1, first_byte: int = 0, fields: FieldMap | None = None,
) -> Iterator[Document]:
    """Documents of ``stream``. When it is a slice of ``source``, ``first_line`` and ``first_byte`` say where it
    starts (so that problems are located in the whole file) and ``fields`` are those of the file's first record."""
    for number, offset, raw in binary_lines(stream, first_line=first_line, first_byte=first_byte):
        try:
            line, bad = decode_utf8(raw, errors=decode_errors, strip_bom=number == 1, offset=offset)
        except InvalidUTF8 as error:
            message = f"invalid UTF-8 at byte {error.byte} of the file: {error.bad!r}; {REPLACE_HINT}"
            report.error(source, message, line=number, byte=error.byte)
            continue
        if bad is not None:
            report.warning(
                source, f"invalid UTF-8 replaced with U+FFFD (at byte {bad})", line=number, byte=bad
            )
        del raw  # only the parsed record stays in memory while its document is in use
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            report.error(source, f"invalid JSON: {error.msg} (column {error.colno})", line=number)
            continue
        except RecursionError:
            report.error(source, TOO_DEEP, line=number)
            continue
        finally:
            del line
        if not isinstance(record, dict):
            report.error(source, f"expected a JSON object, got {_json_type(record)}", line=number)
            continue
        if fields is None:
            fields = options.resolve(list(record), where=f"{source}:{number}")
        document = fields.to_document(record, report, source, line=number)
        if document is not None:
            yield document


def first_record_fields(stream: BinaryIO) -> list[str] | None:
    """The fields of the first record, to check options before reading; None when there is no readable
    first record (reading reports why, with its line)."""
    for number, _, raw in binary_lines(stream):
        if not raw.strip():
            continue
        try:
            record = json.loads(decode_utf8(raw, strip_bom=number == 1)[0])
        except (InvalidUTF8, json.JSONDecodeError, RecursionError):
            return None
        return list(record) if isinstance(record, dict) else None
    return None


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return f"a {type(value).__name__}"
