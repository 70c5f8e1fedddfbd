"""Warm-start retraining from human corrections: corrected documents → new model version → compare → promote.

1. The corrections (any file of annotated records with human spans: what ``framing ls pull`` writes, or another
   tool's export in the project's record format) become gold documents: per document the ground-truth annotation
   if one is marked, else the most recently updated one that was not cancelled. ``labels`` names the labels the
   corrections cover: the others are unknown in them, never taught as absent.
2. They are split by document (seeded): a held-out share is kept for the comparison, the rest trains.
3. The new version starts from the parent's own weights (an averaged parent: from the average) and fine-tunes
   on the corrected documents mixed with a replay sample of the parent's training data (so techniques the
   corrections do not touch are not forgotten), for a short schedule sized to the corrections: ``epochs`` passes
   over corrections + replay, at a fraction of the parent's learning rate. Its thresholds are re-tuned on the
   parent's validation documents.
4. Parent and new version are scored on the same held-out data: the parent's validation documents (one set per
   data source, each on the labels it annotates, inside its annotated ranges) and the held-out corrections.
   The decision value is the mean of the sets' values of the chosen metric.
5. The new version becomes current only if it is not worse (``force`` overrides). Its model card records the
   parent, the data snapshot (hashes of the inputs) and both evaluations.

Nothing is written before every input is known to be readable; a failed run removes what it wrote, except a
training checkpoint that ``resume`` can continue (same options required: they are recorded with it).
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.document import Document
from pipeline.errors import ConfigError, InputError
from pipeline.training_data import ANNOTATED_LABELS, ANNOTATED_RANGES, split_by_document

METRICS = ("span_f1", "si_f1", "slc_f1", "sentence_micro_f1", "sentence_macro_f1", "paragraph_micro_f1")
STATE_FILE = "retrain-state.json"
CORRECTIONS_TRAIN = "corrections-train.jsonl"
CORRECTIONS_HELDOUT = "corrections-heldout.jsonl"

# phase, done, total: "loading" / "training" / "calibrating" / "evaluating"
ProgressCallback = Callable[[str, int, int], Any]


@dataclass(frozen=True)
class RetrainOptions:
    labels: tuple[str, ...] | None = None  # labels the corrections cover; None: the default labeling config's
    epochs: float = 3.0  # passes over corrections + replay
    max_steps: int | None = None
    replay: float = 1.0  # replay windows of the parent's training data per correction window
    learning_rate_scale: float = 0.5  # of the parent's learning rates
    heldout_fraction: float = 0.2
    seed: int = 13
    metric: str = "span_f1"
    force: bool = False
    device: str = "cpu"
    compare: bool = True  # False: skip the comparison (benchmarks that score on their own test set)


@dataclass
class RetrainResult:
    new_dir: Path | None
    new_version: str
    parent_version: str
    metric: str
    parent_value: float
    new_value: float
    promoted: bool
    kept: bool
    evaluations: dict
    label_changes: dict = field(default_factory=dict)


# -- corrections ----------------------------------------------------------------------------------------------
def _updated(record: Mapping[str, Any]) -> str:
    return str(record.get("updated_at") or record.get("created_at") or "")


def corrections_to_documents(records: Iterable[Mapping[str, Any]], labels: Iterable[str]) -> list[Document]:
    """One gold document per corrected document (see the module docstring for which annotation wins).
    A record's own ``metadata.annotated_ranges`` (only those character ranges were read) is kept."""
    wanted = list(labels)
    by_document: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        if record.get("was_cancelled"):
            continue
        by_document.setdefault(str(record["id"]), []).append(record)
    documents = []
    for doc_id, candidates in sorted(by_document.items()):
        chosen = max(candidates, key=lambda r: (bool(r.get("ground_truth")), _updated(r)))
        metadata = {key: value for key, value in (chosen.get("metadata") or {}).items()
                    if key in (ANNOTATED_RANGES, "corpus", "outlet", "date")}
        declared = (chosen.get("metadata") or {}).get(ANNOTATED_LABELS)
        covered = [label for label in wanted if declared is None or label in declared]
        metadata.update({
            ANNOTATED_LABELS: covered,
            "annotator": chosen.get("annotator"),
            "annotation_id": chosen.get("annotation_id"),
            "prediction_model_version": chosen.get("prediction_model_version"),
        })
        document = Document(doc_id, chosen["text"], metadata)
        spans = [
            document.span(span["start"], span["end"], span["label"], source="gold",
                          attributes=span.get("attributes") or {})
            for span in chosen.get("spans") or () if span.get("label") in covered
        ]
        documents.append(document.with_spans(spans))
    return documents


