"""The Label Studio ML backend protocol, served with FastAPI: ``/health``, ``/setup``, ``/predict``, ``/webhook``,
plus ``/train`` and the training jobs' state (``/jobs``, ``/jobs/{id}``; see ``pipeline.labelstudio.jobs``).

The predictor (anything with ``.model_version`` and ``.annotate_many(documents)``, like
``pipeline.model.annotator.Annotator``) is loaded once by the caller and handed to ``create_app``. Model
calls are serialised by a lock, so concurrent requests are safe with a model that is not thread-safe.
A ``START_TRAINING`` webhook only enqueues a job on a single background worker and answers at once.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Protocol

from pipeline.document import Document, stable_id
from pipeline.labelstudio import convert
from pipeline.labelstudio.config import ConfigNames, config_names
from pipeline.labelstudio.jobs import TrainCallback, TrainingQueue

log = logging.getLogger(__name__)


class Predictor(Protocol):
    model_version: str

    def annotate_many(self, documents: Iterable[Document]) -> Iterator[Document]: ...


class TrainingUnavailable(RuntimeError):
    """No retraining is installed (``pipeline.retrain`` is missing)."""


def default_on_train(event: Mapping[str, Any], on_progress: Callable[[str, int, int], Any] | None = None,
                     **retrain_options: Any) -> Any:
    """Retrain from the project named in a ``START_TRAINING`` event: pull its corrections, warm-start a new
    version on the labels of its labeling config, compare, promote if not worse
    (``pipeline.retrain.retrain_from_project``, which takes ``retrain_options``); a version that is not promoted
    is not kept."""
    if importlib.util.find_spec("pipeline.retrain") is None:
        raise TrainingUnavailable(
            "retraining is not available: pipeline.retrain is not installed; retrain with `framing retrain` "
            "once it is, or start `framing ls serve` without training"
        )
    retrain = importlib.import_module("pipeline.retrain")
    project = event.get("project") or {}
    title = project.get("title") if isinstance(project, Mapping) else None
    if not title:
        raise ValueError("START_TRAINING event without a project title")
    return retrain.retrain_from_project(title, event=dict(event), on_progress=on_progress, **retrain_options)


def _training_available(on_train: TrainCallback) -> bool:
    uses_default = on_train is default_on_train or getattr(on_train, "func", None) is default_on_train
    return not uses_default or importlib.util.find_spec("pipeline.retrain") is not None


def task_document(task: Mapping[str, Any], text_field: str = convert.TEXT_FIELD) -> Document:
    """The document of a Label Studio task (its ``framing_id`` when it has one)."""
    data = task.get("data") or {}
    text = data.get(text_field)
    if not isinstance(text, str):
        raise ValueError(f"task {task.get('id')} has no text in data.{text_field}")
    return Document(str(data.get(convert.KEY_FIELD) or stable_id(text)), text)


def create_app(
    predictor: Predictor,
    *,
    on_train: TrainCallback | None = default_on_train,
    batch_size: int = 32,
    reload: Callable[[Any], Predictor] | None = None,
) -> Any:
    """The FastAPI app serving ``predictor`` to Label Studio. ``on_train=None`` disables training. ``reload``
    turns a finished job's model directory into the next predictor: after a promoted retrain the backend serves
    the new version without a restart."""
    from fastapi import Body, FastAPI, HTTPException
    from fastapi.responses import JSONResponse

    app = FastAPI(title="framing-pipeline ML backend", version=str(predictor.model_version))
    model_lock = threading.Lock()
    projects: dict[str, ConfigNames] = {}
    serving = {"predictor": predictor}

    def promoted(result: Any) -> None:
        if reload is None or not getattr(result, "promoted", False) or getattr(result, "new_dir", None) is None:
            return
        fresh = reload(result.new_dir)
        with model_lock:
            serving["predictor"] = fresh
        log.info("now serving model version %s", fresh.model_version)

    queue = TrainingQueue(on_train, on_finished=promoted) if on_train is not None else None
    app.state.training = queue
    app.router.add_event_handler("shutdown", lambda: queue.shutdown() if queue else None)

    def names_for(body: Mapping[str, Any]) -> ConfigNames:
        schema = body.get("label_config") or body.get("schema")
        if isinstance(schema, str) and schema.strip():
            try:
                return config_names(schema)
            except ValueError:
                pass
        return projects.get(str(body.get("project")), ConfigNames())

    @app.get("/")
    @app.get("/health")
    def health() -> dict[str, Any]:
        current = serving["predictor"]
        status = {"status": "UP", "model_class": type(current).__name__, "model_version": current.model_version}
        if queue is not None and queue.all():
            status["training"] = queue.all()[-1].to_dict()
        return status

    @app.post("/setup")
    def setup(body: dict[str, Any] = Body(default_factory=dict)) -> dict[str, Any]:
        schema = body.get("schema")
        if isinstance(schema, str) and schema.strip():
            try:
                projects[str(body.get("project"))] = config_names(schema)
            except ValueError as error:
                raise HTTPException(status_code=400, detail=str(error)) from None
        return {"model_version": serving["predictor"].model_version}

    @app.get("/versions")
    def versions() -> dict[str, Any]:
        return {"versions": [serving["predictor"].model_version]}

    @app.post("/predict")
    def predict(body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        tasks = body.get("tasks")
        if not isinstance(tasks, list):
            raise HTTPException(status_code=400, detail="expected {'tasks': [...]} in the request body")
        names = names_for(body)
        try:
            documents = [task_document(task, names.data_field) for task in tasks]
        except ValueError as error:
            raise HTTPException(status_code=400, detail=str(error)) from None
        results = []
        with model_lock:
            current = serving["predictor"]
            version = current.model_version
            annotated = list(current.annotate_many(documents))
        if len(annotated) != len(documents):
            raise HTTPException(status_code=500, detail="the model returned a different number of documents")
        for document in annotated:
            results.append(
                {
                    "result": convert.prediction_result(document, names=names),
                    "score": convert.document_confidence(document),
                    "model_version": version,
                }
            )
        return {"results": results, "model_version": version}

    def start_training(body: Mapping[str, Any]) -> Any:
        if queue is None or not _training_available(queue.on_train):
            message = (
                "training is not available from this backend: pipeline.retrain is not installed"
                if queue is not None
                else "training is disabled for this backend"
            )
            return JSONResponse(status_code=501, content={"status": "error", "detail": message})
        job = queue.submit(body)
        return JSONResponse(status_code=201, content={"status": "queued", "job": job.id,
                                                      "status_url": f"/jobs/{job.id}"})

    @app.post("/webhook")
    def webhook(body: dict[str, Any] = Body(default_factory=dict)) -> Any:
        action = body.get("action")
        if action != "START_TRAINING":
            return {"status": "ignored", "action": action}
        return start_training(body)

    @app.post("/train")
    def train(body: dict[str, Any] = Body(default_factory=dict)) -> Any:
        return start_training(body)

    @app.get("/jobs")
    def jobs() -> dict[str, Any]:
        return {"jobs": [job.to_dict() for job in queue.all()] if queue is not None else []}

    @app.get("/jobs/{job_id}")
    def job_status(job_id: int) -> dict[str, Any]:
        job = queue.get(job_id) if queue is not None else None
        if job is None:
            raise HTTPException(status_code=404, detail=f"no training job {job_id}")
        return job.to_dict()

    return app


def serve(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 9090,
    log_level: str = "info",
    on_started: Callable[[], Any] | None = None,
) -> None:
    """Run the app with uvicorn (blocking); ``on_started`` runs in a thread once the server accepts requests."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level=log_level))
    if on_started is not None:

        def when_started() -> None:
            while not server.started and not server.should_exit:
                time.sleep(0.1)
            if server.started:
                on_started()

        threading.Thread(target=when_started, name="framing-backend-started", daemon=True).start()
    server.run()
