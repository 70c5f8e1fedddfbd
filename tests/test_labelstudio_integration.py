"""The Label Studio loop against a real server: push, correct, pull, report, re-push, ML backend, restarts."""

from __future__ import annotations

import json
import threading
import time

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.labelstudio import sync
from pipeline.labelstudio.client import Connection, LabelStudioError, RetryPolicy, Settings
from pipeline.labelstudio.config import build_label_config
from pipeline.labelstudio.convert import KEY_FIELD, OffsetCodec, from_ls
from pipeline.labelstudio.server import free_port, stop_process
from pipeline.taxonomy import load_taxonomy

pytestmark = [pytest.mark.labelstudio, pytest.mark.slow]

TEXT = "Report {i}: the so-called regime 🌍 wrecked the harbour.\r\nCritics blame Brussels for the crisis, again."


def annotated_record(i: int, version: str = "v1", text: str | None = None) -> dict:
    """An annotated-output record; the model grows more confident with ``i``."""
    text = text or TEXT.format(i=i)
    score = 0.52 + 0.07 * i
    loaded, delegit = text.index("wrecked"), text.index("so-called regime")
    blame, actor = text.index("Critics blame"), text.index("Brussels")
    return {
        "id": f"doc-{i}",
        "text": text,
        "metadata": {"source": "team-written"},
        "model_version": version,
        "sentences": [],
        "spans": [
            {"start": loaded, "end": loaded + 7, "label": "loaded_language", "score": score},
            {"start": delegit, "end": delegit + 16, "label": "delegitimation", "score": score},
            {"start": blame, "end": blame + 37, "label": "blame_attribution", "score": 0.9,
             "attributes": {"actor": {"start": actor, "end": actor + 8}}},
        ],
    }  # fmt: skip


def write_records(path, records) -> str:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return str(path)


def run(server, *args: str):
    result = CliRunner().invoke(cli, ["ls", *args], env=server.env())
    output = result.output + (str(result.exception) if result.exception else "")
    assert server.token not in output
    return result, output


def project_tasks(conn: Connection, project_id: int) -> list[dict]:
    body = conn.request("GET", "/api/tasks", "list", params={"project": project_id, "fields": "all", "page_size": 500})
    return sorted(body["tasks"], key=lambda t: t["id"])


def browser_region(text: str, start: int, end: int, label: str, region_id: str) -> dict:
    """A region as the browser saves it: UTF-16 offsets plus the selected text."""
    codec = OffsetCodec(text)
    return {
        "id": region_id, "from_name": "label", "to_name": "text", "type": "labels",
        "value": {"start": codec.to_utf16(start), "end": codec.to_utf16(end), "text": text[start:end],
                  "labels": [label]},
    }  # fmt: skip


def test_push_correct_pull_and_report(labelstudio_server, tmp_path):
    server = labelstudio_server
    conn = server.connection()
    records = [annotated_record(i) for i in reversed(range(4))]  # most confident first in the file
    result, output = run(server, "push", write_records(tmp_path / "a.jsonl", records), "--project", "loop")
    assert result.exit_code == 0, output
    project_id = int(sync.require_project(conn, "loop")["id"])
    tasks = project_tasks(conn, project_id)
    # --order uncertainty (the default): least confident first, and the task score sorts the same way
    assert [t["data"][KEY_FIELD] for t in tasks] == ["doc-0", "doc-1", "doc-2", "doc-3"]
    scores = [t["predictions"][0]["score"] for t in tasks]
    assert scores == sorted(scores)

    # a simulated human correction of doc-0, made from the v1 prediction
    task = tasks[0]
    text = task["data"]["text"]
    prediction = task["predictions"][0]
    kept = [r for r in prediction["result"] if r.get("type") == "relation" or "blame" in r["value"]["labels"][0]
            or r["value"]["labels"][0] == "actor"]  # fmt: skip
    start = text.index("wrecked")
    moved = browser_region(text, start, start + len("wrecked the harbour"), "loaded_language", "m")
    added = browser_region(text, text.index("again"), text.index("again") + 5, "doubt", "n")
    review = {"from_name": "review", "to_name": "text", "type": "choices", "value": {"choices": ["corrected"]}}
    sdk = conn.sdk
    sdk.annotations.create(id=task["id"], result=[*kept, moved, added, review], lead_time=42.5,
                           parent_prediction=prediction["id"])  # fmt: skip
    second = sdk.users.create(email="second@example.org", username="second", password="second-pass-123")
    sdk.annotations.create(id=task["id"], result=[*kept, moved], lead_time=10, parent_prediction=prediction["id"],
                           completed_by=second.id)  # fmt: skip
    sdk.annotations.create(id=tasks[1]["id"], result=[], was_cancelled=True, lead_time=1)

    out = tmp_path / "pulled.jsonl"
    result, output = run(server, "pull", "--project", "loop", "--out", str(out))
    assert result.exit_code == 0, output
    pulled = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(pulled) == 3 and not list(tmp_path.glob(".pulled.jsonl.*"))
    first = next(r for r in pulled if r["lead_time"] == 42.5)
    assert first["id"] == "doc-0" and first["text"] == text and "\r\n" in first["text"]
    assert first["annotator"] == "admin@framing.local" and first["prediction_model_version"] == "v1"
    assert first["choices"] == {"review": ["corrected"]} and not first["was_cancelled"]
    got = {(s["label"], text[s["start"] : s["end"]]) for s in first["spans"]}
    assert got == {
        ("blame_attribution", "Critics blame Brussels for the crisis"),
        ("loaded_language", "wrecked the harbour"),
        ("doubt", "again"),
    }
    blame = next(s for s in first["spans"] if s["label"] == "blame_attribution")
    assert text[blame["attributes"]["actor"]["start"] : blame["attributes"]["actor"]["end"]] == "Brussels"
    assert {r["annotator"] for r in pulled if r["id"] == "doc-0"} == {"admin@framing.local", "second@example.org"}
    skipped = next(r for r in pulled if r["id"] == "doc-1")
    assert skipped["was_cancelled"] and skipped["spans"] == []

    result, output = run(server, "report", "--project", "loop", "--json")
    assert result.exit_code == 0, output
    report = json.loads(result.output)
    rows = report["corrections"]["per_label"]
    assert (rows["blame_attribution"]["kept"], rows["loaded_language"]["moved"]) == (2, 2)
    assert (rows["delegitimation"]["removed"], rows["doubt"]["added"]) == (2, 1)
    assert rows["loaded_language"]["strict_precision"] == 0.0 and rows["loaded_language"]["precision"] == 1.0
    assert report["cancelled"] == 1 and report["agreement"]["pairs"] == 1
    assert report["agreement"]["per_label"]["loaded_language"]["char_kappa"] == 1.0

    # --since pulls only what changed and merges it into the file
    sdk.annotations.create(id=tasks[2]["id"], result=[moved], lead_time=5)
    result, output = run(server, "pull", "--project", "loop", "--out", str(out), "--since")
    assert result.exit_code == 0, output
    assert "1 annotation pulled (changed since" in output
    assert "; 1 task exported)" in output  # only the changed task left the server, not the whole project
    assert len(out.read_text(encoding="utf-8").splitlines()) == 4


