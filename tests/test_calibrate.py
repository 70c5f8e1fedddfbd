"""Threshold calibration: per-label span thresholds, then the joint re-tuning for span identification (SI)."""

from __future__ import annotations

import re

import numpy as np

from pipeline.document import Span
from pipeline.evaluate import SpanIdentification
from pipeline.model.calibrate import (
    _GroupSpans,
    _LabelData,
    joint_span_thresholds,
    label_groups,
    span_f1,
    unit_decision_threshold,
)

TEXT = "The regime lies again. Critics say the vote was rigged. Officials met on Monday."


def _words(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(r"\w+", text)]


def _label_data(probs_by_word: dict[str, float], gold: list[tuple[str, str]], label: str) -> _LabelData:
    """One document whose word tokens get ``probs_by_word[word]`` (default 0.02) for ``label``; its three
    sentences are the annotated units."""
    offsets = _words(TEXT)
    probs = np.array([[probs_by_word.get(TEXT[a:b], 0.02)] for a, b in offsets], dtype=np.float32)
    spans = [Span(TEXT.index(phrase), TEXT.index(phrase) + len(phrase), name, source="gold")
             for phrase, name in gold if name == label]
    units = [m.span() for m in re.finditer(r"[^.]+\.", TEXT)]
    units = [(a + (TEXT[a] == " "), b) for a, b in units]
    data = _LabelData()
    data.documents.append((TEXT, offsets, probs, spans, units))
    data.document_indices.append(0)
    return data


GOLD = [("regime lies", "A"), ("vote was rigged", "B")]


def _si(data: dict[str, _LabelData], thresholds: dict[str, float]) -> float:
    from pipeline.model.decode import decode_spans

    scorer = SpanIdentification()
    predicted = [s for label, t in thresholds.items()
                 for s in decode_spans(TEXT, *data[label].documents[0][1:3], [label], {label: t}, source="x")]
    scorer.add(predicted, [Span(TEXT.index(p), TEXT.index(p) + len(p), n) for p, n in GOLD])
    return scorer.scores().f1


def test_joint_tuning_raises_si_where_per_label_thresholds_miss_a_phrase():
    # label A is sure of its own phrase and half-sure of B's phrase, which B itself never scores high:
    # alone, A's best threshold leaves B's phrase out; for SI (labels ignored) flagging it is right
    data = {
        "A": _label_data({"regime": 0.9, "lies": 0.9, "vote": 0.4, "was": 0.4, "rigged": 0.4}, GOLD, "A"),
        "B": _label_data({"vote": 0.08, "was": 0.08, "rigged": 0.08}, GOLD, "B"),
    }
    per_label = {label: max((span_f1(data[label], label, t), t) for t in (0.3, 0.5, 0.7))[1] for label in data}
    assert per_label["A"] >= 0.5  # A's own F1 is best without B's phrase

    (group,) = label_groups(data, ["A", "B"], min_labels=2)
    tuned, before, after = joint_span_thresholds(_GroupSpans(data, group), per_label)

    assert tuned["A"] <= 0.4 and after > before
    assert after == _si(data, tuned) > _si(data, per_label) == before


def test_small_label_groups_keep_their_per_label_thresholds():
    data = {label: _label_data({}, GOLD, label) for label in ("A", "B", "C")}
    other = _label_data({}, GOLD, "D")
    other.document_indices = [1]  # annotated in another corpus's documents
    data["D"] = other
    assert label_groups(data, ["A", "B", "C", "D"], min_labels=2) == [["A", "B", "C"]]
    assert label_groups(data, ["A", "B", "C", "D"]) == []  # default: groups of 4 labels or more


def test_sentence_threshold_is_tuned_for_the_label_a_sentence_gets_from_either_head():
    # unit 0 is the only positive. Its span is found (0.9); its sentence score (0.3) is lower than the false
    # alarm of unit 1 (0.4). Alone, the sentence head's best threshold (0.3) flags both units; given that the
    # span already flags unit 0, the best sentence threshold is above every unit's score.
    data = _label_data({"regime": 0.9, "lies": 0.9}, [("regime lies", "A")], "A")
    data.unit_probs, data.unit_gold = [0.3, 0.4, 0.1], [1, 0, 0]
    threshold, f1 = unit_decision_threshold(data, "A", span_threshold=0.5)
    assert f1 == 1.0 and threshold > 0.4
    # without a span head the decision is the sentence head's alone
    threshold, f1 = unit_decision_threshold(data, "A", span_threshold=None)
    assert threshold <= 0.3 and abs(f1 - 2 / 3) < 1e-9


