"""Threshold calibration under annotation conditions, on validation documents.

Training windows pack only the annotated sentences of partially annotated documents (the seed set) and tune
nothing; at annotation time the model reads whole documents. Thresholds chosen on training-style windows are
therefore miscalibrated for real use (the first shipped model flagged blame in far too many sentences).
``calibrate`` runs the model exactly as ``framing annotate`` does (whole texts, the segmenter's sentences),
then, per label and only where the label is annotated:

- the sentence threshold maximises unit-level F1 (a unit is an annotated sentence; its score is the highest
  score of the segmenter sentences covering at least half of it);
- the span threshold maximises the label's span F1 with SemEval-2020 partial-overlap credit, the metric
  ``framing evaluate`` reports (spans are clipped to the annotated ranges);
- then the span thresholds of labels annotated together (the techniques of one corpus) are re-tuned jointly,
  by coordinate ascent over their documents, for label-blind span identification (SI) F1: what a reader sees
  is the union of the flagged phrases, and per-label optima over-flag in sum. Measured on the held-out PTC test
  articles for the f2d66995 weights: SI 0.369 -> 0.392, technique-aware span F1 0.215 -> 0.242. (The same
  re-tuning of sentence thresholds for SLC raised validation SLC but not test SLC, so it is not done.) The
  seed set's three devices are read per device and keep their per-label span thresholds;
- for those per-unit labels, the sentence threshold is then re-tuned for the decision the output actually
  makes: a sentence carries the label when its score passes the sentence threshold OR a span of the label
  lies in it (``decode.sentence_labels``). Tuned apart, the two heads' false alarms add up (blame was flagged
  in 208 seed test sentences for 129 annotated).

Heads whose best F1 stays under the floor are silenced (see ``thresholds.quality_floor``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline.document import Document, Span
from pipeline.evaluate import SpanIdentification
from pipeline.model.decode import decode_spans
from pipeline.model.thresholds import GRID, best_threshold, quality_floor
from pipeline.training_data import ANNOTATED_LABELS, ANNOTATED_RANGES

SPAN_GRID = np.round(np.arange(0.1, 0.951, 0.05), 3)


@dataclass
class _LabelData:
    unit_probs: list[float] = field(default_factory=list)
    unit_gold: list[int] = field(default_factory=list)
    # per document: (text, offsets, token probabilities of the label, gold spans, annotated ranges)
    documents: list[tuple] = field(default_factory=list)
    # the position of each of those documents in the calibration set (to join labels per document)
    document_indices: list[int] = field(default_factory=list)


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
    for index, (document, (segmented, offsets, token_probs, sentence_probs)) in enumerate(
            zip(documents, annotator.raw_scores(stripped))):
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
            data[label].document_indices.append(index)
    return data


def _predicted(data: _LabelData, label: str, threshold: float) -> list[list[Span]]:
    """The label's spans at ``threshold`` in each of its documents, clipped to the annotated ranges."""
    return [_clip(decode_spans(text, offsets, probs, [label], {label: threshold}, source="calibration"), units)
            for text, offsets, probs, _, units in data.documents]


def unit_span_flags(data: _LabelData, label: str, threshold: float) -> np.ndarray:
    """Per unit (in ``unit_probs`` order): does a span of the label at ``threshold`` lie in it?"""
    flags = []
    for spans, (_, _, _, _, units) in zip(_predicted(data, label, threshold), data.documents):
        flags.extend(any(s.start < b and a < s.end for s in spans) for a, b in units)
    return np.asarray(flags, dtype=bool)


def unit_decision_threshold(data: _LabelData, label: str, span_threshold: float | None) -> tuple[float, float]:
    """(sentence threshold, unit F1) maximising the F1 of "sentence score passes OR a span lies in the unit"."""
    probs = np.asarray(data.unit_probs, dtype=float)
    if span_threshold is not None:  # a unit with a span is asserted whatever the sentence threshold
        probs = np.where(unit_span_flags(data, label, span_threshold), 1.0, probs)
    return best_threshold(probs, np.asarray(data.unit_gold))


def span_f1(data: _LabelData, label: str, threshold: float) -> float:
    scorer = SpanIdentification()
    for predicted, (_, _, _, gold, units) in zip(_predicted(data, label, threshold), data.documents):
        scorer.add(predicted, _clip(gold, units))
    return scorer.scores().f1


def label_groups(data: dict[str, _LabelData], labels: Sequence[str], *, min_labels: int = 4) -> list[list[str]]:
    """Labels annotated in exactly the same documents (one corpus's techniques), in ``labels`` order. Groups
    under ``min_labels`` (the seed set's three devices, whose quality is read per device) are left out."""
    groups: dict[tuple[int, ...], list[str]] = {}
    for label in labels:
        groups.setdefault(tuple(data[label].document_indices), []).append(label)
    return [group for group in groups.values() if len(group) >= min_labels]


