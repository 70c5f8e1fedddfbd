"""``framing corpus``: the research corpora (PTC, SemEval-2023 Task 3, SemEval-2025 Task 10)."""

from __future__ import annotations

import dataclasses
import json

import click

from pipeline.corpora import CORPUS_FORMATS


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def corpus() -> None:
    """Work with the research corpora the model learns from."""


@corpus.command()
@click.option(
    "--format",
    "corpus_format",
    type=click.Choice(CORPUS_FORMATS),
    required=True,
    help="The corpus' layout (see the data README).",
)
@click.argument("path", type=click.Path(exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as one JSON object.")
@click.option(
    "--taxonomy",
    "taxonomy_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Taxonomy file (default: $FRAMING_TAXONOMY, else annotations/taxonomy.yaml).",
)
def stats(corpus_format: str, path: str, as_json: bool, taxonomy_path: str | None) -> None:
    """Documents, sentences, gold spans per project label (after mapping) and the share of sentences with a
    device, for the corpus in directory PATH.

    Problems in the corpus (a bad offset, an unknown article or label) are reported on standard error with
    their file and line; the rest is counted.
    """
    from pipeline.corpora import load_corpus
    from pipeline.corpora.stats import corpus_stats, format_stats
    from pipeline.progress import echo
    from pipeline.segment import segment_document
    from pipeline.taxonomy import load_taxonomy

    taxonomy = load_taxonomy(taxonomy_path)
    problems: list[str] = []
    documents = load_corpus(corpus_format, path, taxonomy=taxonomy, errors=problems)
    result = corpus_stats(documents, taxonomy, corpus=corpus_format, segmenter=segment_document)
    for problem in problems:
        echo(f"warning: {problem}")
    result = dataclasses.replace(result, problems=len(problems))
    click.echo(json.dumps(result.to_dict(), indent=2) if as_json else format_stats(result, taxonomy))
