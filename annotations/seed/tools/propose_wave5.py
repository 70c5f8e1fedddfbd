"""Wave 5: more units to read in the documents the seed set already covers, proposed by patterns and a model.

Waves 1-4 (`propose.py`) proposed a sampled share of the pattern matches. Wave 5 goes back to the seed's
train documents (document ids, hence every split, stay as they are) and proposes:

- every pattern match of waves 1-4 not yet read, in all of these documents;
- in the documents the model TRAINED on: the units the model scores highest for each device (its likely
  hits and its likely false alarms: what more training data should teach); the model proposes, the
  annotator decides;
- in the model's VALIDATION documents (where thresholds are tuned): no model proposals, only patterns and
  random units, so that this part is drawn the way the test set was and threshold tuning stays unbiased;
- a seeded random share of the remaining units everywhere (ordinary negatives).

Documents in the model's internal test split are skipped (units read there would neither train nor tune).

    python annotations/seed/tools/propose_wave5.py --work /path/outside/repo --model models/<dir>
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

from propose import MAX_CHARS, PATTERNS, WAVE_PATTERNS, write_batches  # noqa: E402
from units import load_text, split_units  # noqa: E402

from pipeline.document import Document, Sentence  # noqa: E402
from pipeline.standoff import DEVICE_LABELS, REPO_ROOT, SEED_DIR, standoff_document_id, text_sha1  # noqa: E402

ALL_PATTERNS = [*PATTERNS.values(), *(pattern for _, pattern in WAVE_PATTERNS.values())]
RANDOM_RATE = 0.04


def seed_documents(split: str = "train") -> list[tuple[str, str]]:
    keys = []
    for line in (SEED_DIR / f"devices-{split}.jsonl").open(encoding="utf-8"):
        record = json.loads(line)
        key = (record["corpus"], record["doc_id"])
        if key not in keys:
            keys.append(key)
    return keys


def model_splits(model_dir: Path) -> tuple[set, set]:
    """The model's validation and internal test document ids (stand-off documents as ``standoff_document_id``)."""
    meta = json.loads((model_dir / "framing-model.json").read_text())
    return set(meta["validation_documents"]), set(meta["test_documents"])


def unread_units(documents, pool_keys) -> list[dict]:
    units = []
    for corpus, doc_id in documents:
        text = load_text(corpus, doc_id)
        for start, end in split_units(corpus, text):
            sentence = text[start:end]
            if len(sentence) > MAX_CHARS or len(sentence.split()) < 4 or (corpus, doc_id, start, end) in pool_keys:
                continue
            units.append({"corpus": corpus, "doc_id": doc_id, "start": start, "end": end,
                          "sha1": text_sha1(sentence), "text": sentence})
    return units


def model_scores(model_dir: Path, units: list[dict]) -> list[dict[str, float]]:
    """Each unit's sentence score per device, the model reading the whole document."""
    from pipeline.model.annotator import Annotator

    annotator = Annotator.load(model_dir)
    columns = [annotator.meta.targets.index(label) for label in DEVICE_LABELS]
    by_document: dict[tuple[str, str], list[int]] = {}
    for index, unit in enumerate(units):
        by_document.setdefault((unit["corpus"], unit["doc_id"]), []).append(index)
    documents = [Document(f"{c}:{d}", load_text(c, d), sentences=tuple(Sentence(units[i]["start"], units[i]["end"])
                                                                       for i in indices))
                 for (c, d), indices in by_document.items()]
    scores: list[dict[str, float]] = [{} for _ in units]
    for indices, (_, _, _, probs) in zip(by_document.values(), annotator.raw_scores(documents)):
        for row, index in enumerate(indices):
            scores[index] = {label: float(probs[row, column]) for label, column in zip(DEVICE_LABELS, columns)}
    return scores


def proposal_arguments(description: str, per_device: int) -> tuple[argparse.Namespace, Path, list[dict]]:
    """Command-line arguments of a model-assisted wave, the working folder (refused inside the repository: it
    holds corpus text) and the pool read from it."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--work", type=Path, required=True, help="working folder outside the repository")
    parser.add_argument("--model", type=Path, required=True, help="model directory that proposes units")
    parser.add_argument("--per-device", type=int, default=per_device, help="model proposals per device")
    parser.add_argument("--batch-size", type=int, default=60)
    args = parser.parse_args()
    work = args.work.resolve()
    if work == REPO_ROOT or REPO_ROOT in work.parents:
        sys.exit("error: the working folder holds corpus text and must be outside the repository")
    return args, work, [json.loads(line) for line in (work / "pool.jsonl").open()]


def propose_top_scored(units: list[dict], positions: list[int], model_dir: Path, per_device: int) -> None:
    """Add the reason ``model-<device>`` to the ``per_device`` units at ``positions`` the model scores highest."""
    scores = model_scores(model_dir, [units[i] for i in positions])
    for label in DEVICE_LABELS:
        for k in sorted(range(len(positions)), key=lambda k: -scores[k][label])[:per_device]:
            units[positions[k]]["reasons"].append(f"model-{label}")


def proposed(units: list[dict], random_rate: float, wave: str, **fields) -> list[dict]:
    """Pool records of the units with a reason, after a seeded ``random_rate`` share of the others is drawn."""
    added = []
    for unit in units:
        if not unit["reasons"] and unit["draw"] < random_rate:
            unit["reasons"] = ["random"]
        if unit["reasons"]:
            added.append({key: unit[key] for key in ("corpus", "doc_id", "start", "end", "sha1")}
                         | fields | {"reason": f"{wave}:" + ",".join(unit["reasons"])})
    return added


def add_to_pool(work: Path, pool: list[dict], added: list[dict], batch_size: int, wave: str) -> dict[str, int]:
    """Number ``added`` after the pool's units, append them to pool.jsonl, write their reading batches; return
    how many units each reason proposed."""
    for number, unit in enumerate(added, start=len(pool) + 1):
        unit["id"] = f"u{number:05d}"
    with (work / "pool.jsonl").open("a") as handle:
        for unit in added:
            handle.write(json.dumps(unit) + "\n")
    write_batches(added, work / "batches", batch_size)
    reasons: dict[str, int] = {}
    for unit in added:
        for reason in unit["reason"].removeprefix(f"{wave}:").split(","):
            reasons[reason] = reasons.get(reason, 0) + 1
    return reasons


def main() -> None:
    args, work, pool = proposal_arguments(__doc__.splitlines()[0], per_device=120)
    pool_keys = {(u["corpus"], u["doc_id"], u["start"], u["end"]) for u in pool}
    validation, internal_test = model_splits(args.model)
    documents = [d for d in seed_documents() if standoff_document_id(*d) not in internal_test]
    units = unread_units(documents, pool_keys)
    for unit in units:
        rng = random.Random(f"wave5:{unit['corpus']}:{unit['doc_id']}:{unit['start']}")
        unit["draw"] = rng.random()
        unit["reasons"] = ["pattern"] if any(re.search(p, unit["text"], re.IGNORECASE) for p in ALL_PATTERNS) else []
    trained_on = [i for i, u in enumerate(units) if standoff_document_id(u["corpus"], u["doc_id"]) not in validation]
    propose_top_scored(units, trained_on, args.model, args.per_device)
    added = proposed(units, RANDOM_RATE, "wave5")
    added.sort(key=lambda u: (u["corpus"], u["doc_id"], u["start"]))
    reasons = add_to_pool(work, pool, added, args.batch_size, "wave5")
    print(f"pool: {len(pool)} units before, {len(added)} added: {reasons}")


if __name__ == "__main__":
    main()
