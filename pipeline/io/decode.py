"""Bytes to text: UTF-8 with exact byte offsets for invalid sequences, BOM removal, binary detection.

A UTF-8 byte order mark at the start of an input is removed (it is an encoding marker, not text), so
offsets count from the first character after it. Newlines are never translated: ``\\r\\n`` stays two
characters, so offsets refer to the text exactly as it is written to the output record.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from typing import BinaryIO

DECODE_ERRORS = ("strict", "replace")
BINARY_SNIFF_BYTES = 8192
REPLACE_HINT = "decode with replacement characters: --encoding-errors replace"


class InvalidUTF8(ValueError):
    """A byte sequence that is not UTF-8, at ``byte`` (an offset into the file or line it was read from)."""

    def __init__(self, byte: int, bad: bytes) -> None:
        super().__init__(f"invalid UTF-8 at byte {byte}: {bad!r}")
        self.byte = byte
        self.bad = bad


def decode_utf8(
    data: bytes, *, errors: str = "strict", strip_bom: bool = True, offset: int = 0
) -> tuple[str, int | None]:
    """Decode ``data``; return the text and the byte offset of the first invalid sequence (None if none).

    With ``errors="strict"`` an invalid sequence raises :class:`InvalidUTF8`; with ``"replace"`` it
    becomes U+FFFD. Offsets count from the start of ``data`` plus ``offset`` (the BOM included).
    """
    start = len(codecs.BOM_UTF8) if strip_bom and data[:3] == codecs.BOM_UTF8 else 0
    view = memoryview(data)[start:]  # no copy, even for a 20 MB document
    try:
        return str(view, "utf-8"), None
    except UnicodeDecodeError as error:
        first = offset + start + error.start
        if errors == "strict":
            raise InvalidUTF8(first, bytes(view[error.start : error.end])) from None
    return str(view, "utf-8", "replace"), first


def looks_binary(head: bytes) -> bool:
    """True for data that is not text in any 8-bit encoding: a NUL byte, as git and grep decide."""
    return b"\x00" in head[:BINARY_SNIFF_BYTES]


def line_and_column(data: bytes, byte: int) -> tuple[int, int]:
    """1-based line and byte column of offset ``byte`` in ``data``."""
    line_start = data.rfind(b"\n", 0, byte) + 1
    return data.count(b"\n", 0, byte) + 1, byte - line_start + 1


class binary_lines(Iterator[tuple[int, int, bytes]]):  # noqa: N801 -- used like a function
    """``(line number, byte offset of the line, raw line with its terminator)``; splits on ``\\n`` only.

    An iterator class rather than a generator, so that it holds no reference to a line it has handed out
    (a 20 MB line should be in memory once, not twice)."""

    def __init__(self, stream: BinaryIO | Iterable[bytes]) -> None:
        self._lines = iter(stream)
        self._number = 0
        self._offset = 0

    def __next__(self) -> tuple[int, int, bytes]:
        raw = next(self._lines)
        self._number += 1
        self._offset += len(raw)
        return self._number, self._offset - len(raw), raw
