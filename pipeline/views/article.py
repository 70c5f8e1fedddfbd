"""The article view: a static site with one page per document, every span highlighted, and an index.

``write_site(documents, out_dir)`` writes ``out_dir/index.html`` (documents with metadata and counts per
device; sorted, filtered and paged in the browser), ``out_dir/docs/<name>.html`` (one page per document,
written as the documents stream by) and ``out_dir/assets/`` (style, scripts, label colours). Nothing is
loaded from the network.

Marks are built from character offsets alone (:func:`mark_tokens`): the text is cut at every sentence, span
and blamed-actor boundary, and the pieces are wrapped in properly nested elements. Where two spans cross,
the inner one is closed and reopened, so one span may be drawn as several fragments; every fragment carries
the span's own ``data-label``, ``data-start`` and ``data-end`` (``text[start:end]`` is the span's text), and
no text is ever added inside a mark (badges and sentence labels are drawn with CSS from attributes), so a
mark's text content is exactly the text it covers.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.views.records import Layer, ViewDocument, occurrences
from pipeline.views.render import render, static_dir

ACTOR = "actor"  # data-label of a blamed actor's mark
_UNKNOWN_COLOURS = ("#7f7f7f", "#8c6d31", "#637939", "#843c39", "#5254a3", "#6b6ecf", "#b5cf6b", "#e7969c")
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")
_CLASS = re.compile(r"[^a-z0-9_-]")
_MAX_METADATA_COLUMNS = 8
SENTENCE, SPAN, ACTOR_KIND = 0, 1, 2


def page_name(doc_id: str) -> str:
    """The page of a document, relative to the site root: ``docs/<readable part>-<hash of the id>.html``."""
    slug = _SLUG.sub("-", doc_id).strip("-.")[:60] or "document"
    return f"docs/{slug}-{hashlib.sha1(doc_id.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}.html"


def label_class(label: str) -> str:
    """A CSS class for a label id (ids from other taxonomies or Label Studio may hold any character)."""
    cleaned = _CLASS.sub("_", label.lower())
    if cleaned != label:
        cleaned += "-" + hashlib.sha1(label.encode("utf-8", "surrogatepass")).hexdigest()[:6]
    return "l-" + cleaned


@dataclass
class Labels:
    """Display names and colours: the taxonomy's, and stable made-up ones for labels it lacks."""

    names: dict[str, str] = field(default_factory=dict)
    colours: dict[str, str] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)

    @classmethod
    def from_taxonomy(cls, taxonomy) -> Labels:
        if taxonomy is None:
            return cls()
        return cls({label.id: label.name for label in taxonomy.labels},
                   {label.id: label.color for label in taxonomy.labels}, [label.id for label in taxonomy.labels])

    def name(self, label: str) -> str:
        if label == ACTOR:
            return "Blamed actor"
        return self.names.get(label, label)

    def colour(self, label: str) -> str:
        if label == ACTOR:
            return "#444444"
        if label not in self.colours:
            digest = hashlib.sha1(label.encode("utf-8", "surrogatepass")).digest()
            self.colours[label] = _UNKNOWN_COLOURS[digest[0] % len(_UNKNOWN_COLOURS)]
        return self.colours[label]

    def sort(self, labels: Iterable[str]) -> list[str]:
        rank = {label: number for number, label in enumerate(self.order)}
        return sorted(set(labels), key=lambda label: (label == ACTOR, rank.get(label, len(rank)), label))


# -- marks -----------------------------------------------------------------------------------------------
@dataclass(eq=False)
class Interval:
    """Something drawn over ``text[start:end]``: a sentence, a span or a blamed actor."""

    kind: int
    start: int
    end: int
    label: str = ""
    attrs: dict[str, str] = field(default_factory=dict)
    payload: Any = None


@dataclass(eq=False)
class Node:
    interval: Interval | None
    first: bool = True  # the first fragment of its interval
    last: bool = False
    children: list[Any] = field(default_factory=list)  # str (raw text), Node, or ("after", Interval)
    height: int = 0


