"""Options shared by the commands that read documents (``framing segment``, ``framing annotate``).

``@input_options`` adds ``--format``, ``--id-field``, ``--text-field``, ``--metadata-field``,
``--delimiter``, ``--encoding-errors`` and ``--skip-errors``, and hands them to the command as one ``input_options:
InputOptions`` argument, whose :meth:`~InputOptions.read` opens the documents and whose
:meth:`~InputOptions.finish` prints the summary and sets the exit status.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from pipeline.errors import ConfigError
from pipeline.io import FORMATS, DocumentStream, ErrorReport, Problem, read_documents
from pipeline.io.fields import ReadOptions
from pipeline.progress import echo

BAD_RECORDS_EXIT_STATUS = 1


@dataclass(frozen=True)
class InputOptions(ReadOptions):
    """The read options, and what the command does with bad records."""

    skip_errors: bool = False

    def read(self, paths: Iterable[str]) -> tuple[DocumentStream, ErrorReport]:
        """The documents of ``paths`` and the report their problems go to (each printed as it happens)."""
        report = ErrorReport(on_problem=_print_problem)
        documents = read_documents(
            list(paths),
            input_format=self.input_format,
            id_field=self.id_field,
            text_field=self.text_field,
            metadata_fields=self.metadata_fields,
            decode_errors=self.encoding_errors,
            errors=report,
            delimiter=self.delimiter,
        )
        return documents, report

    def finish(self, report: ErrorReport) -> None:
        """Print a summary when there were problems or no documents at all; exit with status 1 if a record
        was bad (unless ``--skip-errors``)."""
        if report.errors or report.warnings or not report.documents:
            echo(report.summary())
        if report.has_errors and not self.skip_errors:
            echo(
                "some records could not be read (see above); pass --skip-errors to exit with status 0 anyway"
            )
            sys.exit(BAD_RECORDS_EXIT_STATUS)


def _print_problem(problem: Problem) -> None:
    echo(str(problem))


_OPTIONS = (
    click.option(
        "--format",
        "input_format",
        type=click.Choice(FORMATS),
        default=None,
        help="Input format (default: from the extension; a directory is text files or a HF dataset; "
        "standard input is text).",
    ),
    click.option(
        "--id-field", metavar="NAME", help="Field holding the document id (default: id, if present)."
    ),
    click.option(
        "--text-field", metavar="NAME", help="Field holding the text (default: text, content or body)."
    ),
    click.option(
        "--metadata-field",
        "metadata_fields",
        metavar="NAME",
        multiple=True,
        help="Field to keep as metadata; repeatable (default: all other fields).",
    ),
    click.option(
        "--delimiter",
        metavar="CHAR",
        default=None,
        help="Column delimiter of CSV/TSV input (default: ',' for .csv, tab for .tsv).",
    ),
    click.option(
        "--encoding-errors",
        type=click.Choice(["strict", "replace"]),
        default="strict",
        show_default=True,
        help="On invalid UTF-8 (or UTF-16/32), a NUL byte in a text file or a lone surrogate: report the "
        "record and skip it, or decode with U+FFFD.",
    ),
    click.option(
        "--skip-errors",
        is_flag=True,
        help="Exit with status 0 even when some records were bad (they are still reported).",
    ),
)


def input_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the input options to a click command; it receives them as ``input_options: InputOptions``."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        metadata_fields = kwargs.pop("metadata_fields")
        options = InputOptions(
            input_format=kwargs.pop("input_format"),
            id_field=kwargs.pop("id_field"),
            text_field=kwargs.pop("text_field"),
            metadata_fields=tuple(metadata_fields) or None,
            encoding_errors=kwargs.pop("encoding_errors"),
            skip_errors=kwargs.pop("skip_errors"),
            delimiter=kwargs.pop("delimiter"),
        )
        return command(*args, input_options=options, **kwargs)

    for option in reversed(_OPTIONS):
        wrapper = option(wrapper)
    return wrapper


def progress_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--progress/--no-progress`` (a bar on standard error, shown only on a terminal)."""
    return click.option(
        "--progress/--no-progress",
        default=True,
        show_default=True,
        help="Show a progress bar on standard error (only when it is a terminal).",
    )(command)


def _check_device(context: click.Context, parameter: click.Parameter, value: str) -> str:
    import torch

    try:
        device = torch.device(value)
    except RuntimeError:
        raise click.BadParameter(f"{value!r} is not a torch device (cpu, cuda, cuda:1, mps)") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise click.BadParameter(f"{value!r}: this torch build sees no CUDA device")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise click.BadParameter(f"{value!r}: there are {torch.cuda.device_count()} CUDA devices "
                                     f"(cuda:0 to cuda:{torch.cuda.device_count() - 1})")
    elif device.type == "mps":
        if not torch.backends.mps.is_available():
            raise click.BadParameter(f"{value!r}: no Apple GPU (MPS) is available on this machine")
    elif device.type != "cpu":
        raise click.BadParameter(f"{value!r}: the model runs on cpu, cuda or mps, not on {device.type}")
    return value


def device_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--device``: where torch runs the model (the CPU unless asked)."""
    return click.option("--device", default="cpu", show_default=True, callback=_check_device,
                        help="Torch device for the model: cpu, cuda, cuda:1, mps.")(command)


def _set_threads(context: click.Context, parameter: click.Parameter, value: int | None) -> int | None:
    if value:
        import torch

        torch.set_num_threads(value)
    return value


def threads_option(command: Callable[..., Any] | None = None, *, default_help: str = "torch's choice",
                   expose_value: bool = False):
    """``--threads N``: torch's CPU threads, set as the option is read (default: torch's choice)."""
    option = click.option("--threads", type=click.IntRange(1, 256), default=None, callback=_set_threads,
                          expose_value=expose_value,
                          help=f"CPU threads for torch (default: {default_help}; 1 is faster on a machine busy "
                               "with other work).")
    return option(command) if command is not None else option


def refuse_to_overwrite_inputs(out: str | None, paths: Iterable[str]) -> None:
    """Raise ConfigError when the output file is one of the inputs (it would be emptied before it is read)."""
    if out is None or out == "-" or not os.path.exists(out):
        return
    for path in paths:
        if path != "-" and os.path.exists(path) and Path(out).resolve() == Path(path).resolve():
            raise ConfigError(f"--out {out} is also an input: writing it would destroy the input")
