"""Retraining from pulled corrections: choose annotations, train a new version, compare, promote."""

from __future__ import annotations

import json

from pipeline.model.registry import current_model_dir, list_models
from pipeline.model.store import read_meta
from pipeline.retrain import corrections_to_documents, retrain
from tests.model_fixtures import LABELS, LOADED, toy_documents


def pulled_record(doc_id, text, spans, annotation_id, updated, **extra):
    return {"id": doc_id, "text": text, "task_id": annotation_id, "annotation_id": annotation_id,
            "annotator": "ana@example.org", "created_at": updated, "updated_at": updated, "lead_time": 4.2,
            "was_cancelled": False, "ground_truth": False, "prediction_model_version": "tiny-x",
            "spans": spans, "choices": {}, **extra}


def test_corrections_choose_ground_truth_then_latest_and_skip_cancelled():
    text = "The corrupt regime lied."
    span = {"start": 4, "end": 18, "label": "loaded_language"}
    records = [
        pulled_record("a", text, [span], 1, "2026-01-01T10:00:00"),
        pulled_record("a", text, [], 2, "2026-01-02T10:00:00"),  # later: wins
        pulled_record("b", text, [span], 3, "2026-01-01T10:00:00", ground_truth=True),  # ground truth wins
        pulled_record("b", text, [], 4, "2026-01-05T10:00:00"),
        pulled_record("c", text, [span], 5, "2026-01-01T10:00:00", was_cancelled=True),  # skipped task
        pulled_record("d", text, [{"start": 0, "end": 3, "label": "not_in_model"}], 6, "2026-01-01T10:00:00"),
    ]
    documents = {d.id: d for d in corrections_to_documents(records, LABELS)}
    assert sorted(documents) == ["a", "b", "d"]
    assert documents["a"].spans == ()
    assert [(s.start, s.end, s.label) for s in documents["b"].spans] == [(4, 18, "loaded_language")]
    assert documents["b"].text[4:18] == "corrupt regime"
    assert documents["d"].spans == ()  # labels the model does not know are left out
    assert documents["a"].metadata["annotated_labels"] == LABELS


def test_retrain_trains_compares_and_records_lineage(models_root, tmp_path):
    parent = current_model_dir()
    parent_meta = read_meta(parent)
    texts = [f"Report {i}: the corrupt officials hid the losses again." for i in range(10)]
    records = [
        pulled_record(f"new-{i}", text, [{"start": m.start(), "end": m.end(), "label": "loaded_language"}
                                         for m in LOADED.finditer(text)], i + 1, "2026-02-01T00:00:00")
        for i, text in enumerate(texts)
    ]
    corrections = tmp_path / "pulled.jsonl"
    corrections.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")

    result = retrain(corrections, metric="span_f1", force=True, progress=False)
    meta = read_meta(result.new_dir)
    assert meta.parent_version == parent_meta.version
    assert result.promoted and current_model_dir().resolve() == result.new_dir.resolve()
    evaluations = meta.metrics["evaluations"]
    assert set(evaluations["parent"]) == set(evaluations["new"]) == {"base_validation", "corrections_heldout"}
    assert evaluations["new"]["corrections_heldout"]["documents"] == 2
    snapshot = meta.metrics["data"]["corrections"]
    assert snapshot["train_documents"] == 8 and len(snapshot["train_sha256_16"]) == 16
    card = (result.new_dir / "model-card.md").read_text()
    assert parent_meta.version in card and "Comparison with the parent version" in card
    versions = [(e.meta.version, e.current) for e in list_models()]
    assert (parent_meta.version, False) in versions and (meta.version, True) in versions


def test_retrain_does_not_promote_a_worse_model(models_root, tmp_path):
    parent = current_model_dir()
    # corrections that remove every loaded-language span: the new model learns to say less
    records = [pulled_record(d.id + "-c", d.text, [], i + 1, "2026-02-01T00:00:00")
               for i, d in enumerate(toy_documents(2))]
    corrections = tmp_path / "pulled.jsonl"
    corrections.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    result = retrain(corrections, metric="span_f1", progress=False)
    assert result.promoted == (result.new_value >= result.parent_value)
    if not result.promoted:
        assert current_model_dir().resolve() == parent.resolve()
