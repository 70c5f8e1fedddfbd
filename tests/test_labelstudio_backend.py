"""The ML backend speaks Label Studio's protocol; training is queued, never run inside the request."""

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from pipeline.document import Document
from pipeline.labelstudio import backend
from pipeline.labelstudio.backend import create_app
from pipeline.labelstudio.convert import from_ls


class KeywordPredictor:
    """Marks every 'blame' as blame_attribution (score 0.9); notices if two calls ever overlap."""

    model_version = "keyword-1"

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.active = 0
        self.overlapped = False
        self.calls = 0

    def annotate_many(self, documents):
        self.active += 1
        self.overlapped |= self.active > 1
        self.calls += 1
        time.sleep(self.delay)
        try:
            for doc in documents:
                spans = [doc.span(m.start(), m.end(), "blame_attribution", score=0.9, source="model:keyword-1")
                         for m in re.finditer("blame", doc.text)]  # fmt: skip
                yield Document(doc.id, doc.text, spans=spans)
        finally:
            self.active -= 1


def predict_body(*texts):
    tasks = [{"id": i, "data": {"text": t}} for i, t in enumerate(texts)]
    return {"tasks": tasks, "project": "1.1", "label_config": ""}


def test_health_setup_and_predict():
    client = TestClient(create_app(KeywordPredictor(), on_train=None))
    assert client.get("/health").json()["status"] == "UP"
    assert client.post("/setup", json={"project": "1.1", "schema": ""}).json() == {"model_version": "keyword-1"}
    text = "🌍 They blame the West."
    response = client.post("/predict", json=predict_body(text, "Nothing here.")).json()
    first, second = response["results"]
    (region,) = first["result"]
    assert region["value"]["labels"] == ["blame_attribution"] and region["value"]["text"] == "blame"
    assert region["value"]["start"] == text.index("blame") + 1  # UTF-16: the globe emoji counts twice
    assert first["model_version"] == "keyword-1" and first["score"] == pytest.approx(0.8)
    assert second["result"] == [] and second["score"] == 1.0


def test_predict_uses_the_control_names_of_the_projects_config():
    schema = (
        '<View><Labels name="tag" toName="body"><Label value="blame_attribution"/></Labels>'
        '<Text name="body" value="$content"/></View>'
    )
    client = TestClient(create_app(KeywordPredictor(), on_train=None))
    body = {"tasks": [{"id": 1, "data": {"content": "blame"}}], "label_config": schema}
    (region,) = client.post("/predict", json=body).json()["results"][0]["result"]
    assert (region["from_name"], region["to_name"]) == ("tag", "body")


def test_bad_predict_requests_get_a_400_that_says_why():
    client = TestClient(create_app(KeywordPredictor(), on_train=None))
    assert client.post("/predict", json={"nope": 1}).status_code == 400
    response = client.post("/predict", json={"tasks": [{"id": 5, "data": {"image": "x.png"}}]})
    assert response.status_code == 400 and "task 5" in response.json()["detail"]


def test_start_training_is_queued_and_answered_at_once():
    release = threading.Event()
    started = []

    def slow_training(event):
        started.append(event["project"]["title"])
        release.wait(10)
        return "done"

    app = create_app(KeywordPredictor(), on_train=slow_training)
    client = TestClient(app)
    t0 = time.monotonic()
    response = client.post("/webhook", json={"action": "START_TRAINING", "project": {"id": 3, "title": "news"}})
    assert response.status_code == 201 and response.json()["status"] == "queued"
    assert time.monotonic() - t0 < 2  # the request did not wait for training
    release.set()
    assert app.state.training.jobs[0].result(timeout=10) == "done"
    assert client.get(f"/jobs/{response.json()['job']}").json()["state"] == "done"
    assert started == ["news"]
    assert client.post("/webhook", json={"action": "ANNOTATION_CREATED"}).json()["status"] == "ignored"


def test_training_without_a_retrain_module_answers_501(monkeypatch):
    real_find_spec = backend.importlib.util.find_spec
    monkeypatch.setattr(
        backend.importlib.util, "find_spec", lambda name: None if name == "pipeline.retrain" else real_find_spec(name)
    )
    client = TestClient(create_app(KeywordPredictor()))
    response = client.post("/webhook", json={"action": "START_TRAINING", "project": {"id": 1}})
    assert response.status_code == 501 and "pipeline.retrain" in response.json()["detail"]
    with pytest.raises(backend.TrainingUnavailable):
        backend.default_on_train({"project": {"id": 1}})
    disabled = TestClient(create_app(KeywordPredictor(), on_train=None))
    assert disabled.post("/webhook", json={"action": "START_TRAINING"}).status_code == 501


