"""The corpus report: how often each device occurs, by group and over time, who is blamed, which phrases
carry the devices, and which labels come together; an HTML page with plots and the CSV tables behind them.

Units. A device's *rate* is the number of sentences carrying its label per 1,000 sentences. A sentence
carries a label when the record's sentence labels say so or a span of the label overlaps it; records without
sentences (a pulled Label Studio file) are segmented here, and their sentences carry the labels of the spans
that overlap them. Each record counts once: a pulled file with two annotators of one document counts it twice.

Confidence intervals (95%). Sentences of one article are not independent (one author, one topic), so where a
group has at least ``BOOTSTRAP_MIN_DOCUMENTS`` documents the interval is a percentile bootstrap over
documents (``BOOTSTRAP_RESAMPLES`` resamples, a fixed seed: the same input gives the same report); for smaller
groups it is the Wilson score interval over sentences, which ignores that dependence and is too narrow. The
``ci_method`` column says which one a row has.

Phrases and actors are normalised for counting (case folded, runs of whitespace made one space, surrounding
punctuation dropped) and shown in their most frequent written form.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.views.article import Labels, page_name
from pipeline.views.records import Layer, ViewDocument
from pipeline.views.render import render

BOOTSTRAP_MIN_DOCUMENTS = 20
BOOTSTRAP_RESAMPLES = 1000
Z95 = 1.959963984540054
NO_VALUE = "(none)"
PERIODS = ("month", "week")
# the labels whose phrases the report lists first (the rest are in phrases.csv too), when the taxonomy has them
PHRASE_LABELS = ("loaded_language", "legitimation", "delegitimation", "name_calling")
TOP_ROWS = 25
EXAMPLES_PER_ACTOR = 3
_SPACE = re.compile(r"\s+")
_EDGE_PUNCTUATION = " \t\n\"'\u201c\u201d\u2018\u2019.,;:!?()[]{}"


def normalise(phrase: str) -> str:
    """Case folded, whitespace runs made one space, surrounding quotes and punctuation dropped."""
    return _SPACE.sub(" ", phrase).strip(_EDGE_PUNCTUATION).casefold()


def layer_sentences(layer: Layer, text: str) -> list[tuple[int, int, frozenset[str]]]:
    """The layer's sentences with the labels they carry (see the module docstring)."""
    if layer.sentences:
        bounds = [(s["start"], s["end"], set(s["labels"])) for s in layer.sentences]
    else:
        from pipeline.segment import iter_sentence_offsets

        bounds = [(start, end, set()) for start, end in iter_sentence_offsets(text)]
    for span in layer.spans:
        for start, end, labels in bounds:
            if span["start"] < end and start < span["end"]:
                labels.add(span["label"])
    return [(start, end, frozenset(labels)) for start, end, labels in bounds]


def parse_time(value: Any) -> dt.date | None:
    """A date from an ISO date or timestamp (string, date or datetime); None when there is none."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    for pattern in ("%Y-%m", "%Y/%m/%d", "%d.%m.%Y", "%Y%m%d"):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def period_of(day: dt.date, period: str) -> str:
    if period == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{day.year}-{day.month:02d}"


def _field(metadata: Mapping[str, Any], name: str) -> Any:
    """A metadata field; ``a.b`` reads a nested one."""
    value: Any = metadata
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


@dataclass
class Unit:
    """One record's counts: its sentences, and per label the sentences that carry it."""

    doc_id: str
    group: str
    period: str | None
    sentences: int
    counts: Counter = field(default_factory=Counter)


