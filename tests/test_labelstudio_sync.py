"""Push and pull logic against an in-memory stand-in for Label Studio: idempotence under lost responses,
problems reported with their place, provenance of pulled annotations, atomic output."""

from __future__ import annotations

import json
from types import SimpleNamespace

import httpx
import pytest

from pipeline.document import Document, Span
from pipeline.labelstudio import sync
from pipeline.labelstudio.client import Connection, RetryPolicy, Settings
from pipeline.labelstudio.config import build_label_config
from pipeline.labelstudio.convert import KEY_FIELD, prediction_result
from pipeline.taxonomy import load_taxonomy

CONFIG = build_label_config(load_taxonomy().labels)


class FakeLabelStudio:
    """Projects, tasks and predictions in memory; can lose the response of a write after committing it."""

    def __init__(self):
        self.projects: dict[int, dict] = {}
        self.tasks: dict[int, dict] = {}
        self.lose_responses = {"import_tasks": 0, "import_predictions": 0}
        self.projects_api = SimpleNamespace(
            create=self.create, update=self.update, validate_label_config=lambda **_: None,
            import_tasks=self.import_tasks, import_predictions=self.import_predictions,
        )  # fmt: skip

    @property
    def sdk(self):
        return SimpleNamespace(projects=self.projects_api)

    def create(self, title, label_config):
        project_id = len(self.projects) + 1
        self.projects[project_id] = {"id": project_id, "title": title, "label_config": label_config}
        return SimpleNamespace(id=project_id)

    def update(self, id, **fields):
        self.projects[id].update(fields)

    def _maybe_lose(self, what):
        if self.lose_responses[what]:
            self.lose_responses[what] -= 1
            raise httpx.RemoteProtocolError("server disconnected without sending a response")

    def import_tasks(self, id, request, return_task_ids):
        ids = []
        for task in request:
            task_id = len(self.tasks) + 1
            versions = [p["model_version"] for p in task.get("predictions", [])]
            self.tasks[task_id] = {"id": task_id, "project": id, "data": task["data"], "versions": versions,
                                   "predictions": task.get("predictions", [])}  # fmt: skip
            ids.append(task_id)
        self._maybe_lose("import_tasks")
        return SimpleNamespace(task_ids=ids)

    def import_predictions(self, id, request):
        for prediction in request:
            self.tasks[prediction["task"]]["versions"].append(prediction["model_version"])
        self._maybe_lose("import_predictions")

    def request(self, method, path, what, *, retry=True, params=None, **_):
        if path == "/api/projects/":
            return {"results": [p for p in self.projects.values() if params["title"] in p["title"]]}
        if path.startswith("/api/projects/"):
            return self.projects[int(path.split("/")[3])]
        tasks = [t for t in self.tasks.values() if t["project"] == params["project"]]
        page = tasks[(params["page"] - 1) * params["page_size"] : params["page"] * params["page_size"]]
        return {
            "total": len(tasks),
            "tasks": [{"id": t["id"], "data": t["data"], "predictions_model_versions": ",".join(t["versions"])}
                      for t in page],
        }  # fmt: skip


class FakeConnection(Connection):
    def __init__(self, fake: FakeLabelStudio):
        super().__init__(Settings("http://ls.invalid", "secret-token-123"), RetryPolicy(5, 0, 0, 10))
        self.fake = fake
        self._sdk = fake.sdk

    def request(self, method, path, what, *, retry=True, **kwargs):
        return self.fake.request(method, path, what, retry=retry, **kwargs)


def record(i: int, version: str = "v1", **extra) -> tuple[str, dict]:
    text = f"Text number {i} is loaded."
    start = text.index("loaded")
    spans = [{"start": start, "end": start + 6, "label": "loaded_language", "score": 0.5 + i / 20}]
    return f"in.jsonl:{i + 1}", {"id": f"d{i}", "text": text, "model_version": version, "spans": spans, **extra}


def keys_and_versions(fake):
    return sorted((t["data"][KEY_FIELD], tuple(t["versions"])) for t in fake.tasks.values())


def test_a_lost_import_response_is_retried_without_duplicating_tasks():
    fake = FakeLabelStudio()
    fake.lose_responses["import_tasks"] = 2  # the first two batches commit, then the connection drops
    conn = FakeConnection(fake)
    report = sync.push(conn, [record(i) for i in range(7)], project="p", label_config=CONFIG, batch_size=3)
    assert keys_and_versions(fake) == [(f"d{i}", ("v1",)) for i in range(7)]
    assert report.problems == [] and report.documents == 7

    fake.lose_responses["import_predictions"] = 1
    report = sync.push(conn, [record(i, "v2") for i in range(7)], project="p", label_config=CONFIG, batch_size=3)
    assert keys_and_versions(fake) == [(f"d{i}", ("v1", "v2")) for i in range(7)]
    report = sync.push(conn, [record(i, "v2") for i in range(7)], project="p", label_config=CONFIG)
    assert (report.tasks_created, report.predictions_added, report.unchanged) == (0, 0, 7)
    assert fake.projects[1]["model_version"] == "v2"


