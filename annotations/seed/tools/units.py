"""Sentence units of a corpus document: exact, trimmed (start, end) offsets into the raw file text.

PTC files already hold one sentence per line, so a PTC unit is a line. SemEval-2025 lines are paragraphs,
which pysbd splits into sentences; each sentence is located in the paragraph by search from the previous
one, so the offsets are exact even where pysbd would report drifting character spans.
"""

from __future__ import annotations

import re
from pathlib import Path

import pysbd

from pipeline.standoff import CORPUS_FILES, default_data_root, read_corpus_text

_LINE = re.compile(r"[^\n]+")
_SEGMENTER = pysbd.Segmenter(language="en", clean=False, char_span=False)


def document_ids(corpus: str, data_root: Path | None = None) -> list[str]:
    """Document ids of a corpus, sorted."""
    root = data_root or default_data_root()
    pattern = CORPUS_FILES[corpus]
    folder, name = pattern.rsplit("/", 1)
    prefix, suffix = name.split("{doc_id}")
    return sorted(p.name[len(prefix) : -len(suffix)] for p in (root / folder).glob(f"{prefix}*{suffix}"))


def trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def split_units(corpus: str, text: str) -> list[tuple[int, int]]:
    units = []
    for line in _LINE.finditer(text):
        if corpus == "ptc":
            pieces = [(line.start(), line.end())]
        else:
            pieces, cursor = [], 0
            for sentence in _SEGMENTER.segment(line.group()):
                sentence = sentence.strip()
                if not sentence:
                    continue
                at = line.group().find(sentence, cursor)
                if at < 0:  # pysbd changed the text: fall back to the whole paragraph
                    pieces = [(line.start(), line.end())]
                    break
                pieces.append((line.start() + at, line.start() + at + len(sentence)))
                cursor = at + len(sentence)
        units.extend(span for span in (trimmed(text, s, e) for s, e in pieces) if span)
    return units


def load_text(corpus: str, doc_id: str, data_root: Path | None = None) -> str:
    root = data_root or default_data_root()
    return read_corpus_text(root / CORPUS_FILES[corpus].format(doc_id=doc_id))
