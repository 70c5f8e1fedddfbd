"""Helpers for the views' tests: hand-made records and a parser that reads the marks back from a page."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

TEXT = ("The governor and his cronies ruined the valley. "
        "<script>alert('x')</script> & friends call it the \"so-called\" plan.\n\nNothing else.")


def record(doc_id: str = "doc-1", text: str = TEXT, metadata: dict | None = None, spans=None, sentences=None,
           version: str = "test-model-1") -> dict:
    return {"id": doc_id, "text": text, "metadata": metadata if metadata is not None else {},
            "model_version": version, "sentences": sentences if sentences is not None else [],
            "spans": spans if spans is not None else []}


def sample_record() -> dict:
    """Nested and crossing spans, a blamed actor, sentence labels, and text that looks like markup."""
    text = TEXT
    first_end = text.index(".") + 1
    second_start = first_end + 1
    second_end = text.index("plan.") + len("plan.")
    script = text.index("<script>")
    spans = [
        {"start": 0, "end": first_end - 1, "label": "blame_attribution", "score": 0.91,
         "attributes": {"actor": {"start": 4, "end": 12, "score": 0.8}}},
        {"start": 4, "end": 28, "label": "name_calling", "score": 0.7},  # "governor and his cronies": nested
        {"start": 21, "end": 35, "label": "loaded_language", "score": 0.66},  # "cronies ruined": crosses the above
        {"start": 29, "end": 46, "label": "delegitimation", "score": 0.55},  # "ruined the valley"
        {"start": 24, "end": 40, "label": "doubt", "score": 0.5},  # crosses three of them
        {"start": script, "end": script + 29, "label": "slogans", "score": 0.4},
        {"start": text.index("so-called"), "end": text.index("so-called") + 9, "label": "delegitimation",
         "score": 0.8},
    ]
    sentences = [{"start": 0, "end": first_end, "labels": {"blame_attribution": 0.91, "loaded_language": 0.7}},
                 {"start": second_start, "end": second_end, "labels": {"delegitimation": 0.8}},
                 {"start": second_end + 2, "end": len(text), "labels": {}}]
    return record("doc-1", text, {"outlet": "The <b>Herald</b>", "date": "2026-03-04"}, spans, sentences)


def pulled_record(base: dict, annotator: str = "alice@example.org") -> dict:
    """A record as `framing ls pull` writes it, for the same text as ``base``."""
    text = base["text"]
    return {"id": base["id"], "text": text, "task_id": 1, "annotation_id": 7, "annotator": annotator,
            "created_at": "2026-11-30T10:00:00Z", "updated_at": "2026-11-30T10:00:00Z", "lead_time": 12.5,
            "was_cancelled": False, "ground_truth": False, "prediction_model_version": base.get("model_version"),
            "spans": [{"start": 4, "end": 28, "label": "blame_attribution",
                       "attributes": {"actor": {"start": 4, "end": 12}}},
                      {"start": 21, "end": 28, "label": "name_calling", "attributes": {}}],
            "choices": {}}


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


class Marks(HTMLParser):
    """Reads a page: every mark (tag, attributes, text inside it) and the text of each layer's text block."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.marks: list[dict] = []
        self.chips: list[dict] = []
        self.layers: list[str] = []
        self.scripts = 0
        self._open: list[dict] = []
        self._stack: list[str] = []
        self._in_text = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self._stack.append(tag)
        if tag == "script" and "src" not in attributes and attributes.get("type") != "application/json":
            self.scripts += 1
        if tag == "div" and attributes.get("class") == "text":
            self._in_text = len(self._stack)
            self.layers.append("")
        if tag == "mark":
            entry = {**attributes, "text": ""}
            self.marks.append(entry)
            self._open.append(entry)
        if tag == "span" and "slabel" in (attributes.get("class") or ""):
            self.chips.append(attributes)

    def handle_endtag(self, tag):
        if tag == "mark":
            self._open.pop()
        if self._in_text and len(self._stack) == self._in_text and tag == "div":
            self._in_text = 0
        if self._stack:
            self._stack.pop()

    def handle_data(self, data):
        for entry in self._open:
            entry["text"] += data
        if self._in_text:
            self.layers[-1] += data


def read_marks(page: str) -> Marks:
    parser = Marks()
    parser.feed(page)
    parser.close()
    return parser


def span_marks(parser: Marks) -> dict[tuple[str, str, str], list[dict]]:
    """Fragments of span marks by (source, data-span), to join a span's pieces back together."""
    pieces: dict[tuple[str, str, str], list[dict]] = {}
    for mark in parser.marks:
        if mark.get("data-kind") == "span":
            pieces.setdefault((mark["data-source"], mark["data-span"], mark["data-label"]), []).append(mark)
    return pieces
