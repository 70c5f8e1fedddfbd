"""Scoring a model on stand-off sentence annotations: only annotated sentences count."""

from __future__ import annotations

import pytest

from pipeline.document import Document, Sentence, Span
from pipeline.evaluate.standoff import evaluate_standoff
from pipeline.standoff import AnnotatedUnit

TEXT = "The so-called regime lied. Prices rose. The mayor ruined the port. Unannotated blame by the mayor."


class FakeAnnotator:
    """Returns fixed predictions, as a model would: spans and sentence labels over the whole document."""

    model_version = "fake"

    def __init__(self, spans, sentences):
        self.spans, self.sentences = spans, sentences

    def annotate_many(self, documents):
        for document in documents:
            yield Document(document.id, document.text, {}, self.sentences, self.spans)


def unit(start, end, spans=()):
    return AnnotatedUnit("semeval2025", "EN_UA_1", start, end, TEXT[start:end], "test", "team-a", "1.0",
                         tuple(spans))


@pytest.fixture
def data_root(tmp_path):
    path = tmp_path / "semeval2025-task10-en" / "raw-documents" / "EN_UA_1.txt"
    path.parent.mkdir(parents=True)
    path.write_text(TEXT, encoding="utf-8")
    return tmp_path


def test_only_annotated_sentences_count_and_spans_are_clipped(data_root):
    actor = {"start": 43, "end": 48}
    gold = [
        unit(0, 26, [Span(4, 20, "delegitimation", source="human:a")]),
        unit(27, 38),
        unit(39, 65, [Span(39, 65, "blame_attribution", source="human:a", attributes={"actor": actor})]),
    ]
    predicted_spans = [
        Span(4, 20, "delegitimation", 0.9, "model:x"),  # right
        Span(39, 70, "blame_attribution", 0.8, "model:x", {"actor": {"start": 43, "end": 48}}),  # runs past unit
        Span(79, 97, "blame_attribution", 0.9, "model:x"),  # outside every unit: not scored
    ]
    sentences = [Sentence(0, 26), Sentence(27, 38, {"blame_attribution": 0.7}), Sentence(39, 65), Sentence(66, 97)]
    metrics = evaluate_standoff(FakeAnnotator(predicted_spans, sentences), gold,
                                ["blame_attribution", "delegitimation"], data_root)
    assert metrics["units"] == 3 and metrics["documents"] == 1
    blame = metrics["per_label"]["blame_attribution"]
    # units: gold blame only in unit 3; predicted blame in unit 2 (sentence label) and unit 3 (span)
    assert (blame["gold_units"], blame["predicted_units"]) == (1, 2)
    assert (blame["precision"], blame["recall"]) == (0.5, 1.0)
    # the span clipped to its unit matches the gold span exactly
    assert blame["span_precision"] == 1.0 and blame["span_recall"] == 1.0
    assert metrics["per_label"]["delegitimation"]["f1"] == 1.0
    assert metrics["per_label"]["delegitimation"]["kappa"] == 1.0
    assert metrics["blamed_actor"] == {"units_with_both": 1, "overlapping": 1, "share": 1.0}


def test_examples_list_hits_misses_and_false_alarms_with_their_text(data_root):
    gold = [
        unit(0, 26, [Span(4, 20, "delegitimation", source="human:a")]),  # found
        unit(27, 38),  # false alarm below
        unit(39, 65, [Span(39, 65, "blame_attribution", source="human:a")]),  # missed
    ]
    predicted_spans = [Span(4, 20, "delegitimation", 0.9, "model:x"), Span(27, 33, "blame_attribution", 0.8, "model:x")]
    sentences = [Sentence(0, 26), Sentence(27, 38), Sentence(39, 65), Sentence(66, 97)]
    metrics = evaluate_standoff(FakeAnnotator(predicted_spans, sentences), gold,
                                ["blame_attribution", "delegitimation"], data_root, examples=5)

    (hit,) = metrics["examples"]["delegitimation"]["right"]
    assert hit["outcome"] == "hit" and hit["text"] == "The so-called regime lied."
    assert hit["gold_spans"] == hit["model_spans"] == ["so-called regime"]
    blame = metrics["examples"]["blame_attribution"]
    assert blame["right"] == []
    assert [(e["outcome"], e["text"], e["model_spans"]) for e in blame["wrong"]] == [
        ("false alarm", TEXT[27:38], ["Prices"]),
        ("miss", TEXT[39:65], []),
    ]
    assert "examples" not in evaluate_standoff(FakeAnnotator(predicted_spans, sentences), gold,
                                               ["blame_attribution"], data_root)
