"""Push annotated documents to Label Studio as tasks with predictions; pull human annotations back.

Push is idempotent: each task carries the document id (``data.framing_id``) and a hash of its text, and
push looks the project's tasks up once (one paginated listing) before importing. A document already there
gets a prediction only when its model version is new; a document whose text changed is reported, not
duplicated. When a batch fails half-way (server restarted, 5xx) it is retried with back-off after
re-reading the project's tasks, so a retried batch never imports a document twice.

Pull uses a snapshot export (full prediction and user objects) and writes stand-off records atomically.
"""

from __future__ import annotations

import json
import logging
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.document import Document, OffsetError
from pipeline.errors import InputError
from pipeline.labelstudio import convert
from pipeline.labelstudio.client import Connection, LabelStudioError
from pipeline.labelstudio.config import config_label_ids

log = logging.getLogger(__name__)

ORDERS = ("uncertainty", "random", "input")
LIST_PAGE_SIZE = 1000


# -- projects --------------------------------------------------------------------------------------------
def find_project(conn: Connection, title: str) -> dict[str, Any] | None:
    """The project whose title is exactly ``title`` (the API's title filter matches substrings)."""
    found = conn.request(
        "GET", "/api/projects/", f"looking up project {title!r}", params={"title": title, "page_size": 1000}
    )
    matches = [p for p in (found or {}).get("results", []) if p.get("title") == title]
    if len(matches) > 1:
        ids = ", ".join(str(p["id"]) for p in matches)
        raise LabelStudioError(f"{len(matches)} projects are named {title!r} (ids {ids}): rename all but one")
    return matches[0] if matches else None


def require_project(conn: Connection, title: str) -> dict[str, Any]:
    project = find_project(conn, title)
    if project is None:
        raise LabelStudioError(f"there is no project named {title!r} on {conn.settings.url}")
    return project


def ensure_project(conn: Connection, title: str, label_config: str) -> tuple[int, bool]:
    """The id of the project named ``title``, created if needed; its labeling config is brought up to date.

    Returns ``(project_id, created)``. A config that drops labels still used by annotations is refused, as the
    Label Studio UI refuses it (its strict validation), with a ``LabelStudioError`` giving Label Studio's reason;
    the project and its annotations are then left as they were.
    """
    project = find_project(conn, title)
    if project is None:
        created = conn.call(
            f"creating project {title!r}", conn.sdk.projects.create, title=title, label_config=label_config
        )
        return int(created.id), True
    project_id = int(project["id"])
    current = conn.request("GET", f"/api/projects/{project_id}/", f"reading project {title!r}")
    if _squash(current.get("label_config", "")) != _squash(label_config):
        try:
            # the strict check the Label Studio UI runs before saving (the plain update would accept a config
            # that no longer shows labels used by existing annotations)
            conn.call(
                f"checking the new labeling config of project {title!r}",
                conn.sdk.projects.validate_label_config,
                id=project_id,
                label_config=label_config,
            )
            conn.call(
                f"updating the labeling config of project {title!r}",
                conn.sdk.projects.update,
                id=project_id,
                label_config=label_config,
            )
        except LabelStudioError as error:
            raise LabelStudioError(
                f"Label Studio refuses the new labeling config for project {title!r} (existing annotations are "
                f"kept unchanged): {error}"
            ) from None
        log.info("updated the labeling config of project %r", title)
    return project_id, False


def _squash(xml: str) -> str:
    return "".join(line.strip() for line in xml.splitlines())


# -- the task index --------------------------------------------------------------------------------------
@dataclass
class TaskEntry:
    task_id: int
    text_hash: str | None
    versions: set[str] = field(default_factory=set)


@dataclass
class TaskIndex:
    """The project's tasks by document key, from one paginated listing."""

    by_key: dict[str, TaskEntry] = field(default_factory=dict)
    duplicates: dict[str, list[int]] = field(default_factory=dict)
    without_key: int = 0


