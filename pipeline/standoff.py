"""Stand-off annotations: annotated sentences stored as offsets into corpus files we may not copy.

A stand-off file is JSONL with one record per annotated sentence (the *unit*), so negatives are explicit::

    {"corpus": "semeval2025", "doc_id": "EN_UA_103861", "start": 120, "end": 245, "sha1": "0a1b2c3d4e5f",
     "split": "train", "annotator": "team-a", "guideline_version": "1.0",
     "spans": [{"start": 130, "end": 171, "label": "blame_attribution", "actor": {"start": 130, "end": 143}}],
     "note": "optional"}

Offsets index the raw corpus file as ``open(path, encoding="utf-8", newline="").read()`` returns it, end
exclusive. ``sha1`` is the first 12 hex digits of the SHA-1 of the unit's UTF-8 text, so a unit that no longer
matches its corpus file (a changed file, a wrong offset) is caught when it is loaded, not when a model learns
from the wrong sentence.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.document import Document, Sentence, Span
from pipeline.errors import InputError

DEVICE_LABELS = ("blame_attribution", "legitimation", "delegitimation")
SPLITS = ("train", "test")
SEED_PARTS = (*SPLITS, "train-only")  # the seed's files: devices-<part>.jsonl
# corpus name -> path of a document's raw text under the data root, by document id
CORPUS_FILES = {
    "semeval2025": "semeval2025-task10-en/raw-documents/{doc_id}.txt",
    "ptc": "ptc/train-articles/article{doc_id}.txt",
    # SemEval-2025 Task 10's further English documents without labels (climate and Ukraine-war news, Russian
    # outlets' coverage): the seed set reads them for device examples (wave 6)
    "semeval2025-unlabelled": "semeval2025-task10-en/unlabelled/documents/{doc_id}.txt",
}
REPO_ROOT = Path(__file__).resolve().parents[1]
SEED_DIR = REPO_ROOT / "annotations" / "seed"
_REQUIRED = {
    "corpus": str,
    "doc_id": str,
    "start": int,
    "end": int,
    "sha1": str,
    "split": str,
    "annotator": str,
    "guideline_version": str,
    "spans": list,
}
_MAX_REPORTED = 20


@dataclass(frozen=True, slots=True)
class AnnotatedUnit:
    """One annotated sentence: its place in a corpus file and the device spans found in it (maybe none).

    ``spans`` carry document offsets, ``source="human:<annotator>"`` and, for blame spans that name the
    blamed actor, ``attributes={"actor": {"start": s, "end": e}}``.
    """

    corpus: str
    doc_id: str
    start: int
    end: int
    text: str
    split: str
    annotator: str
    guideline_version: str
    spans: tuple[Span, ...] = ()
    note: str | None = None
    location: str = field(default="", compare=False)

    @property
    def labels(self) -> frozenset[str]:
        return frozenset(span.label for span in self.spans if span.label)


def default_data_root() -> Path:
    """``$FRAMING_DATA_ROOT`` when set, else ``../shared/data`` next to the repository."""
    from pipeline.data_root import data_root

    return data_root()


def document_path(corpus: str, doc_id: str, data_root: str | os.PathLike[str] | None = None) -> Path:
    if corpus not in CORPUS_FILES:
        raise InputError(f"unknown corpus {corpus!r}; expected one of {', '.join(sorted(CORPUS_FILES))}")
    root = Path(data_root) if data_root is not None else default_data_root()
    return root / CORPUS_FILES[corpus].format(doc_id=doc_id)


def read_corpus_text(path: str | os.PathLike[str]) -> str:
    """A corpus file's text exactly as offsets count it (UTF-8, line endings kept)."""
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()


def text_sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


class _TextCache:
    def __init__(self, data_root: str | os.PathLike[str] | None) -> None:
        self.data_root = Path(data_root) if data_root is not None else default_data_root()
        self._texts: dict[tuple[str, str], str] = {}

    def get(self, corpus: str, doc_id: str) -> str:
        key = (corpus, doc_id)
        if key not in self._texts:
            path = document_path(corpus, doc_id, self.data_root)
            if not path.is_file():
                raise InputError(f"corpus file {path} not found (data root {self.data_root})")
            self._texts[key] = read_corpus_text(path)
        return self._texts[key]


