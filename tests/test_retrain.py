"""Warm-start retraining from corrections: choose annotations, fine-tune the parent, compare, promote, resume."""

from __future__ import annotations

import json
import os
import re

import pytest
import yaml
from safetensors.torch import load_file

from pipeline.cli import main
from pipeline.errors import ConfigError
from pipeline.model.registry import current_model_dir, list_models
from pipeline.model.store import WEIGHTS_FILE, read_meta
from pipeline.retrain import RetrainOptions, corrections_to_documents, retrain
from tests.model_fixtures import LABELS, LOADED, toy_documents


def pulled_record(doc_id, text, spans, annotation_id, updated, **extra):
    return {"id": doc_id, "text": text, "task_id": annotation_id, "annotation_id": annotation_id,
            "annotator": "ana@example.org", "created_at": updated, "updated_at": updated, "lead_time": 4.2,
            "was_cancelled": False, "ground_truth": False, "prediction_model_version": "tiny-x",
            "spans": spans, "choices": {}, **extra}


def corrections_file(tmp_path, count=10, name="pulled.jsonl"):
    texts = [f"Report {i}: the corrupt officials hid the losses again. Nobody knows why." for i in range(count)]
    records = [
        pulled_record(f"new-{i}", text, [{"start": m.start(), "end": m.end(), "label": "loaded_language"}
                                         for m in LOADED.finditer(text)], i + 1, "2026-02-01T00:00:00")
        for i, text in enumerate(texts)
    ]
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def weights(model_dir):
    return load_file(str(model_dir / WEIGHTS_FILE))


def cli(capsys, *args):
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


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


def test_a_plain_records_file_with_only_some_labels_teaches_only_those():
    """Another tool's export: id, text, spans, no Label Studio fields; it annotates loaded_language only."""
    text = "The corrupt regime lied. Was it really an accident?"
    record = {"id": 7, "text": text, "spans": [{"start": 4, "end": 18, "label": "loaded_language"},
                                               {"start": 25, "end": 51, "label": "doubt"}]}
    (document,) = corrections_to_documents([record], ["loaded_language"])
    assert document.id == "7" and document.metadata["annotated_labels"] == ["loaded_language"]
    assert [(text[s.start:s.end], s.label) for s in document.spans] == [("corrupt regime", "loaded_language")]


def test_warm_start_retrain_through_the_cli_fine_tunes_the_parent_and_records_lineage(models_root, tmp_path,
                                                                                        capsys):
    parent = current_model_dir()
    parent_meta = read_meta(parent)
    out = tmp_path / "elsewhere" / "v2"  # outside models/
    code, stdout, stderr = cli(capsys, "retrain", "--from", corrections_file(tmp_path), "--out", out,
                               "--labels", "loaded_language", "--max-steps", "3", "--threads", "1", "--force",
                               "--no-progress")
    assert code == 0, stderr
    assert "is now the current model" in stdout and "loaded_language" in stdout  # per-label summary
    meta = read_meta(out)
    assert meta.parent_version == parent_meta.version and meta.metrics["training"]["steps"] == 3
    assert current_model_dir().resolve() == out.resolve()  # promoted although outside the models folder
    # warm start: three small steps away from the parent, far from the untrained base
    new, old = weights(out), weights(parent)
    moved = max((new[k].float() - old[k].float()).abs().max().item() for k in old)
    assert moved < 0.05
    evaluations = meta.metrics["evaluations"]
    assert set(evaluations["parent"]) == set(evaluations["new"])
    assert "corrections_heldout" in evaluations["new"] and any(k.startswith("validation:") for k in evaluations["new"])
    snapshot = meta.metrics["data"]["corrections"]
    assert snapshot["train_documents"] == 8 and snapshot["heldout_documents"] == 2
    assert snapshot["labels"] == ["loaded_language"]
    card = (out / "model-card.md").read_text()
    assert parent_meta.version in card and "Comparison with the parent version" in card and "Warm start from" in card
    assert "| corrections_heldout | loaded_language |" in card
    # the saved recipe is the parent's, plus the corrections as a train-only source
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["hyperparameters"]["learning_rate"] == read_meta_config(parent)["hyperparameters"]["learning_rate"]
    assert saved["data"][-1]["format"] == "records" and saved["data"][-1]["train_only"] is True
    from pipeline.model.config import load_config
    from pipeline.model.sources import load_source

    config = load_config(out / "config.yaml")
    reloaded = load_source(config.data[-1], config, meta.labels)
    assert {tuple(d.metadata["annotated_labels"]) for d in reloaded} == {("loaded_language",)}
    assert not (out / "retrain-state.json").exists() and not (out / "checkpoint").exists()
    versions = [(e.meta.version, e.current) for e in list_models()]
    assert (parent_meta.version, False) in versions


