"""Pure conversions between the document model and Label Studio's JSON (no network, no SDK).

Offsets rule. Python indexes a ``str`` by code point; Label Studio's browser front end counts JavaScript
string units (UTF-16), so every astral character (emoji, some CJK) is one index here and two there. We
therefore send UTF-16 offsets (``to_ls``) so that regions highlight the right characters in the browser, and
read offsets back (``from_ls``) as follows:

1. When a region carries ``value.text`` (the browser always saves it), the offsets are accepted under the
   first interpretation whose slice equals that text: UTF-16 units, then code points, then the same two
   against the text with CRLF folded to LF (HTML rendering folds line breaks, so browser offsets may count
   ``\\r\\n`` as one character).
2. Without ``value.text`` the offsets are taken as UTF-16 units of ``data.text`` (what ``to_ls`` sends).

A region that fits no interpretation is reported as a problem (with task, annotation and region), never
silently moved or dropped. For text without astral characters or CR all interpretations coincide.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.document import Document, OffsetError, Span
from pipeline.labelstudio.config import (
    ACTOR_LABEL,
    BLAMED_ACTOR_RELATION,
    TEXT_FIELD,
    ConfigNames,
)

KEY_FIELD = "framing_id"
HASH_FIELD = "framing_hash"
METADATA_FIELD = "framing_metadata"
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def text_hash(text: str) -> str:
    """A short content hash stored with each task to notice when a document's text has changed."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


# -- offsets -------------------------------------------------------------------------------------------
class OffsetCodec:
    """Converts offsets of one text between Python code points and UTF-16 code units."""

    def __init__(self, text: str) -> None:
        self.text = text
        # code-point indices of astral characters; empty for most texts, which makes both maps identity
        self._astral = [m.start() for m in _ASTRAL.finditer(text)]
        self._astral_utf16 = [index + k for k, index in enumerate(self._astral)]
        self.utf16_length = len(text) + len(self._astral)

    def to_utf16(self, index: int) -> int:
        return index + bisect.bisect_left(self._astral, index)

    def from_utf16(self, index: int) -> int | None:
        """The code-point index at UTF-16 ``index``; None when it falls inside a surrogate pair or outside."""
        if not 0 <= index <= self.utf16_length:
            return None
        before = bisect.bisect_left(self._astral_utf16, index)
        if before and self._astral_utf16[before - 1] + 1 == index:
            return None  # between the two halves of a surrogate pair
        return index - before


class _FoldedText:
    """The text with every CRLF folded to LF, and a map from folded indices back to the original."""

    def __init__(self, text: str) -> None:
        self.crlf = [m.start() for m in re.finditer("\r\n", text)]
        self.text = text.replace("\r\n", "\n")

    def to_original(self, index: int) -> int:
        # each CRLF before the folded index lost one character
        lo, hi = 0, len(self.crlf)
        while lo < hi:  # number of CRLFs whose folded position (crlf[k] - k) is < index
            mid = (lo + hi) // 2
            if self.crlf[mid] - mid < index:
                lo = mid + 1
            else:
                hi = mid
        return index + lo


def resolve_offsets(text: str, value: Mapping[str, Any], codec: OffsetCodec | None = None) -> tuple[int, int]:
    """Code-point ``(start, end)`` of a Label Studio text region, following the module's offsets rule.

    Raises ``OffsetError`` when the offsets fit no interpretation.
    """
    start, end = value.get("start"), value.get("end")
    if not isinstance(start, int) or not isinstance(end, int) or isinstance(start, bool):
        raise OffsetError(f"region offsets must be integers, got start={start!r}, end={end!r}")
    codec = codec or OffsetCodec(text)
    expected = value.get("text")
    candidates: list[tuple[int | None, int | None]] = [(codec.from_utf16(start), codec.from_utf16(end))]
    if isinstance(expected, str):
        candidates.append((start, end))
        if "\r\n" in text:
            folded = _FoldedText(text)
            folded_codec = OffsetCodec(folded.text)
            for s, e in ((folded_codec.from_utf16(start), folded_codec.from_utf16(end)), (start, end)):
                if s is not None and e is not None and 0 <= s <= e <= len(folded.text):
                    candidates.append((folded.to_original(s), folded.to_original(e)))
    for s, e in candidates:
        if s is None or e is None or not 0 <= s < e <= len(text):
            continue
        if not isinstance(expected, str) or text[s:e] == expected or _same_folded(text[s:e], expected):
            return s, e
    if isinstance(expected, str):
        raise OffsetError(
            f"region [{start}, {end}) with text {_preview(expected)} matches the task text neither as UTF-16 "
            f"nor as code-point offsets"
        )
    raise OffsetError(f"region [{start}, {end}) does not fit the task text (UTF-16 length {codec.utf16_length})")


