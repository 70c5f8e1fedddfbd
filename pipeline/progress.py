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
    counter = Counter(total=total, desc=desc, unit=unit)
    for item in items:
        yield item
        counter.update()


class Counter:
    """A count updated by hand (``update``, ``set_postfix``, ``write``, ``close``: tqdm's calls), for loops that are
    not one iteration per item, such as training steps. On a terminal it is a tqdm bar; elsewhere a plain line on
    standard error every :data:`PLAIN_LINE_SECONDS` with the count, the postfix (a loss, an epoch) and the time."""

    def __init__(self, *, total: int | None, initial: int = 0, desc: str, unit: str, enabled: bool = True):
        self.total, self.count, self.desc, self.unit = total, initial, desc, unit
        self.postfix: dict[str, object] = {}
        self.began = self.last = time.monotonic()
        plain = enabled and not _stderr_is_terminal()
        self.bar = None if plain else tqdm(total=total, initial=initial, desc=desc, unit=unit, file=sys.stderr,
                                           disable=not enabled, dynamic_ncols=True)

    def update(self, n: int = 1) -> None:
        self.count += n
        if self.bar is not None:
            self.bar.update(n)
            return
        now = time.monotonic()
        if now - self.last >= PLAIN_LINE_SECONDS:
            self.last = now
            of = f"/{self.total}" if self.total is not None else ""
            details = "".join(f", {key} {value}" for key, value in self.postfix.items())
            echo(f"{self.desc}: {self.count}{of} {_plural(self.unit)}{details}, {now - self.began:.0f} s")

    def set_postfix(self, **values: object) -> None:
        self.postfix = values
        if self.bar is not None:
            self.bar.set_postfix(**values)

    def write(self, message: str) -> None:
        echo(message)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _plural(unit: str) -> str:
    return unit + ("es" if unit.endswith(("s", "x", "ch", "sh")) else "s")


def echo(message: str) -> None:
    """Print ``message`` on standard error without breaking a running progress bar."""
    tqdm.write(message, file=sys.stderr)


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
