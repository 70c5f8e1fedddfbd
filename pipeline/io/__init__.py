"""Corpus readers and writers, streaming: memory stays constant in the number of documents.

Read: :func:`read_documents` takes text files, folders of text files, JSONL, CSV/TSV, Parquet, Hugging Face
datasets saved with ``save_to_disk`` and standard input, and yields :class:`~pipeline.document.Document`s;
problems with single records go to an :class:`ErrorReport` with their file and line, record number or byte
offset. Write: :func:`open_writer` writes dict records as JSONL or Parquet, by the file's extension;
:func:`read_records` reads such a file back.

Text is kept exactly as read: a UTF-8 byte order mark at the start of an input is removed, and nothing else
(``\\r\\n`` stays as it is), so offsets computed on a document's text index the text written to its record.
"""

from pipeline.io.fields import EMPTY_FLAG, FieldOptions
from pipeline.io.problems import ERROR, WARNING, ErrorReport, Problem
from pipeline.io.read import FORMATS, DocumentStream, read_documents
from pipeline.io.records import open_writer, read_records, record_format

__all__ = [
    "EMPTY_FLAG",
    "ERROR",
    "FORMATS",
    "WARNING",
    "DocumentStream",
    "ErrorReport",
    "FieldOptions",
    "Problem",
    "open_writer",
    "read_documents",
    "read_records",
    "record_format",
]
