"""Train several configs side by side on one device and rank them on the validation split.

    python benchmarks/train_sweep.py models/experiments/sweep/*.yaml --out runs/sweep --device cuda --parallel 6

Each config trains in its own process (`framing train`), then the model is scored on its validation split:
PTC span identification, technique-aware spans and SLC (`framing evaluate --format ptc --split validation`),
and the validation F1 of the team's devices from the calibration the training run ends with. Validation is
what the thresholds were tuned on, so these figures are optimistic; they rank candidates, and only the chosen
one is then scored once on the held-out test split. Results are appended to <out>/sweep.jsonl as each
candidate finishes, so an interrupted sweep keeps what it finished.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

DEVICES = ("blame_attribution", "legitimation", "delegitimation")
FRAMING = [sys.executable, "-c", "from pipeline.cli import main; main()"]


def score(result: dict) -> float:
    """The ranking score, fixed before the sweep: the mean of the PTC figures of the classifier issue (SI,
    technique-aware span and SLC F1), averaged with the mean validation sentence F1 of the three devices."""
    ptc = (result["si_f1"] + result["span_f1"] + result["slc_f1"]) / 3
    devices = sum(result["devices"].values()) / len(DEVICES)
    return (ptc + devices) / 2


def run_one(config: Path, out: Path, args) -> dict:
    model_dir = out / config.stem
    log = (out / f"{config.stem}.log").open("w")
    began = time.monotonic()
    train = [*FRAMING, "train", "--config", str(config), "--out", str(model_dir), "--device", args.device,
             "--no-progress", "--threads", str(args.threads)]
    if (model_dir / "checkpoint").is_dir():
        train.append("--resume")
    if not (model_dir / "framing-model.json").exists():
        subprocess.run(train, check=True, stdout=log, stderr=subprocess.STDOUT)
    trained = time.monotonic() - began
    evaluate = [*FRAMING, "evaluate", "--format", "ptc", "--articles", str(args.data / "ptc/train-articles"),
                "--labels", str(args.data / "ptc/train-task2-TC.labels"), "--model", str(model_dir),
                "--split", "validation", "--json", "--device", args.device]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    metrics = json.loads(subprocess.run(evaluate, check=True, capture_output=True, text=True, env=env).stdout)
    meta = json.loads((model_dir / "framing-model.json").read_text())
    calibrated = meta["metrics"].get("validation_calibrated", {})
    result = {
        "config": config.stem,
        "si_f1": round(metrics["si_f1"], 4), "span_f1": round(metrics["span_f1"], 4),
        "slc_f1": round(metrics["slc_f1"], 4), "paragraph_micro_f1": round(metrics["paragraph_micro_f1"], 4),
        "devices": {d: calibrated.get(d, {}).get("sentence_f1", 0.0) for d in DEVICES},
        "train_seconds": round(trained, 1), "steps": meta["metrics"]["training"]["steps"],
        "history": meta["metrics"]["training"]["history"], "version": meta["version"],
    }
    result["score"] = round(score(result), 4)
    with (out / "sweep.jsonl").open("a") as handle:
        handle.write(json.dumps(result) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "history"}), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("configs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--parallel", type=int, default=1, help="configs trained at once")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads per process")
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("FRAMING_DATA_ROOT", "../shared/data")))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(args.parallel) as pool:
        futures = [pool.submit(run_one, config, args.out, args) for config in args.configs]
        results = []
        for config, future in zip(args.configs, futures):
            try:
                results.append(future.result())
            except subprocess.CalledProcessError as error:
                print(f"{config}: failed ({error}); see {args.out / (config.stem + '.log')}", file=sys.stderr)
    results.sort(key=lambda r: r["score"], reverse=True)
    print(f"\n{'config':<28}{'score':>7}{'SI':>7}{'span':>7}{'SLC':>7}{'blame':>7}{'legit':>7}{'deleg':>7}{'s':>7}")
    for r in results:
        d = r["devices"]
        print(f"{r['config']:<28}{r['score']:>7.3f}{r['si_f1']:>7.3f}{r['span_f1']:>7.3f}{r['slc_f1']:>7.3f}"
              f"{d['blame_attribution']:>7.3f}{d['legitimation']:>7.3f}{d['delegitimation']:>7.3f}"
              f"{r['train_seconds']:>7.0f}")


if __name__ == "__main__":
    main()
