"""How long does `framing retrain` take on N corrected documents? Writes the corrections file, then times the CLI.

Run from the repository root (by hand): ``python benchmarks/retrain_time.py [--documents 100] [--model DIR]``.
The corrections are N SemEval-2023 articles with their gold technique spans, as a researcher's pull of N fully
annotated news articles would be (the starting model's held-out test articles first, then training articles: the
timing depends on the amount of text, not on which articles), with ``--labels`` naming the techniques they annotate
(the devices stay unknown in them). The command is the one a researcher runs, start-up,
replay loading, training, threshold re-tuning and both evaluations included, with ``--no-promote`` so that the
current model is left alone. Prints the processor, the wall time and the per-phase log of the run.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from pipeline.model.config import load_config  # noqa: E402
from pipeline.model.registry import current_model_dir  # noqa: E402
from pipeline.model.sources import load_source  # noqa: E402
from pipeline.model.store import read_meta  # noqa: E402


def corrections(model_dir: Path, count: int) -> list[dict]:
    meta, config = read_meta(model_dir), load_config(model_dir / "config.yaml")
    source = next(s for s in config.data if s.format in ("semeval2023", "ptc"))
    documents = load_source(source, config, meta.labels)
    held = set(meta.test_documents)
    ordered = [d for d in documents if d.id in held] + [d for d in documents if d.id not in held]
    return [{"id": d.id, "text": d.text, "spans": [s.to_dict() for s in d.spans]} for d in ordered[:count]]


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=100)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    model = (args.model or current_model_dir()).resolve()
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "corrections.jsonl"
        records = corrections(model, args.documents)
        path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        from pipeline.taxonomy import load_taxonomy

        covered = ",".join(label for label in load_taxonomy().annotated_ids("semeval2023") if label in
                           read_meta(model).labels)
        command = [str(Path(sys.executable).with_name("framing")), "retrain", "--from", str(path), "--model",
                   str(model), "--out", str(Path(scratch) / "new"), "--no-promote", "--no-progress",
                   "--labels", covered,
                   *(["--threads", str(args.threads)] if args.threads else [])]
        print(f"{cpu_name()}, {len(records)} corrected documents, {sum(len(r['text']) for r in records):,} "
              f"characters; {' '.join(command[1:4])} ...", flush=True)
        began = time.monotonic()
        completed = subprocess.run(command, capture_output=True, text=True)
        seconds = time.monotonic() - began
        print(completed.stdout[-4000:])
        if completed.returncode:
            print(completed.stderr[-4000:], file=sys.stderr)
            sys.exit(completed.returncode)
        meta = json.loads((Path(scratch) / "new" / "framing-model.json").read_text()) \
            if (Path(scratch) / "new" / "framing-model.json").exists() else {}
        training = meta.get("metrics", {}).get("training", {})
        print(json.dumps({"documents": len(records), "wall_s": round(seconds, 1), "train_s": training.get("seconds"),
                          "steps": training.get("steps"), "cpu": cpu_name()}))


if __name__ == "__main__":
    main()
