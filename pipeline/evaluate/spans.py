"""Span scorers that credit partial overlap in proportion to the overlapping characters.

For predicted spans S and gold spans T, C(s, t, h) = |s ∩ t| / h (characters), and

    P(S, T) = 1/|S| · Σ_{s∈S} Σ_{t∈T} C(s, t, |s|)        R(S, T) = 1/|T| · Σ_{t∈T} Σ_{s∈S} C(s, t, |t|)

summed over all documents before dividing (|S| and |T| count spans of the whole corpus), as in Da San
Martino et al. (EMNLP 2019) and the official SemEval-2020 Task 11 SI scorer (``tools/task-SI_scorer.py``,
``compute_score_pr``). SI ignores labels, so the spans of a document are first merged where they share a
character (gold and predicted separately; the official scorer merges gold always and predictions with
``--merge-user-annotations``). The technique-aware variant computes C only between spans of the same label
and merges only same-label overlaps, as the official SemEval-2020 FLC / SemEval-2021 Task 6 span scorers do
(``gd[0] == sd[0]`` in their ``compute_score_pr``); micro scores sum over labels, per-label scores use the
spans of that label only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from pipeline.document import Span
from pipeline.evaluate.scores import Scores, scores_from_sums

Interval = tuple[int, int]


def overlap(a: Interval, b: Interval) -> int:
    """Number of characters two ``[start, end)`` ranges share."""
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def merge_overlapping(intervals: Iterable[Interval]) -> list[Interval]:
    """The union of ranges that share at least one character; ranges that merely touch stay apart."""
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


class _OverlapSums:
    """Running numerators and denominators of P and R over a corpus."""

    __slots__ = ("precision_sum", "predicted", "recall_sum", "gold")

    def __init__(self) -> None:
        self.precision_sum = 0.0
        self.predicted = 0
        self.recall_sum = 0.0
        self.gold = 0

    def add(self, predicted: list[Interval], gold: list[Interval]) -> None:
        for s in predicted:
            for t in gold:
                shared = overlap(s, t)
                if shared:
                    self.precision_sum += shared / (s[1] - s[0])
                    self.recall_sum += shared / (t[1] - t[0])
        self.predicted += len(predicted)
        self.gold += len(gold)

    def scores(self) -> Scores:
        return scores_from_sums(self.precision_sum, self.predicted, self.recall_sum, self.gold)


class SpanIdentification:
    """SemEval-2020 Task 11 SI: label-blind precision and recall crediting partial overlap.

    Feed one document at a time with ``add``; read the corpus scores with ``scores``.
    """

    def __init__(self) -> None:
        self._sums = _OverlapSums()

    def add(self, predicted: Iterable[Span], gold: Iterable[Span]) -> None:
        self._sums.add(
            merge_overlapping((s.start, s.end) for s in predicted),
            merge_overlapping((s.start, s.end) for s in gold),
        )

    def scores(self) -> Scores:
        return self._sums.scores()


class TechniqueSpanF1:
    """Technique-aware span P/R/F1: SI's overlap credit counted only between spans of the same label.

    Spans without a label cannot match any technique and are ignored here (SI still counts them).
    """

    def __init__(self) -> None:
        self._per_label: dict[str, _OverlapSums] = defaultdict(_OverlapSums)

    def add(self, predicted: Iterable[Span], gold: Iterable[Span]) -> None:
        predicted_by_label, gold_by_label = _by_label(predicted), _by_label(gold)
        for label in predicted_by_label.keys() | gold_by_label.keys():
            self._per_label[label].add(
                merge_overlapping(predicted_by_label.get(label, ())),
                merge_overlapping(gold_by_label.get(label, ())),
            )

    def scores(self) -> Scores:
        """Micro scores: numerators and denominators summed over all labels."""
        sums = self._per_label.values()
        return scores_from_sums(
            sum(s.precision_sum for s in sums),
            sum(s.predicted for s in sums),
            sum(s.recall_sum for s in sums),
            sum(s.gold for s in sums),
        )

    def per_label(self) -> dict[str, Scores]:
        """Scores of each label seen in gold or predictions."""
        return {label: sums.scores() for label, sums in sorted(self._per_label.items())}


def _by_label(spans: Iterable[Span]) -> dict[str, list[Interval]]:
    grouped: dict[str, list[Interval]] = defaultdict(list)
    for span in spans:
        if span.label is not None:
            grouped[span.label].append((span.start, span.end))
    return grouped
