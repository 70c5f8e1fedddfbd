"""``framing ls``: a local Label Studio server, push/pull of tasks, the correction report, the ML backend.

Thin: options are parsed here and the work happens in ``pipeline.labelstudio``. The API token is never
printed; a server of your own is reached with ``--url`` (or ``LABEL_STUDIO_URL``) and the token in
``LABEL_STUDIO_API_KEY``.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import click

from pipeline.errors import FramingError, InputError

BAD_RECORDS_EXIT_STATUS = 1
URL_HELP = "Label Studio URL (default: $LABEL_STUDIO_URL, else the local server of `framing ls up`)."


def _url_option(command: Any) -> Any:
    return click.option("--url", metavar="URL", default=None, help=URL_HELP)(command)


def _retry_option(command: Any) -> Any:
    from pipeline.labelstudio.client import DEFAULT_RETRY_SECONDS

    return click.option(
        "--retry-for", "retry_for", type=click.FloatRange(0), default=DEFAULT_RETRY_SECONDS, show_default=True,
        metavar="SECONDS",
        help="How long to keep retrying while the server is unreachable or failing (a first start takes ~40 s)."
    )(command)


def _retry(seconds: float) -> Any:
    from pipeline.labelstudio.client import RetryPolicy

    return RetryPolicy.window(seconds)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _project_option(required: bool = True) -> Any:
    return click.option("--project", "-p", metavar="NAME", required=required, help="Label Studio project title.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def ls() -> None:
    """Correct model output in Label Studio and bring the corrections back as training data."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s", stream=sys.stderr)


# -- server ----------------------------------------------------------------------------------------------
@ls.command()
@click.option("--port", type=int, default=None, help="Port on 127.0.0.1 (default: 8080 or the next free one).")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Data directory (default: .framing/labelstudio-data in the project).",
)
@click.option(
    "--label-studio-bin",
    type=click.Path(dir_okay=False),
    default=None,
    help="The label-studio executable (default: $FRAMING_LABEL_STUDIO_BIN, PATH, .venv-labelstudio).",
)
@click.option("--timeout", type=float, default=300.0, show_default=True, help="Seconds to wait until healthy.")
@click.option(
    "--allow-local-ml/--no-allow-local-ml",
    default=True,
    show_default=True,
    help="Let the server call an ML backend on 127.0.0.1 (`framing ls serve`).",
)
def up(
    port: int | None, data_dir: str | None, label_studio_bin: str | None, timeout: float, allow_local_ml: bool
) -> None:
    """Start a local Label Studio server (or reuse the running one) and print its URL and login."""
    from pipeline.labelstudio.server import start_server

    info = start_server(
        port=port, data_dir=data_dir, label_studio_bin=label_studio_bin, timeout=timeout, allow_local_ml=allow_local_ml
    )
    state = "already running" if info.reused else "started"
    click.echo(f"Label Studio {state} at {info.url}")
    click.echo(f"login: {info.username} (password: key 'password' in {info.config_file})")
    click.echo(f"data: {info.data_dir}")


@ls.command()
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Stop the server of this data directory (default: $FRAMING_LS_DATA_DIR, else the project's "
                   "server, else the one `framing ls up` started last for this user).")
def down(data_dir: str | None) -> None:
    """Stop the local Label Studio server started by `framing ls up` (from any working directory)."""
    from pipeline.labelstudio.server import stop_server

    result = stop_server(data_dir=data_dir)
    if result.stopped:
        click.echo(f"stopped the local Label Studio server at {result.url} (pid {result.pid}, data {result.data_dir}; "
                   f"config {result.config_file})")
    elif result.url:
        click.echo(f"no local Label Studio server is running: the one {result.config_file} names ({result.url}, "
                   f"data {result.data_dir}) has stopped")
    else:
        click.echo(f"no local Label Studio server is running (no server recorded in {result.config_file})")


@ls.command()
@_project_option(required=False)
@click.option("--json", "as_json", is_flag=True, help="One JSON object: url, healthy, projects.")
@_url_option
def status(project: str | None, as_json: bool, url: str | None) -> None:
    """Server URL and health, and per project: tasks, annotated tasks, annotations, predictions per version."""
    from pipeline.labelstudio.client import Connection, check_health, resolve_settings
    from pipeline.labelstudio.sync import project_summaries

    settings = resolve_settings(url, require_token=False)
    healthy = check_health(settings.url)
    projects = project_summaries(Connection(settings), project) if healthy and settings.token else []
    if as_json:
        click.echo(json.dumps({"url": settings.url, "healthy": healthy, "projects": projects}))
    else:
        click.echo(f"{settings.url}: {'healthy' if healthy else 'not reachable'}")
        if healthy and not settings.token:
            click.echo("no API token: set LABEL_STUDIO_API_KEY to see projects")
        for item in projects:
            versions = ", ".join(f"{v}: {n}" for v, n in item["predictions"].items()) or "none"
            click.echo(
                f"  {item['name']}: {item['tasks']} tasks, {item['annotated_tasks']} annotated, "
                f"{item['annotations']} annotations ({item['skipped_annotations']} skipped), predictions {versions}"
            )
    if not healthy:
        sys.exit(1)


