"""Agreement between two annotation passes over the same sentences: the ceiling a model is compared against.

A *unit* is an annotated sentence, identified by ``(corpus, doc_id, start, end)``; only units that both
passes annotated are compared. Per device:

- ``sentence_kappa``: Cohen's kappa of the binary decision "this sentence carries the device" (a unit is
  positive for a label when it has a span of that label). With observed agreement p_o and chance agreement
  p_e = p_a·p_b + (1 − p_a)(1 − p_b), where p_a, p_b are the two passes' positive rates,
  kappa = (p_o − p_e) / (1 − p_e) (Cohen 1960). When p_e = 1 (both passes give every unit the same single
  value, e.g. both all-negative) kappa is undefined: it is reported as ``None`` with the reason.
- ``span_agreement``: character-overlap precision, recall and F1 of pass B's spans against pass A's, scored
  with :class:`pipeline.evaluate.TechniqueSpanF1` (partial overlap credited per character, same label only),
  so the figure is the same one a model gets from ``framing evaluate``. F1 is symmetric in A and B; P and R
  swap when the passes swap.

The formula is written out rather than taken from scikit-learn: the project does not depend on it, and its
``cohen_kappa_score`` returns NaN with a warning in the undefined case instead of saying why.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pipeline.errors import InputError
from pipeline.evaluate import TechniqueSpanF1
from pipeline.standoff import DEVICE_LABELS, AnnotatedUnit

UnitKey = tuple[str, str, int, int]


def unit_key(unit: AnnotatedUnit) -> UnitKey:
    return (unit.corpus, unit.doc_id, unit.start, unit.end)


def paired_units(
    pass_a_units: Iterable[AnnotatedUnit], pass_b_units: Iterable[AnnotatedUnit]
) -> list[tuple[AnnotatedUnit, AnnotatedUnit]]:
    """``(unit of A, unit of B)`` for every unit both passes annotated, in pass A's order.

    A unit given twice in one pass is an error (its two decisions could disagree), reported with both
    locations.
    """
    units_a, units_b = _by_key(pass_a_units, "A"), _by_key(pass_b_units, "B")
    return [(unit, units_b[key]) for key, unit in units_a.items() if key in units_b]


def coverage(pass_a_units: Iterable[AnnotatedUnit], pass_b_units: Iterable[AnnotatedUnit]) -> dict[str, int]:
    """How many units each pass annotated and how many both did (the ``n`` of every agreement figure)."""
    keys_a = set(_by_key(pass_a_units, "A"))
    keys_b = set(_by_key(pass_b_units, "B"))
    return {"units_a": len(keys_a), "units_b": len(keys_b), "both": len(keys_a & keys_b)}


def sentence_kappa(
    pass_a_units: Iterable[AnnotatedUnit],
    pass_b_units: Iterable[AnnotatedUnit],
    labels: Sequence[str] = DEVICE_LABELS,
) -> dict[str, dict[str, Any]]:
    """Cohen's kappa per label over the units both passes annotated.

    Returns ``{label: {"kappa", "observed_agreement", "n", "positives_a", "positives_b"}}``; when kappa is
    undefined (no shared unit, or both passes constant and equal) ``kappa`` is ``None`` and ``"reason"`` says
    why. ``observed_agreement`` is ``None`` only when no unit is shared.
    """
    pairs = paired_units(pass_a_units, pass_b_units)
    return {label: _kappa([(label in a.labels, label in b.labels) for a, b in pairs]) for label in labels}


def cohen_kappa(decisions: Iterable[tuple[bool, bool]]) -> dict[str, Any]:
    """Kappa of two raters' binary decisions on the same items (see the module docstring)."""
    return _kappa(list(decisions))


