"""``framing evaluate`` on a tiny corpus written for these tests."""

from __future__ import annotations

import json

import pytest

from pipeline.cli import main
from pipeline.document import Document, Sentence, Span

TEXT = "Shocking news\n\nThe corrupt elite lied to us again.\nThey always lie.\n"
LOADED = (TEXT.index("corrupt elite"), TEXT.index("corrupt elite") + len("corrupt elite"))  # 13 characters
DOUBT = (TEXT.index("They always lie"), TEXT.index("They always lie") + len("They always lie"))
OTHER = "Markets rose on Tuesday.\nNothing else happened.\n"


@pytest.fixture
def ptc(tmp_path):
    """A PTC-layout corpus: two articles and a TC labels file (article id, technique, start, end)."""
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "article1.txt").write_text(TEXT, encoding="utf-8")
    (articles / "article2.txt").write_text(OTHER, encoding="utf-8")
    labels = tmp_path / "tc.labels"
    labels.write_text(f"1\tLoaded_Language\t{LOADED[0]}\t{LOADED[1]}\n1\tDoubt\t{DOUBT[0]}\t{DOUBT[1]}\n")
    return articles, labels


def write_predictions(path, documents, extra_lines=()):
    with open(path, "w", encoding="utf-8") as out:
        for doc in documents:
            out.write(json.dumps({**doc.to_dict(), "model_version": "test"}) + "\n")
        for line in extra_lines:
            out.write(line + "\n")
    return path


def run(capsys, *args):
    """Exit status, standard output and standard error of ``framing evaluate ARGS``."""
    try:
        main(["evaluate", *map(str, args)])
        status = 0
    except SystemExit as exit_:
        status = exit_.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_json_metrics_on_a_tiny_ptc_corpus(ptc, tmp_path, capsys):
    articles, labels = ptc
    corrupt = (LOADED[0], LOADED[0] + len("corrupt"))  # 7 of the 13 gold characters
    predicted = [
        Document("1", TEXT, spans=[Span(*corrupt, "loaded_language", 0.9),
                                   Span(*DOUBT, "blame_attribution", 0.8)]),  # PTC never annotates blame
        Document("2", OTHER),
    ]
    predictions = write_predictions(tmp_path / "predictions.jsonl", predicted)
    status, out, err = run(capsys, "--format", "ptc", "--articles", articles, "--labels", labels,
                           "--predictions", predictions, "--json")
    assert status == 0, err
    metrics = json.loads(out)
    r = lambda value: round(value, 6)  # noqa: E731
    # SI: the blame span is left out, so one predicted span [corrupt] inside gold [corrupt elite]:
    # P = 7/7 = 1, R = (7/13 + 0) / 2 = 7/26, F1 = 2·(7/26) / (1 + 7/26) = 14/33
    assert metrics["si_precision"] == 1.0
    assert (r(metrics["si_recall"]), r(metrics["si_f1"])) == (r(7 / 26), r(14 / 33))
    assert r(metrics["span_f1"]) == r(14 / 33)  # the one overlap is between spans of the same label
    # TC: [corrupt elite] -> loaded_language (hit), [They always lie] -> nothing: P = 1, R = 1/2
    assert r(metrics["tc_f1"]) == r(2 / 3)
    # SLC on PTC lines: line 2 found, line 3 missed, the title and article 2 negative: P = 1, R = 1/2
    assert (metrics["slc_precision"], metrics["slc_recall"]) == (1.0, 0.5)
    # per line: loaded_language right, doubt missed -> micro 2/3; macro (1 + 0) / 2
    assert r(metrics["sentence_micro_f1"]) == r(metrics["paragraph_micro_f1"]) == r(2 / 3)
    assert metrics["sentence_macro_f1"] == 0.5
    assert metrics["ignored_predictions"] == {"blame_attribution": 1}
    assert set(metrics["per_label"]) == {"loaded_language", "doubt"}
    loaded = metrics["per_label"]["loaded_language"]
    assert (loaded["precision"], r(loaded["recall"]), loaded["support"]) == (1.0, r(7 / 13), 1)
    assert "blame_attribution" not in metrics["labels"]