def read_meta_config(model_dir):
    return yaml.safe_load((model_dir / "config.yaml").read_text())


def test_resume_reaches_the_same_weights_as_an_uninterrupted_run(models_root, tmp_path):
    corrections = corrections_file(tmp_path)
    options = RetrainOptions(max_steps=6, force=True)
    whole = retrain(corrections, out_dir=tmp_path / "whole", options=options, promote=False, progress=False)
    interrupted = tmp_path / "interrupted"
    retrain(corrections, out_dir=interrupted, options=options, promote=False, progress=False, stop_after_steps=3)
    assert (interrupted / "checkpoint").is_dir() and not (interrupted / "framing-model.json").exists()
    with pytest.raises(ConfigError, match="other inputs or options"):
        retrain(corrections, out_dir=interrupted, options=RetrainOptions(max_steps=7), resume=True, progress=False)
    resumed = retrain(corrections, out_dir=interrupted, options=options, resume=True, promote=False, progress=False)
    first, second = weights(whole.new_dir), weights(resumed.new_dir)
    assert all(first[k].equal(second[k]) for k in first)


def test_a_worse_version_is_not_promoted_unless_forced_and_can_be_discarded(models_root, tmp_path, capsys):
    parent = current_model_dir()
    # corrections that call the first word of every sentence loaded language, trained hard without replay: the new
    # version contradicts the parent's validation documents
    records = []
    for i, document in enumerate(toy_documents(2)):
        spans = [{"start": m.start(), "end": m.end(), "label": "loaded_language"}
                 for m in re.finditer(r"(?:^|(?<=\. ))\w+", document.text)]
        records.append(pulled_record(document.id + "-c", document.text, spans, i + 1, "2026-02-01T00:00:00"))
    corrections = tmp_path / "pulled.jsonl"
    corrections.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    options = RetrainOptions(epochs=30, replay=0.0, heldout_fraction=0.0, metric="span_f1")
    result = retrain(corrections, options=options, keep_rejected=False, progress=False)
    assert result.new_value < result.parent_value and not result.promoted
    assert current_model_dir().resolve() == parent.resolve()
    assert result.new_dir is None and [e.path.name for e in list_models()] == [parent.name]  # nothing stray
    code, stdout, _ = cli(capsys, "retrain", "--from", corrections, "--epochs", "30", "--replay", "0",
                          "--heldout", "0", "--force", "--no-progress")
    assert code == 0 and "(forced)" in stdout
    assert current_model_dir().resolve() != parent.resolve()