def coordinate_ascent(start: dict[str, float], grid: Sequence[float], objective, *, rounds: int = 2
                      ) -> tuple[dict[str, float], float, float]:
    """Maximise ``objective(thresholds)`` one label at a time over ``grid``, the others fixed; a value is kept
    only if it raises the objective. Returns (thresholds, objective before, objective after)."""
    chosen = dict(start)
    before = best = objective(chosen)
    for _ in range(rounds):
        for label in chosen:
            for value in grid:
                candidate = objective({**chosen, label: float(value)})
                if candidate > best + 1e-9:
                    best, chosen[label] = candidate, float(value)
    return chosen, before, best


class _GroupSpans:
    """Decoded, clipped spans of a group's labels per (label, threshold), computed once."""

    def __init__(self, data: dict[str, _LabelData], labels: Sequence[str]):
        self.data, self.labels = data, list(labels)
        self._cache: dict[tuple[str, float], list[list[Span]]] = {}
        first = data[self.labels[0]].documents
        self.gold = [[] for _ in first]
        for label in self.labels:
            for position, (_, _, _, label_gold, units) in enumerate(data[label].documents):
                self.gold[position].extend(_clip(label_gold, units))

    def spans(self, label: str, threshold: float) -> list[list[Span]]:
        if (label, threshold) not in self._cache:
            self._cache[label, threshold] = _predicted(self.data[label], label, threshold)
        return self._cache[label, threshold]

    def document_spans(self, thresholds: dict[str, float]) -> list[list[Span]]:
        per_label = [self.spans(label, thresholds[label]) for label in self.labels if label in thresholds]
        return [[s for spans in per_label for s in spans[position]] for position in range(len(self.gold))]


def joint_span_thresholds(group: _GroupSpans, thresholds: dict[str, float]) -> tuple[dict[str, float], float, float]:
    """The group's span thresholds re-tuned for label-blind SI F1 over its documents."""
    def si(values: dict[str, float]) -> float:
        scorer = SpanIdentification()
        for predicted, gold in zip(group.document_spans(values), group.gold):
            scorer.add(predicted, gold)
        return scorer.scores().f1

    return coordinate_ascent(thresholds, SPAN_GRID, si)


@dataclass
class Calibration:
    thresholds: dict[str, dict[str, float]]
    quality: dict[str, dict[str, float]]  # validation F1 of each head at its threshold
    disabled: dict[str, str]  # label -> why it is not emitted
    # per group of labels tuned jointly: SI F1 on validation before and after
    joint: list[dict] = field(default_factory=list)


def _tune_group(group: _GroupSpans, thresholds: dict[str, dict[str, float]],
                quality: dict[str, dict[str, float]]) -> dict:
    """Re-tune a group's span thresholds for SI, in place; return SI F1 before and after."""
    span = {label: thresholds[label]["span"] for label in group.labels if "span" in thresholds[label]}
    span, before, after = joint_span_thresholds(group, span)
    for label, value in span.items():
        if value != thresholds[label]["span"]:
            thresholds[label]["span"] = value
            quality[label]["span_f1"] = round(span_f1(group.data[label], label, value), 4)
    return {"labels": len(span), "documents": len(group.gold), "si_f1": [round(before, 4), round(after, 4)]}


def calibrate(annotator, documents: Sequence[Document], labels: Sequence[str], *, min_positives: int = 3,
              min_f1: float = 0.0, joint: bool = True) -> Calibration:
    """Thresholds for ``labels``: per label, then heads under ``min_f1`` silenced, then (``joint``) the span
    thresholds of each group of technique labels re-tuned together for SI. Labels without ``min_positives``
    positive validation units are disabled."""
    thresholds: dict[str, dict[str, float]] = {}
    quality: dict[str, dict[str, float]] = {}
    disabled: dict[str, str] = {}
    collected = collect(annotator, documents, labels)
    for label, data in collected.items():
        gold = np.asarray(data.unit_gold)
        if gold.sum() < min_positives:
            disabled[label] = "too few positive validation units to tune thresholds"
            continue
        sentence_threshold, sentence_f1 = best_threshold(np.asarray(data.unit_probs), gold)
        best_span = max(((span_f1(data, label, t), float(t)) for t in SPAN_GRID), default=(0.0, 0.5))
        thresholds[label] = {"sentence": sentence_threshold, "span": best_span[1]}
        quality[label] = {"sentence_f1": round(sentence_f1, 4), "span_f1": round(best_span[0], 4)}
    quality_floor(thresholds, disabled, quality, min_f1)
    result = Calibration(thresholds, quality, disabled)
    groups = label_groups(collected, list(thresholds))
    if joint:
        for labels in groups:
            result.joint.append(_tune_group(_GroupSpans(collected, labels), thresholds, quality))
    grouped = {label for group in groups for label in group}
    for label in thresholds:
        if label not in grouped and "sentence" in thresholds[label]:
            value, f1 = unit_decision_threshold(collected[label], label, thresholds[label].get("span"))
            thresholds[label]["sentence"] = value
            quality[label]["unit_f1"] = round(f1, 4)
    return result


