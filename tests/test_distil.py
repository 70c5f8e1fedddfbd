"""Distillation: a teacher's soft scores reach the student's training targets through character offsets."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from pipeline.errors import ConfigError
from pipeline.model.base import load_tokenizer
from pipeline.model.config import config_from_dict, load_config
from pipeline.model.distil import TeacherScores, load_teacher, score_documents, soften_row
from pipeline.model.sources import prepare
from tests.model_fixtures import LABELS, TOY_TEXTS, tiny_config, toy_documents, trained_model  # noqa: F401


def row(sentence_supervised, token_supervised, sentence_labels, token_labels, offsets, owners):
    return {"doc_id": "d", "input_ids": [0] * len(offsets), "offsets": offsets, "token_sentence": owners,
            "sentence_bounds": [[0, 10]], "sentence_labels": sentence_labels,
            "sentence_supervised": sentence_supervised, "token_supervised": token_supervised,
            "token_labels": token_labels}


def test_gold_is_blended_with_the_teacher_and_unknown_labels_learn_the_teacher_alone():
    characters = np.zeros((10, 2), dtype=np.float32)
    characters[2:4] = [0.8, 0.6]  # a teacher token over characters 2-4
    characters[3] = [0.9, 0.7]  # and another, overlapping the same student token
    scores = TeacherScores(characters, {(0, 10): np.array([0.9, 0.4], dtype=np.float32)}, np.array([True, True]))
    # label 0 is annotated (gold 1 on the sentence and the token), label 1 is not annotated in this sentence
    softened = soften_row(row([[1, 0]], [[1, 0]], [[1, 0]], [[0, 0], [1, 0], [0, 0]],
                              [[0, 0], [2, 5], [6, 9]], [-1, 0, 0]), scores, weight=0.25)
    assert softened["sentence_labels"] == [[pytest.approx(0.75 + 0.25 * 0.9), pytest.approx(0.4)]]
    assert softened["sentence_supervised"] == [[1, 1]] and softened["token_supervised"] == [[1, 1]]
    special, covered, outside = softened["token_labels"]
    assert special == [0, 0]  # no characters (a special token): untouched
    assert covered == [pytest.approx(0.75 + 0.25 * 0.9), pytest.approx(0.7)]  # the highest teacher score it covers
    assert outside == [0.0, 0.0]  # annotated negative blended with a teacher score of 0; unannotated: teacher 0


def test_a_label_the_teacher_does_not_emit_keeps_its_gold_supervision_only():
    scores = TeacherScores(np.full((10, 2), 0.9, dtype=np.float32), {(0, 10): np.array([0.9, 0.9])},
                           np.array([True, False]))
    softened = soften_row(row([[0, 0]], [[0, 0]], [[0, 0]], [[0, 0]], [[0, 3]], [0]), scores, weight=0.5)
    assert softened["sentence_supervised"] == [[1, 0]]
    assert softened["sentence_labels"][0][1] == 0 and softened["token_labels"][0][1] == 0


def test_the_teacher_must_see_the_sentences_the_student_sees():
    scores = TeacherScores(np.zeros((10, 1), dtype=np.float32), {(0, 9): np.zeros(1)}, np.array([True]))
    with pytest.raises(ConfigError, match="other sentences"):
        soften_row(row([[1]], [[1]], [[0]], [[0]], [[0, 3]], [0]), scores, weight=0.5)


def test_teacher_scores_cover_each_character_of_its_tokens(trained_model):  # noqa: F811
    teacher = load_teacher(trained_model)
    document = toy_documents(1)[0]
    scores = score_documents(teacher, [document], ["loaded_language", "no_such_label"])[document.id]
    assert scores.characters.shape == (len(document.text), 2)
    assert list(scores.scored) == [True, False]
    assert set(scores.sentences) == {(s.start, s.end) for s in document.sentences}
    loaded = document.text.index("corrupt")
    assert scores.characters[loaded, 0] > scores.characters[document.text.index("Officials"), 0]


def test_a_source_of_text_only_needs_a_teacher(tmp_path):
    with pytest.raises(ConfigError, match="needs a teacher"):
        config_from_dict({"data": [{"format": "texts", "path": "x", "supervision": "teacher"}]})


def test_a_distilled_student_trains_on_unlabelled_text_through_the_cli(trained_model, tiny_encoder_dir,  # noqa: F811
                                                                       tmp_path, capsys):
    from pipeline.cli import main

    data = tmp_path / "data"
    (data / "unlabelled").mkdir(parents=True)
    (data / "toy.jsonl").write_text("".join(json.dumps(d.to_dict()) + "\n" for d in toy_documents(2)),
                                    encoding="utf-8")
    for number, text in enumerate(TOY_TEXTS):
        (data / "unlabelled" / f"u{number}.txt").write_text(text.replace("The", "Then the"), encoding="utf-8")
    config = tiny_config(tiny_encoder_dir, epochs=2).to_dict()
    config.update(labels=LABELS, validation_fraction=0.3, distil={"teacher": str(trained_model), "weight": 0.5},
                  data=[{"format": "records", "path": "data/toy.jsonl"},
                        {"format": "texts", "path": "data/unlabelled", "supervision": "teacher"}])
    config_path = tmp_path / "student.yaml"
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")

    loaded = load_config(config_path)
    data_ready = prepare(loaded, load_tokenizer(tiny_encoder_dir))
    unlabelled = [r for r in data_ready.train_rows if r["doc_id"].startswith("texts:")]
    assert {r["doc_id"] for r in unlabelled} == {f"texts:u{n}.txt" for n in range(len(TOY_TEXTS))}
    assert all(flag == 1 for r in unlabelled for flags in r["sentence_supervised"] for flag in flags[:1])
    assert any(0 < value < 1 for r in unlabelled for flags in r["token_labels"] for value in flags)
    # validation keeps gold targets only: the teacher never sees validation or test documents
    assert all(value in (0, 1) for r in data_ready.validation_rows for flags in r["token_labels"] for value in flags)
    assert not {r["doc_id"] for r in data_ready.train_rows} & set(data_ready.validation_ids)

    out = tmp_path / "student"
    main(["train", "--config", str(config_path), "--out", str(out), "--no-progress"])  # exits only on failure
    saved = load_config(out / "config.yaml")
    assert saved.resolve(saved.distil.teacher) == trained_model.resolve()
    card = (out / "model-card.md").read_text(encoding="utf-8")
    assert "Distilled from the teacher" in card and "teaches" not in card  # every label it emits


def test_initial_weights_start_training_from_an_existing_version(trained_model, tiny_encoder_dir, tmp_path):  # noqa: F811
    from safetensors.torch import load_file

    from pipeline.model.store import WEIGHTS_FILE
    from pipeline.model.train import train

    data = tmp_path / "toy.jsonl"
    data.write_text("".join(json.dumps(d.to_dict()) + "\n" for d in toy_documents(2)), encoding="utf-8")
    config = tiny_config(tiny_encoder_dir, epochs=1, learning_rate=0.0, head_learning_rate=0.0).to_dict()
    config.update(labels=LABELS, validation_fraction=0.3, initial_weights=str(trained_model),
                  data=[{"format": "records", "path": str(data)}])
    config_path = tmp_path / "warm.yaml"
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    out = train(load_config(config_path), tmp_path / "warm", progress=False)
    start, trained = load_file(str(trained_model / WEIGHTS_FILE)), load_file(str(out / WEIGHTS_FILE))
    assert set(start) == set(trained)
    assert all((start[name].float() == trained[name].float()).all() for name in start)  # no step moved them
    assert load_config(out / "config.yaml").resolve(load_config(out / "config.yaml").initial_weights) == \
        trained_model.resolve()
    assert f"Training started from the weights of `{trained_model.name}`" in \
        (out / "model-card.md").read_text(encoding="utf-8")


def test_the_teacher_teaches_only_the_labels_it_is_given(trained_model):  # noqa: F811
    teacher = load_teacher(trained_model)
    document = toy_documents(1)[0]
    scores = score_documents(teacher, [document], ["loaded_language", "doubt"], taught=["loaded_language"])
    assert list(scores[document.id].scored) == [True, False]
    # the teacher emits loaded_language only: asked to teach doubt alone, it has nothing to teach
    with pytest.raises(ConfigError, match="emits none of the labels it should teach"):
        score_documents(teacher, [document], ["loaded_language", "doubt"], taught=["doubt"])
    with pytest.raises(ConfigError, match="distil.labels: no_such_label not among the student's labels"):
        score_documents(teacher, [document], ["loaded_language", "doubt"], taught=["no_such_label"])


def test_held_out_texts_are_never_shown_to_the_teacher(trained_model, tiny_encoder_dir, tmp_path,  # noqa: F811
                                                       monkeypatch):
    """A held-out test set's document may also be training text of another source (the seed test set's PTC
    articles are SemEval-2023 training articles): it keeps its gold targets, and the teacher never scores it."""
    import pipeline.model.distil as distil
    from pipeline.standoff import text_sha1

    documents = toy_documents(2)
    held = documents[0]
    root = tmp_path / "data"
    (root / "semeval2025-task10-en" / "raw-documents").mkdir(parents=True)
    (root / "semeval2025-task10-en" / "raw-documents" / f"{held.id}.txt").write_text(held.text, encoding="utf-8")
    sentence = held.sentences[0]
    unit = {"corpus": "semeval2025", "doc_id": held.id, "start": sentence.start, "end": sentence.end,
            "sha1": text_sha1(held.text[sentence.start:sentence.end]), "split": "test", "annotator": "a",
            "guideline_version": "1", "spans": []}
    (tmp_path / "test-set.jsonl").write_text(json.dumps(unit) + "\n", encoding="utf-8")
    monkeypatch.setenv("FRAMING_DATA_ROOT", str(root))
    (tmp_path / "toy.jsonl").write_text("".join(json.dumps(d.to_dict()) + "\n" for d in documents), encoding="utf-8")
    config = tiny_config(tiny_encoder_dir).to_dict()
    config.update(labels=LABELS, validation_fraction=0.3,
                  distil={"teacher": str(trained_model), "labels": ["loaded_language"],
                          "held_out": [str(tmp_path / "test-set.jsonl")]},
                  data=[{"format": "records", "path": str(tmp_path / "toy.jsonl")}])
    shown: list[str] = []
    scored = distil.score_documents

    def recording(annotator, docs, *args):
        docs = list(docs)
        shown.extend(d.id for d in docs)
        return scored(annotator, docs, *args)

    monkeypatch.setattr(distil, "score_documents", recording)
    data_ready = prepare(config_from_dict(config), load_tokenizer(tiny_encoder_dir))
    assert held.id in data_ready.train_ids and held.id not in shown
    assert set(shown) == set(data_ready.train_ids) - {held.id}
    rows = {r["doc_id"]: r for r in data_ready.train_rows}
    assert all(value in (0, 1) for flags in rows[held.id]["token_labels"] for value in flags)
    assert any(0 < value < 1 for doc_id in shown for flags in rows[doc_id]["token_labels"] for value in flags)


def test_a_text_file_is_excluded_by_the_name_a_stand_off_file_gives_it(tmp_path, monkeypatch):
    from pipeline.model.sources import load_source
    from pipeline.standoff import text_sha1

    texts = tmp_path / "texts"
    texts.mkdir()
    for name in ("EN_UA_1", "EN_UA_2"):
        (texts / f"{name}.txt").write_text(f"{name} said the regime lied.", encoding="utf-8")
    root = tmp_path / "data" / "semeval2025-task10-en" / "raw-documents"
    root.mkdir(parents=True)
    (root / "EN_UA_1.txt").write_text("EN_UA_1 said the regime lied.", encoding="utf-8")
    unit = {"corpus": "semeval2025", "doc_id": "EN_UA_1", "start": 0, "end": 29,
            "sha1": text_sha1("EN_UA_1 said the regime lied."), "split": "test", "annotator": "a",
            "guideline_version": "1", "spans": []}
    (tmp_path / "test-set.jsonl").write_text(json.dumps(unit) + "\n", encoding="utf-8")
    monkeypatch.setenv("FRAMING_DATA_ROOT", str(tmp_path / "data"))
    source = {"format": "texts", "path": str(texts), "supervision": "teacher",
              "exclude": str(tmp_path / "test-set.jsonl")}
    config = config_from_dict({"distil": {"teacher": "t"}, "data": [source]})
    assert [d.id for d in load_source(config.data[0], config, LABELS)] == ["texts:EN_UA_2.txt"]


def test_distil_settings_and_multiple_exclusions_are_checked_and_saved(tmp_path):
    from pipeline.model.config import saved_config_yaml

    with pytest.raises(ConfigError, match="held_out: expected a list"):
        config_from_dict({"distil": {"teacher": "t", "held_out": "test.jsonl"}})
    with pytest.raises(ConfigError, match="distil.precision: expected one of"):
        config_from_dict({"distil": {"teacher": "t", "precision": "fp8"}})
    config = config_from_dict({"distil": {"teacher": "teacher", "held_out": ["sets/test.jsonl"]},
                               "data": [{"format": "semeval2025", "path": "corpus", "supervision": "teacher",
                                         "exclude": ["sets/a.jsonl", "sets/b.jsonl"]}]}, base_dir=tmp_path)
    assert config.data[0].excluded_files == ("sets/a.jsonl", "sets/b.jsonl")
    saved = config_from_dict(yaml.safe_load(saved_config_yaml(config, tmp_path / "model")),
                             base_dir=tmp_path / "model")
    assert [saved.resolve_data(p) for p in saved.data[0].excluded_files] == \
        [tmp_path / "sets" / "a.jsonl", tmp_path / "sets" / "b.jsonl"]
    assert saved.resolve_data(saved.distil.held_out[0]) == tmp_path / "sets" / "test.jsonl"