def test_data_sources_resolve_through_the_data_root_from_any_working_directory(models_root, tmp_path, monkeypatch,
                                                                              capsys):
    """A parent whose config names its corpus as ../shared/data/<corpus> finds it under $FRAMING_DATA_ROOT."""
    parent = current_model_dir()
    config = read_meta_config(parent)
    corpus_root = tmp_path / "corpora"
    (corpus_root / "toy").mkdir(parents=True)
    original = (parent / config["data"][0]["path"]).resolve()
    (corpus_root / "toy" / "toy.jsonl").write_bytes(original.read_bytes())
    config["data"][0]["path"] = "../../somewhere/shared/data/toy/toy.jsonl"
    (parent / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    corrections = corrections_file(tmp_path)
    out = tmp_path / "v-missing"

    monkeypatch.setenv("FRAMING_DATA_ROOT", str(tmp_path / "nowhere"))
    code, _, stderr = cli(capsys, "retrain", "--from", corrections, "--out", out, "--max-steps", "1", "--no-progress")
    assert code == 2 and "FRAMING_DATA_ROOT" in stderr and "toy/toy.jsonl" in stderr
    assert "Traceback" not in stderr and not out.exists()  # nothing written before the inputs were readable

    monkeypatch.setenv("FRAMING_DATA_ROOT", str(corpus_root))
    code, _, stderr = cli(capsys, "retrain", "--from", corrections, "--out", out, "--max-steps", "1",
                          "--force", "--no-progress")
    assert code == 0, stderr
    assert read_meta(out).metrics["warm_start"]["replay_windows"] > 0  # replayed the parent's corpus


def test_failures_leave_no_stray_folder(models_root, tmp_path, monkeypatch, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "text": "short", "spans": [{"start": 2, "end": 99, "label": "doubt"}]}\n')
    out = tmp_path / "v-bad"
    code, _, stderr = cli(capsys, "retrain", "--from", bad, "--out", out, "--no-progress")
    assert code == 2 and "bad.jsonl" in stderr and not out.exists()

    import pipeline.model.train

    def broken(*args, **kwargs):
        (out / "checkpoint-partial").mkdir()
        raise RuntimeError("disk full")

    monkeypatch.setattr(pipeline.model.train, "train", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        retrain(corrections_file(tmp_path), out_dir=out, progress=False)
    assert not out.exists()
    existing = tmp_path / "busy"
    existing.mkdir()
    (existing / "keep.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty"):
        retrain(corrections_file(tmp_path), out_dir=existing, progress=False)
    assert (existing / "keep.txt").read_text() == "mine"


def test_an_averaged_parent_is_warm_started_from_the_average(models_root, tmp_path, capsys):
    first = current_model_dir()
    second = retrain(corrections_file(tmp_path), out_dir=models_root / "tiny-v2",
                     options=RetrainOptions(max_steps=2, heldout_fraction=0.0, compare=False), promote=False,
                     progress=False).new_dir
    mean = models_root / "tiny-mean"
    code, _, stderr = cli(capsys, "models", "average", first, second, "--out", mean)
    assert code == 0, stderr
    result = retrain(corrections_file(tmp_path, name="more.jsonl"), parent_dir=mean, out_dir=tmp_path / "child",
                     options=RetrainOptions(max_steps=1, force=True), promote=False, progress=False)
    assert read_meta(result.new_dir).parent_version == read_meta(mean).version
    new, start = weights(result.new_dir), weights(mean)
    assert max((new[k].float() - start[k].float()).abs().max().item() for k in start) < 0.05
    assert os.path.isdir(result.new_dir)


def test_a_full_pull_restarts_from_the_origin_and_new_corrections_alone_continue_from_the_parent(models_root,
                                                                                                   tmp_path):
    """Retraining a warm-started version on a file that repeats its corrections (a full pull) starts again from
    the model it started from, so repeated retrains do not fit the same corrections twice; a file of new
    corrections only continues from the current version."""
    origin = read_meta(current_model_dir())
    first = corrections_file(tmp_path, count=6, name="first.jsonl")
    options = RetrainOptions(max_steps=2, heldout_fraction=0.0, force=True)
    v2 = retrain(first, options=options, out_dir=models_root / "v2", progress=False).new_dir
    assert read_meta(v2).metrics["warm_start"]["origin"] == origin.version
    full = tmp_path / "full.jsonl"  # the first six corrections and four more
    full.write_text(corrections_file(tmp_path, count=10, name="all.jsonl").read_text(), encoding="utf-8")
    v3 = retrain(full, options=options, out_dir=models_root / "v3", progress=False).new_dir
    warm = read_meta(v3).metrics["warm_start"]
    assert read_meta(v3).parent_version == read_meta(v2).version and warm["origin"] == origin.version
    new_only = tmp_path / "new.jsonl"
    new_only.write_text("".join(full.read_text().splitlines(keepends=True)[6:]), encoding="utf-8")
    v4 = retrain(new_only, options=options, out_dir=models_root / "v4", progress=False).new_dir
    assert read_meta(v4).metrics["warm_start"]["origin"] == read_meta(v3).version
