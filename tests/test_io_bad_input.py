"""Bad input: each case is reported with where it happened, and the good records around it are kept."""

from __future__ import annotations

import json
import tracemalloc

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.errors import InputError
from pipeline.io import ERROR, WARNING, ErrorReport, open_writer, read_documents, read_records

GOOD = "Prices rose again in March. Shoppers blamed the new tax."
OTHER = "The bridge reopened after repairs. Traffic returned to normal by noon."


def read(sources, **options):
    report = ErrorReport()
    documents = list(read_documents(sources, errors=report, **options))
    return documents, report


def problems(report, severity=ERROR):
    return [p for p in report.problems if p.severity == severity]


def test_invalid_utf8_in_a_text_file_is_reported_with_file_and_byte_offset_and_the_others_are_read(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    bad = GOOD.encode()[:12] + b"\xff\xfe" + GOOD.encode()[12:]
    (corpus / "a.txt").write_bytes(b"First line.\n" + bad)
    (corpus / "b.txt").write_text(OTHER, encoding="utf-8")

    documents, report = read(corpus)

    assert [d.id for d in documents] == ["b.txt"]
    [problem] = problems(report)
    assert problem.source == str(corpus / "a.txt")
    assert (corpus / "a.txt").read_bytes()[problem.byte] == 0xFF
    assert f"byte {problem.byte} (line 2, column 13)" in problem.message
    assert "--encoding-errors replace" in problem.message


def test_invalid_utf8_can_be_decoded_with_replacement_characters_and_a_warning(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"Caf\xe9 owners protested. " + OTHER.encode())

    [document], report = read(path, decode_errors="replace")

    assert document.text == "Caf\ufffd owners protested. " + OTHER
    [warning] = problems(report, WARNING)
    assert warning.byte == 3 and report.errors == 0


def test_invalid_utf8_in_a_jsonl_record_is_reported_with_line_and_byte_offset(tmp_path):
    path = tmp_path / "news.jsonl"
    lines = [
        json.dumps({"text": GOOD}).encode(),
        b'{"text": "Caf\xe9 prices"}',
        json.dumps({"text": OTHER}).encode(),
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")

    documents, report = read(path)

    assert [d.text for d in documents] == [GOOD, OTHER]
    [problem] = problems(report)
    assert problem.line == 2
    assert path.read_bytes()[problem.byte] == 0xE9


def test_empty_documents_are_kept_and_flagged_with_a_warning(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    path = tmp_path / "news.jsonl"
    path.write_text(
        "\n".join(
            json.dumps(r)
            for r in [{"id": "a", "text": ""}, {"id": "b", "text": " \r\n "}, {"id": "c", "text": GOOD}]
        ),
        encoding="utf-8",
    )

    documents, report = read([tmp_path / "empty.txt", path])

    assert [(d.id, d.text, d.metadata.get("empty")) for d in documents] == [
        ("empty.txt", "", True),
        ("a", "", True),
        ("b", " \r\n ", True),
        ("c", GOOD, None),
    ]
    assert [p.line for p in problems(report, WARNING)] == [None, 1, 2]
    assert report.errors == 0


def test_binary_files_in_a_directory_are_skipped_as_errors(tmp_path):
    """A dropped document always counts (issue #19): binary files in a folder are errors, not warnings."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01")
    (corpus / "story.txt").write_text(GOOD, encoding="utf-8")

    documents, report = read(corpus)

    assert [d.id for d in documents] == ["story.txt"]
    [problem] = report.problems
    assert problem.severity == ERROR and problem.source.endswith("photo.jpg") and "binary" in problem.message


def test_a_malformed_jsonl_record_is_reported_with_file_and_line_and_the_rest_is_read(tmp_path):
    path = tmp_path / "news.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps({"text": GOOD}),
                '{"text": "unfinished',
                "",
                '["not", "an object"]',
                json.dumps({"text": OTHER}),
            ]
        ),
        encoding="utf-8",
    )

    documents, report = read(path)

    assert [d.text for d in documents] == [GOOD, OTHER]
    assert [(p.line, p.message.split(":")[0]) for p in problems(report)] == [
        (2, "invalid JSON"),
        (4, "expected a JSON object, got an array"),
    ]
    assert str(report.problems[0]).startswith(f"{path}:2: error: invalid JSON")
    assert report.summary() == "2 documents read; 2 bad records skipped"


def test_without_an_error_report_the_first_bad_record_raises_input_error_naming_file_and_line(tmp_path):
    path = tmp_path / "news.jsonl"
    path.write_text(json.dumps({"text": GOOD}) + "\n{oops\n", encoding="utf-8")

    with pytest.raises(InputError, match=r"news\.jsonl:2: invalid JSON"):
        list(read_documents(path))


def test_malformed_csv_records_are_reported_with_their_line_and_the_rest_is_read(tmp_path):
    path = tmp_path / "news.csv"
    path.write_bytes(
        b"id,text\r\n"
        b'a,"' + GOOD.encode() + b'"\r\n'
        b'b,"bad "quoting" here"\r\n'
        b"c,one,field too many\r\n"
        b'd,"Caf\xe9 society"\r\n'
        b'e,"' + OTHER.encode() + b'"\r\n'
    )

    documents, report = read(path)

    assert [(d.id, d.text) for d in documents] == [("a", GOOD), ("e", OTHER)]
    assert [p.line for p in problems(report)] == [3, 4, 5]
    assert "expected 2 fields (id, text), found 3" in problems(report)[1].message
    assert path.read_bytes()[problems(report)[2].byte] == 0xE9


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_a_missing_text_column_is_an_error_that_lists_the_columns_there_are(tmp_path, suffix):
    path = tmp_path / f"news{suffix}"
    if suffix == ".csv":
        path.write_text("id,headline,outlet\r\n1,Prices rise,Gazette\r\n", encoding="utf-8")
    elif suffix == ".parquet":
        pq.write_table(pa.table({"id": ["1"], "headline": ["Prices rise"], "outlet": ["Gazette"]}), path)
    else:
        path.write_text(
            json.dumps({"id": "1", "headline": "Prices rise", "outlet": "Gazette"}) + "\n", encoding="utf-8"
        )

    with pytest.raises(InputError, match="the columns are: id, headline, outlet") as error:
        read(path)
    assert str(path) in str(error.value) and "--text-field" in str(error.value)
    with pytest.raises(InputError, match="no text column 'body'; the columns are: id, headline, outlet"):
        read(path, text_field="body")


def test_a_byte_order_mark_is_removed_and_crlf_is_kept_so_offsets_index_the_written_text(tmp_path):
    source = "Line one.\r\nLine two.\r\n"
    (tmp_path / "a.txt").write_bytes(b"\xef\xbb\xbf" + source.encode())
    (tmp_path / "b.csv").write_bytes(b'\xef\xbb\xbfid,text\r\nb,"' + source.encode() + b'"\r\n')
    (tmp_path / "c.jsonl").write_bytes(
        b"\xef\xbb\xbf" + json.dumps({"id": "c", "text": source}).encode() + b"\r\n"
    )

    documents, report = read([tmp_path / "a.txt", tmp_path / "b.csv", tmp_path / "c.jsonl"])
    out = tmp_path / "out.jsonl"
    with open_writer(out) as writer:
        for document in documents:
            second = document.text.index("Line two.")
            writer.write({"id": document.id, "text": document.text, "start": second, "end": second + 9})

    assert report.problems == []
    assert [d.id for d in documents] == [
        "a.txt",
        "b",
        "c",
    ]  # the CSV header's first column is "id", not "\ufeffid"
    for record in read_records(out):
        assert record["text"] == source
        assert record["text"][record["start"] : record["end"]] == "Line two."


def test_a_csv_field_longer_than_the_csv_module_default_limit_is_read(tmp_path):
    long_text = GOOD * 20_000  # ~1 MB, far over csv's default 128 KiB field limit
    path = tmp_path / "long.csv"
    path.write_text(f'id,text\nlong,"{long_text}"\n', encoding="utf-8")

    [document], report = read(path)

    assert document.text == long_text and report.problems == []


@pytest.mark.parametrize("suffix", [".txt", ".jsonl"])
def test_a_20_mb_document_is_read_and_written_in_memory_bounded_by_a_small_multiple_of_its_size(
    tmp_path, suffix
):
    size = 20_000_000
    text = (GOOD + " " + OTHER + "\n") * (size // (len(GOOD) + len(OTHER) + 2))
    path = tmp_path / f"big{suffix}"
    if suffix == ".txt":
        path.write_text(text, encoding="utf-8")
    else:
        path.write_text(json.dumps({"id": "big", "text": text}) + "\n", encoding="utf-8")
    expected_length = len(text)
    del text

    tracemalloc.start()
    try:
        with open_writer(tmp_path / "out.jsonl") as writer:
            for document in read_documents(path):
                writer.write({"id": document.id, "text": document.text, "metadata": dict(document.metadata)})
                length = len(document.text)
                del document
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert length == expected_length
    assert peak < 4 * size, f"peak {peak / size:.1f} times the document's size"
