"""Reading documents from every supported input format (bad input has its own file: test_io_bad_input.py)."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.document import stable_id
from pipeline.errors import ConfigError, InputError
from pipeline.io import ErrorReport, open_writer, read_documents

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
COUNCIL = "The council approved the budget on Monday. Critics called it reckless.\n"
MAYOR = "The mayor defended the plan.\r\nShe said the city had no choice."
STORM = "A storm closed the harbour. Fishing boats stayed in port for three days."


def read(sources, **options):
    report = ErrorReport()
    documents = list(read_documents(sources, errors=report, **options))
    assert report.problems == [], report.problems
    return documents


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


def test_directory_of_text_files_gives_one_document_per_file_with_relative_path_ids(tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "local").mkdir(parents=True)
    (corpus / ".git").mkdir()
    (corpus / "b.txt").write_text(COUNCIL, encoding="utf-8")
    (corpus / "local" / "a.txt").write_bytes(MAYOR.encode())
    (corpus / "notes").write_text(STORM, encoding="utf-8")  # any extension (or none) is text
    (corpus / ".hidden.txt").write_text("not a document", encoding="utf-8")
    (corpus / ".git" / "config").write_text("not a document either", encoding="utf-8")

    documents = read(corpus)

    assert [(d.id, d.text) for d in documents] == [
        ("b.txt", COUNCIL),
        ("notes", STORM),
        ("local/a.txt", MAYOR),
    ]
    assert read_documents(corpus).total == 3


def test_single_text_file_is_one_document_named_after_the_file(tmp_path):
    path = tmp_path / "article7.txt"
    path.write_bytes(MAYOR.encode())

    [document] = read(path)

    assert (document.id, document.text, dict(document.metadata)) == ("article7.txt", MAYOR, {})


def test_jsonl_uses_id_and_text_and_keeps_the_other_fields_as_metadata(tmp_path):
    path = write_jsonl(
        tmp_path / "news.jsonl",
        [
            {"id": "n1", "text": COUNCIL, "outlet": "Daily Bugle", "year": 2021},
            {"id": 2, "text": MAYOR, "outlet": "Gazette", "tags": ["local"]},
        ],
    )

    documents = read(path)

    assert [(d.id, d.text) for d in documents] == [("n1", COUNCIL), ("2", MAYOR)]
    assert [dict(d.metadata) for d in documents] == [
        {"outlet": "Daily Bugle", "year": 2021},
        {"outlet": "Gazette", "tags": ["local"]},
    ]


@pytest.mark.parametrize("text_field", ["text", "content", "body", "Content"])
def test_text_field_is_detected_under_its_usual_names(tmp_path, text_field):
    path = write_jsonl(tmp_path / "news.jsonl", [{"id": "n1", text_field: STORM, "title": "Storm"}])

    [document] = read(path)

    assert document.text == STORM
    assert dict(document.metadata) == {"title": "Storm"}


def test_documents_without_an_id_get_a_stable_id_from_their_content(tmp_path):
    first = write_jsonl(tmp_path / "first.jsonl", [{"text": COUNCIL}, {"text": STORM, "id": ""}])
    again = write_jsonl(tmp_path / "again.jsonl", [{"text": STORM}])

    ids = [d.id for d in read([first])] + [d.id for d in read([again])]  # read together, a duplicate

    assert ids == [stable_id(COUNCIL), stable_id(STORM), stable_id(STORM)]
    assert ids[0] != ids[1]


def test_field_options_choose_the_id_text_and_metadata(tmp_path):
    path = write_jsonl(
        tmp_path / "news.jsonl",
        [{"url": "https://example.org/1", "headline": "Storm", "article": STORM, "lang": "en", "x": 1}],
    )

    [document] = read(path, id_field="url", text_field="article", metadata_fields=["lang", "headline"])

    assert (document.id, document.text) == ("https://example.org/1", STORM)
    assert dict(document.metadata) == {"lang": "en", "headline": "Storm"}


def test_our_own_output_records_read_back_with_their_metadata_and_without_sentences(tmp_path):
    path = tmp_path / "segmented.jsonl"
    with open_writer(path) as writer:
        writer.write(
            {
                "id": "n1",
                "text": STORM,
                "metadata": {"outlet": "Gazette"},
                "sentences": [{"start": 0, "end": 27}],
            }
        )

    [document] = read(path)

    assert (document.id, document.text, dict(document.metadata)) == ("n1", STORM, {"outlet": "Gazette"})


@pytest.mark.parametrize(("suffix", "delimiter"), [(".csv", ","), (".tsv", "\t")])
def test_csv_and_tsv_keep_quoted_line_breaks_exactly(tmp_path, suffix, delimiter):
    path = tmp_path / f"news{suffix}"
    quoted_mayor = '"' + MAYOR + '"'
    rows = [
        delimiter.join(["id", "text", "outlet"]),
        delimiter.join(["m1", quoted_mayor, "Gazette"]),
        delimiter.join(["s1", STORM, "Herald"]),
    ]
    path.write_bytes(("\r\n".join(rows) + "\r\n").encode())

    documents = read(path)

    assert [(d.id, d.text, dict(d.metadata)) for d in documents] == [
        ("m1", MAYOR, {"outlet": "Gazette"}),
        ("s1", STORM, {"outlet": "Herald"}),
    ]


def test_parquet_is_read_across_record_batches_in_order(tmp_path):
    path = tmp_path / "news.parquet"
    texts = [f"Story number {i} was filed late. Editors were unhappy." for i in range(150)]
    table = pa.table({"id": [f"s{i}" for i in range(150)], "text": texts, "page": list(range(150))})
    pq.write_table(table, path, row_group_size=40)

    stream = read_documents(path)
    documents = list(stream)

    assert stream.total == 150
    assert [d.text for d in documents] == texts
    assert documents[149].id == "s149" and dict(documents[149].metadata) == {"page": 149}


def test_hugging_face_dataset_saved_to_disk_is_read_with_its_splits(tmp_path):
    datasets = pytest.importorskip("datasets")
    single = tmp_path / "single"
    datasets.Dataset.from_dict({"id": ["c1", "m1"], "text": [COUNCIL, MAYOR]}).save_to_disk(str(single))
    splits = tmp_path / "splits"
    datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict({"content": [STORM]}),
            "test": datasets.Dataset.from_dict({"content": [COUNCIL]}),
        }
    ).save_to_disk(str(splits))

    assert [(d.id, d.text) for d in read(single)] == [("c1", COUNCIL), ("m1", MAYOR)]
    assert [(d.text, d.metadata["split"]) for d in read(splits)] == [(STORM, "train"), (COUNCIL, "test")]


def test_standard_input_is_one_text_document_or_records_with_a_format(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(MAYOR.encode())))
    [document] = read("-")
    assert (document.id, document.text) == (stable_id(MAYOR), MAYOR)

    lines = json.dumps({"id": "a", "text": STORM}) + "\n" + json.dumps({"id": "b", "text": COUNCIL}) + "\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(lines.encode())))
    assert [(d.id, d.text) for d in read("-", input_format="jsonl")] == [("a", STORM), ("b", COUNCIL)]


def test_documents_stream_one_at_a_time(tmp_path):
    """The first document arrives before a later bad line is even read (without a report, it would raise)."""
    path = tmp_path / "news.jsonl"
    path.write_text(json.dumps({"text": STORM}) + "\n{broken\n", encoding="utf-8")

    documents = read_documents(path)

    assert next(documents).text == STORM
    with pytest.raises(InputError, match="news.jsonl:2"):
        next(documents)


def test_several_sources_are_read_in_the_order_given(tmp_path):
    text = tmp_path / "storm.txt"
    text.write_text(STORM, encoding="utf-8")
    records = write_jsonl(tmp_path / "more.jsonl", [{"id": "c", "text": COUNCIL}])

    assert [d.text for d in read([records, text])] == [COUNCIL, STORM]


def test_paths_and_options_are_checked_before_anything_is_read(tmp_path):
    good = write_jsonl(tmp_path / "good.jsonl", [{"text": STORM}])
    (tmp_path / "records.json").write_text("[]", encoding="utf-8")

    with pytest.raises(InputError, match="missing.jsonl: no such file"):
        read_documents([good, tmp_path / "missing.jsonl"])
    with pytest.raises(InputError, match="--format jsonl"):
        read_documents(tmp_path / "records.json")
    with pytest.raises(ConfigError, match="choose one of: text, jsonl"):
        read_documents(good, input_format="xml")
    with pytest.raises(ConfigError, match="strict, replace"):
        read_documents(good, decode_errors="ignore")


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"the research corpora are not at {SHARED_DATA}")
@pytest.mark.parametrize("folder", ["ptc/train-articles", "semeval2025-task10-en/raw-documents"])
def test_research_corpus_folders_read_every_article_exactly_as_its_file(folder):
    root = SHARED_DATA / folder
    if not root.is_dir():
        pytest.skip(f"{root} is not there")
    expected = {}
    for path in sorted(root.iterdir()):
        with open(path, encoding="utf-8-sig", newline="") as stream:
            expected[path.name] = stream.read()

    documents = read(root)

    assert {d.id: d.text for d in documents} == expected