def test_repush_is_idempotent_and_a_new_version_adds_predictions(labelstudio_server, tmp_path):
    server = labelstudio_server
    path = write_records(tmp_path / "a.jsonl", [annotated_record(i) for i in range(3)])
    for _ in range(2):
        result, output = run(server, "push", path, "--project", "repush", "--order", "input")
        assert result.exit_code == 0, output
    assert "0 tasks created" in output and "3 already up to date" in output
    v2 = write_records(tmp_path / "b.jsonl", [annotated_record(i, "v2") for i in range(3)])
    result, output = run(server, "push", v2, "--project", "repush")
    assert "3 predictions added" in output
    changed = write_records(tmp_path / "c.jsonl", [annotated_record(0, "v3", text=TEXT.format(i=0) + " More.")])
    result, output = run(server, "push", changed, "--project", "repush")
    assert result.exit_code == 1 and "different text" in output

    result, output = run(server, "status", "--project", "repush", "--json")
    status = json.loads(result.output)
    assert status["url"] == server.url and status["healthy"] is True
    (project,) = status["projects"]
    assert (project["name"], project["tasks"], project["annotated_tasks"]) == ("repush", 3, 0)
    assert project["predictions"] == {"v1": 3, "v2": 3}


def test_ml_backend_predictions_are_retrieved_through_label_studio(labelstudio_server):
    import uvicorn

    from pipeline.labelstudio.backend import create_app
    from tests.test_labelstudio_backend import KeywordPredictor

    server = labelstudio_server
    conn = server.connection()
    project_id, _ = sync.ensure_project(conn, "ml-backend", build_label_config(load_taxonomy().labels))
    texts = ["They blame 🌍 the West.", "Nothing to see.", "blame, blame"]
    conn.sdk.projects.import_tasks(id=project_id, request=[{"data": {"text": t}} for t in texts])
    trained = []
    app = create_app(KeywordPredictor(), on_train=trained.append)
    port = free_port(19090)
    backend = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=backend.run, daemon=True)
    thread.start()
    try:
        while not backend.started:
            time.sleep(0.05)
        backend_id = sync.register_backend(conn, "ml-backend", f"http://127.0.0.1:{port}")
        assert sync.register_backend(conn, "ml-backend", f"http://127.0.0.1:{port}/") == backend_id  # once
        project = conn.request("GET", f"/api/projects/{project_id}/", "read")
        assert project["evaluate_predictions_automatically"] is True
        # opening a task without predictions in the labeling stream asks the backend for one
        opened = conn.request("GET", f"/api/projects/{project_id}/next", "next task")
        assert [p["model_version"] for p in opened["predictions"]] == ["keyword-1"]
        conn.sdk.actions.create(id="retrieve_tasks_predictions", project=project_id,
                                selected_items={"all": True, "excluded": []})  # fmt: skip
        tasks = project_tasks(conn, project_id)
        found = {}
        for task in tasks:
            (prediction,) = task["predictions"]
            assert prediction["model_version"] == "keyword-1"
            spans = from_ls(task["data"]["text"], prediction["result"]).spans
            found[task["data"]["text"]] = [task["data"]["text"][s.start : s.end] for s in spans]
        assert found == {texts[0]: ["blame"], texts[1]: [], texts[2]: ["blame", "blame"]}
        conn.sdk.ml.train(id=backend_id)
        deadline = time.monotonic() + 10
        while not trained and time.monotonic() < deadline:
            time.sleep(0.1)
        assert trained and trained[0]["action"] == "START_TRAINING"
    finally:
        backend.should_exit = True
        thread.join(10)


