"""The document model: immutable documents, sentences and spans whose offsets index the text.

Character offsets are the one currency between stages: for every sentence and span,
``document.text[start:end]`` is its text (``end`` exclusive). Offsets are checked when a document is
built, so a bad offset fails where it was made, not three stages later.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import Any


class OffsetError(ValueError):
    """A sentence or span whose offsets do not index the document's text."""


def stable_id(text: str) -> str:
    """A content-derived id for documents that come without one (same text, same id)."""
    return "sha256-" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


def _reduce(item: Any) -> tuple:
    """Pickle support for the frozen types (a mapping proxy cannot be pickled): rebuilt from their fields, so
    the offsets are checked again. Worker processes send documents this way (``pipeline.engines.local``)."""
    values = (getattr(item, f.name) for f in fields(item))
    return type(item), tuple(dict(v) if isinstance(v, MappingProxyType) else v for v in values)


def _check_range(start: Any, end: Any) -> str | None:
    """Return why (start, end) is not a valid non-empty range, or None when it is."""
    if not isinstance(start, int) or not isinstance(end, int) or isinstance(start, bool) or isinstance(end, bool):
        return f"offsets must be integers, got start={start!r}, end={end!r}"
    if start < 0:
        return f"start {start} is negative"
    if end < start:
        return f"range [{start}, {end}) is reversed"
    if end == start:
        return f"range [{start}, {end}) is empty"
    return None


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence ``[start, end)``. ``labels`` maps each label the model asserts to its score (empty when
    unclassified); ``scores`` optionally holds every label's score, asserted or not."""

    start: int
    end: int
    labels: Mapping[str, float] = field(default_factory=dict)
    scores: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problem = _check_range(self.start, self.end)
        if problem:
            raise OffsetError(f"sentence: {problem}")
        object.__setattr__(self, "labels", _frozen(self.labels))
        object.__setattr__(self, "scores", _frozen(self.scores))

    def __reduce__(self) -> tuple:
        return _reduce(self)

    def to_dict(self) -> dict[str, Any]:
        record: dict[str, Any] = {"start": self.start, "end": self.end}
        if self.labels:
            record["labels"] = dict(self.labels)
        if self.scores:
            record["scores"] = dict(self.scores)
        return record

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> Sentence:
        return cls(record["start"], record["end"], record.get("labels") or {}, record.get("scores") or {})


@dataclass(frozen=True, slots=True)
class Span:
    """A labelled character range. Spans of different labels may overlap freely.

    ``source`` says where the span comes from (``"gold"``, ``"model:<version>"``, ``"human:<name>"``) and
    is how gold and predicted spans are kept apart in one document. ``attributes`` carries extra,
    JSON-serialisable facts about the span (for example the blamed actor of a blame span).
    """

    start: int
    end: int
    label: str | None = None
    score: float | None = None
    source: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problem = _check_range(self.start, self.end)
        if problem:
            raise OffsetError(f"span {self.label or ''}: {problem}".replace(" :", ":"))
        object.__setattr__(self, "attributes", _frozen(self.attributes))

    def __reduce__(self) -> tuple:
        return _reduce(self)

    def to_dict(self) -> dict[str, Any]:
        record: dict[str, Any] = {"start": self.start, "end": self.end}
        for key in ("label", "score", "source"):
            value = getattr(self, key)
            if value is not None:
                record[key] = value
        if self.attributes:
            record["attributes"] = dict(self.attributes)
        return record

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> Span:
        return cls(
            record["start"],
            record["end"],
            record.get("label"),
            record.get("score"),
            record.get("source"),
            record.get("attributes") or {},
        )


@dataclass(frozen=True, slots=True)
class Document:
    """A text with its id, metadata, and (optionally) sentences and spans that index it."""

    id: str
    text: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    sentences: tuple[Sentence, ...] = ()
    spans: tuple[Span, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ValueError(f"document id must be a non-empty string, got {self.id!r}")
        if not isinstance(self.text, str):
            raise TypeError(f"document {self.id!r}: text must be str, got {type(self.text).__name__}")
        object.__setattr__(self, "metadata", _frozen(self.metadata))
        object.__setattr__(self, "sentences", tuple(self.sentences))
        object.__setattr__(self, "spans", tuple(self.spans))
        length = len(self.text)
        for kind, items in (("sentence", self.sentences), ("span", self.spans)):
            for item in items:
                if item.end > length:
                    what = f"{kind} {getattr(item, 'label', None) or ''}".rstrip()
                    raise OffsetError(
                        f"document {self.id!r}: {what} [{item.start}, {item.end}) falls outside the text "
                        f"(length {length})"
                    )

    def __reduce__(self) -> tuple:
        return _reduce(self)

    # -- building -------------------------------------------------------------------------------
    def span(self, start: int, end: int, label: str | None = None, **kwargs: Any) -> Span:
        """Build a span of this document, raising an error that names the document when it is invalid."""
        try:
            built = Span(start, end, label, **kwargs)
        except OffsetError as error:
            raise OffsetError(f"document {self.id!r}: {error}") from None
        if built.end > len(self.text):
            raise OffsetError(
                f"document {self.id!r}: span {label or ''} [{start}, {end}) falls outside the text "
                f"(length {len(self.text)})".replace("span  [", "span [")
            )
        return built

    def with_sentences(self, sentences: Iterable[Sentence]) -> Document:
        return replace(self, sentences=tuple(sentences))

    def with_spans(self, spans: Iterable[Span]) -> Document:
        """A copy whose spans are ``spans`` (all sources replaced)."""
        return replace(self, spans=tuple(spans))

    def add_spans(self, spans: Iterable[Span]) -> Document:
        return replace(self, spans=self.spans + tuple(spans))

    def with_metadata(self, **metadata: Any) -> Document:
        return replace(self, metadata={**self.metadata, **metadata})

    # -- reading --------------------------------------------------------------------------------
    def spans_from(self, source: str) -> tuple[Span, ...]:
        """Spans whose source is ``source`` or starts with ``source + ':'``."""
        return tuple(s for s in self.spans if s.source == source or (s.source or "").startswith(source + ":"))

    def sentence_text(self, sentence: Sentence) -> str:
        return self.text[sentence.start : sentence.end]

    def span_text(self, span: Span) -> str:
        return self.text[span.start : span.end]

    # -- serialisation --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "metadata": dict(self.metadata),
            "sentences": [s.to_dict() for s in self.sentences],
            "spans": [s.to_dict() for s in self.spans],
        }

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> Document:
        text = record["text"]
        doc_id = record.get("id") or stable_id(text)
        try:
            sentences = [Sentence.from_dict(s) for s in record.get("sentences") or ()]
            spans = [Span.from_dict(s) for s in record.get("spans") or ()]
        except OffsetError as error:
            raise OffsetError(f"document {doc_id!r}: {error}") from None
        return cls(doc_id, text, record.get("metadata") or {}, sentences, spans)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> Document:
        return cls.from_dict(json.loads(line))
