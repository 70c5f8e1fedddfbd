"""Does the loop learn? A simulated annotator corrects the model's documents round by round; after each round
``framing retrain``'s warm start (``pipeline.retrain.retrain``) fine-tunes the model, and a fixed test set scores it.

Run from the repository root (by hand; about 2 minutes per round on 2 CPU cores):
``python benchmarks/learning_loop.py --out out/learning-loop [--rounds 5 --round-size 20 --seeds 13 14]``.

The annotator's answers are gold annotations of documents the starting model never trained on:
- devices: the seed set's test documents (``annotations/seed/devices-test.jsonl``, annotated sentences only);
- techniques: the starting model's own held-out test articles (SemEval-2023 Task 3, its ``test_documents``).
Both are split once by document (``--test-share``) into a pool the annotator corrects from and a fixed test set
that is never corrected. Each round takes ``--round-size`` documents of the pool, either in uncertainty order
(the current model annotates the pool and the least certain documents come first, as ``framing ls push`` orders
tasks) or in random order; their gold becomes corrections, and the round's model warm-starts from the previous
round's model. ``--corrections cumulative`` (default) retrains on every document corrected so far, as
``framing retrain --from`` does with a full ``framing ls pull``; ``new`` only on the round's documents (the earlier
ones then return only through the replay sample, as with ``framing ls pull --since last``).
Scores on the fixed test set: SI and SLC F1 on the technique articles, sentence F1 per device on the
seed units (the project's standoff evaluation). Writes ``curve.csv``, ``curve.json`` and ``curve.png``; re-running
with the same ``--out`` resumes (finished rounds are read back from ``rounds.jsonl``).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from pipeline.document import Document  # noqa: E402
from pipeline.evaluate import evaluate_documents  # noqa: E402
from pipeline.evaluate.standoff import evaluate_standoff  # noqa: E402
from pipeline.labelstudio.convert import document_confidence  # noqa: E402
from pipeline.model.annotator import Annotator  # noqa: E402
from pipeline.model.config import DataSource, load_config  # noqa: E402
from pipeline.model.registry import current_model_dir  # noqa: E402
from pipeline.model.sources import load_source  # noqa: E402
from pipeline.model.store import read_meta  # noqa: E402
from pipeline.retrain import RetrainOptions, retrain  # noqa: E402
from pipeline.standoff import DEVICE_LABELS, SEED_DIR, load_standoff  # noqa: E402
from pipeline.training_data import ANNOTATED_LABELS  # noqa: E402

METRICS = ("si_f1", "slc_f1", *(f"{label}_f1" for label in DEVICE_LABELS))


def seed_documents(model_dir: Path) -> list[Document]:
    """Seed test documents as gold, as a training source reads them: whole text, spans inside the annotated
    sentences, those ranges recorded, the three devices marked as annotated."""
    meta, config = read_meta(model_dir), load_config(model_dir / "config.yaml")
    source = DataSource(format="standoff", path=str(SEED_DIR / "devices-test.jsonl"), labels=DEVICE_LABELS)
    return load_source(source, config, meta.labels)


def technique_documents(model_dir: Path) -> tuple[list[Document], list[str]]:
    meta, config = read_meta(model_dir), load_config(model_dir / "config.yaml")
    held = set(meta.test_documents)
    for source in config.data:
        if source.format in ("semeval2023", "ptc"):
            documents = [d for d in load_source(source, config, meta.labels) if d.id in held]
            labels = sorted({x for d in documents for x in d.metadata.get(ANNOTATED_LABELS, ())})
            return documents, labels
    return [], []


def split(documents: list[Document], test_share: float, seed: int) -> tuple[list[Document], list[Document]]:
    order = sorted(documents, key=lambda d: d.id)
    random.Random(seed).shuffle(order)
    cut = int(round(len(order) * test_share))
    return order[cut:], order[:cut]


def score(model_dir: Path, test_techniques: list[Document], technique_labels: list[str], test_units) -> dict:
    annotator = Annotator.load(model_dir)
    result = {}
    if test_techniques:
        predicted = list(annotator.annotate_many(Document(d.id, d.text, d.metadata) for d in test_techniques))
        metrics = evaluate_documents(predicted, test_techniques, labels=technique_labels)
        result.update(si_f1=round(metrics["si_f1"], 4), slc_f1=round(metrics["slc_f1"], 4))
    devices = evaluate_standoff(annotator, test_units, list(DEVICE_LABELS))
    result.update({f"{label}_f1": row["f1"] for label, row in devices["per_label"].items()})
    return result


def predict_test(model_dir: Path, test_techniques: list[Document], test_units) -> tuple[list[Document], list]:
    """One model's output on the fixed test set: annotated technique articles, and per seed unit its labels."""
    from pipeline.evaluate.standoff import model_units
    from pipeline.standoff import document_path, read_corpus_text

    annotator = Annotator.load(model_dir)
    predicted = list(annotator.annotate_many(Document(d.id, d.text) for d in test_techniques))
    keys = sorted({(u.corpus, u.doc_id) for u in test_units})
    texts = [Document(f"{c}:{i}", read_corpus_text(document_path(c, i))) for c, i in keys]
    found = [labels for _, labels in model_units(dict(zip(keys, annotator.annotate_many(texts))), test_units)]
    return predicted, found


