"""What the corpus loaders share: reading files exactly, UTF-16 offsets, span trimming, problem reports.

Corpus texts are read as ``open(path, encoding="utf-8", newline="").read()`` returns them (line endings and a
leading byte-order mark kept), because that is what the corpora's offsets count.

Trimming rule (the PTC v2 convention). No fragment of the PTC v2 release (SemEval-2020 Task 11) starts or ends
with whitespace or with one of the separators ``. , ; :``, while the SemEval-2023 re-release of the same
articles has 53 fragments that start or end with a space, newline, period or comma. So gold spans are trimmed
of whitespace (and the invisible U+FEFF / U+200B) and of those separators, at both ends only.
Quotes, brackets, ``?``, ``!``, ``…`` and dashes are kept, as PTC v2 keeps them (194 of its fragments end in
a closing quote, 75 in ``?``): they belong to the quoted or exclaimed fragment.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pipeline.document import Span
from pipeline.errors import FramingError, InputError
from pipeline.taxonomy import Taxonomy

GOLD = "gold"
_log = logging.getLogger("pipeline.corpora")

_TRIM_PUNCTUATION = frozenset(".,;:\ufeff\u200b")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_ARTICLE_FILE = re.compile(r"article(\w+)\.txt")


def read_text(path: Path) -> str:
    """A corpus file's text exactly as offsets count it (UTF-8, line endings and BOM kept)."""
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            return handle.read()
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: not UTF-8 (byte {error.start}: {error.reason})") from None
    except OSError as error:
        raise InputError(f"{path}: cannot read ({error.strerror})") from None


def readable_texts(files: Mapping[str, Path], problems: Problems, what: str = "article"
                   ) -> Iterator[tuple[str, Path, str]]:
    """``(doc id, file, text)`` of each file; one that cannot be read is reported and skipped."""
    for doc_id, file in files.items():
        try:
            text = read_text(file)
        except InputError as error:
            problems.report(f"{error}; {what} skipped")
            continue
        yield doc_id, file, text


def read_rows(path: Path, problems: Problems | None = None) -> Iterator[tuple[int, list[str]]]:
    """Tab-separated rows of a label file with their 1-based line numbers; blank lines are skipped.

    A file that cannot be read or decoded raises :class:`InputError`, or is reported to ``problems`` (and the
    rest of it skipped) when given.
    """
    try:
        with open(path, encoding="utf-8-sig") as handle:  # universal newlines: CRLF files are common here
            for number, line in enumerate(handle, start=1):
                line = line.rstrip("\n")
                if line.strip():
                    yield number, line.split("\t")
    except (UnicodeDecodeError, OSError) as error:
        if isinstance(error, UnicodeDecodeError):
            reason = f"not UTF-8 (byte {error.start}: {error.reason})"
        else:
            reason = f"cannot read ({error.strerror})"
        if problems is None:
            raise InputError(f"{path}: {reason}") from None
        problems.add(str(path), f"{reason}; the rest of the file is skipped")


def parse_offsets(start: str, end: str) -> tuple[int, int]:
    """Two decimal offset fields as integers; :class:`InputError` naming the bad field otherwise."""
    values = []
    for name, field in (("start", start), ("end", end)):
        field = field.strip()
        if not field.isdecimal():
            raise InputError(f"{name} offset {field!r} is not a non-negative integer")
        values.append(int(field))
    return values[0], values[1]


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    """``[start, end)`` without surrounding whitespace and separators (see the module docstring).

    Returns an empty range (``start == end``) when nothing is left.
    """
    while start < end and _trimmable(text[start]):
        start += 1
    while end > start and _trimmable(text[end - 1]):
        end -= 1
    return start, end


def _trimmable(char: str) -> bool:
    return char.isspace() or char in _TRIM_PUNCTUATION


class Utf16Offsets:
    """Converts offsets counted in UTF-16 code units (as JavaScript counts) into Python string indices.

    The two counts differ only after an astral character (an emoji, say), which takes two UTF-16 units and
    one Python character, so a lookup table is built only for texts that contain one.
    """

    def __init__(self, text: str) -> None:
        self._length = len(text)
        self._index: list[int] | None = None  # code unit -> index of the character it belongs to
        self._first: list[bool] | None = None  # is this code unit the first of its character?
        if _ASTRAL.search(text):
            index, first = [], []
            for position, char in enumerate(text):
                units = 2 if ord(char) > 0xFFFF else 1
                index.extend([position] * units)
                first.extend([True] + [False] * (units - 1))
            self._index, self._first = index, first

    @property
    def units(self) -> int:
        return self._length if self._index is None else len(self._index)

    def span(self, start: int, end: int, *, end_inclusive: bool = False) -> tuple[int, int]:
        """Python ``[start, end)`` for a UTF-16 range; ``end_inclusive`` when ``end`` is the last unit inside.

        Raises ``ValueError`` when the range falls outside the text or splits a character.
        """
        last = end if end_inclusive else end - 1  # the last code unit inside the range
        if not 0 <= start <= last < self.units:
            shown = f"[{start}, {end}]" if end_inclusive else f"[{start}, {end})"
            raise ValueError(f"UTF-16 range {shown} is empty or outside the text ({self.units} code units)")
        if self._index is None:
            return start, last + 1
        if not self._first[start]:
            raise ValueError(f"UTF-16 offset {start} falls inside a surrogate pair")
        if last + 1 < len(self._first) and not self._first[last + 1]:
            raise ValueError(f"UTF-16 range ends at unit {last}, inside a surrogate pair")
        return self._index[start], self._index[last] + 1


