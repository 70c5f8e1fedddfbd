"""The corpus loaders on tiny corpora written by the team, built in tmp_path in each format's layout."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.corpora import CORPUS_FORMATS, load_corpus
from pipeline.corpora.common import Utf16Offsets, trim
from pipeline.errors import ConfigError, InputError
from pipeline.taxonomy import parse_taxonomy

ARTICLE_1 = (
    "Council Votes On Park\n\n"
    "The reckless council wasted our money.\n"
    'Critics call the plan "a disaster!" for everyone.\n'
    "Either we stop it now or the park is lost.\n"
)
ARTICLE_2 = "\ufeffQuiet Day\n\nNothing much happened, said the clerk.\n"  # starts with a byte-order mark
ARTICLE_3 = "Unlabelled\n\nA calm report about the weather.\n"


def offsets(text: str, fragment: str, *, pad_before: int = 0, pad_after: int = 0) -> tuple[int, int]:
    start = text.index(fragment)
    return start - pad_before, start + len(fragment) + pad_after


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    return path


def label_line(doc_id: str, label: str, span: tuple[int, int]) -> str:
    return f"{doc_id}\t{label}\t{span[0]}\t{span[1]}\n"


@pytest.fixture
def ptc(tmp_path):
    root = tmp_path / "ptc"
    for doc_id, text in (("1", ARTICLE_1), ("2", ARTICLE_2), ("3", ARTICLE_3)):
        write(root / "train-articles" / f"article{doc_id}.txt", text)
    lines = [
        label_line("1", "Loaded_Language", offsets(ARTICLE_1, "reckless")),
        # a trailing period and newline, as the annotation tool sometimes left them: trimmed
        label_line("1", "Loaded_Language", offsets(ARTICLE_1, "wasted our money", pad_after=2)),
        # quotes and "!" belong to the fragment; the space after does not
        label_line("1", "Exaggeration,Minimisation", offsets(ARTICLE_1, '"a disaster!"', pad_after=1)),
        label_line("1", "Black-and-White_Fallacy", offsets(ARTICLE_1, "Either we stop it now or the park is lost")),
        label_line("1", "Whataboutism,Straw_Men,Red_Herring", offsets(ARTICLE_1, "Critics call the plan")),
        # offsets count the byte-order mark at the start of article 2
        label_line("2", "Doubt", offsets(ARTICLE_2, "said the clerk")),
    ]
    write(root / "train-task2-TC.labels", "".join(lines))
    return root


def texts_by_label(document):
    return {(span.label, document.text[span.start : span.end]) for span in document.spans}


def test_ptc_loads_every_article_with_exact_trimmed_gold_spans(ptc):
    errors: list[str] = []
    documents = {doc.id: doc for doc in load_corpus("ptc", ptc, errors=errors)}
    assert errors == []
    assert list(documents) == ["1", "2", "3"]
    first = documents["1"]
    assert first.text == ARTICLE_1
    assert texts_by_label(first) == {
        ("loaded_language", "reckless"),
        ("loaded_language", "wasted our money"),
        ("exaggeration_minimisation", '"a disaster!"'),
        ("false_dilemma", "Either we stop it now or the park is lost"),
        (None, "Critics call the plan"),
    }
    assert all(span.source == "gold" for span in first.spans)
    assert {span.attributes["source_label"] for span in first.spans} >= {"Black-and-White_Fallacy"}
    assert documents["3"].spans == ()


def test_ptc_merged_label_keeps_its_candidates_and_is_not_annotated(ptc):
    first = next(iter(load_corpus("ptc", ptc)))
    (merged,) = [span for span in first.spans if span.label is None]
    assert merged.attributes["source_label"] == "Whataboutism,Straw_Men,Red_Herring"
    assert {"whataboutism", "straw_man", "red_herring"} <= set(merged.attributes["candidates"])
    annotated = first.metadata["annotated_labels"]
    assert "false_dilemma" in annotated and "whataboutism" not in annotated and "blame_attribution" not in annotated
    assert first.metadata["corpus"] == "ptc" and first.metadata["doc_id"] == "1"


def test_ptc_offsets_count_a_byte_order_mark(ptc):
    second = [doc for doc in load_corpus("ptc", ptc) if doc.id == "2"][0]
    assert second.text == ARTICLE_2
    assert texts_by_label(second) == {("doubt", "said the clerk")}


def test_bad_label_lines_are_reported_with_file_and_line_and_the_rest_loads(ptc):
    labels = ptc / "train-task2-TC.labels"
    good = labels.read_text(encoding="utf-8")
    bad = [
        "1\tLoaded_Language\t4\n",  # too few fields
        "1\tLoaded_Language\tfour\t12\n",  # not a number
        "9\tLoaded_Language\t4\t12\n",  # no such article
        "1\tLoaded Language\t4\t12\n",  # not a PTC label
        f"1\tDoubt\t4\t{len(ARTICLE_1) + 5}\n",  # past the end
        "1\tDoubt\t12\t4\n",  # reversed
    ]
    period = ARTICLE_1.index(".\n")
    bad.append(f"1\tDoubt\t{period}\t{period + 2}\n")  # only a period and a line break: nothing left
    labels.write_text(good + "".join(bad), encoding="utf-8")
    errors: list[str] = []
    documents = list(load_corpus("ptc", ptc, errors=errors))
    first_bad_line = good.count("\n") + 1
    assert len(errors) == len(bad)
    for offset, problem in enumerate(errors):
        assert problem.startswith(f"{labels}:{first_bad_line + offset}: "), problem
    assert "expected 4 tab-separated fields" in errors[0]
    assert "'four' is not a non-negative integer" in errors[1]
    assert "unknown article '9'" in errors[2]
    assert "'Loaded Language' is not in the ptc mapping table" in errors[3]
    assert "outside the text" in errors[4]
    assert "empty or reversed" in errors[5]
    assert "nothing but whitespace and punctuation" in errors[6]
    assert sum(len(doc.spans) for doc in documents) == 6


def test_without_an_error_list_problems_are_logged_and_nothing_is_lost(ptc, caplog):
    labels = ptc / "train-task2-TC.labels"
    labels.write_text(labels.read_text(encoding="utf-8") + "9\tDoubt\t1\t2\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="pipeline.corpora"):
        documents = list(load_corpus("ptc", ptc))
    assert len(documents) == 3 and sum(len(doc.spans) for doc in documents) == 6
    assert "unknown article '9'" in caplog.text and f"{labels}:7" in caplog.text


def test_missing_layout_fails_when_called_and_names_the_missing_part(tmp_path):
    with pytest.raises(InputError, match="not a ptc corpus: .*train-articles"):
        load_corpus("ptc", tmp_path)
    with pytest.raises(InputError, match="unknown corpus format 'ptc2'.*semeval2025"):
        load_corpus("ptc2", tmp_path)
    assert CORPUS_FORMATS == ("ptc", "semeval2023", "semeval2025")


def test_a_user_taxonomy_supplies_the_labels(ptc, tmp_path):
    taxonomy = parse_taxonomy(
        """