def default_correction_labels(model_labels: Sequence[str]) -> list[str]:
    """The labels of the labeling config `framing ls push` creates (every taxonomy label) that the model has."""
    from pipeline.taxonomy import load_taxonomy

    taxonomy = set(load_taxonomy().ids)
    return [label for label in model_labels if label in taxonomy]


def read_corrections(path: Path, labels: Sequence[str]) -> list[Document]:
    from pipeline.io import read_records

    path = Path(path)
    if not path.is_file():
        raise InputError(f"no corrections file at {path} (pull them with `framing ls pull`)")
    documents = []
    try:
        documents = corrections_to_documents(read_records(path), labels)
    except (KeyError, TypeError) as error:
        raise InputError(f"{path}: not a file of annotated records (each needs id, text and spans): "
                         f"missing {error}") from None
    except ValueError as error:  # a span outside its text
        raise InputError(f"{path}: {error}") from None
    if not documents:
        raise InputError(f"{path}: no usable (non-cancelled) annotations to train on")
    return documents


# -- evaluation -----------------------------------------------------------------------------------------------
def _strip(document: Document) -> Document:
    return Document(document.id, document.text, document.metadata)


def _inside_annotated(predicted: Document, gold: Document) -> Document:
    """Predictions outside the ranges a partially read gold document annotates are neither right nor wrong."""
    ranges = gold.metadata.get(ANNOTATED_RANGES)
    if not ranges:
        return predicted

    def inside(start: int, end: int) -> bool:
        return any(begin <= start and end <= stop for begin, stop in ranges)

    sentences = [s for s in predicted.sentences if inside(s.start, s.end) or not s.labels]
    spans = [s for s in predicted.spans if inside(s.start, s.end)]
    return Document(predicted.id, predicted.text, predicted.metadata, sentences, spans)


def evaluate_model(model_dir: Path, evaluation_sets: Mapping[str, tuple[list[Document], list[str]]],
                   device: str = "cpu") -> dict:
    """Metrics of one model on each evaluation set (name → (gold documents, labels the set annotates))."""
    from pipeline.evaluate import evaluate_documents
    from pipeline.model.annotator import Annotator

    annotator = Annotator.load(model_dir, device=device)
    results = {}
    for name, (gold, labels) in evaluation_sets.items():
        if not gold:
            continue
        predicted = [_inside_annotated(p, g) for p, g in zip(annotator.annotate_many(_strip(d) for d in gold), gold)]
        metrics = evaluate_documents(predicted, gold, labels=labels)
        results[name] = {k: v for k, v in metrics.items() if k in METRICS or k in ("documents", "per_label")}
    return results


def decision_value(results: Mapping[str, Mapping[str, Any]], metric: str) -> float:
    values = [float(r[metric]) for r in results.values() if metric in r]
    return sum(values) / len(values) if values else 0.0


def label_changes(parent: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, dict[str, dict[str, float]]]:
    """Per evaluation set and label: sentence F1 and span F1 of parent and new version."""
    changes: dict[str, dict[str, dict[str, float]]] = {}
    for name, result in new.items():
        before = parent.get(name, {}).get("per_label", {})
        for label, row in result.get("per_label", {}).items():
            old = before.get(label, {})
            if not row.get("sentence_support") and not row.get("support"):
                continue
            changes.setdefault(name, {})[label] = {
                "sentence_f1": round(float(row.get("sentence_f1", 0.0)), 4),
                "parent_sentence_f1": round(float(old.get("sentence_f1", 0.0)), 4),
                "span_f1": round(float(row.get("f1", 0.0)), 4),
                "parent_span_f1": round(float(old.get("f1", 0.0)), 4),
                "sentences": int(row.get("sentence_support", 0)),
            }
    return changes


def format_label_changes(changes: Mapping[str, Mapping[str, Mapping[str, float]]]) -> str:
    lines = []
    for name, rows in changes.items():
        lines.append(f"{name}: label, sentence F1 parent -> new, span F1 parent -> new (gold sentences)")
        for label, row in rows.items():
            delta = row["sentence_f1"] - row["parent_sentence_f1"]
            lines.append(f"  {label:<34} {row['parent_sentence_f1']:.3f} -> {row['sentence_f1']:.3f} "
                         f"({delta:+.3f})   {row['parent_span_f1']:.3f} -> {row['span_f1']:.3f}   "
                         f"({row['sentences']})")
    return "\n".join(lines)