def _framing(capsys, *args: str) -> tuple[int, str]:
    from pipeline.cli import main

    try:
        main(list(args))
        status = 0
    except SystemExit as exit_:
        status = exit_.code
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def test_models_calibrate_writes_a_new_version_and_leaves_the_original(models_root, capsys):
    from pipeline.model.annotator import Annotator
    from pipeline.model.registry import current_model_dir
    from pipeline.model.store import read_meta

    parent = models_root / "tiny-v1"
    parent_files = {p.name: p.read_bytes() for p in parent.iterdir() if p.is_file()}
    out = models_root / "tiny-v1-recalibrated"
    status, output = _framing(capsys, "models", "calibrate", str(parent), "--out", str(out), "--set-current")
    assert status == 0, output

    assert {p.name: p.read_bytes() for p in parent.iterdir() if p.is_file()} == parent_files
    meta, parent_meta = read_meta(out), read_meta(parent)
    assert meta.parent_version == parent_meta.version != meta.version
    assert (out / "weights.safetensors").read_bytes() == parent_files["weights.safetensors"]
    assert meta.validation_documents == parent_meta.validation_documents
    assert current_model_dir().resolve() == out.resolve()
    text = "The corrupt regime lied again. Critics doubt the official figures."
    document = Annotator.load().annotate(text)
    assert all(text[s.start:s.end] for s in document.spans)

    status, output = _framing(capsys, "models", "calibrate", str(parent), "--out", str(out))
    assert status == 2 and "already exists" in output


def _train_variant(models_root, name: str, **changes):
    import dataclasses

    from pipeline.model.config import load_config
    from pipeline.model.train import train

    config = load_config(models_root.parent / "tiny.yaml")
    hyperparameters = dataclasses.replace(config.hyperparameters, **changes.pop("hyperparameters", {}))
    return train(dataclasses.replace(config, hyperparameters=hyperparameters, **changes), models_root / name,
                 progress=False)


def test_models_average_writes_the_mean_of_the_weights_as_a_new_version(models_root, capsys):
    import torch
    from safetensors.torch import load_file

    from pipeline.model.annotator import Annotator
    from pipeline.model.store import read_meta

    first = models_root / "tiny-v1"
    second = _train_variant(models_root, "tiny-lr", hyperparameters={"learning_rate": 5e-4})
    before = {d: (d / "weights.safetensors").read_bytes() for d in (first, second)}
    out = models_root / "tiny-soup"
    status, output = _framing(capsys, "models", "average", str(first), str(second), "--out", str(out))
    assert status == 0, output

    assert {d: (d / "weights.safetensors").read_bytes() for d in (first, second)} == before  # members untouched
    a, b = load_file(str(first / "weights.safetensors")), load_file(str(second / "weights.safetensors"))
    mean = load_file(str(out / "weights.safetensors"))
    assert mean.keys() == a.keys()
    for name in a:
        assert torch.allclose(mean[name].float(), (a[name].float() + b[name].float()) / 2, atol=1e-3)
    meta = read_meta(out)
    assert meta.metrics["averaged_from"] == [read_meta(first).version, read_meta(second).version]
    assert meta.parent_version == read_meta(first).version and meta.version not in meta.metrics["averaged_from"]
    assert "the mean of those of" in (out / "model-card.md").read_text()
    text = "The corrupt regime lied again. Critics doubt the official figures."
    assert all(text[s.start:s.end] for s in Annotator.load(out).annotate(text).spans)


def test_the_mean_holds_out_only_the_test_documents_every_member_held_out(models_root, capsys):
    # a member trained on a document another member held out (the seed set's documents train when its own test
    # file is the held-out set): the mean can be tested only on the documents both held out
    import shutil

    from pipeline.model.store import read_meta, write_meta

    first, second = models_root / "tiny-v1", models_root / "tiny-copy"
    shutil.copytree(first, second)
    for directory, held_out in ((first, ["doc-a", "doc-b", "doc-c"]), (second, ["doc-a", "doc-c"])):
        meta = read_meta(directory)
        meta.test_documents = held_out
        write_meta(directory, meta)
    out = models_root / "tiny-soup"
    status, output = _framing(capsys, "models", "average", str(first), str(second), "--out", str(out))
    assert status == 0, output
    assert read_meta(out).test_documents == ["doc-a", "doc-c"]

    meta = read_meta(second)
    meta.test_documents = ["doc-z"]
    write_meta(second, meta)
    status, output = _framing(capsys, "models", "average", str(first), str(second), "--out", str(models_root / "x"))
    assert status == 2 and "share no held-out test document" in output


def test_models_trained_on_another_split_are_not_averaged(models_root, capsys):
    other = _train_variant(models_root, "tiny-seed", seed=99)
    out = models_root / "tiny-soup"
    status, output = _framing(capsys, "models", "average", str(models_root / "tiny-v1"), str(other), "--out", str(out))
    assert status == 2 and "differ in their validation documents" in output
    assert not out.exists()
    status, output = _framing(capsys, "models", "average", str(other), "--out", str(out))
    assert status == 2 and "at least two" in output
