"""Batch scoring: documents → annotator → one record per document, resumable.

Records are appended to ``<out>.partial`` (JSON Lines) as they are made; only a finished run turns it into
``<out>`` (renamed for JSON Lines, converted for Parquet), so ``<out>`` is never half-written. The run's
settings (model version, ``--all-scores``, precision) are written beside it to
``<out>.partial.settings.json``; with ``resume``, the documents already in the partial file (or in a finished
``<out>``) are skipped, and a resume whose settings differ is refused: one output file never mixes two
models. A record cut short by a crash is dropped and redone; a damaged record before the end is reported,
and it and every record after it are redone.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from pipeline.document import Document
from pipeline.errors import ConfigError

logger = logging.getLogger("pipeline.batch")


def annotation_record(document: Document, model_version: str, source: str) -> dict[str, Any]:
    """The output record: ``{id, text, metadata, model_version, sentences, spans}`` (model spans only)."""
    spans = []
    for span in document.spans:
        if span.source != source:
            continue
        record = {"start": span.start, "end": span.end, "label": span.label, "score": span.score}
        if span.attributes:
            record["attributes"] = dict(span.attributes)
        spans.append(record)
    return {
        "id": document.id,
        "text": document.text,
        "metadata": dict(document.metadata),
        "model_version": model_version,
        "sentences": [s.to_dict() for s in document.sentences],
        "spans": spans,
    }


def partial_path(out: str | os.PathLike[str]) -> Path:
    """Where an unfinished run keeps its records."""
    out = Path(out)
    return out.with_name(out.name + ".partial")


def settings_path(out: str | os.PathLike[str]) -> Path:
    out = Path(out)
    return out.with_name(out.name + ".partial.settings.json")


def run_settings(annotator) -> dict[str, Any]:
    """What decides the records' content: the model and the options that change scores or fields."""
    return {
        "model_version": annotator.model_version,
        "all_scores": bool(annotator.all_scores),
        "precision": annotator.precision,
    }


_OPTION_NAMES = {"model_version": "--model (version)", "all_scores": "--all-scores", "precision": "--precision"}


def check_output(out: str | os.PathLike[str]) -> Path:
    """Refuse, before any work, an output the run could not write or finish: an unknown extension, a
    directory, a folder that cannot be created or written (read-only file system, ``/proc``)."""
    from pipeline.io import record_format

    out = Path(out)
    try:
        record_format(out)
    except ConfigError as error:
        raise ConfigError(f"--out {error}") from None
    if out.is_dir():
        raise ConfigError(f"--out {out} is a directory; name a file in it, such as {out / 'annotated.jsonl'}")
    partial = partial_path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        existed = partial.exists()
        with partial.open("ab"):
            pass
        if not existed:
            partial.unlink()
    except OSError as error:
        raise ConfigError(f"--out {out}: cannot write there: {error.strerror or error}") from None
    return out


def _recover_partial(partial: Path, notify: Callable[[str], None]) -> set[str]:
    """Ids already written to ``partial``. A last line cut short by a crash is removed; a damaged line before
    the end is reported, and it and every line after it are removed (and so redone)."""
    done: set[str] = set()
    if not partial.exists():
        return done
    keep = 0
    damaged: tuple[int, str] | None = None
    later = 0
    with partial.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if damaged is not None:
                later += 1
                continue
            if not line.endswith(b"\n"):
                break  # the last line, cut short: the usual trace of a crash, redone without a word
            try:
                record = json.loads(line)
                done.add(record["id"])
            except (ValueError, KeyError, TypeError, RecursionError) as error:
                reason = "no id" if isinstance(error, KeyError | TypeError) else "not valid JSON"
                damaged = (number, reason)
                continue
            keep += len(line)
    if damaged is not None:
        number, reason = damaged
        notify(f"{partial}:{number}: damaged record ({reason}); it and the {_plural(later, 'record')} after it "
               "are dropped and will be annotated again")
    with partial.open("rb+") as handle:
        handle.truncate(keep)
    return done


