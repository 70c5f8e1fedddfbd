"""Progress where standard error is not a terminal (logs, pipes, nohup): a plain line now and then, never a bar."""

from __future__ import annotations

from pipeline import progress as progress_module
from pipeline.progress import Counter, progress


def test_a_log_gets_plain_progress_lines_and_a_short_run_stays_quiet(capsys, monkeypatch):
    assert list(progress(range(3), total=3, desc="score", unit="doc")) == [0, 1, 2]
    assert capsys.readouterr().err == ""  # under a minute: nothing
    monkeypatch.setattr(progress_module, "PLAIN_LINE_SECONDS", 0.0)
    assert list(progress(range(3), total=3, desc="score", unit="doc")) == [0, 1, 2]
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(",")[0] for line in lines] == ["score: 1/3 docs", "score: 2/3 docs", "score: 3/3 docs"]
    assert "\r" not in "".join(lines)
    assert list(progress(range(2), desc="score", enabled=False)) == [0, 1]
    assert capsys.readouterr().err == ""  # --no-progress: nothing at all


def test_a_hand_updated_count_writes_plain_lines_with_its_postfix_in_a_log(capsys, monkeypatch):
    # training's step counter: in a log (nohup) a plain line with the loss, never a bar's carriage returns
    monkeypatch.setattr(progress_module, "PLAIN_LINE_SECONDS", 0.0)
    counter = Counter(total=4, initial=1, desc="training", unit="batch")
    counter.set_postfix(loss="0.4321", epoch=2)
    counter.update()
    counter.write('{"epoch": 2}')
    counter.update(2)
    counter.close()
    lines = capsys.readouterr().err.splitlines()
    assert [line.rsplit(",", 1)[0] for line in lines] == [
        "training: 2/4 batches, loss 0.4321, epoch 2", '{"epoch": 2}', "training: 4/4 batches, loss 0.4321, epoch 2"]
    assert "\r" not in "".join(lines)
    monkeypatch.setattr(progress_module, "PLAIN_LINE_SECONDS", 60.0)
    quiet = Counter(total=4, desc="training", unit="batch")
    quiet.update(4)
    assert capsys.readouterr().err == ""  # under a minute: nothing
