"""Record files, JSON Lines or Parquet by extension: written incrementally, read back as dicts.

JSON Lines: one UTF-8 JSON object per line. Parquet: one column per top-level field, written in row groups
(at most ``ROWS_PER_GROUP`` rows or about ``BYTES_PER_GROUP`` of text each, so memory stays bounded). A
Parquet file has one set of columns, fixed by the first row group; columns whose values are mappings or
lists (``metadata``, ``sentences``, ``spans``: their keys vary from record to record) are stored as JSON
text, listed in the file's schema metadata under ``framing.json_columns``, and :func:`read_records`
decodes them again, so a record reads back exactly as it was written, whatever the format.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.errors import ConfigError, InputError
from pipeline.io.arrow import BATCH_ROWS, open_parquet
from pipeline.io.jsonl import TOO_DEEP

JSONL_EXTENSIONS = (".jsonl", ".ndjson")
PARQUET_EXTENSIONS = (".parquet", ".pq")
JSON_COLUMNS_KEY = b"framing.json_columns"
ROWS_PER_GROUP = 1000
BYTES_PER_GROUP = 64 << 20
STDOUT = "-"


class RecordWriter(Protocol):
    def write(self, record: Mapping[str, Any]) -> None: ...

    def close(self) -> None: ...


def record_format(path: str | os.PathLike[str]) -> str:
    """``"jsonl"`` or ``"parquet"``, from the file's extension."""
    suffix = Path(path).suffix.lower()
    if suffix in JSONL_EXTENSIONS:
        return "jsonl"
    if suffix in PARQUET_EXTENSIONS:
        return "parquet"
    known = ", ".join(JSONL_EXTENSIONS + PARQUET_EXTENSIONS)
    raise ConfigError(f"{path}: unknown record file type {suffix or '(no extension)'!r}; use one of: {known}")


