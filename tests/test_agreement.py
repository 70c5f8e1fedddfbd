"""Agreement between two annotation passes: Cohen's kappa per device and span F1, checked by hand."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from pipeline.agreement import (
    agreement_table,
    cohen_kappa,
    coverage,
    sentence_kappa,
    span_agreement,
)
from pipeline.document import Span
from pipeline.errors import InputError
from pipeline.standoff import SEED_DIR, AnnotatedUnit, default_data_root, load_standoff

BLAME, LEGIT, DELEGIT = "blame_attribution", "legitimation", "delegitimation"


def unit(index: int, *spans: tuple[str, int, int], annotator: str = "a", doc_id: str = "D1") -> AnnotatedUnit:
    """Unit ``index`` of a made-up document: 100 characters per unit; span offsets are relative to it."""
    start = index * 100
    return AnnotatedUnit(
        corpus="semeval2025",
        doc_id=doc_id,
        start=start,
        end=start + 90,
        text="x" * 90,
        split="test",
        annotator=annotator,
        guideline_version="1.0",
        spans=tuple(Span(start + s, start + e, label, None, f"human:{annotator}") for label, s, e in spans),
        location=f"{annotator}.jsonl:{index + 1}",
    )


def passes(positive_a: set[int], positive_b: set[int], n: int, label: str = BLAME):
    pass_a = [unit(i, *([(label, 0, 10)] if i in positive_a else []), annotator="a") for i in range(n)]
    pass_b = [unit(i, *([(label, 0, 10)] if i in positive_b else []), annotator="b") for i in range(n)]
    return pass_a, pass_b


def test_kappa_matches_the_hand_computed_value():
    # 10 units; A positive on 0-3, B on 0-2 and 4-5: agree on 7 (3 positive, 4 negative).
    # p_o = 0.7; p_a = 0.4, p_b = 0.5; p_e = 0.4*0.5 + 0.6*0.5 = 0.5; kappa = (0.7 - 0.5) / 0.5 = 0.4
    pass_a, pass_b = passes({0, 1, 2, 3}, {0, 1, 2, 4, 5}, 10)
    result = sentence_kappa(pass_a, pass_b)[BLAME]
    assert result["kappa"] == pytest.approx(0.4)
    assert result["observed_agreement"] == pytest.approx(0.7)
    assert (result["n"], result["positives_a"], result["positives_b"]) == (10, 4, 5)
    assert "reason" not in result


def test_perfect_agreement_is_one_and_total_disagreement_is_minus_one():
    assert sentence_kappa(*passes({0, 1}, {0, 1}, 4))[BLAME]["kappa"] == pytest.approx(1.0)
    # p_o = 0, p_a = p_b = 0.5, p_e = 0.5: kappa = -1
    assert sentence_kappa(*passes({0}, {1}, 2))[BLAME]["kappa"] == pytest.approx(-1.0)


def test_chance_level_agreement_is_zero_not_undefined():
    # A all negative, B positive on one of four: p_o = 0.75 = p_e, so kappa = 0 (defined).
    result = sentence_kappa(*passes(set(), {2}, 4))[BLAME]
    assert result["kappa"] == pytest.approx(0.0)
    assert result["observed_agreement"] == pytest.approx(0.75)


def test_kappa_is_undefined_with_a_reason_when_both_passes_are_all_negative():
    result = sentence_kappa(*passes({0, 1}, {0, 1}, 4, label=BLAME))[LEGIT]
    assert result["kappa"] is None
    assert result["observed_agreement"] == 1.0
    assert "all 4 units negative" in result["reason"]


def test_kappa_is_undefined_when_both_passes_are_all_positive():
    result = sentence_kappa(*passes({0, 1, 2}, {0, 1, 2}, 3))[BLAME]
    assert result["kappa"] is None
    assert "positive" in result["reason"]


def test_no_shared_unit_gives_n_zero_and_a_reason():
    pass_a = [unit(0, (BLAME, 0, 5))]
    pass_b = [unit(1, (BLAME, 0, 5), annotator="b")]
    result = sentence_kappa(pass_a, pass_b)[BLAME]
    assert (result["n"], result["kappa"], result["observed_agreement"]) == (0, None, None)
    assert "both passes" in result["reason"]


def test_only_units_annotated_by_both_passes_count():
    pass_a, pass_b = passes({0, 1}, {0, 1}, 4)
    pass_b.append(unit(7, (BLAME, 0, 10), annotator="b"))  # B alone: must not lower the agreement
    result = sentence_kappa(pass_a, pass_b)[BLAME]
    assert (result["n"], result["positives_b"], result["kappa"]) == (4, 2, pytest.approx(1.0))
    assert coverage(pass_a, pass_b) == {"units_a": 4, "units_b": 5, "both": 4}


def test_units_are_matched_by_place_not_by_list_order():
    pass_a, pass_b = passes({0}, {0}, 3)
    assert sentence_kappa(pass_a, list(reversed(pass_b)))[BLAME]["kappa"] == pytest.approx(1.0)


def test_devices_are_scored_independently():
    pass_a = [unit(0, (BLAME, 0, 10), (DELEGIT, 20, 30)), unit(1), unit(2, (DELEGIT, 0, 5))]
    pass_b = [unit(0, (BLAME, 2, 10), annotator="b"), unit(1, annotator="b"), unit(2, (DELEGIT, 0, 5), annotator="b")]
    result = sentence_kappa(pass_a, pass_b)
    assert result[BLAME]["kappa"] == pytest.approx(1.0)
    # delegitimation: A positive on units 0 and 2, B on 2 only. p_o = 2/3, p_a = 2/3, p_b = 1/3,
    # p_e = 2/9 + 2/9 = 4/9, kappa = (2/3 - 4/9) / (5/9) = 0.4
    assert result[DELEGIT]["kappa"] == pytest.approx(0.4)
    assert result[LEGIT]["kappa"] is None


def test_kappa_is_symmetric_in_the_two_passes():
    decisions = [(True, True), (True, False), (False, False), (False, True), (False, False), (True, True)]
    swapped = [(b, a) for a, b in decisions]
    assert cohen_kappa(decisions)["kappa"] == pytest.approx(cohen_kappa(swapped)["kappa"])


def test_a_unit_given_twice_in_one_pass_is_an_input_error_naming_both_records():
    pass_a = [unit(0), replace(unit(0, (BLAME, 0, 5)), location="a.jsonl:9")]
    with pytest.raises(InputError, match=r"pass A .*twice: a\.jsonl:1 and a\.jsonl:9"):
        sentence_kappa(pass_a, [unit(0, annotator="b")])


def test_span_agreement_credits_partial_overlap_by_characters():
    # A [0, 10), B [5, 10): B's span lies inside A's (P = 5/5), covering half of it (R = 5/10).
    pass_a = [unit(0, (BLAME, 0, 10))]
    pass_b = [unit(0, (BLAME, 5, 10), annotator="b")]
    result = span_agreement(pass_a, pass_b)[BLAME]
    assert result["precision"] == pytest.approx(1.0)
    assert result["recall"] == pytest.approx(0.5)
    assert result["f1"] == pytest.approx(2 / 3)
    assert (result["spans_a"], result["spans_b"]) == (1, 1)
    swapped = span_agreement(pass_b, pass_a)[BLAME]
    assert (swapped["precision"], swapped["recall"]) == (pytest.approx(0.5), pytest.approx(1.0))


def test_span_agreement_matches_only_the_same_label_and_reports_labels_without_spans():
    pass_a = [unit(0, (LEGIT, 0, 10))]
    pass_b = [unit(0, (DELEGIT, 0, 10), annotator="b")]
    result = span_agreement(pass_a, pass_b)
    assert result[LEGIT]["f1"] == 0.0 and result[DELEGIT]["f1"] == 0.0
    assert result[BLAME]["f1"] is None
    assert result[BLAME]["reason"] == "neither pass has a span of this label"


def test_agreement_table_shows_every_label_and_says_undefined():
    pass_a, pass_b = passes({0, 1, 2, 3}, {0, 1, 2, 4, 5}, 10)
    table = agreement_table(pass_a, pass_b).splitlines()
    assert len(table) == 2 + 3
    blame_row = next(row for row in table if BLAME in row)
    assert "| 10 | 4 | 5 | 0.700 | 0.400 |" in blame_row
    legit_row = next(row for row in table if LEGIT in row)
    assert "undefined" in legit_row and "n/a" in legit_row


SEED_FILES = [SEED_DIR / "units-test.jsonl", SEED_DIR / "devices-test.jsonl", SEED_DIR / "devices-test-pass2.jsonl"]


@pytest.mark.skipif(
    not default_data_root().is_dir() or not all(path.is_file() for path in SEED_FILES),
    reason="needs ../shared/data (or $FRAMING_DATA_ROOT) and the seed test files",
)
def test_second_pass_covers_every_test_unit_and_yields_defined_kappas():
    pass_a = load_standoff(SEED_DIR / "devices-test.jsonl")
    pass_b = load_standoff(SEED_DIR / "devices-test-pass2.jsonl")
    with open(SEED_DIR / "units-test.jsonl", encoding="utf-8") as handle:
        listed = {(u["corpus"], u["doc_id"], u["start"], u["end"]) for u in map(json.loads, handle)}
    assert {(u.corpus, u.doc_id, u.start, u.end) for u in pass_b} == listed
    assert {u.annotator for u in pass_b} == {"team-b"}
    for label, result in sentence_kappa(pass_a, pass_b).items():
        assert result["n"] == len(listed) >= 150, label
        assert -1.0 <= result["kappa"] <= 1.0, label
