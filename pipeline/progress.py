"""Progress bars on standard error, for commands that work through many documents.

A bar is shown only when standard error is a terminal (never in pipes, logs or tests) and the caller has
not turned it off. Messages printed while a bar runs must go through :func:`echo`, which keeps the bar intact.
"""

from __future__ import annotations

import sys
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
    one item is expected (``total`` None means "unknown", which gets a bar)."""
    disable = not enabled or not _stderr_is_terminal() or (total is not None and total <= 1)
    return iter(
        tqdm(items, total=total, desc=desc, unit=unit, file=sys.stderr, disable=disable, dynamic_ncols=True)
    )


def echo(message: str) -> None:
    """Print ``message`` on standard error without breaking a running progress bar."""
    tqdm.write(message, file=sys.stderr)


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
