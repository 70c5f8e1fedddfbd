"""Resolve the annotator's recorded decisions into the stand-off seed files, and check them.

Decisions are written per unit id of the pool (see propose.py) in `<work>/decisions/*.txt`, one line each:

    u00012 -                                          negative for all three devices
    u00013 B: the only obstacle ... United States @ United States | D: so-called regime   # R1 note
    u00014 L: legitimate authorities#2                second occurrence of the phrase in the sentence
    u00015 x                                          not a usable unit (broken sentence): left out

A file whose first line is `// annotator: NAME` records NAME as the annotator of its units (default `team-a`).

`B`, `L`, `D` are blame_attribution, legitimation, delegitimation. A span is given by its text (`#n` picks
the n-th occurrence) or as `first words ... last words`; `@` gives the blamed actor's text. The resolver
finds the text in the unit (quotes, dashes and case folded, offsets unchanged), refuses ambiguous or missing
text, and writes `devices-train.jsonl`, `devices-test.jsonl` and `units-test.jsonl` into annotations/seed.
Documents go to the test split by a seeded draw per document (never per sentence), except the pool units
marked `"split": "train-only"` (wave 6: documents a model proposed from), which go to `devices-train-only.jsonl`
and never to test.

    python annotations/seed/tools/build.py --work /path/outside/repo
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from units import load_text, split_units  # noqa: E402

from pipeline.standoff import DEVICE_LABELS, SEED_DIR, load_standoff, text_sha1  # noqa: E402

CODES = {"B": "blame_attribution", "L": "legitimation", "D": "delegitimation"}
ANNOTATOR = "team-a"
GUIDELINE_VERSION = "1.0"
SPLIT_SEED = "seed-split-1"
TEST_SHARE = 0.30
# Documents that share a sentence this long are near-copies or follow-ups of one story (the corpora hold
# reposted articles): they are kept in one split, so that no test sentence has a twin in train. A sentence
# found in more than MAX_SHARING documents is site boilerplate ("Completing this poll grants you ...") and
# links nothing.
MIN_SHARED_CHARS = 80
MAX_SHARING = 4
# a span code after the note: the note (" # ...") must end the line, or the spans after it are lost
_SPAN_AFTER_NOTE = re.compile(r"\|\s*[BLD]\s*:")
_FOLD = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-", "\u00a0": " "})


class DecisionError(ValueError):
    pass


def split_of(corpus: str, doc_id: str) -> str:
    """The split of a document group, drawn with a fixed seed from the group's first document."""
    return "test" if random.Random(f"{SPLIT_SEED}:{corpus}:{doc_id}").random() < TEST_SHARE else "train"


def document_groups(documents: set[tuple[str, str]]) -> dict[tuple[str, str], tuple[str, str]]:
    """Map each document to the first (sorted) document of its group of near-copies."""
    parent = {document: document for document in documents}

    def root(document: tuple[str, str]) -> tuple[str, str]:
        while parent[document] != document:
            document = parent[document]
        return document

    sharing: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for document in sorted(documents):
        text = load_text(*document)
        for start, end in split_units(document[0], text):
            if end - start >= MIN_SHARED_CHARS:
                sharing.setdefault((document[0], text[start:end]), []).append(document)
    for sharers in sharing.values():
        if 1 < len(sharers) <= MAX_SHARING:
            for document in sharers[1:]:
                first, second = sorted((root(sharers[0]), root(document)))
                parent[second] = first
    return {document: root(document) for document in documents}


def _fold(text: str) -> str:
    folded = text.translate(_FOLD)
    lowered = "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in folded)
    return lowered


def find(
    unit: str, expression: str, after: int = 0, within: tuple[int, int] | None = None
) -> tuple[int, int]:
    """Offsets of ``expression`` (text, text#n, or 'first ... last') inside ``unit``.

    An ambiguous text without #n is accepted when exactly one occurrence lies ``within`` (the blame span,
    for an actor)."""
    expression = expression.strip()
    if " ... " in expression:
        first, last = expression.split(" ... ", 1)
        start, _ = find(unit, first, after)
        _, end = find(unit, last, start)
        return start, end
    occurrence = None
    match = re.fullmatch(r"(.*?)#(\d+)", expression)
    if match:
        expression, occurrence = match.group(1).strip(), int(match.group(2))
    haystack, needle = _fold(unit), _fold(expression)
    hits = [m.start() for m in re.finditer(re.escape(needle), haystack) if m.start() >= after]
    hits = [h for h in hits if _whole_words(haystack, h, h + len(needle))] or hits
    if not hits:
        raise DecisionError(f"text {expression!r} not found")
    if occurrence is None and len(hits) > 1 and within:
        inside = [h for h in hits if within[0] <= h and h + len(needle) <= within[1]]
        hits = inside if len(inside) == 1 else hits
    if occurrence is None and len(hits) > 1:
        raise DecisionError(f"text {expression!r} occurs {len(hits)} times; add #n")
    index = (occurrence or 1) - 1
    if index >= len(hits):
        raise DecisionError(f"text {expression!r} has only {len(hits)} occurrence(s)")
    return hits[index], hits[index] + len(needle)


