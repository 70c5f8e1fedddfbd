"""The segmenter's API: offsets into the text as given, documents, real articles, large and hostile input."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest

from pipeline.document import Document, Sentence, Span
from pipeline.segment import iter_sentence_offsets, segment, segment_document

DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SEMEVAL_ARTICLES = DATA_DIR / "semeval2023-task3-en" / "train-articles"

PARAGRAPH = (
    "WASHINGTON (AP) — The U.S. Senate voted 52-48 on Jan. 5 to approve a $1.2 billion package. "
    'Sen. Ann Hale, D-Calif., said, "It is a start." Critics (including Gov. Ray Dunn) called it 3.5% '
    "of what is needed... The House votes next. Details: https://example.org/vote?id=7. Questions? "
    "Write to desk@example.org!"
)
SENTENCES_PER_PARAGRAPH = 7


def visible(text: str) -> str:
    """The text without whitespace (``str.isspace()`` and the invisible U+200B, U+2060, U+FEFF)."""
    return "".join(c for c in text if not (c.isspace() or c in "\u200b\u2060\ufeff"))


def texts_of(text: str) -> list[str]:
    return [text[s.start : s.end] for s in segment(text)]


def test_segment_returns_unlabelled_sentences_with_offsets() -> None:
    text = "Prices rose. Wages did not."
    sentences = segment(text)
    assert sentences == [Sentence(0, 12), Sentence(13, 27)]
    assert all(not s.labels for s in sentences)


def test_offsets_count_bom_and_crlf_as_given() -> None:
    text = "\ufeffFlood Warning Lifted\r\n\r\nRivers fell overnight. Roads reopened.\r\nSchools stay shut.\r\n"
    assert texts_of(text) == ["Flood Warning Lifted", "Rivers fell overnight.", "Roads reopened.",
                              "Schools stay shut."]
    assert segment(text)[0].start == 1  # after the BOM, which is not part of any sentence


def test_crlf_and_lf_texts_give_the_same_sentences() -> None:
    lf = "Title Without Stop\n\nThe first sentence. The second one.\nA new paragraph."
    crlf = lf.replace("\n", "\r\n")
    assert texts_of(lf) == texts_of(crlf)


def test_sentence_never_crosses_a_line_in_one_paragraph_per_line_text() -> None:
    text = "Storm Closes Schools\nThe storm hit at dawn, officials said\nMore rain is due on Friday"
    assert texts_of(text) == ["Storm Closes Schools", "The storm hit at dawn, officials said",
                              "More rain is due on Friday"]


def test_hard_wrapped_lines_are_joined() -> None:
    text = (
        "The committee said on Thursday that the new rules, which were drafted\n"
        "after months of hearings, would take effect next year. Businesses\n"
        "will have until March to comment on them.\n"
    )
    assert texts_of(text) == [
        "The committee said on Thursday that the new rules, which were drafted\n"
        "after months of hearings, would take effect next year.",
        "Businesses\nwill have until March to comment on them.",
    ]


def test_empty_and_blank_text_have_no_sentences() -> None:
    assert segment("") == []
    assert segment(" \n\t\u200b\ufeff \r\n") == []


def test_iter_sentence_offsets_is_lazy() -> None:
    offsets = iter_sentence_offsets("One. Two. Three.")
    assert next(offsets) == (0, 4)
    assert list(offsets) == [(5, 9), (10, 16)]


def test_non_string_input_is_rejected_with_its_type() -> None:
    with pytest.raises(TypeError, match="bytes"):
        segment(b"Not decoded.")


def test_segment_document_returns_a_copy_with_sentences() -> None:
    span = Span(4, 9, "loaded_language", source="gold")
    document = Document("doc-1", "The brutal regime fell. Crowds cheered.", {"lang": "en"}, spans=[span])
    segmented = segment_document(document)
    assert [segmented.sentence_text(s) for s in segmented.sentences] == ["The brutal regime fell.",
                                                                       "Crowds cheered."]
    assert (segmented.id, segmented.text, dict(segmented.metadata), segmented.spans) == (
        "doc-1", document.text, {"lang": "en"}, (span,))
    assert document.sentences == ()  # the input is left alone


def test_segment_document_replaces_existing_sentences() -> None:
    document = Document("d", "One. Two.", sentences=[Sentence(0, 9)])
    assert segment_document(document).sentences == (Sentence(0, 4), Sentence(5, 9))


@pytest.mark.skipif(not SEMEVAL_ARTICLES.is_dir(), reason=f"corpus not present at {SEMEVAL_ARTICLES}")
def test_real_articles_keep_paragraphs_and_offsets() -> None:
    paths = sorted(SEMEVAL_ARTICLES.glob("article*.txt"))[:60]
    assert paths, f"no articles in {SEMEVAL_ARTICLES}"
    for path in paths:
        text = path.read_text(encoding="utf-8")
        sentences = segment(text)
        document = Document(path.stem, text, sentences=sentences)  # validates every offset
        for sentence in document.sentences:
            body = document.sentence_text(sentence)
            # One paragraph per line in this corpus: no sentence may span two lines.
            assert "\n" not in body, f"{path.name}: sentence crosses a line: {body[:80]!r}"
            assert body == body.strip()
        assert "".join(visible(document.sentence_text(s)) for s in sentences) == visible(text), path.name


@pytest.mark.parametrize(
    "text",
    [
        "x" * 300_000,
        "." * 300_000,
        " " * 300_000,
        "\n" * 300_000,
        "\r" * 300_000,
        "a" + " " * 300_000 + "\nb",
        "a. " * 100_000,
        "Mr. " * 75_000,
        "1. " * 100_000,
        ". . " * 75_000,
        ("word " * 15 + "next\n") * 4_000,
    ],
    ids=["one-token", "periods", "spaces", "newlines", "carriage-returns", "long-blank-line", "a-dot",
         "titles", "list-markers", "spaced-dots", "wrapped-lines"],
)
def test_hostile_input_is_linear(text: str) -> None:
    # Linear work takes well under a second here; anything quadratic in a 300,000-character text would not.
    started = time.process_time()
    offsets = list(iter_sentence_offsets(text))
    elapsed = time.process_time() - started
    assert elapsed < 10, f"{len(text):,} characters took {elapsed:.1f} s"
    assert all(not text[s].isspace() and not text[e - 1].isspace() for s, e in offsets)


def news_text(characters: int) -> tuple[str, int]:
    """Team-written news paragraphs, blank-line separated, at least ``characters`` long; and their count."""
    repeats = characters // (len(PARAGRAPH) + 2) + 1
    return "\n\n".join([PARAGRAPH] * repeats), repeats


@pytest.mark.slow
def test_streaming_memory_does_not_grow_with_the_text() -> None:
    peaks = []
    for size in (250_000, 1_000_000):
        text, _ = news_text(size)
        tracemalloc.start()
        try:
            for _ in iter_sentence_offsets(text):
                pass
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    # No copy of the text (250 kB / 1 MB) and no growth with its length.
    assert max(peaks) < 200_000, peaks


@pytest.mark.slow
def test_20_mb_document() -> None:
    text, repeats = news_text(20_000_000)
    assert len(text) >= 20_000_000
    started = time.process_time()
    document = segment_document(Document("big", text))
    elapsed = time.process_time() - started
    assert len(document.sentences) == SENTENCES_PER_PARAGRAPH * repeats
    assert document.sentence_text(document.sentences[-1]) == "Write to desk@example.org!"
    assert elapsed < 120, f"20 MB took {elapsed:.0f} s"


def test_paragraph_fixture_has_the_expected_sentences() -> None:
    expected = [
        "WASHINGTON (AP) — The U.S. Senate voted 52-48 on Jan. 5 to approve a $1.2 billion package.",
        'Sen. Ann Hale, D-Calif., said, "It is a start."',
        "Critics (including Gov. Ray Dunn) called it 3.5% of what is needed...",
        "The House votes next.",
        "Details: https://example.org/vote?id=7.",
        "Questions?",
        "Write to desk@example.org!",
    ]
    assert texts_of(PARAGRAPH) == expected
    assert len(expected) == SENTENCES_PER_PARAGRAPH
