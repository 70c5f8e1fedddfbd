"""Training jobs of the ML backend: one background worker, one job at a time, each job's state visible.

A job is ``queued``, then ``running`` (with its phase and progress), then ``done`` (with the new version and the
comparison) or ``failed`` (with the reason). A failure is logged as one line, never as a bare traceback in the
server log only. A request for a project that already has a queued job joins that job instead of queueing a
second identical one.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)

TrainCallback = Callable[..., Any]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class TrainingJob:
    id: int
    project: str | None
    state: str = "queued"
    queued_at: str = field(default_factory=_now)
    started_at: str | None = None
    finished_at: str | None = None
    phase: str | None = None
    done: int = 0
    total: int = 0
    result: dict[str, Any] | None = None
    error: str | None = None
    future: Future | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        record = {"id": self.id, "project": self.project, "state": self.state, "queued_at": self.queued_at,
                  "started_at": self.started_at, "finished_at": self.finished_at}
        if self.state == "running":
            record["progress"] = {"phase": self.phase, "done": self.done, "total": self.total}
        if self.result is not None:
            record["result"] = self.result
        if self.error is not None:
            record["error"] = self.error
        return record


def summarise_result(result: Any) -> dict[str, Any]:
    """What a finished job reports: the new version, whether it was promoted, the comparison."""
    if isinstance(result, Mapping):
        return dict(result)
    if hasattr(result, "new_version"):
        return {
            "new_version": result.new_version, "parent_version": result.parent_version,
            "promoted": result.promoted, "kept": result.kept, "metric": result.metric,
            "parent_value": round(result.parent_value, 4), "new_value": round(result.new_value, 4),
            "decision": result.evaluations.get("decision"), "label_changes": result.label_changes,
            "model_dir": str(result.new_dir) if result.new_dir else None,
        }
    return {"value": None if result is None else str(result)}


def _accepts_progress(callback: TrainCallback) -> bool:
    try:
        return "on_progress" in inspect.signature(callback).parameters
    except (TypeError, ValueError):
        return False


class TrainingQueue:
    """One background worker running training jobs in order; the webhook only submits."""

    def __init__(self, on_train: TrainCallback, on_finished: Callable[[Any], Any] | None = None) -> None:
        self.on_train = on_train
        self.on_finished = on_finished  # called with a job's result when it succeeded (e.g. load the new model)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="framing-train")
        self._jobs: list[TrainingJob] = []
        self._lock = threading.Lock()

    @property
    def jobs(self) -> list[Future]:
        return [job.future for job in self._jobs if job.future is not None]

    def submit(self, event: Mapping[str, Any]) -> TrainingJob:
        project = event.get("project")
        title = project.get("title") if isinstance(project, Mapping) else (str(project) if project else None)
        with self._lock:
            for job in self._jobs:
                if job.state == "queued" and job.project == title:
                    return job
            job = TrainingJob(id=len(self._jobs) + 1, project=title)
            self._jobs.append(job)
            job.future = self._executor.submit(self._run, job, dict(event))
            return job

    def get(self, job_id: int) -> TrainingJob | None:
        with self._lock:
            return next((job for job in self._jobs if job.id == job_id), None)

    def all(self) -> list[TrainingJob]:
        with self._lock:
            return list(self._jobs)

    def _progress(self, job: TrainingJob) -> Callable[[str, int, int], None]:
        def update(phase: str, done: int, total: int) -> None:
            job.phase, job.done, job.total = phase, int(done), int(total)

        return update

    def _run(self, job: TrainingJob, event: dict[str, Any]) -> Any:
        job.state, job.started_at = "running", _now()
        try:
            if _accepts_progress(self.on_train):
                result = self.on_train(event, on_progress=self._progress(job))
            else:
                result = self.on_train(event)
            job.result = summarise_result(result)
            if self.on_finished is not None:
                self.on_finished(result)
        except BaseException as error:  # noqa: BLE001 - the job's state must say it failed, whatever failed
            job.state, job.finished_at = "failed", _now()
            job.error = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            log.error("training job %d (project %s) failed: %s", job.id, job.project, job.error)
            raise
        job.state, job.finished_at = "done", _now()
        log.info("training job %d (project %s) done: %s", job.id, job.project, job.result.get("decision"))
        return result

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
