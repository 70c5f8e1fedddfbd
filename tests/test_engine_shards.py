"""Input shards and the run manifest of the cluster engine (no Ray needed): shards hold every document once,
and a shard's documents and problems are the ones the local readers give, located in the whole file."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.engines.manifest import Manifest
from pipeline.engines.shards import plan_shards, read_shard
from pipeline.errors import ConfigError, InputError
from pipeline.io import ErrorReport, read_documents
from pipeline.io.fields import ReadOptions


def _jsonl(path, count, bad_lines=(), no_text=()):
    lines = []
    for number in range(1, count + 1):
        record = {"id": f"d{number}", "text": f"Text {number}."}
        if number in no_text:
            record = {"id": f"d{number}", "body_text": "x"}
        lines.append("{not json" if number in bad_lines else json.dumps(record))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _read_all(shards, options=ReadOptions()):
    documents, problems = [], []
    for shard in shards:
        docs, found, count = read_shard(shard, options)
        assert count == len(docs)
        documents += docs
        problems += [str(p) for p in found]
    return documents, problems


def _local(paths, options=ReadOptions()):
    report = ErrorReport()
    documents = list(read_documents(paths, errors=report, decode_errors=options.encoding_errors))
    return documents, [str(p) for p in report.problems]


def test_jsonl_slices_read_as_the_whole_file_with_line_numbers(tmp_path):
    path = _jsonl(tmp_path / "a.jsonl", 23, bad_lines=(4, 17), no_text=(6,))  # line 6 opens the second slice
    shards = plan_shards([str(path)], ReadOptions(), shard_size=5)
    assert [s.kind for s in shards] == ["jsonl"] * 5
    assert [s.first for s in shards] == [1, 6, 11, 16, 21]
    documents, problems = _read_all(shards)
    local_documents, local_problems = _local([str(path.resolve())])
    assert documents == local_documents
    assert problems == local_problems
    assert any(":17: error: invalid JSON" in p for p in problems)
    assert any(":6: error: no 'text' field" in p for p in problems)


def test_parquet_slices_follow_row_groups_and_record_numbers(tmp_path):
    path = tmp_path / "p.parquet"
    table = pa.table({"id": [f"p{i}" for i in range(10)], "text": [f"Row {i}." if i != 7 else None for i in range(10)]})
    pq.write_table(table, path, row_group_size=3)
    shards = plan_shards([str(path)], ReadOptions(), shard_size=4)
    assert [(s.start, s.stop, s.first) for s in shards] == [(0, 2, 1), (2, 4, 7)]
    documents, problems = _read_all(shards)
    assert (documents, problems) == _local([str(path.resolve())])
    assert any("record 8" in p for p in problems)


def test_text_folders_globs_and_record_folders(tmp_path):
    texts = tmp_path / "texts"
    (texts / "sub").mkdir(parents=True)
    for name in ("a.txt", "b.txt", "sub/c.txt"):
        (texts / name).write_text(f"The text of {name}.", encoding="utf-8")
    (texts / "bad.txt").write_bytes(b"\xff\xfe\x00bad")
    shards = plan_shards([str(texts)], ReadOptions(), shard_size=3)
    assert [len(s.files) for s in shards] == [3, 1]
    assert _read_all(shards) == _local([str(texts.resolve())])

    records = tmp_path / "records"
    records.mkdir()
    _jsonl(records / "1.jsonl", 3)
    _jsonl(records / "2.jsonl", 2)
    folder = plan_shards([str(records)], ReadOptions(), shard_size=100)
    pattern = plan_shards([str(records / "*.jsonl")], ReadOptions(), shard_size=100)
    expected = [str((records / name).resolve()) for name in ("1.jsonl", "2.jsonl")]
    assert [s.path for s in folder] == [s.path for s in pattern] == expected
    with pytest.raises(InputError, match="no file matches"):
        plan_shards([str(tmp_path / "none-*.jsonl")], ReadOptions(), shard_size=10)
    with pytest.raises(InputError, match="standard input"):
        plan_shards(["-"], ReadOptions(), shard_size=10)


def test_a_missing_text_field_is_refused_before_any_work(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"id": 1, "body_text": "x"}\n', encoding="utf-8")
    with pytest.raises(InputError):
        plan_shards([str(path)], ReadOptions(), shard_size=10)


def test_manifest_refuses_other_settings_and_other_inputs(tmp_path):
    path = _jsonl(tmp_path / "a.jsonl", 6)
    shards = plan_shards([str(path)], ReadOptions(), shard_size=3)
    settings = {"model_version": "m1", "all_scores": False, "precision": "fp32"}
    out = tmp_path / "out"
    manifest = Manifest.open(out, settings=settings, model_dir="m", inputs=[str(path)], shard_size=3, shards=shards)
    written = manifest.write_shard("00000", [{"id": "d1", "text": "x"}], documents_read=1, problems=[], errors=0,
                                   warnings=0)
    assert written == 1 and (out / "part-00000.parquet").exists()
    assert [s.id for s in manifest.pending()] == ["00001"]
    again = Manifest.open(out, settings=settings, model_dir="m", inputs=[str(path)], shard_size=3, shards=shards)
    assert [s.id for s in again.pending()] == ["00001"]
    saved = json.loads((out / "manifest.json").read_text())
    assert saved["shards"][0]["done"] and saved["records"] == 1 and not saved["complete"]
    with pytest.raises(ConfigError, match="--all-scores"):
        Manifest.open(out, settings={**settings, "all_scores": True}, model_dir="m", inputs=[], shard_size=3,
                      shards=shards)
    with pytest.raises(ConfigError, match="other inputs"):
        Manifest.open(out, settings=settings, model_dir="m", inputs=[], shard_size=2,
                      shards=plan_shards([str(path)], ReadOptions(), shard_size=2))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(ConfigError, match="no manifest.json"):
        Manifest.open(tmp_path / "full", settings=settings, model_dir="m", inputs=[], shard_size=3, shards=shards)


def test_an_input_error_raised_on_a_worker_is_said_as_the_local_engine_says_it():
    from pipeline.engines.ray import _framing_error

    text = ("ray::MapBatches(_prepare)() (pid=1, ip=127.0.0.1)\n  File \"x.py\", line 3\n"
            "    raise InputError(...)\npipeline.errors.InputError: data/x.jsonl: no 'text' field\n")
    error = _framing_error(RuntimeError(text))
    assert isinstance(error, InputError) and str(error) == "data/x.jsonl: no 'text' field"
    assert _framing_error(RuntimeError("ray::X() failed: TypeError: boom")) is None