def _whole_words(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not (before.isalnum() and text[start].isalnum()) and not (
        after.isalnum() and text[end - 1].isalnum()
    )


def check_note_is_last(note: str) -> None:
    """Refuse a note (the text after " # ") that a span follows: everything after " # " is note, so the span
    would be lost without a word."""
    if _SPAN_AFTER_NOTE.search(note):
        raise DecisionError(f"a span follows the note {note.strip()!r}: put the note at the end of the line")


def parse_decision(decision: str, unit: str, offset: int) -> tuple[list[dict], str | None, bool]:
    """Spans (document offsets), note and whether the unit is excluded."""
    decision, _, note = decision.partition(" # ")
    check_note_is_last(note)
    decision = decision.strip()
    note = note.strip() or None
    if decision == "x":
        return [], note, True
    if decision == "-":
        return [], note, False
    spans = []
    for item in decision.split(" | "):
        code, _, rest = item.partition(":")
        if code.strip() not in CODES:
            raise DecisionError(f"unknown label code {code.strip()!r} in {item!r}")
        span_text, _, actor_text = rest.partition(" @ ")
        start, end = find(unit, span_text)
        span = {"start": offset + start, "end": offset + end, "label": CODES[code.strip()]}
        if actor_text.strip():
            if code.strip() != "B":
                raise DecisionError("only blame spans name an actor")
            a_start, a_end = find(unit, actor_text, within=(start, end))
            span["actor"] = {"start": offset + a_start, "end": offset + a_end}
        spans.append(span)
    return spans, note, False


def read_decisions(folder: Path) -> dict[str, tuple[str, str, str]]:
    """unit id -> (decision, file:line, annotator)."""
    decisions: dict[str, tuple[str, str, str]] = {}
    for path in sorted(folder.glob("*.txt")):
        lines = path.read_text().splitlines()
        header = re.fullmatch(r"//\s*annotator:\s*(\S+)\s*", lines[0]) if lines else None
        annotator = header.group(1) if header else ANNOTATOR
        for number, line in enumerate(lines, start=1):
            if not line.strip() or line.startswith("//"):
                continue
            unit_id, _, decision = line.strip().partition(" ")
            if unit_id in decisions:
                raise SystemExit(
                    f"{path}:{number}: {unit_id} decided twice (first in {decisions[unit_id][1]})"
                )
            decisions[unit_id] = (decision, f"{path}:{number}", annotator)
    return decisions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=SEED_DIR)
    args = parser.parse_args()
    pool = [json.loads(line) for line in (args.work / "pool.jsonl").open()]
    decisions = read_decisions(args.work / "decisions")
    records = {"train": [], "test": [], "train-only": []}
    test_units, failures, excluded = [], [], set()
    groups = document_groups({(unit["corpus"], unit["doc_id"]) for unit in pool if "split" not in unit})
    for unit in pool:
        text = load_text(unit["corpus"], unit["doc_id"])
        sentence = text[unit["start"] : unit["end"]]
        if text_sha1(sentence) != unit["sha1"]:
            failures.append(f"{unit['id']}: corpus text changed")
            continue
        split = unit.get("split") or split_of(*groups[(unit["corpus"], unit["doc_id"])])
        place = {key: unit[key] for key in ("corpus", "doc_id", "start", "end", "sha1")}
        if unit["id"] not in decisions:
            if split == "test":
                test_units.append(place)
            continue
        decision, where, annotator = decisions[unit["id"]]
        try:
            spans, note, exclude = parse_decision(decision, sentence, unit["start"])
        except DecisionError as error:
            failures.append(f"{where}: {unit['id']}: {error}")
            continue
        if exclude:
            excluded.add(unit["id"])
            continue
        if split == "test":
            test_units.append(place)
        record = {
            **place,
            "split": "test" if split == "test" else "train",
            "annotator": annotator,
            "guideline_version": GUIDELINE_VERSION,
            "spans": spans,
        }
        if note:
            record["note"] = note
        records[split].append(record)
    unknown = set(decisions) - {unit["id"] for unit in pool}
    failures.extend(f"decision for unknown unit {unit_id}" for unit_id in sorted(unknown))
    if failures:
        print("\n".join(failures), file=sys.stderr)
        raise SystemExit(f"{len(failures)} decision(s) could not be resolved; nothing written")
    order = lambda r: (r["corpus"], r["doc_id"], r["start"])  # noqa: E731
    args.out.mkdir(parents=True, exist_ok=True)
    for split, rows in records.items():
        write_jsonl(args.out / f"devices-{split}.jsonl", sorted(rows, key=order))
    write_jsonl(args.out / "units-test.jsonl", sorted(test_units, key=order))
    summarise({split: load_standoff(args.out / f"devices-{split}.jsonl") for split in records}, len(excluded))


def write_jsonl(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def summarise(loaded: dict, excluded: int) -> None:
    for split, units in loaded.items():
        counts = collections.Counter(label for unit in units for label in unit.labels)
        spans = collections.Counter(span.label for unit in units for span in unit.spans)
        documents = {(unit.corpus, unit.doc_id) for unit in units}
        corpora = collections.Counter(unit.corpus for unit in units)
        negatives = sum(1 for unit in units if not unit.spans)
        actors = sum(1 for unit in units for span in unit.spans if "actor" in span.attributes)
        print(
            f"{split}: {len(units)} units in {len(documents)} documents {dict(corpora)}; "
            f"negatives {negatives}"
        )
        print("  positive units: " + ", ".join(f"{label} {counts[label]}" for label in DEVICE_LABELS))
        print(
            "  spans: "
            + ", ".join(f"{label} {spans[label]}" for label in DEVICE_LABELS)
            + f"; blame spans with actor {actors}"
        )
    print(f"excluded units: {excluded}")


if __name__ == "__main__":
    main()
