"""`framing annotate INPUT... --out OUT`: segment, classify and write one record per document."""

from __future__ import annotations

import click

from pipeline.cli.annotate_ray import annotate_on_ray, ray_options
from pipeline.cli.options import (
    InputOptions,
    device_option,
    input_options,
    progress_option,
    refuse_to_overwrite_inputs,
    threads_option,
)
from pipeline.progress import echo
from pipeline.progress import progress as progress_bar


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", metavar="INPUT...", nargs=-1, required=True)
@click.option("--out", "-o", required=True, metavar="FILE",
              help="Output file, JSON Lines (.jsonl, .ndjson) or Parquet (.parquet, .pq).")
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="Model directory (default: the current model, models/CURRENT).")
@click.option("--all-scores", is_flag=True, help="Also write every label's sentence score, not only asserted ones.")
@click.option("--resume", is_flag=True,
              help="Skip documents already written to OUT by an interrupted run (refused if the model, "
                   "--all-scores or --precision differ from that run's).")
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16"]), default="auto", show_default=True,
              help="auto: bf16 on CPUs with AMX/AVX-512-bf16 and on GPUs that support it, fp32 elsewhere (said on "
                   "standard error). bf16 is 5.7x SLOWER on an AVX2-only CPU; its scores may differ slightly.")
@click.option("--batch-size", type=click.IntRange(1, 1024), default=8, show_default=True,
              help="Windows per forward pass (on a 2-core CPU 8 was fastest: 20% faster than 32; "
                   "on a GPU use 64 or more).")
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="local: this machine, worker processes feeding the model (see --workers). ray: Ray Data, on a "
                   "local Ray instance or the cluster at --ray-address; OUT is then a folder of shards with a "
                   "manifest.json, and a rerun resumes it.")
@click.option("--workers", type=click.IntRange(0, 256), default=None,
              help="Worker processes that segment, tokenize and decode while this one runs the model (0: one "
                   "process). Default: none on 2 cores or fewer, else half the cores, at most 8.")
@threads_option(default_help="torch's choice; with --workers N, the cores left beside the workers",
                expose_value=True)
@ray_options
@device_option
@input_options
@progress_option
def annotate(paths: tuple[str, ...], out: str, model_dir: str | None, all_scores: bool, resume: bool,
             precision: str, batch_size: int, engine: str, workers: int | None, threads: int | None, device: str,
             input_options: InputOptions, progress: bool, ray_options=None) -> None:
    """Tag framing devices in documents: sentence labels and character spans, with scores.

    Each output record is {id, text, metadata, model_version, sentences: [{start, end, labels}], spans:
    [{start, end, label, score}]}, where text[start:end] is always the sentence or span. Only labels at or
    above the model's tuned thresholds are written (see --all-scores).
    """
    from pipeline.batch import annotate_to_file, check_output, partial_path
    from pipeline.engines.local import LocalEngine, share_cores_with_workers
    from pipeline.model.annotator import Annotator
    from pipeline.model.precision import resolve_precision

    refuse_to_overwrite_inputs(out, paths)
    chosen = resolve_precision(precision, device)  # once, here: every Ray actor then uses the same precision
    echo(chosen.describe())
    if engine == "ray":
        return annotate_on_ray(paths, out, model_dir=model_dir, all_scores=all_scores, precision=chosen.precision,
                               batch_size=batch_size, input_options=input_options, ray_options=ray_options,
                               progress=progress)
    check_output(out)  # before the model loads and the work is done, not after
    annotator = Annotator.load(model_dir, device=device, precision=chosen.precision, batch_size=batch_size,
                               all_scores=all_scores)
    documents, report = input_options.read(paths)
    spans = written = 0
    runner = LocalEngine(annotator, workers)
    if threads is None and runner.workers and device == "cpu":
        share_cores_with_workers(runner.workers)
    records = annotate_to_file(documents, annotator, out, resume=resume, notify=echo, engine=runner)
    try:
        for record in progress_bar(records, total=documents.total, desc="annotate", enabled=progress):
            written += 1
            spans += len(record["spans"])
    except KeyboardInterrupt:
        partial = partial_path(out)
        kept = _count_lines(partial)
        echo(f"interrupted: {_plural(written, 'document')} annotated in this run; {partial} holds {kept} "
             f"finished; run the same command with --resume to annotate the rest into {out}")
        raise
    echo(f"{_plural(written, 'document')} annotated with {annotator.model_version} ({_plural(spans, 'span')}) "
         f"-> {out}")
    input_options.finish(report)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _count_lines(path) -> int:
    try:
        with open(path, "rb") as handle:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    except OSError:
        return 0
