"""Threshold calibration under annotation conditions, on validation documents.

Training windows pack only the annotated sentences of partially annotated documents (the seed set) and tune
nothing; at annotation time the model reads whole documents. Thresholds chosen on training-style windows are
therefore miscalibrated for real use (the first shipped model flagged blame in far too many sentences).
``calibrate`` runs the model exactly as ``framing annotate`` does (whole texts, the segmenter's sentences),
then, per label and only where the label is annotated:

- the sentence threshold maximises unit-level F1 (a unit is an annotated sentence; its score is the highest
  score of the segmenter sentences covering at least half of it);
- the span threshold maximises the label's span F1 with SemEval-2020 partial-overlap credit, the metric
  ``framing evaluate`` reports (spans are clipped to the annotated ranges).

Heads whose best F1 stays under the floor are silenced (see ``thresholds.quality_floor``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from pipeline.document import Document, Span
from pipeline.evaluate import SpanIdentification
from pipeline.model.decode import decode_spans
from pipeline.model.thresholds import GRID, best_threshold
from pipeline.training_data import ANNOTATED_LABELS, ANNOTATED_RANGES

SPAN_GRID = np.round(np.arange(0.1, 0.951, 0.05), 3)


@dataclass
class _LabelData:
    unit_probs: list[float] = field(default_factory=list)
    unit_gold: list[int] = field(default_factory=list)
    # per document: (text, offsets, token probabilities of the label, gold spans, annotated ranges)
    documents: list[tuple] = field(default_factory=list)


def _units(document: Document, segmented: Document) -> list[tuple[int, int]]:
    ranges = document.metadata.get(ANNOTATED_RANGES)
    if ranges is not None:
        return [(int(a), int(b)) for a, b in ranges]
    return [(s.start, s.end) for s in segmented.sentences]


def _clip(spans: Sequence[Span], ranges: Sequence[tuple[int, int]]) -> list[Span]:
    clipped = []
    for span in spans:
        for a, b in ranges:
            start, end = max(span.start, a), min(span.end, b)
            if end > start:
                clipped.append(Span(start, end, span.label))
    return clipped


def collect(annotator, documents: Sequence[Document], labels: Sequence[str]) -> dict[str, _LabelData]:
    """Model scores and gold of every label on ``documents`` (gold spans with ``source="gold"``)."""
    data = {label: _LabelData() for label in labels}
    columns = {label: annotator.meta.targets.index(label) for label in labels}
    stripped = (Document(d.id, d.text) for d in documents)
    for document, (segmented, offsets, token_probs, sentence_probs) in zip(documents,
                                                                             annotator.raw_scores(stripped)):
        annotated = document.metadata.get(ANNOTATED_LABELS)
        units = _units(document, segmented)
        gold = document.spans_from("gold")
        for label in labels:
            if annotated is not None and label not in annotated:
                continue
            column = columns[label]
            label_gold = [s for s in gold if s.label == label]
            for a, b in units:
                covering = [row for row, s in enumerate(segmented.sentences)
                            if 2 * (min(s.end, b) - max(s.start, a)) >= (b - a)]
                data[label].unit_probs.append(float(max((sentence_probs[r, column] for r in covering), default=0.0)))
                data[label].unit_gold.append(int(any(s.start < b and a < s.end for s in label_gold)))
            data[label].documents.append((document.text, offsets, token_probs[:, [column]], label_gold, units))
    return data


def span_f1(data: _LabelData, label: str, threshold: float) -> float:
    scorer = SpanIdentification()
    for text, offsets, probs, gold, units in data.documents:
        predicted = decode_spans(text, offsets, probs, [label], {label: threshold}, source="calibration")
        scorer.add(_clip(predicted, units), _clip(gold, units))
    return scorer.scores().f1


def calibrate(annotator, documents: Sequence[Document], labels: Sequence[str], *, min_positives: int = 3
              ) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """(thresholds, validation F1 of each head) for ``labels``; labels without enough positives are left out."""
    thresholds: dict[str, dict[str, float]] = {}
    quality: dict[str, dict[str, float]] = {}
    for label, data in collect(annotator, documents, labels).items():
        gold = np.asarray(data.unit_gold)
        if gold.sum() < min_positives:
            continue
        sentence_threshold, sentence_f1 = best_threshold(np.asarray(data.unit_probs), gold)
        best_span = max(((span_f1(data, label, t), float(t)) for t in SPAN_GRID), default=(0.0, 0.5))
        thresholds[label] = {"sentence": sentence_threshold, "span": best_span[1]}
        quality[label] = {"sentence_f1": round(sentence_f1, 4), "span_f1": round(best_span[0], 4)}
    return thresholds, quality


def calibrate_model_dir(model_dir, documents: Sequence[Document] | None = None, *, min_f1: float = 0.1,
                        device: str = "cpu") -> dict:
    """Re-tune a model directory's thresholds on its validation documents (rebuilt from its training config
    when not given), silence heads under ``min_f1``, and rewrite its metadata and model card."""
    from pathlib import Path

    from pipeline.model.annotator import Annotator
    from pipeline.model.card import write_model_card
    from pipeline.model.config import load_config
    from pipeline.model.store import read_meta, write_meta
    from pipeline.model.thresholds import quality_floor

    model_dir = Path(model_dir)
    meta = read_meta(model_dir)
    config = load_config(model_dir / "config.yaml")
    if documents is None:
        from pipeline.model.sources import load_source

        wanted = set(meta.validation_documents)
        documents = [d for source in config.data for d in load_source(source, config, meta.labels)
                     if d.id in wanted]
    minimum = config.hyperparameters.min_label_examples
    labels = [label for label in meta.labels if meta.label_support.get(label, 0) >= minimum]
    thresholds, quality = calibrate(Annotator.load(model_dir, device=device), documents, labels)
    disabled = {k: v for k, v in meta.disabled.items() if k not in labels}
    for label in labels:
        if label not in thresholds:
            disabled[label] = "too few positive validation units to tune thresholds"
    quality_floor(thresholds, disabled, quality, min_f1)
    for target in meta.auxiliary:  # auxiliary targets keep their token-level thresholds
        if target in meta.thresholds:
            thresholds[target] = meta.thresholds[target]
    meta.thresholds, meta.disabled = thresholds, disabled
    meta.metrics["validation_calibrated"] = quality
    write_meta(model_dir, meta)
    write_model_card(model_dir, meta, config)
    return quality


__all__ = ["GRID", "calibrate", "calibrate_model_dir", "collect", "span_f1"]
