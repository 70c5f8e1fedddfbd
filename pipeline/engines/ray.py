"""The cluster engine: ``framing annotate --engine ray`` on Ray Data.

The stages, each a Ray Data map over the input shards (:mod:`pipeline.engines.shards`):

1. ``prepare`` (CPU tasks): read a shard with the :mod:`pipeline.io` readers, segment, cut encoder windows;
   one row per document, and one closing row per shard with its problems and count;
2. ``Scorer`` (an actor pool: one actor per GPU, or per ``cpus_per_actor`` cores): the encoder's forward passes;
3. ``decode`` (CPU tasks): scores to sentence labels and spans, and the record of
   :func:`pipeline.batch.annotation_record`, as the local engine makes it.

The driver gathers each shard's records (by document index, so a row that a retried task sends twice counts
once), and when a shard is complete writes it to the output folder and records it in the manifest
(:mod:`pipeline.engines.manifest`): only the driver writes, so the output folder needs no shared file system.
Workers read the inputs and the model by path: on a cluster both must be at the same path on every node,
with this package and the base encoder installed.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import signal
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pipeline.batch import annotation_record
from pipeline.engines.manifest import Manifest
from pipeline.engines.shards import Shard, plan_shards, read_shard
from pipeline.errors import ConfigError, FramingError, InputError
from pipeline.io import ErrorReport, Problem
from pipeline.io.fields import ReadOptions
from pipeline.io.problems import SeenIds
from pipeline.io.records import dumps
from pipeline.progress import progress as progress_bar

# Test hooks: the scoring actor exits (as if killed) after this many batches, once per marker file; the driver
# kills itself after writing this many shards.
CRASH_AFTER_ENV = "FRAMING_RAY_CRASH_AFTER_BATCHES"
CRASH_MARKER_ENV = "FRAMING_RAY_CRASH_MARKER"
KILL_DRIVER_ENV = "FRAMING_RAY_KILL_DRIVER_AFTER_SHARDS"
DOC, END = "doc", "end"


@dataclass(frozen=True)
class RayOptions:
    """``--ray-address`` (None: start a local instance and stop it after), ``--ray-actors`` (None: one per GPU,
    else one per ``cpus_per_actor`` cores, leaving one core to the CPU stages), ``--ray-cpus-per-actor``,
    ``--ray-gpus-per-actor`` (None: 1 when the cluster has GPUs), ``--shard-size``."""

    address: str | None = None
    actors: int | None = None
    cpus_per_actor: int = 1
    gpus_per_actor: float | None = None
    shard_size: int = 1000


@dataclass(frozen=True)
class ModelOptions:
    model_dir: str
    precision: str = "fp32"
    batch_size: int = 8
    all_scores: bool = False


@dataclass
class RunResult:
    written: int = 0
    spans: int = 0
    shards_done: int = 0
    shards_skipped: int = 0


def annotate_with_ray(paths: list[str], out: str | os.PathLike[str], model: ModelOptions, read: ReadOptions,
                      options: RayOptions, report: ErrorReport, *, settings: dict[str, Any],
                      notify: Callable[[str], None], progress: bool = False) -> RunResult:
    """Annotate ``paths`` into the folder ``out``; problems go to ``report`` (skipped shards' ones again).
    ``progress``: a bar of input shards written (on a terminal)."""
    out = Path(out)
    shards = plan_shards(paths, read, options.shard_size)
    manifest = Manifest.open(out, settings=settings, model_dir=model.model_dir, inputs=list(paths),
                             shard_size=options.shard_size, shards=shards)
    pending = manifest.pending()
    result = RunResult(shards_skipped=len(shards) - len(pending))
    seen = SeenIds()
    pending_ids = {s.id for s in pending}
    for entry in manifest.shards:  # the earlier run's shards: their ids and their problems count again
        if entry["input"]["id"] in pending_ids:
            continue
        _replay(entry, report, notify)
        for doc_id in _written_ids(out / entry["output"]):
            seen.add(doc_id)
    if result.shards_skipped:
        notify(f"resuming: {result.shards_skipped} of {len(shards)} input shards already done in {out} skipped")
    if not pending:
        return result
    import ray

    started = _connect(options)
    try:
        rows = _dataset(pending, model, read, options).iter_batches(batch_size=None, batch_format="pyarrow")
        completed = progress_bar(_failures_explained(_complete_shards(rows), manifest), total=len(pending),
                                 desc="annotate (ray)", unit="shard", enabled=progress)
        for shard_id, records, end in completed:
            kept = []
            for problem in end["problems"]:
                report.add(Problem(**problem))
            report.documents += end["documents_read"]
            source = Shard.from_dict(manifest.entry(shard_id)["input"]).path
            errors = sum(p["severity"] == "error" for p in end["problems"])
            for record in records:
                if seen.add(record["id"]):
                    kept.append(record)
                    continue
                errors += 1
                report.add(Problem(source, f"duplicate id {record['id']!r}: a document in another part of the input "
                                   "has the same id; skipped"))
            result.written += manifest.write_shard(
                shard_id, kept, documents_read=end["documents_read"], errors=errors,
                warnings=sum(p["severity"] != "error" for p in end["problems"]),
                problems=[str(Problem(**p)) for p in end["problems"]])
            result.spans += sum(len(r["spans"]) for r in kept)
            result.shards_done += 1
            if str(result.shards_done) == os.environ.get(KILL_DRIVER_ENV):
                os.kill(os.getpid(), signal.SIGKILL)
    finally:
        if started:
            ray.shutdown()
    return result


def _connect(options: RayOptions) -> bool:
    """Join the cluster at ``options.address``, or start a local instance; True when we started it."""
    import ray
    import ray.data

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    if options.address:
        try:
            ray.init(address=options.address, log_to_driver=False, logging_level="warning")
            _quiet()
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise ConfigError(f"--ray-address {options.address}: cannot join a Ray cluster there: {error}") from None
        return False
    # "local": a new instance, even where `ray start` left one running (ray.init() alone would join it)
    ray.init(address="local", include_dashboard=False, log_to_driver=False, logging_level="warning")
    _quiet()
    return True


def _quiet() -> None:
    """Ray Data's own INFO lines (plans, progress) would bury the tool's messages."""
    import logging

    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _dataset(shards: list[Shard], model: ModelOptions, read: ReadOptions, options: RayOptions):
    import ray

    resources = ray.cluster_resources()
    gpus = options.gpus_per_actor if options.gpus_per_actor is not None else (1.0 if resources.get("GPU") else 0.0)
    if options.actors:
        actors = options.actors
    elif gpus:
        actors = max(1, int(resources.get("GPU", 0) // gpus))
    else:  # the CPU stages need a core of their own, or the actors would starve them
        actors = max(1, (int(resources.get("CPU", 1)) - 1) // options.cpus_per_actor)
    crash = {name: os.environ[name] for name in (CRASH_AFTER_ENV, CRASH_MARKER_ENV) if name in os.environ}
    items = [{"shard": json.dumps(s.to_dict())} for s in shards]
    # num_cpus=0.5 on the CPU stages: they stay separate tasks (Ray fuses maps with equal resources)
    return (
        ray.data.from_items(items, override_num_blocks=len(items))
        .map_batches(_prepare, batch_size=1, num_cpus=0.5, fn_kwargs={"model_dir": model.model_dir,
                                                                        "read": asdict(read)})
        .map_batches(_Scorer, batch_size=model.batch_size * 4, num_cpus=options.cpus_per_actor, num_gpus=gpus,
                     compute=ray.data.ActorPoolStrategy(size=actors),
                     fn_constructor_kwargs={"model": asdict(model), "device": "cuda" if gpus else "cpu",
                                            "threads": options.cpus_per_actor, "crash": crash})
        .map_batches(_decode, batch_size=64, num_cpus=0.5, fn_kwargs={"model": asdict(model)})
    )


def _failures_explained(shards: Iterator, manifest: Manifest) -> Iterator:
    """``shards``, with a failure of the Ray run (not a bad record: those are reported) said in one line."""
    import ray.exceptions

    try:
        yield from shards
    except ray.exceptions.RayError as error:
        user_error = _framing_error(error)
        if user_error is not None:  # a whole input unreadable (found by a worker): said as the local engine says it
            raise user_error from None
        done = sum(e["done"] for e in manifest.shards)
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise FramingError(f"the Ray run failed ({first}); {done} of {len(manifest.shards)} input shards are done "
                           f"and kept in {manifest.out}: run the same command again to do the rest") from error


def _framing_error(error: BaseException) -> FramingError | None:
    """The tool's own error that a worker raised, rebuilt from the text Ray passes on (it does not pass the
    exception itself), or None."""
    found = None
    for line in str(error).splitlines():
        match = _WORKER_ERROR.match(line.strip())
        if match:
            found = match
    if found is None:
        return None
    kinds = {"InputError": InputError, "ConfigError": ConfigError, "FramingError": FramingError}
    return kinds[found.group(1)](found.group(2))


_WORKER_ERROR = re.compile(r"pipeline\.errors\.(InputError|ConfigError|FramingError): (.+)$")


def _complete_shards(batches) -> Iterator[tuple[str, list[dict], dict]]:
    """``(shard id, records in input order, closing row)`` for each shard, once all its rows have arrived."""
    records: dict[str, dict[int, str]] = {}
    ends: dict[str, dict] = {}
    for batch in batches:
        for row in batch.to_pylist():
            shard_id = row["shard"]
            if row["kind"] == END:
                ends[shard_id] = json.loads(row["payload"])
            else:
                records.setdefault(shard_id, {})[row["index"]] = row["payload"]
            end = ends.get(shard_id)
            if end is not None and len(records.get(shard_id, {})) == end["count"]:
                done = records.pop(shard_id, {})
                del ends[shard_id]
                yield shard_id, [json.loads(done[i]) for i in sorted(done)], end
    if ends or records:
        missing = sorted(set(ends) | set(records))
        raise RuntimeError(f"the Ray run ended with shards {', '.join(missing)} incomplete; rerun to finish them")


def _replay(entry: dict[str, Any], report: ErrorReport, notify: Callable[[str], None]) -> None:
    for message in entry.get("problems", []):
        notify(message)
    report.errors += entry.get("errors", 0)
    report.warnings += entry.get("warnings", 0)
    report.documents += entry.get("documents_read", 0)


def _written_ids(path: Path) -> Iterator[str]:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path, columns=["id"]) if pq.read_schema(path).names else None
        yield from ([] if table is None else table.column("id").to_pylist())
        return
    from pipeline.io import read_records

    for record in read_records(path):
        yield record["id"]


# Worker side. Each worker process loads the tokenizer and thresholds once (the model only in the actors).

_LIGHT: dict[tuple, Any] = {}


def _light_annotator(model: dict[str, Any]):
    """An Annotator without weights: tokenizer, windows and decoding, for the CPU stages."""
    key = tuple(sorted(model.items()))
    if key not in _LIGHT:
        from pipeline.model.annotator import Annotator
        from pipeline.model.base import load_tokenizer, resolve_base_model
        from pipeline.model.store import read_meta

        model_dir = Path(model["model_dir"])
        meta = read_meta(model_dir)
        tokenizer = load_tokenizer(resolve_base_model(meta.base_model, relative_to=model_dir))
        _LIGHT[key] = Annotator(None, tokenizer, meta, precision=model["precision"], all_scores=model["all_scores"])
    return _LIGHT[key]


def _prepare(batch, *, model_dir: str, read: dict[str, Any]) -> dict[str, list]:
    from pipeline.model.pieces import prepare_document

    annotator = _light_annotator({"model_dir": model_dir, "precision": "fp32", "batch_size": 0, "all_scores": False})
    options = ReadOptions(**{**read, "metadata_fields": tuple(read["metadata_fields"])
                             if read["metadata_fields"] is not None else None})
    rows: dict[str, list] = {"shard": [], "index": [], "kind": [], "payload": []}
    for encoded in _column(batch, "shard"):
        shard = Shard.from_dict(json.loads(encoded))
        documents, problems, count = read_shard(shard, options)
        for index, document in enumerate(documents):
            # a document's windows in pieces of whole sentences, as the local engine makes them
            pieces = list(annotator.pieces([prepare_document(document)]))
            _add(rows, shard.id, index, DOC, pickle.dumps(pieces, protocol=5))
        end = {"count": count, "documents_read": count, "problems": [asdict(p) for p in problems]}
        _add(rows, shard.id, -1, END, json.dumps(end).encode())
    return rows


class _Scorer:
    """The model, loaded once per actor: windows in, scores out (closing rows pass through)."""

    def __init__(self, model: dict[str, Any], device: str, threads: int, crash: dict[str, str]) -> None:
        import torch

        from pipeline.model.annotator import Annotator

        torch.set_num_threads(threads)
        self.annotator = Annotator.load(model["model_dir"], device=device, precision=model["precision"],
                                        batch_size=model["batch_size"], all_scores=model["all_scores"])
        self.batches = 0
        self.crash = crash

    def __call__(self, batch) -> dict[str, list]:
        rows: dict[str, list] = {"shard": [], "index": [], "kind": [], "payload": []}
        documents, places = [], []
        for shard, index, kind, payload in zip(*(_column(batch, c) for c in rows)):
            if kind == DOC:
                documents.append(pickle.loads(payload))
                places.append((shard, index))
            else:
                _add(rows, shard, index, kind, payload)
        outputs = iter(self.annotator.forward_group([piece.windows for pieces in documents for piece in pieces]))
        for (shard, index), pieces in zip(places, documents):
            scored = [(piece, next(outputs)) for piece in pieces]
            _add(rows, shard, index, DOC, pickle.dumps(scored, protocol=5))
        self.batches += 1
        self._maybe_crash()
        return rows

    def _maybe_crash(self) -> None:
        after, marker = self.crash.get(CRASH_AFTER_ENV), self.crash.get(CRASH_MARKER_ENV)
        if after and marker and self.batches >= int(after) and not os.path.exists(marker):
            Path(marker).write_text(str(os.getpid()), encoding="utf-8")
            os._exit(1)


def _decode(batch, *, model: dict[str, Any]) -> dict[str, list]:
    from pipeline.model.assemble import Assembly

    annotator = _light_annotator(model)
    rows: dict[str, list] = {"shard": [], "index": [], "kind": [], "payload": []}
    for shard, index, kind, payload in zip(*(_column(batch, c) for c in rows)):
        if kind == DOC:
            scored = pickle.loads(payload)
            assembly = Assembly(annotator.decoder, scored[0][0].document)
            annotated = None
            for piece, outputs in scored:
                annotated = assembly.add(piece, outputs)
            payload = dumps(annotation_record(annotated, annotator.model_version, annotator.source)).encode()
        _add(rows, shard, index, kind, payload)
    return rows


def _column(batch, name: str) -> list:
    values = batch[name]
    return values.tolist() if hasattr(values, "tolist") else list(values)


def _add(rows: dict[str, list], shard: str, index: int, kind: str, payload: bytes) -> None:
    rows["shard"].append(shard)
    rows["index"].append(int(index))
    rows["kind"].append(kind)
    rows["payload"].append(payload)
