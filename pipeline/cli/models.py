"""`framing models`: the model versions in models/ and which one is current."""

from __future__ import annotations

import json

import click


@click.group()
def models() -> None:
    """List model versions and choose the current one."""


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line instead of a table.")
def list_command(as_json: bool) -> None:
    """Show every model version, its parent, and which one is current."""
    from pipeline.model.registry import list_models

    entries = list_models()
    if as_json:
        for entry in entries:
            click.echo(json.dumps({"version": entry.meta.version, "path": str(entry.path), "current": entry.current,
                                   "parent": entry.meta.parent_version, "created_at": entry.meta.created_at,
                                   "labels": entry.meta.enabled_labels}))
        return
    if not entries:
        click.echo("no models yet: train one with `framing train --config models/default.yaml`")
        return
    for entry in entries:
        marker = "*" if entry.current else " "
        parent = f" (parent {entry.meta.parent_version})" if entry.meta.parent_version else ""
        click.echo(f"{marker} {entry.meta.version}  {entry.path.name}  {entry.meta.created_at}  "
                   f"{len(entry.meta.enabled_labels)} labels{parent}")


@models.command("use")
@click.argument("model_dir", type=click.Path(exists=True, file_okay=False))
def use_command(model_dir: str) -> None:
    """Make MODEL_DIR (a folder inside models/) the current model."""
    from pipeline.model.registry import set_current
    from pipeline.model.store import read_meta

    set_current(model_dir)
    click.echo(f"{read_meta(model_dir).version} is now the current model")
