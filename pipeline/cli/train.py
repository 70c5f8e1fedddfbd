"""`framing train --config FILE`: train a model version from a YAML config."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.cli.options import device_option, threads_option


@click.command()
@click.option("--config", "config_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Training config (YAML): data sources, labels, base encoder, hyper-parameters, seed.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Model directory to write (default: models/<config name>).")
@click.option("--resume", is_flag=True, help="Continue an interrupted run from the last checkpoint in --out.")
@click.option("--set-current", is_flag=True, help="Make the new model the default one (models/CURRENT).")
@threads_option
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bar on stderr.")
@device_option
def train(config_path: str, out: str | None, resume: bool, set_current: bool, progress: bool,
          device: str) -> None:
    """Train the framing-device classifier and write a self-describing model directory.

    Checkpoints are written every `checkpoint_every` steps; after an interruption, run the same command with
    --resume to continue from the last one."""
    from pipeline.model.config import load_config
    from pipeline.model.registry import models_dir
    from pipeline.model.registry import set_current as make_current
    from pipeline.model.store import read_meta
    from pipeline.model.train import train as run_training

    config = load_config(config_path)
    out_dir = Path(out) if out else models_dir() / config.name
    written = run_training(config, out_dir, resume=resume, progress=progress, device=device)
    meta = read_meta(written)
    click.echo(f"model {meta.version} written to {written}")
    for label, reason in meta.disabled.items():
        click.echo(f"  not emitted: {label} ({reason})")
    if set_current:
        make_current(written)
        click.echo(f"{meta.version} is now the current model")