def test_bad_records_are_reported_with_their_place_and_the_rest_is_pushed():
    fake = FakeLabelStudio()
    text = "Gold and model spans."
    mixed = {"id": "mixed", "text": text, "model_version": "v1", "spans": [
        {"start": 0, "end": 4, "label": "doubt", "source": "gold"},
        {"start": 9, "end": 14, "label": "doubt", "source": "model:v1", "score": 0.7},
    ]}  # fmt: skip
    unknown_label = {"start": 0, "end": 1, "label": "zzz"}
    records = [
        record(0),
        ("in.jsonl:2", {"id": "nov", "text": "No version."}),
        ("in.jsonl:3", {"id": "bad", "text": "abc", "model_version": "v1", "spans": [{"start": 2, "end": 9}]}),
        ("in.jsonl:4", {"id": "unk", "text": "abc", "model_version": "v1", "spans": [unknown_label]}),
        ("in.jsonl:5", record(0)[1]),
        ("in.jsonl:6", mixed),
    ]  # fmt: skip
    report = sync.push(FakeConnection(fake), records, project="p", label_config=CONFIG)
    problems = "\n".join(report.problems)
    assert len(report.problems) == 4
    for where, words in [("in.jsonl:2", "model_version"), ("in.jsonl:3", "outside the text"),
                         ("in.jsonl:4", "zzz"), ("in.jsonl:5", "appears again (first at in.jsonl:1)")]:  # fmt: skip
        assert any(p.startswith(where) and words in p for p in report.problems), problems
    assert sorted(t["data"][KEY_FIELD] for t in fake.tasks.values()) == ["d0", "mixed"]
    (pushed,) = [t for t in fake.tasks.values() if t["data"][KEY_FIELD] == "mixed"]
    (region,) = pushed["predictions"][0]["result"]  # the model's span only, not the gold one
    assert region["value"]["text"] == "model" and region["score"] == 0.7


def test_changed_text_is_reported_not_duplicated():
    fake = FakeLabelStudio()
    conn = FakeConnection(fake)
    sync.push(conn, [record(0)], project="p", label_config=CONFIG)
    where, changed = record(0, "v2")
    changed["text"] = changed["text"] + " Edited."
    report = sync.push(conn, [(where, changed)], project="p", label_config=CONFIG)
    assert len(fake.tasks) == 1 and "different text" in report.problems[0]


def test_import_order():
    items = sync.read_push_items([record(i) for i in (3, 0, 2, 1)], label_ids={"loaded_language"}, problems=[])
    assert [i.document.id for i in sync.order_items(items, "uncertainty")] == ["d0", "d1", "d2", "d3"]
    assert [i.document.id for i in sync.order_items(items, "input")] == ["d3", "d0", "d2", "d1"]
    shuffled = [i.document.id for i in sync.order_items(items, "random", seed=1)]
    assert sorted(shuffled) == ["d0", "d1", "d2", "d3"]
    assert shuffled == [i.document.id for i in sync.order_items(items, "random", seed=1)]
    with pytest.raises(ValueError, match="uncertainty"):
        sync.order_items(items, "alphabetical")


def exported_task(task_id=1, text="They blame 😀 Brussels."):
    doc = Document("doc-1", text, spans=[Span(5, 10, "blame_attribution", 0.8)])
    prediction = {"id": 11, "model_version": "v7", "result": prediction_result(doc)}
    human = prediction_result(Document("doc-1", text, spans=[Span(5, 21, "blame_attribution")]))
    return {
        "id": task_id,
        "data": {"text": text, KEY_FIELD: "doc-1"},
        "predictions": [prediction],
        "annotations": [
            {"id": 100, "completed_by": {"id": 1, "email": "a@x.org"}, "result": human, "was_cancelled": False,
             "ground_truth": True, "lead_time": 12.5, "created_at": "2026-11-27T10:00:00Z",
             "updated_at": "2026-11-27T10:05:00.123456Z", "parent_prediction": 11},
            {"id": 101, "completed_by": 7, "result": [], "was_cancelled": True, "lead_time": 1.0,
             "created_at": "2026-11-27T11:00:00Z", "updated_at": "2026-11-27T11:00:00Z"},
        ],
    }  # fmt: skip