def load_index(conn: Connection, project_id: int, *, retry: bool = True) -> TaskIndex:
    """Every task of the project by ``data.framing_id``; ``retry=False`` lets errors through unchanged."""
    index = TaskIndex()
    page, seen = 1, 0
    while True:
        params = {
            "project": project_id,
            "fields": "all",
            "include": "id,data,predictions_model_versions",
            "page": page,
            "page_size": LIST_PAGE_SIZE,
        }
        body = conn.request("GET", "/api/tasks", f"listing tasks of project {project_id}", retry=retry, params=params)
        tasks = (body or {}).get("tasks") or []
        seen += len(tasks)
        for task in tasks:
            data = task.get("data") or {}
            key = data.get(convert.KEY_FIELD)
            if not key:
                index.without_key += 1
                continue
            versions = {v for v in (task.get("predictions_model_versions") or "").split(",") if v}
            entry = TaskEntry(int(task["id"]), data.get(convert.HASH_FIELD), versions)
            if key in index.by_key:
                index.duplicates.setdefault(key, [index.by_key[key].task_id]).append(entry.task_id)
                continue
            index.by_key[key] = entry
        if not tasks or seen >= int((body or {}).get("total") or 0):
            return index
        page += 1


# -- push ------------------------------------------------------------------------------------------------
@dataclass
class PushItem:
    where: str
    document: Document
    model_version: str


@dataclass
class PushReport:
    project_id: int
    project_created: bool = False
    documents: int = 0
    tasks_created: int = 0
    predictions_added: int = 0
    unchanged: int = 0
    remaining: int = 0  # documents not pushed because the server failed (``error`` says how)
    problems: list[str] = field(default_factory=list)
    error: str | None = None


def read_push_items(
    records: Iterable[tuple[str, Mapping[str, Any]]],
    *,
    label_ids: Iterable[str],
    model_version: str | None = None,
    problems: list[str],
) -> list[PushItem]:
    """Annotated-output records -> push items; bad records go to ``problems`` (with where they were)."""
    known = set(label_ids)
    items: list[PushItem] = []
    first_seen: dict[str, str] = {}
    for where, record in records:
        try:
            document = Document.from_dict(record)
        except (OffsetError, KeyError, TypeError, ValueError) as error:
            problems.append(f"{where}: not an annotated document: {error}")
            continue
        version = model_version or record.get("model_version")
        if not version or not isinstance(version, str):
            problems.append(f"{where}: document {document.id!r} has no model_version (give --model-version)")
            continue
        predicted = tuple(s for s in document.spans if s.label and (not s.source or s.source.startswith("model")))
        unknown = sorted({s.label for s in predicted if s.label not in known})
        if unknown:
            problems.append(
                f"{where}: document {document.id!r} has span labels that are not in the labeling config: "
                f"{', '.join(unknown)} (is the taxonomy the one the model was trained with?)"
            )
            continue
        if document.id in first_seen:
            problems.append(f"{where}: document id {document.id!r} appears again (first at {first_seen[document.id]})")
            continue
        first_seen[document.id] = where
        items.append(PushItem(where, document.with_spans(predicted), version))
    return items


def order_items(items: list[PushItem], order: str, seed: int = 0) -> list[PushItem]:
    """Import order: least confident first (``uncertainty``), shuffled (``random``) or as read (``input``)."""
    if order == "uncertainty":
        return sorted(items, key=lambda item: convert.document_confidence(item.document))
    if order == "random":
        shuffled = list(items)
        random.Random(seed).shuffle(shuffled)
        return shuffled
    if order == "input":
        return list(items)
    raise ValueError(f"unknown order {order!r}; choose one of {', '.join(ORDERS)}")


def push(
    conn: Connection,
    records: Iterable[tuple[str, Mapping[str, Any]]],
    *,
    project: str,
    label_config: str,
    model_version: str | None = None,
    order: str = "uncertainty",
    batch_size: int = 250,
    seed: int = 0,
    progress: Callable[[int], Any] | None = None,
) -> PushReport:
    """Push annotated-output records to project ``project`` (see the module docstring).

    ``records`` yields ``(where, record)`` pairs; ``where`` names the record in messages ("file:line").
    ``progress`` is called with the number of documents each finished batch handled.
    """
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}; choose one of {', '.join(ORDERS)}")
    report = PushReport(0)
    items = read_push_items(
        records, label_ids=config_label_ids(label_config), model_version=model_version, problems=report.problems
    )
    report.documents = report.remaining = len(items)
    try:
        _push_items(conn, items, report, project=project, label_config=label_config, order=order,
                    batch_size=batch_size, seed=seed, progress=progress)
    except LabelStudioError as error:  # the counts so far still go to the user, with what failed
        report.error = str(error)
    return report


