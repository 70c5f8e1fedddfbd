"""The bad-input matrix (issue #19): every bad input or bad model folder the tool has met, one row each.

A row names the input (built by a small function), the command line, the exit status, a fragment of the
message the user must see and the good records that must survive it. Every row runs the real command
in-process (``pipeline.cli.main``) and asserts that standard error holds no Python traceback. To add a
case, add a row.

Exit statuses: 0 done; 1 some records were bad and skipped (0 with --skip-errors); 2 the input, the output
or the model cannot be used at all (nothing done); 130 interrupted.
"""

from __future__ import annotations

import codecs
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.io import read_records

GOOD = "Prices rose again in March. Shoppers blamed the new tax."
OTHER = "The bridge reopened after repairs. Traffic returned to normal by noon."
THIRD = "Rain fell all week. The river rose to a record height."
ARTICLE = "Shocking news\n\nThe corrupt elite lied to us again.\nThey always lie.\n"


@dataclass(frozen=True)
class Case:
    """One row. ``build(tmp, model)`` writes the input under ``tmp`` and returns the command line (``model`` is
    a working tiny model directory); ``survivors`` are the ids that must be in ``output`` (a file under
    ``tmp``, or ``-`` for standard output) afterwards; ``patch(monkeypatch)`` simulates what a file cannot
    (Ctrl-C)."""

    id: str
    build: Callable[[Path, Path], list[str]]
    status: int
    message: str
    survivors: tuple[str, ...] | None = None
    output: str = "out.jsonl"
    patch: Callable[[pytest.MonkeyPatch], None] | None = None
    stdout: str = ""  # a fragment of standard output, for rows whose answer is there


# ---------------------------------------------------------------- inputs


def jsonl(path: Path, *records: dict | str) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def three(path: Path, middle: dict | str) -> Path:
    """Good record a, the bad record, good record c."""
    return jsonl(path, {"id": "a", "text": GOOD}, middle, {"id": "c", "text": OTHER})


def folder(tmp: Path, files: dict[bytes | str, bytes]) -> Path:
    corpus = tmp / "corpus"
    corpus.mkdir()
    for name, data in files.items():
        (Path(os.fsdecode(corpus)) / os.fsdecode(name)).write_bytes(data)
    return corpus


def annotate(tmp: Path, model: Path, *inputs, out: str = "out.jsonl", extra=()) -> list[str]:
    return ["annotate", *map(str, inputs), "--out", str(tmp / out), "--model", str(model), "--no-progress",
            *extra]


def segment(tmp: Path, *inputs, extra=()) -> list[str]:
    return ["segment", *map(str, inputs), "--out", str(tmp / "out.jsonl"), "--no-progress", *extra]


def version(model: Path) -> str:
    return json.loads((model / "framing-model.json").read_text(encoding="utf-8"))["version"]


def partial(tmp: Path, model: Path, *lines: str | dict, settings: dict | None = None) -> None:
    """An unfinished earlier run: ``out.jsonl.partial`` (and its settings file)."""
    records = [line if isinstance(line, str) else json.dumps(line) for line in lines]
    (tmp / "out.jsonl.partial").write_text("".join(r + "\n" for r in records), encoding="utf-8")
    if settings is not None:
        (tmp / "out.jsonl.partial.settings.json").write_text(json.dumps(settings), encoding="utf-8")


def done(model: Path, doc_id: str, text: str, **extra) -> dict:
    """A record as an earlier run of ``model`` wrote it."""
    return {"id": doc_id, "text": text, "metadata": {}, "model_version": version(model),
            "sentences": [{"start": 0, "end": len(text), "labels": {}}], "spans": [], **extra}


def same_settings(model: Path) -> dict:
    """The settings a run of ``model`` with the default options writes (``--precision auto`` as resolved here)."""
    from pipeline.model.precision import resolve_precision

    return {"model_version": version(model), "all_scores": False,
            "precision": resolve_precision("auto", "cpu").precision}


def damaged_model(tmp: Path, model: Path, damage: Callable[[Path], None]) -> Path:
    copy = tmp / "model"
    shutil.copytree(model, copy)
    damage(copy)
    return copy


