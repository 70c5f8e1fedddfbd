"""The team-written device examples (annotations/written): exact offsets, and read as a records source that
annotates the three devices only."""

from __future__ import annotations

import json
import subprocess
import sys

from pipeline.io import read_records
from pipeline.model.config import config_from_dict
from pipeline.model.sources import load_source
from pipeline.standoff import DEVICE_LABELS, REPO_ROOT

WRITTEN = REPO_ROOT / "annotations" / "written"


def test_written_examples_have_exact_offsets_and_device_labels_only():
    records = list(read_records(WRITTEN / "devices-written.jsonl"))
    assert len({r["id"] for r in records}) == len(records) >= 100
    for record in records:
        text = record["text"]
        for span in record["spans"]:
            assert span["label"] in DEVICE_LABELS and span["source"] == "gold"
            assert 0 <= span["start"] < span["end"] <= len(text) and text[span["start"]:span["end"]].strip()
            actor = span.get("attributes", {}).get("actor")
            if actor:
                assert span["label"] == "blame_attribution" and text[actor["start"]:actor["end"]].strip()


def test_a_records_source_with_labels_annotates_only_those_labels(tmp_path):
    # the written paragraphs say nothing about the techniques: they must not become technique negatives
    source = {"format": "records", "path": str(WRITTEN / "devices-written.jsonl"), "labels": list(DEVICE_LABELS)}
    config = config_from_dict({"data": [source]}, base_dir=tmp_path)
    documents = load_source(config.data[0], config, [*DEVICE_LABELS, "loaded_language"])
    assert documents and all(d.metadata["annotated_labels"] == sorted(DEVICE_LABELS) for d in documents)
    assert any(s.label == "legitimation" for d in documents for s in d.spans)


def test_build_reports_text_it_cannot_find_and_writes_nothing(tmp_path):
    draft = tmp_path / "draft.jsonl"
    out = tmp_path / "out.jsonl"
    draft.write_text(json.dumps({"id": "t-1", "text": "The lawful government acted.",
                                 "spans": [{"label": "legitimation", "text": "lawful government"}]}) + "\n"
                     + json.dumps({"id": "t-2", "text": "Critics blamed the mayor.",
                                   "spans": [{"label": "blame_attribution", "text": "blamed the governor"}]}) + "\n")
    result = subprocess.run([sys.executable, str(WRITTEN / "build.py"), str(draft), "--out", str(out)],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert f"{draft}:2" in result.stderr and "'blamed the governor' not found" in result.stderr
    assert not out.exists()
