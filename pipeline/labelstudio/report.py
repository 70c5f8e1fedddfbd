"""How humans corrected the model, and how much annotators agree, from a Label Studio export (pure).

Corrections. Each non-skipped annotation is compared with the prediction its annotator saw
(``parent_prediction``; else the task's newest prediction). Per label, spans are matched one-to-one:
identical offsets first (**kept**), then the remaining pairs that share characters, largest overlap first
(**moved**: same label, boundaries changed). Unmatched predicted spans were **removed**, unmatched human
spans **added**. Precision and recall of the model against the humans are given twice: ``strict`` (kept
only) and overlap-aware, crediting partial overlap per character as the project's span scorer does
(``pipeline.evaluate.TechniqueSpanF1``).

Blamed actors are attributes of blame spans, reported in their own section: the actors of the predicted and
the human blame spans are matched like spans (kept, moved, removed, added); actor regions linked to no blame
span (left behind when an annotator deletes a blame span) are counted as ``orphans`` and left out.

Agreement. For tasks with two or more annotators, every pair of their annotations is compared per label:
span F1 with the same overlap credit (symmetric), exact-span F1, and Cohen's kappa over characters (a
character is "in" for an annotator when any of their spans of that label covers it). Each label is scored on
its own, so spans of different labels may overlap freely and nested or overlapping spans of one label count
once per character -- unlike a region-matching metric that pairs regions regardless of overlap structure.
Counts are pooled over all pairs.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations
from typing import Any

from pipeline.document import Span
from pipeline.evaluate import TechniqueSpanF1
from pipeline.labelstudio import convert
from pipeline.labelstudio.sync import annotator_name

Interval = tuple[int, int]
_CORRECTION_KEYS = ("predicted", "human", "kept", "moved", "removed", "added")


def match_spans(
    predicted: Sequence[Interval], human: Sequence[Interval]
) -> tuple[list[tuple[Interval, Interval]], list[tuple[Interval, Interval]], list[Interval], list[Interval]]:
    """One-to-one matching of same-label spans: ``(kept, moved, removed, added)`` (see module docstring)."""
    free_human = Counter(human)
    kept: list[tuple[Interval, Interval]] = []
    rest: list[Interval] = []
    for span in sorted(predicted):
        if free_human[span]:
            free_human[span] -= 1
            kept.append((span, span))
        else:
            rest.append(span)
    humans_left = sorted(free_human.elements())
    candidates = sorted(
        ((_overlap(p, h), i, j) for i, p in enumerate(rest) for j, h in enumerate(humans_left) if _overlap(p, h)),
        key=lambda c: (-c[0], c[1], c[2]),
    )
    used_p: set[int] = set()
    used_h: set[int] = set()
    moved: list[tuple[Interval, Interval]] = []
    for _, i, j in candidates:
        if i not in used_p and j not in used_h:
            used_p.add(i)
            used_h.add(j)
            moved.append((rest[i], humans_left[j]))
    removed = [p for i, p in enumerate(rest) if i not in used_p]
    added = [h for j, h in enumerate(humans_left) if j not in used_h]
    return kept, sorted(moved), removed, added


def _overlap(a: Interval, b: Interval) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def _by_label(spans: Iterable[Span]) -> dict[str, list[Interval]]:
    grouped: dict[str, list[Interval]] = defaultdict(list)
    for span in spans:
        if span.label:
            grouped[span.label].append((span.start, span.end))
    return grouped


def _seen_prediction(task: Mapping[str, Any], annotation: Mapping[str, Any]) -> Mapping[str, Any] | None:
    predictions = [p for p in task.get("predictions") or () if isinstance(p, Mapping)]
    embedded = annotation.get("prediction")
    if isinstance(embedded, Mapping) and embedded.get("result") is not None:
        return embedded
    parent = annotation.get("parent_prediction")
    for prediction in predictions:
        if parent is not None and prediction.get("id") == parent:
            return prediction
    return max(predictions, key=lambda p: p.get("id") or 0) if predictions else None


class _Kappa:
    __slots__ = ("both", "first", "second", "neither")

    def __init__(self) -> None:
        self.both = self.first = self.second = self.neither = 0

    def add(self, a: list[Interval], b: list[Interval], length: int) -> None:
        in_a, in_b = _covered(a), _covered(b)
        both = len(in_a & in_b)
        self.both += both
        self.first += len(in_a) - both
        self.second += len(in_b) - both
        self.neither += length - len(in_a | in_b)

    def value(self) -> float | None:
        total = self.both + self.first + self.second + self.neither
        if not total:
            return None
        observed = (self.both + self.neither) / total
        p_a = (self.both + self.first) / total
        p_b = (self.both + self.second) / total
        expected = p_a * p_b + (1 - p_a) * (1 - p_b)
        if expected >= 1.0:
            return 1.0 if observed >= 1.0 else None  # both marked nothing (or everything): agreement is trivial
        return (observed - expected) / (1 - expected)


def _covered(intervals: Iterable[Interval]) -> set[int]:
    return {i for start, end in intervals for i in range(start, end)}


def _exact_f1(pairs: Counter[str]) -> float | None:
    matched, first, second = pairs["matched"], pairs["first"], pairs["second"]
    if not first and not second:
        return None
    return 2 * matched / (first + second)


def correction_report(tasks: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Corrections and agreement over exported tasks (Label Studio JSON with full predictions)."""
    corrections: dict[str, Counter[str]] = defaultdict(Counter)
    overlap_scores = TechniqueSpanF1()
    versions: Counter[str] = Counter()
    agreement_f1 = TechniqueSpanF1()
    kappas: dict[str, _Kappa] = defaultdict(_Kappa)
    exact: dict[str, Counter[str]] = defaultdict(Counter)
    problems: list[str] = []
    counts: Counter[str] = Counter()
    actors: Counter[str] = Counter()
    for task in tasks:
        counts["tasks"] += 1
        text = (task.get("data") or {}).get(convert.TEXT_FIELD)
        if not isinstance(text, str):
            problems.append(f"task {task.get('id')}: no text")
            continue
        annotated: list[tuple[str, list[Span]]] = []
        for annotation in task.get("annotations") or ():
            counts["annotations"] += 1
            if annotation.get("was_cancelled"):
                counts["cancelled"] += 1
                continue
            human = convert.from_ls(text, annotation.get("result"))
            problems.extend(f"task {task.get('id')}, annotation {annotation.get('id')}: {p}" for p in human.problems)
            annotated.append((annotator_name(annotation.get("completed_by")), human.spans))
            actors["orphans"] += len(human.orphan_actors)
            seen = _seen_prediction(task, annotation)
            if seen is None:
                counts["without_prediction"] += 1
                continue
            predicted = convert.from_ls(text, seen.get("result")).spans
            versions[str(seen.get("model_version"))] += 1
            overlap_scores.add(predicted, human.spans)
            predicted_by_label, human_by_label = _by_label(predicted), _by_label(human.spans)
            for label in predicted_by_label.keys() | human_by_label.keys():
                p, h = predicted_by_label.get(label, []), human_by_label.get(label, [])
                kept, moved, removed, added = match_spans(p, h)
                row = corrections[label]
                row.update(predicted=len(p), human=len(h), kept=len(kept), moved=len(moved))
                row.update(removed=len(removed), added=len(added))
            p, h = _actors(predicted), _actors(human.spans)
            kept, moved, removed, added = match_spans(p, h)
            actors.update(predicted=len(p), human=len(h), kept=len(kept), moved=len(moved), removed=len(removed),
                          added=len(added))
        if len(annotated) >= 2:
            counts["tasks_with_several_annotators"] += 1
        for (_, first), (_, second) in combinations(annotated, 2):
            counts["annotator_pairs"] += 1
            agreement_f1.add(first, second)
            first_by_label, second_by_label = _by_label(first), _by_label(second)
            for label in first_by_label.keys() | second_by_label.keys():
                a, b = first_by_label.get(label, []), second_by_label.get(label, [])
                kappas[label].add(a, b, len(text))
                matched = sum((Counter(a) & Counter(b)).values())
                exact[label].update(matched=matched, first=len(a), second=len(b))

    overlap_per_label = overlap_scores.per_label()
    per_label = {}
    for label in sorted(corrections):
        row = {key: corrections[label][key] for key in _CORRECTION_KEYS}
        row.update(_precision_recall(row, overlap_per_label.get(label)))
        per_label[label] = row
    total = {key: sum(corrections[label][key] for label in corrections) for key in _CORRECTION_KEYS}
    total.update(_precision_recall(total, overlap_scores.scores() if corrections else None))
    agreement_per_label = {}
    span_scores = agreement_f1.per_label()
    for label in sorted(kappas):
        agreement_per_label[label] = {
            "span_f1": span_scores[label].f1 if label in span_scores else None,
            "exact_f1": _exact_f1(exact[label]),
            "char_kappa": kappas[label].value(),
        }
    return {
        "tasks": counts["tasks"],
        "annotations": counts["annotations"],
        "cancelled": counts["cancelled"],
        "annotations_without_prediction": counts["without_prediction"],
        "compared_by_model_version": dict(sorted(versions.items())),
        "corrections": {"per_label": per_label, "total": total},
        "actors": {key: actors[key] for key in (*_CORRECTION_KEYS, "orphans")},
        "agreement": {
            "tasks": counts["tasks_with_several_annotators"],
            "pairs": counts["annotator_pairs"],
            "span_f1": agreement_f1.scores().f1 if counts["annotator_pairs"] else None,
            "per_label": agreement_per_label,
        },
        "problems": problems,
    }


