"""Is model A better than model B on the held-out test sets, or within their noise? A paired bootstrap.

Both models annotate the same held-out documents: A's technique test articles (SemEval-2023 Task 3, its
``test_documents``; B must hold out the same ones) and the seed set's device test file
(``annotations/seed/devices-test.jsonl``). Then ``--draws`` resamples of those documents (drawn with replacement)
score both on the same documents, and per metric the gain A - B is reported: on the whole test set, its mean over
the draws, the 95% interval and the share of draws without gain (a one-sided p-value). Metrics: SI and SLC F1 on
the articles, sentence F1 per device on the seed units. Run by hand from the repository root (about 3 minutes on
2 CPU cores):

    .venv/bin/python benchmarks/compare_models.py MODEL_A MODEL_B [--draws 1000] [--out result.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

from learning_loop import METRICS, bootstrap, interval, predict_test, scores_on, technique_documents  # noqa: E402

from pipeline.model.store import read_meta  # noqa: E402
from pipeline.standoff import SEED_DIR, load_standoff  # noqa: E402


def compare(model_a: Path, model_b: Path, draws: int) -> dict:
    techniques, technique_labels = technique_documents(model_a)
    held_b = set(read_meta(model_b).test_documents)
    missing = [d.id for d in techniques if d.id not in held_b]
    if missing:
        raise SystemExit(f"{model_b} trained or tuned on {len(missing)} of {model_a}'s test articles "
                         f"(e.g. {missing[0]}): the comparison would not be on held-out data")
    units = list(load_standoff(SEED_DIR / "devices-test.jsonl"))
    outputs = {"A": predict_test(model_a, techniques, units), "B": predict_test(model_b, techniques, units)}
    whole = scores_on(outputs, techniques, technique_labels, units, list(range(len(techniques))), [1] * len(units))
    samples = bootstrap(outputs, techniques, technique_labels, units, draws)
    result = {"A": str(model_a), "B": str(model_b), "draws": draws, "articles": len(techniques),
              "seed_units": len(units), "metrics": {}}
    for metric in METRICS:
        gains = [a - b for a, b in zip(samples["A"][metric], samples["B"][metric])]
        result["metrics"][metric] = {
            "A": round(whole["A"][metric], 4), "B": round(whole["B"][metric], 4),
            "gain": round(whole["A"][metric] - whole["B"][metric], 4), "mean_gain": round(sum(gains) / draws, 4),
            **interval(gains), "p_not_better": round(sum(g <= 0 for g in gains) / draws, 3)}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_a", type=Path)
    parser.add_argument("model_b", type=Path)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=None, help="also write the result as JSON here")
    args = parser.parse_args()
    result = compare(args.model_a.resolve(), args.model_b.resolve(), args.draws)
    print(f"A = {args.model_a.name}, B = {args.model_b.name}: {result['articles']} test articles, "
          f"{result['seed_units']} seed test sentences, {args.draws} paired draws")
    print(f"{'metric':<24}{'A':>8}{'B':>8}{'A-B':>8}{'95% interval':>20}{'P(A<=B)':>9}")
    for metric, row in result["metrics"].items():
        print(f"{metric:<24}{row['A']:>8.3f}{row['B']:>8.3f}{row['gain']:>+8.3f}"
              f"{row['low']:>+10.3f} .. {row['high']:<+8.3f}{row['p_not_better']:>8.3f}")
    if args.out:
        args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