@dataclass
class Tally:
    units: list[Unit] = field(default_factory=list)
    labels: Counter = field(default_factory=Counter)
    cooccurrence: Counter = field(default_factory=Counter)
    actors: Counter = field(default_factory=Counter)
    actor_forms: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    actor_documents: dict[str, set] = field(default_factory=lambda: defaultdict(set))
    actor_examples: dict[str, list] = field(default_factory=lambda: defaultdict(list))
    phrases: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    phrase_forms: dict[tuple[str, str], Counter] = field(default_factory=lambda: defaultdict(Counter))
    phrase_documents: dict[tuple[str, str], set] = field(default_factory=lambda: defaultdict(set))
    undated: int = 0
    documents: int = 0

    def add(self, document: ViewDocument, by: str | None, time: str | None, period: str) -> None:
        self.documents += 1
        group = NO_VALUE
        if by:
            value = _field(document.metadata, by)
            group = NO_VALUE if value is None or value == "" else str(value)
        when = None
        if time:
            day = parse_time(_field(document.metadata, time))
            if day is None:
                self.undated += 1
            else:
                when = period_of(day, period)
        text = document.text
        for layer in document.layers:
            sentences = layer_sentences(layer, text)
            unit = Unit(document.id, group, when, len(sentences))
            for _, _, labels in sentences:
                unit.counts.update(labels)
                ordered = sorted(labels)
                for i, a in enumerate(ordered):
                    for b in ordered[i:]:
                        self.cooccurrence[(a, b)] += 1
            self.units.append(unit)
            self.labels.update(unit.counts)
            for span in layer.spans:
                phrase = text[span["start"]:span["end"]]
                key = normalise(phrase)
                if key:
                    self.phrases[span["label"]][key] += 1
                    self.phrase_forms[(span["label"], key)][_SPACE.sub(" ", phrase.strip())] += 1
                    self.phrase_documents[(span["label"], key)].add(document.id)
                actor = span["attributes"].get("actor")
                if not actor:
                    continue
                written = text[actor["start"]:actor["end"]]
                key = normalise(written)
                if not key:
                    continue
                self.actors[key] += 1
                self.actor_forms[key][_SPACE.sub(" ", written.strip())] += 1
                self.actor_documents[key].add(document.id)
                examples = self.actor_examples[key]
                if len(examples) < EXAMPLES_PER_ACTOR and all(e[0] != document.id for e in examples):
                    sentence = next(((s, e) for s, e, _ in sentences if s <= span["start"] < e),
                                    (span["start"], span["end"]))
                    examples.append((document.id, sentence[0], _SPACE.sub(" ", text[sentence[0]:sentence[1]]).strip()))