def mark_tokens(text: str, intervals: list[Interval]) -> Node:
    """The tree of nested elements that draws ``intervals`` over ``text`` (see the module docstring)."""
    bounds = sorted({0, len(text)} | {i.start for i in intervals} | {i.end for i in intervals})
    starting: dict[int, list[Interval]] = {}
    for interval in intervals:
        starting.setdefault(interval.start, []).append(interval)
    root = Node(None)
    stack: list[Node] = [root]

    def order(interval: Interval) -> tuple:
        return (interval.kind != SENTENCE, -interval.end, interval.kind, interval.label)

    for index, position in enumerate(bounds):
        reopen: list[Interval] = []
        while any(node.interval.end == position for node in stack[1:]):
            node = stack.pop()
            if node.interval.end == position:
                node.last = True
                if node.interval.kind == SENTENCE:
                    stack[-1].children.append(("after", node.interval))
            else:
                reopen.append(node.interval)
        opening = sorted([*reopen, *starting.get(position, ())], key=order)
        fresh = set(map(id, starting.get(position, ())))
        for interval in opening:
            node = Node(interval, first=id(interval) in fresh)
            stack[-1].children.append(node)
            stack.append(node)
        if index + 1 < len(bounds):
            stack[-1].children.append(text[position:bounds[index + 1]])
    _set_heights(root)
    return root


def _set_heights(root: Node) -> None:
    """Each mark's height: the most marks nested in it, itself included (iterative: nesting may be deep)."""
    order: list[Node] = []
    pending = [root]
    while pending:
        node = pending.pop()
        order.append(node)
        pending.extend(child for child in node.children if isinstance(child, Node))
    for node in reversed(order):  # children before their parents
        inner = max((child.height for child in node.children if isinstance(child, Node)), default=0)
        node.height = inner + (1 if node.interval is not None and node.interval.kind != SENTENCE else 0)


def render_tree(root: Node, labels: Labels) -> str:
    parts: list[str] = []
    pending: list[Any] = [root]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            parts.append(item)  # a closing tag
        elif isinstance(item, tuple):
            parts.append(_sentence_labels(item[1], labels))
        elif isinstance(item, Node):
            if item.interval is not None:
                parts.append(_opening_tag(item))
                pending.append("</span>" if item.interval.kind == SENTENCE else "</mark>")
            pending.extend(reversed([_Text(c) if isinstance(c, str) else c for c in item.children]))
        else:
            parts.append(html.escape(item.text, quote=False))
    return "".join(parts)


@dataclass(frozen=True, slots=True)
class _Text:
    text: str


def _opening_tag(node: Node) -> str:
    interval = node.interval
    attrs = dict(interval.attrs)
    classes = [attrs.pop("class", "")]
    if not node.first:
        classes.append("cont")
        attrs.pop("id", None)
    if node.last:
        classes.append("last")
    tag = "span" if interval.kind == SENTENCE else "mark"
    if interval.kind != SENTENCE:
        attrs["style"] = f"--h:{node.height}"
    return f"<{tag} class=\"{' '.join(c for c in classes if c)}\"{_attributes(attrs)}>"


def _attributes(attrs: dict[str, str]) -> str:
    return "".join(f' {key}="{html.escape(str(value))}"' for key, value in attrs.items() if value is not None)


def _sentence_labels(sentence: Interval, labels: Labels) -> str:
    """Sentence labels beside the sentence: empty elements whose text CSS draws from ``data-text``."""
    chips = []
    for label, score in sorted(sentence.payload.items(), key=lambda kv: -(kv[1] or 0)):
        shown = f"{labels.name(label)} {score:.2f}" if isinstance(score, int | float) else labels.name(label)
        attrs = {"data-label": label, "data-start": sentence.start, "data-end": sentence.end,
                 "data-score": _score(score), "data-text": shown, "title": shown}
        chips.append(f'<span class="slabel {label_class(label)}"{_attributes(attrs)}></span>')
    return "".join(chips)


def _score(score: Any) -> str | None:
    return f"{score:.4f}" if isinstance(score, int | float) else None