# -- push / pull / report ----------------------------------------------------------------------------------
def _records(path: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """``(where, record)`` of an annotated-output file; a bad JSONL line is yielded as a problem marker."""
    if not path.endswith((".jsonl", ".json", ".ndjson")):
        from pipeline.io import read_records

        for number, record in enumerate(read_records(path), 1):
            yield f"{path} record {number}", record
        return
    try:
        handle = open(path, encoding="utf-8")
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror}") from None
    with handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as error:
                yield f"{path}:{number}", {"__error__": f"invalid JSON: {error}"}
                continue
            except RecursionError:
                yield f"{path}:{number}", {"__error__": "invalid JSON: nested too deeply"}
                continue
            yield f"{path}:{number}", record if isinstance(record, dict) else {"__error__": "not a JSON object"}


@ls.command()
@click.argument("annotated", type=click.Path(exists=True, dir_okay=False))
@_project_option()
@click.option(
    "--order",
    type=click.Choice(["uncertainty", "random", "input"]),
    default="uncertainty",
    show_default=True,
    help="Import order: least confident documents first, shuffled, or as in the file.",
)
@click.option("--model-version", default=None, help="Model version for records that do not name one.")
@click.option(
    "--taxonomy",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Taxonomy YAML for the labeling config (default: $FRAMING_TAXONOMY or annotations/taxonomy.yaml).",
)
@click.option("--batch-size", type=click.IntRange(1, 5000), default=250, show_default=True, help="Tasks per import.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of --order random.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bar on a terminal.")
@_retry_option
@_url_option
def push(
    annotated: str,
    project: str,
    order: str,
    model_version: str | None,
    taxonomy: str | None,
    batch_size: int,
    seed: int,
    progress: bool,
    retry_for: float,
    url: str | None,
) -> None:
    """Import annotated documents (the output of `framing annotate`) as tasks with predictions.

    Idempotent: a document already in the project gets only predictions of a model version it lacks. The
    task-level prediction score is the model's confidence, so sorting by prediction score (ascending) in Label
    Studio shows the documents the model is least sure about first.
    """
    from pipeline.labelstudio.client import connect
    from pipeline.labelstudio.config import build_label_config
    from pipeline.labelstudio.sync import push as push_documents
    from pipeline.progress import echo
    from pipeline.taxonomy import load_taxonomy

    label_config = build_label_config(load_taxonomy(taxonomy).labels)
    conn = connect(url, retry=_retry(retry_for))
    problems: list[str] = []

    def records() -> Iterator[tuple[str, Mapping[str, Any]]]:
        for where, record in _records(annotated):
            if "__error__" in record:
                problems.append(f"{where}: {record['__error__']}")
            else:
                yield where, record

    bar = _bar(progress, "push")
    try:
        report = push_documents(
            conn,
            records(),
            project=project,
            label_config=label_config,
            model_version=model_version,
            order=order,
            batch_size=batch_size,
            seed=seed,
            progress=bar.update if bar else None,
        )
    finally:
        if bar:
            bar.close()
    problems = problems + report.problems
    project_id = f"id {report.project_id}{', created' if report.project_created else ''}" if report.project_id else "?"
    click.echo(
        f"project {project!r} ({project_id}): {_plural(report.documents, 'document')}; "
        f"{_plural(report.tasks_created, 'task')} created, {_plural(report.predictions_added, 'prediction')} added "
        f"to existing tasks (updated), {report.unchanged} already up to date, {report.remaining} remaining"
    )
    for problem in problems:
        echo(problem)
    if report.error:
        echo(f"error: {report.error}")
        echo(f"{_plural(report.remaining, 'document')} not pushed: run the same push again once the server answers "
             "(what is already there is skipped)")
        sys.exit(2)
    if problems:
        echo(f"{_plural(len(problems), 'record')} not pushed (see above)")
        sys.exit(BAD_RECORDS_EXIT_STATUS)


