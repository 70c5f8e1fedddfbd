"""``framing segment``: every input format in, one record per document out, bad input reported."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

pytest.importorskip("pipeline.segment", reason="the segmenter (pipeline/segment.py) is not there yet")

from pipeline.cli import cli, main  # noqa: E402
from pipeline.io import read_records  # noqa: E402

SENTENCES = {
    "council": ["The council approved the budget on Monday.", "Critics called it reckless."],
    "river": ["Rain fell all week.", "The river rose to a record height."],
}
TEXTS = {"council": " ".join(SENTENCES["council"]) + "\n", "river": "\r\n".join(SENTENCES["river"])}


def invoke(args, stdin=None):
    return CliRunner().invoke(cli, ["segment", *map(str, args)], input=stdin)


def records_of(result):
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def sentence_texts(record):
    text = record["text"]
    return [text[s["start"] : s["end"]] for s in record["sentences"]]


def make_input(kind, tmp_path):
    """Arguments (and standard input) that give the two documents TEXTS in the format ``kind``."""
    if kind == "text directory":
        folder = tmp_path / "corpus"
        folder.mkdir()
        for doc_id, text in TEXTS.items():
            (folder / doc_id).write_bytes(text.encode())
        return [folder], None
    if kind == "text files":
        paths = []
        for doc_id, text in TEXTS.items():
            paths.append(tmp_path / doc_id)
            paths[-1].write_bytes(text.encode())
        return paths, None
    if kind in ("jsonl", "standard input"):
        lines = "".join(json.dumps({"id": doc_id, "text": text}) + "\n" for doc_id, text in TEXTS.items())
        if kind == "standard input":
            return ["--format", "jsonl", "-"], lines.encode()
        (tmp_path / "news.jsonl").write_text(lines, encoding="utf-8")
        return [tmp_path / "news.jsonl"], None
    if kind in ("csv", "tsv"):
        delimiter = "," if kind == "csv" else "\t"
        rows = [f"id{delimiter}text"] + [f'{doc_id}{delimiter}"{text}"' for doc_id, text in TEXTS.items()]
        path = tmp_path / f"news.{kind}"
        path.write_bytes("\r\n".join(rows).encode())
        return [path], None
    if kind == "parquet":
        path = tmp_path / "news.parquet"
        pq.write_table(pa.table({"id": list(TEXTS), "text": list(TEXTS.values())}), path)
        return [path], None
    if kind == "hf dataset":
        datasets = pytest.importorskip("datasets")
        path = tmp_path / "dataset"
        datasets.Dataset.from_dict({"id": list(TEXTS), "text": list(TEXTS.values())}).save_to_disk(str(path))
        return [path], None
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind", ["text directory", "text files", "jsonl", "csv", "tsv", "parquet", "hf dataset", "standard input"]
)
def test_each_input_format_gives_one_record_per_document_with_sentence_offsets(tmp_path, kind):
    args, stdin = make_input(kind, tmp_path)

    records = records_of(invoke(args, stdin))

    assert [(r["id"], r["text"], sentence_texts(r)) for r in records] == [
        (doc_id, TEXTS[doc_id], SENTENCES[doc_id]) for doc_id in TEXTS
    ]
    assert all(set(r) == {"id", "text", "metadata", "sentences"} for r in records)
    assert all(set(s) == {"start", "end"} for r in records for s in r["sentences"])


def test_plain_text_on_standard_input_is_one_document(tmp_path):
    [record] = records_of(invoke(["-"], TEXTS["river"].encode()))

    assert record["text"] == TEXTS["river"] and sentence_texts(record) == SENTENCES["river"]


@pytest.mark.parametrize("name", ["out.jsonl", "out.parquet"])
def test_out_writes_the_same_records_in_the_format_of_its_extension(tmp_path, name):
    args, _ = make_input("jsonl", tmp_path)
    on_stdout = records_of(invoke(args))

    result = invoke([*args, "--out", tmp_path / name])

    assert result.exit_code == 0 and result.stdout == ""
    assert list(read_records(tmp_path / name)) == on_stdout


def test_metadata_fields_and_id_options_reach_the_records(tmp_path):
    path = tmp_path / "news.csv"
    path.write_text(
        'url,body,outlet,section\r\nhttps://example.org/7,"Rain fell all week.",Herald,weather\r\n'
    )

    [record] = records_of(invoke([path, "--id-field", "url", "--metadata-field", "outlet"]))

    assert (record["id"], record["text"], record["metadata"]) == (
        "https://example.org/7",
        "Rain fell all week.",
        {"outlet": "Herald"},
    )


def test_bad_records_are_reported_with_file_and_line_the_rest_is_written_and_the_exit_status_is_1(tmp_path):
    path = tmp_path / "news.jsonl"
    lines = [
        json.dumps({"id": "council", "text": TEXTS["council"]}),
        '{"id": "x", "text": ',
        json.dumps({"id": "river", "text": TEXTS["river"]}),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = invoke([path])
    skipped = invoke([path, "--skip-errors"])

    assert result.exit_code == 1
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ["council", "river"]
    assert f"{path}:2: error: invalid JSON" in result.stderr
    assert "2 documents read; 1 bad record skipped" in result.stderr
    assert skipped.exit_code == 0 and skipped.stdout == result.stdout and f"{path}:2: error" in skipped.stderr


def test_the_framing_entry_point_exits_1_on_bad_records_and_2_on_a_missing_text_column(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": "Rain fell."}) + "\n[]\n", encoding="utf-8")
    no_text = tmp_path / "headlines.csv"
    no_text.write_text("id,headline\r\n1,Rain fell\r\n", encoding="utf-8")

    with pytest.raises(SystemExit) as bad_exit:
        main(["segment", str(bad), "--out", str(tmp_path / "out1.jsonl")])
    with pytest.raises(SystemExit) as fatal_exit:
        main(["segment", str(no_text), "--out", str(tmp_path / "out2.jsonl")])

    assert bad_exit.value.code == 1
    assert fatal_exit.value.code == 2
    assert "the columns are: id, headline" in capsys.readouterr().err
    assert not (tmp_path / "out2.jsonl").exists()


def test_empty_documents_are_kept_flagged_and_warned_about(tmp_path):
    path = tmp_path / "news.jsonl"
    path.write_text(json.dumps({"id": "blank", "text": "  \n"}) + "\n", encoding="utf-8")

    result = invoke([path])

    assert records_of(result) == [
        {"id": "blank", "text": "  \n", "metadata": {"empty": True}, "sentences": []}
    ]
    assert f"{path}:1: warning: empty document" in result.stderr


def test_bom_is_removed_and_crlf_kept_so_offsets_index_the_text_in_the_record(tmp_path):
    path = tmp_path / "river.txt"
    path.write_bytes(b"\xef\xbb\xbf" + TEXTS["river"].encode())

    [record] = records_of(invoke([path]))

    assert record["text"] == TEXTS["river"] and "\r\n" in record["text"]
    assert sentence_texts(record) == SENTENCES["river"]


def test_invalid_utf8_is_reported_with_its_byte_offset_or_replaced_on_request(tmp_path):
    path = tmp_path / "cafe.txt"
    path.write_bytes(b"The caf\xe9 closed. Its owner retired.")

    strict = invoke([path])
    replaced = invoke([path, "--encoding-errors", "replace"])

    assert strict.exit_code == 1 and strict.stdout == ""
    assert f"{path}: byte 7: error: invalid UTF-8 at byte 7" in strict.stderr
    [record] = records_of(replaced)
    assert sentence_texts(record) == ["The caf\ufffd closed.", "Its owner retired."]


def test_binary_files_in_a_directory_are_skipped_as_errors(tmp_path):
    args, _ = make_input("text directory", tmp_path)
    (args[0] / "scan.pdf").write_bytes(b"%PDF-1.7\n\x00\x00binary")

    result = invoke(args)

    assert result.exit_code == 1
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ["council", "river"]
    assert "scan.pdf: byte 9: error: a NUL byte at byte 9 (line 2, column 1): a binary file" in result.stderr
    assert invoke([*args, "--skip-errors"]).exit_code == 0


def test_the_output_file_may_not_be_an_input(tmp_path):
    path = tmp_path / "news.jsonl"
    path.write_text(json.dumps({"text": "Rain fell."}) + "\n", encoding="utf-8")

    result = invoke([path, "--out", path])

    assert result.exit_code != 0 and "is also an input" in str(result.exception)
    assert path.read_text(encoding="utf-8") == json.dumps({"text": "Rain fell."}) + "\n"


def test_help_describes_the_command_and_its_input_options():
    result = CliRunner().invoke(cli, ["segment", "--help"])

    assert result.exit_code == 0
    for option in (
        "--out",
        "--format",
        "--id-field",
        "--text-field",
        "--metadata-field",
        "--encoding-errors",
        "--skip-errors",
    ):
        assert option in result.output
    assert "segment" in CliRunner().invoke(cli, ["--help"]).output