def layer_intervals(layer: Layer, text: str, labels: Labels, anchors: bool) -> list[Interval]:
    """The sentences, spans and blamed actors of a layer, with the attributes their marks carry."""
    intervals = []
    sentences = layer.sentences
    if not sentences:  # a pulled file has none: segment, so that sentences can be linked to
        from pipeline.segment import iter_sentence_offsets

        sentences = tuple({"start": start, "end": end, "labels": {}} for start, end in iter_sentence_offsets(text))
    for sentence in sentences:
        attrs = {"class": "sent", "data-start": str(sentence["start"]), "data-end": str(sentence["end"])}
        if anchors:
            attrs["id"] = f"s{sentence['start']}"
        intervals.append(Interval(SENTENCE, sentence["start"], sentence["end"], "", attrs, sentence["labels"]))
    actors: dict[tuple[int, int], str] = {}
    for number, span in enumerate(layer.spans):
        label, score = span["label"], span.get("score")
        tip = [labels.name(label), f"score {score:.2f}" if isinstance(score, int | float) else None, layer.name]
        attrs = {"class": f"m {label_class(label)}", "data-kind": "span", "data-label": label,
                 "data-start": str(span["start"]), "data-end": str(span["end"]), "data-score": _score(score),
                 "data-source": layer.name, "data-span": str(number)}
        actor = span["attributes"].get("actor")
        if actor:
            key = (actor["start"], actor["end"])
            ref = actors.setdefault(key, f"A{len(actors) + 1}")
            attrs["class"] += " has-actor"
            attrs["data-actor"] = ref
            attrs["data-actor-start"], attrs["data-actor-end"] = str(key[0]), str(key[1])
            tip.append(f"blamed actor {ref}: \u201c{text[key[0]:key[1]]}\u201d")
        attrs["title"] = " \u00b7 ".join(t for t in tip if t)
        intervals.append(Interval(SPAN, span["start"], span["end"], label, attrs))
    for (start, end), ref in actors.items():
        score = next((s["attributes"]["actor"].get("score") for s in layer.spans
                      if (s["attributes"].get("actor") or {}).get("start") == start
                      and s["attributes"]["actor"].get("end") == end), None)
        attrs = {"class": f"m actor {label_class(ACTOR)}", "data-kind": "actor", "data-label": ACTOR,
                 "data-start": str(start), "data-end": str(end), "data-score": _score(score),
                 "data-source": layer.name, "data-actor-id": ref,
                 "title": " \u00b7 ".join(t for t in ("Blamed actor " + ref, f"score {score:.2f}"
                                                     if isinstance(score, int | float) else None, layer.name) if t)}
        intervals.append(Interval(ACTOR_KIND, start, end, ACTOR, attrs))
    return intervals


def render_layer(document: ViewDocument, layer: Layer, labels: Labels, anchors: bool = False) -> str:
    """The document's text with the layer's marks, as HTML."""
    return render_tree(mark_tokens(document.text, layer_intervals(layer, document.text, labels, anchors)), labels)


