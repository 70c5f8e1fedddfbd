"""Benchmark the Label Studio loop: push 2,000 annotated documents with predictions, annotate 200 through the
API, pull them back. Targets on the project machine: push <= 60 s, pull <= 30 s.

    .venv/bin/python benchmarks/labelstudio_sync.py            # starts a throw-away local server
    LABEL_STUDIO_API_KEY=... .venv/bin/python benchmarks/labelstudio_sync.py --url http://host:8080

The documents are synthetic, built from sentences written for this benchmark (no corpus text). Prints one
JSON object with the timings.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from pipeline.labelstudio import server as ls_server  # noqa: E402
from pipeline.labelstudio import sync  # noqa: E402
from pipeline.labelstudio.client import CONFIG_ENV, Connection, resolve_settings  # noqa: E402
from pipeline.labelstudio.config import build_label_config  # noqa: E402
from pipeline.taxonomy import load_taxonomy  # noqa: E402

SENTENCES = [
    ("The so-called council once again wrecked the harbour budget.", "delegitimation", "so-called council"),
    ("Critics blame the ministry for the flooding of the lower town.", "blame_attribution", "blame the ministry"),
    ("This is a disgraceful betrayal of every family on the coast.", "loaded_language", "disgraceful betrayal"),
    ("Residents met on Tuesday to discuss the new ferry timetable. 🚢", None, None),
    ("Only a fool would believe the promises of these clowns.", "name_calling", "these clowns"),
    ("Experts agree that the plan is the only way forward.", "appeal_to_authority", "Experts agree"),
    ("The mayor said the report would be published next month.", None, None),
    ("Either we act now or the town is finished forever.", "false_dilemma", "Either we act now"),
]


def synthetic_record(i: int, rng: random.Random, sentences: int) -> dict:
    parts, spans, position = [], [], 0
    for _ in range(sentences):
        sentence, label, phrase = rng.choice(SENTENCES)
        if label:
            start = position + sentence.index(phrase)
            spans.append(
                {"start": start, "end": start + len(phrase), "label": label, "score": round(rng.uniform(0.3, 0.99), 3)}
            )
        parts.append(sentence)
        position += len(sentence) + 2
    return {
        "id": f"bench-{i}",
        "text": "\r\n".join(parts),
        "model_version": "bench-v1",
        "sentences": [],
        "spans": spans,
    }


def human_result(task: dict) -> list[dict]:
    """Accept the prediction but drop its last region: a small, realistic correction."""
    regions = [r for r in task["predictions"][0]["result"] if r.get("type") == "labels"]
    return regions[:-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="an existing server (token in LABEL_STUDIO_API_KEY); default: start one")
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--annotate", type=int, default=200)
    parser.add_argument("--sentences", type=int, default=25, help="sentences per document (~1.5 KB each 25)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="framing-ls-bench-"))
    started = None
    try:
        if args.url:
            settings = resolve_settings(args.url)
        else:
            os.environ[CONFIG_ENV] = str(workdir / "labelstudio.json")
            data_dir = workdir / "data"
            template = sorted(REPO_ROOT.glob(".pytest_cache/labelstudio-template-*/"))
            token = None
            if template and (template[-1] / "framing-test-credentials.json").exists():
                shutil.copytree(template[-1] / "data", data_dir)
                token = json.loads((template[-1] / "framing-test-credentials.json").read_text())["token"]
            t0 = time.perf_counter()
            started = ls_server.start_server(
                data_dir=data_dir, port=ls_server.free_port(18280), token=token, timeout=300
            )
            print(f"server up in {time.perf_counter() - t0:.1f} s at {started.url}", file=sys.stderr)
            settings = resolve_settings(started.url)
        conn = Connection(settings)
        rng = random.Random(7)
        records = [(f"record {i}", synthetic_record(i, rng, args.sentences)) for i in range(args.documents)]
        project = f"bench-{int(time.time())}"
        config = build_label_config(load_taxonomy().labels)
        _ = conn.sdk  # import the SDK before timing

        t0 = time.perf_counter()
        report = sync.push(conn, records, project=project, label_config=config)
        push_seconds = time.perf_counter() - t0
        assert report.tasks_created == args.documents and not report.problems, report

        t0 = time.perf_counter()
        again = sync.push(conn, records, project=project, label_config=config)
        repush_seconds = time.perf_counter() - t0
        assert again.unchanged == args.documents

        body = conn.request("GET", "/api/tasks", "list", params={"project": report.project_id, "fields": "all",
                                                                  "page_size": args.annotate})  # fmt: skip
        t0 = time.perf_counter()
        for task in body["tasks"][: args.annotate]:
            conn.sdk.annotations.create(id=task["id"], result=human_result(task), lead_time=30.0,
                                        parent_prediction=task["predictions"][0]["id"])  # fmt: skip
        annotate_seconds = time.perf_counter() - t0

        out = workdir / "pulled.jsonl"
        t0 = time.perf_counter()
        pulled = sync.pull(conn, project, out)
        pull_seconds = time.perf_counter() - t0
        assert pulled.records == args.annotate, pulled
        characters = sum(len(r["text"]) for _, r in records)
        print(json.dumps({
            "documents": args.documents, "characters": characters, "annotated": args.annotate,
            "push_s": round(push_seconds, 2), "repush_unchanged_s": round(repush_seconds, 2),
            "annotate_via_api_s": round(annotate_seconds, 2), "pull_s": round(pull_seconds, 2),
            "targets": {"push_s": 60, "pull_s": 30},
            "within_targets": push_seconds <= 60 and pull_seconds <= 30,
        }, indent=2))  # fmt: skip
    finally:
        if started is not None:
            ls_server.stop_server()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
