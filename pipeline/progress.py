"""Progress bars on standard error, for commands that work through many documents.

A bar is shown only when standard error is a terminal and the caller has not turned it off. Where it is not a
terminal (a pipe, a log file, `nohup`), a plain line says how far the work has come once a minute, so that a long
run is never silent; runs shorter than a minute print nothing. Messages printed while a bar runs must go through
:func:`echo`, which keeps the bar intact.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


def progress(
    items: Iterable[T],
    *,
    total: int | None = None,
    desc: str | None = None,
    unit: str = "doc",
    enabled: bool = True,
) -> Iterator[T]:
    """``items``, with a bar on standard error when ``enabled``, standard error is a terminal, and more than
    one item is expected (``total`` None means "unknown", which gets a bar); with a line a minute when
    ``enabled`` and standard error is not a terminal."""
    if enabled and not _stderr_is_terminal():
        return _plain_lines(items, total, desc or "progress", unit)
    disable = not enabled or (total is not None and total <= 1)
    return iter(
        tqdm(items, total=total, desc=desc, unit=unit, file=sys.stderr, disable=disable, dynamic_ncols=True)
    )


PLAIN_LINE_SECONDS = 60.0


def _plain_lines(items: Iterable[T], total: int | None, desc: str, unit: str) -> Iterator[T]:
    """``items``, with a line on standard error every :data:`PLAIN_LINE_SECONDS` (for logs and pipes)."""
    began = last = time.monotonic()
    for done, item in enumerate(items, start=1):
        yield item
        now = time.monotonic()
        if now - last >= PLAIN_LINE_SECONDS:
            last = now
            of = f"/{total}" if total is not None else ""
            echo(f"{desc}: {done}{of} {unit}s, {now - began:.0f} s")


def echo(message: str) -> None:
    """Print ``message`` on standard error without breaking a running progress bar."""
    tqdm.write(message, file=sys.stderr)


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
