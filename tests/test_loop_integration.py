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


def serve_in_thread(app):
    import threading
    import time

    import uvicorn

    from pipeline.labelstudio.server import free_port

    port = free_port(19190)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def wait_for_job(client, job, seconds=180.0):
    import time

    deadline = time.monotonic() + seconds
    status = {}
    while time.monotonic() < deadline:
        status = client.get(f"/jobs/{job}").json()
        if status["state"] in ("done", "failed"):
            return status
        time.sleep(0.2)
    raise AssertionError(f"training job {job} did not finish in {seconds} s: {status}")


def test_start_training_in_label_studio_retrains_and_the_backend_serves_the_new_version(
    labelstudio_server, models_root, tmp_path, monkeypatch
):
    """Label Studio's "Start training" (START_TRAINING to the backend) runs the warm-start retrain in the background;
    its state is visible on /jobs; a promoted version is served at once; a failing job says why and leaves nothing."""
    import functools

    import httpx

    from pipeline.labelstudio import backend
    from pipeline.labelstudio.config import build_label_config
    from pipeline.model.annotator import Annotator
    from pipeline.retrain import RetrainOptions
    from pipeline.taxonomy import load_taxonomy

    server = labelstudio_server
    monkeypatch.setattr(sync, "default_pull_path", lambda project: tmp_path / "pulled" / f"{project}.jsonl")
    for name, value in server.env().items():
        monkeypatch.delenv(name, raising=False) if value is None else monkeypatch.setenv(name, value)
    conn = server.connection()
    parent = read_meta(current_model_dir())
    config = build_label_config(load_taxonomy().labels)
    project_id, _ = sync.ensure_project(conn, "button-loop", config)
    sync.ensure_project(conn, "button-empty", config)
    conn.sdk.projects.import_tasks(id=project_id, request=[{"data": {"text": t}} for t in NEW_TEXTS])
    tasks = conn.request("GET", "/api/tasks", "list", params={"project": project_id, "fields": "all"})["tasks"]
    for task in tasks:
        text = task["data"]["text"]
        corrected = Document(f"t{task['id']}", text).with_spans(
            Span(m.start(), m.end(), "loaded_language", 1.0) for m in LOADED.finditer(text))
        conn.sdk.annotations.create(id=task["id"], result=prediction(corrected, "human")["result"], lead_time=5.0)

    on_train = functools.partial(backend.default_on_train, options=RetrainOptions(max_steps=4, force=True))
    app = backend.create_app(Annotator.load(), on_train=on_train, reload=Annotator.load)
    uvicorn_server, thread, url = serve_in_thread(app)
    try:
        backend_id = sync.register_backend(conn, "button-loop", url)
        empty_backend = sync.register_backend(conn, "button-empty", url)
        client = httpx.Client(base_url=url, timeout=30)
        conn.sdk.ml.train(id=backend_id)  # the "Start training" button
        done = wait_for_job(client, 1)
        assert done["state"] == "done", done
        assert done["project"] == "button-loop" and done["result"]["promoted"]
        new_version = done["result"]["new_version"]
        assert new_version != parent.version and read_meta(current_model_dir()).version == new_version
        assert client.get("/health").json()["model_version"] == new_version
        conn.sdk.actions.create(id="retrieve_tasks_predictions", project=project_id,
                                selected_items={"all": True, "excluded": []})  # fmt: skip
        tasks = conn.request("GET", "/api/tasks", "list", params={"project": project_id, "fields": "all"})["tasks"]
        assert all(new_version in {p["model_version"] for p in task["predictions"]} for task in tasks)

        before = sorted(p.name for p in models_root.iterdir())
        conn.sdk.ml.train(id=empty_backend)  # nothing annotated there: the job must fail visibly
        failed = wait_for_job(client, 2)
        assert failed["state"] == "failed" and "no usable" in failed["error"], failed
        assert sorted(p.name for p in models_root.iterdir()) == before  # no stray model folder
        assert client.get("/health").json()["model_version"] == new_version
    finally:
        uvicorn_server.should_exit = True
        thread.join(10)
