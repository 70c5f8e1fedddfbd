"""The ``framing`` command. Thin: each sub-command lives in its own module and is imported only when used,
so ``framing --help`` stays fast and no command pays for another's imports (torch, the Label Studio SDK)."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys

import click

from pipeline import __version__
from pipeline.errors import FramingError

# command name -> "module:attribute"; a module that does not exist yet is simply not listed.
COMMANDS = {
    "segment": "pipeline.cli.segment:segment",
    "corpus": "pipeline.cli.corpus:corpus",
    "evaluate": "pipeline.cli.evaluate:evaluate",
    "train": "pipeline.cli.train:train",
    "annotate": "pipeline.cli.annotate:annotate",
    "ls": "pipeline.cli.labelstudio:ls",
    "retrain": "pipeline.cli.retrain:retrain",
    "models": "pipeline.cli.models:models",
    "view": "pipeline.cli.view:view",
    "report": "pipeline.cli.view:report",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, target in COMMANDS.items() if _module_exists(target.split(":")[0]))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None or not _module_exists(target.split(":")[0]):
            return None
        module_name, attribute = target.split(":")
        return getattr(importlib.import_module(module_name), attribute)


def _module_exists(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


INTERNAL_ERROR_EXIT_STATUS = 70  # EX_SOFTWARE: a bug, not the user's input
_debug = False


def _set_debug(context: click.Context, parameter: click.Parameter, value: bool) -> bool:
    global _debug
    _debug = _debug or value
    return value


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="framing")
@click.option("--debug", is_flag=True, expose_value=False, is_eager=True, callback=_set_debug,
              help="Show the Python traceback of an error (also: FRAMING_DEBUG=1).")
def cli() -> None:
    """Find framing devices and propaganda techniques in news text and correct them in Label Studio."""


def main(argv: list[str] | None = None) -> None:
    """Run the command line; errors become one message on standard error and an exit status, never a Python
    traceback (unless --debug): 2 for bad input or configuration, 1 for records skipped, 130 for Ctrl-C, 70 for
    a bug."""
    global _debug
    _debug = os.environ.get("FRAMING_DEBUG", "") not in ("", "0")
    try:
        status = cli.main(args=argv, prog_name="framing", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted (Ctrl-C)", err=True)
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except click.exceptions.Exit as exit_:
        sys.exit(exit_.exit_code)
    except FramingError as error:
        if _debug:
            raise
        from pipeline.io.decode import printable

        click.echo(f"error: {printable(str(error))}", err=True)
        sys.exit(2)
    except Exception as error:  # a bug: one line for the user, the traceback on request
        if _debug:
            raise
        click.echo(f"error: unexpected {type(error).__name__}: {error}\n"
                   "This is a bug in framing; run the command again with `framing --debug ...` to see where it "
                   "happened, and report it.", err=True)
        sys.exit(INTERNAL_ERROR_EXIT_STATUS)
    if isinstance(status, int) and status:
        sys.exit(status)