def _bar(enabled: bool, desc: str) -> Any:
    if not enabled or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(desc=desc, unit="doc", file=sys.stderr, dynamic_ncols=True)


@ls.command()
@_project_option()
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False),
    default=None,
    help="Output JSONL (default: annotations/labelstudio/<project>.jsonl in the project).",
)
@click.option(
    "--since",
    is_flag=False,
    flag_value="last",
    default=None,
    metavar="[TIMESTAMP]",
    help="Only annotations changed since the last pull (or since TIMESTAMP), merged into --out.",
)
@_retry_option
@_url_option
def pull(project: str, out: str | None, since: str | None, retry_for: float, url: str | None) -> None:
    """Export human annotations as stand-off records with provenance (JSONL, written atomically).

    One record per annotation: id, text, annotation_id, annotator, created_at, updated_at, lead_time,
    was_cancelled, ground_truth, prediction_model_version (the prediction the annotator started from), spans
    [{start, end, label, attributes}] (character offsets, text[start:end] is the span) and choices.
    """
    from pipeline.labelstudio.client import connect
    from pipeline.labelstudio.sync import default_pull_path
    from pipeline.labelstudio.sync import pull as pull_annotations
    from pipeline.progress import echo

    target = Path(out) if out else default_pull_path(project)
    report = pull_annotations(connect(url, retry=_retry(retry_for)), project, target, since=since)
    scope = (f"changed since {report.since}; {_plural(report.tasks_exported, 'task')} exported" if report.since
             else "all")
    click.echo(
        f"{_plural(report.changed, 'annotation')} pulled ({scope}); {target} now holds {report.records} "
        f"({report.cancelled} skipped/cancelled)"
    )
    if report.orphan_actors:
        echo(f"{_plural(report.orphan_actors, 'actor region')} linked to no blame span (left behind by a deleted "
             "blame span) dropped")
    for problem in report.problems:
        echo(problem)


@ls.command()
@_project_option()
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of tables.")
@_retry_option
@_url_option
def report(project: str, as_json: bool, retry_for: float, url: str | None) -> None:
    """How humans changed the model's spans per label, and inter-annotator agreement."""
    from pipeline.labelstudio.client import connect
    from pipeline.labelstudio.report import correction_report, format_report
    from pipeline.labelstudio.sync import export_tasks, require_project

    conn = connect(url, retry=_retry(retry_for))
    project_id = int(require_project(conn, project)["id"])
    result = {"project": project, **correction_report(export_tasks(conn, project_id))}
    click.echo(json.dumps(result) if as_json else format_report(result))


# -- ML backend --------------------------------------------------------------------------------------------
@ls.command()
@click.option("--port", type=int, default=9090, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind (keep it local).")
@click.option(
    "--model",
    "model_dir",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="Model directory (default: the current model).",
)
@click.option(
    "--train/--no-train",
    default=True,
    show_default=True,
    help="Accept START_TRAINING (queues `pipeline.retrain` in the background).",
)
@click.option(
    "--project",
    "-p",
    metavar="NAME",
    default=None,
    help="Connect the backend to this project once it is up (and let Label Studio fetch predictions for tasks "
    "that have none).",
)
@_url_option
def serve(port: int, host: str, model_dir: str | None, train: bool, project: str | None, url: str | None) -> None:
    """Serve the model to Label Studio as an ML backend (/health, /setup, /predict, /webhook; /train starts a
    warm-start retrain, /jobs and /jobs/ID show its state). After a promoted retrain the new version is served
    without a restart."""
    from pipeline.labelstudio.backend import create_app, default_on_train
    from pipeline.labelstudio.backend import serve as run
    from pipeline.model.annotator import Annotator
    from pipeline.progress import echo

    conn = None
    if project is not None:
        from pipeline.labelstudio.client import connect

        conn = connect(url)  # fail on a missing token before loading the model
    predictor = Annotator.load(model_dir)  # once, before serving
    echo(f"serving model {predictor.model_version} at http://{host}:{port}")

    def register() -> None:
        from pipeline.labelstudio.sync import register_backend

        backend_url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"
        try:
            backend_id = register_backend(conn, project, backend_url)
        except FramingError as error:
            echo(f"error: could not connect the backend to project {project!r}: {error}")
            return
        echo(f"connected to project {project!r} as ML backend {backend_id}")

    app = create_app(predictor, on_train=default_on_train if train else None, reload=Annotator.load)
    run(app, host=host, port=port, on_started=register if conn is not None else None)
