"""Wave 6: units to read in SemEval-2025's 101 unlabelled English documents, which no wave had read.

Legitimation stayed rare after wave 5 (184 training sentences): the pattern matches of the corpora the seed
set drew from were all read. The unlabelled documents of SemEval-2025 Task 10 (climate news and Russian
outlets' coverage of the war) are new text. Proposed:

- every pattern match of waves 1-4;
- the units a model scores highest for each device (its likely hits and likely false alarms);
- a seeded random share of the remaining units (ordinary negatives).

These documents only ever train: their units go to `devices-train-only.jsonl` (`"split": "train-only"` in the
pool), which a training config reads with `train_only: true`, so the model's validation and test draws, and
the seed's own test file, stay exactly as they were. A document that shares a sentence with the labelled
SemEval-2025 documents (a near-copy of an article the seed's test split may hold) is skipped.

    python annotations/seed/tools/propose_wave6.py --work /path/outside/repo --model models/<dir>
"""

from __future__ import annotations

import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from propose import MAX_CHARS  # noqa: E402
from propose_wave5 import ALL_PATTERNS, add_to_pool, proposal_arguments, propose_top_scored, proposed  # noqa: E402
from units import document_ids, load_text, split_units  # noqa: E402

from build import MIN_SHARED_CHARS  # noqa: E402
from pipeline.standoff import text_sha1  # noqa: E402

CORPUS = "semeval2025-unlabelled"
LABELLED = "semeval2025"
RANDOM_RATE = 0.05


def labelled_sentences() -> set[str]:
    """Every long sentence of the labelled SemEval-2025 documents."""
    sentences = set()
    for doc_id in document_ids(LABELLED):
        text = load_text(LABELLED, doc_id)
        sentences.update(text[s:e] for s, e in split_units(LABELLED, text) if e - s >= MIN_SHARED_CHARS)
    return sentences


def candidate_units() -> tuple[list[dict], list[str]]:
    """Readable units of the unlabelled documents, and the documents skipped as near-copies."""
    known = labelled_sentences()
    units, skipped = [], []
    for doc_id in document_ids(CORPUS):
        text = load_text(CORPUS, doc_id)
        spans = split_units(CORPUS, text)
        if any(text[s:e] in known for s, e in spans):
            skipped.append(doc_id)
            continue
        for start, end in spans:
            sentence = text[start:end]
            if len(sentence) > MAX_CHARS or len(sentence.split()) < 4:
                continue
            units.append({"corpus": CORPUS, "doc_id": doc_id, "start": start, "end": end,
                          "sha1": text_sha1(sentence), "text": sentence})
    return units, skipped


def main() -> None:
    args, work, pool = proposal_arguments(__doc__.splitlines()[0], per_device=50)
    if any(u["corpus"] == CORPUS for u in pool):
        sys.exit(f"error: {work / 'pool.jsonl'} already holds wave 6 units")
    units, skipped = candidate_units()
    for unit in units:
        unit["draw"] = random.Random(f"wave6:{unit['doc_id']}:{unit['start']}").random()
        unit["reasons"] = ["pattern"] if any(re.search(p, unit["text"], re.IGNORECASE) for p in ALL_PATTERNS) else []
    rest = [i for i, u in enumerate(units) if not u["reasons"]]
    propose_top_scored(units, rest, args.model, args.per_device)
    added = proposed(units, RANDOM_RATE, "wave6", split="train-only")
    reasons = add_to_pool(work, pool, added, args.batch_size, "wave6")
    print(f"pool: {len(pool)} units before, {len(added)} added: {reasons}; "
          f"{len(skipped)} near-copy document(s) skipped: {', '.join(skipped)}")


if __name__ == "__main__":
    main()
