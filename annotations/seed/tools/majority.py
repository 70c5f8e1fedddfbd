"""The majority of the three annotation passes of the test units, per unit and device: a second reference.

Pass A (`devices-test.jsonl`, team-a) is the seed set's gold. Passes B (team-b) and D (team-d) annotated the
same 642 units independently, blind to A and to each other. A unit is positive for a device here when at
least two of the three passes mark it; its spans of that device are those of the first pass in the order
A, B, D that marks it (with their blamed actors). Model scores against this file are the robustness check of
those against pass A: they show how much of a model's disagreement with A is A's own view.

    python annotations/seed/tools/majority.py      # writes annotations/seed/devices-test-majority.jsonl
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from pipeline.standoff import DEVICE_LABELS, SEED_DIR, load_standoff  # noqa: E402

PASSES = ("devices-test.jsonl", "devices-test-pass2.jsonl", "devices-test-pass3.jsonl")
OUTPUT = SEED_DIR / "devices-test-majority.jsonl"


def read(path: Path) -> dict[tuple, dict]:
    load_standoff(path)  # every unit and span checked against the corpus text first
    records = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
    return {(r["corpus"], r["doc_id"], r["start"], r["end"]): r for r in records}


def majority(passes: list[dict[tuple, dict]]) -> list[dict]:
    first = passes[0]
    if any(set(p) != set(first) for p in passes[1:]):
        raise SystemExit("the passes do not cover the same units")
    result = []
    for key, reference in first.items():
        spans = []
        for label in DEVICE_LABELS:
            marking = [p[key] for p in passes if any(s["label"] == label for s in p[key]["spans"])]
            if len(marking) * 2 > len(passes):
                spans.extend(s for s in marking[0]["spans"] if s["label"] == label)
        record = {k: reference[k] for k in ("corpus", "doc_id", "start", "end", "sha1", "split")}
        record |= {"annotator": "majority:" + "+".join(p[key]["annotator"] for p in passes),
                   "guideline_version": reference["guideline_version"],
                   "spans": sorted(spans, key=lambda s: (s["start"], s["end"], s["label"]))}
        result.append(record)
    return result


def main() -> None:
    records = majority([read(SEED_DIR / name) for name in PASSES])
    with OUTPUT.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    units = load_standoff(OUTPUT)
    positives = {label: sum(label in unit.labels for unit in units) for label in DEVICE_LABELS}
    print(f"wrote {len(units)} units to {OUTPUT}; positive units: {positives}")


if __name__ == "__main__":
    main()
