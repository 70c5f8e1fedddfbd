"""The one scorer module: used by training, ``framing evaluate``, retraining and benchmarks.

- ``spans``: span identification (SemEval-2020 Task 11 SI) and technique-aware span F1;
- ``fragments``: technique classification of given gold fragments (SemEval-2020 Task 11 TC);
- ``units``: sentence-level propaganda (NLP4IF-2019 SLC) and multi-label micro/macro-F1 per sentence and per
  paragraph (SemEval-2023 Task 3);
- ``documents``: ``evaluate_documents``, all of the above over pairs of predicted and gold documents.

Each module's docstring states the definition it follows and the official scorer it was checked against.
"""

from pipeline.evaluate.documents import evaluate_documents
from pipeline.evaluate.fragments import TechniqueClassification, gold_fragments, rank_fragment_labels
from pipeline.evaluate.scores import LabelCounts, Scores, scores_from_counts, scores_from_sums
from pipeline.evaluate.spans import SpanIdentification, TechniqueSpanF1, merge_overlapping, overlap
from pipeline.evaluate.units import (
    UNIT_RULES,
    MultiLabelF1,
    SentencePropaganda,
    gold_unit_labels,
    line_units,
    predicted_unit_labels,
    sentence_units,
)

__all__ = [
    "UNIT_RULES",
    "MultiLabelF1",
    "LabelCounts",
    "Scores",
    "SentencePropaganda",
    "SpanIdentification",
    "TechniqueClassification",
    "TechniqueSpanF1",
    "evaluate_documents",
    "gold_fragments",
    "gold_unit_labels",
    "line_units",
    "merge_overlapping",
    "overlap",
    "predicted_unit_labels",
    "rank_fragment_labels",
    "scores_from_counts",
    "scores_from_sums",
    "sentence_units",
]
