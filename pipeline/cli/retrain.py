"""`framing retrain`: human corrections → new model version → compare with the current one → promote."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.retrain import METRICS


@click.command()
@click.option("--project", default=None, help="Label Studio project to pull the corrections from first.")
@click.option("--from", "from_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A file of pulled annotations (`framing ls pull --out`), instead of --project.")
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="The model to improve (default: the current model).")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Directory of the new version (default: models/<name>-<timestamp>).")
@click.option("--metric", type=click.Choice(METRICS), default="span_f1", show_default=True,
              help="Metric that decides whether the new version replaces the current one.")
@click.option("--force", is_flag=True, help="Promote the new version even if it is worse.")
@click.option("--heldout", "heldout_fraction", type=click.FloatRange(0.05, 0.9), default=0.2, show_default=True,
              help="Share of the corrected documents held out for the comparison.")
@click.option("--progress/--no-progress", default=True, show_default=True)
def retrain(project: str | None, from_file: str | None, model_dir: str | None, out: str | None, metric: str,
            force: bool, heldout_fraction: float, progress: bool) -> None:
    """Train a new model version on the human corrections plus the current model's training data, evaluate
    both on the same held-out documents, and make the new one current only if it is not worse."""
    from pipeline.retrain import retrain as run_retrain

    if bool(project) == bool(from_file):
        raise click.UsageError("give exactly one of --project NAME or --from FILE")
    if project:
        from pipeline.labelstudio.client import connect
        from pipeline.labelstudio.sync import default_pull_path, pull

        corrections = default_pull_path(project)
        report = pull(connect(), project, corrections)
        click.echo(f"pulled {report.records} annotations from {project!r} -> {corrections}", err=True)
    else:
        corrections = Path(from_file)
    result = run_retrain(corrections, parent_dir=Path(model_dir) if model_dir else None,
                         out_dir=Path(out) if out else None, metric=metric, force=force,
                         heldout_fraction=heldout_fraction, progress=progress)
    click.echo(f"new version {result.new_version} in {result.new_dir}")
    click.echo(result.evaluations["decision"])
    if result.promoted:
        click.echo(f"{result.new_version} is now the current model")
