"""Score predicted documents against gold documents: every metric of the package in one flat dict."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable
from dataclasses import replace
from typing import Any

from pipeline.document import Document, Sentence, Span
from pipeline.errors import ConfigError, InputError
from pipeline.evaluate.fragments import TechniqueClassification
from pipeline.evaluate.scores import Scores, scores_from_counts
from pipeline.evaluate.spans import Interval, SpanIdentification, TechniqueSpanF1
from pipeline.evaluate.units import (
    UNIT_RULES,
    MultiLabelF1,
    SentencePropaganda,
    gold_unit_labels,
    predicted_unit_labels,
)

_NOTHING = scores_from_counts(0, 0, 0)


def evaluate_documents(
    predicted: Iterable[Document],
    gold: Iterable[Document],
    *,
    labels: Collection[str] | None = None,
    sentences: str = "segment",
    paragraphs: str = "lines",
    span_labels: Collection[str] | None = None,
) -> dict[str, Any]:
    """Score ``predicted`` against ``gold`` and return one flat metrics dict.

    Documents are paired by id; a gold document whose id no prediction has is paired with the one
    prediction of identical text, if there is exactly one (readers name the same file differently). A gold
    document without a prediction counts as predicting nothing and is listed in ``missing_predictions``;
    predictions without a gold document are ignored and listed in ``unmatched_predictions``. Paired texts
    must be identical. Gold spans are all spans of a gold document; predicted spans all spans of a predicted
    document except ``source="gold"`` ones; predicted sentence labels come from its ``sentences``.

    ``labels`` restricts scoring to those label ids (pass the labels the gold corpus annotates): gold and
    predicted spans and sentence labels outside it are dropped before scoring, and the dropped predicted
    spans are counted in ``ignored_predictions``. Spans without a label are kept (SI and SLC count them).
    ``sentences`` and ``paragraphs`` name the unit rules of ``pipeline.evaluate.units`` (``"lines"`` or
    ``"segment"``).
    """
    sentence_units = _unit_rule("sentences", sentences)
    paragraph_units = _unit_rule("paragraphs", paragraphs)
    keep = None if labels is None else frozenset(labels)
    blind_keep = None if keep is None else keep | frozenset(span_labels or ())

    gold_docs = _unique(gold, "gold")
    predicted_by_id = {doc.id: doc for doc in _unique(predicted, "predicted")}
    by_text = _unclaimed_by_text(predicted_by_id, {doc.id for doc in gold_docs})

    si, span_f1, tc = SpanIdentification(), TechniqueSpanF1(), TechniqueClassification()
    slc, sentence_f1, paragraph_f1 = SentencePropaganda(), MultiLabelF1(), MultiLabelF1()
    missing: list[str] = []
    ignored: Counter[str] = Counter()
    for gold_doc in gold_docs:
        prediction = predicted_by_id.pop(gold_doc.id, None)
        if prediction is None and len(by_text.get(gold_doc.text, ())) == 1:
            prediction = predicted_by_id.pop(by_text.pop(gold_doc.text)[0].id)
        if prediction is None:
            missing.append(gold_doc.id)
            predicted_spans: list[Span] = []
            predicted_sentences: list[Sentence] = []
        else:
            _check_same_text(gold_doc, prediction)
            predicted_spans = [s for s in prediction.spans if s.source != "gold"]
            predicted_sentences = list(prediction.sentences)
        gold_spans = list(gold_doc.spans)
        blind_spans, blind_sentences = predicted_spans, predicted_sentences  # for SI and SLC
        if keep is not None:
            ignored.update(s.label for s in predicted_spans if s.label is not None and s.label not in blind_keep)
            blind_spans = [s for s in predicted_spans if s.label is None or s.label in blind_keep]
            blind_sentences = [_restrict(s, blind_keep) for s in predicted_sentences]
            predicted_spans = [s for s in predicted_spans if s.label is None or s.label in keep]
            gold_spans = [s for s in gold_spans if s.label is None or s.label in keep]
            predicted_sentences = [_restrict(s, keep) for s in predicted_sentences]

        si.add(blind_spans, gold_spans)
        span_f1.add(predicted_spans, gold_spans)
        tc.add(predicted_spans, predicted_sentences, gold_spans)
        units = sentence_units(gold_doc.text)
        slc.add(units, blind_spans, blind_sentences, gold_spans)
        sentence_sets = _unit_label_sets(units, gold_spans, predicted_spans, predicted_sentences)
        sentence_f1.add(*sentence_sets)
        if paragraph_units is sentence_units:
            paragraph_f1.add(*sentence_sets)
        else:
            units = paragraph_units(gold_doc.text)
            paragraph_f1.add(*_unit_label_sets(units, gold_spans, predicted_spans, predicted_sentences))

    metrics: dict[str, Any] = {
        "documents": len(gold_docs),
        "missing_predictions": missing,
        "unmatched_predictions": sorted(predicted_by_id),
        "labels": None if labels is None else list(labels),
        "ignored_predictions": dict(sorted(ignored.items())),
    }
    metrics.update(_prefixed("si", si.scores()))
    metrics.update(_prefixed("span", span_f1.scores()))
    metrics.update(_prefixed("tc", tc.scores()))
    metrics.update(_prefixed("slc", slc.scores()))
    for unit, scorer in (("sentence", sentence_f1), ("paragraph", paragraph_f1)):
        metrics.update(_prefixed(f"{unit}_micro", scorer.scores()))
        metrics[f"{unit}_macro_f1"] = scorer.macro_f1()
    metrics["per_label"] = _per_label(labels, span_f1, tc, sentence_f1, paragraph_f1)
    return metrics


def _unit_rule(option: str, name: str) -> Callable[[str], list[Interval]]:
    try:
        return UNIT_RULES[name]
    except KeyError:
        choices = ", ".join(sorted(UNIT_RULES))
        raise ConfigError(f"{option}={name!r} is not a unit rule; choose one of: {choices}") from None


def _unique(documents: Iterable[Document], which: str) -> list[Document]:
    seen: set[str] = set()
    result = []
    for doc in documents:
        if doc.id in seen:
            raise InputError(f"{which} documents: id {doc.id!r} occurs more than once")
        seen.add(doc.id)
        result.append(doc)
    return result


def _unit_label_sets(
    units: list[Interval], gold: list[Span], predicted: list[Span], sentences: list[Sentence]
) -> tuple[list[set[str]], list[set[str]]]:
    return gold_unit_labels(units, gold), predicted_unit_labels(units, predicted, sentences)


def _unclaimed_by_text(predicted: dict[str, Document], gold_ids: set[str]) -> dict[str, list[Document]]:
    """Predictions whose id names no gold document, grouped by text (for pairing by identical text)."""
    by_text: dict[str, list[Document]] = {}
    for doc_id, doc in predicted.items():
        if doc_id not in gold_ids:
            by_text.setdefault(doc.text, []).append(doc)
    return by_text


def _check_same_text(gold: Document, predicted: Document) -> None:
    if gold.text == predicted.text:
        return
    at = next(
        (i for i, (a, b) in enumerate(zip(gold.text, predicted.text, strict=False)) if a != b),
        min(len(gold.text), len(predicted.text)),
    )
    raise InputError(
        f"document {gold.id!r}: the predicted text differs from the gold text at character {at} "
        f"(gold {gold.text[at:at + 20]!r}, predicted {predicted.text[at:at + 20]!r}; lengths "
        f"{len(gold.text)} and {len(predicted.text)}); predictions must be made on the gold text"
    )


def _restrict(sentence: Sentence, keep: frozenset[str]) -> Sentence:
    """The sentence with only the labels (and label scores) in ``keep``."""
    restricted = {
        name: {label: score for label, score in getattr(sentence, name).items() if label in keep}
        for name in ("labels", "scores")
        if hasattr(sentence, name)
    }
    return replace(sentence, **restricted)


def _prefixed(prefix: str, scores: Scores) -> dict[str, float]:
    return {
        f"{prefix}_precision": scores.precision,
        f"{prefix}_recall": scores.recall,
        f"{prefix}_f1": scores.f1,
    }


def _per_label(
    labels: Collection[str] | None,
    span_f1: TechniqueSpanF1,
    tc: TechniqueClassification,
    sentence_f1: MultiLabelF1,
    paragraph_f1: MultiLabelF1,
) -> dict[str, dict[str, float | int]]:
    """Per label: technique-aware span P/R/F1 and support (gold spans), TC F1, sentence and paragraph F1."""
    spans, fragments = span_f1.per_label(), tc.per_label()
    sentence, paragraph = sentence_f1.per_label(), paragraph_f1.per_label()
    seen = spans.keys() | fragments.keys() | sentence.keys() | paragraph.keys()
    order = [label for label in labels if label in seen] if labels is not None else sorted(seen)
    table = {}
    for label in order:
        row: dict[str, float | int] = spans.get(label, _NOTHING).to_dict()
        row["tc_f1"] = fragments.get(label, _NOTHING).f1
        for unit, scores in (("sentence", sentence), ("paragraph", paragraph)):
            unit_scores = scores.get(label, _NOTHING)
            row[f"{unit}_f1"] = unit_scores.f1
            row[f"{unit}_support"] = unit_scores.support
        table[label] = row
    return table