def weights(write: Callable[[Path], None]):
    return lambda copy: write(copy / "weights.safetensors")


def nan_weights(path: Path) -> None:
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(path))
    name = sorted(tensors)[-1]
    tensors[name] = tensors[name].clone().fill_(float("nan"))
    save_file(tensors, str(path))


def shallower_meta(copy: Path) -> None:
    """The tiny model's 2 fine-tuned layers in a folder that says the model keeps 1 layer (as a 6-layer
    model's weights copied into a 4-layer model's folder)."""
    meta_path = copy / "framing-model.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["encoder_layers"] = 1
    meta_path.write_text(json.dumps(meta), encoding="utf-8")


def meta_text(text: str):
    return lambda copy: (copy / "framing-model.json").write_text(text, encoding="utf-8")


def ptc(tmp: Path, *more: tuple[str, str]) -> list[str]:
    """``framing evaluate`` on one PTC article with a Loaded_Language span (and ``more`` (technique, phrase))."""
    articles = tmp / "articles"
    articles.mkdir()
    (articles / "article1.txt").write_text(ARTICLE, encoding="utf-8")
    rows = [("Loaded_Language", "corrupt elite"), *more]
    (tmp / "tc.labels").write_text("".join(f"1\t{name}\t{start}\t{start + len(phrase)}\n"
                                           for name, phrase in rows for start in [ARTICLE.index(phrase)]),
                                   encoding="utf-8")
    return ["evaluate", "--format", "ptc", "--articles", str(articles), "--labels", str(tmp / "tc.labels")]


def span(phrase: str, label: str) -> dict:
    start = ARTICLE.index(phrase)
    return {"start": start, "end": start + len(phrase), "label": label}