def _same_folded(a: str, b: str) -> bool:
    return a.replace("\r\n", "\n") == b.replace("\r\n", "\n")


def _preview(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


# -- to Label Studio -----------------------------------------------------------------------------------
def document_confidence(document: Document) -> float:
    """How sure the model is about a document, in [0, 1]: the mean margin ``|2p - 1|`` of its scores.

    Uses every span score and sentence-label score; a score of 0.5 (the decision boundary) has margin 0,
    scores of 0 or 1 have margin 1. A document without any score counts as certain (1.0): there is nothing
    the model hesitated about. Used as the task-level prediction score, so sorting tasks by prediction score
    ascending in Label Studio puts the documents the model is least sure about first.
    """
    scores = [s.score for s in document.spans if s.score is not None]
    for sentence in document.sentences:
        scores.extend(sentence.labels.values())
    if not scores:
        return 1.0
    margins = [min(1.0, abs(2.0 * float(score) - 1.0)) for score in scores]
    return round(sum(margins) / len(margins), 6)


def prediction_result(
    document: Document, spans: Iterable[Span] | None = None, names: ConfigNames = ConfigNames()
) -> list[dict[str, Any]]:
    """Label Studio result items for ``spans`` (default: all labelled spans of the document).

    Region ids are deterministic (``p0``, ``p1``, ...) so the same prediction always converts the same way. A
    span with ``attributes.actor = {start, end}`` also gets an ``actor`` region and a ``blamed_actor``
    relation from the span to it. When ``names.label_ids`` is known (a project's labeling config), spans of
    labels the config does not offer are left out (and actors, when it has no ``actor`` label): Label Studio
    cannot show them, and the annotators of that project were not asked about them.
    """
    codec = OffsetCodec(document.text)
    items: list[dict[str, Any]] = []
    actor_regions: dict[tuple[int, int], str] = {}
    relations: list[dict[str, Any]] = []

    def region(region_id: str, start: int, end: int, label: str, score: float | None) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": region_id,
            "from_name": names.labels,
            "to_name": names.text,
            "type": "labels",
            "value": {
                "start": codec.to_utf16(start),
                "end": codec.to_utf16(end),
                "text": document.text[start:end],
                "labels": [label],
            },
        }
        if score is not None:
            item["score"] = round(float(score), 6)
        return item

    offered = None if names.label_ids is None else set(names.label_ids)
    chosen = [
        s for s in (document.spans if spans is None else spans) if s.label and (offered is None or s.label in offered)
    ]
    with_actors = offered is None or ACTOR_LABEL in offered
    for index, span in enumerate(chosen):
        region_id = f"p{index}"
        if span.label == ACTOR_LABEL:
            if (span.start, span.end) in actor_regions:
                continue
            actor_regions[(span.start, span.end)] = region_id
        items.append(region(region_id, span.start, span.end, span.label, span.score))
        actor = span.attributes.get("actor")
        if isinstance(actor, Mapping) and span.label != ACTOR_LABEL and with_actors:
            key = (actor.get("start"), actor.get("end"))
            if key not in actor_regions:
                try:
                    checked = document.span(key[0], key[1], ACTOR_LABEL)
                except OffsetError as error:
                    raise OffsetError(f"actor of span {span.label} [{span.start}, {span.end}): {error}") from None
                actor_regions[key] = f"{region_id}a"
                items.append(region(f"{region_id}a", checked.start, checked.end, ACTOR_LABEL, None))
            relations.append(
                {
                    "from_id": region_id,
                    "to_id": actor_regions[key],
                    "type": "relation",
                    "direction": "right",
                    "labels": [BLAMED_ACTOR_RELATION],
                }
            )
    return items + relations


def task_data(document: Document) -> dict[str, Any]:
    """The task's ``data``: the text plus the stable key (document id) and content hash."""
    data: dict[str, Any] = {TEXT_FIELD: document.text, KEY_FIELD: document.id, HASH_FIELD: text_hash(document.text)}
    if document.metadata:
        data[METADATA_FIELD] = dict(document.metadata)
    return data


