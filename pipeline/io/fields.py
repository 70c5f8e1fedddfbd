"""Which field of a record is the id, the text and the metadata, and how a record becomes a Document.

Defaults: the id is ``id`` and the text is the first of ``text``, ``content``, ``body`` (exact name first,
then ignoring case). Metadata is every other field, except ``sentences`` and ``spans`` (the structure of our
own output records); a ``metadata`` field holding a mapping is merged in rather than nested, so reading an
output file back gives the original metadata. A document without an id gets ``stable_id(text)``.

A lone surrogate in a record (the JSON escape ``"\\ud800"``: decodable, but no character, so it can be
neither written as UTF-8 nor tokenized) makes the record bad under ``--encoding-errors strict``; under
``replace`` it becomes U+FFFD. A second document with an id already read (ids compare as text: ``1`` and
``"1"`` are the same) is reported and skipped, so every output holds each id once and ``--resume`` (which
skips ids already written) never loses a document.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from pipeline.document import Document, stable_id
from pipeline.errors import InputError
from pipeline.io.decode import REPLACE_HINT, first_surrogate, printable, replace_surrogates
from pipeline.io.problems import ErrorReport

TEXT_FIELDS = ("text", "content", "body")
ID_FIELDS = ("id",)
STRUCTURE_FIELDS = frozenset({"sentences", "spans"})
EMPTY_FLAG = "empty"  # metadata key set to True on documents whose text is empty or only whitespace


@dataclass(frozen=True)
class FieldOptions:
    """The user's choice of fields; None means "detect"."""

    id_field: str | None = None
    text_field: str | None = None
    metadata_fields: tuple[str, ...] | None = None
    decode_errors: str = "strict"

    def resolve(self, columns: Sequence[str], where: str) -> FieldMap:
        """The fields to use for records with ``columns``; raises InputError naming the columns there are."""
        columns = list(columns)
        listing = ", ".join(columns) if columns else "none"
        if self.text_field is not None:
            if self.text_field not in columns:
                raise InputError(f"{where}: no text column {self.text_field!r}; the columns are: {listing}")
            text = self.text_field
        else:
            text = _detect(TEXT_FIELDS, columns)
            if text is None:
                raise InputError(
                    f"{where}: no text column (looked for {', '.join(TEXT_FIELDS)}); "
                    f"the columns are: {listing}; choose one with --text-field"
                )
        if self.id_field is not None:
            if self.id_field not in columns:
                raise InputError(f"{where}: no id column {self.id_field!r}; the columns are: {listing}")
            id_ = self.id_field
        else:
            id_ = _detect(ID_FIELDS, columns)
        if self.metadata_fields is not None:
            missing = [name for name in self.metadata_fields if name not in columns]
            if missing:
                raise InputError(
                    f"{where}: no metadata column {', '.join(map(repr, missing))}; the columns are: {listing}"
                )
        return FieldMap(text=text, id=id_, metadata=self.metadata_fields, decode_errors=self.decode_errors)


def _detect(candidates: Sequence[str], columns: Sequence[str]) -> str | None:
    for name in candidates:
        if name in columns:
            return name
    folded = {column.casefold(): column for column in reversed(columns)}
    for name in candidates:
        if name in folded:
            return folded[name]
    return None