# -- pages -----------------------------------------------------------------------------------------------
def _shown(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def document_page(document: ViewDocument, labels: Labels, *, title: str = "Article view") -> str:
    """One document's page (links are relative to ``docs/``)."""
    counts: dict[str, int] = {}
    for layer in document.layers:
        for label, count in occurrences(layer).items():
            counts[label] = counts.get(label, 0) + count
        if any(span["attributes"].get("actor") for span in layer.spans):
            counts.setdefault(ACTOR, 0)
            counts[ACTOR] += len({(s["attributes"]["actor"]["start"], s["attributes"]["actor"]["end"])
                                  for s in layer.spans if s["attributes"].get("actor")})
    legend = [{"label": label, "name": labels.name(label), "css": label_class(label), "count": counts[label],
               "colour": labels.colour(label)} for label in labels.sort(counts)]
    layers = [{"name": layer.name, "kind": layer.kind,
               "html": render_layer(document, layer, labels, anchors=number == 0),
               "choices": {key: ", ".join(map(str, value)) if isinstance(value, list) else _shown(value)
                           for key, value in layer.choices.items()}}
              for number, layer in enumerate(document.layers)]
    comparison = []
    if len(document.layers) > 1:  # side by side: how many of each label every source marked
        per_layer = [occurrences(layer) for layer in document.layers]
        comparison = [{"name": labels.name(label), "css": label_class(label),
                       "counts": [counts.get(label, 0) for counts in per_layer]}
                      for label in labels.sort(set().union(*per_layer))]
    return render("article.html", title=title, document=document, layers=layers, legend=legend,
                  comparison=comparison,
                  metadata={key: _shown(value) for key, value in document.metadata.items()},
                  length=len(document.text))


def index_row(document: ViewDocument, href: str) -> dict[str, Any]:
    """What the index shows of a document: counts per label are those of its first layer."""
    first = document.layers[0] if document.layers else Layer("model", "")
    counts = occurrences(first)
    return {"id": document.id, "href": href,
            "meta": {key: _shown(value) for key, value in document.metadata.items()
                     if value is not None and not isinstance(value, dict | list)},
            "sources": [layer.name for layer in document.layers],
            "sentences": len(first.sentences), "total": sum(counts.values()), "counts": counts,
            "chars": len(document.text)}


def labels_css(labels: Labels, used: Iterable[str]) -> str:
    rules = []
    for label in labels.sort(set(used) | {ACTOR}):
        css, colour = label_class(label), labels.colour(label)
        rules.append(f"mark.{css}{{--c:{colour}}} .slabel.{css}{{--c:{colour}}} .swatch.{css}{{--c:{colour}}}")
        rules.append(f"body.hide-{css} mark.{css}, body.hide-{css} .slabel.{css}{{--c:transparent;"
                     "background:none;border-color:transparent;outline:none}")
        rules.append(f"body.hide-{css} .slabel.{css}{{display:none}}")
    return "\n".join(rules) + "\n"


@dataclass
class SiteReport:
    out_dir: Path
    index: Path
    documents: int = 0
    problems: list[str] = field(default_factory=list)


def write_site(documents: Iterable[ViewDocument], out_dir: str | os.PathLike[str], *, taxonomy=None,
               title: str = "Article view", problems: list[str] | None = None) -> SiteReport:
    """Write the site (see the module docstring), one page at a time; returns where the index is."""
    out = Path(out_dir)
    (out / "docs").mkdir(parents=True, exist_ok=True)
    (out / "assets").mkdir(exist_ok=True)
    for name in ("view.css", "view.js", "index.js"):
        shutil.copyfile(static_dir() / name, out / "assets" / name)
    labels = Labels.from_taxonomy(taxonomy)
    report = SiteReport(out, out / "index.html", problems=problems if problems is not None else [])
    rows: list[dict[str, Any]] = []
    used: set[str] = set()
    seen: set[str] = set()
    for document in documents:
        name = page_name(document.id)
        if name in seen:
            report.problems.append(f"document {document.id!r} appears twice (not one after the other); "
                                   "the later page replaces the earlier one")
        seen.add(name)
        (out / name).write_text(document_page(document, labels, title=title), encoding="utf-8")
        row = index_row(document, name)
        used.update(row["counts"])
        used.update(label for layer in document.layers for s in layer.spans for label in [s["label"]])
        rows.append(row)
        report.documents += 1
    (out / "assets" / "labels.css").write_text(labels_css(labels, used), encoding="utf-8")
    meta_keys = _metadata_columns(rows)
    columns = [{"label": label, "name": labels.name(label), "css": label_class(label), "colour": labels.colour(label)}
               for label in labels.sort(used)]
    payload = json.dumps({"rows": rows, "meta": meta_keys, "labels": columns}, ensure_ascii=False)
    report.index.write_text(render("index.html", title=title, data=_script_json(payload), count=len(rows),
                                   problems=len(report.problems)), encoding="utf-8")
    return report


def _metadata_columns(rows: list[dict[str, Any]]) -> list[str]:
    frequency: dict[str, int] = {}
    for row in rows:
        for key in row["meta"]:
            frequency[key] = frequency.get(key, 0) + 1
    return sorted(frequency, key=lambda key: -frequency[key])[:_MAX_METADATA_COLUMNS]


def _script_json(payload: str) -> str:
    """JSON that is safe inside a <script> element (no "</script>", no "<!--")."""
    return payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