def _actors(spans: Iterable[Span]) -> list[Interval]:
    """The blamed actors of ``spans`` (``attributes.actor`` of blame spans)."""
    found = []
    for span in spans:
        actor = span.attributes.get("actor")
        if isinstance(actor, Mapping) and isinstance(actor.get("start"), int) and isinstance(actor.get("end"), int):
            found.append((actor["start"], actor["end"]))
    return found


def _precision_recall(row: Mapping[str, int], overlap: Any) -> dict[str, float | None]:
    predicted, human, kept = row["predicted"], row["human"], row["kept"]
    return {
        "strict_precision": kept / predicted if predicted else None,
        "strict_recall": kept / human if human else None,
        "precision": overlap.precision if overlap is not None and predicted else None,
        "recall": overlap.recall if overlap is not None and human else None,
    }


def format_report(report: Mapping[str, Any]) -> str:
    """The report as a readable plain-text table."""
    lines = [
        f"tasks {report['tasks']}, annotations {report['annotations']} "
        f"(skipped/cancelled {report['cancelled']}, without a prediction {report['annotations_without_prediction']})",
    ]
    versions = ", ".join(f"{v}: {n}" for v, n in report["compared_by_model_version"].items()) or "none"
    lines.append(f"annotations compared with predictions of model version {versions}")
    lines.append("")
    header = (
        f"{'label':<34}{'pred':>6}{'human':>6}{'kept':>6}{'moved':>6}{'removed':>8}{'added':>6}"
        f"{'P':>7}{'R':>7}{'P strict':>9}{'R strict':>9}"
    )
    lines.append("corrections (model vs humans)")
    lines.append(header)
    rows = list(report["corrections"]["per_label"].items()) + [("TOTAL", report["corrections"]["total"])]
    for label, row in rows:
        lines.append(
            f"{label:<34}{row['predicted']:>6}{row['human']:>6}{row['kept']:>6}{row['moved']:>6}{row['removed']:>8}"
            f"{row['added']:>6}{_num(row['precision']):>7}{_num(row['recall']):>7}"
            f"{_num(row['strict_precision']):>9}{_num(row['strict_recall']):>9}"
        )
    actors = report.get("actors")
    if actors and any(actors.values()):
        lines.append("")
        lines.append("blamed actors (of blame spans, model vs humans)")
        lines.append(f"{'':<34}{actors['predicted']:>6}{actors['human']:>6}{actors['kept']:>6}{actors['moved']:>6}"
                     f"{actors['removed']:>8}{actors['added']:>6}")
        if actors["orphans"]:
            lines.append(f"{actors['orphans']} actor regions linked to no blame span (a deleted blame span leaves its "
                         "actor behind) were left out")
    agreement = report["agreement"]
    lines.append("")
    if not agreement["pairs"]:
        lines.append("agreement: no task has more than one annotator")
    else:
        lines.append(
            f"agreement over {agreement['tasks']} tasks, {agreement['pairs']} annotator pairs: "
            f"span F1 {_num(agreement['span_f1'])}"
        )
        lines.append(f"{'label':<34}{'span F1':>9}{'exact F1':>10}{'char kappa':>12}")
        for label, row in agreement["per_label"].items():
            lines.append(
                f"{label:<34}{_num(row['span_f1']):>9}{_num(row['exact_f1']):>10}{_num(row['char_kappa']):>12}"
            )
    if report["problems"]:
        lines.append("")
        lines.append(f"{len(report['problems'])} regions could not be read:")
        lines.extend(f"  {p}" for p in report["problems"][:20])
    return "\n".join(lines)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