def read_only_file_system(monkeypatch: pytest.MonkeyPatch) -> None:
    """Writing under a folder named ``readonly`` fails as on a file system mounted read-only (EROFS)."""
    import errno

    real = Path.open

    def open_(self, mode="r", *args, **kwargs):
        if "readonly" in self.parts and any(flag in mode for flag in "wax+"):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
        return real(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", open_)


def no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Label Studio that does not answer, and a token for it."""
    from pipeline.labelstudio.client import CONFIG_ENV

    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "token-for-a-dead-server")
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    monkeypatch.setenv(CONFIG_ENV, "/nonexistent/labelstudio.json")


def no_server_anywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside any project, with no server recorded for the user."""
    from pipeline.labelstudio.client import CONFIG_ENV, DATA_DIR_ENV, STATE_DIR_ENV

    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.setenv(STATE_DIR_ENV, "/nonexistent/state")
    monkeypatch.chdir("/")


def annotated(tmp: Path) -> Path:
    return jsonl(tmp / "annotated.jsonl", *[{"id": i, "text": GOOD, "model_version": "v1", "spans": []}
                                              for i in ("a", "b")])


def interrupt_after_first_document(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.model.annotator import Annotator

    real = Annotator.annotate_many

    def annotate_many(self, items):
        for number, document in enumerate(real(self, items)):
            if number == 1:
                raise KeyboardInterrupt
            yield document

    monkeypatch.setattr(Annotator, "annotate_many", annotate_many)


NON_UTF8_NAME = b"caf\xe9.txt"
DEEP = "[" * 100_000 + "]" * 100_000
BAD_UTF8 = GOOD.encode()[:12] + b"\xff\xfe" + GOOD.encode()[12:]

# ---------------------------------------------------------------- the matrix

CASES = [
    # -- earlier cases (tests/test_io_bad_input.py, tests/test_cli_segment.py), through the command line
    Case("invalid UTF-8 in a folder's text file",
         lambda t, m: segment(t, folder(t, {"a.txt": BAD_UTF8, "b.txt": OTHER.encode()})),
         1, "invalid UTF-8 at byte 12 (line 1, column 13)", ("b.txt",)),
    Case("invalid UTF-8, --encoding-errors replace",
         lambda t, m: segment(t, folder(t, {"a.txt": BAD_UTF8}), extra=["--encoding-errors", "replace"]),
         0, "invalid UTF-8 replaced with U+FFFD", ("a.txt",)),
    Case("invalid UTF-8 in a JSONL record",
         lambda t, m: segment(t, (t / "n.jsonl").write_bytes(
             b'{"id": "a", "text": "ok"}\n{"id": "b", "text": "Caf\xe9"}\n{"id": "c", "text": "ok 2"}\n')
             and t / "n.jsonl"),
         1, "n.jsonl:2: error: invalid UTF-8", ("a", "c")),
    Case("malformed JSONL lines",
         lambda t, m: segment(t, three(t / "n.jsonl", '{"text": "unfinished')),
         1, "n.jsonl:2: error: invalid JSON", ("a", "c")),
    Case("a JSONL line that is an array",
         lambda t, m: segment(t, three(t / "n.jsonl", '["not", "an object"]')),
         1, "expected a JSON object, got an array", ("a", "c")),
    Case("malformed CSV rows",
         lambda t, m: segment(t, (t / "n.csv").write_text(
             f'id,text\r\na,"{GOOD}"\r\nb,"bad "quoting" here"\r\nc,one,too many\r\nd,"{OTHER}"\r\n')
             and t / "n.csv"),
         1, "expected 2 fields (id, text), found 3", ("a", "d")),
    Case("empty documents are kept and flagged",
         lambda t, m: segment(t, jsonl(t / "n.jsonl", {"id": "a", "text": ""}, {"id": "c", "text": GOOD})),
         0, "empty document", ("a", "c")),
    Case("a binary file in a folder",
         lambda t, m: segment(t, folder(t, {"photo.jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "b.txt": b"ok"})),
         1, "binary file, not text", ("b.txt",)),
    Case("no text column",
         lambda t, m: segment(t, jsonl(t / "n.jsonl", {"id": "1", "headline": "Prices rise"})),
         2, "the columns are: id, headline; choose one with --text-field"),
    Case("a .json file", lambda t, m: segment(t, jsonl(t / "n.json", {"text": GOOD})), 2, "pass --format jsonl"),
    Case("a path that does not exist", lambda t, m: segment(t, t / "nowhere.jsonl"), 2, "no such file or directory"),
    Case("a UTF-8 byte order mark",
         lambda t, m: segment(t, (t / "a.txt").write_bytes(codecs.BOM_UTF8 + GOOD.encode()) and t / "a.txt"),
         0, "", ("a.txt",)),
    # -- data lost or wrong: one bad record, the rest written
    Case("a lone surrogate in a JSONL text (annotate)",
         lambda t, m: annotate(t, m, three(t / "n.jsonl", '{"id": "b", "text": "bad \\ud800 here."}')),
         1, "n.jsonl:2: error: a lone surrogate", ("a", "c")),
    Case("a lone surrogate, --encoding-errors replace",
         lambda t, m: annotate(t, m, three(t / "n.jsonl", '{"id": "b", "text": "bad \\ud800 here."}'),
                               extra=["--encoding-errors", "replace"]),
         0, "lone surrogates in 'text' replaced with U+FFFD", ("a", "b", "c")),
    Case("a lone surrogate in an id",
         lambda t, m: segment(t, three(t / "n.jsonl", '{"id": "b\\udc80", "text": "Fine."}')),
         1, "a lone surrogate (an escape such as \\ud800, not a character) in 'id'", ("a", "c")),
    Case("--resume after a lone surrogate crashed a run",
         lambda t, m: partial(t, m, done(m, "a", GOOD), settings=same_settings(m)) or annotate(
             t, m, three(t / "n.jsonl", '{"id": "b", "text": "bad \\ud800 here."}'), extra=["--resume"]),
         1, "resuming: 1 document already in", ("a", "c")),
    Case("a file name that is not valid UTF-8 (annotate)",
         lambda t, m: annotate(t, m, folder(t, {NON_UTF8_NAME: GOOD.encode(), "b.txt": OTHER.encode()})),
         1, "the file name is not valid UTF-8", ("b.txt",)),
    Case("UTF-16 text file with a BOM",
         lambda t, m: segment(t, folder(t, {"a.txt": GOOD.encode("utf-16"), "b.txt": OTHER.encode()})),
         0, "", ("a.txt", "b.txt")),
    Case("UTF-16-BE JSONL with a BOM",
         lambda t, m: segment(t, (t / "n.jsonl").write_bytes(codecs.BOM_UTF16_BE + (
             json.dumps({"id": "a", "text": GOOD}) + "\n" + json.dumps({"id": "c", "text": "Caf\u00e9."}) + "\n"
         ).encode("utf-16-be")) and t / "n.jsonl"),
         0, "", ("a", "c")),
    Case("UTF-32 CSV with a BOM",
         lambda t, m: segment(t, (t / "n.csv").write_bytes(f'id,text\r\na,"{GOOD}"\r\n'.encode("utf-32"))
                              and t / "n.csv"),
         0, "", ("a",)),
    Case("a stray NUL byte in a folder's text file",
         lambda t, m: segment(t, folder(t, {"a.txt": b"Prices rose.\x00 Again.", "b.txt": b"ok"})),
         1, "a NUL byte at byte 12 (line 1, column 13)", ("b.txt",)),
    Case("a stray NUL byte, --encoding-errors replace",
         lambda t, m: segment(t, folder(t, {"a.txt": b"Prices rose.\x00 Again."}),
                              extra=["--encoding-errors", "replace"]),
         0, "NUL bytes replaced with U+FFFD", ("a.txt",)),
    Case("a dropped document with --skip-errors",
         lambda t, m: segment(t, folder(t, {"a.txt": BAD_UTF8, "b.txt": b"ok"}), extra=["--skip-errors"]),
         0, "1 bad record skipped", ("b.txt",)),
    Case("duplicate ids within a file",
         lambda t, m: segment(t, jsonl(t / "n.jsonl", {"id": "a", "text": GOOD}, {"id": "a", "text": OTHER},
                                       {"id": "c", "text": THIRD})),
         1, "n.jsonl:2: error: duplicate id 'a'", ("a", "c")),
    Case("duplicate ids across input folders",
         lambda t, m: segment(t, *[jsonl(t / d / "x.jsonl", {"id": "a", "text": GOOD}) for d in ("one", "two")]),
         1, "two/x.jsonl:1: error: duplicate id 'a'", ("a",)),
    Case("ids 1 and \"1\"",
         lambda t, m: segment(t, jsonl(t / "n.jsonl", {"id": 1, "text": GOOD}, {"id": "1", "text": OTHER})),
         1, "1 and \"1\" are the same", ("1",)),
    Case("--resume with a repeated id loses nothing",
         lambda t, m: partial(t, m, done(m, "a", GOOD), settings=same_settings(m)) or annotate(
             t, m, jsonl(t / "n.jsonl", {"id": "a", "text": GOOD}, {"id": "b", "text": OTHER},
                         {"id": "a", "text": THIRD}, {"id": "c", "text": THIRD + " Again."}), extra=["--resume"]),
         1, "duplicate id 'a'", ("a", "b", "c")),
    Case("--resume with another model",
         lambda t, m: partial(t, m, {**done(m, "a", GOOD), "model_version": "other-v1"},
                              settings={**same_settings(m), "model_version": "other-v1"})
         or annotate(t, m, three(t / "n.jsonl", {"id": "b", "text": THIRD}), extra=["--resume"]),
         2, "was written with --model (version) other-v1", output="out.jsonl.partial", survivors=("a",)),
    Case("--resume with --all-scores changed",
         lambda t, m: partial(t, m, done(m, "a", GOOD), settings=same_settings(m))
         or annotate(t, m, three(t / "n.jsonl", {"id": "b", "text": THIRD}), extra=["--resume", "--all-scores"]),
         2, "--all-scores off; this run has --all-scores on", output="out.jsonl.partial", survivors=("a",)),
    Case("--resume with --precision changed",
         lambda t, m: partial(t, m, done(m, "a", GOOD), settings={**same_settings(m), "precision": "fp32"})
         or annotate(t, m, three(t / "n.jsonl", {"id": "b", "text": THIRD}),
                     extra=["--resume", "--precision", "bf16"]),
         2, "--precision fp32; this run has --precision bf16", output="out.jsonl.partial", survivors=("a",)),
    Case("--resume of a partial output without a settings file, another model",
         lambda t, m: partial(t, m, {**done(m, "a", GOOD), "model_version": "other-v1"})
         or annotate(t, m, three(t / "n.jsonl", {"id": "b", "text": THIRD}), extra=["--resume"]),
         2, "was written with --model (version) other-v1"),
    Case("a damaged line in the middle of a partial output",
         lambda t, m: partial(t, m, done(m, "a", GOOD), '{"id": "b", "te', done(m, "c", OTHER),
                              settings=same_settings(m))
         or annotate(t, m, three(t / "n.jsonl", {"id": "b", "text": THIRD}), extra=["--resume"]),
         0, "out.jsonl.partial:2: damaged record (not valid JSON); it and the 1 record after it are dropped",
         ("a", "b", "c")),
    Case("NaN weights",
         lambda t, m: annotate(t, damaged_model(t, m, weights(nan_weights)), jsonl(t / "n.jsonl", {"text": GOOD})),
         2, "holds NaN or infinite values"),
    Case("a deeper model's weights in a shallower model's folder (CPU path)",
         lambda t, m: annotate(t, damaged_model(t, m, shallower_meta), jsonl(t / "n.jsonl", {"text": GOOD})),
         2, "holds fine-tuned encoder layers 0-1, but the model's framing-model.json"),
    # -- a sentence, not a traceback
    Case("--out on a file system that cannot be written (/sys)",
         lambda t, m: annotate(t, m, jsonl(t / "n.jsonl", {"text": GOOD}))[:2] + ["--out", "/sys/out.jsonl"]
         + annotate(t, m)[4:],
         2, "--out /sys/out.jsonl: cannot write there"),
    Case("--out on a read-only file system (EROFS)",
         lambda t, m: (t / "readonly").mkdir() or annotate(t, m, jsonl(t / "n.jsonl", {"text": GOOD}),
                                                           out="readonly/out.jsonl"),
         2, "readonly/out.jsonl: cannot write there: Read-only file system", patch=read_only_file_system),
    Case("--out under /proc",
         lambda t, m: annotate(t, m, jsonl(t / "n.jsonl", {"text": GOOD}))[:2] + ["--out", "/proc/x/out.jsonl"]
         + annotate(t, m)[4:],
         2, "--out /proc/x/out.jsonl: cannot write there"),
    Case("--out naming an existing directory",
         lambda t, m: (t / "out.jsonl").mkdir() or annotate(t, m, jsonl(t / "n.jsonl", {"text": GOOD})),
         2, "is a directory; name a file in it"),
    Case("annotate to .ndjson", lambda t, m: annotate(t, m, three(t / "n.jsonl", {"id": "b", "text": THIRD}),
                                                      out="out.ndjson"),
         0, "3 documents annotated", ("a", "b", "c"), output="out.ndjson"),
    Case("annotate to .pq", lambda t, m: annotate(t, m, three(t / "n.jsonl", {"id": "b", "text": THIRD}),
                                                  out="out.pq"),
         0, "3 documents annotated", ("a", "b", "c"), output="out.pq"),
    Case("missing weights.safetensors",
         lambda t, m: annotate(t, damaged_model(t, m, lambda c: (c / "weights.safetensors").unlink()),
                               jsonl(t / "n.jsonl", {"text": GOOD})),
         2, "no weights.safetensors; the model directory is incomplete"),
    Case("empty weights.safetensors",
         lambda t, m: annotate(t, damaged_model(t, m, weights(lambda p: p.write_bytes(b""))),
                               jsonl(t / "n.jsonl", {"text": GOOD})),
         2, "not a readable safetensors file (0 bytes"),
    Case("truncated weights.safetensors",
         lambda t, m: annotate(t, damaged_model(t, m, weights(lambda p: p.write_bytes(p.read_bytes()[:5000]))),
                               jsonl(t / "n.jsonl", {"text": GOOD})),
         2, "not a readable safetensors file (5000 bytes"),
    Case("random bytes as weights.safetensors",
         lambda t, m: annotate(t, damaged_model(t, m, weights(lambda p: p.write_bytes(os.urandom(4096)))),
                               jsonl(t / "n.jsonl", {"text": GOOD})),
         2, "not a readable safetensors file (4096 bytes"),
    Case("broken framing-model.json (annotate)",
         lambda t, m: annotate(t, damaged_model(t, m, meta_text('{"version": "x",')),
                               jsonl(t / "n.jsonl", {"text": GOOD})),
         2, "framing-model.json:1: invalid JSON"),
    Case("framing-model.json with a wrong field (annotate)",
         lambda t, m: annotate(t, damaged_model(t, m, meta_text(json.dumps(
             {"format_version": 1, "version": "x", "base_model": "y", "labels": "loaded_language"}))),
             jsonl(t / "n.jsonl", {"text": GOOD})),
         2, "'labels' must be list"),
    Case("broken framing-model.json (evaluate)",
         lambda t, m: ptc(t) + ["--model", str(damaged_model(t, m, meta_text("[1, 2")))],
         2, "framing-model.json:1: invalid JSON"),
    Case("--device mps", lambda t, m: annotate(t, m, jsonl(t / "n.jsonl", {"text": GOOD}), extra=["--device", "mps"]),
         2, "no Apple GPU (MPS)"),
    Case("--device meta", lambda t, m: annotate(t, m, jsonl(t / "n.jsonl", {"text": GOOD}), extra=["--device", "meta"]),
         2, "the model runs on cpu, cuda or mps, not on meta"),
    Case("JSON nested 100,000 deep (segment)",
         lambda t, m: segment(t, three(t / "n.jsonl", DEEP)),
         1, "n.jsonl:2: error: invalid JSON: nested too deeply", ("a", "c")),
    Case("JSON nested 100,000 deep (evaluate --predictions)",
         lambda t, m: ptc(t) + ["--predictions", str(jsonl(t / "p.jsonl", DEEP))],
         0, "p.jsonl:1: invalid JSON: nested too deeply"),
    Case("Ctrl-C while annotating",
         lambda t, m: annotate(t, m, three(t / "n.jsonl", {"id": "b", "text": THIRD})),
         130, "run the same command with --resume", ("a",), output="out.jsonl.partial",
         patch=interrupt_after_first_document),
    Case("an empty input", lambda t, m: segment(t, jsonl(t / "n.jsonl")), 0, "0 documents read", ()),
    Case("an empty input (annotate)", lambda t, m: annotate(t, m, jsonl(t / "n.jsonl")), 0, "0 documents read", ()),
    Case("a CSV with another delimiter",
         lambda t, m: segment(t, (t / "n.csv").write_text(f"id;text\na;{GOOD}\n") and t / "n.csv"),
         2, "is the delimiter ';'? pass --delimiter ';'"),
    Case("a CSV with another delimiter, --delimiter given",
         lambda t, m: segment(t, (t / "n.csv").write_text(f"id;text\na;{GOOD}\n") and t / "n.csv",
                              extra=["--delimiter", ";"]),
         0, "", ("a",)),
    Case("evaluate with bad prediction lines reports each and scores the rest",
         lambda t, m: ptc(t) + ["--predictions", str(jsonl(
             t / "p.jsonl", "{oops", {"id": "1", "text": ARTICLE, "model_version": "v", "spans": []}, "[1]"))],
         0, "p.jsonl:3: expected a JSON object, got list; record skipped"),
    Case("SI and SLC count a predicted technique PTC has only inside a merged label",
         lambda t, m: ptc(t, ("Whataboutism,Straw_Men,Red_Herring", "They always lie")) + [
             "--json", "--predictions", str(jsonl(t / "p.jsonl", {
                 "id": "1", "text": ARTICLE, "model_version": "v",
                 "spans": [span("corrupt elite", "loaded_language"), span("They always lie", "whataboutism")]}))],
         0, "", stdout='"si_f1": 1.0'),
    # -- the Label Studio loop, where no server is needed
    Case("ls push while the server does not answer",
         lambda t, m: ["ls", "push", str(annotated(t)), "--project", "p", "--url", "http://127.0.0.1:9",
                       "--retry-for", "1"],
         2, "did not answer after", stdout="0 tasks created, 0 predictions added to existing tasks (updated), "
                                           "0 already up to date, 2 remaining", patch=no_server),
    Case("JSON nested 100,000 deep (ls push)",
         lambda t, m: ["ls", "push", str(jsonl(t / "annotated.jsonl", DEEP, {"id": "a", "text": GOOD,
                                                                               "model_version": "v1"})),
                       "--project", "p", "--url", "http://127.0.0.1:9", "--retry-for", "0"],
         2, "annotated.jsonl:1: invalid JSON: nested too deeply", stdout="1 remaining", patch=no_server),
    Case("ls down from a directory outside any project, no server recorded",
         lambda t, m: ["ls", "down"], 0, "",
         stdout="no local Label Studio server is running (no server recorded in", patch=no_server_anywhere),
    Case("ls down --data-dir of a directory no server used",
         lambda t, m: ["ls", "down", "--data-dir", str(t)], 2, "no Label Studio server of `framing ls up` has used"),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input(case, tmp_path, trained_model, capsys, monkeypatch):
    monkeypatch.delenv("FRAMING_DEBUG", raising=False)
    if case.patch is not None:
        case.patch(monkeypatch)
    argv = case.build(tmp_path, trained_model)
    capsys.readouterr()
    try:
        main(argv)
        status = 0
    except SystemExit as exit_:
        status = exit_.code if isinstance(exit_.code, int) else 1
    out, err = capsys.readouterr()

    assert "Traceback" not in err + out
    assert status == case.status, err
    assert case.message in err, err
    assert case.stdout in out, out
    if case.survivors is not None:
        if case.output == "-":
            ids = [json.loads(line)["id"] for line in out.splitlines()]
        elif case.output.endswith(".partial"):
            ids = [json.loads(line)["id"] for line in (tmp_path / case.output).read_text().splitlines()]
        else:
            ids = [record["id"] for record in read_records(tmp_path / case.output)]
        assert sorted(ids) == sorted(case.survivors)
        assert len(ids) == len(set(ids)), "an id written twice"


def test_the_matrix_covers_every_earlier_bad_input_case():
    """Each test of tests/test_io_bad_input.py has a row here (by a word of its name)."""
    names = " ".join(case.id for case in CASES).lower()
    for topic in ("invalid utf-8", "replace", "jsonl record", "empty documents", "binary", "malformed jsonl",
                  "malformed csv", "no text column", "byte order mark"):
        assert topic in names, topic


def test_debug_shows_the_traceback(tmp_path, trained_model, capsys):
    argv = annotate(tmp_path, damaged_model(tmp_path, trained_model, meta_text("{")),
                    jsonl(tmp_path / "n.jsonl", {"text": GOOD}))
    from pipeline.errors import ConfigError

    with pytest.raises(ConfigError, match="invalid JSON"):
        main(["--debug", *argv])


def test_an_unexpected_error_is_one_line_and_a_hint_to_use_debug(tmp_path, monkeypatch, capsys):
    import pipeline.cli.segment as command

    def broken(document):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr("pipeline.segment.segment_document", broken)
    with pytest.raises(SystemExit) as exit_:
        main(segment(tmp_path, jsonl(tmp_path / "n.jsonl", {"text": GOOD})))
    err = capsys.readouterr().err
    assert exit_.value.code == 70 and command is not None
    assert "unexpected ZeroDivisionError: division by zero" in err and "framing --debug" in err
    assert "Traceback" not in err


def test_duplicate_ids_cost_a_bounded_amount_of_memory_per_document():
    import tracemalloc

    from pipeline.io.problems import SeenIds

    ids = SeenIds()
    tracemalloc.start()
    try:
        for number in range(100_000):
            assert ids.add(f"a-rather-long-document-identifier-{number:08d}" * 4)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not ids.add(f"a-rather-long-document-identifier-{0:08d}" * 4)
    assert peak / 100_000 <= SeenIds.BYTES_PER_ID * 1.5  # whatever the ids' length (here 164 characters)