def test_annotation_records_carry_provenance_and_exact_offsets():
    problems: list[str] = []
    first, skipped = sync.annotation_records(exported_task(), problems)
    assert problems == []
    text = first["text"]
    (span,) = first["spans"]
    assert text[span["start"] : span["end"]] == "blame 😀 Brussels"
    assert {k: first[k] for k in ("id", "annotator", "lead_time", "ground_truth", "prediction_model_version")} == {
        "id": "doc-1", "annotator": "a@x.org", "lead_time": 12.5, "ground_truth": True,
        "prediction_model_version": "v7",
    }  # fmt: skip
    assert skipped["was_cancelled"] and skipped["annotator"] == "user:7" and skipped["spans"] == []
    assert skipped["prediction_model_version"] is None
    document = sync.record_document(json.loads(json.dumps(first)))  # as read back from the JSONL file
    (span,) = document.spans
    assert (document.id, span.source, document.span_text(span)) == ("doc-1", "human:a@x.org", "blame 😀 Brussels")
    assert document.metadata["prediction_model_version"] == "v7" and not document.metadata["was_cancelled"]


def test_pull_writes_atomically_and_since_merges_only_changes(monkeypatch, tmp_path):
    tasks = [exported_task()]
    monkeypatch.setattr(sync, "require_project", lambda conn, title: {"id": 5})
    asked: list[str | None] = []

    def export(conn, project_id, updated_after=None):
        asked.append(updated_after)
        return json.loads(json.dumps(tasks))

    monkeypatch.setattr(sync, "export_tasks", export)
    conn = FakeConnection(FakeLabelStudio())
    out = tmp_path / "annotations" / "p.jsonl"
    report = sync.pull(conn, "p", out)
    assert (report.records, report.changed, report.cancelled) == (2, 2, 1)
    state = json.loads(sync.state_path(out).read_text())
    assert state["watermark"] == "2026-11-27T11:00:00.000000+00:00" and "token" not in json.dumps(state)

    tasks[0]["annotations"][0]["updated_at"] = "2026-11-28T09:00:00Z"
    tasks[0]["annotations"][0]["lead_time"] = 99.0
    report = sync.pull(conn, "p", out, since="last")
    assert (report.changed, report.records) == (1, 2)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["lead_time"] for r in lines] == [99.0, 1.0]
    assert asked == [None, "2026-11-27T11:00:00.000000+00:00"]  # --since exports only changed tasks

    # an export that fails half-way leaves the previous file untouched and no temporary file behind
    def broken(conn, project_id, updated_after=None):
        raise sync.LabelStudioError("export failed")

    monkeypatch.setattr(sync, "export_tasks", broken)
    before = out.read_bytes()
    with pytest.raises(sync.LabelStudioError):
        sync.pull(conn, "p", out)
    assert out.read_bytes() == before


def test_atomic_write_interrupted_midway_keeps_the_old_file(tmp_path):
    out = tmp_path / "x.jsonl"
    sync.write_jsonl_atomic(out, [{"a": 1}])

    def records():
        yield {"a": 2}
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sync.write_jsonl_atomic(out, records())
    assert out.read_text() == '{"a": 1}\n' and [p.name for p in tmp_path.iterdir()] == ["x.jsonl"]


def test_a_push_that_runs_out_of_retries_still_reports_created_updated_and_remaining():
    """Issue #19: a push gave up without saying how many tasks it had created."""
    fake = FakeLabelStudio()
    conn = FakeConnection(fake)
    conn.retry = RetryPolicy(attempts=2, first_wait=0, max_wait=0, total_seconds=5)
    calls = {"n": 0}
    real = fake.import_tasks

    def flaky(id, request, return_task_ids):
        calls["n"] += 1
        if calls["n"] > 1:  # the server goes away after the first batch
            raise httpx.ConnectError("connection refused")
        return real(id, request, return_task_ids)

    fake.projects_api.import_tasks = flaky
    report = sync.push(conn, [record(i) for i in range(7)], project="p", label_config=CONFIG, batch_size=3)
    assert (report.documents, report.tasks_created, report.predictions_added, report.remaining) == (7, 3, 0, 4)
    assert report.error and "did not answer after 2 attempts" in report.error
    assert "--retry-for" in report.error


def test_the_retry_window_is_a_time_not_a_number_of_attempts():
    policy = RetryPolicy.window(120)
    assert policy.total_seconds == 120 and policy.attempts is None
    assert RetryPolicy().total_seconds >= 90  # outlasts a server's first start (~40 s)
