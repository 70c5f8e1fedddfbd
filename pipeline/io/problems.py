"""Problems found in input data, each with where it was found.

Readers append per-record problems to an :class:`ErrorReport` and go on with the next record, so one bad
line never costs the good ones. Problems that make a whole input unreadable (a missing text column, an
unknown format, a path that does not exist) are raised as :class:`~pipeline.errors.InputError` instead.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from pipeline.errors import InputError

ERROR = "error"  # the record was not processed
WARNING = "warning"  # the record was processed, but the user should know something about it

logger = logging.getLogger("pipeline.io")


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem: ``source`` (a file, or ``<stdin>``) and the line, record number or byte offset in it."""

    source: str
    message: str
    severity: str = ERROR
    line: int | None = None
    record: int | None = None
    byte: int | None = None

    @property
    def location(self) -> str:
        """``file:line`` when the line is known, else ``file: record N`` or ``file: byte N``."""
        if self.line is not None:
            return f"{self.source}:{self.line}"
        if self.record is not None:
            return f"{self.source}: record {self.record}"
        if self.byte is not None:
            return f"{self.source}: byte {self.byte}"
        return self.source

    def __str__(self) -> str:
        return f"{self.location}: {self.severity}: {self.message}"


class SeenIds:
    """The document ids read so far, to find duplicates in constant memory per document.

    Each id is kept as a 64-bit hash (BLAKE2b), not as its text: in CPython's ``set`` that costs about 73 MB
    per million documents, however long the ids are. Two different ids share a hash with probability about
    n^2 / 2^65 (3 in 100 million for a million documents); such an id would be reported as a duplicate.
    """

    BYTES_PER_ID = 73  # measured: peak traced memory of 1,000,000 ids, set resizing included

    def __init__(self) -> None:
        self._hashes: set[int] = set()

    def add(self, doc_id: str) -> bool:
        """Remember ``doc_id``; False when it was seen before."""
        digest = hashlib.blake2b(doc_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
        key = int.from_bytes(digest, "little")
        if key in self._hashes:
            return False
        self._hashes.add(key)
        return True

    def __len__(self) -> int:
        return len(self._hashes)


class ErrorReport:
    """Collects problems while documents stream through; counts everything, keeps the first ``keep``.

    ``on_problem`` is called with each problem as it happens (the CLI prints it). With ``raise_errors`` an
    error raises :class:`InputError` at once and warnings go to the ``pipeline.io`` logger: what
    :func:`~pipeline.io.read_documents` does when it is given no report, so that library callers never
    lose a record silently. ``ids`` (set by :func:`~pipeline.io.read_documents`) holds the ids read so far,
    so that a duplicate is reported.
    """

    def __init__(
        self,
        on_problem: Callable[[Problem], None] | None = None,
        *,
        keep: int = 1000,
        raise_errors: bool = False,
    ) -> None:
        self.problems: list[Problem] = []
        self.errors = 0
        self.warnings = 0
        self.documents = 0
        self._on_problem = on_problem
        self._keep = keep
        self._raise_errors = raise_errors
        self.ids: SeenIds | None = None

    def add(self, problem: Problem) -> Problem:
        if problem.severity == ERROR:
            self.errors += 1
            if self._raise_errors:
                raise InputError(f"{problem.location}: {problem.message}")
        else:
            self.warnings += 1
            if self._raise_errors:
                logger.warning("%s", problem)
        if len(self.problems) < self._keep:
            self.problems.append(problem)
        if self._on_problem is not None:
            self._on_problem(problem)
        return problem

    def error(self, source: str, message: str, **where: int | None) -> Problem:
        return self.add(Problem(source, message, ERROR, **where))

    def warning(self, source: str, message: str, **where: int | None) -> Problem:
        return self.add(Problem(source, message, WARNING, **where))

    @property
    def has_errors(self) -> bool:
        return self.errors > 0

    def summary(self) -> str:
        """One line, e.g. ``12 documents read; 2 bad records skipped; 1 warning`` (``0 documents read``)."""
        parts = [_plural(self.documents, "document") + " read"]
        if self.errors:
            parts.append(_plural(self.errors, "bad record") + " skipped")
        if self.warnings:
            parts.append(_plural(self.warnings, "warning"))
        return "; ".join(parts)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