def _push_items(conn: Connection, items: list[PushItem], report: PushReport, *, project: str, label_config: str,
                order: str, batch_size: int, seed: int, progress: Callable[[int], Any] | None) -> None:
    project_id, created = ensure_project(conn, project, label_config)
    report.project_id, report.project_created = project_id, created
    index = load_index(conn, project_id)
    for key, ids in index.duplicates.items():
        report.problems.append(f"project {project!r} already holds {len(ids)} tasks for document {key!r} (ids {ids})")
    pending: list[PushItem] = []
    for item in order_items(items, order, seed):
        entry = index.by_key.get(item.document.id)
        if entry is not None and entry.text_hash not in (None, convert.text_hash(item.document.text)):
            report.problems.append(
                f"{item.where}: document {item.document.id!r} has different text from its task {entry.task_id} in "
                f"{project!r}; not pushed (give the changed document a new id, or delete the task)"
            )
        elif entry is not None and item.model_version in entry.versions:
            report.unchanged += 1
            report.remaining -= 1
            if progress:
                progress(1)
        else:
            pending.append(item)
    report.remaining -= len(items) - report.unchanged - len(pending)  # documents refused above
    versions: set[str] = set()
    for start in range(0, len(pending), batch_size):
        batch = pending[start : start + batch_size]
        _push_batch(conn, project_id, batch, index, report)
        versions.update(item.model_version for item in batch)
        if progress:
            progress(len(batch))
    if versions:
        latest = pending[-1].model_version if len(versions) > 1 else next(iter(versions))
        # the data manager's prediction-score column and the labeling view follow the project's model version
        conn.call(
            f"setting the model version of project {project!r}",
            conn.sdk.projects.update,
            id=project_id,
            model_version=latest,
        )


def _push_batch(conn: Connection, project_id: int, batch: list[PushItem], index: TaskIndex, report: PushReport) -> None:
    """Import the batch's new documents and add missing predictions, safely retryable as a whole; the report's
    counts follow each step that succeeded, also when a later one fails."""
    attempts = 0

    def attempt() -> None:
        nonlocal attempts
        attempts += 1
        if attempts > 1:  # the last try may have half-happened: look again before writing anything
            index.by_key.update(load_index(conn, project_id, retry=False).by_key)
        new = [item for item in batch if item.document.id not in index.by_key]
        stale = [
            item
            for item in batch
            if item.document.id in index.by_key and item.model_version not in index.by_key[item.document.id].versions
        ]
        if new:
            tasks = [convert.to_ls(item.document, item.model_version) for item in new]
            response = conn.sdk.projects.import_tasks(id=project_id, request=tasks, return_task_ids=True)
            task_ids = list(response.task_ids or [])
            if len(task_ids) != len(new):
                raise LabelStudioError(
                    f"importing {len(new)} tasks into project {project_id}: "
                    f"Label Studio reported {len(task_ids)} task ids"
                )
            for item, task_id in zip(new, task_ids, strict=True):
                index.by_key[item.document.id] = TaskEntry(
                    task_id, convert.text_hash(item.document.text), {item.model_version}
                )
            report.tasks_created += len(new)
            report.remaining -= len(new)
        if stale:
            predictions = [
                {
                    "task": index.by_key[item.document.id].task_id,
                    **convert.prediction(item.document, item.model_version),
                }
                for item in stale
            ]
            conn.sdk.projects.import_predictions(id=project_id, request=predictions)
            for item in stale:
                index.by_key[item.document.id].versions.add(item.model_version)
            report.predictions_added += len(stale)
            report.remaining -= len(stale)

    conn.call(f"pushing {len(batch)} documents to project {project_id}", attempt)