def test_table_lists_overall_metrics_then_labels(ptc, tmp_path, capsys):
    articles, labels = ptc
    gold_copy = [Document("1", TEXT, spans=[Span(*LOADED, "loaded_language"), Span(*DOUBT, "doubt")]),
                 Document("2", OTHER)]
    predictions = write_predictions(tmp_path / "p.jsonl", gold_copy)
    status, out, err = run(capsys, "--format", "ptc", "--articles", articles, "--labels", labels,
                           "--predictions", predictions)
    assert status == 0, err
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}
    assert rows["loaded_language"][:4] == ["1", "1.0000", "1.0000", "1.0000"]  # support, span P, R, F1
    assert out.index("span identification (SI)") < out.index("loaded_language")


def test_bad_and_missing_prediction_records_are_reported_and_the_rest_scored(ptc, tmp_path, capsys):
    articles, labels = ptc
    good = Document("1", TEXT, spans=[Span(*LOADED, "loaded_language"), Span(*DOUBT, "doubt")])
    bad = json.dumps({"id": "2", "text": OTHER, "spans": [{"start": 5, "end": 500, "label": "doubt"}]})
    predictions = write_predictions(tmp_path / "p.jsonl", [good], [bad])
    status, out, err = run(capsys, "--format", "ptc", "--articles", articles, "--labels", labels,
                           "--predictions", predictions, "--json")
    assert status == 0
    assert f"{predictions}: record 2 (id '2')" in err and "outside the text" in err
    assert "1 articles have no prediction" in err
    metrics = json.loads(out)
    assert metrics["missing_predictions"] == ["2"]
    assert metrics["span_f1"] == 1.0  # article 2 has no gold span: predicting nothing there is right


def test_a_bad_gold_line_is_reported_with_file_and_line(ptc, capsys, tmp_path):
    articles, labels = ptc
    labels.write_text(labels.read_text() + "1\tLoaded_Language\tten\t20\n")
    predictions = write_predictions(tmp_path / "p.jsonl", [Document("1", TEXT)])
    status, _, err = run(capsys, "--format", "ptc", "--articles", articles, "--labels", labels,
                         "--predictions", predictions)
    assert status == 0
    assert f"{labels}:3" in err and "'ten'" in err


def test_predictions_on_another_text_are_an_error_naming_the_article(ptc, tmp_path, capsys):
    articles, labels = ptc
    predictions = write_predictions(tmp_path / "p.jsonl", [Document("1", TEXT.replace("elite", "elites"))])
    status, _, err = run(capsys, "--format", "ptc", "--articles", articles, "--labels", labels,
                         "--predictions", predictions)
    assert status == 2
    assert err.startswith("error: document '1': the predicted text differs")


@pytest.mark.parametrize("source", [[], ["--predictions", "p.jsonl", "--model", "."]])
def test_exactly_one_prediction_source_is_required(ptc, tmp_path, capsys, monkeypatch, source):
    articles, labels = ptc
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.jsonl").write_text("")
    status, _, err = run(capsys, "--format", "ptc", "--articles", articles, "--labels", labels, *source)
    assert status == 2 and "exactly one of --predictions FILE or --model DIR" in err


def test_semeval2023_layout_with_a_labels_directory(tmp_path, capsys):
    articles, spans = tmp_path / "articles", tmp_path / "spans"
    articles.mkdir()
    spans.mkdir()
    text = "Title here\n\nThe corrupt elite lied. Everyone knows it.\n\nA calm closing paragraph.\n"
    (articles / "article7.txt").write_text(text, encoding="utf-8")
    start = text.index("corrupt elite")
    (spans / "article7-labels-subtask-3.txt").write_text(f"7\tLoaded_Language\t{start}\t{start + 13}\n")
    sentence_end = text.index("lied.") + len("lied.")
    predicted = Document("7", text, sentences=[Sentence(text.index("The corrupt"), sentence_end,
                                                        {"loaded_language": 0.9})])
    predictions = write_predictions(tmp_path / "p.jsonl", [predicted])
    status, out, err = run(capsys, "--format", "semeval2023", "--articles", articles, "--labels", spans,
                           "--predictions", predictions, "--json")
    assert status == 0, err
    metrics = json.loads(out)
    # no predicted span: SI finds nothing; the labelled sentence is right per sentence and per paragraph
    assert metrics["si_recall"] == 0.0 and metrics["si_precision"] == 0.0
    assert metrics["slc_f1"] == metrics["sentence_micro_f1"] == metrics["paragraph_micro_f1"] == 1.0
    assert metrics["tc_f1"] == 1.0  # the sentence's label classifies the fragment inside it