def test_concurrent_predictions_never_run_the_model_at_the_same_time():
    predictor = KeywordPredictor(delay=0.02)
    client = TestClient(create_app(predictor, on_train=None))
    texts = [f"blame number {i} " * (i + 1) for i in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda t: client.post("/predict", json=predict_body(t)).json(), texts))
    assert predictor.calls == 8 and not predictor.overlapped
    assert [len(r["results"][0]["result"]) for r in responses] == [i + 1 for i in range(8)]


@pytest.mark.slow
def test_framing_ls_serve_loads_the_real_annotator_once_and_serves_its_predictions(trained_model, monkeypatch):
    from click.testing import CliRunner

    from pipeline.cli import cli
    from pipeline.model.annotator import Annotator

    served, loads = {}, []
    real_load = Annotator.load
    monkeypatch.setattr(Annotator, "load", classmethod(lambda cls, d=None, **o: loads.append(d) or real_load(d, **o)))
    monkeypatch.setattr(backend, "serve", lambda app, **options: served.update(app=app, **options))
    result = CliRunner().invoke(cli, ["ls", "serve", "--model", str(trained_model), "--port", "9876", "--no-train"])
    assert result.exit_code == 0, result.output
    assert (served["host"], served["port"], served["on_started"]) == ("127.0.0.1", 9876, None)
    client = TestClient(served["app"])
    text = "The corrupt regime lied to everyone again. 🌍 Officials met on Monday."
    version = client.get("/health").json()["model_version"]
    for _ in range(2):
        (prediction,) = client.post("/predict", json=predict_body(text)).json()["results"]
        assert prediction["model_version"] == version and 0.0 <= prediction["score"] <= 1.0
        for region in prediction["result"]:
            if region["type"] == "labels":
                span = from_ls(text, [region]).spans[0]
                assert text[span.start : span.end] == region["value"]["text"]
    assert len(loads) == 1  # loaded once at start-up, not per request
    assert client.post("/webhook", json={"action": "START_TRAINING"}).status_code == 501


def test_default_training_warm_starts_from_the_projects_corrections(monkeypatch):
    import pipeline.retrain

    calls = []
    monkeypatch.setattr(pipeline.retrain, "retrain_from_project",
                        lambda title, **options: calls.append((title, sorted(options))) or "new")
    assert backend.default_on_train({"action": "START_TRAINING", "project": {"id": 4, "title": "news"}}) == "new"
    assert calls == [("news", ["event", "on_progress"])]
    with pytest.raises(ValueError, match="project title"):
        backend.default_on_train({"action": "START_TRAINING"})


class FinishedRetrain:
    def __init__(self, new_dir, promoted=True):
        self.new_dir, self.promoted, self.kept = new_dir, promoted, promoted
        self.new_version, self.parent_version, self.metric = "keyword-2", "keyword-1", "span_f1"
        self.parent_value, self.new_value = 0.4, 0.5
        self.evaluations = {"decision": "promoted: span_f1 0.5000 (new) vs 0.4000 (parent keyword-1)"}
        self.label_changes = {"corrections_heldout": {"blame_attribution": {"sentence_f1": 0.5}}}