# -- the plan: everything read and checked before anything is written ------------------------------------------
@dataclass
class _Plan:
    parent_dir: Path  # the model the new version is compared with and descends from
    parent_meta: Any
    start_config: Any  # the training config of the model the new version starts from (``start_dir``)
    labels: list[str]
    train_docs: list[Document]
    heldout_docs: list[Document]
    replay_pool: list[Document]
    validation_sets: dict[str, tuple[list[Document], list[str]]]
    fingerprint: dict
    start_dir: Path | None = None  # whose weights, training data and validation documents the new version starts from
    start_meta: Any = None


def _earlier_corrections(model_dir: Path) -> set[str]:
    from pipeline.io import read_records

    ids: set[str] = set()
    for name in (CORRECTIONS_TRAIN, CORRECTIONS_HELDOUT):
        if (model_dir / name).is_file():
            ids.update(str(record["id"]) for record in read_records(model_dir / name))
    return ids


def warm_start_origin(parent_dir: Path, parent_meta: Any, corrected_ids: set[str]) -> Path:
    """The model a warm start begins from. A parent that was itself warm-started on corrections that the new file
    repeats (a full ``framing ls pull`` holds every earlier correction) is not fine-tuned on them a second time:
    the new version starts again from the model that parent started from, with all the corrections, so repeated
    retrains do not drift. A file of new corrections only (``pull --since``) continues from the parent."""
    from pipeline.model.store import META_FILE, read_meta

    warm = parent_meta.metrics.get("warm_start") or {}
    origin = warm.get("origin_dir")
    earlier = _earlier_corrections(parent_dir)
    if not origin or not earlier or not earlier <= corrected_ids:
        return parent_dir
    origin_dir = Path(origin)
    if not (origin_dir / META_FILE).is_file() or read_meta(origin_dir).version != warm.get("origin"):
        return parent_dir
    return origin_dir


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _plan(corrections: Path | Sequence[Document], parent_dir: Path, options: RetrainOptions) -> _Plan:
    from pipeline.model.config import load_config
    from pipeline.model.sources import check_sources, load_source
    from pipeline.model.store import read_meta

    if options.metric not in METRICS:
        raise ConfigError(f"unknown metric {options.metric!r}; choose one of {', '.join(METRICS)}")
    parent_meta = read_meta(parent_dir)
    config_path = parent_dir / "config.yaml"
    if not config_path.is_file():
        raise ConfigError(f"{parent_dir} has no config.yaml: retraining needs the parent's training config")
    parent_config = load_config(config_path)
    if options.labels is not None:
        unknown = sorted(set(options.labels) - set(parent_meta.labels))
        if unknown:
            raise ConfigError(f"--labels: {', '.join(unknown)} not among the model's labels "
                              f"({', '.join(parent_meta.labels)})")
        labels = list(options.labels)
    else:
        labels = default_correction_labels(parent_meta.labels)
    if isinstance(corrections, str | Path):
        documents = read_corrections(Path(corrections), labels)
        source_digest = _file_sha256(Path(corrections))
    else:
        documents = [d.with_metadata(**{ANNOTATED_LABELS: [x for x in d.metadata.get(ANNOTATED_LABELS, labels)
                                                            if x in labels]}) for d in corrections]
        source_digest = hashlib.sha256(
            "\n".join(json.dumps(d.to_dict(), sort_keys=True) for d in documents).encode()).hexdigest()
    if options.heldout_fraction > 0 and len(documents) >= 2:
        train_ids, heldout_ids = split_by_document([d.id for d in documents], options.heldout_fraction, options.seed)
    else:
        train_ids, heldout_ids = [d.id for d in documents], []
    if not train_ids:
        raise InputError("every corrected document was held out for the comparison: correct more documents or "
                         "lower --heldout")
    train_set, heldout_set = set(train_ids), set(heldout_ids)
    corrected = {d.id for d in documents}
    start_dir = warm_start_origin(parent_dir, parent_meta, corrected)
    start_meta = parent_meta if start_dir == parent_dir else read_meta(start_dir)
    start_config = parent_config if start_dir == parent_dir else load_config(start_dir / "config.yaml")
    check_sources(start_config)

    validation_ids, test_ids = set(start_meta.validation_documents), set(start_meta.test_documents)
    replay_pool, validation_sets = [], {}
    for source in start_config.data:
        loaded = load_source(source, start_config, start_meta.labels)
        held = [d for d in loaded if d.id in validation_ids]
        if held:
            annotated = sorted({label for d in held for label in d.metadata.get(ANNOTATED_LABELS, ())})
            name = f"validation:{source.format}:{Path(source.path).name}"
            validation_sets[name] = (held, annotated)
        replay_pool.extend(d for d in loaded if d.id not in validation_ids and d.id not in test_ids
                           and d.id not in corrected)
    fingerprint = {
        "parent_version": parent_meta.version,
        "origin_version": start_meta.version,
        "corrections_sha256": source_digest,
        "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(options).items()},
        "labels": labels,
    }
    return _Plan(parent_dir, parent_meta, start_config, labels,
                 [d for d in documents if d.id in train_set], [d for d in documents if d.id in heldout_set],
                 replay_pool, validation_sets, fingerprint, start_dir, start_meta)