def load_standoff(
    path: str | os.PathLike[str],
    data_root: str | os.PathLike[str] | None = None,
    *,
    errors: list[str] | None = None,
) -> list[AnnotatedUnit]:
    """Read a stand-off file and check that every unit and span resolves against the corpus text.

    Each problem is reported as ``<file>:<line>: <what is wrong>``. With ``errors`` (a list), bad records
    are appended to it and skipped while good ones are returned; without it, an :class:`InputError` listing
    every problem is raised after the whole file has been read.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"stand-off file {path} not found")
    texts = _TextCache(data_root)
    problems: list[str] = []
    units: list[AnnotatedUnit] = []
    seen: dict[tuple[str, str, int, int], str] = {}
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            location = f"{path}:{number}"
            try:
                unit = _parse_unit(line, location, texts)
            except InputError as error:
                problems.append(f"{location}: {error}")
                continue
            key = (unit.corpus, unit.doc_id, unit.start, unit.end)
            if key in seen:
                problems.append(f"{location}: duplicate unit, first given at {seen[key]}")
                continue
            seen[key] = location
            units.append(unit)
    problems.extend(_overlap_problems(units))
    if problems and errors is None:
        shown = "\n  ".join(problems[:_MAX_REPORTED])
        more = f"\n  ... and {len(problems) - _MAX_REPORTED} more" if len(problems) > _MAX_REPORTED else ""
        raise InputError(f"{len(problems)} bad stand-off record(s) in {path}:\n  {shown}{more}")
    if errors is not None:
        errors.extend(problems)
        bad_locations = {problem.split(": ", 1)[0] for problem in problems}
        units = [unit for unit in units if unit.location not in bad_locations]
    return units


def _parse_unit(line: str, location: str, texts: _TextCache) -> AnnotatedUnit:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise InputError(f"not valid JSON ({error.msg} at column {error.colno})") from None
    if not isinstance(record, dict):
        raise InputError(f"expected a JSON object, got {type(record).__name__}")
    for key, kind in _REQUIRED.items():
        if key not in record:
            raise InputError(f"missing field {key!r}")
        if not isinstance(record[key], kind) or isinstance(record[key], bool):
            raise InputError(f"field {key!r} must be {kind.__name__}, got {record[key]!r}")
    if record["split"] not in SPLITS:
        raise InputError(f"split {record['split']!r} is not one of {', '.join(SPLITS)}")
    note = record.get("note")
    if note is not None and not isinstance(note, str):
        raise InputError(f"field 'note' must be a string, got {note!r}")
    corpus, doc_id = record["corpus"], record["doc_id"]
    text = texts.get(corpus, doc_id)
    start, end = record["start"], record["end"]
    _check_range("unit", start, end, 0, len(text), text)
    unit_text = text[start:end]
    if text_sha1(unit_text) != record["sha1"]:
        raise InputError(
            f"unit [{start}, {end}) of {corpus}/{doc_id} has sha1 {text_sha1(unit_text)}, the record says "
            f"{record['sha1']}: the corpus file changed or the offsets are wrong"
        )
    source = f"human:{record['annotator']}"
    spans = tuple(
        _parse_span(item, index, start, end, text, source) for index, item in enumerate(record["spans"])
    )
    return AnnotatedUnit(
        corpus=corpus,
        doc_id=doc_id,
        start=start,
        end=end,
        text=unit_text,
        split=record["split"],
        annotator=record["annotator"],
        guideline_version=record["guideline_version"],
        spans=spans,
        note=note,
        location=location,
    )


def _parse_span(item: Any, index: int, unit_start: int, unit_end: int, text: str, source: str) -> Span:
    where = f"spans[{index}]"
    if not isinstance(item, dict):
        raise InputError(f"{where} must be an object, got {item!r}")
    label = item.get("label")
    if label not in DEVICE_LABELS:
        raise InputError(f"{where}: label {label!r} is not one of {', '.join(DEVICE_LABELS)}")
    try:
        _check_range(f"{where} ({label})", item.get("start"), item.get("end"), unit_start, unit_end, text)
    except InputError as error:
        raise InputError(f"{error} (the unit is [{unit_start}, {unit_end}))") from None
    attributes: dict[str, Any] = {}
    actor = item.get("actor")
    if actor is not None:
        if label != "blame_attribution":
            raise InputError(f"{where}: only blame_attribution spans may name an actor, not {label}")
        if not isinstance(actor, dict):
            raise InputError(f"{where}: actor must be an object with start and end, got {actor!r}")
        _check_range(f"{where} actor", actor.get("start"), actor.get("end"), 0, len(text), text)
        attributes["actor"] = {"start": actor["start"], "end": actor["end"]}
    return Span(item["start"], item["end"], label, None, source, attributes)


def _check_range(what: str, start: Any, end: Any, low: int, high: int, text: str) -> None:
    if not all(isinstance(value, int) and not isinstance(value, bool) for value in (start, end)):
        raise InputError(f"{what}: offsets must be integers, got start={start!r}, end={end!r}")
    if not low <= start < end <= high:
        raise InputError(f"{what}: [{start}, {end}) is empty or outside [{low}, {high})")
    selected = text[start:end]
    if selected != selected.strip():
        raise InputError(f"{what}: [{start}, {end}) starts or ends with whitespace ({selected!r})")


def _overlap_problems(units: Iterable[AnnotatedUnit]) -> Iterator[str]:
    by_document: dict[tuple[str, str], list[AnnotatedUnit]] = {}
    for unit in units:
        by_document.setdefault((unit.corpus, unit.doc_id), []).append(unit)
    for group in by_document.values():
        group.sort(key=lambda unit: unit.start)
        for previous, current in zip(group, group[1:], strict=False):
            if current.start < previous.end:
                yield (
                    f"{current.location}: unit [{current.start}, {current.end}) overlaps unit "
                    f"[{previous.start}, {previous.end}) at {previous.location}"
                )


def standoff_document_id(corpus: str, doc_id: str) -> str:
    """The training id of a stand-off document: prefixed, so that it never collides with the full corpus
    document it was drawn from (their label sets differ)."""
    return f"seed:{corpus}:{doc_id}"


def annotated_document_ids(paths: Iterable[str | os.PathLike[str]]) -> set[str]:
    """The corpus ids of the documents stand-off files annotate (e.g. a held-out test set's)."""
    return {unit.doc_id for path in paths for unit in load_standoff(path)}


def units_in_documents(units: Iterable[AnnotatedUnit], training_ids: Iterable[str]) -> list[AnnotatedUnit]:
    """The units whose document is among ``training_ids`` (e.g. a model's validation documents)."""
    wanted = set(training_ids)
    return [unit for unit in units if standoff_document_id(unit.corpus, unit.doc_id) in wanted]


def to_documents(
    units: Iterable[AnnotatedUnit], data_root: str | os.PathLike[str] | None = None
) -> list[Document]:
    """Group units into one :class:`Document` per corpus document, in order of first appearance.

    Each annotated unit becomes a sentence whose ``labels`` give every device 1.0 (present) or 0.0
    (absent); text outside the units was not annotated, so it is unknown, not negative.
    ``metadata`` records ``corpus``, ``doc_id``, ``split``, ``annotated_ranges``, ``annotators`` and
    ``guideline_versions``. A document whose units fall in different splits is an error: splits are by
    document.
    """
    texts = _TextCache(data_root)
    groups: dict[tuple[str, str], list[AnnotatedUnit]] = {}
    for unit in units:
        groups.setdefault((unit.corpus, unit.doc_id), []).append(unit)
    documents = []
    for (corpus, doc_id), group in groups.items():
        splits = sorted({unit.split for unit in group})
        if len(splits) > 1:
            places = ", ".join(f"{unit.location} ({unit.split})" for unit in group[:4])
            raise InputError(f"document {corpus}/{doc_id} has units in splits {splits}: {places}")
        group.sort(key=lambda unit: unit.start)
        sentences = [
            Sentence(unit.start, unit.end, {label: float(label in unit.labels) for label in DEVICE_LABELS})
            for unit in group
        ]
        metadata: Mapping[str, Any] = {
            "corpus": corpus,
            "doc_id": doc_id,
            "split": splits[0],
            "annotated_ranges": [[unit.start, unit.end] for unit in group],
            "annotators": sorted({unit.annotator for unit in group}),
            "guideline_versions": sorted({unit.guideline_version for unit in group}),
        }
        spans = [span for unit in group for span in unit.spans]
        documents.append(Document(doc_id, texts.get(corpus, doc_id), metadata, sentences, spans))
    return documents


def load_seed(
    split: str,
    data_root: str | os.PathLike[str] | None = None,
    *,
    seed_dir: str | os.PathLike[str] | None = None,
) -> list[AnnotatedUnit]:
    """The team's seed set for ``split`` (``train``, ``test``, or ``train-only``: training units in documents a
    model proposed them from, which a config reads with ``train_only: true``), checked against the corpus."""
    if split not in SEED_PARTS:
        raise InputError(f"split {split!r} is not one of {', '.join(SEED_PARTS)}")
    directory = Path(seed_dir) if seed_dir is not None else SEED_DIR
    return load_standoff(directory / f"devices-{split}.jsonl", data_root)