class FakeAnnotator:
    """Stands in for a model: marks every "corrupt elite" and records what it was shown."""

    seen: list[Document] = []
    options: dict = {}
    labels = ["loaded_language", "blame_attribution"]

    @classmethod
    def load(cls, model_dir=None, **options):
        cls.options = {"model_dir": model_dir, **options}
        return cls()

    def annotate_many(self, documents):
        for doc in documents:
            FakeAnnotator.seen.append(doc)
            start = doc.text.find("corrupt elite")
            spans = [Span(start, start + 13, "loaded_language", 0.9, "model:fake")] if start >= 0 else []
            yield doc.with_spans(doc.spans + tuple(spans))


def test_model_option_annotates_the_articles_without_their_gold_spans(ptc, tmp_path, capsys, monkeypatch):
    import pipeline.model.annotator

    monkeypatch.setattr(pipeline.model.annotator, "Annotator", FakeAnnotator)
    FakeAnnotator.seen = []
    articles, labels = ptc
    status, out, err = run(capsys, "--format", "ptc", "--articles", articles, "--labels", labels,
                           "--model", tmp_path, "--json")
    assert status == 0, err
    assert FakeAnnotator.options["model_dir"] == tmp_path
    assert [d.id for d in FakeAnnotator.seen] == ["1", "2"] and not any(d.spans for d in FakeAnnotator.seen)
    metrics = json.loads(out)
    # loaded_language found exactly, doubt missed: span P = 1, R = 1/2
    assert (metrics["span_precision"], metrics["span_recall"]) == (1.0, 0.5)


def test_record_stores_the_metrics_in_the_model_directory_and_card(ptc, tmp_path, capsys, trained_model):
    import shutil

    from pipeline.model.store import read_meta

    model = tmp_path / "model"
    shutil.copytree(trained_model, model)
    articles, labels = ptc
    status, out, err = run(capsys, "--format", "ptc", "--articles", articles, "--labels", labels, "--model", model,
                           "--json", "--record", "tiny-ptc")
    assert status == 0, err
    recorded = read_meta(model).metrics["recorded_evaluations"]["tiny-ptc"]
    assert recorded["metrics"]["si_f1"] == json.loads(out)["si_f1"]
    assert "--record tiny-ptc" in recorded["command"] or recorded["command"].startswith("framing")
    assert "### tiny-ptc" in (model / "model-card.md").read_text()
    status, _, err = run(capsys, "--format", "ptc", "--articles", articles, "--labels", labels, "--predictions",
                         write_predictions(tmp_path / "p.jsonl", []), "--record", "x")
    assert status != 0 and "--record needs --model" in err


def test_si_and_slc_count_predicted_techniques_that_the_corpus_has_only_inside_a_merged_label(tmp_path, capsys):
    """Issue #19: gold scored against itself, with the SemEval-2023 label a merged PTC span stands for, is
    SI and SLC 1.0; the technique-aware span F1 still scores only the labels PTC annotates unambiguously."""
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "article1.txt").write_text(TEXT, encoding="utf-8")
    labels = tmp_path / "tc.labels"
    labels.write_text(f"1\tLoaded_Language\t{LOADED[0]}\t{LOADED[1]}\n"
                      f"1\tWhataboutism,Straw_Men,Red_Herring\t{DOUBT[0]}\t{DOUBT[1]}\n")
    predicted = [Document("1", TEXT, spans=[Span(*LOADED, "loaded_language", 0.9),
                                            Span(*DOUBT, "whataboutism", 0.8),
                                            Span(0, 8, "blame_attribution", 0.7)])]  # PTC has no blame at all
    predictions = write_predictions(tmp_path / "predictions.jsonl", predicted)
    status, out, err = run(capsys, "--format", "ptc", "--articles", articles, "--labels", labels,
                           "--predictions", predictions, "--json")
    metrics = json.loads(out)

    assert status == 0, err
    assert metrics["si_f1"] == pytest.approx(1.0) and metrics["slc_f1"] == pytest.approx(1.0)
    assert metrics["span_f1"] == pytest.approx(1.0)  # loaded_language against loaded_language
    assert metrics["ignored_predictions"] == {"blame_attribution": 1}