# -- export and pull -------------------------------------------------------------------------------------
def export_tasks(conn: Connection, project_id: int, *, poll_seconds: float = 0.2, timeout: float = 600.0,
                 updated_after: str | None = None) -> list[dict]:
    """All tasks that have annotations (skipped ones included), with full prediction and annotator objects;
    with ``updated_after`` (an ISO timestamp) only the tasks changed after it (Label Studio moves a task's
    ``updated_at`` whenever one of its annotations is saved or deleted), selected on the server through a
    temporary Data Manager view, so that an incremental pull exports only what changed."""
    sdk = conn.sdk
    title = f"framing pull {datetime.now(UTC).isoformat(timespec='seconds')}"
    task_filter: dict[str, Any] = {"only_with_annotations": True}
    view_id = None
    if updated_after is not None:
        view_id = _changed_tasks_view(conn, project_id, updated_after)
        task_filter["view"] = view_id
    export = conn.call(
        f"starting an export of project {project_id}",
        sdk.projects.exports.create,
        project_id,
        title=title,
        task_filter_options=task_filter,
        annotation_filter_options={"usual": True, "ground_truth": True, "skipped": True},
        serialization_options={"predictions": {"only_id": False}, "annotations__completed_by": {"only_id": False}},
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            state = conn.call("waiting for the export", sdk.projects.exports.get, project_id, export.id)
            if state.status == "completed":
                break
            if state.status == "failed" or time.monotonic() > deadline:
                raise LabelStudioError(f"the export of project {project_id} {state.status or 'timed out'}")
            time.sleep(poll_seconds)
        data = conn.call(
            "downloading the export",
            lambda: b"".join(sdk.projects.exports.download(project_id, export.id, export_type="JSON")),
        )
    finally:
        try:
            sdk.projects.exports.delete(project_id, export.id)
        except Exception:  # a leftover snapshot on the server is harmless
            log.debug("could not delete export %s of project %s", export.id, project_id)
        if view_id is not None:
            try:
                conn.request("DELETE", f"/api/dm/views/{view_id}/", "removing the pull's view", retry=False)
            except Exception:  # a leftover tab in the Data Manager is harmless
                log.debug("could not delete view %s of project %s", view_id, project_id)
    tasks = json.loads(data)
    if not isinstance(tasks, list):
        raise LabelStudioError(f"the export of project {project_id} is not a list of tasks")
    return tasks


def _changed_tasks_view(conn: Connection, project_id: int, updated_after: str) -> int:
    """A Data Manager view (tab) of the project's tasks updated after ``updated_after``; returns its id."""
    view = conn.request(
        "POST", "/api/dm/views/", f"selecting the tasks of project {project_id} changed since {updated_after}",
        json={
            "project": project_id,
            "data": {
                "title": "framing pull --since",
                "filters": {
                    "conjunction": "and",
                    "items": [{"filter": "filter:tasks:updated_at", "operator": "greater", "type": "Datetime",
                               "value": _dm_time(updated_after)}],
                },
            },
        },
    )
    return int(view["id"])


def _dm_time(value: str) -> str:
    """A timestamp as the Data Manager's date filters parse it (UTC, ``%Y-%m-%dT%H:%M:%S.%fZ``)."""
    moment = datetime.fromisoformat(_normalise_time(value))
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def annotator_name(completed_by: Any) -> str:
    if isinstance(completed_by, Mapping):
        return str(completed_by.get("email") or completed_by.get("username") or f"user:{completed_by.get('id')}")
    return f"user:{completed_by}"


def annotation_records(task: Mapping[str, Any], problems: list[str] | None = None) -> Iterator[dict[str, Any]]:
    """One stand-off record per annotation of an exported task (see ``pull``)."""
    data = task.get("data") or {}
    text = data.get(convert.TEXT_FIELD)
    if not isinstance(text, str):
        if problems is not None:
            problems.append(f"task {task.get('id')}: no text field")
        return
    versions = {p.get("id"): p.get("model_version") for p in task.get("predictions") or () if isinstance(p, Mapping)}
    for annotation in task.get("annotations") or ():
        annotator = annotator_name(annotation.get("completed_by"))
        converted = convert.from_ls(text, annotation.get("result"), source=f"human:{annotator}")
        if problems is not None:
            problems.extend(
                f"task {task.get('id')}, annotation {annotation.get('id')}: {p}" for p in converted.problems
            )
        parent = annotation.get("parent_prediction")
        seen = annotation.get("prediction") if isinstance(annotation.get("prediction"), Mapping) else {}
        record = {
            "id": data.get(convert.KEY_FIELD) or f"ls-task-{task.get('id')}",
            "text": text,
            "task_id": task.get("id"),
            "annotation_id": annotation.get("id"),
            "annotator": annotator,
            "created_at": annotation.get("created_at"),
            "updated_at": annotation.get("updated_at"),
            "lead_time": annotation.get("lead_time"),
            "was_cancelled": bool(annotation.get("was_cancelled")),
            "ground_truth": bool(annotation.get("ground_truth")),
            "prediction_model_version": seen.get("model_version") or versions.get(parent),
            "spans": [convert.span_record(span) for span in converted.spans],
            "choices": converted.choices,
        }
        if converted.problems:
            record["problems"] = converted.problems
        if converted.orphan_actors:  # dropped: an actor belongs to a blame span, and this one's was deleted
            record["orphan_actors_dropped"] = len(converted.orphan_actors)
        yield record


def record_document(record: Mapping[str, Any]) -> Document:
    """A pulled record as a ``Document`` (training data): its spans carry ``source="human:<annotator>"`` and
    the metadata keeps the provenance (annotation id, times, skipped, the model version the annotator saw)."""
    source = f"human:{record.get('annotator')}"
    provenance = ("annotation_id", "task_id", "annotator", "created_at", "updated_at", "lead_time",
                  "was_cancelled", "ground_truth", "prediction_model_version", "choices")  # fmt: skip
    document = Document(str(record["id"]), record["text"], {key: record.get(key) for key in provenance})
    return document.with_spans(
        document.span(s["start"], s["end"], s.get("label"), source=source, attributes=s.get("attributes") or {})
        for s in record.get("spans") or ()
    )


@dataclass
class PullReport:
    project_id: int
    records: int = 0
    changed: int = 0
    cancelled: int = 0
    since: str | None = None
    watermark: str | None = None
    tasks_exported: int = 0
    orphan_actors: int = 0  # actor regions linked to no blame span, dropped
    problems: list[str] = field(default_factory=list)


def default_pull_path(project: str) -> Path:
    """Where pulled annotations go by default: ``annotations/labelstudio/<project>.jsonl`` in the project."""
    from pipeline.labelstudio.client import project_root

    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in project).strip("._") or "project"
    return project_root() / "annotations" / "labelstudio" / f"{name}.jsonl"