def test_a_push_survives_a_server_restart_and_a_rerun_after_failure_leaves_one_task_each(labelstudio_server, tmp_path):
    server = labelstudio_server
    config = build_label_config(load_taxonomy().labels)
    records = [(f"r{i}", annotated_record(i)) for i in range(40)]
    for i, (_, record) in enumerate(records):
        record["id"] = f"restart-{i}"

    # 1. killed after the first batch and restarted while the push retries: the push completes
    killed = threading.Event()

    def kill_and_restart(_done: int) -> None:
        if not killed.is_set():
            killed.set()
            stop_process(server.pid(), timeout=0)  # SIGTERM then SIGKILL at once: no clean shutdown
            threading.Thread(target=server.restart, daemon=True).start()

    conn = server.connection(RetryPolicy(attempts=30, max_wait=2.0, total_seconds=120))
    report = sync.push(conn, records, project="restart", label_config=config, batch_size=5, progress=kill_and_restart)
    assert killed.is_set() and report.problems == []
    keys = [t["data"][KEY_FIELD] for t in project_tasks(conn, report.project_id)]
    assert sorted(keys) == sorted(r["id"] for _, r in records)

    # 2. killed and NOT restarted: a clear error after the retries, without the token
    more = [(f"s{i}", annotated_record(i) | {"id": f"second-{i}"}) for i in range(20)]

    def kill(_done: int) -> None:
        if server.pid():
            stop_process(server.pid(), timeout=0)

    quick = server.connection(RetryPolicy(attempts=3, first_wait=0.1, max_wait=0.2, total_seconds=5))
    failed = sync.push(quick, more, project="restart", label_config=config, batch_size=5, progress=kill)
    assert failed.error and "did not answer" in failed.error and server.token not in failed.error
    # the counts so far are known, also on failure (issue #19): the first batch went in, the rest did not
    assert (failed.tasks_created, failed.remaining) == (5, 15)
    server.restart()
    sync.push(conn, more, project="restart", label_config=config, batch_size=5)
    keys = [t["data"][KEY_FIELD] for t in project_tasks(conn, report.project_id)]
    assert len(keys) == len(set(keys)) == 60


def test_a_taxonomy_change_updates_the_config_or_is_refused_clearly(labelstudio_server):
    server = labelstudio_server
    conn = server.connection()
    labels = load_taxonomy().labels
    records = [("r0", annotated_record(0))]
    report = sync.push(conn, records, project="config", label_config=build_label_config(labels))
    (task,) = project_tasks(conn, report.project_id)
    loaded = [r for r in task["predictions"][0]["result"] if r.get("value", {}).get("labels") == ["loaded_language"]]
    conn.sdk.annotations.create(id=task["id"], result=loaded)
    fewer = [label for label in labels if label.id not in ("slogans", "loaded_language")]
    with pytest.raises(LabelStudioError, match="refuses the new labeling config"):
        sync.ensure_project(conn, "config", build_label_config(fewer))
    without_slogans = [label for label in labels if label.id != "slogans"]
    sync.ensure_project(conn, "config", build_label_config(without_slogans))
    project = conn.request("GET", f"/api/projects/{report.project_id}/", "read")
    assert 'value="slogans"' not in project["label_config"] and project["total_annotations_number"] == 1


def test_errors_never_show_the_token(labelstudio_server, tmp_path):
    server = labelstudio_server
    dead = f"http://127.0.0.1:{free_port(19500)}"
    conn = Connection(Settings(dead, server.token), RetryPolicy(attempts=2, first_wait=0.05, total_seconds=2))
    with pytest.raises(LabelStudioError) as failure:
        sync.find_project(conn, "anything")
    assert server.token not in str(failure.value) and dead in str(failure.value)
    result = CliRunner().invoke(
        cli, ["ls", "status", "--json"], env={"LABEL_STUDIO_URL": server.url, "LABEL_STUDIO_API_KEY": "wrong-token-x"}
    )
    assert result.exit_code != 0 and "rejected the API token" in str(result.exception)
    assert "wrong-token-x" not in result.output + str(result.exception)
    result, output = run(server, "up")  # idempotent: reuses the running server, prints no token
    assert result.exit_code == 0 and f"already running at {server.url}" in output
