"""The local engine: worker processes give the records of the one-process path, byte for byte, in input order;
it stops its workers on errors and on Ctrl-C, and the output stays resumable."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from pipeline.batch import annotate_to_file, partial_path
from pipeline.document import Document
from pipeline.engines.local import LocalEngine, default_workers
from pipeline.model.annotator import Annotator
from tests.model_fixtures import TOY_TEXTS, toy_documents

REPO = Path(__file__).resolve().parents[1]


def records(documents) -> list[str]:
    return [json.dumps(d.to_dict(), ensure_ascii=False) for d in documents]


def mixed_documents() -> list:
    long = "\n\n".join(TOY_TEXTS * 40)  # many pieces at group_windows=8
    return [*toy_documents(2), Document("empty", ""), Document("long", long), "A plain string, segmented.",
            *toy_documents(1)[:3]]


def test_workers_give_the_records_of_one_process_in_input_order(trained_model):
    annotator = Annotator.load(trained_model, group_windows=8)
    expected = records(annotator.annotate_many(mixed_documents()))
    # small look-ahead and backlog: the bounds are exercised, not only the happy path
    got = records(LocalEngine(annotator, 2, ahead=3, backlog=2).annotate_many(mixed_documents()))
    assert got == expected
    assert records(LocalEngine(annotator, 1).annotate_many(mixed_documents())) == expected
    assert not multiprocessing.active_children()


def test_the_shipped_model_gives_the_same_records_with_workers():
    annotator = Annotator.load(precision="fp32")
    texts = sorted((REPO / "examples" / "articles").glob("*.txt"))
    documents = [Document(p.name, p.read_text(encoding="utf-8")) for p in texts]
    assert records(LocalEngine(annotator, 2).annotate_many(documents)) == records(annotator.annotate_many(documents))


def test_a_worker_failure_stops_the_run_with_its_reason(trained_model):
    annotator = Annotator.load(trained_model)
    with pytest.raises(RuntimeError, match="TypeError: annotate expects a str or a Document"):
        list(LocalEngine(annotator, 2).annotate_many(["fine text.", 42, "more text."]))
    assert not multiprocessing.active_children()


def test_ctrl_c_keeps_what_was_written_and_stops_the_workers(trained_model, tmp_path):
    annotator = Annotator.load(trained_model, group_windows=2)
    documents = toy_documents(3)

    def interrupted():
        for number, document in enumerate(documents):
            if number == 10:
                raise KeyboardInterrupt
            yield document

    out = tmp_path / "out.jsonl"
    written = []
    with pytest.raises(KeyboardInterrupt):
        for record in annotate_to_file(interrupted(), annotator, out, engine=LocalEngine(annotator, 2, ahead=4)):
            written.append(record["id"])
    assert not multiprocessing.active_children()
    kept = [json.loads(line)["id"] for line in partial_path(out).read_text(encoding="utf-8").splitlines()]
    assert kept == written == [d.id for d in documents[: len(kept)]]
    # --resume finishes the rest, with the same records as one uninterrupted run
    list(annotate_to_file(documents, annotator, out, resume=True, engine=LocalEngine(annotator, 2)))
    whole = tmp_path / "whole.jsonl"
    list(annotate_to_file(documents, annotator, whole))
    assert out.read_text(encoding="utf-8") == whole.read_text(encoding="utf-8")


def test_the_default_uses_no_workers_on_two_cores(monkeypatch):
    monkeypatch.setattr("os.sched_getaffinity", lambda _: {0, 1}, raising=False)
    assert default_workers() == 0
    monkeypatch.setattr("os.sched_getaffinity", lambda _: set(range(16)), raising=False)
    assert default_workers() == 8


@pytest.mark.parametrize("workers", [0, 1])
def test_the_first_documents_come_out_before_a_whole_group_is_read(trained_model, workers):
    """An interrupted run keeps what was written: the first results must not wait for ~60 articles."""
    from pipeline.model.annotator import FIRST_GROUP_WINDOWS

    consumed = []

    def texts():
        for number in range(400):
            consumed.append(number)
            yield TOY_TEXTS[number % len(TOY_TEXTS)]

    annotator = Annotator.load(trained_model, group_windows=512)
    documents = LocalEngine(annotator, workers, ahead=8).annotate_many(texts())
    first = next(documents)
    documents.close()  # stops the workers
    assert first.text == TOY_TEXTS[0]
    # one window per toy text: a first small group (plus the workers' read-ahead), not all 400 texts (a whole
    # group of 512 windows would need more than there are)
    assert len(consumed) <= 3 * FIRST_GROUP_WINDOWS
    assert not multiprocessing.active_children()


@pytest.mark.parametrize(("options", "threads"), [(["--workers", "2"], 14), (["--workers", "2", "--threads", "3"], 3),
                                                  (["--workers", "0"], None)])
def test_the_model_leaves_the_workers_their_cores(trained_model, tmp_path, monkeypatch, options, threads):
    """On a many-core machine torch would take every core, and its threads would fight the workers for them."""
    import torch
    from click.testing import CliRunner

    from pipeline.cli import cli

    monkeypatch.setattr("os.sched_getaffinity", lambda _: set(range(16)), raising=False)
    before = torch.get_num_threads()
    source = tmp_path / "in.txt"
    source.write_text(TOY_TEXTS[0], encoding="utf-8")
    try:
        result = CliRunner().invoke(cli, ["annotate", str(source), "--out", str(tmp_path / "out.jsonl"),
                                           "--model", str(trained_model), "--no-progress", *options])
        assert result.exit_code == 0, result.output
        assert torch.get_num_threads() == (threads or before)
    finally:
        torch.set_num_threads(before)
