"""``framing annotate --engine ray``: the options of the cluster engine and the command's Ray branch."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from pipeline.cli.options import InputOptions, _print_problem
from pipeline.errors import ConfigError
from pipeline.progress import echo

_OPTIONS = (
    click.option("--ray-address", metavar="ADDR", default=None,
                 help="--engine ray: join the Ray cluster at ADDR (host:port, or 'auto'); default: start a local "
                      "Ray instance and stop it at the end."),
    click.option("--ray-actors", type=click.IntRange(1, 4096), default=None,
                 help="--engine ray: model actors (default: one per GPU, else one per --ray-cpus-per-actor cores, "
                      "one core left to reading and decoding)."),
    click.option("--ray-cpus-per-actor", type=click.IntRange(1, 256), default=1, show_default=True,
                 help="--engine ray: CPU cores (torch threads) per model actor."),
    click.option("--ray-gpus-per-actor", type=click.FloatRange(0, 8), default=None,
                 help="--engine ray: GPUs per model actor (default: 1 when the cluster has GPUs, else 0)."),
    click.option("--shard-size", type=click.IntRange(1), default=1000, show_default=True,
                 help="--engine ray: records (or text files) per input shard, the unit of work and of resuming."),
)


def ray_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the ``--ray-*`` options; the command receives them as ``ray_options: RayOptions``."""
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from pipeline.engines.ray import RayOptions

        options = RayOptions(kwargs.pop("ray_address"), kwargs.pop("ray_actors"), kwargs.pop("ray_cpus_per_actor"),
                             kwargs.pop("ray_gpus_per_actor"), kwargs.pop("shard_size"))
        return command(*args, ray_options=options, **kwargs)

    for option in reversed(_OPTIONS):
        wrapper = option(wrapper)
    return wrapper


def annotate_on_ray(paths: tuple[str, ...], out: str, *, model_dir: str | None, all_scores: bool, precision: str,
                    batch_size: int, input_options: InputOptions, ray_options, progress: bool = False) -> None:
    """Annotate into the folder ``out`` (shards and ``manifest.json``), then exit as the local engine does."""
    if out == "-":
        raise ConfigError("--engine ray writes a folder of shards, not standard output: name a folder with --out")
    try:
        import ray  # noqa: F401
        import ray.data  # noqa: F401
    except ImportError:
        raise ConfigError("--engine ray needs Ray Data: pip install 'framing-pipeline[ray]' (or 'ray[data]')") from None
    from pathlib import Path

    from pipeline.batch import run_settings
    from pipeline.engines.ray import ModelOptions, annotate_with_ray
    from pipeline.io import ErrorReport
    from pipeline.model.annotator import Annotator
    from pipeline.model.registry import current_model_dir

    model_path = str(Path(model_dir or current_model_dir()).resolve())
    checked = Annotator.load(model_path, precision=precision, all_scores=all_scores)  # a bad model: exit 2 now
    settings = run_settings(checked)
    del checked
    read = input_options.reading()
    report = ErrorReport(on_problem=_print_problem)
    model = ModelOptions(model_path, precision, batch_size, all_scores)
    result = annotate_with_ray(list(paths), out, model, read, ray_options, report, settings=settings, notify=echo,
                               progress=progress)
    echo(f"{result.written} documents annotated with {settings['model_version']} ({result.spans} spans) in "
         f"{result.shards_done} shards on Ray ({result.shards_skipped} already done) -> {out}")
    input_options.finish(report)
