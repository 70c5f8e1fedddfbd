"""Property-based tests: the offset invariant holds for arbitrary text."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.segment import iter_sentence_offsets, segment

# Whitespace as the segmenter defines it: str.isspace() plus three invisible characters.
INVISIBLE = "\u200b\u2060\ufeff"
BLANK_LINE = re.compile(r"(?:\r\n|\r(?!\n)|\n)[^\S\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]*(?:\r\n|\r(?!\n)|\n)")


def is_blank(char: str) -> bool:
    return char.isspace() or char in INVISIBLE


# Pieces that exercise the rules: abbreviations, list markers, quotes, ellipses, URLs, odd whitespace.
PIECES = [
    "The", "said", "he", "U.S.", "Mr.", "No.", "Jan.", "Inc.", "e.g.", "p.m.", "J.", "1.", "a.", "IV.", "12",
    "3.5%", "1,655,000", ".", "!", "?", "?!", "...", "…", ". . .", '"', "'", "“", "”", "‘", "’", "(", ")",
    "[1]", "[", "]", ",", ":", "-", "•", "*", "—", "www.example.com", "http://x.org/a?b=1", "a@b.co",
    "THE", "GEN.", "eBay", "🇺🇸", " ", "  ", "\t", "\n", "\n\n", "\r\n", "\r", "\u00a0", "\u2028", "\u2029",
    "\x0b", "\x0c", "\x1c", "\x85", "\ufeff", "\u200b", "\u2060", "\u200d",
]
news_like = st.lists(st.sampled_from(PIECES), max_size=60).map("".join)
texts = st.one_of(st.text(), st.text(alphabet="".join(set("".join(PIECES)))), news_like)


def check_invariant(text: str, offsets: list[tuple[int, int]]) -> None:
    covered = [0] * len(text)
    previous_end = 0
    for start, end in offsets:
        assert 0 <= previous_end <= start < end <= len(text), (start, end)
        sentence = text[start:end]
        assert not is_blank(sentence[0]) and not is_blank(sentence[-1]), repr(sentence)
        assert not BLANK_LINE.search(sentence), f"sentence crosses a blank line: {sentence!r}"
        for i in range(start, end):
            covered[i] += 1
        previous_end = end
    for i, char in enumerate(text):
        if not is_blank(char):
            assert covered[i] == 1, f"non-blank character {char!r} at {i} is in {covered[i]} sentences"


@settings(max_examples=400)
@given(texts)
def test_offset_invariant(text: str) -> None:
    check_invariant(text, list(iter_sentence_offsets(text)))


@given(texts)
def test_segment_agrees_with_offsets(text: str) -> None:
    assert [(s.start, s.end) for s in segment(text)] == list(iter_sentence_offsets(text))


@given(news_like, news_like)
def test_blank_line_is_always_a_break(first: str, second: str) -> None:
    text = f"{first}\n\n{second}"
    boundary = len(first)
    offsets = list(iter_sentence_offsets(text))
    assert not any(start <= boundary and end >= boundary + 2 for start, end in offsets)
