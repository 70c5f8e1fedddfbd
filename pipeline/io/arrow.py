"""Columnar inputs: Parquet files and Hugging Face datasets saved with ``save_to_disk``.

Both are read in small record batches (Parquet through pyarrow, datasets memory-mapped through
``datasets.load_from_disk``), so memory does not grow with the number of documents. Problems are located by
record number (1-based, in file order). A ``DatasetDict`` is read split by split, each document carrying
``metadata["split"]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.document import Document
from pipeline.errors import InputError
from pipeline.io.fields import FieldMap, FieldOptions
from pipeline.io.problems import ErrorReport

BATCH_ROWS = 64  # small, because a row may hold a 20 MB document


def open_parquet(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as error:
        raise InputError(f"{path}: cannot read as Parquet: {error}") from None


def read_parquet(
    path: Path, options: FieldOptions, report: ErrorReport, *, row_groups: list[int] | None = None,
    first_record: int = 1,
) -> Iterator[Document]:
    """Documents of the Parquet file ``path`` (only ``row_groups``, whose first row is record number
    ``first_record`` of the file, when given)."""
    parquet = open_parquet(path)
    fields = options.resolve(parquet.schema_arrow.names, where=str(path))
    batches = parquet.iter_batches(
        batch_size=BATCH_ROWS, columns=_columns_to_read(fields, parquet.schema_arrow.names), row_groups=row_groups
    )
    yield from _documents(_rows(batches), fields, report, str(path), start=first_record)


def read_hf_dataset(path: Path, options: FieldOptions, report: ErrorReport) -> Iterator[Document]:
    for split, dataset in hf_splits(path):
        source = _split_name(path, split)
        fields = options.resolve(dataset.column_names, where=source)
        extra = {} if split is None else {"split": split}
        tables = dataset.with_format("arrow").iter(batch_size=BATCH_ROWS)
        yield from _documents(_rows(tables), fields, report, source, extra)


def hf_splits(path: Path) -> list[tuple[str | None, Any]]:
    """``(split name or None, datasets.Dataset)`` pairs of a dataset saved with ``save_to_disk``."""
    import datasets  # imported here: it is slow to import and only this reader needs it

    try:
        loaded = datasets.load_from_disk(str(path))
    except (FileNotFoundError, ValueError) as error:
        raise InputError(f"{path}: cannot load as a Hugging Face dataset: {error}") from None
    return list(loaded.items()) if isinstance(loaded, datasets.DatasetDict) else [(None, loaded)]


def check_hf_columns(path: Path, options: FieldOptions) -> int:
    """Check the options against every split's columns; return the number of rows."""
    rows = 0
    for split, dataset in hf_splits(path):
        options.resolve(dataset.column_names, where=_split_name(path, split))
        rows += dataset.num_rows
    return rows


def _split_name(path: Path, split: str | None) -> str:
    return str(path) if split is None else f"{path}[{split}]"


def _columns_to_read(fields: FieldMap, names: list[str]) -> list[str]:
    if fields.metadata is None:
        return names
    wanted = {fields.text, fields.id, *fields.metadata}
    return [name for name in names if name in wanted]


def _rows(batches: Iterable[pa.RecordBatch | pa.Table]) -> Iterator[dict[str, Any]]:
    for batch in batches:
        yield from batch.to_pylist()


def _documents(
    rows: Iterable[Mapping[str, Any]],
    fields: FieldMap,
    report: ErrorReport,
    source: str,
    extra: Mapping[str, Any] | None = None,
    start: int = 1,
) -> Iterator[Document]:
    for number, row in enumerate(rows, start=start):
        document = fields.to_document(row, report, source, record=number)
        if document is not None:
            yield document.with_metadata(**extra) if extra else document