labels:
  - {id: emotive, name: Emotive, definition: Charged words., examples: [a, b], granularity: span,
     color: "#000000", hotkey: e, group: words}
mappings:
  ptc:
    Loaded_Language: [emotive]
    Exaggeration,Minimisation: [emotive]
    Black-and-White_Fallacy: []
    Whataboutism,Straw_Men,Red_Herring: []
    Doubt: []
"""
    )
    first = next(iter(load_corpus("ptc", ptc, taxonomy=taxonomy)))
    assert sorted(span.label or "-" for span in first.spans) == ["-", "-", "emotive", "emotive", "emotive"]
    assert first.metadata["annotated_labels"] == ["emotive"]
    without_table = parse_taxonomy("labels:\n" + taxonomy_label_block())
    with pytest.raises(ConfigError, match="no mapping table for corpus 'ptc'"):
        load_corpus("ptc", ptc, taxonomy=without_table)


def taxonomy_label_block() -> str:
    return (
        "  - {id: emotive, name: Emotive, definition: Charged., examples: [a, b], granularity: span,\n"
        '     color: "#000000", hotkey: e, group: words}\n'
    )


# --- SemEval-2023 --------------------------------------------------------------------------------------------
@pytest.fixture
def semeval2023(tmp_path):
    root = tmp_path / "semeval2023"
    paragraph_text = ARTICLE_1.replace("money.\n", "money. ")  # sentences of a paragraph share a line
    write(root / "train-articles" / "article10.txt", paragraph_text)
    write(root / "train-articles" / "article11.txt", ARTICLE_3)
    spans = root / "train-labels-spans"
    write(
        spans / "article10-labels-subtask-3.txt",
        label_line("10", "Loaded_Language", offsets(paragraph_text, "reckless"))
        + label_line("10", "Appeal_to_Hypocrisy", offsets(paragraph_text, "council wasted our money", pad_after=2))
        + label_line("11", "Doubt", (0, 4)),  # belongs in article11's file
    )
    write(spans / "article11-labels-subtask-3.txt", "")
    write(root / "train-labels-framing.txt", "10\tEconomic,Political\n12\tMorality\n")
    write(root / "train-labels-genre.txt", "10\topinion\n")
    return root


def test_semeval2023_spans_and_document_labels(semeval2023):
    errors: list[str] = []
    documents = {doc.id: doc for doc in load_corpus("semeval2023", semeval2023, errors=errors)}
    tenth = documents["10"]
    assert texts_by_label(tenth) == {
        ("loaded_language", "reckless"),
        ("appeal_to_hypocrisy", "council wasted our money"),
    }
    assert tenth.metadata["frames"] == ["Economic", "Political"]
    assert tenth.metadata["genre"] == "opinion"
    assert "frames" not in documents["11"].metadata and "genre" not in documents["11"].metadata
    assert "appeal_to_time" in tenth.metadata["annotated_labels"]  # annotated, though absent here
    spans_file = semeval2023 / "train-labels-spans" / "article10-labels-subtask-3.txt"
    framing_file = semeval2023 / "train-labels-framing.txt"
    assert errors == [
        f"{spans_file}:3: article id '11' does not match the file's article '10'",
        f"{framing_file}: 1 listed article(s) have no file in train-articles/, labels ignored: line 2 (12)",
    ]


# --- SemEval-2025 --------------------------------------------------------------------------------------------
DOC_A = "Storm over the harbour 🌊\n\nFans 😀😀 cheered, but the Mayor ruined the party.\nThe 🚀 crew waved.\n"
DOC_B = "Plain text\n\nThe ministry misled the public.\n"


def utf16(text: str, index: int) -> int:
    return len(text[:index].encode("utf-16-le")) // 2


def mention_line(doc: str, text: str, mention: str, roles: str, *, end_shift: int = 0) -> str:
    start, end = offsets(text, mention)
    return f"{doc}\t{mention}\t{utf16(text, start)}\t{utf16(text, end) - 1 + end_shift}\t{roles}\r\n"


@pytest.fixture
def semeval2025(tmp_path):
    root = tmp_path / "semeval2025"
    write(root / "raw-documents" / "EN_UA_1.txt", DOC_A)
    write(root / "raw-documents" / "EN_CC_2.txt", DOC_B)
    write(
        root / "subtask-1-annotations.txt",
        mention_line("EN_UA_1.txt", DOC_A, "the Mayor", "Antagonist\tDeceiver\tCorrupt")
        + mention_line("EN_UA_1.txt", DOC_A, "🚀 crew", "Protagonist\tGuardian")  # ends after an emoji
        + mention_line("EN_CC_2.txt", DOC_B, "The ministry", "Antagonist\tForeign Adversary\tIncompetent")
        + mention_line("EN_CC_2.txt", DOC_B, "the public", "Innocent\tVictim", end_shift=1)  # wrong end
        + mention_line("EN_CC_2.txt", DOC_B, "ministry", "Antagonist\tVillain")  # not a role
        + mention_line("EN_XX_3.txt", DOC_B, "ministry", "Antagonist\tDeceiver"),  # no such document
    )
    write(
        root / "subtask-2-annotations.txt",
        "EN_UA_1.txt\tURW: Blame;URW: Blame\tURW: Blame: The West;URW: Blame: Ukraine\nEN_CC_2.txt\tOther\tOther\n",
    )
    return root


def test_semeval2025_converts_inclusive_utf16_offsets_exactly(semeval2025):
    errors: list[str] = []
    documents = {doc.id: doc for doc in load_corpus("semeval2025", semeval2025, errors=errors)}
    first = documents["EN_UA_1"]
    assert texts_by_label(first) == {("blame_attribution", "the Mayor"), (None, "🚀 crew")}
    mayor = [span for span in first.spans if span.label][0]
    assert dict(mayor.attributes) == {
        "source_label": "Deceiver",
        "main_role": "Antagonist",
        "fine_roles": ["Deceiver", "Corrupt"],
        "kind": "entity_mention",
    }
    assert first.metadata["narratives"] == ["URW: Blame"]
    assert first.metadata["subnarratives"] == ["URW: Blame: The West", "URW: Blame: Ukraine"]
    assert first.metadata["annotated_labels"] == []
    second = documents["EN_CC_2"]
    assert texts_by_label(second) == {("blame_attribution", "The ministry")}
    assert second.spans[0].attributes["source_label"] == "Incompetent"
    annotations = semeval2025 / "subtask-1-annotations.txt"
    assert [problem.split(": ", 1)[0] for problem in errors] == [f"{annotations}:{n}" for n in (5, 6, 4)]
    assert "'Villain' is not in the semeval2025 mapping table" in errors[0]
    assert "unknown document 'EN_XX_3.txt'" in errors[1]
    assert "give 'the public.', not the mention 'the public'" in errors[2]


def test_a_mention_that_splits_an_emoji_is_reported(semeval2025):
    annotations = semeval2025 / "subtask-1-annotations.txt"
    start = utf16(DOC_A, DOC_A.index("😀"))
    annotations.write_text(f"EN_UA_1.txt\tx\t{start + 1}\t{start + 3}\tProtagonist\tVirtuous\n", encoding="utf-8")
    errors: list[str] = []
    assert all(doc.spans == () for doc in load_corpus("semeval2025", semeval2025, errors=errors))
    assert errors == [f"{annotations}:1: UTF-16 offset {start + 1} falls inside a surrogate pair"]


# --- shared helpers ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fragment", "kept"),
    [
        (" loaded words. ", "loaded words"),
        ('"Stop them!" ', '"Stop them!"'),
        ("so-called regime,", "so-called regime"),
        ("\ufeffTitle:\n", "Title"),
        ("U.S.", "U.S"),  # the PTC v2 rule is mechanical: a final period goes, abbreviation or not
        ("(maybe?)", "(maybe?)"),
        (" .,; ", ""),
    ],
)
def test_trim_removes_whitespace_and_separators_at_the_ends_only(fragment, kept):
    text = "<" + fragment + ">"
    start, end = trim(text, 1, 1 + len(fragment))
    assert text[start:end] == kept


astral_text = st.text(alphabet=st.sampled_from(["a", " ", "é", "\n", "😀", "𝔘", "中"]), min_size=1, max_size=40)


@given(astral_text, st.data())
def test_utf16_offsets_convert_back_to_python_indices(text, data):
    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start + 1, len(text)))
    converter = Utf16Offsets(text)
    assert converter.span(utf16(text, start), utf16(text, end)) == (start, end)
    assert converter.span(utf16(text, start), utf16(text, end) - 1, end_inclusive=True) == (start, end)


def test_utf16_offsets_reject_ranges_outside_the_text():
    converter = Utf16Offsets("ab😀")
    assert converter.units == 4
    with pytest.raises(ValueError, match="outside the text"):
        converter.span(2, 4, end_inclusive=True)
    with pytest.raises(ValueError, match="inside a surrogate pair"):
        converter.span(0, 2, end_inclusive=True)