def _check_settings(out: Path, partial: Path, settings: dict[str, Any]) -> None:
    """Refuse to resume ``partial`` under other settings than those it was written with."""
    recorded_file = settings_path(out)
    recorded: dict[str, Any] | None = None
    if recorded_file.exists():
        try:
            recorded = json.loads(recorded_file.read_text(encoding="utf-8"))
        except (ValueError, OSError):
            recorded = None
    if recorded is None:
        recorded = _settings_from_records(partial)
    if not recorded:
        return
    differ = [name for name in settings if name in recorded and recorded[name] != settings[name]]
    if differ:
        then = ", ".join(f"{_OPTION_NAMES[name]} {_shown(recorded[name])}" for name in differ)
        now = ", ".join(f"{_OPTION_NAMES[name]} {_shown(settings[name])}" for name in differ)
        raise ConfigError(
            f"--resume: {partial} was written with {then}; this run has {now}. One output must not mix them: "
            "resume with the same options, or run without --resume to start again (the partial output is "
            "then replaced)"
        )


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def _settings_from_records(partial: Path) -> dict[str, Any]:
    """Settings read off the first record (for outputs written without a settings file)."""
    with partial.open("rb") as handle:
        first = handle.readline()
    try:
        record = json.loads(first)
    except ValueError:
        return {}
    settings: dict[str, Any] = {}
    if isinstance(record, dict) and "model_version" in record:
        settings["model_version"] = record["model_version"]
        sentences = record.get("sentences") or []
        if sentences and isinstance(sentences[0], dict):
            settings["all_scores"] = "scores" in sentences[0]
    return settings


def _seed_partial_from_finished(out: Path, partial: Path) -> None:
    from pipeline.io import read_records

    with partial.open("w", encoding="utf-8") as handle:
        for record in read_records(out):
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def _finalise(partial: Path, out: Path) -> None:
    try:
        if out.suffix.lower() in (".jsonl", ".ndjson"):
            os.replace(partial, out)
            return
        from pipeline.io import open_writer

        temporary = out.with_name(out.name + ".tmp" + out.suffix)
        with open_writer(temporary) as writer, partial.open("rb") as lines:
            for line in lines:  # JSON Lines, whatever the final format (its name ends in .partial)
                writer.write(json.loads(line))
        os.replace(temporary, out)
        partial.unlink()
    except OSError as error:
        raise ConfigError(f"cannot write {out}: {error.strerror or error}; every record is in {partial}: free the "
                          "space or fix the path, then run the same command with --resume to finish") from None


def annotate_to_file(
    documents: Iterable[Document],
    annotator,
    out: str | os.PathLike[str],
    *,
    resume: bool = False,
    notify: Callable[[str], None] | None = None,
    engine=None,
) -> Iterator[dict[str, Any]]:
    """Annotate ``documents`` into ``out``; yields each record written (for progress and summaries).
    The output file is complete once the iterator is exhausted. ``notify`` receives messages for the user
    (what a resume skips, damaged records); by default they are logged. ``engine`` (anything with
    ``annotate_many``, such as ``pipeline.engines.local.LocalEngine``) runs ``annotator``; by default the
    annotator runs itself, in this process."""
    notify = notify or logger.warning
    out = check_output(out)
    partial = partial_path(out)
    settings = run_settings(annotator)
    seeded = resume and out.exists() and not partial.exists()
    if seeded:
        _seed_partial_from_finished(out, partial)
    if not resume:
        partial.unlink(missing_ok=True)
    if resume and partial.exists():
        try:
            _check_settings(out, partial, settings)
        except ConfigError:
            if seeded:
                partial.unlink()
            raise
    done = _recover_partial(partial, notify) if resume else set()
    if done:
        notify(f"resuming: {_plural(len(done), 'document')} already in {partial} skipped")
    settings_path(out).write_text(json.dumps(settings) + "\n", encoding="utf-8")
    todo = (d for d in documents if d.id not in done)
    try:
        with partial.open("a", encoding="utf-8") as handle:
            for document in (engine or annotator).annotate_many(todo):
                record = annotation_record(document, annotator.model_version, annotator.source)
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                handle.flush()
                yield record
    except OSError as error:
        raise ConfigError(f"cannot write {partial}: {error.strerror or error}; the records written so far are "
                          "kept: free the space, then run the same command with --resume") from None
    _finalise(partial, out)
    settings_path(out).unlink(missing_ok=True)