def state_path(out: Path) -> Path:
    return out.with_name(out.name + ".state.json")


def pull(conn: Connection, project: str, out: str | os.PathLike[str], *, since: str | None = None) -> PullReport:
    """Export the project's annotations to ``out`` (JSONL, written atomically).

    ``since``: ``"last"`` pulls only annotations changed after the previous pull's watermark (kept in
    ``<out>.state.json``) and merges them into ``out``; an ISO timestamp does the same from that time;
    ``None`` rewrites ``out`` with everything. Deleting an annotation in Label Studio is only noticed by a
    full pull.
    """
    out = Path(out)
    project_id = int(require_project(conn, project)["id"])
    state_file = state_path(out)
    cutoff: str | None = None
    tasks_cutoff: str | None = None  # tasks updated after it hold every annotation changed after ``cutoff``
    if since == "last":
        if state_file.exists() and out.exists():
            state = json.loads(state_file.read_text(encoding="utf-8"))
            if state.get("project_id") == project_id:
                cutoff = state.get("watermark")
                tasks_cutoff = state.get("tasks_watermark") or cutoff
    elif since:
        cutoff = tasks_cutoff = _normalise_time(since)
    report = PullReport(project_id, since=cutoff)
    # Saving an annotation moves its task's updated_at a moment past the annotation's own, so the server-side
    # selection uses the newest task time the last export saw, and the annotations are then picked by theirs.
    tasks = export_tasks(conn, project_id, updated_after=tasks_cutoff if cutoff else None)
    report.tasks_exported = len(tasks)
    task_times = [_normalise_time(t["updated_at"]) for t in tasks if isinstance(t.get("updated_at"), str)]
    tasks_watermark = max([*task_times, *([tasks_cutoff] if tasks_cutoff else [])], default=None)
    fresh = [record for task in tasks for record in annotation_records(task, report.problems)]
    watermark = max((r["updated_at"] or "" for r in fresh), default=None) or (cutoff if cutoff else None)
    if cutoff:
        fresh = [r for r in fresh if _normalise_time(r["updated_at"] or "") > cutoff]
        merged = {r["annotation_id"]: r for r in read_jsonl(out)} if out.exists() else {}
    else:
        merged = {}
    report.changed = len(fresh)
    report.orphan_actors = sum(r.get("orphan_actors_dropped", 0) for r in fresh)
    merged.update((r["annotation_id"], r) for r in fresh)
    records = sorted(merged.values(), key=lambda r: (r.get("task_id") or 0, r.get("annotation_id") or 0))
    report.records = len(records)
    report.cancelled = sum(1 for r in records if r.get("was_cancelled"))
    report.watermark = _normalise_time(watermark) if watermark else None
    write_jsonl_atomic(out, records)
    write_json_atomic(
        state_file,
        {"project": project, "project_id": project_id, "watermark": report.watermark,
         "tasks_watermark": tasks_watermark, "url": conn.settings.url},
    )
    return report


