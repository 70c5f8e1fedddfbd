"""The classifier's machinery on a tiny random encoder: windows, training, save/reload, resume, decoding."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.torch import load_file

from pipeline.document import Document, Sentence, Span
from pipeline.model.annotator import Annotator
from pipeline.model.base import load_tokenizer
from pipeline.model.decode import decode_spans, sentence_labels
from pipeline.model.train import train
from pipeline.model.windows import document_windows
from pipeline.training_data import iter_window_rows, split_by_document, split_documents, split_keeping_out_of_test
from tests.model_fixtures import LABELS, LOADED, prepared, tiny_config, toy_documents, toy_sentences


def test_windows_respect_the_limit_and_index_the_text(tiny_encoder_dir):
    tokenizer = load_tokenizer(tiny_encoder_dir)
    long_sentence = "word " * 60 + "end."
    text = "Short one. " + long_sentence + " Another short one."
    sentences = [Sentence(0, 10), Sentence(11, 11 + len(long_sentence)), Sentence(12 + len(long_sentence), len(text))]
    document = Document("d", text, {}, sentences)
    windows = document_windows(tokenizer, document, max_tokens=16, stride=4)
    covered = set()
    for window in windows:
        assert len(window) <= 16
        assert window.input_ids[0] == tokenizer.cls_token_id and window.input_ids[-1] == tokenizer.sep_token_id
        for (start, end), owner in zip(window.offsets, window.token_sentence):
            if owner < 0:
                continue
            sentence = sentences[window.sentences[owner]]
            assert sentence.start <= start < end <= sentence.end
            assert text[start:end].strip() == text[start:end]
            covered.add((start, end))
    # every word of the long sentence is seen, and its chunks overlap by the stride
    assert sum(1 for s, e in covered if text[s:e] == "word") == 60
    assert len([w for w in windows if w.sentences == [1]]) >= 5


def test_token_labels_follow_overlapping_gold_spans(tiny_encoder_dir):
    tokenizer = load_tokenizer(tiny_encoder_dir)
    text = "They say the corrupt regime is doomed."
    spans = [Span(13, 27, "loaded_language", source="gold"), Span(0, 38, "doubt", source="gold")]
    document = Document("d", text, {}, [Sentence(0, 38)], spans)
    (row,) = iter_window_rows([document], tokenizer, LABELS, max_tokens=32, stride=4)
    for (start, end), labels in zip(row["offsets"], row["token_labels"]):
        if end <= start:
            assert labels == [0, 0]
            continue
        assert labels[0] == (1 if 13 <= start < 27 else 0), text[start:end]
        assert labels[1] == 1
    assert row["sentence_labels"] == [[1, 1]]


def test_unannotated_labels_and_ranges_are_masked(tiny_encoder_dir):
    tokenizer = load_tokenizer(tiny_encoder_dir)
    text = "First sentence here. Second sentence here."
    metadata = {"annotated_labels": ["doubt"], "annotated_ranges": [[0, 20]]}
    document = Document("d", text, metadata, [Sentence(0, 20), Sentence(21, 42)])
    (row,) = iter_window_rows([document], tokenizer, LABELS, max_tokens=32, stride=4)
    assert row["sentence_supervised"] == [[0, 1], [0, 0]]


def test_split_by_document_is_deterministic_and_order_free():
    ids = [f"doc{i}" for i in range(40)]
    first = split_by_document(ids, 0.25, seed=7)
    second = split_by_document(list(reversed(ids)), 0.25, seed=7)
    assert first == second
    assert len(first[1]) == 10 and not set(first[0]) & set(first[1])
    assert split_by_document(ids, 0.25, seed=8) != first


def test_a_source_kept_out_of_the_internal_test_split_moves_only_its_own_documents():
    # the seed set has its own test file: its documents drawn for the model's internal test part train instead,
    # and every other document keeps its split, so old and new models share validation and corpus test documents
    corpus = [f"article{i}" for i in range(60)]
    seed = [f"seed:ptc:{i}" for i in range(40)]
    train, validation, test = split_documents(corpus + seed, 0.15, 0.15, 13)
    kept_train, kept_validation, kept_test = split_keeping_out_of_test(corpus + seed, 0.15, 0.15, 13, seed)

    assert {i for i in test if i.startswith("seed:")}  # the plain draw does put seed documents in test
    assert kept_test == [i for i in test if not i.startswith("seed:")]
    assert kept_validation == validation
    assert sorted(kept_train) == sorted(train + [i for i in test if i.startswith("seed:")])


def test_a_train_only_source_trains_and_leaves_every_other_split_as_it_was(tmp_path, tiny_encoder_dir):
    # seed wave 6 reads documents a model proposed: they must neither tune thresholds nor shift the rank-based
    # draw of the other documents (adding ids to the draw would move documents across the split boundaries)
    from pipeline.model.config import config_from_dict
    from pipeline.model.sources import prepare

    records = tmp_path / "docs.jsonl"
    extra = tmp_path / "extra.jsonl"
    records.write_text("".join(json.dumps({"id": f"doc{i}", "text": f"The regime lied {i} times."}) + "\n"
                               for i in range(40)))
    extra.write_text("".join(json.dumps({"id": f"extra{i}", "text": f"So-called elections {i}."}) + "\n"
                             for i in range(25)))
    base = {"labels": ["loaded_language"], "validation_fraction": 0.2, "test_fraction": 0.2}
    tokenizer = load_tokenizer(tiny_encoder_dir)
    alone = prepare(config_from_dict({**base, "data": [{"format": "records", "path": str(records)}]}), tokenizer)
    both = prepare(config_from_dict({**base, "data": [{"format": "records", "path": str(records)},
                                                      {"format": "records", "path": str(extra), "train_only": True}]}),
                   tokenizer)
    assert both.validation_ids == alone.validation_ids and both.test_ids == alone.test_ids
    assert sorted(both.train_ids) == sorted(alone.train_ids + [f"extra{i}" for i in range(25)])


def test_the_internal_test_option_must_be_a_boolean():
    from pipeline.errors import ConfigError
    from pipeline.model.config import config_from_dict

    config = config_from_dict({"data": [{"format": "standoff", "path": "s.jsonl", "internal_test": False}]})
    assert config.data[0].internal_test is False
    with pytest.raises(ConfigError, match="internal_test"):
        config_from_dict({"data": [{"format": "standoff", "path": "s.jsonl", "internal_test": "no"}]})


def test_trained_model_reloads_with_the_same_predictions(trained_model):
    meta = json.loads((trained_model / "framing-model.json").read_text())
    assert meta["labels"] == LABELS
    assert "loaded_language" in meta["thresholds"]
    assert "doubt" in meta["disabled"]  # no training example: reported, never emitted
    for name in ("weights.safetensors", "config.yaml", "model-card.md"):
        assert (trained_model / name).is_file()
    stored = load_file(str(trained_model / "weights.safetensors"))
    assert not any("embeddings" in key for key in stored)  # the frozen base embeddings are not copied

    documents = toy_documents(1)
    first = [d.to_dict() for d in Annotator.load(trained_model).annotate_many(documents)]
    second = [d.to_dict() for d in Annotator.load(trained_model).annotate_many(documents)]
    assert first == second
    # the tiny model overfits its toy data: it finds the loaded phrases
    found = {
        (r["id"], s["start"], s["end"]) for r in first for s in r["spans"] if s.get("source", "").startswith("model:")
    }
    gold = {(d.id, s.start, s.end) for d in documents for s in d.spans}
    assert len(found & gold) >= len(gold) // 2


def test_emitted_spans_index_the_text_and_sentences_cover_their_labels(trained_model):
    annotator = Annotator.load(trained_model)
    for document in annotator.annotate_many(toy_documents(1)):
        predicted = document.spans_from("model")
        for span in predicted:
            assert span.label in annotator.labels
            piece = document.text[span.start : span.end]
            assert piece and piece == piece.strip()
            assert 0.0 <= span.score <= 1.0
            containing = [s for s in document.sentences if s.start < span.end and span.start < s.end]
            assert any(span.label in s.labels for s in containing)
        for sentence in document.sentences:
            assert set(sentence.labels) <= set(annotator.labels)


def test_empty_and_very_long_documents(trained_model):
    annotator = Annotator.load(trained_model)
    empty = annotator.annotate(Document("empty", ""))
    assert empty.sentences == () and empty.spans == ()
    long_text = " ".join(["The corrupt regime lied again."] * 200)
    long_document = Document("long", long_text, {}, toy_sentences(long_text))
    result = annotator.annotate(long_document)
    assert len(result.sentences) == 200
    for span in result.spans_from("model"):
        assert long_text[span.start : span.end] == long_text[span.start : span.end].strip()


def test_resume_after_interruption_reaches_the_same_weights(tiny_encoder_dir, tmp_path):
    tokenizer = load_tokenizer(tiny_encoder_dir)
    data = prepared(tokenizer, toy_documents(2))
    config = tiny_config(tiny_encoder_dir, epochs=6, checkpoint_every=2, dropout=0.1)
    straight = train(config, tmp_path / "straight", prepared=data, progress=False)
    interrupted = tmp_path / "interrupted"
    train(config, interrupted, prepared=data, progress=False, stop_after_steps=3)
    assert (interrupted / "checkpoint").is_dir() and not (interrupted / "framing-model.json").exists()
    train(config, interrupted, prepared=data, progress=False, resume=True)
    a = load_file(str(straight / "weights.safetensors"))
    b = load_file(str(interrupted / "weights.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        assert np.allclose(a[key].float().numpy(), b[key].float().numpy(), atol=1e-3), key


def test_a_training_seed_trains_another_model_on_the_same_split(tiny_encoder_dir, tmp_path):
    # members of an average must share their validation documents: the training seed may not move the split
    from dataclasses import replace

    from pipeline.model.config import config_from_dict
    from pipeline.model.sources import prepare

    tokenizer = load_tokenizer(tiny_encoder_dir)
    records = tmp_path / "docs.jsonl"
    records.write_text("".join(json.dumps({"id": f"doc{i}", "text": f"The regime lied {i} times."}) + "\n"
                               for i in range(40)))
    base = {"labels": ["loaded_language"], "validation_fraction": 0.2, "test_fraction": 0.2,
            "data": [{"format": "records", "path": str(records)}]}
    drawn = prepare(config_from_dict(base), tokenizer)
    reseeded = prepare(config_from_dict({**base, "training_seed": 99}), tokenizer)
    assert (reseeded.validation_ids, reseeded.test_ids) == (drawn.validation_ids, drawn.test_ids)

    data = prepared(tokenizer, toy_documents(2))
    config = tiny_config(tiny_encoder_dir, epochs=2, dropout=0.1)  # seed 5
    weights = {}
    for name, training_seed in (("plain", None), ("same", 5), ("other", 6)):
        out = train(replace(config, training_seed=training_seed), tmp_path / name, prepared=data, progress=False)
        weights[name] = load_file(str(out / "weights.safetensors"))
    assert all(np.array_equal(weights["plain"][k].numpy(), weights["same"][k].numpy()) for k in weights["plain"])
    assert not all(np.array_equal(weights["plain"][k].numpy(), weights["other"][k].numpy()) for k in weights["plain"])


@pytest.mark.parametrize("value", [1.5, "7", True])
def test_a_training_seed_that_is_not_a_whole_number_is_refused(value):
    from pipeline.errors import ConfigError
    from pipeline.model.config import config_from_dict

    with pytest.raises(ConfigError, match="training_seed"):
        config_from_dict({"training_seed": value})


def test_decoding_widens_to_words_and_trims_punctuation():
    text = "He called them treacherous, lying traitors."
    offsets = [(0, 2), (3, 9), (10, 14), (15, 20), (20, 26), (26, 27), (28, 33), (34, 42), (42, 43)]
    probs = np.zeros((len(offsets), 1), dtype=np.float32)
    probs[4:8, 0] = 0.9  # starts mid-word ("cherous"), runs through the comma
    (span,) = decode_spans(text, offsets, probs, ["loaded_language"], {"loaded_language": 0.5}, source="model:x")
    assert text[span.start : span.end] == "treacherous, lying traitors"
    assert span.score == pytest.approx(0.9)
    assert decode_spans(text, offsets, probs, ["loaded_language"], {}, source="model:x") == []


def test_decoding_never_crosses_a_sentence_and_drops_stop_word_spans():
    import re

    text = "They lied. The corrupt elite stole it. So it is."
    offsets = [(m.start(), m.end()) for m in re.finditer(r"\w+|[^\w\s]", text)]
    tokens = [text[a:b] for a, b in offsets]
    probs = np.zeros((len(offsets), 2), dtype=np.float32)
    probs[tokens.index("lied"): tokens.index("elite") + 1, 0] = 0.9  # "lied. The corrupt elite": two sentences
    probs[tokens.index("So"): tokens.index("is") + 1, 1] = 0.9  # "So it is": stop words only
    sentences = [(0, 10), (11, 38), (39, 48)]
    spans = decode_spans(text, offsets, probs, ["loaded_language", "doubt"], {"loaded_language": 0.5, "doubt": 0.5},
                         source="model:x", sentences=sentences)
    assert [(text[s.start:s.end], s.label) for s in spans] == [("lied", "loaded_language"),
                                                               ("The corrupt elite", "loaded_language")]
    raw = decode_spans(text, offsets, probs, ["loaded_language", "doubt"], {"loaded_language": 0.5, "doubt": 0.5},
                       source="model:x", sentences=sentences, clean=False)
    assert [text[s.start:s.end] for s in raw] == ["lied. The corrupt elite", "So it is"]


def test_sentence_labels_include_labels_of_their_spans():
    sentences = [Sentence(0, 10), Sentence(11, 20)]
    probs = np.array([[0.1], [0.8]], dtype=np.float32)
    spans = [Span(2, 6, "loaded_language", 0.7, "model:x")]
    first, second = sentence_labels(sentences, probs, ["loaded_language"], {"loaded_language": 0.5}, spans)
    assert first.labels == {"loaded_language": 0.7}
    assert second.labels == {"loaded_language": pytest.approx(0.8)}
    quiet = sentence_labels(sentences, probs, ["loaded_language"], {"loaded_language": 0.9}, [], all_scores=True)
    assert quiet[1].labels == {} and quiet[1].scores == {"loaded_language": pytest.approx(0.8)}


def test_sentence_pooling_is_finite_and_exact_for_windows_with_different_sentence_counts(tiny_encoder_dir):
    import torch

    from pipeline.model.store import build_model

    model, _ = build_model(str(tiny_encoder_dir), 2, 0.0)
    model.eval()
    input_ids = torch.tensor([[101, 2000, 2001, 2002, 102], [101, 2003, 102, 0, 0]])
    attention = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    owners = torch.tensor([[-1, 0, 1, 2, -1], [-1, 0, -1, -1, -1]])  # 3 sentences, then 1
    with torch.no_grad():
        token_logits, sentence_logits = model(input_ids, attention, owners)
        hidden = model.encoder(input_ids=input_ids, attention_mask=attention).last_hidden_state
    assert sentence_logits.shape == (2, 3, 2) and torch.isfinite(sentence_logits).all()
    # a one-token sentence pools to [token, token]; an empty slot pools to zeros
    expected = model.sentence_head(torch.cat([hidden[0, 2], hidden[0, 2]]))
    assert torch.allclose(sentence_logits[0, 1], expected, atol=1e-5)
    assert torch.allclose(sentence_logits[1, 2], model.sentence_head(torch.zeros(2 * hidden.shape[-1])), atol=1e-6)


def test_blamed_actor_is_a_token_target_supervised_where_blame_is(tiny_encoder_dir):
    from pipeline.training_data import ACTOR_TARGET

    tokenizer = load_tokenizer(tiny_encoder_dir)
    text = "Officials said the governor ruined the harbour. Rain fell."
    blame = Span(19, 46, "blame_attribution", source="gold", attributes={"actor": {"start": 19, "end": 27}})
    document = Document("d", text, {"annotated_labels": ["blame_attribution"]},
                        [Sentence(0, 47), Sentence(48, 58)], [blame])
    labels = ["blame_attribution", "doubt"]
    (row,) = iter_window_rows([document], tokenizer, labels, max_tokens=40, stride=4, auxiliary=[ACTOR_TARGET])
    actor_tokens = [text[s:e] for (s, e), t in zip(row["offsets"], row["token_labels"]) if t[2]]
    assert actor_tokens == ["governor"]
    # the actor column is supervised (for tokens) where blame is, and never has a sentence target
    assert row["sentence_supervised"] == [[1, 0, 1], [1, 0, 1]]
    assert [r[2] for r in row["sentence_labels"]] == [0, 0]


def test_blame_spans_name_the_best_actor_inside_or_in_the_same_sentence():
    from pipeline.model.decode import attach_actors

    sentences = [Sentence(0, 47), Sentence(48, 80)]
    blame = Span(19, 46, "blame_attribution", 0.8, "model:x")
    other = Span(0, 9, "loaded_language", 0.9, "model:x")
    actors = [Span(19, 27, "blamed_actor", 0.7, "model:x"), Span(50, 55, "blamed_actor", 0.95, "model:x")]
    named, untouched = attach_actors([blame, other], actors, sentences)
    assert named.attributes["actor"] == {"start": 19, "end": 27, "score": 0.7}
    assert untouched.attributes == {}
    (outside,) = attach_actors([Span(30, 46, "blame_attribution", 0.8, "model:x")], actors, sentences)
    assert outside.attributes["actor"]["start"] == 19  # none inside: best in the same sentence
    (alone,) = attach_actors([blame], [], sentences)
    assert "actor" not in alone.attributes


def test_entity_roles_give_sentence_level_blame_and_an_actor_but_no_blame_tokens(tiny_encoder_dir):
    from pipeline.model.sources import entity_role_evidence
    from pipeline.training_data import ACTOR_TARGET

    text = "The minister ignored every warning. Rain fell. Nurses praised the mayor."
    mention = {"kind": "entity_mention", "main_role": "Antagonist"}
    spans = [Span(4, 12, "blame_attribution", source="gold", attributes=mention),
             Span(66, 71, None, source="gold", attributes={"kind": "entity_mention", "main_role": "Protagonist"})]
    document = entity_role_evidence(Document("EN_UA_1", text, {}, [], spans))
    assert document.metadata["annotated_ranges"] == [[0, 35], [47, 72]]  # sentences naming an entity
    (blame,) = document.spans
    assert blame.attributes["actor"] == {"start": 4, "end": 12}
    labels = ["blame_attribution", "doubt"]
    tokenizer = load_tokenizer(tiny_encoder_dir)
    (row,) = iter_window_rows([document], tokenizer, labels, max_tokens=64, stride=4, auxiliary=[ACTOR_TARGET])
    assert [r[0] for r in row["sentence_labels"]] == [1, 0, 0]
    assert [r[0] for r in row["sentence_supervised"]] == [1, 0, 1]  # "Rain fell." names no entity: unknown
    assert [r[0] for r in row["token_supervised"]] == [0, 0, 0]  # the mention is not the blaming words
    assert [r[2] for r in row["token_supervised"]] == [1, 0, 1]  # but it is the blamed actor


def test_decoding_never_cuts_a_word_at_an_apostrophe():
    text = "At Saturday's protest they shouted."
    offsets = [(0, 2), (3, 11), (11, 12), (12, 13), (14, 21), (22, 26), (27, 34), (34, 35)]
    probs = np.zeros((len(offsets), 1), dtype=np.float32)
    probs[3:5, 0] = 0.9  # the "s" after the apostrophe, and "protest"
    (span,) = decode_spans(text, offsets, probs, ["loaded_language"], {"loaded_language": 0.5}, source="model:x")
    assert text[span.start : span.end] == "Saturday's protest"


def test_hugging_face_datasets_keep_offsets_and_multi_hot_labels(tiny_encoder_dir):
    from pipeline.training_data import sentence_examples, window_examples

    documents = toy_documents(1)
    sentences = sentence_examples(documents, LABELS)
    assert sentences.column_names == ["doc_id", "start", "end", "text", "labels", "supervised"]
    texts = {d.id: d.text for d in documents}
    for row in sentences:
        assert texts[row["doc_id"]][row["start"] : row["end"]] == row["text"]
        assert row["labels"][0] == int("corrupt" in row["text"] or "treacherous" in row["text"])
    windows = window_examples(documents, load_tokenizer(tiny_encoder_dir), LABELS, max_tokens=24, stride=4)
    expected = {"input_ids", "offsets", "token_labels", "sentence_labels", "sentence_supervised"}
    assert expected <= set(windows.column_names)
    for row in windows:
        text = texts[row["doc_id"]]
        for (start, end), labels in zip(row["offsets"], row["token_labels"]):
            if labels[0]:
                assert any(m.start() <= start and end <= m.end() for m in LOADED.finditer(text))


def test_a_repeated_source_is_seen_that_many_times_per_epoch_in_training_only(tiny_encoder_dir, tmp_path):
    from pipeline.model.config import config_from_dict
    from pipeline.model.sources import prepare

    data = tmp_path / "toy.jsonl"
    data.write_text("".join(json.dumps(d.to_dict()) + "\n" for d in toy_documents(3)), encoding="utf-8")
    tokenizer = load_tokenizer(tiny_encoder_dir)

    def prepared_with(repeat: int):
        config = config_from_dict({
            "labels": LABELS, "seed": 5, "validation_fraction": 0.3,
            "data": [{"format": "records", "path": str(data), "repeat": repeat}],
            "hyperparameters": {"max_tokens": 24, "stride": 4},
        })
        return prepare(config, tokenizer)

    once, thrice = prepared_with(1), prepared_with(3)
    assert sorted(r["doc_id"] for r in thrice.train_rows) == sorted(r["doc_id"] for r in once.train_rows * 3)
    assert [r["doc_id"] for r in thrice.validation_rows] == [r["doc_id"] for r in once.validation_rows]
    assert thrice.train_support == once.train_support  # repeating a source adds no evidence


@pytest.mark.parametrize("repeat", [0, 1.5, True])
def test_a_repeat_that_is_not_a_whole_number_of_at_least_one_is_refused(repeat):
    from pipeline.errors import ConfigError
    from pipeline.model.config import config_from_dict

    with pytest.raises(ConfigError, match=r"data\[0\]\.repeat"):
        config_from_dict({"data": [{"format": "records", "path": "x.jsonl", "repeat": repeat}]})


@pytest.mark.parametrize("value", [1.0, -0.1, "none", True])
def test_an_attention_dropout_outside_zero_to_one_is_refused(value):
    from pipeline.errors import ConfigError
    from pipeline.model.config import config_from_dict

    with pytest.raises(ConfigError, match=r"hyperparameters\.attention_dropout"):
        config_from_dict({"hyperparameters": {"attention_dropout": value}})


def test_a_device_torch_cannot_use_is_refused_before_any_work(tmp_path):
    import torch
    from click.testing import CliRunner

    from pipeline.cli import cli

    text = tmp_path / "a.txt"
    text.write_text("One sentence.", encoding="utf-8")
    result = CliRunner().invoke(cli, ["annotate", str(text), "--out", str(tmp_path / "out.jsonl"),
                                      "--device", "tpu-please"])
    assert result.exit_code == 2 and "not a torch device" in result.output
    if not torch.cuda.is_available():
        result = CliRunner().invoke(cli, ["annotate", str(text), "--out", str(tmp_path / "out.jsonl"),
                                          "--device", "cuda"])
        assert result.exit_code == 2 and "sees no CUDA device" in result.output
    assert not (tmp_path / "out.jsonl").exists()


def test_attention_dropout_reaches_the_encoder_and_is_recorded(tiny_encoder_dir, tmp_path):
    from pipeline.model.store import build_model

    model, _ = build_model(str(tiny_encoder_dir), 2, 0.1, attention_dropout=0.0)
    assert model.encoder.config.attention_probs_dropout_prob == 0.0
    default, _ = build_model(str(tiny_encoder_dir), 2, 0.1)
    assert default.encoder.config.attention_probs_dropout_prob == 0.1  # the base encoder's own

    tokenizer = load_tokenizer(tiny_encoder_dir)
    out = tmp_path / "model"
    train(tiny_config(tiny_encoder_dir, attention_dropout=0.0, max_steps=2), out,
          prepared=prepared(tokenizer, toy_documents(1)), progress=False)
    assert "attention dropout 0.0" in (out / "model-card.md").read_text()


def test_a_shallower_model_keeps_the_lowest_layers_and_reloads_the_same_on_both_paths(tiny_encoder_dir, tmp_path,
                                                                                     monkeypatch):
    tokenizer = load_tokenizer(tiny_encoder_dir)
    out = tmp_path / "one-layer"
    train(tiny_config(tiny_encoder_dir, encoder_layers=1, max_steps=3), out,
          prepared=prepared(tokenizer, toy_documents(1)), progress=False)
    stored = load_file(str(out / "weights.safetensors"))
    assert any(name.startswith("encoder.encoder.layer.0.") for name in stored)
    assert not any(name.startswith("encoder.encoder.layer.1.") for name in stored)
    assert "lowest 1 layers" in (out / "model-card.md").read_text()

    text = "The corrupt regime lied to everyone again. Officials met on Monday."
    fast = Annotator.load(out, all_scores=True)
    assert len(fast.model.encoder.layers) == 1
    monkeypatch.setenv("FRAMING_ENCODER", "transformers")
    slow = Annotator.load(out, all_scores=True)
    assert slow.model.encoder.config.num_hidden_layers == 1
    for a, b in zip(fast.annotate(text).sentences, slow.annotate(text).sentences):
        assert all(abs(a.labels[k] - b.labels[k]) < 1e-4 for k in a.labels)


@pytest.mark.parametrize("value", [0, 2.5, True])
def test_an_encoder_layer_count_that_is_not_a_whole_number_of_at_least_one_is_refused(value):
    from pipeline.errors import ConfigError
    from pipeline.model.config import config_from_dict

    with pytest.raises(ConfigError, match=r"hyperparameters\.encoder_layers"):
        config_from_dict({"hyperparameters": {"encoder_layers": value}})


def test_more_encoder_layers_than_the_base_has_are_refused(tiny_encoder_dir):
    from pipeline.errors import ConfigError
    from pipeline.model.store import build_model

    with pytest.raises(ConfigError, match="3 asked for, but the encoder .* has 2 layers"):
        build_model(str(tiny_encoder_dir), 2, 0.1, encoder_layers=3)
