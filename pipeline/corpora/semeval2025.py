"""SemEval-2025 Task 10 (English): ``raw-documents/*.txt`` with entity mentions and their roles in
``subtask-1-annotations.txt`` (file, mention, start, end, main role, fine roles...), narratives in
``subtask-2-annotations.txt`` and dominant-narrative explanations in ``subtask-3-annotations.txt``.

Mention offsets are INCLUSIVE and counted in UTF-16 code units; they are converted exactly (a lookup table is
built only for documents with astral characters) and every converted mention is checked against the mention
string the file gives. Every mention becomes a gold span with ``attributes`` ``source_label`` (the role that
decided its label), ``main_role``, ``fine_roles`` and ``kind="entity_mention"``, and ``label`` = the project id
its roles are evidence for through the taxonomy (``None`` for roles that are evidence for none). These spans
mark the ACTOR, not the text that blames it, so they are weak evidence: ``metadata["annotated_labels"]`` is
empty, and training must opt in to use them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipeline.corpora.common import (
    Problems,
    Utf16Offsets,
    gold_spans,
    parse_offsets,
    read_rows,
    readable_texts,
    require,
    span_order,
)
from pipeline.document import Document, Span
from pipeline.errors import FramingError, InputError
from pipeline.taxonomy import Taxonomy, load_taxonomy

CORPUS = "semeval2025"
DOCUMENTS_DIR = "raw-documents"
ENTITIES_FILE = "subtask-1-annotations.txt"
NARRATIVES_FILE = "subtask-2-annotations.txt"
EXPLANATIONS_FILE = "subtask-3-annotations.txt"
MENTION_KIND = "entity_mention"


def load_semeval2025(
    path: str | os.PathLike[str], *, taxonomy: Taxonomy | None = None, errors: list[str] | None = None
) -> Iterator[Document]:
    """Stream the corpus at ``path`` as one :class:`Document` per raw document, with one gold span per entity
    mention and the document's narratives (when given) in its metadata."""
    root = Path(path)
    taxonomy = taxonomy or load_taxonomy()
    taxonomy.source_labels(CORPUS)  # no table for this corpus: a ConfigError now, not one per line
    documents_dir = require(root / DOCUMENTS_DIR, "the documents", CORPUS, directory=True)
    entities_file = require(root / ENTITIES_FILE, "the entity annotations", CORPUS)
    problems = Problems(CORPUS, errors)
    files = {file.stem: file for file in sorted(documents_dir.glob("*.txt"))}
    mentions = _read_mentions(entities_file, files, taxonomy, problems)
    narratives = _read_narratives(root / NARRATIVES_FILE, files, problems)
    explanations = _read_explanations(root / EXPLANATIONS_FILE, files, problems)

    def documents() -> Iterator[Document]:
        for doc_id, file, text in readable_texts(files, problems, "document"):
            metadata: dict[str, Any] = {
                "corpus": CORPUS,
                "doc_id": doc_id,
                "file": f"{DOCUMENTS_DIR}/{file.name}",
                "annotated_labels": [],
                **narratives.get(doc_id, {}),
                **explanations.get(doc_id, {}),
            }
            spans = _mention_spans(text, mentions.get(doc_id, ()), taxonomy, problems)
            yield Document(doc_id, text, metadata, spans=spans)

    return documents()


def _doc_id(name: str) -> str:
    return name[: -len(".txt")] if name.endswith(".txt") else name


def _read_mentions(
    path: Path, files: dict[str, Path], taxonomy: Taxonomy, problems: Problems
) -> dict[str, list[tuple[str, str, int, int, str, list[str]]]]:
    mentions: dict[str, list[tuple[str, str, int, int, str, list[str]]]] = {}
    for number, row in read_rows(path, problems):
        where = f"{path}:{number}"
        if len(row) < 5:
            problems.add(where, f"expected file, mention, start, end, main role, fine roles; got {len(row)} fields")
            continue
        name, mention, start, end, main_role = row[:5]
        doc_id, main_role = _doc_id(name.strip()), main_role.strip()
        fine_roles = [role.strip() for role in row[5:] if role.strip()]
        if doc_id not in files:
            problems.add(where, f"unknown document {name!r}: no file {DOCUMENTS_DIR}/{doc_id}.txt")
            continue
        try:
            for role in (main_role, *fine_roles):
                taxonomy.map_label(CORPUS, role)
            offsets = parse_offsets(start, end)
        except FramingError as error:
            problems.add(where, str(error))
            continue
        mentions.setdefault(doc_id, []).append((where, mention, *offsets, main_role, fine_roles))
    return mentions