def prediction(document: Document, model_version: str, names: ConfigNames = ConfigNames()) -> dict[str, Any]:
    """A Label Studio prediction of the document's model spans, with a task-level score."""
    return {
        "model_version": model_version,
        "score": document_confidence(document),
        "result": prediction_result(document, names=names),
    }


def to_ls(document: Document, model_version: str, names: ConfigNames = ConfigNames()) -> dict[str, Any]:
    """A Label Studio task (data + one prediction) for an annotated document."""
    return {"data": task_data(document), "predictions": [prediction(document, model_version, names)]}


# -- from Label Studio ---------------------------------------------------------------------------------
@dataclass
class Converted:
    """Spans and choices read from one annotation or prediction, with the problems met on the way."""

    spans: list[Span] = field(default_factory=list)
    choices: dict[str, list[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    # actor regions linked to no blame span (left behind when an annotator deletes the blame span): not spans
    orphan_actors: list[tuple[int, int]] = field(default_factory=list)


def from_ls(text: str, result: Sequence[Mapping[str, Any]] | None, *, source: str | None = None) -> Converted:
    """Spans (code-point offsets into ``text``) and choices of a Label Studio ``result`` list.

    Every label of a region becomes a span. A ``blamed_actor`` relation (or an unlabelled relation that
    points at an ``actor`` region) sets ``attributes.actor = {start, end}`` on the blame span. Actor regions
    are never spans of their own: an actor is an attribute of a blame span, and one linked to none (what
    deleting a blame span in Label Studio leaves behind) is listed in ``orphan_actors`` and dropped.
    """
    converted = Converted()
    codec = OffsetCodec(text)
    regions: dict[str, tuple[int, int, list[str], float | None]] = {}
    order: list[str] = []
    relations: list[Mapping[str, Any]] = []
    for position, item in enumerate(result or ()):
        kind = item.get("type")
        value = item.get("value") or {}
        if kind == "relation":
            relations.append(item)
        elif kind == "choices":
            converted.choices.setdefault(item.get("from_name") or "choices", []).extend(value.get("choices") or [])
        elif "start" in value and "end" in value:
            labels = value.get(kind) if kind and isinstance(value.get(kind), list) else value.get("labels")
            region_id = str(item.get("id") or f"#{position}")
            try:
                start, end = resolve_offsets(text, value, codec)
            except OffsetError as error:
                converted.problems.append(f"region {region_id}: {error}")
                continue
            if not labels:
                converted.problems.append(f"region {region_id} [{start}, {end}) has no label")
                continue
            regions[region_id] = (start, end, list(labels), item.get("score"))
            order.append(region_id)
    actors: dict[str, tuple[int, int]] = {}
    linked: set[str] = set()
    for relation in relations:
        source_id, target_id = str(relation.get("from_id")), str(relation.get("to_id"))
        if relation.get("direction") == "left":
            source_id, target_id = target_id, source_id
        if _is_actor(regions.get(source_id)) and not _is_actor(regions.get(target_id)):
            source_id, target_id = target_id, source_id
        labels = relation.get("labels") or []
        if source_id not in regions or target_id not in regions:
            converted.problems.append(f"relation {source_id} -> {target_id} names a region that is not there")
            continue
        if BLAMED_ACTOR_RELATION in labels or (not labels and _is_actor(regions[target_id])):
            start, end = regions[target_id][:2]
            actors[source_id] = (start, end)
            linked.add(target_id)
    for region_id in order:
        start, end, labels, score = regions[region_id]
        for label in labels:
            if label == ACTOR_LABEL:
                if region_id not in linked:
                    converted.orphan_actors.append((start, end))
                continue
            attributes = {}
            if region_id in actors and label != ACTOR_LABEL:
                attributes["actor"] = {"start": actors[region_id][0], "end": actors[region_id][1]}
            converted.spans.append(Span(start, end, label, score, source, attributes))
    return converted


def _is_actor(region: tuple[int, int, list[str], float | None] | None) -> bool:
    return region is not None and ACTOR_LABEL in region[2]


def span_record(span: Span) -> dict[str, Any]:
    """A span as the pull output writes it: ``{start, end, label, attributes}``."""
    return {"start": span.start, "end": span.end, "label": span.label, "attributes": dict(span.attributes)}