# -- statistics ------------------------------------------------------------------------------------------
def wilson(k: int, n: int) -> tuple[float, float]:
    """The Wilson score interval (95%) of a proportion k/n."""
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    centre = (p + Z95 * Z95 / (2 * n)) / (1 + Z95 * Z95 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95 * Z95 / (4 * n * n)) / (1 + Z95 * Z95 / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def rate_rows(units: Sequence[Unit], labels: Sequence[str], key: str = "", seed: int = 0) -> list[dict[str, Any]]:
    """Per label: sentences carrying it per 1,000 sentences of ``units``, with a 95% interval."""
    import numpy as np

    sentences = np.array([u.sentences for u in units], dtype=float)
    counts = np.array([[u.counts.get(label, 0) for label in labels] for u in units], dtype=float).reshape(
        len(units), len(labels))
    total = sentences.sum()
    documents = len({u.doc_id for u in units})
    bootstrap = None
    if documents >= BOOTSTRAP_MIN_DOCUMENTS and total > 0:
        rng = np.random.default_rng(seed)
        weights = rng.multinomial(len(units), np.full(len(units), 1 / len(units)), size=BOOTSTRAP_RESAMPLES)
        resampled_sentences = weights @ sentences
        resampled = (weights @ counts) / np.maximum(resampled_sentences, 1)[:, None]
        bootstrap = np.percentile(resampled, [2.5, 97.5], axis=0)
    rows = []
    for index, label in enumerate(labels):
        k = int(counts[:, index].sum())
        if bootstrap is not None:
            low, high, method = float(bootstrap[0, index]), float(bootstrap[1, index]), "document bootstrap"
        else:
            (low, high), method = wilson(k, int(total)), "wilson (sentences)"
        rows.append({"group": key, "label": label, "sentences_with_label": k, "sentences": int(total),
                     "documents": documents, "rate_per_1000": _per_1000(k / total if total else math.nan),
                     "ci_low": _per_1000(low), "ci_high": _per_1000(high), "ci_method": method})
    return rows


def _per_1000(proportion: float) -> float | None:
    return None if math.isnan(proportion) else round(proportion * 1000, 2)


# -- plots -----------------------------------------------------------------------------------------------
def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(figure, path: Path) -> None:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    _pyplot().close(figure)


def _errors(rows: list[dict[str, Any]]) -> list[list[float]]:
    low = [max(0.0, (r["rate_per_1000"] or 0) - (r["ci_low"] or 0)) for r in rows]
    high = [max(0.0, (r["ci_high"] or 0) - (r["rate_per_1000"] or 0)) for r in rows]
    return [low, high]


def plot_overall(rows: list[dict[str, Any]], labels: Labels, path: Path) -> None:
    plt = _pyplot()
    rows = sorted(rows, key=lambda r: r["rate_per_1000"] or 0)
    figure, axes = plt.subplots(figsize=(8, max(2.5, 0.32 * len(rows) + 1)))
    positions = range(len(rows))
    axes.barh(positions, [r["rate_per_1000"] or 0 for r in rows], xerr=_errors(rows), capsize=2,
              color=[labels.colour(r["label"]) for r in rows], edgecolor="#333", linewidth=0.4)
    axes.set_yticks(list(positions), [labels.name(r["label"]) for r in rows])
    axes.set_xlabel("sentences with the device per 1,000 sentences (95% interval)")
    axes.set_title("Device rates, whole corpus")
    _save(figure, path)


def plot_groups(rows: list[dict[str, Any]], plot_labels: Sequence[str], groups: Sequence[str], labels: Labels,
                by: str, path: Path) -> None:
    plt = _pyplot()
    table = {(r["group"], r["label"]): r for r in rows}
    figure, axes = plt.subplots(figsize=(max(8, 1.2 * len(groups) + 5), 4.5))
    width = 0.8 / max(1, len(plot_labels))
    for number, label in enumerate(plot_labels):
        selected = [table[(g, label)] for g in groups]
        xs = [i + (number - (len(plot_labels) - 1) / 2) * width for i in range(len(groups))]
        axes.bar(xs, [r["rate_per_1000"] or 0 for r in selected], width, yerr=_errors(selected), capsize=2,
                 color=labels.colour(label), edgecolor="#333", linewidth=0.4, label=labels.name(label))
    axes.set_xticks(range(len(groups)), [g if len(g) <= 18 else g[:17] + "\u2026" for g in groups],
                    rotation=30 if len(groups) > 4 else 0, ha="right" if len(groups) > 4 else "center")
    axes.set_ylabel("per 1,000 sentences (95% interval)")
    axes.set_title(f"Device rates by {by}")
    axes.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1))
    _save(figure, path)


def plot_time(rows: list[dict[str, Any]], plot_labels: Sequence[str], periods: Sequence[str], labels: Labels,
              time: str, period: str, path: Path) -> None:
    plt = _pyplot()
    table = {(r["group"], r["label"]): r for r in rows}
    figure, axes = plt.subplots(figsize=(max(8, 0.45 * len(periods) + 5), 4.5))
    xs = list(range(len(periods)))
    for label in plot_labels:
        selected = [table[(p, label)] for p in periods]
        values = [r["rate_per_1000"] or 0 for r in selected]
        axes.plot(xs, values, marker="o", color=labels.colour(label), label=labels.name(label))
        if len(plot_labels) <= 3:  # more bands than that hide each other
            axes.fill_between(xs, [r["ci_low"] or 0 for r in selected], [r["ci_high"] or 0 for r in selected],
                              color=labels.colour(label), alpha=0.12, linewidth=0)
    step = max(1, len(periods) // 16)
    axes.set_xticks(xs[::step], list(periods)[::step], rotation=45, ha="right")
    axes.set_ylabel("per 1,000 sentences")
    axes.set_title(f"Device rates by {period} ({time})" + ("; bands: 95% intervals" if len(plot_labels) <= 3 else ""))
    axes.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1))
    _save(figure, path)


