"""``framing segment``: documents in, one record per document out, with sentence offsets."""

from __future__ import annotations

import click

from pipeline.cli.options import InputOptions, input_options, progress_option, refuse_to_overwrite_inputs
from pipeline.document import Document
from pipeline.io import open_writer
from pipeline.progress import echo
from pipeline.progress import progress as progress_bar


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", metavar="INPUT...", nargs=-1, required=True)
@click.option(
    "--out",
    "-o",
    metavar="FILE",
    help="Output file, .jsonl or .parquet (default: JSON Lines on standard output).",
)
@input_options
@progress_option
def segment(paths: tuple[str, ...], out: str | None, input_options: InputOptions, progress: bool) -> None:
    """Split documents into sentences with exact character offsets.

    INPUT is a text file, a directory of text files (id = path in the directory), a .jsonl, .csv, .tsv or
    .parquet file, a Hugging Face dataset directory (save_to_disk), or - for standard input.

    Writes one record per document: id, text, metadata and sentences [{start, end}], where
    text[start:end] is the sentence, counted in characters of the text as written in the record. A UTF-8
    byte order mark is removed; line endings are kept as they are. Bad records are reported on standard
    error with their file and line and skipped; the exit status is then 1 (unless --skip-errors). Empty
    documents are kept and flagged with metadata.empty = true.
    """
    from pipeline.segment import segment_document  # imported when used, like every command's work

    refuse_to_overwrite_inputs(out, paths)
    documents, report = input_options.read(paths)
    written = 0
    with open_writer(out) as writer:
        try:
            for document in progress_bar(documents, total=documents.total, desc="segment", enabled=progress):
                writer.write(segment_record(segment_document(document)))
                written += 1
        except KeyboardInterrupt:
            echo(f"interrupted: {written} documents written to {out or 'standard output'}, the rest not; "
                 "run the command again to segment them all")
            raise
    input_options.finish(report)


def segment_record(document: Document) -> dict:
    """The output record of a segmented document: id, text, metadata, sentences [{start, end}]."""
    return {
        "id": document.id,
        "text": document.text,
        "metadata": dict(document.metadata),
        "sentences": [{"start": sentence.start, "end": sentence.end} for sentence in document.sentences],
    }