def wait_for(client, job, states=("done", "failed"), seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = client.get(f"/jobs/{job}").json()
        if status["state"] in states:
            return status
        time.sleep(0.02)
    raise AssertionError(f"job {job} still {status['state']} after {seconds} s")


def test_training_jobs_show_their_state_and_a_promoted_version_is_served_without_restart(caplog):
    release, progressed = threading.Event(), threading.Event()

    def training(event, on_progress=None):
        on_progress("training", 3, 10)
        progressed.set()
        release.wait(10)
        if event["project"]["title"] == "broken":
            raise ValueError("no usable (non-cancelled) annotations to train on")
        return FinishedRetrain("/models/keyword-2")

    class Renamed(KeywordPredictor):
        model_version = "keyword-2"

    loaded = []
    app = create_app(KeywordPredictor(), on_train=training, reload=lambda d: loaded.append(d) or Renamed())
    client = TestClient(app)
    first = client.post("/train", json={"project": {"id": 3, "title": "news"}}).json()
    assert first["status"] == "queued" and first["status_url"] == f"/jobs/{first['job']}"
    assert progressed.wait(5)
    running = client.get(f"/jobs/{first['job']}").json()
    assert running["state"] == "running" and running["progress"] == {"phase": "training", "done": 3, "total": 10}
    second = client.post("/webhook", json={"action": "START_TRAINING", "project": {"id": 4, "title": "broken"}})
    again = client.post("/webhook", json={"action": "START_TRAINING", "project": {"id": 4, "title": "broken"}})
    assert second.json()["job"] == again.json()["job"]  # a queued job is joined, not queued twice
    assert client.get(f"/jobs/{second.json()['job']}").json()["state"] == "queued"
    release.set()
    done = wait_for(client, first["job"])
    assert done["state"] == "done" and done["result"]["new_version"] == "keyword-2" and done["result"]["promoted"]
    assert loaded == ["/models/keyword-2"]
    assert client.get("/health").json()["model_version"] == "keyword-2"
    (result,) = client.post("/predict", json=predict_body("blame")).json()["results"]
    assert result["model_version"] == "keyword-2"
    with caplog.at_level("ERROR", logger="pipeline.labelstudio.jobs"):
        failed = wait_for(client, second.json()["job"])
    assert failed["state"] == "failed" and "no usable" in failed["error"]
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [
        f"training job {failed['id']} (project broken) failed: ValueError: no usable (non-cancelled) annotations "
        "to train on"]
    assert all(r.exc_info is None for r in caplog.records)  # one line, no traceback
    assert [job["state"] for job in client.get("/jobs").json()["jobs"]] == ["done", "failed"]
    assert client.get("/jobs/99").status_code == 404


def test_a_rejected_version_is_not_served():
    app = create_app(KeywordPredictor(), on_train=lambda event: FinishedRetrain(None, promoted=False),
                     reload=lambda d: pytest.fail("a rejected version must not be loaded"))
    client = TestClient(app)
    job = client.post("/train", json={"project": {"title": "news"}}).json()["job"]
    assert wait_for(client, job)["state"] == "done"
    assert client.get("/health").json()["model_version"] == "keyword-1"


class ManyLabelsPredictor:
    """Marks 'corrupt' as loaded_language, 'regime' as delegitimation and name_calling, and 'blame' as
    blame_attribution with its actor ('Brussels')."""

    model_version = "many-1"

    def annotate_many(self, documents):
        for doc in documents:
            spans = []
            for word, labels in (("corrupt", ["loaded_language"]), ("regime", ["delegitimation", "name_calling"])):
                for m in re.finditer(word, doc.text):
                    spans += [doc.span(m.start(), m.end(), label, score=0.9, source="model:many-1") for label in labels]
            for m in re.finditer("blame", doc.text):
                actor = doc.text.index("Brussels")
                spans.append(doc.span(m.start(), m.end(), "blame_attribution", score=0.8, source="model:many-1",
                                      attributes={"actor": {"start": actor, "end": actor + 8}}))
            yield Document(doc.id, doc.text, spans=spans)


def test_predict_offers_only_the_labels_of_the_projects_config():
    """Issue #19: a project whose config has only loaded_language got blame, delegitimation and name-calling."""
    only_loaded = ('<View><Labels name="label" toName="text"><Label value="loaded_language"/></Labels>'
                   '<Text name="text" value="$text"/></View>')
    client = TestClient(create_app(ManyLabelsPredictor(), on_train=None))
    assert client.post("/setup", json={"project": "7.1", "schema": only_loaded}).status_code == 200
    text = "They blame Brussels, the corrupt regime."
    body = {"tasks": [{"id": 1, "data": {"text": text}}], "project": "7.1"}
    result = client.post("/predict", json=body).json()["results"][0]["result"]
    assert [item["value"]["labels"] for item in result] == [["loaded_language"]]

    # a config that has blame and actor gets both, with their relation; one project's config is not another's
    with_blame = only_loaded.replace('<Label value="loaded_language"/>',
                                     '<Label value="blame_attribution"/><Label value="actor"/>')
    client.post("/setup", json={"project": "8.1", "schema": with_blame})
    result = client.post("/predict", json={**body, "project": "8.1"}).json()["results"][0]["result"]
    assert sorted(item.get("type") for item in result) == ["labels", "labels", "relation"]
    converted = from_ls(text, result)
    assert [(s.label, text[s.attributes["actor"]["start"]:s.attributes["actor"]["end"]]) for s in converted.spans] \
        == [("blame_attribution", "Brussels")]
