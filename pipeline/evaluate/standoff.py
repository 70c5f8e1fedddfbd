"""Scoring a model against stand-off sentence annotations (the team's seed set): only the annotated sentences
count, since the rest of each document was never annotated.

The model reads whole documents (so it has their context); its output is then cut down to each annotated
unit. A unit is positive for a label when the model asserts the label for a sentence covering at least half
of the unit, or marks a span of that label inside it. Per label: unit-level precision, recall, F1 and Cohen's
kappa against the annotators (comparable to the agreement between two annotation passes), span-level
character-overlap P/R/F1 within the units, and how often the blamed actor the model names overlaps the one the
annotators marked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from pipeline.agreement import cohen_kappa, span_agreement
from pipeline.document import Document, Span
from pipeline.evaluate.scores import scores_from_counts
from pipeline.standoff import AnnotatedUnit, document_path, read_corpus_text


def _clip(span: Span, unit: AnnotatedUnit) -> Span | None:
    start, end = max(span.start, unit.start), min(span.end, unit.end)
    return replace(span, start=start, end=end) if end > start else None


def model_units(documents: dict[tuple[str, str], Document], units: Sequence[AnnotatedUnit]
                ) -> list[tuple[AnnotatedUnit, set[str]]]:
    """For each gold unit: the model's spans inside it (as a unit of annotator "model") and its unit labels."""
    result = []
    for unit in units:
        document = documents[(unit.corpus, unit.doc_id)]
        spans = [c for s in document.spans if (c := _clip(s, unit)) is not None]
        labels = {s.label for s in spans}
        for sentence in document.sentences:
            covered = min(sentence.end, unit.end) - max(sentence.start, unit.start)
            if covered * 2 >= unit.end - unit.start:
                labels.update(sentence.labels)
        result.append((replace(unit, annotator="model", spans=tuple(spans)), labels))
    return result


def _actor_matches(gold: Sequence[AnnotatedUnit], predicted: Sequence[AnnotatedUnit]) -> dict[str, Any]:
    """Among blame spans found by both, how often the model's actor overlaps an annotated actor."""
    both = matched = 0
    for unit_a, unit_b in zip(gold, predicted):
        actors_a = [s.attributes["actor"] for s in unit_a.spans if s.attributes.get("actor")]
        actors_b = [s.attributes["actor"] for s in unit_b.spans if s.attributes.get("actor")]
        if actors_a and actors_b:
            both += 1
            matched += any(b["start"] < a["end"] and a["start"] < b["end"] for a in actors_a for b in actors_b)
    return {"units_with_both": both, "overlapping": matched, "share": round(matched / both, 4) if both else None}


def evaluate_standoff(annotator, units: Iterable[AnnotatedUnit], labels: Sequence[str],
                      data_root=None, examples: int = 0) -> dict[str, Any]:
    """Per-label scores; with ``examples``, also up to that many units per label the model got right (true
    positives) and wrong (misses and false alarms), drawn evenly through the set, for error analysis."""
    units = list(units)
    keys = sorted({(u.corpus, u.doc_id) for u in units})
    texts = [Document(f"{corpus}:{doc_id}", read_corpus_text(document_path(corpus, doc_id, data_root)))
             for corpus, doc_id in keys]
    documents = dict(zip(keys, annotator.annotate_many(texts)))
    predicted = model_units(documents, units)
    spans = span_agreement(units, [unit for unit, _ in predicted], labels)
    per_label = {}
    for label in labels:
        decisions = [(label in gold.labels, label in found) for gold, (_, found) in zip(units, predicted)]
        tp = sum(a and b for a, b in decisions)
        fp = sum(b and not a for a, b in decisions)
        fn = sum(a and not b for a, b in decisions)
        scores = scores_from_counts(tp, fp, fn)
        kappa = cohen_kappa(decisions)
        per_label[label] = {
            "precision": round(scores.precision, 4), "recall": round(scores.recall, 4), "f1": round(scores.f1, 4),
            "kappa": None if kappa["kappa"] is None else round(kappa["kappa"], 4),
            "gold_units": tp + fn, "predicted_units": tp + fp,
            "span_precision": spans[label]["precision"], "span_recall": spans[label]["recall"],
            "span_f1": spans[label]["f1"],
        }
    result = {"units": len(units), "documents": len(keys), "per_label": per_label,
              "blamed_actor": _actor_matches(units, [unit for unit, _ in predicted])}
    if examples:
        result["examples"] = {label: _examples(documents, units, predicted, label, examples) for label in labels}
    return result


def _examples(documents, units, predicted, label: str, count: int) -> dict[str, list[dict[str, Any]]]:
    right, wrong = [], []
    for gold, (model_unit, found) in zip(units, predicted):
        is_gold, is_found = label in gold.labels, label in found
        if not (is_gold or is_found):
            continue
        text = documents[(gold.corpus, gold.doc_id)].text
        record = {
            "unit": f"{gold.corpus}/{gold.doc_id}:{gold.start}-{gold.end}", "text": text[gold.start:gold.end],
            "outcome": "hit" if is_gold and is_found else ("miss" if is_gold else "false alarm"),
            "gold_spans": [text[s.start:s.end] for s in gold.spans if s.label == label],
            "model_spans": [text[s.start:s.end] for s in model_unit.spans if s.label == label],
        }
        (right if is_gold and is_found else wrong).append(record)

    def evenly(items: list) -> list:
        step = max(1, len(items) // count)
        return items[::step][:count]

    return {"right": evenly(right), "wrong": evenly(wrong)}


def format_standoff(metrics: dict[str, Any]) -> str:
    lines = [f"{metrics['units']} annotated sentences in {metrics['documents']} documents", "",
             f"{'label':<20}{'P':>8}{'R':>8}{'F1':>8}{'kappa':>8}{'gold':>6}{'pred':>6}{'span F1':>9}"]
    for label, row in metrics["per_label"].items():
        kappa = "-" if row["kappa"] is None else f"{row['kappa']:.3f}"
        span_f1 = "-" if row["span_f1"] is None else f"{row['span_f1']:.3f}"
        lines.append(f"{label:<20}{row['precision']:>8.3f}{row['recall']:>8.3f}{row['f1']:>8.3f}{kappa:>8}"
                     f"{row['gold_units']:>6}{row['predicted_units']:>6}{span_f1:>9}")
    actor = metrics["blamed_actor"]
    if actor["units_with_both"]:
        lines += ["", f"blamed actor: the model's actor overlaps an annotated one in {actor['overlapping']} of "
                      f"{actor['units_with_both']} sentences where both name one"]
    for label, found in metrics.get("examples", {}).items():
        for kind in ("right", "wrong"):
            lines += ["", f"{label}: {kind}"]
            for example in found[kind]:
                spans = "; ".join(example["model_spans"] or example["gold_spans"]) or "-"
                lines.append(f"  [{example['outcome']}] {example['unit']}: {example['text']!r}  spans: {spans}")
    return "\n".join(lines)
