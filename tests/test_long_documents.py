"""A long document streams: read and decoded in pieces of whole sentences, with the same spans and sentence
labels as when it is decoded whole, and every offset exact."""

from __future__ import annotations

import json

from pipeline.document import Document, Sentence
from pipeline.model.annotator import Annotator
from pipeline.model.base import load_tokenizer
from pipeline.model.pieces import document_pieces
from tests.model_fixtures import TOY_TEXTS


def long_text(size: int) -> str:
    paragraphs = []
    while sum(len(p) + 2 for p in paragraphs) < size:
        paragraphs.append(TOY_TEXTS[len(paragraphs) % len(TOY_TEXTS)])
    return "\n\n".join(paragraphs)


def test_pieces_hold_whole_sentences_and_cover_the_document(tiny_encoder_dir):
    tokenizer = load_tokenizer(tiny_encoder_dir)
    long_sentence = "word " * 60 + "end."
    text = "Short one. " + long_sentence + " Another short one. And a last one."
    starts = [0, 11, 12 + len(long_sentence), 12 + len(long_sentence) + 19]
    ends = [10, 11 + len(long_sentence), 11 + len(long_sentence) + 19, len(text)]
    document = Document("d", text, {}, [Sentence(a, b) for a, b in zip(starts, ends)])
    pieces = list(document_pieces(tokenizer, document, max_tokens=16, stride=4, max_windows=1))
    assert [p.index for p in pieces] == list(range(len(pieces)))
    assert [p.last for p in pieces] == [False] * (len(pieces) - 1) + [True]
    assert pieces[0].first == 0 and pieces[-1].stop == len(document.sentences)
    for before, after in zip(pieces, pieces[1:]):
        assert before.stop == after.first
    for piece in pieces:  # a piece owns its sentences: none of its windows reaches outside them
        assert all(piece.first <= s < piece.stop for w in piece.windows for s in w.sentences)
    long_piece = next(p for p in pieces if 1 in {s for w in p.windows for s in w.sentences})
    assert len(long_piece.windows) > 1  # the long sentence's overlapping chunks stay together


def test_a_long_document_gives_the_spans_of_whole_document_decoding(trained_model):
    text = long_text(300_000)
    # one window per batch: the scores do not depend on which windows share a batch, only the pieces differ
    whole = Annotator.load(trained_model, batch_size=1, group_windows=10**9)
    streamed = Annotator.load(trained_model, batch_size=1, group_windows=64)
    assert len(list(streamed.pieces([whole.annotate(text).with_spans(())]))) > 10
    expected = whole.annotate(text)
    got = streamed.annotate(text)
    assert json.dumps(got.to_dict()) == json.dumps(expected.to_dict())
    assert got.spans, "the tiny model finds the loaded phrases it was trained on"
    for span in got.spans:
        assert text[span.start : span.end].strip() == text[span.start : span.end] != ""
    labelled = [s for s in got.sentences if s.labels]
    assert labelled and all(0 <= s.start < s.end <= len(text) for s in got.sentences)


def test_sentence_labels_find_the_spans_of_each_sentence_as_a_full_scan_would():
    import random

    import numpy as np

    from pipeline.document import Span
    from pipeline.model.decode import sentence_labels

    rng = random.Random(7)
    bounds, position = [], 0
    for _ in range(60):
        start = position + rng.randint(0, 3)
        end = start + rng.randint(0, 20)  # empty sentences too
        bounds.append((start, end))
        position = end
    sentences = [Sentence(a, b) for a, b in bounds if b > a]
    spans = []
    for _ in range(80):
        start = rng.randint(0, position - 1)
        spans.append(Span(start, min(position, start + rng.randint(1, 30)), rng.choice("ab"),
                          round(rng.random(), 4), "m"))
    probs = np.zeros((len(sentences), 2), dtype=np.float32)
    got = sentence_labels(sentences, probs, ["a", "b"], {}, spans)
    for sentence, labelled in zip(sentences, got):
        expected: dict[str, float] = {}
        for span in spans:  # the full scan the binary search replaced, in the spans' order
            if span.start < sentence.end and span.end > sentence.start:
                expected[span.label] = round(max(expected.get(span.label, 0.0), span.score), 4)
        assert list(labelled.labels.items()) == list(expected.items())
    shuffled = list(reversed(sentences))  # unsorted sentences take the full scan
    assert [s.labels for s in sentence_labels(shuffled, probs, ["a", "b"], {}, spans)] == [
        s.labels for s in reversed(got)]