def _windows(documents: Iterable[Document], tokenizer, meta, hp) -> list[dict]:
    from pipeline.model.sources import supervised_windows
    from pipeline.training_data import with_sentences

    return supervised_windows(with_sentences(documents), tokenizer, meta.labels, hp, meta.auxiliary)


def _replay_rows(pool: Sequence[Document], wanted: int, seed: int, tokenizer, meta, hp) -> tuple[list[dict], list[str]]:
    """Windows of randomly drawn parent training documents (whole documents) until ``wanted`` windows."""
    order = list(pool)
    random.Random(seed).shuffle(order)
    rows: list[dict] = []
    ids: list[str] = []
    for document in order:
        if len(rows) >= wanted:
            break
        rows.extend(_windows([document], tokenizer, meta, hp))
        ids.append(document.id)
    return rows, ids


def _prepare(plan: _Plan, options: RetrainOptions, out_dir: Path, progress: ProgressCallback):
    from pipeline.model.base import load_tokenizer, resolve_base_model
    from pipeline.model.config import DataSource
    from pipeline.model.sources import PreparedData
    from pipeline.training_data import count_positive_sentences

    meta, config = plan.start_meta, plan.start_config
    hp = config.hyperparameters
    tokenizer = load_tokenizer(resolve_base_model(meta.base_model, relative_to=plan.start_dir))
    correction_rows = _windows(plan.train_docs, tokenizer, meta, hp)
    progress("loading", 1, 3)
    replay_rows, replay_ids = _replay_rows(plan.replay_pool, int(round(options.replay * len(correction_rows))),
                                           options.seed, tokenizer, meta, hp)
    validation_docs = [d for docs, _ in plan.validation_sets.values() for d in docs]
    validation_rows = _windows(validation_docs, tokenizer, meta, hp)
    progress("loading", 2, 3)
    support = dict(meta.label_support)
    for label, count in count_positive_sentences(plan.train_docs, meta.labels).items():
        support[label] = support.get(label, 0) + count
    corrections_file = out_dir / CORRECTIONS_TRAIN
    warm = replace(
        hp, epochs=options.epochs, max_steps=options.max_steps,
        learning_rate=hp.learning_rate * options.learning_rate_scale,
        head_learning_rate=hp.head_learning_rate * options.learning_rate_scale,
        checkpoint_every=min(hp.checkpoint_every, 20),
    )
    new_config = replace(
        config, hyperparameters=warm, training_seed=options.seed,
        # each corrected document records the labels it covers (metadata annotated_labels), so a later run reads
        # them as annotated for those labels only
        data=(*config.data, DataSource(format="records", path=str(corrections_file.resolve()), train_only=True)),
    )
    prepared = PreparedData(
        labels=list(meta.labels),
        train_rows=[*correction_rows, *replay_rows],
        validation_rows=validation_rows,
        train_ids=sorted({*(d.id for d in plan.train_docs), *replay_ids}),
        validation_ids=list(meta.validation_documents),
        test_ids=sorted({*meta.test_documents, *(d.id for d in plan.heldout_docs)}),
        auxiliary=list(meta.auxiliary),
        train_support=support,
        taxonomy_path=plan.start_dir / "taxonomy.yaml" if (plan.start_dir / "taxonomy.yaml").is_file() else None,
        parent_version=plan.parent_meta.version,
        snapshot={source: facts for source, facts in meta.metrics.get("data", {}).items() if source != "corrections"},
        validation_documents=validation_docs,
    )
    windows = {"correction_windows": len(correction_rows), "replay_windows": len(replay_rows),
               "replay_documents": len(replay_ids)}
    return new_config, prepared, windows


