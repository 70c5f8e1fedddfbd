"""Scorers against values computed by hand (the arithmetic is in the comments)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.document import Document, Sentence, Span
from pipeline.errors import ConfigError, InputError
from pipeline.evaluate import (
    MultiLabelF1,
    SentencePropaganda,
    SpanIdentification,
    TechniqueClassification,
    TechniqueSpanF1,
    evaluate_documents,
    gold_unit_labels,
    line_units,
    merge_overlapping,
    predicted_unit_labels,
    rank_fragment_labels,
)

TEXT = "0123456789" * 6  # 60 characters; only offsets matter to the span scorers


def spans(*triples: tuple[int, int, str | None]) -> list[Span]:
    return [Span(start, end, label) for start, end, label in triples]


def rounded(scores, digits: int = 6) -> tuple[float, float, float]:
    return round(scores.precision, digits), round(scores.recall, digits), round(scores.f1, digits)


# -- span identification (SI) ---------------------------------------------------------------------------
def test_si_credits_partial_overlap_in_proportion_to_characters():
    si = SpanIdentification()
    si.add(predicted=spans((5, 15, None), (22, 26, None)), gold=spans((0, 10, None), (20, 30, None)))
    # [5,15)∩[0,10) = 5 chars: P += 5/10, R += 5/10.  [22,26)∩[20,30) = 4 chars: P += 4/4, R += 4/10.
    # P = (0.5 + 1) / 2 = 0.75, R = (0.5 + 0.4) / 2 = 0.45, F1 = 2·0.75·0.45 / 1.2 = 0.5625
    assert rounded(si.scores()) == (0.75, 0.45, 0.5625)
    assert si.scores().support == 2


def test_si_merges_overlapping_spans_of_different_labels_before_scoring():
    si = SpanIdentification()
    # gold [0,10) and [5,15) overlap: SI sees one gold span [0,15). Without merging, the prediction
    # [0,15) would earn 10/15 + 10/15 > 1 for precision.
    si.add(predicted=spans((0, 15, "doubt")), gold=spans((0, 10, "loaded_language"), (5, 15, "doubt")))
    assert rounded(si.scores()) == (1.0, 1.0, 1.0)


def test_merge_overlapping_joins_chains_but_not_touching_ranges():
    assert merge_overlapping([(8, 12), (0, 5), (5, 10), (20, 25), (21, 22)]) == [(0, 5), (5, 12), (20, 25)]


def test_si_sums_over_the_corpus_instead_of_averaging_documents():
    si = SpanIdentification()
    si.add(predicted=spans((0, 10, None)), gold=spans((0, 10, None)))  # P += 1, R += 1
    # P += 5/5 + 0, R += 5/10
    si.add(predicted=spans((0, 5, None), (20, 30, None)), gold=spans((0, 10, None)))
    # P = (1 + 1) / 3 = 2/3 (a per-document average would give 0.75), R = (1 + 0.5) / 2 = 0.75,
    # F1 = 2·(2/3)·(3/4) / (2/3 + 3/4) = 12/17
    assert rounded(si.scores()) == (round(2 / 3, 6), 0.75, round(12 / 17, 6))


@pytest.mark.parametrize(
    ("predicted", "gold", "expected"),
    [
        ([], [(0, 10)], (0.0, 0.0, 0.0)),  # nothing predicted: P = 0 by definition, R = 0
        ([(0, 10)], [], (0.0, 0.0, 0.0)),  # nothing to find: R = 0 by definition, P = 0
        ([], [], (0.0, 0.0, 1.0)),  # nothing to find and nothing found: F1 = 1 (official scorer)
        ([(30, 40)], [(0, 10)], (0.0, 0.0, 0.0)),  # no overlap at all
    ],
)
def test_si_empty_cases_follow_the_official_scorer(predicted, gold, expected):
    si = SpanIdentification()
    si.add([Span(s, e) for s, e in predicted], [Span(s, e) for s, e in gold])
    assert rounded(si.scores()) == expected


# -- technique-aware span F1 ---------------------------------------------------------------------------
def test_span_f1_counts_overlap_only_between_spans_of_the_same_label():
    predicted = spans((5, 15, "loaded_language"))
    gold = spans((0, 10, "loaded_language"), (5, 15, "doubt"))
    scorer = TechniqueSpanF1()
    scorer.add(predicted, gold)
    # Only loaded_language pairs up: [5,15)∩[0,10) = 5 chars, P += 5/10, R += 5/10. The full overlap with
    # the doubt span counts for nothing. |S| = 1, |T| = 2: P = 0.5, R = 0.25, F1 = 2·0.5·0.25 / 0.75 = 1/3
    assert rounded(scorer.scores()) == (0.5, 0.25, round(1 / 3, 6))
    per_label = scorer.per_label()
    assert rounded(per_label["loaded_language"]) == (0.5, 0.5, 0.5)
    assert rounded(per_label["doubt"]) == (0.0, 0.0, 0.0) and per_label["doubt"].support == 1
    # SI on the same spans ignores labels: gold merges to [0,15), P = 10/10, R = 10/15, F1 = 0.8
    si = SpanIdentification()
    si.add(predicted, gold)
    assert rounded(si.scores()) == (1.0, round(2 / 3, 6), 0.8)


def test_span_f1_merges_same_label_overlaps_only():
    scorer = TechniqueSpanF1()
    # predicted loaded_language [0,6) and [4,10) merge into [0,10): one prediction, exactly the gold span.
    # The doubt prediction [0,10) is not merged with them and has no doubt gold: P = (1 + 0) / 2.
    scorer.add(spans((0, 6, "loaded_language"), (4, 10, "loaded_language"), (0, 10, "doubt")),
               spans((0, 10, "loaded_language")))
    assert rounded(scorer.scores()) == (0.5, 1.0, round(2 / 3, 6))


interval = st.tuples(st.integers(0, 50), st.integers(1, 10)).map(lambda t: (t[0], t[0] + t[1]))
labelled = st.lists(st.tuples(interval, st.sampled_from(["a", "b"])), max_size=8)


def official_style(documents, label_aware):
    """The official scorer's algorithm on sets of character positions (an independent oracle): merge
    spans (of the same label, when label-aware) whose character sets intersect, then sum
    |s∩t|/|s| and |s∩t|/|t| over pairs (of the same label) and divide by the span counts."""

    def merged(items):
        groups = []
        for key, chars in items:
            chars = set(chars)
            for other in [g for g in groups if g[0] == key and g[1] & chars]:
                chars |= other[1]
                groups.remove(other)
            groups.append((key, chars))
        return groups

    precision_sum = recall_sum = predicted_count = gold_count = 0
    for predicted, gold in documents:
        key = (lambda label: label) if label_aware else (lambda label: "any")
        pred = merged([(key(label), range(s, e)) for (s, e), label in predicted])
        ref = merged([(key(label), range(s, e)) for (s, e), label in gold])
        predicted_count, gold_count = predicted_count + len(pred), gold_count + len(ref)
        for p_key, p_chars in pred:
            for g_key, g_chars in ref:
                if p_key == g_key:
                    precision_sum += len(p_chars & g_chars) / len(p_chars)
                    recall_sum += len(p_chars & g_chars) / len(g_chars)
    return (precision_sum / predicted_count if predicted_count else 0.0,
            recall_sum / gold_count if gold_count else 0.0)


@given(documents=st.lists(st.tuples(labelled, labelled), max_size=3))
def test_span_scorers_agree_with_the_official_algorithm(documents):
    to_spans = lambda items: [Span(s, e, label) for (s, e), label in items]  # noqa: E731
    for scorer, label_aware in ((SpanIdentification(), False), (TechniqueSpanF1(), True)):
        for predicted, gold in documents:
            scorer.add(to_spans(predicted), to_spans(gold))
        expected = official_style(documents, label_aware)
        assert (round(scorer.scores().precision, 9), round(scorer.scores().recall, 9)) == tuple(
            round(value, 9) for value in expected
        )


@given(gold=labelled)
def test_span_scores_reach_1_when_the_prediction_is_the_gold(gold):
    spans_ = [Span(s, e, label) for (s, e), label in gold]
    for scorer in (SpanIdentification(), TechniqueSpanF1()):
        scorer.add(spans_, spans_)
        assert round(scorer.scores().f1, 9) == 1.0


# -- technique classification (TC) ---------------------------------------------------------------------
def test_tc_scores_the_best_labels_for_each_gold_fragment():
    gold = spans((0, 10, "loaded_language"), (0, 10, "name_calling"), (20, 30, "doubt"), (40, 50, "slogans"))
    predicted = [
        Span(0, 10, "loaded_language", 0.9),  # covers 10 chars of [0,10)
        Span(2, 8, "doubt", 0.8),  # covers 6 chars of [0,10)
        Span(20, 25, "exaggeration", 0.7),  # the only label near [20,30)
    ]
    # no span near [40,50): the overlapping predicted sentence's best label fills in
    sentences = [Sentence(35, 60, {"slogans": 0.9, "doubt": 0.4})]
    scorer = TechniqueClassification()
    scorer.add(predicted, sentences, gold)
    # [0,10) has 2 gold labels -> the 2 best: loaded_language (hit), doubt (false positive);
    # name_calling missed
    # [20,30) -> exaggeration (false positive), doubt missed.  [40,50) -> slogans (hit)
    # hits 2, predicted 4, gold 4: P = R = F1 = 0.5
    assert rounded(scorer.scores()) == (0.5, 0.5, 0.5)
    per_label = scorer.per_label()
    assert per_label["loaded_language"].f1 == 1.0 and per_label["slogans"].f1 == 1.0
    assert per_label["doubt"].f1 == 0.0 and per_label["name_calling"].f1 == 0.0


def test_rank_fragment_labels_prefers_coverage_then_score_then_sentences():
    predicted = [Span(0, 4, "b", 0.2), Span(6, 10, "a", 0.9), Span(0, 10, "c", 0.1)]
    sentences = [Sentence(0, 20, {"d": 0.99, "a": 0.5})]
    # c covers 10 chars; a and b 4 each, a scores higher; d comes only from the sentence
    assert rank_fragment_labels((0, 10), predicted, sentences) == ["c", "a", "b", "d"]


# -- units, SLC and multi-label -------------------------------------------------------------------------
def test_line_units_are_non_blank_lines_without_surrounding_whitespace():
    text = "Title\n\n  Body one. \nBody two.\n \n"
    assert [text[s:e] for s, e in line_units(text)] == ["Title", "Body one.", "Body two."]


LINES = "Alpha beta gamma.\nDelta epsilon.\nZeta eta theta.\n"
L1, L2, L3 = line_units(LINES)  # (0, 17), (18, 32), (33, 48)


def test_slc_prefers_sentence_labels_and_falls_back_to_spans():
    gold = spans((6, 10, "loaded_language"), (38, 41, "doubt"))  # inside line 1 and line 3
    slc = SentencePropaganda()
    labelled = [Sentence(*L1, {"doubt": 0.8}), Sentence(*L2, {"doubt": 0.6}), Sentence(*L3)]
    # sentence labels decide: line 1 TP, line 2 FP, line 3 FN (the span on line 3 is not consulted)
    slc.add([L1, L2, L3], spans((34, 37, "doubt")), labelled, gold)
    assert rounded(slc.scores()) == (0.5, 0.5, 0.5)

    fallback = SentencePropaganda()
    # no predicted sentence carries labels: a predicted span on line 3 makes it positive (TP); line 1 FN
    fallback.add([L1, L2, L3], spans((34, 37, "doubt")), [Sentence(*L1), Sentence(*L2)], gold)
    # P = 1/1, R = 1/2, F1 = 2/3
    assert rounded(fallback.scores()) == (1.0, 0.5, round(2 / 3, 6))


def test_predicted_sentences_count_for_units_they_substantially_overlap():
    # a predicted sentence spilling two characters into line 2 labels line 1 only
    sentence = Sentence(0, 20, {"doubt": 0.9})
    assert predicted_unit_labels([L1, L2], [], [sentence]) == [{"doubt"}, set()]
    # a span that only touches a line (ends where it starts) does not label it
    assert predicted_unit_labels([L1, L2], spans((L1[1], L2[0], "doubt")), []) == [set(), set()]
    # a predicted span overlapping line 2 by one character labels it
    assert predicted_unit_labels([L1, L2], spans((15, 19, "slogans")), []) == [{"slogans"}, {"slogans"}]


@given(data=st.data())
def test_unit_labels_match_a_unit_by_unit_comparison(data):
    text = data.draw(st.text(alphabet="ab \n", min_size=1, max_size=30))
    units = line_units(text)
    gold = []
    for label in data.draw(st.lists(st.sampled_from(["a", "b"]), max_size=6)):
        start = data.draw(st.integers(0, len(text) - 1))
        gold.append(Span(start, data.draw(st.integers(start + 1, len(text))), label))
    expected = [{s.label for s in gold if s.start < end and start < s.end} for start, end in units]
    assert gold_unit_labels(units, gold) == expected


def test_multilabel_micro_and_macro_f1():
    scorer = MultiLabelF1()
    scorer.add(gold=[{"a", "b"}, {"a"}, set()], predicted=[{"a"}, {"a", "c"}, {"b"}])
    # a: tp 2 -> F1 1.  b: fp 1 (unit 3), fn 1 (unit 1) -> F1 0.  c: fp 1 -> F1 0.
    # micro: tp 2, fp 2, fn 1 -> P = 2/4, R = 2/3, F1 = 2·(1/2)·(2/3) / (7/6) = 4/7
    assert rounded(scorer.scores()) == (0.5, round(2 / 3, 6), round(4 / 7, 6))
    # macro over the labels present in gold or predictions: (1 + 0 + 0) / 3
    assert round(scorer.macro_f1(), 6) == round(1 / 3, 6)
    empty = MultiLabelF1()
    empty.add([set()], [set()])
    assert empty.scores().f1 == 1.0 and empty.macro_f1() == 1.0


# -- evaluate_documents ---------------------------------------------------------------------------------
def gold_doc(doc_id: str, text: str, *triples) -> Document:
    return Document(doc_id, text, spans=[Span(s, e, label, source="gold") for s, e, label in triples])


def test_evaluate_documents_restricts_to_the_labels_the_corpus_annotates():
    gold = [gold_doc("d1", LINES, (6, 10, "loaded_language"))]
    blame = Span(19, 31, "blame_attribution", attributes={"actor": {"start": 19, "end": 24}})
    predicted = [Document("d1", LINES, spans=[Span(6, 10, "loaded_language"), blame])]
    restricted = evaluate_documents(predicted, gold, labels=["loaded_language", "doubt"], sentences="lines")
    # the blame span is dropped, not a false positive: every metric is perfect
    assert restricted["si_precision"] == restricted["span_f1"] == restricted["slc_f1"] == 1.0
    assert restricted["sentence_micro_f1"] == restricted["paragraph_micro_f1"] == 1.0
    assert restricted["ignored_predictions"] == {"blame_attribution": 1}
    assert list(restricted["per_label"]) == ["loaded_language"]
    unrestricted = evaluate_documents(predicted, gold, sentences="lines")
    # 1 of 2 merged predicted spans matches: SI P = (1 + 0) / 2; line 2 becomes a false positive
    assert unrestricted["si_precision"] == 0.5
    assert round(unrestricted["slc_f1"], 6) == round(2 / 3, 6)
    assert unrestricted["per_label"]["blame_attribution"]["f1"] == 0.0


def test_evaluate_documents_reports_missing_and_unmatched_predictions():
    gold = [gold_doc("d1", LINES, (6, 10, "doubt")), gold_doc("d2", "Other text.", (0, 5, "doubt"))]
    predicted = [Document("d1", LINES, spans=spans((6, 10, "doubt"))), Document("x", "Unrelated.")]
    metrics = evaluate_documents(predicted, gold, sentences="lines")
    assert metrics["documents"] == 2
    assert metrics["missing_predictions"] == ["d2"]
    assert metrics["unmatched_predictions"] == ["x"]
    # d2 counts as predicting nothing: SI P = 1/1, R = (1 + 0) / 2
    assert (metrics["si_precision"], metrics["si_recall"]) == (1.0, 0.5)
    for key in ("si_f1", "span_f1", "tc_f1", "slc_f1", "sentence_micro_f1", "sentence_macro_f1",
                "paragraph_micro_f1", "paragraph_macro_f1"):
        assert 0.0 <= metrics[key] <= 1.0
    assert set(metrics["per_label"]["doubt"]) >= {"precision", "recall", "f1", "support"}
    assert metrics["per_label"]["doubt"]["support"] == 2


def test_evaluate_documents_pairs_by_text_when_ids_differ():
    gold = [gold_doc("111", LINES, (6, 10, "doubt"))]
    predicted = [Document("article111", LINES, spans=spans((6, 10, "doubt")))]
    metrics = evaluate_documents(predicted, gold, sentences="lines")
    assert metrics["missing_predictions"] == [] and metrics["unmatched_predictions"] == []
    assert metrics["span_f1"] == 1.0
    # a prediction pairs with one gold document only, and never one that another gold id claims
    twins = [*gold, gold_doc("222", LINES)]
    metrics = evaluate_documents([*predicted, Document("222", LINES)], [*twins, gold_doc("333", LINES)],
                                 sentences="lines")
    assert metrics["missing_predictions"] == ["333"]


def test_evaluate_documents_rejects_a_prediction_on_another_text():
    gold = [gold_doc("d1", LINES)]
    predicted = [Document("d1", LINES.replace("Delta", "Delts"))]
    with pytest.raises(InputError, match=r"document 'd1'.*character 22"):
        evaluate_documents(predicted, gold, sentences="lines")


def test_evaluate_documents_rejects_duplicate_ids_and_unknown_unit_rules():
    with pytest.raises(InputError, match="'d1' occurs more than once"):
        evaluate_documents([Document("d1", "a"), Document("d1", "a")], [gold_doc("d1", "a")])
    with pytest.raises(ConfigError, match="paragraphs='pages'.*lines, segment"):
        evaluate_documents([], [], paragraphs="pages")


def test_evaluate_documents_with_segmenter_sentences():
    pytest.importorskip("pipeline.segment", reason="the segmenter (pipeline/segment.py) is not there yet")
    text = "The tyrant lied again. Nobody believed him.\n\nA second paragraph here."
    gold = [gold_doc("d1", text, (4, 10, "name_calling"))]
    predicted = [Document("d1", text, sentences=[Sentence(0, 22, {"name_calling": 0.9})])]
    metrics = evaluate_documents(predicted, gold)  # sentences from the segmenter, paragraphs from lines
    # sentence 1 is the only gold-labelled and the only predicted unit, in either unit rule
    assert metrics["sentence_micro_f1"] == metrics["paragraph_micro_f1"] == metrics["slc_f1"] == 1.0