def span_agreement(
    pass_a_units: Iterable[AnnotatedUnit],
    pass_b_units: Iterable[AnnotatedUnit],
    labels: Sequence[str] = DEVICE_LABELS,
) -> dict[str, dict[str, Any]]:
    """Character-overlap P/R/F1 of pass B's spans against pass A's, per label, over shared units.

    Returns ``{label: {"precision", "recall", "f1", "spans_a", "spans_b"}}``. When neither pass has a span of
    a label the scores are ``None`` with a ``"reason"`` (there is nothing to agree on).
    """
    scorer = TechniqueSpanF1()
    spans_a = dict.fromkeys(labels, 0)
    spans_b = dict.fromkeys(labels, 0)
    for unit_a, unit_b in paired_units(pass_a_units, pass_b_units):
        gold = [span for span in unit_a.spans if span.label in spans_a]
        predicted = [span for span in unit_b.spans if span.label in spans_b]
        for span in gold:
            spans_a[span.label] += 1
        for span in predicted:
            spans_b[span.label] += 1
        scorer.add(predicted, gold)
    per_label = scorer.per_label()
    result: dict[str, dict[str, Any]] = {}
    for label in labels:
        counts = {"spans_a": spans_a[label], "spans_b": spans_b[label]}
        if label not in per_label:
            result[label] = {"precision": None, "recall": None, "f1": None, **counts}
            result[label]["reason"] = "neither pass has a span of this label"
            continue
        scores = per_label[label]
        result[label] = {"precision": scores.precision, "recall": scores.recall, "f1": scores.f1, **counts}
    return result


def agreement_table(
    pass_a_units: Sequence[AnnotatedUnit],
    pass_b_units: Sequence[AnnotatedUnit],
    labels: Sequence[str] = DEVICE_LABELS,
) -> str:
    """A Markdown table of the sentence kappa and span F1 per label, for reports and the seed README."""
    kappas = sentence_kappa(pass_a_units, pass_b_units, labels)
    spans = span_agreement(pass_a_units, pass_b_units, labels)
    lines = [
        "| device | n | positive A | positive B | observed agreement | Cohen's kappa | span F1 (P, R of B vs A) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label in labels:
        k, s = kappas[label], spans[label]
        span_cell = "n/a" if s["f1"] is None else f"{s['f1']:.3f} ({s['precision']:.3f}, {s['recall']:.3f})"
        lines.append(
            f"| `{label}` | {k['n']} | {k['positives_a']} | {k['positives_b']} | "
            f"{_number(k['observed_agreement'])} | {_number(k['kappa'])} | {span_cell} |"
        )
    return "\n".join(lines)


def _kappa(decisions: list[tuple[bool, bool]]) -> dict[str, Any]:
    n = len(decisions)
    positives_a = sum(a for a, _ in decisions)
    positives_b = sum(b for _, b in decisions)
    result: dict[str, Any] = {
        "kappa": None,
        "observed_agreement": None,
        "n": n,
        "positives_a": positives_a,
        "positives_b": positives_b,
    }
    if n == 0:
        result["reason"] = "no unit was annotated by both passes"
        return result
    observed = sum(a == b for a, b in decisions) / n
    rate_a, rate_b = positives_a / n, positives_b / n
    expected = rate_a * rate_b + (1 - rate_a) * (1 - rate_b)
    result["observed_agreement"] = observed
    if positives_a == positives_b and positives_a in (0, n):  # p_e = 1
        value = "negative" if positives_a == 0 else "positive"
        result["reason"] = f"both passes mark all {n} units {value}: chance agreement is 1, so kappa is undefined"
        return result
    result["kappa"] = (observed - expected) / (1 - expected)
    return result


def _by_key(units: Iterable[AnnotatedUnit], which: str) -> dict[UnitKey, AnnotatedUnit]:
    found: dict[UnitKey, AnnotatedUnit] = {}
    for unit in units:
        key = unit_key(unit)
        if key in found:
            first = found[key].location or "an earlier record"
            here = unit.location or "a later record"
            raise InputError(
                f"pass {which} annotates unit {key[0]}/{key[1]} [{key[2]}, {key[3]}) twice: {first} and {here}"
            )
        found[key] = unit
    return found


def _number(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.3f}"