def _write_records(path: Path, documents: Iterable[Document]) -> str:
    with path.open("w", encoding="utf-8") as handle:
        for document in documents:
            handle.write(json.dumps(document.to_dict(), ensure_ascii=False) + "\n")
    return _file_sha256(path)[:16]


def _check_out_dir(out_dir: Path, resume: bool, fingerprint: dict) -> None:
    state = out_dir / STATE_FILE
    if resume:
        if not state.is_file():
            raise ConfigError(f"nothing to resume in {out_dir}: no {STATE_FILE} (start without --resume)")
        recorded = json.loads(state.read_text(encoding="utf-8"))
        if recorded != fingerprint:
            differs = sorted(k for k in fingerprint if recorded.get(k) != fingerprint[k])
            raise ConfigError(f"cannot resume {out_dir}: it was started with other inputs or options "
                              f"({', '.join(differs)} differ); resume with the same ones or choose another --out")
    elif out_dir.exists() and any(out_dir.iterdir()):
        raise ConfigError(f"{out_dir} exists and is not empty; choose another --out (or --resume an interrupted run)")


def _can_write(out_dir: Path) -> None:
    import os

    parent = out_dir
    while not parent.exists():
        parent = parent.parent
    if not os.access(parent, os.W_OK):
        raise ConfigError(f"cannot write the new version to {out_dir}: {parent} is not writable")


