"""Annotated and pulled records, read for the views: one :class:`ViewDocument` per document, with one
:class:`Layer` per source of annotations (a model version, a human annotator).

Two record shapes are read, both through :func:`pipeline.io.read_records` (JSONL or Parquet):

- what ``framing annotate`` writes: ``{id, text, metadata, model_version, sentences, spans}``;
- what ``framing ls pull`` writes (one record per annotation): ``{id, text, annotator, spans, choices, ...}``,
  with no sentences and no scores.

The first file is streamed; consecutive records with the same id (a pulled file's annotations of one task)
become layers of one document. Further files are read into memory and joined by document id, so model and
human annotations of the same text can be shown side by side: their layers are added to the documents of the
first file, and documents only they hold come at the end. A layer whose text differs from the document's is
reported and left out (its offsets would point at the wrong characters). Spans and sentences with offsets
outside the text are reported and skipped, never moved. Nothing here imports Label Studio code or the model.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.io import read_records

MODEL = "model"
HUMAN = "human"


@dataclass(frozen=True)
class Layer:
    """The annotations of one source: ``kind`` is "model" or "human"; ``source`` the model version or the
    annotator. ``sentences`` and ``spans`` are plain dicts with checked offsets, sorted by position."""

    kind: str
    source: str
    sentences: tuple[dict[str, Any], ...] = ()
    spans: tuple[dict[str, Any], ...] = ()
    choices: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.kind}: {self.source}" if self.source else self.kind


@dataclass(frozen=True)
class ViewDocument:
    id: str
    text: str
    metadata: Mapping[str, Any]
    layers: tuple[Layer, ...]


def record_layer(record: Mapping[str, Any], problems: list[str] | None = None, where: str = "") -> Layer:
    """The layer of one annotated or pulled record; bad sentences and spans are reported and skipped."""
    text = record.get("text") or ""
    problems = problems if problems is not None else []
    label = where or f"record {record.get('id')!r}"
    pulled = "annotator" in record and "model_version" not in record
    kind = HUMAN if pulled else MODEL
    source = str(record.get("annotator") if pulled else record.get("model_version") or "")
    sentences = []
    for number, sentence in enumerate(record.get("sentences") or ()):
        reason = _bad_range(sentence, len(text))
        if reason:
            problems.append(f"{label}: sentence {number}: {reason}; skipped")
            continue
        labels = sentence.get("labels") or {}
        sentences.append({"start": sentence["start"], "end": sentence["end"], "labels": dict(labels)})
    spans = []
    for number, span in enumerate(record.get("spans") or ()):
        reason = _bad_range(span, len(text))
        if reason is None and not span.get("label"):
            reason = "no label"
        if reason:
            problems.append(f"{label}: span {number}: {reason}; skipped")
            continue
        attributes = dict(span.get("attributes") or {})
        actor = attributes.get("actor")
        if actor is not None:
            actor_reason = _bad_range(actor, len(text)) if isinstance(actor, Mapping) else "not an object"
            if actor_reason:
                problems.append(f"{label}: span {number}: blamed actor {actor_reason}; actor left out")
                attributes.pop("actor")
        spans.append({"start": span["start"], "end": span["end"], "label": str(span["label"]),
                      "score": span.get("score"), "attributes": attributes})
    sentences.sort(key=lambda s: (s["start"], s["end"]))
    spans.sort(key=lambda s: (s["start"], -s["end"], s["label"]))
    return Layer(kind, source, tuple(sentences), tuple(spans), dict(record.get("choices") or {}))


def _bad_range(item: Any, length: int) -> str | None:
    if not isinstance(item, Mapping):
        return "not an object"
    start, end = item.get("start"), item.get("end")
    if not (isinstance(start, int) and isinstance(end, int)) or isinstance(start, bool) or isinstance(end, bool):
        return f"offsets {start!r}, {end!r} are not whole numbers"
    if not 0 <= start < end <= length:
        what = "are empty" if start == end else "lie outside the text"
        return f"offsets [{start}, {end}) {what} (text length {length})"
    return None


def _metadata(record: Mapping[str, Any]) -> dict[str, Any]:
    metadata = record.get("metadata")
    return dict(metadata) if isinstance(metadata, Mapping) else {}


def _document_of(records: list[tuple[str, dict[str, Any]]], problems: list[str]) -> ViewDocument | None:
    first_where, first = records[0]
    text = first.get("text")
    if not isinstance(text, str):
        problems.append(f"{first_where}: no text; record skipped")
        return None
    metadata = _metadata(first)
    layers = []
    for where, record in records:
        if record.get("text") != text:
            problems.append(f"{where}: its text differs from the first record of document {first['id']!r}; "
                            "layer left out")
            continue
        for key, value in _metadata(record).items():
            metadata.setdefault(key, value)
        layers.append(record_layer(record, problems, where))
    return ViewDocument(str(first["id"]), text, metadata, tuple(layers))


def _grouped(path: str | os.PathLike[str], problems: list[str]) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Runs of consecutive records with the same id, each record with where it was read."""
    run: list[tuple[str, dict[str, Any]]] = []
    for number, record in enumerate(read_records(path), start=1):
        where = f"{path}: record {number}"
        if record.get("id") is None:
            problems.append(f"{where}: no id; record skipped")
            continue
        record = {**record, "id": str(record["id"])}
        if run and run[-1][1]["id"] != record["id"]:
            yield run
            run = []
        run.append((where, record))
    if run:
        yield run


def read_view_documents(paths: Iterable[str | os.PathLike[str]], problems: list[str] | None = None
                        ) -> Iterator[ViewDocument]:
    """The documents of one or more record files (see the module docstring), the first file streamed."""
    problems = problems if problems is not None else []
    paths = list(paths)
    if not paths:
        return
    extra: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for path in paths[1:]:
        for run in _grouped(path, problems):
            extra.setdefault(run[0][1]["id"], []).extend(run)
    for run in _grouped(paths[0], problems):
        document = _document_of(run + extra.pop(run[0][1]["id"], []), problems)
        if document is not None:
            yield document
    for run in extra.values():
        document = _document_of(run, problems)
        if document is not None:
            yield document


def occurrences(layer: Layer) -> dict[str, int]:
    """Per label: its spans, plus the sentences that assert it without holding a span of it."""
    counts: dict[str, int] = {}
    for span in layer.spans:
        counts[span["label"]] = counts.get(span["label"], 0) + 1
    for sentence in layer.sentences:
        for label in sentence["labels"]:
            inside = any(s["label"] == label and s["start"] < sentence["end"] and sentence["start"] < s["end"]
                         for s in layer.spans)
            if not inside:
                counts[label] = counts.get(label, 0) + 1
    return counts
