"""Scores per text unit (sentence, paragraph): sentence-level propaganda (SLC) and multi-label micro/macro-F1.

Units. ``"lines"``: every line that is not blank, without its surrounding whitespace (PTC lines are the
sentences NLP4IF-2019 scored; SemEval-2023 Task 3 lines are the paragraphs it scored). ``"segment"``: the
sentences of ``pipeline.segment.segment``.

Gold labels of a unit: the labels of gold spans sharing at least one character with it.
Predicted labels of a unit: the labels of predicted spans sharing at least one character with it, plus the
labels of predicted sentences that *substantially* overlap it (at least half of the shorter of the two
lies in the overlap; a model's own sentence breaks rarely coincide with the reference units exactly).

SLC (Da San Martino et al. 2019, NLP4IF-2019 shared task): a unit is gold-positive when any gold span
shares a character with it. It is predicted-positive when a substantially overlapping predicted sentence
carries a label; for a document whose predicted sentences carry no labels at all (a span-only predictor),
when any predicted span shares a character with it. Binary P/R/F1 of the positive class over all units.

Multi-label (SemEval-2023 Task 3 subtask 3 style): micro-F1 counts true/false positives and false negatives
of every (unit, label) pair; macro-F1 averages the per-label F1 over the labels present in gold or in
predictions (a label absent from both says nothing about the model). Empty cases follow
``pipeline.evaluate.scores``.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence

from pipeline.document import Sentence, Span
from pipeline.evaluate.scores import LabelCounts, Scores, scores_from_counts
from pipeline.evaluate.spans import Interval, overlap

_NON_BLANK_LINE = re.compile(r"[^\r\n]*\S[^\r\n]*")


def line_units(text: str) -> list[Interval]:
    """Non-blank lines of ``text``, each without leading and trailing whitespace."""
    units = []
    for match in _NON_BLANK_LINE.finditer(text):
        line = match.group()
        start = match.start() + len(line) - len(line.lstrip())
        end = match.end() - (len(line) - len(line.rstrip()))
        units.append((start, end))
    return units


def sentence_units(text: str) -> list[Interval]:
    """Sentences of the project's segmenter."""
    from pipeline.segment import segment  # imported here: the segmenter is only needed for this rule

    return [(sentence.start, sentence.end) for sentence in segment(text)]


UNIT_RULES: dict[str, Callable[[str], list[Interval]]] = {"lines": line_units, "segment": sentence_units}


def substantially_overlap(a: Interval, b: Interval) -> bool:
    """True when at least half of the shorter range lies in the overlap."""
    shared = overlap(a, b)
    return shared > 0 and 2 * shared >= min(a[1] - a[0], b[1] - b[0])


class UnitIndex:
    """Units in text order, without overlaps (as both unit rules give them), and which of them a range
    overlaps, found by bisection rather than by comparing every span with every unit."""

    def __init__(self, units: Sequence[Interval]) -> None:
        self.units = list(units)
        self._starts = [start for start, _ in self.units]
        self._ends = [end for _, end in self.units]
        if any(self._starts[i] < self._ends[i - 1] for i in range(1, len(self.units))):
            raise ValueError("units must be in text order and must not overlap")

    def __len__(self) -> int:
        return len(self.units)

    def overlapping(self, start: int, end: int) -> range:
        """Indices of the units that share at least one character with ``[start, end)``."""
        return range(bisect_right(self._ends, start), bisect_left(self._starts, end))

    def substantially_overlapping(self, start: int, end: int) -> list[int]:
        return [i for i in self.overlapping(start, end) if substantially_overlap(self.units[i], (start, end))]


def gold_unit_labels(units: Sequence[Interval], gold: Iterable[Span]) -> list[set[str]]:
    index = UnitIndex(units)
    result: list[set[str]] = [set() for _ in units]
    for span in gold:
        if span.label is not None:
            for i in index.overlapping(span.start, span.end):
                result[i].add(span.label)
    return result


def predicted_unit_labels(
    units: Sequence[Interval], predicted: Iterable[Span], sentences: Iterable[Sentence]
) -> list[set[str]]:
    index = UnitIndex(units)
    result = gold_unit_labels(units, predicted)  # the same rule for predicted spans
    for sentence in sentences:
        if sentence.labels:
            for i in index.substantially_overlapping(sentence.start, sentence.end):
                result[i].update(sentence.labels)
    return result


class SentencePropaganda:
    """NLP4IF-2019 SLC: binary P/R/F1 of "the unit contains propaganda". One document at a time."""

    def __init__(self) -> None:
        self._counts = LabelCounts()

    def add(
        self,
        units: Sequence[Interval],
        predicted: Iterable[Span],
        sentences: Iterable[Sentence],
        gold: Iterable[Span],
    ) -> None:
        index = UnitIndex(units)
        is_gold = [False] * len(index)
        for span in gold:
            for i in index.overlapping(span.start, span.end):
                is_gold[i] = True
        is_predicted = [False] * len(index)
        labelled = [s for s in sentences if s.labels]
        if labelled:
            hits = (i for s in labelled for i in index.substantially_overlapping(s.start, s.end))
        else:
            hits = (i for s in predicted for i in index.overlapping(s.start, s.end))
        for i in hits:
            is_predicted[i] = True
        positive = {"propaganda"}
        for gold_positive, predicted_positive in zip(is_gold, is_predicted, strict=True):
            self._counts.add(positive if gold_positive else set(), positive if predicted_positive else set())

    def scores(self) -> Scores:
        return self._counts.scores()


class MultiLabelF1:
    """Micro- and macro-F1 of label sets per unit. Feed the gold and predicted sets of each unit."""

    def __init__(self) -> None:
        self._counts = LabelCounts()

    def add(self, gold: Iterable[set[str]], predicted: Iterable[set[str]]) -> None:
        for gold_labels, predicted_labels in zip(gold, predicted, strict=True):
            self._counts.add(gold_labels, predicted_labels)

    def scores(self) -> Scores:
        """Micro scores over all (unit, label) pairs."""
        return self._counts.scores()

    def macro_f1(self) -> float:
        per_label = self.per_label()
        if not per_label:
            return scores_from_counts(0, 0, 0).f1
        return sum(s.f1 for s in per_label.values()) / len(per_label)

    def per_label(self) -> dict[str, Scores]:
        return self._counts.per_label()