# -- the run ----------------------------------------------------------------------------------------------------
def retrain(
    corrections: Path | Sequence[Document],
    *,
    parent_dir: Path | None = None,
    out_dir: Path | None = None,
    options: RetrainOptions | None = None,
    resume: bool = False,
    keep_rejected: bool = True,
    promote: bool = True,
    progress: bool = True,
    on_progress: ProgressCallback | None = None,
    stop_after_steps: int | None = None,
) -> RetrainResult:
    """Warm-start retrain (see the module docstring). ``corrections``: a records file, or gold documents.
    ``keep_rejected=False`` deletes a version that is not promoted; ``promote=False`` never changes the
    current model; ``stop_after_steps`` simulates an interruption (the checkpoint is kept for ``resume``)."""
    from pipeline.model.card import write_model_card
    from pipeline.model.config import saved_config_yaml
    from pipeline.model.registry import current_model_dir, models_dir, set_current
    from pipeline.model.store import read_meta, write_meta
    from pipeline.model.train import CHECKPOINT_DIR, train

    options = options or RetrainOptions()
    report = on_progress or (lambda phase, done, total: None)
    parent_dir = Path(parent_dir) if parent_dir else current_model_dir()
    report("loading", 0, 3)
    plan = _plan(corrections, parent_dir, options)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out_dir = Path(out_dir) if out_dir else models_dir() / f"{plan.start_config.name}-{stamp}"
    _check_out_dir(out_dir, resume, plan.fingerprint)
    _can_write(out_dir)

    created = not out_dir.exists()
    finished = False
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / STATE_FILE).write_text(json.dumps(plan.fingerprint, indent=1), encoding="utf-8")
        train_hash = _write_records(out_dir / CORRECTIONS_TRAIN, plan.train_docs)
        heldout_hash = _write_records(out_dir / CORRECTIONS_HELDOUT, plan.heldout_docs)
        config, prepared, windows = _prepare(plan, options, out_dir, report)
        if not (resume and (out_dir / "framing-model.json").exists()):
            train(config, out_dir, resume=resume and (out_dir / CHECKPOINT_DIR).is_dir(), progress=progress,
                  prepared=prepared, parent_version=plan.parent_meta.version, device=options.device,
                  initial_weights=plan.start_dir, validate_each_epoch=False, stop_after_steps=stop_after_steps,
                  on_progress=lambda step, total: report("training", step, total))
        if not (out_dir / "framing-model.json").exists():  # interrupted on purpose (stop_after_steps)
            finished = True
            return RetrainResult(None, "", plan.parent_meta.version, options.metric, 0.0, 0.0, False, True, {})
        new_meta = read_meta(out_dir)
        evaluation_sets = dict(plan.validation_sets)
        if plan.heldout_docs:
            evaluation_sets["corrections_heldout"] = (plan.heldout_docs, plan.labels)
        parent_results, new_results = {}, {}
        if options.compare:
            report("evaluating", 0, 2)
            parent_results = evaluate_model(parent_dir, evaluation_sets, options.device)
            report("evaluating", 1, 2)
            new_results = evaluate_model(out_dir, evaluation_sets, options.device)
            report("evaluating", 2, 2)
        parent_value = decision_value(parent_results, options.metric)
        new_value = decision_value(new_results, options.metric)
        promoted = promote and (options.force or new_value >= parent_value)
        verdict = "promoted" if promoted else ("not promoted" if promote else "not offered for promotion")
        evaluations = {
            "metric": options.metric,
            "decision": f"{verdict}: {options.metric} {new_value:.4f} (new) vs {parent_value:.4f} "
                        f"(parent {plan.parent_meta.version}){' (forced)' if options.force and promoted else ''}",
            "parent": parent_results,
            "new": new_results,
        }
        changes = label_changes(parent_results, new_results)
        evaluations["label_changes"] = changes
        new_meta.metrics["evaluations"] = evaluations
        new_meta.metrics.setdefault("data", {})["corrections"] = {
            "file": str(corrections) if isinstance(corrections, str | Path) else "(documents)",
            "sha256": plan.fingerprint["corrections_sha256"], "labels": plan.labels,
            "train_sha256_16": train_hash, "heldout_sha256_16": heldout_hash,
            "train_documents": len(plan.train_docs), "heldout_documents": len(plan.heldout_docs),
        }
        new_meta.metrics["warm_start"] = {"parent": plan.parent_meta.version, "origin": plan.start_meta.version,
                                          "origin_dir": str(plan.start_dir.resolve()),
                                          **plan.fingerprint["options"], **windows,
                                          "learning_rate": config.hyperparameters.learning_rate,
                                          "steps": new_meta.metrics.get("training", {}).get("steps")}
        write_meta(out_dir, new_meta)
        # the saved config keeps the parent's recipe (plus the corrections as a source): a retrain from scratch
        # or a further warm start reads it; the short schedule used here is recorded under metrics.warm_start
        recipe = replace(config, hyperparameters=plan.start_config.hyperparameters,
                         training_seed=plan.start_config.training_seed)
        (out_dir / "config.yaml").write_text(saved_config_yaml(recipe, out_dir), encoding="utf-8")
        write_model_card(out_dir, new_meta, recipe)
        (out_dir / STATE_FILE).unlink(missing_ok=True)
        kept = promoted or keep_rejected
        if promoted:
            set_current(out_dir)
        finished = True
        result = RetrainResult(out_dir if kept else None, new_meta.version, plan.parent_meta.version, options.metric,
                               parent_value, new_value, promoted, kept, evaluations, changes)
        if not kept:
            shutil.rmtree(out_dir, ignore_errors=True)
        return result
    except KeyboardInterrupt:
        if (out_dir / CHECKPOINT_DIR).is_dir():
            finished = True  # keep the checkpoint: `--resume` continues it
        raise
    finally:
        if not finished and created:
            shutil.rmtree(out_dir, ignore_errors=True)


def retrain_from_project(project: str, event: Mapping[str, Any] | None = None, *,
                         on_progress: ProgressCallback | None = None, keep_rejected: bool = False,
                         **kwargs: Any) -> RetrainResult:
    """The ML backend's training job: pull the project's corrections, then warm-start retrain on the labels
    of the project's labeling config; a version that is not promoted is not kept."""
    from pipeline.labelstudio.client import connect
    from pipeline.labelstudio.config import config_label_ids
    from pipeline.labelstudio.sync import default_pull_path, pull, require_project

    conn = connect()
    corrections = default_pull_path(project)
    pull(conn, project, corrections)
    options = kwargs.pop("options", None) or RetrainOptions()
    if options.labels is None:
        label_config = require_project(conn, project).get("label_config") or ""
        from pipeline.model.registry import current_model_dir
        from pipeline.model.store import read_meta

        model_labels = read_meta(kwargs.get("parent_dir") or current_model_dir()).labels
        labels = tuple(label for label in config_label_ids(label_config) if label in model_labels)
        options = replace(options, labels=labels or None)
    return retrain(corrections, options=options, progress=False, keep_rejected=keep_rejected,
                   on_progress=on_progress, **kwargs)
