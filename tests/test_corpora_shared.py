"""The loaders on the staged research corpora in ../shared/data (skipped where that directory is absent).

The corpus text is read at run time and never copied into the repository.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from pipeline.corpora import load_corpus
from pipeline.corpora.common import Utf16Offsets, read_rows, read_text, trim

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
PTC = DATA / "ptc"
SEMEVAL2023 = DATA / "semeval2023-task3-en"
SEMEVAL2025 = DATA / "semeval2025-task10-en"


def needs(path: Path):
    return pytest.mark.skipif(not path.is_dir(), reason=f"research corpus not staged at {path}")


def load(corpus_format: str, path: Path):
    errors: list[str] = []
    return list(load_corpus(corpus_format, path, errors=errors)), errors


def source_rows(label_files, articles_dir: Path):
    """(text, start, end, technique) for every row of technique label files, parsed independently here."""
    texts: dict[str, str] = {}
    for label_file in label_files:
        for _, (doc_id, technique, start, end) in read_rows(label_file):
            if doc_id not in texts:
                texts[doc_id] = read_text(articles_dir / f"article{doc_id}.txt")
            yield texts[doc_id], int(start), int(end), technique


def assert_spans_are_the_trimmed_fragments(documents, rows):
    """Every loaded span is exactly one annotated fragment, trimmed, and no fragment is lost."""
    loaded = Counter(
        (doc.text, doc.text[span.start : span.end], span.attributes["source_label"])
        for doc in documents
        for span in doc.spans
    )
    expected = Counter()
    for text, start, end, technique in rows:
        trimmed_start, trimmed_end = trim(text, start, end)
        expected[(text, text[trimmed_start:trimmed_end], technique)] += 1
    assert loaded == expected
    for doc in documents:
        for span in doc.spans:
            fragment = doc.text[span.start : span.end]
            assert fragment == fragment.strip() and fragment[-1] not in ".,;:"


@needs(PTC)
def test_ptc_loads_every_fragment_exactly():
    documents, errors = load("ptc", PTC)
    assert errors == []
    assert len(documents) == len(list((PTC / "train-articles").glob("article*.txt")))
    rows = list(source_rows([PTC / "train-task2-TC.labels"], PTC / "train-articles"))
    assert sum(len(doc.spans) for doc in documents) == len(rows)
    assert_spans_are_the_trimmed_fragments(documents, rows)
    merged = [span for doc in documents for span in doc.spans if span.label is None]
    assert merged and all(span.attributes["candidates"] for span in merged)
    assert {span.attributes["source_label"] for span in merged} == {
        "Whataboutism,Straw_Men,Red_Herring",
        "Bandwagon,Reductio_ad_hitlerum",
    }


@needs(SEMEVAL2023)
def test_semeval2023_loads_every_fragment_exactly_and_trims_like_ptc():
    documents, errors = load("semeval2023", SEMEVAL2023)
    # the only reports: document-level labels of articles this copy does not hold
    assert all("have no file in train-articles/" in problem for problem in errors)
    label_files = sorted((SEMEVAL2023 / "train-labels-spans").glob("*.txt"))
    rows = list(source_rows(label_files, SEMEVAL2023 / "train-articles"))
    assert_spans_are_the_trimmed_fragments(documents, rows)
    untrimmed = sum(1 for text, start, end, _ in rows if trim(text, start, end) != (start, end))
    assert untrimmed > 0  # this release did leave separators at fragment ends; the loader removed them
    assert all(span.label for doc in documents for span in doc.spans)
    genres = Counter(doc.metadata.get("genre") for doc in documents)
    assert genres["opinion"] > genres["reporting"] > 0
    assert sum("frames" in doc.metadata for doc in documents) > len(documents) / 2


@needs(SEMEVAL2025)
def test_every_semeval2025_mention_converts_to_the_text_the_annotation_file_names():
    """The proof for the UTF-16, end-inclusive offsets: every mention line, converted, gives its mention."""
    checked = drifted = 0
    for _, row in read_rows(SEMEVAL2025 / "subtask-1-annotations.txt"):
        name, mention, start, end = row[0], row[1], int(row[2]), int(row[3])
        text = read_text(SEMEVAL2025 / "raw-documents" / name)
        python_start, python_end = Utf16Offsets(text).span(start, end, end_inclusive=True)
        assert text[python_start:python_end] == mention, (name, start, end)
        checked += 1
        drifted += text[start : end + 1] != mention
    assert checked > 0
    assert drifted > 0  # naive indexing would have been wrong for some mentions: the conversion matters


@needs(SEMEVAL2025)
def test_semeval2025_loader_keeps_every_mention_with_its_roles():
    documents, errors = load("semeval2025", SEMEVAL2025)
    assert errors == []
    rows = list(read_rows(SEMEVAL2025 / "subtask-1-annotations.txt"))
    spans = [(doc, span) for doc in documents for span in doc.spans]
    assert len(spans) == len(rows)
    mentions = Counter((name.removesuffix(".txt"), mention) for _, (name, mention, *_) in rows)
    assert Counter((doc.id, doc.text[span.start : span.end]) for doc, span in spans) == mentions
    assert all(span.attributes["kind"] == "entity_mention" and span.attributes["fine_roles"] for _, span in spans)
    labels = Counter(span.label for _, span in spans)
    assert set(labels) == {"blame_attribution", None}
    assert all(span.attributes["main_role"] == "Antagonist" for _, span in spans if span.label)
    assert sum("narratives" in doc.metadata for doc in documents) == len(documents)
