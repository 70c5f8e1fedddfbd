"""Technique classification of given gold fragments (SemEval-2020 Task 11 TC): micro-F1.

The official TC scorer (``tools/task-TC_scorer.py``, ``Annotations.compute_TC_score``) takes exactly one
predicted technique per gold fragment, pairs equal labels among the annotations that share the same offsets
(``align_annotations``), and reports sklearn's micro-F1 over the pairs. We do the same per fragment: the k
distinct gold labels at one ``[start, end)`` get the model's k best labels for that range, and each label in
both sets is a hit. Micro precision = hits / predicted labels, recall = hits / gold labels; they equal the
official accuracy-like micro-F1 whenever the model offers k labels (it offers fewer only when it predicts
nothing anywhere near the fragment).

A model's labels for a fragment, best first: labels of predicted spans overlapping it, ranked by how closely
their span matches the fragment (intersection over union of the characters, after merging same-label
overlaps; ties: higher span score), so that a short loaded phrase inside a long doubt span is classified as
the phrase, not the span around it; then, to fill the remaining places, labels of predicted sentences
overlapping the fragment, ranked by their score (``Sentence.scores`` where the model gives every label's
score, else the asserted ``labels``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from pipeline.document import Sentence, Span
from pipeline.evaluate.scores import LabelCounts, Scores
from pipeline.evaluate.spans import Interval, merge_overlapping, overlap


def gold_fragments(gold: Iterable[Span]) -> dict[Interval, set[str]]:
    """Distinct labels of the gold spans, grouped by identical offsets."""
    fragments: dict[Interval, set[str]] = defaultdict(set)
    for span in gold:
        if span.label is not None:
            fragments[(span.start, span.end)].add(span.label)
    return dict(fragments)


def rank_fragment_labels(
    fragment: Interval, predicted: Iterable[Span], sentences: Iterable[Sentence] = ()
) -> list[str]:
    """The model's labels for ``fragment``, best first (rule in the module docstring)."""
    by_label: dict[str, list[Interval]] = defaultdict(list)
    best_score: dict[str, float] = defaultdict(float)
    for span in predicted:
        if span.label is not None and overlap(fragment, (span.start, span.end)):
            by_label[span.label].append((span.start, span.end))
            best_score[span.label] = max(best_score[span.label], span.score or 0.0)
    agreement = {
        label: max(_intersection_over_union(fragment, merged) for merged in merge_overlapping(intervals))
        for label, intervals in by_label.items()
    }
    ranked = sorted(agreement, key=lambda label: (-agreement[label], -best_score[label], label))

    sentence_score: dict[str, float] = {}
    for sentence in sentences:
        if overlap(fragment, (sentence.start, sentence.end)):
            # TC is a forced choice: every label's score counts where the model gives them, not only the
            # labels it asserts
            for label, score in {**getattr(sentence, "scores", {}), **sentence.labels}.items():
                sentence_score[label] = max(sentence_score.get(label, float("-inf")), score)
    ranked += sorted(
        (label for label in sentence_score if label not in agreement),
        key=lambda label: (-sentence_score[label], label),
    )
    return ranked


class TechniqueClassification:
    """Micro P/R/F1 of technique labels on gold fragments, with per-label scores. One document at a time."""

    def __init__(self) -> None:
        self._counts = LabelCounts()

    def add(self, predicted: Iterable[Span], sentences: Iterable[Sentence], gold: Iterable[Span]) -> None:
        predicted, sentences = list(predicted), list(sentences)
        for fragment, gold_labels in gold_fragments(gold).items():
            guessed = rank_fragment_labels(fragment, predicted, sentences)[: len(gold_labels)]
            self._counts.add(gold_labels, set(guessed))

    def scores(self) -> Scores:
        return self._counts.scores()

    def per_label(self) -> dict[str, Scores]:
        return self._counts.per_label()


def _intersection_over_union(a: Interval, b: Interval) -> float:
    shared = overlap(a, b)
    return shared / (max(a[1], b[1]) - min(a[0], b[0])) if shared else 0.0  # overlapping: union is the hull