def plot_actors(rows: list[dict[str, Any]], path: Path) -> None:
    plt = _pyplot()
    rows = list(reversed(rows[:15]))
    figure, axes = plt.subplots(figsize=(8, max(2.5, 0.32 * len(rows) + 1)))
    axes.barh(range(len(rows)), [r["mentions"] for r in rows], color="#d62728", alpha=0.8)
    axes.set_yticks(range(len(rows)), [r["actor"] if len(r["actor"]) <= 40 else r["actor"][:39] + "\u2026"
                                       for r in rows])
    axes.set_xlabel("blame spans naming the actor")
    axes.set_title("Who is blamed")
    _save(figure, path)


def plot_cooccurrence(matrix: list[list[int]], names: Sequence[str], path: Path) -> None:
    plt = _pyplot()
    size = max(4.0, 0.42 * len(names) + 2.5)
    figure, axes = plt.subplots(figsize=(size + 1, size))
    image = axes.imshow(matrix, cmap="Blues")
    axes.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=8)
    axes.set_yticks(range(len(names)), names, fontsize=8)
    peak = max((max(row) for row in matrix), default=0)
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            if value:
                axes.text(j, i, str(value), ha="center", va="center", fontsize=7,
                          color="white" if value > peak / 2 else "#222")
    figure.colorbar(image, ax=axes, shrink=0.7, label="sentences with both labels")
    axes.set_title("Labels in the same sentence")
    _save(figure, path)