@contextmanager
def open_writer(path: str | os.PathLike[str] | None) -> Iterator[RecordWriter]:
    """A writer with ``.write(record)``, for JSONL or Parquet by ``path``'s extension; ``None`` or ``-`` is
    JSONL on standard output. Parent folders are created. The file is completed even if the block raises,
    so the records written so far are kept."""
    writer: RecordWriter
    if path is None or os.fspath(path) == STDOUT:
        sys.stdout.flush()
        writer = JsonlWriter(sys.stdout.buffer, close=False)
    else:
        path = Path(path)
        fmt = record_format(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            writer = JsonlWriter(open(path, "wb")) if fmt == "jsonl" else ParquetRecordWriter(path)
        except OSError as error:
            raise ConfigError(f"cannot write {path}: {error.strerror or error}") from None
    try:
        yield writer
    finally:
        writer.close()


class JsonlWriter:
    def __init__(self, stream: BinaryIO, *, close: bool = True) -> None:
        self._stream = stream
        self._close = close

    def write(self, record: Mapping[str, Any]) -> None:
        try:
            line = dumps(record).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (from a JSON "\ud800" escape): keep it escaped
            line = json.dumps(record, default=_json_default).encode("ascii")
        self._stream.write(line)
        self._stream.write(b"\n")

    def close(self) -> None:
        if self._close:
            self._stream.close()
        else:
            self._stream.flush()


class ParquetRecordWriter:
    def __init__(
        self, path: Path, *, rows_per_group: int = ROWS_PER_GROUP, bytes_per_group: int = BYTES_PER_GROUP
    ):
        self._path = path
        self._rows_per_group = rows_per_group
        self._bytes_per_group = bytes_per_group
        self._buffer: list[Mapping[str, Any]] = []
        self._buffered_bytes = 0
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        self._json_columns: frozenset[str] = frozenset()

    def write(self, record: Mapping[str, Any]) -> None:
        self._buffer.append(record)
        self._buffered_bytes += 64 + sum(len(value) for value in record.values() if isinstance(value, str))
        if len(self._buffer) >= self._rows_per_group or self._buffered_bytes >= self._bytes_per_group:
            self._flush()

    def close(self) -> None:
        self._flush()
        if self._writer is None:  # no records at all: still leave a valid (empty) file behind
            pq.write_table(pa.table({}), self._path)
        else:
            self._writer.close()

    def _flush(self) -> None:
        if not self._buffer:
            return
        if self._writer is None:
            self._schema = self._infer_schema(self._buffer)
            self._writer = pq.ParquetWriter(self._path, self._schema)
        self._writer.write_table(self._table(self._buffer, self._schema))
        self._buffer = []
        self._buffered_bytes = 0

    def _infer_schema(self, rows: list[Mapping[str, Any]]) -> pa.Schema:
        names = list(dict.fromkeys(name for row in rows for name in row))
        fields, json_columns = [], []
        for name in names:
            values = [row.get(name) for row in rows]
            arrow_type = None
            if not any(isinstance(value, Mapping | list | tuple) for value in values):
                try:
                    arrow_type = pa.infer_type(values)
                except (pa.ArrowInvalid, pa.ArrowTypeError):
                    arrow_type = None
            if arrow_type is None or pa.types.is_null(arrow_type):
                json_columns.append(name)
                arrow_type = pa.string()
            fields.append(pa.field(name, arrow_type))
        self._json_columns = frozenset(json_columns)
        return pa.schema(fields, metadata={JSON_COLUMNS_KEY: json.dumps(json_columns).encode()})

    def _table(self, rows: list[Mapping[str, Any]], schema: pa.Schema) -> pa.Table:
        unknown = sorted({name for row in rows for name in row} - set(schema.names))
        if unknown:
            raise ValueError(
                f"{self._path}: records have field(s) {', '.join(unknown)} that the first records did not "
                "have; a Parquet file has one set of columns"
            )
        arrays = []
        for field in schema:
            values = [row.get(field.name) for row in rows]
            if field.name in self._json_columns:
                values = [None if value is None else dumps(value) for value in values]
            try:
                arrays.append(pa.array(values, type=field.type))
            except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
                raise ValueError(f"{self._path}: column {field.name!r} ({field.type}): {error}") from None
        return pa.Table.from_arrays(arrays, schema=schema)


def dumps(value: Any) -> str:
    """Compact JSON, non-ASCII characters as themselves, dates as ISO 8601 text, bytes as base64."""
    return json.dumps(value, ensure_ascii=False, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"cannot write {type(value).__name__} value as JSON: {value!r}")


def read_records(
    path: str | os.PathLike[str], *, on_error: Callable[[str], None] | None = None
) -> Iterator[dict[str, Any]]:
    """The records of a JSONL or Parquet record file, one dict at a time. A bad line raises InputError, or,
    with ``on_error``, is passed to it as a message naming the file and line, and skipped."""
    path = Path(path)
    fmt = record_format(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    return _read_jsonl_records(path, on_error) if fmt == "jsonl" else _read_parquet_records(path)


def _read_jsonl_records(path: Path, on_error: Callable[[str], None] | None) -> Iterator[dict[str, Any]]:
    with open(path, "rb") as stream:
        for number, raw in enumerate(stream, start=1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if not raw.strip():
                continue
            try:
                record = _parse_record(raw)
            except ValueError as error:
                message = f"{path}:{number}: {error}"
                if on_error is None:
                    raise InputError(message) from None
                on_error(message)
                continue
            yield record


def _parse_record(raw: bytes) -> dict[str, Any]:
    """One JSON object from one line; ValueError says what is wrong with it."""
    try:
        record = json.loads(raw)
    except UnicodeDecodeError as error:
        raise ValueError(f"invalid UTF-8: {error.reason}") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"invalid JSON: {error.msg} (column {error.colno})") from None
    except RecursionError:
        raise ValueError(TOO_DEEP) from None
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object, got {type(record).__name__}")
    return record


def _read_parquet_records(path: Path) -> Iterator[dict[str, Any]]:
    parquet = open_parquet(path)
    metadata = parquet.schema_arrow.metadata or {}
    json_columns = json.loads(metadata.get(JSON_COLUMNS_KEY, b"[]"))
    for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
        for row in batch.to_pylist():
            for name in json_columns:
                if row.get(name) is not None:
                    row[name] = json.loads(row[name])
            yield row