def bootstrap(outputs: dict[str, tuple[list[Document], list]], test_techniques: list[Document],
              technique_labels: list[str], test_units, draws: int) -> dict[str, dict[str, list[float]]]:
    """Scores of every model on the same ``draws`` resamples of the test set (articles and seed documents drawn
    with replacement), so that differences between models are paired: each draw scores them on the same
    documents."""
    rng = random.Random(0)
    keys = sorted({(u.corpus, u.doc_id) for u in test_units})
    samples = {name: {metric: [] for metric in METRICS} for name in outputs}
    for _ in range(draws):
        picks = [rng.randrange(len(test_techniques)) for _ in test_techniques]
        drawn = [keys[rng.randrange(len(keys))] for _ in keys]
        weight = {key: drawn.count(key) for key in set(drawn)}
        times = [weight.get((unit.corpus, unit.doc_id), 0) for unit in test_units]
        for name, metrics in scores_on(outputs, test_techniques, technique_labels, test_units, picks, times).items():
            for metric, value in metrics.items():
                samples[name][metric].append(value)
    return samples


def scores_on(outputs: dict[str, tuple[list[Document], list]], test_techniques: list[Document],
              technique_labels: list[str], test_units, picks: list[int], times: list[int]) -> dict[str, dict]:
    """Every model's scores on one sample of the test set: the technique articles at indices ``picks`` and each
    seed unit counted ``times`` times (all articles once and every unit once: the test set itself)."""
    from pipeline.evaluate.scores import scores_from_counts

    gold = [Document(f"{k}", test_techniques[i].text, test_techniques[i].metadata, (), test_techniques[i].spans)
            for k, i in enumerate(picks)]
    result = {}
    for name, (predicted, found) in outputs.items():
        mine = [Document(f"{k}", predicted[i].text, {}, predicted[i].sentences, predicted[i].spans)
                for k, i in enumerate(picks)]
        metrics = evaluate_documents(mine, gold, labels=technique_labels)
        scores = {"si_f1": metrics["si_f1"], "slc_f1": metrics["slc_f1"]}
        for label in DEVICE_LABELS:
            tp = fp = fn = 0
            for unit, labels, n in zip(test_units, found, times):
                gold_has, found_has = label in unit.labels, label in labels
                tp += n * (gold_has and found_has)
                fp += n * (found_has and not gold_has)
                fn += n * (gold_has and not found_has)
            scores[f"{label}_f1"] = scores_from_counts(tp, fp, fn).f1
        result[name] = scores
    return result