def _normalise_time(value: str) -> str:
    """An ISO timestamp in UTC with microseconds, so that timestamps compare correctly as strings."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"--since: {value!r} is not an ISO date or timestamp (e.g. 2026-11-27T10:00:00)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except ValueError as error:
                    raise InputError(f"{path}:{number}: not valid JSON: {error}") from None


def write_jsonl_atomic(path: Path, records: Iterable[Mapping[str, Any]]) -> None:
    """Write JSONL through a temporary file in the same directory and rename it: never a partial file."""
    _write_atomic(path, lambda handle: handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def write_json_atomic(path: Path, value: Any) -> None:
    _write_atomic(path, lambda handle: json.dump(value, handle, ensure_ascii=False, indent=2))


def _write_atomic(path: Path, write: Callable[[Any], Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes it private; training data is an ordinary file
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# -- status ----------------------------------------------------------------------------------------------
def project_summaries(conn: Connection, project: str | None = None) -> list[dict[str, Any]]:
    """Per project: tasks, annotated tasks, annotations, skipped annotations and predictions per version."""
    if project is not None:
        projects = [require_project(conn, project)]
    else:
        body = conn.request("GET", "/api/projects/", "listing projects", params={"page_size": 1000})
        projects = (body or {}).get("results", [])
    summaries = []
    for item in projects:
        project_id = item["id"]
        versions = conn.request("GET", f"/api/projects/{project_id}/model-versions/", "counting predictions") or {}
        summaries.append(
            {
                "name": item.get("title"),
                "id": project_id,
                "tasks": item.get("task_number") or 0,
                "annotated_tasks": item.get("num_tasks_with_annotations") or 0,
                "annotations": item.get("total_annotations_number") or 0,
                "skipped_annotations": item.get("skipped_annotations_number") or 0,
                "predictions": {str(k): int(v) for k, v in versions.items()} if isinstance(versions, dict) else {},
            }
        )
    return summaries


# -- ML backend registration -----------------------------------------------------------------------------
def register_backend(conn: Connection, project: str, url: str, *, title: str = "framing-pipeline") -> int:
    """Connect the ML backend at ``url`` to the project (once) and let Label Studio ask it for predictions
    of tasks that have none when they are opened. Returns the ML backend's id."""
    project_id = int(require_project(conn, project)["id"])
    url = url.rstrip("/")
    existing = conn.call(f"listing ML backends of project {project!r}", conn.sdk.ml.list, project=project_id)
    backend_id = next((int(b.id) for b in existing or () if str(b.url).rstrip("/") == url), None)
    if backend_id is None:
        created = conn.call(
            f"connecting the ML backend {url} to project {project!r}",
            conn.sdk.ml.create,
            project=project_id,
            url=url,
            title=title,
            is_interactive=False,
        )
        backend_id = int(created.id)
    conn.call(
        f"switching on automatic predictions in project {project!r}",
        conn.sdk.projects.update,
        id=project_id,
        evaluate_predictions_automatically=True,
    )
    return backend_id