def calibrate_model_dir(model_dir, documents: Sequence[Document] | None = None, *, min_f1: float = 0.1,
                        device: str = "cpu", joint: bool = True) -> Calibration:
    """Re-tune a model directory's thresholds on its validation documents (rebuilt from its training config
    when not given), silence heads under ``min_f1``, and rewrite its metadata and model card."""

    from pipeline.model.annotator import Annotator
    from pipeline.model.card import write_model_card
    from pipeline.model.config import load_config
    from pipeline.model.store import read_meta, write_meta

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
    result = calibrate(Annotator.load(model_dir, device=device), documents, labels, min_f1=min_f1, joint=joint)
    thresholds = result.thresholds
    disabled = {k: v for k, v in meta.disabled.items() if k not in labels} | result.disabled
    for target in meta.auxiliary:  # auxiliary targets keep their token-level thresholds
        if target in meta.thresholds:
            thresholds[target] = meta.thresholds[target]
    meta.thresholds, meta.disabled = thresholds, disabled
    meta.metrics["validation_calibrated"] = result.quality
    if result.joint:
        meta.metrics["validation_joint"] = result.joint
    else:
        meta.metrics.pop("validation_joint", None)
    write_meta(model_dir, meta)
    write_model_card(model_dir, meta, config)
    return result


def calibrated_copy(model_dir, out_dir, *, joint: bool = True, device: str = "cpu",
                    average_with: Sequence[Path] = ()) -> tuple[Path, Calibration]:
    """A new model version: the weights of ``model_dir`` (left untouched) with thresholds re-tuned on its
    validation documents. Its version string is new (the digest covers weights and thresholds) and names
    ``model_dir``'s version as its parent. With ``average_with``, the weights are the mean of ``model_dir``'s
    and theirs (``pipeline.model.average``)."""
    import hashlib
    import json
    import os
    import shutil
    from datetime import UTC, datetime

    from pipeline.errors import ConfigError
    from pipeline.model.average import check_compatible, held_out_by_all, write_average
    from pipeline.model.base import is_named_base
    from pipeline.model.card import write_model_card
    from pipeline.model.config import load_config, saved_config_yaml
    from pipeline.model.store import WEIGHTS_FILE, read_meta, write_meta
    from pipeline.model.version import new_version

    model_dir, out_dir = Path(model_dir), Path(out_dir)
    meta = read_meta(model_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise ConfigError(f"{out_dir} already exists and is not empty: choose a new directory for the new version")
    members = [model_dir, *(Path(d) for d in average_with)]
    member_metas = check_compatible(members) if average_with else None
    averaged_from = [m.version for m in member_metas] if member_metas else None
    config = load_config(model_dir / "config.yaml")
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in ("taxonomy.yaml", "train-log.jsonl") + (() if averaged_from else (WEIGHTS_FILE,)):
        if (model_dir / name).is_file():
            shutil.copyfile(model_dir / name, out_dir / name)
    if averaged_from:
        write_average(members, out_dir / WEIGHTS_FILE)
    (out_dir / "config.yaml").write_text(saved_config_yaml(config, out_dir), encoding="utf-8")
    parent = meta.version
    if not is_named_base(meta.base_model):
        meta.base_model = os.path.relpath((model_dir / meta.base_model).resolve(), out_dir.resolve())
    if member_metas:  # a document one member trained on is no longer held out
        meta.test_documents = held_out_by_all(member_metas)
    write_meta(out_dir, meta)
    result = calibrate_model_dir(out_dir, min_f1=config.hyperparameters.min_validation_f1, device=device, joint=joint)
    meta = read_meta(out_dir)
    digest = hashlib.sha256((out_dir / WEIGHTS_FILE).read_bytes())
    digest.update(json.dumps(meta.thresholds, sort_keys=True).encode())
    meta.version = new_version(config.name, digest.hexdigest())
    meta.parent_version = parent
    meta.created_at = datetime.now(UTC).isoformat(timespec="seconds")
    meta.metrics["calibrated_from"] = parent
    if averaged_from:
        meta.metrics["averaged_from"] = averaged_from
    meta.metrics.pop("recorded_evaluations", None)  # they scored the parent's thresholds
    write_meta(out_dir, meta)
    write_model_card(out_dir, meta, config)
    return out_dir, result


__all__ = ["GRID", "Calibration", "calibrate", "calibrated_copy", "calibrate_model_dir", "collect", "span_f1"]
