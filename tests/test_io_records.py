"""Record files: JSONL or Parquet by extension, written incrementally, read back exactly as written."""

from __future__ import annotations

import datetime
import io
import sys

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.errors import ConfigError, InputError
from pipeline.io import open_writer, read_documents, read_records, record_format

RECORDS = [
    {
        "id": "n1",
        "text": "Officials denied the report. Nobody believed them.",
        "metadata": {"outlet": "Gazette", "year": 2020},
        "sentences": [{"start": 0, "end": 28}, {"start": 29, "end": 50}],
    },
    {
        "id": "n2",
        "text": "Fuel ran short.\r\n",
        "metadata": {"empty": False, "tags": ["energy"]},  # different metadata keys from the first record
        "sentences": [{"start": 0, "end": 15, "labels": {"doubt": 0.25}}],
    },
    {"id": "n3", "text": "", "metadata": {}, "sentences": []},
]


@pytest.mark.parametrize("name", ["out.jsonl", "out.parquet", "nested/dir/out.ndjson", "OUT.PQ"])
def test_records_read_back_exactly_as_written(tmp_path, name):
    path = tmp_path / name
    with open_writer(path) as writer:
        for record in RECORDS:
            writer.write(record)

    assert list(read_records(path)) == RECORDS


def test_parquet_rows_are_written_in_row_groups_whose_records_may_differ_in_their_nested_keys(tmp_path):
    from pipeline.io.records import ParquetRecordWriter

    path = tmp_path / "out.parquet"
    writer = ParquetRecordWriter(path, rows_per_group=2)
    records = [{"id": f"d{i}", "text": f"Story {i}.", "metadata": {f"key{i}": i}} for i in range(5)]
    for record in records:
        writer.write(record)
    writer.close()

    assert pq.ParquetFile(path).metadata.num_row_groups == 3
    assert pq.read_table(path, columns=["id"]).column("id").to_pylist() == ["d0", "d1", "d2", "d3", "d4"]
    assert list(read_records(path)) == records


def test_output_format_comes_from_the_extension(tmp_path):
    assert record_format("a/b.jsonl") == "jsonl" and record_format("b.parquet") == "parquet"
    with pytest.raises(ConfigError, match=r"unknown record file type '\.csv'; use one of: \.jsonl"):
        with open_writer(tmp_path / "out.csv"):
            pass


def test_a_parquet_file_without_records_is_still_a_valid_empty_file(tmp_path):
    path = tmp_path / "none.parquet"
    with open_writer(path):
        pass

    assert list(read_records(path)) == []


def test_records_that_were_written_before_a_failure_are_kept(tmp_path):
    path = tmp_path / "partial.parquet"
    with pytest.raises(RuntimeError):
        with open_writer(path) as writer:
            writer.write(RECORDS[0])
            raise RuntimeError("the segmenter crashed")

    assert list(read_records(path)) == [RECORDS[0]]


def test_dates_become_iso_text_and_unknown_values_are_a_clear_error(tmp_path):
    path = tmp_path / "out.jsonl"
    with open_writer(path) as writer:
        writer.write({"id": "d", "metadata": {"published": datetime.date(2024, 3, 1)}})
        with pytest.raises(TypeError, match="cannot write object value as JSON"):
            writer.write({"id": "e", "metadata": {"bad": object()}})

    assert list(read_records(path)) == [{"id": "d", "metadata": {"published": "2024-03-01"}}]


def test_without_a_path_records_go_to_standard_output_as_jsonl(monkeypatch):
    buffer = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(buffer, encoding="utf-8"))
    with open_writer(None) as writer:
        writer.write({"id": "a", "text": "Ça va."})

    assert buffer.getvalue() == '{"id": "a", "text": "Ça va."}\n'.encode()


def test_a_bad_line_in_a_record_file_is_an_error_naming_file_and_line(tmp_path):
    path = tmp_path / "records.jsonl"
    path.write_text('{"id": "a"}\n{"id": \n', encoding="utf-8")

    with pytest.raises(InputError, match=r"records\.jsonl:2: invalid JSON"):
        list(read_records(path))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_any_text_survives_writing_and_reading_character_for_character(tmp_path, text):
    """Line breaks of every kind, BOMs, NULs and emoji stay as they are, so offsets keep indexing the text."""
    for name in ("any.jsonl", "any.parquet"):
        path = tmp_path / name
        with open_writer(path) as writer:
            writer.write({"id": "x", "text": text})
        [record] = read_records(path)
        assert record["text"] == text
        [document] = read_documents(path)
        assert document.text == text