def interval(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    low, high = ordered[int(0.025 * len(ordered))], ordered[int(0.975 * len(ordered)) - 1]
    return {"low": round(low, 4), "high": round(high, 4), "width": round(high - low, 4)}


def noise(model_dir: Path, test_techniques: list[Document], technique_labels: list[str], test_units,
          draws: int = 1000) -> dict:
    """How far apart two models must score on this fixed test set before the difference means anything: the 95%
    bootstrap interval (documents drawn with replacement) of the starting model's own scores."""
    outputs = {"start": predict_test(model_dir, test_techniques, test_units)}
    samples = bootstrap(outputs, test_techniques, technique_labels, test_units, draws)["start"]
    return {metric: interval(values) for metric, values in samples.items()}


def paired(start: Path, models: Path, round_number: int, test_techniques: list[Document],
           technique_labels: list[str], test_units, draws: int = 500) -> dict:
    """Is round ``round_number`` better than the starting model, and uncertainty order better than random? Paired
    bootstrap: every model is scored on the same resampled test sets; per draw, the gain of an ordering is the
    mean over its seeds of (round model - starting model). Reports the mean gain, its 95% interval and the share
    of draws in which it is <= 0 (a one-sided p-value)."""
    outputs = {"start": predict_test(start, test_techniques, test_units)}
    for folder in sorted(models.glob(f"*-r{round_number}")):
        if (folder / "framing-model.json").is_file():
            outputs[folder.name] = predict_test(folder, test_techniques, test_units)
            print(f"scored {folder.name}", flush=True)
    samples = bootstrap(outputs, test_techniques, technique_labels, test_units, draws)
    orderings = {name.rsplit("-", 2)[0] for name in outputs if name != "start"}
    gains: dict[str, dict[str, list[float]]] = {}
    for ordering in sorted(orderings):
        members = [name for name in outputs if name.startswith(f"{ordering}-")]
        gains[ordering] = {metric: [sum(samples[m][metric][k] - samples["start"][metric][k] for m in members)
                                    / len(members) for k in range(draws)] for metric in METRICS}
    if {"uncertainty", "random"} <= set(gains):
        gains["uncertainty-random"] = {metric: [u - r for u, r in zip(gains["uncertainty"][metric],
                                                                      gains["random"][metric])]
                                       for metric in METRICS}
    seeds = {ordering: sorted(name.rsplit("-", 2)[1] for name in outputs if name.startswith(f"{ordering}-"))
             for ordering in orderings}
    return {"round": round_number, "draws": draws, "seeds": seeds, "gain": {
        comparison: {metric: {"mean": round(sum(values) / draws, 4), **interval(values),
                              "p_not_better": round(sum(v <= 0 for v in values) / draws, 3)}
                     for metric, values in per_metric.items()}
        for comparison, per_metric in gains.items()}}


def uncertainty_order(model_dir: Path, pool: list[Document]) -> list[Document]:
    annotator = Annotator.load(model_dir)
    predicted = annotator.annotate_many(Document(d.id, d.text, d.metadata) for d in pool)
    confidence = {p.id: document_confidence(p) for p in predicted}
    return sorted(pool, key=lambda d: (confidence[d.id], d.id))


def run_curve(ordering: str, seed: int, args, start: Path, pool: list[Document], test, log: Path) -> None:
    done = {(r["ordering"], r["seed"], r["round"]) for r in read_rounds(log)}
    remaining = list(pool)
    if ordering == "random":
        random.Random(seed).shuffle(remaining)
    model = start
    corrected: list[Document] = []
    for round_number in range(1, args.rounds + 1):
        out = args.out / "models" / f"{ordering}-{seed}-r{round_number}"
        if ordering == "uncertainty":
            remaining = uncertainty_order(model, remaining)
        chosen, remaining = remaining[: args.round_size], remaining[args.round_size:]
        corrected.extend(chosen)
        if (ordering, seed, round_number) in done and (out / "framing-model.json").is_file():
            model = out
            continue
        shutil.rmtree(out, ignore_errors=True)
        began = time.monotonic()
        options = RetrainOptions(epochs=args.epochs, replay=args.replay, heldout_fraction=0.0, seed=seed,
                                 compare=False)
        corrections = corrected if args.corrections == "cumulative" else chosen
        result = retrain(corrections, parent_dir=model, out_dir=out, options=options, promote=False, progress=False)
        seconds = time.monotonic() - began
        model = result.new_dir
        scores = score(model, *test)
        record = {"ordering": ordering, "seed": seed, "round": round_number,
                  "documents": round_number * args.round_size, "retrain_s": round(seconds, 1),
                  "technique_documents": sum(not d.id.startswith("seed:") for d in corrected),
                  "chosen": [d.id for d in chosen], **scores}
        print(json.dumps(record), flush=True)
        with log.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")


def read_rounds(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()] if log.exists() else []


def summarise(rows: list[dict], out: Path) -> list[dict]:
    table = []
    keys = sorted({(r["ordering"], r["round"]) for r in rows})
    for ordering, round_number in keys:
        group = [r for r in rows if r["ordering"] == ordering and r["round"] == round_number]
        entry = {"ordering": ordering, "round": round_number, "documents": group[0]["documents"],
                 "seeds": len(group)}
        for metric in METRICS:
            values = [r[metric] for r in group if metric in r]
            entry[metric] = round(sum(values) / len(values), 4) if values else None
        entry["retrain_s"] = round(sum(r["retrain_s"] for r in group) / len(group), 1)
        table.append(entry)
    with (out / "curve.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
    (out / "curve.json").write_text(json.dumps({"rounds": rows, "mean": table}, indent=1), encoding="utf-8")
    return table


def plot(table: list[dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(METRICS), figsize=(4 * len(METRICS), 3.6), sharex=True)
    for axis, metric in zip(axes, METRICS):
        for ordering, style in (("uncertainty", "-o"), ("random", "--s")):
            points = sorted((r["documents"], r[metric]) for r in table
                            if r["ordering"] == ordering and r.get(metric) is not None)
            if points:
                axis.plot(*zip(*points), style, label=ordering)
        axis.set_title(metric.replace("_f1", " F1"))
        axis.set_xlabel("corrected documents")
        axis.grid(alpha=0.3)
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(out / "curve.png", dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None, help="starting model (default: the current one)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "out" / "learning-loop")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--round-size", type=int, default=20)
    parser.add_argument("--seeds", type=int, nargs="+", default=[13, 14])
    parser.add_argument("--orderings", nargs="+", default=["uncertainty", "random"],
                        choices=["uncertainty", "random"])
    parser.add_argument("--corrections", choices=["cumulative", "new"], default="cumulative")
    parser.add_argument("--epochs", type=float, default=3.0)
    parser.add_argument("--replay", type=float, default=1.0)
    parser.add_argument("--test-share", type=float, default=0.4)
    parser.add_argument("--noise", action="store_true",
                        help="only print the bootstrap interval of the starting model's scores on the fixed test set")
    parser.add_argument("--paired", type=int, metavar="ROUND", default=None,
                        help="only compare the round's models in OUT/models with the starting model (paired "
                             "bootstrap on the fixed test set); writes OUT/paired-rROUND.json")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    start = (args.model or current_model_dir()).resolve()
    log = args.out / "rounds.jsonl"

    units = list(load_standoff(SEED_DIR / "devices-test.jsonl"))
    seed_docs = seed_documents(start)
    techniques, technique_labels = technique_documents(start)
    seed_pool, seed_test = split(seed_docs, args.test_share, 1)
    technique_pool, technique_test = split(techniques, args.test_share, 1)
    test_ids = {d.metadata["doc_id"] for d in seed_test}
    test_units = [u for u in units if u.doc_id in test_ids]
    pool = [*seed_pool, *technique_pool]
    print(f"pool {len(pool)} documents ({len(seed_pool)} seed, {len(technique_pool)} technique); fixed test "
          f"{len(seed_test)} seed documents ({len(test_units)} units), {len(technique_test)} technique articles",
          flush=True)
    test = (technique_test, technique_labels, test_units)
    if args.noise:
        intervals = noise(start, *test)
        (args.out / "noise.json").write_text(json.dumps(intervals, indent=1), encoding="utf-8")
        print(json.dumps(intervals))
        return
    if args.paired is not None:
        result = paired(start, args.out / "models", args.paired, *test)
        (args.out / f"paired-r{args.paired}.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
        print(json.dumps(result, indent=1))
        return
    if not any(r["round"] == 0 for r in read_rounds(log)):
        record = {"ordering": "start", "seed": 0, "round": 0, "documents": 0, "retrain_s": 0.0,
                  **score(start, *test)}
        print(json.dumps(record), flush=True)
        with log.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
    for seed in args.seeds:
        for ordering in args.orderings:
            run_curve(ordering, seed, args, start, pool, test, log)
    rows = read_rounds(log)
    starting = [r for r in rows if r["round"] == 0]
    rows = [r for r in rows if r["round"] > 0] + [
        {**starting[0], "ordering": ordering, "seed": seed} for ordering in args.orderings for seed in args.seeds]
    table = summarise(rows, args.out)
    plot(table, args.out)
    for entry in table:
        print(json.dumps(entry))


if __name__ == "__main__":
    main()
