"""`framing retrain`: human corrections → warm-started new model version → compare with the current one → promote."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.cli.options import device_option, threads_option
from pipeline.retrain import METRICS, RetrainOptions


@click.command()
@click.option("--project", default=None, help="Label Studio project to pull the corrections from first.")
@click.option("--from", "from_file", type=click.Path(dir_okay=False), default=None,
              help="A file of annotated records with human spans (`framing ls pull` writes one; any export in "
                   "the project's record format works), instead of --project.")
@click.option("--labels", default=None,
              help="Comma-separated labels the corrections cover; the others are not taught as absent "
                   "(default: the labels of the project's labeling config).")
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="The model to improve (default: the current model).")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Directory of the new version, anywhere (default: models/<name>-<timestamp>).")
@click.option("--epochs", type=click.FloatRange(min=0.05), default=3.0, show_default=True,
              help="Passes over the corrected documents and the replay sample.")
@click.option("--max-steps", type=click.IntRange(min=1), default=None, help="Stop after this many optimiser steps.")
@click.option("--replay", type=click.FloatRange(min=0.0), default=1.0, show_default=True,
              help="Windows of the model's own training data replayed per corrected window (against forgetting).")
@click.option("--resume", is_flag=True, help="Continue an interrupted retrain in --out (same inputs and options).")
@click.option("--metric", type=click.Choice(METRICS), default="span_f1", show_default=True,
              help="Metric that decides whether the new version replaces the current one.")
@click.option("--force", is_flag=True, help="Promote the new version even if it is worse.")
@click.option("--promote/--no-promote", default=True, show_default=True,
              help="--no-promote: compare only; the current model stays whatever the result.")
@click.option("--keep-rejected/--discard-rejected", default=True, show_default=True,
              help="Keep a new version that was not promoted (its card holds the comparison).")
@click.option("--heldout", "heldout_fraction", type=click.FloatRange(0.0, 0.9), default=0.2, show_default=True,
              help="Share of the corrected documents held out for the comparison (split by document).")
@click.option("--seed", type=int, default=13, show_default=True, help="Held-out draw, replay sample, batch order.")
@threads_option
@device_option
@click.option("--progress/--no-progress", default=True, show_default=True)
def retrain(project: str | None, from_file: str | None, labels: str | None, model_dir: str | None, out: str | None,
            epochs: float, max_steps: int | None, replay: float, resume: bool, metric: str, force: bool, promote: bool,
            keep_rejected: bool, heldout_fraction: float, seed: int, device: str,
            progress: bool) -> None:
    """Fine-tune the current model (warm start) on human corrections mixed with a replay sample of its own
    training data, evaluate both versions on the same held-out documents, and make the new one current only if
    it is not worse."""
    from pipeline.retrain import format_label_changes, retrain_from_project
    from pipeline.retrain import retrain as run_retrain

    if bool(project) == bool(from_file):
        raise click.UsageError("give exactly one of --project NAME or --from FILE")
    if resume and not out:
        raise click.UsageError("--resume needs the --out of the interrupted run")
    options = RetrainOptions(
        labels=tuple(x.strip() for x in labels.split(",") if x.strip()) if labels else None,
        epochs=epochs, max_steps=max_steps, replay=replay, heldout_fraction=heldout_fraction, seed=seed,
        metric=metric, force=force, device=device,
    )
    phases = {"loading": "reading the corrections and the model's training data",
              "evaluating": "scoring the current and the new version on the held-out documents"}
    announced: set[str] = set()

    def announce(phase: str, done: int, total: int) -> None:
        if progress and phase in phases and phase not in announced:
            announced.add(phase)
            click.echo(f"{phases[phase]} ...", err=True)

    common = dict(parent_dir=Path(model_dir) if model_dir else None, out_dir=Path(out) if out else None,
                  options=options, resume=resume, promote=promote, on_progress=announce)
    try:
        if project:
            result = retrain_from_project(project, keep_rejected=keep_rejected, **common)
        else:
            result = run_retrain(Path(from_file), keep_rejected=keep_rejected, progress=progress, **common)
    except KeyboardInterrupt:
        if out:
            click.echo(f"interrupted: the checkpoint in {out} is kept; continue with the same command and --resume",
                       err=True)
        raise
    click.echo(result.evaluations["decision"])
    if result.label_changes:
        click.echo(format_label_changes(result.label_changes))
    if result.promoted:
        click.echo(f"{result.new_version} is now the current model ({result.new_dir})")
    elif result.kept:
        click.echo(f"{result.new_version} kept in {result.new_dir}, not current "
                   f"(`framing models use {result.new_dir}` to use it anyway)")
    else:
        click.echo(f"{result.new_version} was not kept")
