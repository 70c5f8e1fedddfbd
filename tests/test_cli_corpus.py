"""``framing corpus stats`` on a tiny PTC-layout corpus written by the team."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.corpora.stats import corpus_stats, count_sentences_hit
from pipeline.document import Document, Sentence, Span
from pipeline.taxonomy import load_taxonomy

# Paragraphs separated by blank lines, so that every paragraph is one sentence whatever the segmenter's rules.
ARTICLE_1 = (
    "Storm Hits Town\n\n"
    "The reckless council ignored every warning\n\n"
    "Rain fell all night\n\n"
    "Either we build the wall or we drown\n"
)
ARTICLE_2 = "Calm Day\n\nNothing happened at all\n"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="")


def row(doc_id: str, text: str, label: str, fragment: str) -> str:
    start = text.index(fragment)
    return f"{doc_id}\t{label}\t{start}\t{start + len(fragment)}\n"


@pytest.fixture
def corpus(tmp_path):
    root = tmp_path / "ptc"
    write(root / "train-articles" / "article1.txt", ARTICLE_1)
    write(root / "train-articles" / "article2.txt", ARTICLE_2)
    write(
        root / "train-task2-TC.labels",
        row("1", ARTICLE_1, "Loaded_Language", "reckless")
        + row("1", ARTICLE_1, "Name_Calling,Labeling", "reckless council")
        + row("1", ARTICLE_1, "Black-and-White_Fallacy", "Either we build the wall or we drown")
        + row("1", ARTICLE_1, "Bandwagon,Reductio_ad_hitlerum", "Rain fell"),
    )
    return root


def run(args: list[str], capsys) -> tuple[int, str, str]:
    try:
        main(args)
        status = 0
    except SystemExit as exit_:
        status = exit_.code or 0
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_stats_json_counts_documents_sentences_labels_and_device_share(corpus, capsys):
    status, out, err = run(["corpus", "stats", "--format", "ptc", str(corpus), "--json"], capsys)
    assert status == 0, err
    stats = json.loads(out)
    assert stats["documents"] == 2
    assert stats["sentences"] == 6  # 4 paragraphs + 2 paragraphs
    assert stats["spans"] == 4
    assert stats["spans_per_label"]["loaded_language"] == 1
    assert stats["spans_per_label"]["name_calling"] == 1
    assert stats["spans_per_label"]["false_dilemma"] == 1
    assert stats["spans_per_label"]["blame_attribution"] == 0
    assert list(stats["spans_per_label"]) == list(load_taxonomy().ids)
    assert stats["ambiguous_spans"] == {"Bandwagon,Reductio_ad_hitlerum": 1}
    # the council sentence, the rain sentence (a merged, still certain, technique) and the dilemma
    assert stats["sentences_with_device"] == 3
    assert stats["device_sentence_share"] == 0.5
    assert stats["problems"] == 0


def test_stats_table_is_readable(corpus, capsys):
    status, out, _ = run(["corpus", "stats", "--format", "ptc", str(corpus)], capsys)
    assert status == 0
    device_line = next(line for line in out.splitlines() if "sentences with a device" in line)
    assert device_line.split()[-2:] == ["3", "(50.0%)"]
    lines = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}
    assert lines["false_dilemma"] == ["1", "simplification"]
    assert lines["whataboutism"] == ["0", "distraction"]
    assert "Bandwagon,Reductio_ad_hitlerum: 1" in out


def test_problems_go_to_stderr_with_file_and_line_and_the_rest_is_counted(corpus, capsys):
    labels = corpus / "train-task2-TC.labels"
    labels.write_text(labels.read_text(encoding="utf-8") + "7\tDoubt\t0\t4\n", encoding="utf-8")
    status, out, err = run(["corpus", "stats", "--format", "ptc", str(corpus), "--json"], capsys)
    assert status == 0
    assert f"warning: {labels}:5: unknown article '7'" in err
    stats = json.loads(out)
    assert stats["spans"] == 4 and stats["problems"] == 1


def test_wrong_layout_and_bad_format_are_clear_errors(tmp_path, capsys):
    status, _, err = run(["corpus", "stats", "--format", "semeval2025", str(tmp_path)], capsys)
    assert status == 2
    assert "error: not a semeval2025 corpus" in err and "raw-documents" in err
    status, _, err = run(["corpus", "stats", "--format", "ptc3", str(tmp_path)], capsys)
    assert status == 2 and "ptc3" in err


def test_a_bad_taxonomy_file_is_a_clear_error(corpus, tmp_path, capsys):
    bad = tmp_path / "taxonomy.yaml"
    bad.write_text("labels: []\n", encoding="utf-8")
    status, _, err = run(["corpus", "stats", "--format", "ptc", str(corpus), "--taxonomy", str(bad)], capsys)
    assert status == 2
    assert f"error: {bad}" in err and "'labels' must be a non-empty list" in err


def test_count_sentences_hit_counts_each_overlapped_sentence_once():
    sentences = (Sentence(0, 10), Sentence(11, 20), Sentence(21, 30))
    spans = [Span(5, 15, "doubt"), Span(12, 13, "doubt"), Span(20, 21, "doubt")]  # the last touches no sentence
    assert count_sentences_hit(sentences, spans) == 2
    assert count_sentences_hit(sentences, [Span(9, 22, "doubt")]) == 3
    assert count_sentences_hit((), spans) == 0


def test_corpus_stats_uses_given_sentences_and_reports_labels_outside_the_taxonomy():
    taxonomy = load_taxonomy()
    text = "One two. Three four."
    document = Document(
        "d",
        text,
        sentences=[Sentence(0, 8), Sentence(9, 20)],
        spans=[
            Span(0, 3, "doubt", source="gold", attributes={"source_label": "Doubt"}),
            Span(9, 14, "custom", source="gold", attributes={"source_label": "Custom"}),
            Span(9, 14, None, source="gold", attributes={"source_label": "Guardian"}),
            Span(9, 14, "doubt", source="model:1"),  # not gold: not counted
        ],
    )
    stats = corpus_stats([document], taxonomy, corpus="x", segmenter=lambda doc: pytest.fail("re-segmented"))
    assert (stats.sentences, stats.sentences_with_device, stats.spans) == (2, 1, 3)
    assert stats.unmapped_spans == {"custom (not in taxonomy)": 1, "Guardian": 1}
