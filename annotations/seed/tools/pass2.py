"""The second, independent annotation pass (annotator `team-b`) on the test units of the seed set.

Three steps, all reading the corpus from `../shared/data` (or `$FRAMING_DATA_ROOT`):

    python annotations/seed/tools/pass2.py order                     # the sampled order of the units
    python annotations/seed/tools/pass2.py show --batch 0            # batch 0 (50 units) with context
    python annotations/seed/tools/pass2.py resolve --work /path/outside/repo

Units are the lines of `units-test.jsonl`, named `t<line index>` (`t0000` ...). They are read in batches of 50
in an order drawn by a fixed-seed shuffle (`SAMPLE_SEED`), so any prefix of batches is a random sample, not one
biased towards positives or negatives; a batch is always annotated whole.

Decisions live outside the repository (they quote corpus text) in `<work>/decisions/*.txt`, one line a unit:

    t0012 -                                           negative for all three devices
    t0013 B: the only obstacle ... United States @ United States | D: so-called regime   # R1 note
    t0014 L: legitimate authorities#2                 second occurrence of the phrase in the unit

`B`, `L`, `D` are blame_attribution, legitimation, delegitimation. A span is its text (`#n`: the n-th
occurrence) or `first words ... last words`; `@` gives the blamed actor's text (looked for inside the blame
span first). Text is matched with curly quotes and dashes folded (offsets unchanged); missing or ambiguous
text is refused. `resolve` writes `devices-test-pass2.jsonl` and checks it with `load_standoff`.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from build import DecisionError, check_note_is_last  # noqa: E402
from pipeline.standoff import (  # noqa: E402
    SEED_DIR,
    document_path,
    load_standoff,
    read_corpus_text,
    text_sha1,
)

SAMPLE_SEED = "team-b-pass2"
BATCH_SIZE = 50
ANNOTATOR = "team-b"
GUIDELINE_VERSION = "1.0"
CODES = {"B": "blame_attribution", "L": "legitimation", "D": "delegitimation"}
UNITS_FILE = SEED_DIR / "units-test.jsonl"
OUTPUT_FILE = SEED_DIR / "devices-test-pass2.jsonl"
_FOLD = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"})
_CACHE: dict[tuple[str, str], str] = {}


def load_units() -> list[dict]:
    with open(UNITS_FILE, encoding="utf-8") as handle:
        units = [json.loads(line) for line in handle if line.strip()]
    for index, unit in enumerate(units):
        unit["id"] = f"t{index:04d}"
    return units


def document_text(corpus: str, doc_id: str) -> str:
    key = (corpus, doc_id)
    if key not in _CACHE:
        _CACHE[key] = read_corpus_text(document_path(corpus, doc_id))
    return _CACHE[key]


def sample_order(units: list[dict]) -> list[str]:
    ids = [unit["id"] for unit in units]
    random.Random(SAMPLE_SEED).shuffle(ids)
    return ids


def show(units: list[dict], batch: int, context: int) -> None:
    order = sample_order(units)
    wanted = set(order[batch * BATCH_SIZE : (batch + 1) * BATCH_SIZE])
    chosen = sorted((u for u in units if u["id"] in wanted), key=lambda u: (u["corpus"], u["doc_id"], u["start"]))
    for unit in chosen:
        text = document_text(unit["corpus"], unit["doc_id"])
        title = text[: text.find("\n")] if "\n" in text else text[:120]
        before = text[max(0, unit["start"] - context) : unit["start"]]
        if unit["start"] - context > 0 and "\n" in before:
            before = before[before.find("\n") + 1 :]
        print(f"==== {unit['id']} {unit['corpus']}/{unit['doc_id']} [{unit['start']},{unit['end']})")
        if unit["start"] > len(title):
            print(f"TITLE: {title[:160]}")
        if before.strip():
            print("CTX: " + " ".join(before.split())[-context:])
        print(">>> " + text[unit["start"] : unit["end"]])
    print(f"# batch {batch}: {len(chosen)} units")


def _find_all(haystack: str, needle: str) -> list[int]:
    found, at = [], haystack.find(needle)
    while at != -1:
        found.append(at)
        at = haystack.find(needle, at + 1)
    return found


def locate(unit_text: str, phrase: str, where: str) -> tuple[int, int]:
    """(start, end) of ``phrase`` in ``unit_text``; ``#n`` picks an occurrence, ``a ... b`` a range."""
    occurrence = None
    match = re.fullmatch(r"(.*?)#(\d+)", phrase)
    if match:
        phrase, occurrence = match.group(1).strip(), int(match.group(2))
    folded = unit_text.translate(_FOLD)
    if " ... " in phrase:
        first, last = (part.strip().translate(_FOLD) for part in phrase.split(" ... ", 1))
        starts = _find_all(folded, first)
        ranges = []
        for start in starts:
            end_at = folded.find(last, start + len(first))
            if end_at != -1:
                ranges.append((start, end_at + len(last)))
    else:
        needle = phrase.translate(_FOLD)
        ranges = [(start, start + len(needle)) for start in _find_all(folded, needle)]
    if not ranges:
        raise ValueError(f"{where}: {phrase!r} not found in the unit")
    if occurrence is None:
        if len(ranges) > 1:
            raise ValueError(f"{where}: {phrase!r} occurs {len(ranges)} times; add #n")
        return ranges[0]
    if not 1 <= occurrence <= len(ranges):
        raise ValueError(f"{where}: {phrase!r} has {len(ranges)} occurrence(s), not #{occurrence}")
    return ranges[occurrence - 1]