# -- the report ------------------------------------------------------------------------------------------
def write_csv(path: Path, rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


RATE_COLUMNS = ("group", "label", "name", "sentences_with_label", "sentences", "documents", "rate_per_1000",
                "ci_low", "ci_high", "ci_method")


@dataclass
class Report:
    out_dir: Path
    html: Path
    documents: int = 0
    files: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _most_common_form(forms: Counter) -> str:
    return sorted(forms.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]


def write_report(documents: Iterable[ViewDocument], out_dir: str | os.PathLike[str], *, by: str | None = None,
                 time: str | None = None, period: str = "month", taxonomy=None, view_dir: str | None = None,
                 plot_labels: Sequence[str] = (), title: str = "Corpus report",
                 problems: list[str] | None = None) -> Report:
    """Count, plot and write the report (see the module docstring); ``view_dir`` is the article view that
    example sentences link to (None: no links)."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}, not {period!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    labels = Labels.from_taxonomy(taxonomy)
    report = Report(out, out / "index.html", problems=problems if problems is not None else [])
    tally = Tally()
    for document in documents:
        tally.add(document, by, time, period)
    report.documents = tally.documents
    present = labels.sort(tally.labels)
    chosen = [label for label in plot_labels if label in tally.labels] or \
        sorted(present, key=lambda label: -tally.labels[label])[:6]

    def written(name: str) -> Path:
        report.files.append(out / name)
        return out / name

    def named(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for row in rows:
            row["name"] = labels.name(row["label"])
        return rows

    sections: dict[str, Any] = {"by": None, "time": None}
    overall = named(rate_rows(tally.units, present, "(all)"))
    write_csv(written("rates_overall.csv"), overall, RATE_COLUMNS)
    if overall:
        plot_overall(overall, labels, written("rates_overall.png"))
    sections["overall"] = overall

    if by:
        groups_units: dict[str, list[Unit]] = defaultdict(list)
        for unit in tally.units:
            groups_units[unit.group].append(unit)
        groups = sorted(groups_units, key=lambda g: (-sum(u.sentences for u in groups_units[g]), g))
        by_rows = [row for g in groups for row in named(rate_rows(groups_units[g], present, g))]
        safe = _file_part(by)
        write_csv(written(f"rates_by_{safe}.csv"), by_rows, RATE_COLUMNS)
        if by_rows and chosen:
            plot_groups(by_rows, chosen, groups[:12], labels, by, written(f"rates_by_{safe}.png"))
        sections["by"] = {"field": by, "rows": [r for r in by_rows if r["label"] in chosen], "groups": len(groups),
                          "csv": f"rates_by_{safe}.csv", "png": f"rates_by_{safe}.png" if by_rows and chosen else None,
                          "missing": len(groups_units.get(NO_VALUE, []))}

    if time:
        periods_units: dict[str, list[Unit]] = defaultdict(list)
        for unit in tally.units:
            if unit.period is not None:
                periods_units[unit.period].append(unit)
        periods = sorted(periods_units)
        time_rows = [row for p in periods for row in named(rate_rows(periods_units[p], present, p))]
        for row in time_rows:
            row["period"] = row["group"]
        write_csv(written("rates_over_time.csv"), time_rows, ("period", *RATE_COLUMNS[1:]))
        png = None
        if time_rows and chosen:
            png = "rates_over_time.png"
            plot_time(time_rows, chosen, periods, labels, time, period, written(png))
        if tally.undated:
            report.problems.append(f"{tally.undated} documents have no readable date in metadata field {time!r}; "
                                   "they are left out of the rates over time")
        sections["time"] = {"field": time, "period": period, "periods": len(periods), "undated": tally.undated,
                            "png": png, "rows": [r for r in time_rows if r["label"] in chosen]}

    actor_rows = []
    for key, mentions in sorted(tally.actors.items(), key=lambda kv: (-kv[1], kv[0])):
        examples = [{"doc_id": doc_id, "sentence": sentence, "href": _link(view_dir, out, doc_id, start)}
                    for doc_id, start, sentence in tally.actor_examples[key]]
        actor_rows.append({"actor": _most_common_form(tally.actor_forms[key]), "normalised": key, "mentions": mentions,
                           "documents": len(tally.actor_documents[key]), "examples": examples,
                           "example": examples[0]["sentence"] if examples else "",
                           "example_document": examples[0]["doc_id"] if examples else ""})
    write_csv(written("blamed_actors.csv"), actor_rows,
              ("actor", "normalised", "mentions", "documents", "example", "example_document"))
    if actor_rows:
        plot_actors(actor_rows, written("blamed_actors.png"))
    sections["actors"] = actor_rows[:TOP_ROWS]

    phrase_rows = []
    for label in labels.sort(tally.phrases):
        for key, count in sorted(tally.phrases[label].items(), key=lambda kv: (-kv[1], kv[0])):
            phrase_rows.append({"label": label, "name": labels.name(label),
                                "phrase": _most_common_form(tally.phrase_forms[(label, key)]), "normalised": key,
                                "count": count, "documents": len(tally.phrase_documents[(label, key)])})
    write_csv(written("phrases.csv"), phrase_rows, ("label", "name", "phrase", "normalised", "count", "documents"))
    first = [label for label in PHRASE_LABELS if label in tally.phrases]
    sections["phrases"] = [{"label": label, "name": labels.name(label),
                            "rows": [r for r in phrase_rows if r["label"] == label][:TOP_ROWS]}
                           for label in first + [label for label in labels.sort(tally.phrases) if label not in first]]

    matrix = [[tally.cooccurrence.get(tuple(sorted((a, b))), 0) for b in present] for a in present]
    with open(written("cooccurrence.csv"), "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["label", *present])
        for label, row in zip(present, matrix):
            writer.writerow([label, *row])
    if present:
        plot_cooccurrence(matrix, [labels.name(label) for label in present], written("cooccurrence.png"))
    sections["cooccurrence"] = bool(present)

    total_sentences = sum(u.sentences for u in tally.units)
    report.html.write_text(render(
        "report.html", title=title, sections=sections, documents=tally.documents, units=len(tally.units),
        sentences=total_sentences, files=[p.name for p in report.files], problems=report.problems,
        colours={label: labels.colour(label) for label in present}, bootstrap_min=BOOTSTRAP_MIN_DOCUMENTS,
        resamples=BOOTSTRAP_RESAMPLES, view=bool(view_dir)), encoding="utf-8")
    return report


def _file_part(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_") or "field"


def _link(view_dir: str | None, out: Path, doc_id: str, sentence_start: int) -> str | None:
    if not view_dir:
        return None
    target = Path(view_dir).resolve() / page_name(doc_id)
    return Path(os.path.relpath(target, out.resolve())).as_posix() + f"#s{sentence_start}"
