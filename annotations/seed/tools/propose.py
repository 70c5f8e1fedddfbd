"""Propose candidate sentences for the seed set and write them, with their text, to reading batches.

A keyword search only PROPOSES: every proposed sentence is read and labelled by an annotator following
`annotations/guidelines.md`; random sentences are added so that ordinary negatives are in the set too.
Batches contain corpus text, so they are written to a working folder OUTSIDE the repository.

    python annotations/seed/tools/propose.py --work /path/outside/repo

The pool (`<work>/pool.jsonl`) is append-only: a rerun keeps every unit id it already gave out and only adds
new units, so decisions recorded against ids stay valid.
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

from units import document_ids, load_text, split_units  # noqa: E402

from pipeline.standoff import REPO_ROOT, text_sha1  # noqa: E402

# Recall-oriented proposal patterns, one per device (they decide nothing).
PATTERNS = {
    "blame": r"\b(blam\w*|fault|responsib\w*|because of|due to|caus(e|ed|ing)|provok\w*|provocat\w*|culprit"
    r"|guilty|accus\w*|obstacle|(is|are) behind|led to|result of|sabotag\w*|instigat\w*|unleash\w*|triggered"
    r"|thanks to|scapegoat|aggressor)\b",
    "legitimation": r"\b(legitima\w*|lawful\w*|legal\w*|rightful\w*|sovereign\w*|democratically|mandat\w*"
    r"|constitution\w*|international law|UN Charter|self-defen[cs]e|defend (itself|themselves|ourselves|its|"
    r"their|our)|will of the (people|voters)|reunif\w*|reunit\w*|liberat\w*|territorial integrity|justif\w*"
    r"|(every|the|a|its|their|our) right to|rights? of|right to exist|entitled|duly|authori[sz]ed|rule of law"
    r"|due process|peacekeep\w*|forced to|no choice|in accordance with|in line with|in compliance with"
    r"|elected|recogni[sz]\w*|defensive|law-abiding|second amendment)\b",
    "delegitimation": r"\b(illegal\w*|illegitima\w*|unlawful\w*|so-called|self-proclaimed|self-styled"
    r"|puppet\w*|regime|junta|occupied|occupation|occupier\w*|occupying|sham|bogus|unconstitutional|usurp\w*|coup"
    r"|rigged|stolen|unelected|pseudo\w*|fraudulent|terrorist state|dictator\w*|pretext)\b",
}
# Share of each corpus's candidates proposed, and random non-candidates per document (seeded draws).
RATES = {
    ("semeval2025", "legitimation"): 1.0,
    ("ptc", "legitimation"): 1.0,
    ("semeval2025", "delegitimation"): 1.0,
    ("ptc", "delegitimation"): 0.5,
    ("semeval2025", "blame"): 0.5,
    ("ptc", "blame"): 0.15,
}
RANDOM_RATE = 0.012
MAX_CHARS = 600
# Wave 2, added after the first 975 units showed legitimation to be rare: defence, protection, retaliation,
# rights and authorisation wording, every match in both corpora (units already in the pool are skipped).
WAVE2_PATTERN = (
    r"\b(defen[cd](s|ed|ing|er|ers)?|defen[cs]e|protect(s|ed|ing)?|liberat\w*|in response to|responded to"
    r"|retaliat\w*|rights? to|will of|authori[sz](e|ed|es|ing|ation)|democracy|democracies|legitim\w*"
    r"|sovereign\w*|self-determination|denazif\w*|demilitari\w*|security guarantees|referend\w*|annex\w*)\b"
)
# Wave 3, after wave 2 still left legitimation short of 200: authority, validity and moral-rightness wording.
WAVE3_PATTERN = (
    r"\b(authority|valid(ly)?|invalid\w*|canonical\w*|rightly|justly|(were|was|is|are) right to"
    r"|freedom fighters?|armed resistance|resistance movement|upheld|sanctioned by|officially|true pope"
    r"|sworn duty|rule of law|law and order|ha(ve|s) every right|duty to protect|just war|entitled)\b"
)
# Wave 4: democratic-standing and moral-rightness wording.
WAVE4_PATTERN = (
    r"\b(democratic (country|countries|nation|nations|state|states|government|governments|ally|allies|world"
    r"|values|Ukraine|Israel|West)|free and fair|fair elections?|heroic\w*|heroes|righteous|just cause"
    r"|noble cause|won the election|people have spoken|popular vote|lawfully|legitimacy)\b"
)
WAVE_PATTERNS = {
    2: ("legitimation-2", WAVE2_PATTERN),
    3: ("legitimation-3", WAVE3_PATTERN),
    4: ("legitimation-4", WAVE4_PATTERN),
}


def propose(corpus: str, seed: int, wave: int = 1) -> list[dict]:
    proposed = []
    for doc_id in document_ids(corpus):
        rng = random.Random(f"{seed}:{corpus}:{doc_id}")
        text = load_text(corpus, doc_id)
        for start, end in split_units(corpus, text):
            sentence = text[start:end]
            draw = rng.random()
            if len(sentence) > MAX_CHARS or len(sentence.split()) < 4:
                continue
            if wave in WAVE_PATTERNS:
                reason, pattern = WAVE_PATTERNS[wave]
                reasons = [reason] if re.search(pattern, sentence, re.IGNORECASE) else []
            else:
                reasons = [
                    device
                    for device, pattern in PATTERNS.items()
                    if re.search(pattern, sentence, re.IGNORECASE) and draw < RATES[(corpus, device)]
                ]
                if not reasons and draw < RANDOM_RATE:
                    reasons = ["random"]
            if reasons:
                proposed.append(
                    {
                        "corpus": corpus,
                        "doc_id": doc_id,
                        "start": start,
                        "end": end,
                        "sha1": text_sha1(sentence),
                        "reason": ",".join(reasons),
                    }
                )
    return proposed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="working folder outside the repository")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--batch-size", type=int, default=80)
    parser.add_argument(
        "--wave", type=int, choices=(1, 2, 3, 4), default=1, help="1: first proposal; 2-4: legitimation waves"
    )
    args = parser.parse_args()
    work = args.work.resolve()
    if work == REPO_ROOT or REPO_ROOT in work.parents:
        sys.exit("error: the working folder holds corpus text and must be outside the repository")
    work.mkdir(parents=True, exist_ok=True)
    pool_path = work / "pool.jsonl"
    pool = [json.loads(line) for line in pool_path.open()] if pool_path.exists() else []
    known = {(u["corpus"], u["doc_id"], u["start"], u["end"]) for u in pool}
    added = []
    for corpus in ("semeval2025", "ptc"):
        for unit in propose(corpus, args.seed, args.wave):
            if (unit["corpus"], unit["doc_id"], unit["start"], unit["end"]) not in known:
                unit["id"] = f"u{len(pool) + len(added) + 1:05d}"
                added.append(unit)
    with pool_path.open("a") as handle:
        for unit in added:
            handle.write(json.dumps(unit) + "\n")
    write_batches(added, work / "batches", args.batch_size)
    print(f"pool: {len(pool)} units before, {len(added)} added")


def write_batches(units: list[dict], folder: Path, size: int) -> None:
    """Reading batches of whole documents (a document is never cut across two batches)."""
    folder.mkdir(exist_ok=True)
    number = len(list(folder.glob("b*.txt")))
    batch: list[str] = []
    count, previous = 0, None
    for unit in units:
        document = (unit["corpus"], unit["doc_id"])
        if document != previous:
            if count >= size:
                number += 1
                (folder / f"b{number:03d}.txt").write_text("\n".join(batch) + "\n")
                batch, count = [], 0
            text = load_text(*document)
            batch.append(f"\n## {unit['corpus']} {unit['doc_id']} | {text.splitlines()[0][:100]}")
            previous = document
        batch.append(f"{unit['id']}  {text[unit['start'] : unit['end']]}")
        count += 1
    if batch:
        number += 1
        (folder / f"b{number:03d}.txt").write_text("\n".join(batch) + "\n")


if __name__ == "__main__":
    main()
