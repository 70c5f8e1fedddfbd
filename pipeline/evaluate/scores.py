"""Precision, recall and F1 from sums and counts, with one convention for the empty cases everywhere.

The convention is the official SemEval-2020 Task 11 scorer's (``compute_prec_rec_f1`` in
``tools/task-SI_scorer.py``): precision is 0 when nothing is predicted, recall is 0 when nothing is gold,
F1 is 1 when both are empty (nothing to find, nothing found), otherwise 0 unless both P and R are positive.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Scores:
    """Precision, recall and F1 of one metric; ``support`` is the number of gold items it was scored on."""

    precision: float
    recall: float
    f1: float
    support: int

    def to_dict(self) -> dict[str, float | int]:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1, "support": self.support}


def scores_from_sums(precision_sum: float, predicted: int, recall_sum: float, gold: int) -> Scores:
    """P = precision_sum / predicted, R = recall_sum / gold, F1 their harmonic mean (see module docstring)."""
    precision = precision_sum / predicted if predicted else 0.0
    recall = recall_sum / gold if gold else 0.0
    if not predicted and not gold:
        f1 = 1.0
    elif precision > 0 and recall > 0:
        f1 = 2 * precision * recall / (precision + recall)
    else:
        f1 = 0.0
    return Scores(precision, recall, f1, gold)


def scores_from_counts(true_positives: int, false_positives: int, false_negatives: int) -> Scores:
    return scores_from_sums(
        true_positives, true_positives + false_positives, true_positives, true_positives + false_negatives
    )


class LabelCounts:
    """True and false positives and false negatives per label, from pairs of gold and predicted sets."""

    def __init__(self) -> None:
        self._counts: dict[str, list[int]] = {}  # label -> [tp, fp, fn]

    def add(self, gold: set[str], predicted: set[str]) -> None:
        for label in gold | predicted:
            counts = self._counts.setdefault(label, [0, 0, 0])
            counts[0 if label in gold and label in predicted else 1 if label in predicted else 2] += 1

    def scores(self) -> Scores:
        """Micro scores over all labels."""
        return scores_from_counts(*(sum(c[i] for c in self._counts.values()) for i in range(3)))

    def per_label(self) -> dict[str, Scores]:
        """Scores of each label seen in gold or predictions, sorted by label."""
        return {label: scores_from_counts(*counts) for label, counts in sorted(self._counts.items())}
