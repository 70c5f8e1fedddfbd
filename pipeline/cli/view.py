"""``framing view`` and ``framing report``: the article view (a static site) and the corpus report."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.cli.options import progress_option

_MAX_SHOWN_PROBLEMS = 20

annotated_argument = click.argument("paths", metavar="ANNOTATED...", nargs=-1, required=True,
                                    type=click.Path(exists=True, dir_okay=False))
taxonomy_option = click.option("--taxonomy", "taxonomy_path", type=click.Path(exists=True, dir_okay=False),
                               help="Taxonomy file for label names and colours (default: $FRAMING_TAXONOMY, else "
                                    "annotations/taxonomy.yaml).")


def _documents(paths: tuple[str, ...], problems: list[str], progress: bool, desc: str):
    from pipeline.progress import progress as progress_bar
    from pipeline.views.records import read_view_documents

    return progress_bar(read_view_documents(paths, problems), desc=desc, enabled=progress)


def _warn(problems: list[str]) -> None:
    from pipeline.progress import echo

    for problem in problems[:_MAX_SHOWN_PROBLEMS]:
        echo(f"warning: {problem}")
    if len(problems) > _MAX_SHOWN_PROBLEMS:
        echo(f"warning: ... and {len(problems) - _MAX_SHOWN_PROBLEMS} more problems")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@annotated_argument
@click.option("--out", "-o", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the site: index.html, docs/ (one page per document), assets/.")
@click.option("--title", default="Article view", show_default=True, help="Title of the pages.")
@taxonomy_option
@progress_option
def view(paths: tuple[str, ...], out_dir: Path, title: str, taxonomy_path: str | None, progress: bool) -> None:
    """Write a static site that shows every span of ANNOTATED highlighted in its document.

    ANNOTATED: records as `framing annotate` writes them (JSONL or Parquet), or a file pulled by `framing ls
    pull`. With several files, the annotations of one document (same id and text) are shown side by side, for
    example the model's next to the annotators'. The site needs no network: open OUT/index.html.
    """
    from pipeline.taxonomy import load_taxonomy
    from pipeline.views.article import write_site

    problems: list[str] = []
    report = write_site(_documents(paths, problems, progress, "view"), out_dir, taxonomy=load_taxonomy(taxonomy_path),
                        title=title, problems=problems)
    _warn(problems)
    click.echo(f"{report.documents} documents -> {report.index}", err=True)
    click.echo(str(report.index))


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@annotated_argument
@click.option("--out", "-o", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the report: index.html, the plots (PNG) and the tables behind them (CSV).")
@click.option("--by", "by", metavar="FIELD", default=None,
              help="Metadata field to compare groups by (e.g. outlet; a.b reads a nested field).")
@click.option("--time", "time", metavar="FIELD", default=None,
              help="Metadata field holding the date (ISO date or timestamp) for rates over time.")
@click.option("--period", type=click.Choice(["month", "week"]), default="month", show_default=True,
              help="With --time: the period rates are counted by (weeks are ISO weeks).")
@click.option("--view", "view_dir", type=click.Path(file_okay=False), default=None,
              help="The article view (`framing view --out DIR`) that example sentences link to; default: "
                   "write one into OUT/articles.")
@click.option("--label", "plot_labels", multiple=True, metavar="LABEL",
              help="Labels to plot by group and over time (repeatable; default: the 6 most frequent). "
                   "The tables hold every label.")
@click.option("--title", default="Corpus report", show_default=True, help="Title of the report.")
@taxonomy_option
@progress_option
def report(paths: tuple[str, ...], out_dir: Path, by: str | None, time: str | None, period: str,
           view_dir: str | None, plot_labels: tuple[str, ...], title: str, taxonomy_path: str | None,
           progress: bool) -> None:
    """Write a corpus report of ANNOTATED: device rates per 1,000 sentences overall, per --by group and over
    --time, with 95% intervals; who is blamed; the most frequent loaded terms and (de)legitimation phrases;
    labels in the same sentence. Plots are PNG files beside OUT/index.html, with the CSV tables behind them.
    """
    from pipeline.taxonomy import load_taxonomy
    from pipeline.views.corpus_report import write_report

    taxonomy = load_taxonomy(taxonomy_path)
    problems: list[str] = []
    if view_dir is None:
        from pipeline.views.article import write_site

        view_dir = str(out_dir / "articles")
        # the same records are read twice: their problems are reported once, from the report's reading
        write_site(_documents(paths, [], progress, "view"), view_dir, taxonomy=taxonomy)
    result = write_report(_documents(paths, problems, progress, "report"), out_dir, by=by, time=time,
                          period=period, taxonomy=taxonomy, view_dir=view_dir, plot_labels=plot_labels,
                          title=title, problems=problems)
    _warn(problems)
    click.echo(f"{result.documents} documents -> {result.html}", err=True)
    click.echo(str(result.html))
