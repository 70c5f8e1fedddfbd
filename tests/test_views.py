"""The article view and the corpus report, without a browser: marks against records, escaping, overlapping and
nested spans, empty documents, documents without metadata, pulled files side by side, the commands."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.cli import cli
from pipeline.taxonomy import load_taxonomy
from pipeline.views.article import Labels, document_page, page_name, write_site
from pipeline.views.corpus_report import normalise, parse_time, period_of, rate_rows, wilson, write_report
from pipeline.views.records import read_view_documents, record_layer
from tests.views_helpers import TEXT, pulled_record, read_marks, record, sample_record, span_marks, write_jsonl


@pytest.fixture(scope="module")
def taxonomy():
    return load_taxonomy()


def _page(records, tmp_path, taxonomy, name="records.jsonl", extra=()):
    paths = [write_jsonl(tmp_path / name, records), *extra]
    problems: list[str] = []
    site = write_site(read_view_documents(paths, problems), tmp_path / "site", taxonomy=taxonomy, problems=problems)
    return site, problems


def _check_marks_against(record_: dict, parser, source: str) -> None:
    text = record_["text"]
    pieces = span_marks(parser)
    layer_pieces = {key: value for key, value in pieces.items() if key[0] == source}
    assert len(layer_pieces) == len(record_["spans"])
    for number, span in enumerate(sorted(record_["spans"], key=lambda s: (s["start"], -s["end"], s["label"]))):
        fragments = layer_pieces[(source, str(number), span["label"])]
        for fragment in fragments:
            assert (int(fragment["data-start"]), int(fragment["data-end"])) == (span["start"], span["end"])
        # the fragments of a span hold exactly its text, in order
        assert "".join(f["text"] for f in fragments) == text[span["start"]:span["end"]]


def test_every_span_has_its_mark_with_label_and_offsets(tmp_path, taxonomy):
    sample = sample_record()
    site, problems = _page([sample], tmp_path, taxonomy)
    assert problems == []
    page = (site.out_dir / page_name("doc-1")).read_text(encoding="utf-8")
    parser = read_marks(page)
    _check_marks_against(sample, parser, "model: test-model-1")
    # marks add no text: the text block reads exactly as the document
    assert parser.layers == [TEXT]
    # crossing spans are split into fragments, never dropped: doubt crosses loaded_language and delegitimation
    assert len([m for m in parser.marks if m.get("data-label") == "doubt"]) > 1
    # the blamed actor has its own mark, linked by reference from the blame span
    actor = [m for m in parser.marks if m.get("data-kind") == "actor"]
    assert [(m["data-start"], m["data-end"], m["text"]) for m in actor] == [("4", "12", "governor")]
    blame = [m for m in parser.marks if m.get("data-label") == "blame_attribution"]
    assert {m["data-actor"] for m in blame} == {actor[0]["data-actor-id"]}
    # hovering shows label, score and model version
    assert "Blame attribution" in blame[0]["title"] and "0.91" in blame[0]["title"]
    assert "test-model-1" in blame[0]["title"]
    # sentence labels beside their sentence
    assert {(c["data-label"], c["data-start"]) for c in parser.chips} == {
        ("blame_attribution", "0"), ("loaded_language", "0"), ("delegitimation", str(sample["sentences"][1]["start"]))}


def test_nested_marks_stack_their_underlines(tmp_path, taxonomy):
    text = "aaaa bbbb cccc dddd"
    spans = [{"start": 0, "end": 19, "label": "blame_attribution", "score": 0.9},
             {"start": 5, "end": 14, "label": "loaded_language", "score": 0.8},
             {"start": 5, "end": 9, "label": "name_calling", "score": 0.7}]
    site, _ = _page([record("n", text, spans=spans)], tmp_path, taxonomy)
    page = (site.out_dir / page_name("n")).read_text(encoding="utf-8")
    heights = {m["data-label"]: m["style"] for m in read_marks(page).marks}
    assert heights == {"blame_attribution": "--h:3", "loaded_language": "--h:2", "name_calling": "--h:1"}
    # identical ranges of two labels: both kept
    spans.append({"start": 5, "end": 9, "label": "doubt", "score": 0.5})
    site, _ = _page([record("n", text, spans=spans)], tmp_path, taxonomy)
    marks = read_marks((site.out_dir / page_name("n")).read_text(encoding="utf-8")).marks
    assert {(m["data-label"], m["text"]) for m in marks} >= {("doubt", "bbbb"), ("name_calling", "bbbb")}


def test_text_and_metadata_are_escaped(tmp_path, taxonomy):
    hostile = record("<img src=x onerror=alert(1)>", "<script>alert(1)</script> ok",
                     {"outlet": "</script><script>alert(2)</script>", "n": {"nested": "<i>"}},
                     spans=[{"start": 0, "end": 8, "label": "loaded_language", "score": 0.5}])
    site, _ = _page([hostile], tmp_path, taxonomy)
    page = (site.out_dir / page_name(hostile["id"])).read_text(encoding="utf-8")
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;</mark>alert(1)&lt;/script&gt;" in page
    parser = read_marks(page)
    assert parser.scripts == 0  # only the page's own script, by src
    assert parser.layers == [hostile["text"]]
    index = site.index.read_text(encoding="utf-8")
    assert "</script><script>alert(2)" not in index
    data = re.search(r'<script type="application/json" id="rows">(.*?)</script>', index, re.S).group(1)
    rows = json.loads(data)["rows"]
    assert rows[0]["meta"]["outlet"] == "</script><script>alert(2)</script>"
    assert rows[0]["id"] == hostile["id"]


def test_empty_document_and_no_metadata(tmp_path, taxonomy):
    empty = {"id": "empty", "text": "", "metadata": {}, "model_version": "m", "sentences": [], "spans": []}
    bare = {"id": "bare", "text": "Just text.", "sentences": [{"start": 0, "end": 10}], "spans": []}
    site, problems = _page([empty, bare], tmp_path, taxonomy)
    assert problems == []
    empty_page = (site.out_dir / page_name("empty")).read_text(encoding="utf-8")
    assert "This document is empty." in empty_page and "<mark" not in empty_page
    bare_page = (site.out_dir / page_name("bare")).read_text(encoding="utf-8")
    assert 'class="meta"' not in bare_page and "No devices found" in bare_page
    assert read_marks(bare_page).layers == ["Just text."]
    rows = _rows(site.index)
    assert [(r["id"], r["meta"], r["total"]) for r in rows] == [("empty", {}, 0), ("bare", {}, 0)]


def test_bad_offsets_are_reported_not_moved():
    problems: list[str] = []
    layer = record_layer(record("d", "short", spans=[
        {"start": 0, "end": 99, "label": "doubt"}, {"start": 2, "end": 2, "label": "doubt"},
        {"start": 0, "end": 5, "label": "blame_attribution", "attributes": {"actor": {"start": 3, "end": 50}}},
        {"start": "0", "end": 3, "label": "doubt"}]), problems)
    assert [(s["start"], s["end"], s["attributes"]) for s in layer.spans] == [(0, 5, {})]
    assert len(problems) == 4 and all("skipped" in p or "left out" in p for p in problems)


def test_pulled_file_side_by_side_with_the_model(tmp_path, taxonomy):
    sample = sample_record()
    pulled = pulled_record(sample)
    changed = {**pulled_record(sample, "bob"), "text": sample["text"] + " changed"}
    pulled_path = write_jsonl(tmp_path / "pulled.jsonl", [pulled, changed])
    site, problems = _page([sample], tmp_path, taxonomy, extra=[pulled_path])
    assert len(problems) == 1 and "differs" in problems[0]
    page = (site.out_dir / page_name("doc-1")).read_text(encoding="utf-8")
    parser = read_marks(page)
    assert parser.layers == [TEXT, TEXT]
    _check_marks_against(sample, parser, "model: test-model-1")
    _check_marks_against(pulled, parser, "human: alice@example.org")
    assert 'data-kind="human"' in page and 'class="comparison"' in page
    assert _rows(site.index)[0]["sources"] == ["model: test-model-1", "human: alice@example.org"]


def test_pulled_file_alone_groups_annotators_of_a_document(tmp_path, taxonomy):
    sample = sample_record()
    records = [pulled_record(sample), pulled_record(sample, "bob"),
               pulled_record(record("doc-2", "Another text here.")) | {"spans": []}]
    site, problems = _page(records, tmp_path, taxonomy, name="pulled.jsonl")
    assert problems == [] and site.documents == 2
    parser = read_marks((site.out_dir / page_name("doc-1")).read_text(encoding="utf-8"))
    assert len(parser.layers) == 2


def test_parquet_input(tmp_path, taxonomy):
    from pipeline.io import open_writer

    path = tmp_path / "records.parquet"
    with open_writer(path) as writer:
        writer.write(sample_record())
    problems: list[str] = []
    site = write_site(read_view_documents([path], problems), tmp_path / "site", taxonomy=taxonomy)
    parser = read_marks((site.out_dir / page_name("doc-1")).read_text(encoding="utf-8"))
    _check_marks_against(sample_record(), parser, "model: test-model-1")


def test_unknown_labels_get_a_colour_and_a_safe_class(taxonomy):
    labels = Labels.from_taxonomy(taxonomy)
    assert labels.colour("blame_attribution") == taxonomy.get("blame_attribution").color
    assert re.fullmatch(r"#[0-9a-f]{6}", labels.colour("Some Label!"))
    doc = next(read_view_documents_from([record("x", "abc def", spans=[
        {"start": 0, "end": 3, "label": 'Some "Label"!', "score": None}])]))
    page = document_page(doc, labels)
    mark = read_marks(page).marks[0]
    assert mark["data-label"] == 'Some "Label"!'
    assert re.fullmatch(r"m l-[a-z0-9_-]+", mark["class"].replace(" last", ""))


def read_view_documents_from(records):
    from pipeline.views.records import _document_of

    yield _document_of([(f"record {i}", r) for i, r in enumerate(records, 1)], [])


def _rows(index_path):
    index = index_path.read_text(encoding="utf-8")
    return json.loads(re.search(r'id="rows">(.*?)</script>', index, re.S).group(1))["rows"]


def test_many_documents_stream_into_pages_and_a_paged_index(tmp_path, taxonomy):
    def records():
        for number in range(1500):
            yield record(f"d{number}", f"Sentence {number}.", {"outlet": f"o{number % 3}"},
                         spans=[{"start": 0, "end": 8, "label": "loaded_language", "score": 0.6}])

    problems: list[str] = []
    path = tmp_path / "many.jsonl"
    write_jsonl(path, list(records()))
    site = write_site(read_view_documents([path], problems), tmp_path / "site", taxonomy=taxonomy)
    assert site.documents == 1500 and len(list((tmp_path / "site" / "docs").glob("*.html"))) == 1500
    assert len(_rows(site.index)) == 1500
    assert "PAGE = 100" in (tmp_path / "site" / "assets" / "index.js").read_text()


# -- the report --------------------------------------------------------------------------------------------
def test_rates_and_intervals():
    from pipeline.views.corpus_report import Unit

    low, high = wilson(5, 100)
    assert 0.02 < low < 0.05 < high < 0.12
    units = [Unit("a", "g", None, 10, Counter({"x": 2})),
             Unit("b", "g", None, 30, Counter({"x": 1}))]
    [row] = rate_rows(units, ["x"])
    assert row["rate_per_1000"] == 75.0 and row["ci_method"] == "wilson (sentences)"
    many = [Unit(str(i), "g", None, 10, Counter({"x": i % 3})) for i in range(40)]
    [row] = rate_rows(many, ["x"])
    assert row["ci_method"] == "document bootstrap" and row["ci_low"] < row["rate_per_1000"] < row["ci_high"]
    assert rate_rows(many, ["x"]) == [row]  # a fixed seed: the same report twice


def test_time_parsing_and_normalising():
    assert period_of(parse_time("2026-03-04T10:00:00Z"), "month") == "2026-03"
    assert period_of(parse_time("2026-01-01"), "week") == "2026-W01"
    assert parse_time("yesterday") is None and parse_time(None) is None
    assert normalise('  "The   Governor",\n') == "the governor"


def test_report_tables_plots_and_links(tmp_path, taxonomy):
    sample = sample_record()
    other = record("doc-2", "The Governor failed us. Calm day.", {"outlet": "Gazette", "date": "2026-04-10"},
                   spans=[{"start": 0, "end": 22, "label": "blame_attribution", "score": 0.8,
                           "attributes": {"actor": {"start": 4, "end": 12}}}],
                   sentences=[{"start": 0, "end": 23, "labels": {"blame_attribution": 0.8}},
                              {"start": 24, "end": 33, "labels": {}}])
    undated = record("doc-3", "Nothing here.", {"outlet": "Gazette"}, sentences=[{"start": 0, "end": 13}])
    path = write_jsonl(tmp_path / "records.jsonl", [sample, other, undated])
    problems: list[str] = []
    write_site(read_view_documents([path]), tmp_path / "view", taxonomy=taxonomy)
    report = write_report(read_view_documents([path], problems), tmp_path / "report", by="outlet", time="date",
                          taxonomy=taxonomy, view_dir=str(tmp_path / "view"), problems=problems)
    names = {p.name for p in report.files}
    assert {"rates_overall.csv", "rates_overall.png", "rates_by_outlet.csv", "rates_by_outlet.png",
            "rates_over_time.csv", "rates_over_time.png", "blamed_actors.csv", "blamed_actors.png", "phrases.csv",
            "cooccurrence.csv", "cooccurrence.png"} <= names
    for name in names:
        if name.endswith(".png"):
            assert (tmp_path / "report" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    overall = {r["label"]: r for r in csv.DictReader(open(tmp_path / "report" / "rates_overall.csv"))}
    # 6 sentences; blame in 2 of them
    assert overall["blame_attribution"]["sentences"] == "6"
    assert float(overall["blame_attribution"]["rate_per_1000"]) == pytest.approx(333.33)
    by = list(csv.DictReader(open(tmp_path / "report" / "rates_by_outlet.csv")))
    assert {r["group"] for r in by} == {"The <b>Herald</b>", "Gazette"}
    actors = list(csv.DictReader(open(tmp_path / "report" / "blamed_actors.csv")))
    assert actors[0]["normalised"] == "governor" and actors[0]["mentions"] == "2" and actors[0]["documents"] == "2"
    html = report.html.read_text(encoding="utf-8")
    assert "The &lt;b&gt;Herald&lt;/b&gt;" in html and "<b>Herald</b>" not in html
    links = re.findall(r'href="(\.\./view/docs/[^"#]+)#s(\d+)"', html)
    assert links and all((tmp_path / "report" / link).exists() for link, _ in links)
    # the anchor exists on the linked page
    link, start = links[0]
    assert f'id="s{start}"' in (tmp_path / "report" / link).read_text(encoding="utf-8")
    phrases = list(csv.DictReader(open(tmp_path / "report" / "phrases.csv")))
    assert ("delegitimation", "so-called") in {(r["label"], r["normalised"]) for r in phrases}
    assert any("no readable date" in p for p in problems)
    matrix = list(csv.reader(open(tmp_path / "report" / "cooccurrence.csv")))
    header = matrix[0]
    row = next(r for r in matrix if r[0] == "blame_attribution")
    assert row[header.index("loaded_language")] == "1"


def test_report_of_a_pulled_file_segments_its_texts(tmp_path, taxonomy):
    pulled = pulled_record(sample_record())
    path = write_jsonl(tmp_path / "pulled.jsonl", [pulled])
    report = write_report(read_view_documents([path]), tmp_path / "report", taxonomy=taxonomy)
    overall = {r["label"]: r for r in csv.DictReader(open(tmp_path / "report" / "rates_overall.csv"))}
    assert overall["blame_attribution"]["sentences_with_label"] == "1"
    assert int(overall["blame_attribution"]["sentences"]) >= 2
    assert report.documents == 1


def test_report_of_no_devices(tmp_path, taxonomy):
    path = write_jsonl(tmp_path / "r.jsonl", [record("a", "Plain.", sentences=[{"start": 0, "end": 6}])])
    report = write_report(read_view_documents([path]), tmp_path / "report", taxonomy=taxonomy, by="outlet",
                          time="date")
    assert "No device was found" in report.html.read_text(encoding="utf-8")


def test_commands(tmp_path):
    path = write_jsonl(tmp_path / "records.jsonl", [sample_record()])
    runner = CliRunner()
    result = runner.invoke(cli, ["view", str(path), "--out", str(tmp_path / "site"), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("index.html") and (tmp_path / "site" / "index.html").exists()
    result = runner.invoke(cli, ["report", str(path), "--out", str(tmp_path / "report"), "--by", "outlet",
                                 "--time", "date", "--period", "week", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "report" / "articles" / "index.html").exists()
    assert (tmp_path / "report" / "rates_over_time.csv").read_text().splitlines()[1].startswith("2026-W10")
    result = runner.invoke(cli, ["view", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "x")])
    assert result.exit_code != 0


def test_demo_writes_the_view_and_the_report(tmp_path, monkeypatch):
    from pipeline import demo

    monkeypatch.setattr(demo, "OUT", tmp_path / "demo")
    path = write_jsonl(tmp_path / "annotated.jsonl", [sample_record()])
    site, report = demo.write_views(path)
    assert site == tmp_path / "demo" / "view" / "index.html" and site.exists()
    assert report == tmp_path / "demo" / "report" / "index.html" and report.exists()
    assert "../view/docs/" in report.read_text(encoding="utf-8")


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_any_overlap_of_spans_is_drawn_exactly(data):
    """Random overlapping spans (with sentences and actors): each span's fragments hold exactly its text, the
    page holds the text exactly once, and marks nest properly (the parser would misplace text otherwise)."""
    text = data.draw(st.text(alphabet="ab <>&\n\"é😀", min_size=1, max_size=40))
    n = len(text)
    bounds = st.tuples(st.integers(0, n - 1), st.integers(1, n)).map(sorted).filter(lambda b: b[0] < b[1])
    spans = [{"start": s, "end": e, "label": data.draw(st.sampled_from(["doubt", "slogans", "odd label"])),
              "score": 0.5} for s, e in data.draw(st.lists(bounds, max_size=8))]
    if spans and data.draw(st.booleans()):
        actor_start, actor_end = data.draw(bounds)
        spans[0]["attributes"] = {"actor": {"start": actor_start, "end": actor_end}}
    cut = data.draw(st.integers(0, n))
    sentences = [{"start": s, "end": e, "labels": {"doubt": 0.4}} for s, e in ((0, cut), (cut, n)) if s < e]
    document = next(read_view_documents_from([record("r", text, spans=spans, sentences=sentences)]))
    parser = read_marks(document_page(document, Labels()))
    assert parser.layers == [text]
    _check_marks_against(record("r", text, spans=spans), parser, "model: test-model-1")
    actors: dict[str, list[dict]] = {}
    for mark in parser.marks:
        if mark.get("data-kind") == "actor":
            actors.setdefault(mark["data-actor-id"], []).append(mark)
    for fragments in actors.values():
        start, end = int(fragments[0]["data-start"]), int(fragments[0]["data-end"])
        assert "".join(f["text"] for f in fragments) == text[start:end]


def test_deeply_nested_spans(tmp_path):
    text = "x" * 3000
    spans = [{"start": i, "end": 3000 - i, "label": "doubt", "score": 0.5} for i in range(1400)]
    document = next(read_view_documents_from([record("deep", text, spans=spans)]))
    parser = read_marks(document_page(document, Labels()))
    assert parser.layers == [text]
    assert len(parser.marks) == 1400 and parser.marks[0]["style"] == "--h:1400"