class Problems:
    """Collects ``<file>:<line>: <what is wrong>`` reports while a corpus loads; the bad record is skipped.

    With a list (``errors``), each report is appended to it as it is found; without one, it is logged as a
    warning on the ``pipeline.corpora`` logger, so a bad record never costs the rest of the corpus.
    """

    def __init__(self, corpus: str, errors: list[str] | None) -> None:
        self.corpus = corpus
        self.errors = errors
        self.reports: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.report(f"{where}: {message}")

    def report(self, report: str) -> None:
        """Record a report that already names its place (an :class:`InputError` message, say)."""
        self.reports.append(report)
        if self.errors is not None:
            self.errors.append(report)
        else:
            _log.warning("%s corpus: %s", self.corpus, report)


def require(path: Path, what: str, corpus: str, *, directory: bool = False) -> Path:
    """``path`` if it exists, else an :class:`InputError` that says which part of the layout is missing."""
    ok = path.is_dir() if directory else path.is_file()
    if not ok:
        kind = "directory" if directory else "file"
        raise InputError(f"not a {corpus} corpus: {kind} {path} ({what}) not found")
    return path


def gold_spans(text: str, start: int, end: int, label_ids: tuple[str, ...], attributes: dict[str, Any]) -> list[Span]:
    """Gold spans for one annotated fragment ``text[start:end]``, trimmed, one per project id.

    A fragment mapped to no project id gives one span with ``label=None`` (kept for span identification).
    Raises :class:`InputError` for a range outside the text and for a fragment that trims to nothing.
    """
    if end > len(text):
        raise InputError(f"range [{start}, {end}) falls outside the text ({len(text)} characters)")
    if start >= end:
        raise InputError(f"range [{start}, {end}) is empty or reversed")
    trimmed_start, trimmed_end = trim(text, start, end)
    if trimmed_start == trimmed_end:
        raise InputError(f"fragment [{start}, {end}) {text[start:end]!r} is nothing but whitespace and punctuation")
    return [
        Span(trimmed_start, trimmed_end, label, source=GOLD, attributes=attributes) for label in (label_ids or (None,))
    ]


def span_order(span: Span) -> tuple[int, int, str]:
    return span.start, span.end, span.label or ""


def article_files(directory: Path, problems: Problems) -> dict[str, Path]:
    """``article<ID>.txt`` files of a PTC-style articles directory, by article id, in id order."""
    files: dict[str, Path] = {}
    for path in sorted(directory.iterdir()):
        match = _ARTICLE_FILE.fullmatch(path.name)
        if match:
            files[match.group(1)] = path
        elif path.suffix == ".txt":
            problems.add(str(path), "not named article<ID>.txt, so no label can refer to it; skipped")
    return dict(sorted(files.items(), key=lambda item: (len(item[0]), item[0])))


class TechniqueRows:
    """Technique label rows ``article id, technique, start, end`` (end exclusive), grouped by article.

    Each row is checked as it is added (field count, known article, known technique, integer offsets) and a
    bad one is reported with its file and line; :meth:`spans` turns an article's rows into gold spans.
    """

    def __init__(self, corpus: str, taxonomy: Taxonomy, articles: dict[str, Path], problems: Problems) -> None:
        taxonomy.source_labels(corpus)  # a taxonomy without a table for this corpus is a ConfigError, now
        self.corpus = corpus
        self.taxonomy = taxonomy
        self.articles = articles
        self.problems = problems
        self._rows: dict[str, list[tuple[str, str, int, int]]] = {}

    def add(self, where: str, row: list[str], expected_id: str | None = None) -> None:
        if len(row) != 4:
            self.problems.add(
                where, f"expected 4 tab-separated fields (article id, technique, start, end), got {len(row)}"
            )
            return
        doc_id, technique, start, end = (field.strip() for field in row)
        if expected_id is not None and doc_id != expected_id:
            self.problems.add(where, f"article id {doc_id!r} does not match the file's article {expected_id!r}")
            return
        if doc_id not in self.articles:
            self.problems.add(where, f"unknown article {doc_id!r}: no file article{doc_id}.txt")
            return
        try:
            self.taxonomy.map_label(self.corpus, technique)
            offsets = parse_offsets(start, end)
        except FramingError as error:
            self.problems.add(where, str(error))
            return
        self._rows.setdefault(doc_id, []).append((where, technique, *offsets))

    def spans(self, doc_id: str, text: str) -> list[Span]:
        spans: list[Span] = []
        for where, technique, start, end in self._rows.get(doc_id, ()):
            attributes: dict[str, Any] = {"source_label": technique}
            candidates = self.taxonomy.candidates(self.corpus, technique)
            if candidates:
                attributes["candidates"] = list(candidates)
            try:
                spans.extend(gold_spans(text, start, end, self.taxonomy.map_label(self.corpus, technique), attributes))
            except InputError as error:
                self.problems.add(where, str(error))
        return sorted(spans, key=span_order)