def _mention_spans(text: str, mentions: Any, taxonomy: Taxonomy, problems: Problems) -> list[Span]:
    utf16 = Utf16Offsets(text)
    spans: list[Span] = []
    for where, mention, start16, end16, main_role, fine_roles in mentions:
        try:
            start, end = utf16.span(start16, end16, end_inclusive=True)
        except ValueError as error:
            problems.add(where, str(error))
            continue
        if text[start:end] != mention:
            problems.add(
                where,
                f"UTF-16 offsets [{start16}, {end16}] give {text[start:end]!r}, not the mention {mention!r}",
            )
            continue
        label_ids, source_label = role_labels(taxonomy, main_role, fine_roles)
        attributes = {
            "source_label": source_label,
            "main_role": main_role,
            "fine_roles": list(fine_roles),
            "kind": MENTION_KIND,
        }
        try:
            spans.extend(gold_spans(text, start, end, label_ids, attributes))
        except InputError as error:
            problems.add(where, str(error))
    return sorted(spans, key=span_order)


def role_labels(taxonomy: Taxonomy, main_role: str, fine_roles: list[str]) -> tuple[tuple[str, ...], str]:
    """The project ids a mention's roles are evidence for (in taxonomy order), and the role that decided.

    Fine roles decide; the main role is used only when no fine role is given.
    """
    roles = fine_roles or [main_role]
    found: set[str] = set()
    deciding = None
    for role in roles:
        ids = taxonomy.map_label(CORPUS, role)
        if ids and deciding is None:
            deciding = role
        found.update(ids)
    return tuple(label_id for label_id in taxonomy.ids if label_id in found), deciding or roles[0]


def _read_narratives(path: Path, files: dict[str, Path], problems: Problems) -> dict[str, dict[str, list[str]]]:
    """Document id -> ``narratives`` and ``subnarratives`` (``;``-separated; narratives de-duplicated)."""
    found: dict[str, dict[str, list[str]]] = {}
    if not path.is_file():
        return found
    for number, row in read_rows(path, problems):
        where = f"{path}:{number}"
        if len(row) != 3:
            problems.add(where, f"expected 3 tab-separated fields (file, narratives, subnarratives), got {len(row)}")
            continue
        doc_id = _doc_id(row[0].strip())
        if doc_id not in files:
            problems.add(where, f"unknown document {row[0]!r}")
            continue
        if doc_id in found:
            problems.add(where, f"document {row[0]!r} is listed twice")
            continue
        narratives, subnarratives = ([item.strip() for item in field.split(";") if item.strip()] for field in row[1:])
        found[doc_id] = {"narratives": list(dict.fromkeys(narratives)), "subnarratives": subnarratives}
    return found


def _read_explanations(path: Path, files: dict[str, Path], problems: Problems) -> dict[str, dict[str, str]]:
    """Document id -> ``dominant_narrative``, ``dominant_subnarrative`` and ``narrative_explanation``."""
    found: dict[str, dict[str, str]] = {}
    if not path.is_file():
        return found
    for number, row in read_rows(path, problems):
        where = f"{path}:{number}"
        if len(row) != 4:
            problems.add(
                where,
                f"expected 4 tab-separated fields (file, narrative, subnarrative, explanation), got {len(row)}",
            )
            continue
        doc_id = _doc_id(row[0].strip())
        if doc_id not in files:
            problems.add(where, f"unknown document {row[0]!r}")
            continue
        found[doc_id] = {
            "dominant_narrative": row[1].strip(),
            "dominant_subnarrative": row[2].strip(),
            "narrative_explanation": row[3].strip(),
        }
    return found
