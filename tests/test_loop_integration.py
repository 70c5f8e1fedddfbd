"""The whole human-in-the-loop on a real Label Studio server and a tiny model:
annotate → push → human correction through the API → pull → correction report → retrain → push the new
version's predictions onto the same tasks."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.document import Document, Span
from pipeline.labelstudio import sync
from pipeline.labelstudio.convert import KEY_FIELD, prediction
from pipeline.model.registry import current_model_dir
from pipeline.model.store import read_meta
from tests.model_fixtures import LOADED

pytestmark = [pytest.mark.labelstudio, pytest.mark.slow]

NEW_TEXTS = [
    f"Story {i}: the corrupt officials hid the losses, and the {word} board said nothing."
    for i, word in enumerate(["harbour", "water", "school", "transport", "health", "energy", "housing", "rail"])
]


def invoke(server, *args: str):
    result = CliRunner().invoke(cli, list(args), env=server.env(), catch_exceptions=False)
    assert server.token not in result.output
    assert result.exit_code == 0, result.output
    return result


def test_corrections_from_label_studio_train_a_new_version_whose_predictions_join_the_tasks(
    labelstudio_server, models_root, tmp_path
):
    server = labelstudio_server
    conn = server.connection()
    parent = read_meta(current_model_dir())
    inputs = tmp_path / "new.jsonl"
    inputs.write_text("".join(json.dumps({"id": f"new-{i}", "text": t}) + "\n" for i, t in enumerate(NEW_TEXTS)))

    first = tmp_path / "annotated-v1.jsonl"
    invoke(server, "annotate", str(inputs), "--out", str(first), "--no-progress")
    invoke(server, "ls", "push", str(first), "--project", "retrain-loop")
    project_id = int(sync.require_project(conn, "retrain-loop")["id"])
    tasks = conn.request("GET", "/api/tasks", "list", params={"project": project_id, "fields": "all"})["tasks"]
    assert len(tasks) == len(NEW_TEXTS)

    # a researcher corrects every task: the loaded phrases are marked, whatever the model said
    for task in tasks:
        text = task["data"]["text"]
        corrected = Document(task["data"][KEY_FIELD], text).with_spans(
            Span(m.start(), m.end(), "loaded_language", 1.0) for m in LOADED.finditer(text)
        )
        result = prediction(corrected, "human")["result"]
        conn.sdk.annotations.create(id=task["id"], result=result, lead_time=12.0,
                                    parent_prediction=task["predictions"][0]["id"])

    pulled = tmp_path / "pulled.jsonl"
    invoke(server, "ls", "pull", "--project", "retrain-loop", "--out", str(pulled))
    records = [json.loads(line) for line in pulled.read_text(encoding="utf-8").splitlines()]
    assert len(records) == len(NEW_TEXTS)
    assert all(r["prediction_model_version"] == parent.version for r in records)
    for record in records:
        assert [record["text"][s["start"] : s["end"]] for s in record["spans"]] == ["corrupt officials"]

    report = json.loads(invoke(server, "ls", "report", "--project", "retrain-loop", "--json").output)
    assert "loaded_language" in report["corrections"]["per_label"]

    retrained = invoke(server, "retrain", "--from", str(pulled), "--force", "--no-progress")
    assert "is now the current model" in retrained.output
    new = read_meta(current_model_dir())
    assert new.version != parent.version and new.parent_version == parent.version

    second = tmp_path / "annotated-v2.jsonl"
    invoke(server, "annotate", str(inputs), "--out", str(second), "--no-progress")
    invoke(server, "ls", "push", str(second), "--project", "retrain-loop")
    tasks = conn.request("GET", "/api/tasks", "list", params={"project": project_id, "fields": "all"})["tasks"]
    assert len(tasks) == len(NEW_TEXTS)  # no duplicate tasks
    for task in tasks:
        versions = sorted(p["model_version"] for p in task["predictions"])
        assert versions == sorted([parent.version, new.version])