def parse_decision(line: str, unit: dict, unit_text: str, annotator: str = ANNOTATOR) -> dict:
    where = unit["id"]
    body, _, note = line.partition(" # ")
    try:
        check_note_is_last(note)
    except DecisionError as error:
        raise ValueError(f"{where}: {error}") from None
    body = body.split(None, 1)[1].strip() if len(body.split(None, 1)) > 1 else ""
    record = {
        "corpus": unit["corpus"],
        "doc_id": unit["doc_id"],
        "start": unit["start"],
        "end": unit["end"],
        "sha1": unit["sha1"],
        "split": "test",
        "annotator": annotator,
        "guideline_version": GUIDELINE_VERSION,
        "spans": [],
    }
    if body != "-":
        for part in body.split(" | "):
            code, _, rest = part.partition(":")
            if code.strip() not in CODES:
                raise ValueError(f"{where}: unknown device code {code!r}")
            label = CODES[code.strip()]
            phrase, _, actor = rest.partition(" @ ")
            start, end = locate(unit_text, phrase.strip(), where)
            span = {"start": unit["start"] + start, "end": unit["start"] + end, "label": label}
            if actor.strip():
                if label != "blame_attribution":
                    raise ValueError(f"{where}: only blame spans name an actor")
                inside = unit_text[start:end]
                try:
                    a_start, a_end = locate(inside, actor.strip(), where)
                    a_start, a_end = a_start + start, a_end + start
                except ValueError:
                    a_start, a_end = locate(unit_text, actor.strip(), where)
                span["actor"] = {"start": unit["start"] + a_start, "end": unit["start"] + a_end}
            record["spans"].append(span)
    if note.strip():
        record["note"] = note.strip()
    return record


def resolve(units: list[dict], work: Path, annotator: str = ANNOTATOR, output: Path = OUTPUT_FILE) -> int:
    by_id = {unit["id"]: unit for unit in units}
    decisions: dict[str, str] = {}
    problems = []
    for path in sorted((work / "decisions").glob("*.txt")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip() or line.startswith("//"):
                continue
            unit_id = line.split(None, 1)[0]
            if unit_id not in by_id:
                problems.append(f"{path.name}:{number}: unknown unit {unit_id}")
            elif unit_id in decisions:
                problems.append(f"{path.name}:{number}: {unit_id} decided twice")
            else:
                decisions[unit_id] = line
    records = []
    for unit in units:
        if unit["id"] not in decisions:
            continue
        text = document_text(unit["corpus"], unit["doc_id"])
        unit_text = text[unit["start"] : unit["end"]]
        if text_sha1(unit_text) != unit["sha1"]:
            problems.append(f"{unit['id']}: sha1 mismatch")
            continue
        try:
            records.append(parse_decision(decisions[unit["id"]], unit, unit_text, annotator))
        except ValueError as error:
            problems.append(str(error))
    order = sample_order(units)
    decided = [unit_id for unit_id in order if unit_id in decisions]
    if decided != order[: len(decided)] or (len(decided) % BATCH_SIZE and len(decided) != len(order)):
        problems.append("decided units are not a whole-batch prefix of the sampled order")
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    with open(output, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    loaded = load_standoff(output)
    positives = {label: sum(label in unit.labels for unit in loaded) for label in CODES.values()}
    print(f"wrote {len(loaded)} units to {output}; positive units: {positives}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("order")
    show_parser = sub.add_parser("show")
    show_parser.add_argument("--batch", type=int, required=True)
    show_parser.add_argument("--context", type=int, default=300)
    resolve_parser = sub.add_parser("resolve")
    resolve_parser.add_argument("--work", type=Path, required=True)
    resolve_parser.add_argument("--annotator", default=ANNOTATOR, help="annotator recorded (a further pass: team-d)")
    resolve_parser.add_argument("--out", type=Path, default=OUTPUT_FILE)
    args = parser.parse_args()
    units = load_units()
    if args.command == "order":
        print("\n".join(sample_order(units)))
    elif args.command == "show":
        show(units, args.batch, args.context)
    else:
        return resolve(units, args.work, args.annotator, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