@dataclass(frozen=True)
class FieldMap:
    text: str
    id: str | None
    metadata: tuple[str, ...] | None  # None: every other field
    decode_errors: str = "strict"

    def to_document(
        self, row: Mapping[str, Any], report: ErrorReport, source: str, **where: int
    ) -> Document | None:
        """The row as a Document, or None after reporting why it cannot be one."""
        if self.text not in row:
            fields = ", ".join(row) or "none"
            report.error(source, f"no {self.text!r} field; the record has: {fields}", **where)
            return None
        text = row[self.text]
        why_empty = None
        if text is None:
            text, why_empty = "", f"{self.text!r} is null"
        elif not isinstance(text, str):
            report.error(source, f"{self.text!r} must be a string, got {type(text).__name__}", **where)
            return None
        raw_id = row.get(self.id) if self.id is not None else None
        doc_id = None if raw_id is None or raw_id == "" else str(raw_id)
        metadata = self._metadata(row)
        for name, value in ((self.text, text), (self.id, doc_id), ("metadata", metadata)):
            position = _first_surrogate_in(value)
            if position is None:
                continue
            where_in = f" at character {position}" if isinstance(value, str) else ""
            if self.decode_errors == "strict":
                report.error(source, f"a lone surrogate (an escape such as \\ud800, not a character) in "
                             f"{name!r}{where_in}; {REPLACE_HINT}", **where)
                return None
            report.warning(source, f"lone surrogates in {name!r} replaced with U+FFFD (first{where_in})", **where)
            text = replace_surrogates(text)
            doc_id = None if doc_id is None else replace_surrogates(doc_id)
            metadata = _replace_surrogates_in(metadata)
            break
        return make_document(doc_id, text, metadata, report, source, why_empty, **where)

    def _metadata(self, row: Mapping[str, Any]) -> dict[str, Any]:
        if self.metadata is not None:
            return {name: row[name] for name in self.metadata if name in row}
        metadata: dict[str, Any] = {}
        nested = row.get("metadata")
        if isinstance(nested, Mapping):
            metadata.update(nested)
        for name, value in row.items():
            if name in (self.text, self.id) or name in STRUCTURE_FIELDS:
                continue
            if name == "metadata" and isinstance(value, Mapping):
                continue
            metadata[name] = value
        return metadata


def _first_surrogate_in(value: Any) -> int | None:
    """The position of the first lone surrogate in a string (0 for one somewhere inside a container)."""
    if isinstance(value, str):
        return first_surrogate(value)
    if isinstance(value, Mapping):
        value = [*value.keys(), *value.values()]
    if isinstance(value, list | tuple):
        return 0 if any(_first_surrogate_in(item) is not None for item in value) else None
    return None


def _replace_surrogates_in(value: Any) -> Any:
    if isinstance(value, str):
        return replace_surrogates(value)
    if isinstance(value, Mapping):
        return {_replace_surrogates_in(k): _replace_surrogates_in(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_replace_surrogates_in(item) for item in value]
    return value


def make_document(
    doc_id: str | None,
    text: str,
    metadata: dict[str, Any],
    report: ErrorReport,
    source: str,
    why_empty: str | None = None,
    **where: int,
) -> Document | None:
    """A Document; an empty (or whitespace-only) text is kept, flagged ``metadata["empty"] = True`` and warned
    about, and a missing id becomes ``stable_id(text)``. None, after an error, when the id was read before
    (see :class:`~pipeline.io.problems.ErrorReport`'s ``ids``)."""
    final_id = doc_id or stable_id(text)
    if report.ids is not None and not report.ids.add(final_id):
        if doc_id:
            message = (f"duplicate id {printable(doc_id)!r}: an earlier document has the same id (ids compare as "
                       "text: 1 and \"1\" are the same); skipped")
        else:
            message = f"duplicate document: an earlier document without an id has the same text ({final_id}); skipped"
        report.error(source, message, **where)
        return None
    if not text.strip():
        metadata[EMPTY_FLAG] = True
        why = f"{why_empty}; " if why_empty else ""
        report.warning(source, f"empty document ({why}kept, flagged metadata.empty = true)", **where)
    return Document(final_id, text, metadata)


@dataclass(frozen=True)
class ReadOptions:
    """How inputs are read (``--format``, ``--id-field``, ...), as plain data: the CLI's input options and the
    Ray engine's workers share it."""

    input_format: str | None = None
    id_field: str | None = None
    text_field: str | None = None
    metadata_fields: tuple[str, ...] | None = None
    encoding_errors: str = "strict"
    delimiter: str | None = None

    def reading(self) -> ReadOptions:
        """These options alone (without what a subclass adds)."""
        return ReadOptions(**{f.name: getattr(self, f.name) for f in fields(ReadOptions)})

    def field_options(self) -> FieldOptions:
        return FieldOptions(self.id_field, self.text_field, self.metadata_fields, self.encoding_errors)
