"""Resolve the team-written device examples into training records with exact offsets, and check them.

Input: JSONL drafts, one short news-style paragraph per line, written by the team (no corpus text):

    {"id": "w1-001", "text": "...", "spans": [{"label": "legitimation", "text": "the legitimate authorities"},
                                              {"label": "blame_attribution", "text": "...", "actor": "Kyiv"}]}

A span is given by its text (`"n": 2` picks the second occurrence); `actor` (blame only) is the blamed actor's
text, searched inside the span first, then in the paragraph. Every device instance in the paragraph is listed:
a sentence without a span is a negative for all three devices. Output: `devices-written.jsonl` in the
project's record format (`framing` reads it as a `records` data source with
`labels: [blame_attribution, legitimation, delegitimation]`).

    python annotations/written/build.py DRAFT.jsonl [DRAFT.jsonl ...] --out annotations/written/devices-written.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

LABELS = ("blame_attribution", "legitimation", "delegitimation")


def find(text: str, needle: str, n: int = 1, start: int = 0) -> int:
    at = start - 1
    for _ in range(n):
        at = text.find(needle, at + 1)
        if at < 0:
            return -1
    return at


def resolve(draft: dict, where: str) -> dict:
    text = draft["text"]
    spans = []
    for item in draft.get("spans", []):
        if item.get("label") not in LABELS:
            raise ValueError(f"{where}: unknown label {item.get('label')!r}")
        needle = item.get("text", "")
        start = find(text, needle, int(item.get("n", 1))) if needle else -1
        if start < 0:
            raise ValueError(f"{where}: span text {needle!r} not found")
        span = {"start": start, "end": start + len(needle), "label": item["label"], "source": "gold"}
        if item.get("actor"):
            actor = item["actor"]
            inside = text.find(actor, start, start + len(needle) + len(actor))
            at = inside if 0 <= inside and inside + len(actor) <= start + len(needle) else text.find(actor)
            if at < 0:
                raise ValueError(f"{where}: actor text {actor!r} not found")
            span["attributes"] = {"actor": {"start": at, "end": at + len(actor)}}
        spans.append(span)
    return {"id": draft["id"], "text": text, "metadata": {"annotator": draft.get("annotator", "team"),
                                                          "written": True}, "spans": spans}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("drafts", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=False)
    args = parser.parse_args()
    records, problems, seen = [], [], set()
    for path in args.drafts:
        for number, line in enumerate(path.open(encoding="utf-8"), start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                draft = json.loads(line)
                if draft["id"] in seen:
                    raise ValueError(f"{where}: id {draft['id']} repeated")
                seen.add(draft["id"])
                records.append(resolve(draft, where))
            except (ValueError, KeyError, TypeError) as error:
                problems.append(f"{where}: {error}" if not str(error).startswith(where) else str(error))
    print("\n".join(problems), file=sys.stderr)
    counts = {label: sum(any(s["label"] == label for s in r["spans"]) for r in records) for label in LABELS}
    print(f"{len(records)} paragraphs resolved, {len(problems)} problem(s); paragraphs with each device: {counts}")
    if args.out and not problems:
        with args.out.open("w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    if problems:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
