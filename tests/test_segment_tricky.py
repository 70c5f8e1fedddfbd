"""The tricky-case suite: team-written news-like inputs with the sentences a reader expects."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipeline.segment import segment

CASES_PATH = Path(__file__).with_name("segment_cases.yaml")
CASES = yaml.safe_load(CASES_PATH.read_text(encoding="utf-8"))
# The kinds of text the issue lists; each must have cases.
REQUIRED_CATEGORIES = {
    "titles", "paragraphs", "abbreviations", "numbers", "quotations", "parentheses", "ellipses", "lists",
    "urls", "all-caps", "whitespace",
}


def _squeezed(text: str) -> str:
    return "".join(c for c in text if not (c.isspace() or c in "\u200b\u2060\ufeff"))


def _param(case: dict) -> pytest.param:
    marks = [pytest.mark.xfail(reason=case["xfail"], strict=True)] if case.get("xfail") else []
    return pytest.param(case, id=case["id"], marks=marks)


@pytest.mark.parametrize("case", [_param(case) for case in CASES])
def test_tricky_case(case: dict) -> None:
    text = case["text"]
    sentences = segment(text)
    assert [text[s.start : s.end] for s in sentences] == case["sentences"]


def test_case_file_is_well_formed() -> None:
    ids = [case["id"] for case in CASES]
    assert len(ids) >= 150
    assert len(set(ids)) == len(ids), "case ids must be unique"
    assert REQUIRED_CATEGORIES <= {case["category"] for case in CASES}
    for case in CASES:
        # The expected sentences must be pieces of the text that, together, hold all of its visible text.
        assert all(sentence in case["text"] for sentence in case["sentences"]), case["id"]
        assert _squeezed("".join(case["sentences"])) == _squeezed(case["text"]), case["id"]
