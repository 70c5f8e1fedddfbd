"""Retraining from human corrections: pulled annotations → new model version → compare → promote.

1. The corrections (records pulled from Label Studio, see ``pipeline.labelstudio.sync.pull``) become gold
   documents: per document the ground-truth annotation if one is marked, else the most recently updated one
   that was not cancelled; skipped/cancelled tasks are left out.
2. The corrected documents are split by document (seeded): a held-out share is kept for evaluation, the
   rest joins the current model's training data (its saved ``config.yaml``) as a ``records`` source.
3. A new version is trained with the same config otherwise.
4. The current and the new model are evaluated on the same held-out data: the current model's validation
   documents plus the held-out corrections, each set scored on the labels it annotates. The decision metric
   is the mean of the two sets' values (or the one set's value when the other is empty).
5. The new version becomes current only if it is not worse (``force`` overrides). Its model card records the
   parent version, the data snapshot (hashes of the inputs) and both evaluations.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.document import Document
from pipeline.errors import ConfigError, InputError
from pipeline.training_data import ANNOTATED_LABELS, split_by_document

METRICS = ("span_f1", "si_f1", "slc_f1", "sentence_micro_f1", "sentence_macro_f1", "paragraph_micro_f1")


def _updated(record: Mapping[str, Any]) -> str:
    return str(record.get("updated_at") or record.get("created_at") or "")


def corrections_to_documents(records: Iterable[Mapping[str, Any]], labels: Iterable[str]) -> list[Document]:
    """One gold document per corrected document (see the module docstring for which annotation wins)."""
    wanted = list(labels)
    by_document: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        if record.get("was_cancelled"):
            continue
        by_document.setdefault(record["id"], []).append(record)
    documents = []
    for doc_id, candidates in sorted(by_document.items()):
        chosen = max(candidates, key=lambda r: (bool(r.get("ground_truth")), _updated(r)))
        text = chosen["text"]
        document = Document(doc_id, text, {
            ANNOTATED_LABELS: wanted,
            "annotator": chosen.get("annotator"),
            "annotation_id": chosen.get("annotation_id"),
            "prediction_model_version": chosen.get("prediction_model_version"),
        })
        spans = []
        for span in chosen.get("spans") or ():
            if span.get("label") not in wanted:
                continue
            spans.append(document.span(span["start"], span["end"], span["label"], source="gold",
                                       attributes=span.get("attributes") or {}))
        documents.append(document.with_spans(spans))
    return documents


def _write_records(path: Path, documents: Iterable[Document]) -> str:
    with path.open("w", encoding="utf-8") as handle:
        for document in documents:
            handle.write(json.dumps(document.to_dict(), ensure_ascii=False) + "\n")
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _strip(document: Document) -> Document:
    return Document(document.id, document.text, document.metadata)


def evaluate_model(model_dir: Path, evaluation_sets: Mapping[str, tuple[list[Document], list[str]]]) -> dict:
    """Metrics of one model on each evaluation set (name → (gold documents, labels the set annotates))."""
    from pipeline.evaluate import evaluate_documents
    from pipeline.model.annotator import Annotator

    annotator = Annotator.load(model_dir)
    results = {}
    for name, (gold, labels) in evaluation_sets.items():
        if not gold:
            continue
        predicted = list(annotator.annotate_many(_strip(d) for d in gold))
        metrics = evaluate_documents(predicted, gold, labels=labels)
        results[name] = {k: v for k, v in metrics.items() if k in METRICS or k == "documents"}
    return results


def decision_value(results: Mapping[str, Mapping[str, Any]], metric: str) -> float:
    values = [float(r[metric]) for r in results.values() if metric in r]
    return sum(values) / len(values) if values else 0.0


@dataclass
class RetrainResult:
    new_dir: Path
    new_version: str
    parent_version: str
    metric: str
    parent_value: float
    new_value: float
    promoted: bool
    evaluations: dict


def retrain(
    corrections: Path,
    *,
    parent_dir: Path | None = None,
    out_dir: Path | None = None,
    metric: str = "span_f1",
    force: bool = False,
    heldout_fraction: float = 0.2,
    seed: int = 13,
    progress: bool = True,
) -> RetrainResult:
    from pipeline.io import read_records
    from pipeline.model.card import write_model_card
    from pipeline.model.config import DataSource, load_config
    from pipeline.model.registry import current_model_dir, models_dir, set_current
    from pipeline.model.sources import load_source
    from pipeline.model.store import read_meta, write_meta
    from pipeline.model.train import train

    if metric not in METRICS:
        raise ConfigError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
    parent_dir = Path(parent_dir) if parent_dir else current_model_dir()
    parent_meta = read_meta(parent_dir)
    parent_config = load_config(parent_dir / "config.yaml")
    corrections = Path(corrections)
    if not corrections.is_file():
        raise InputError(f"no corrections file at {corrections} (pull them with `framing ls pull`)")
    documents = corrections_to_documents(read_records(corrections), parent_meta.labels)
    if not documents:
        raise InputError(f"{corrections}: no usable (non-cancelled) annotations to train on")

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out_dir = Path(out_dir) if out_dir else models_dir() / f"{parent_config.name}-{stamp}"
    out_dir.mkdir(parents=True, exist_ok=True)
    train_ids, heldout_ids = split_by_document([d.id for d in documents], heldout_fraction, seed)
    train_docs = [d for d in documents if d.id in set(train_ids)]
    heldout_docs = [d for d in documents if d.id in set(heldout_ids)]
    data_dir = out_dir / "corrections"
    data_dir.mkdir(exist_ok=True)
    train_hash = _write_records(data_dir / "train.jsonl", train_docs)
    heldout_hash = _write_records(data_dir / "heldout.jsonl", heldout_docs)

    config = replace(
        parent_config,
        data=(*parent_config.data, DataSource(format="records", path=str((data_dir / "train.jsonl").resolve()))),
    )
    # the parent's validation documents, as gold, for the comparison
    validation_ids = set(parent_meta.validation_documents)
    base_validation = [
        d for source in parent_config.data for d in load_source(source, parent_config, parent_meta.labels)
        if d.id in validation_ids
    ]
    base_labels = sorted({label for d in base_validation for label in d.metadata.get(ANNOTATED_LABELS, [])})
    evaluation_sets = {
        "base_validation": (base_validation, base_labels),
        "corrections_heldout": (heldout_docs, list(parent_meta.labels)),
    }

    train(config, out_dir, progress=progress, parent_version=parent_meta.version)
    new_meta = read_meta(out_dir)
    parent_results = evaluate_model(parent_dir, evaluation_sets)
    new_results = evaluate_model(out_dir, evaluation_sets)
    parent_value, new_value = decision_value(parent_results, metric), decision_value(new_results, metric)
    promoted = force or new_value >= parent_value
    evaluations = {
        "metric": metric,
        "decision": f"{'promoted' if promoted else 'not promoted'}: {metric} {new_value:.4f} (new) vs "
                    f"{parent_value:.4f} (parent {parent_meta.version}){' (forced)' if force else ''}",
        "parent": parent_results,
        "new": new_results,
    }
    new_meta.metrics["evaluations"] = evaluations
    new_meta.metrics.setdefault("data", {})["corrections"] = {
        "file": str(corrections), "train_sha256_16": train_hash, "heldout_sha256_16": heldout_hash,
        "train_documents": len(train_docs), "heldout_documents": len(heldout_docs),
    }
    write_meta(out_dir, new_meta)
    write_model_card(out_dir, new_meta, config)
    if promoted:
        set_current(out_dir)
    return RetrainResult(out_dir, new_meta.version, parent_meta.version, metric, parent_value, new_value,
                         promoted, evaluations)
