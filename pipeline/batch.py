"""Batch scoring: documents → annotator → one record per document, resumable.

Records are appended to ``<out>.partial`` (JSON Lines) as they are made; only a finished run turns it into
``<out>`` (renamed for ``.jsonl``, converted for ``.parquet``), so ``<out>`` is never half-written. With
``resume``, the documents already in the partial file (or in a finished ``<out>``) are skipped; a record cut
short by a crash is dropped and redone.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pipeline.document import Document


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


def _partial_path(out: Path) -> Path:
    return out.with_name(out.name + ".partial")


def _recover_partial(partial: Path) -> set[str]:
    """Ids already written to ``partial``; a last line cut short by a crash is removed."""
    done: set[str] = set()
    if not partial.exists():
        return done
    keep = 0
    with partial.open("rb") as handle:
        for line in handle:
            if not line.endswith(b"\n"):
                break
            try:
                done.add(json.loads(line)["id"])
            except (ValueError, KeyError):
                break
            keep += len(line)
    with partial.open("rb+") as handle:
        handle.truncate(keep)
    return done


def _seed_partial_from_finished(out: Path, partial: Path) -> None:
    from pipeline.io import read_records

    with partial.open("w", encoding="utf-8") as handle:
        for record in read_records(out):
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def _finalise(partial: Path, out: Path) -> None:
    if out.suffix.lower() == ".jsonl":
        os.replace(partial, out)
        return
    from pipeline.io import open_writer, read_records

    temporary = out.with_name(out.name + ".tmp" + out.suffix)
    with open_writer(temporary) as writer:
        for record in read_records(partial):
            writer.write(record)
    os.replace(temporary, out)
    partial.unlink()


def annotate_to_file(
    documents: Iterable[Document], annotator, out: str | os.PathLike[str], *, resume: bool = False
) -> Iterator[dict[str, Any]]:
    """Annotate ``documents`` into ``out``; yields each record written (for progress and summaries).
    The output file is complete once the iterator is exhausted."""
    out = Path(out)
    if out.suffix.lower() not in (".jsonl", ".parquet"):
        from pipeline.errors import ConfigError

        raise ConfigError(f"--out must end in .jsonl or .parquet, got {out.name}")
    partial = _partial_path(out)
    if resume and out.exists() and not partial.exists():
        _seed_partial_from_finished(out, partial)
    if not resume:
        partial.unlink(missing_ok=True)
    done = _recover_partial(partial) if resume else set()
    out.parent.mkdir(parents=True, exist_ok=True)
    todo = (d for d in documents if d.id not in done)
    with partial.open("a", encoding="utf-8") as handle:
        for document in annotator.annotate_many(todo):
            record = annotation_record(document, annotator.model_version, annotator.source)
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            handle.flush()
            yield record
    _finalise(partial, out)
