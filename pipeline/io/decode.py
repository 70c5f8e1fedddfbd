"""Bytes to text: UTF-8 with exact byte offsets for invalid sequences, BOM removal, binary detection.

A UTF-8 byte order mark at the start of an input is removed (it is an encoding marker, not text), so
offsets count from the first character after it. A UTF-16 or UTF-32 byte order mark selects that encoding
(:func:`bom_encoding`). Newlines are never translated: ``\\r\\n`` stays two characters, so offsets refer to
the text exactly as it is written to the output record.

Text that decodes but cannot be written (a lone surrogate such as the JSON escape ``"\\ud800"``, which no
UTF-8 encoder or tokenizer accepts) and NUL characters are invalid like undecodable bytes: an error under
``--encoding-errors strict``, replaced by U+FFFD (one character for one, so offsets stay valid) under
``replace``.
"""

from __future__ import annotations

import codecs
import re
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


# longest first: the UTF-32-LE mark begins with the UTF-16-LE one
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_SURROGATE = re.compile("[\ud800-\udfff]")


def bom_encoding(head: bytes) -> tuple[str, int] | None:
    """``(codec, length of the mark)`` when ``head`` starts with a UTF-16 or UTF-32 byte order mark."""
    for mark, codec in _BOMS:
        if head.startswith(mark):
            return codec, len(mark)
    return None


def first_surrogate(text: str) -> int | None:
    """The character offset of the first lone surrogate in ``text`` (it cannot be encoded as UTF-8 or
    tokenized), or None."""
    match = _SURROGATE.search(text)
    return None if match is None else match.start()


def replace_surrogates(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD (same length: offsets stay valid)."""
    return _SURROGATE.sub("\ufffd", text)


def printable(text: str) -> str:
    """``text`` safe to print: lone surrogates (from undecodable file names) as ``\\udcff`` escapes."""
    if first_surrogate(text) is None:
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def transcoded_lines(stream: BinaryIO, codec: str, skip: int, errors: str, source: str) -> Iterator[bytes]:
    """The lines of a UTF-16/UTF-32 ``stream`` (after its ``skip``-byte mark) as UTF-8 bytes, read
    incrementally; byte offsets in problems then count in this UTF-8 form."""
    import io

    from pipeline.errors import InputError

    stream.read(skip)
    text = io.TextIOWrapper(stream, encoding=codec, errors=errors, newline="")
    number = 0
    try:
        for number, line in enumerate(text, start=1):  # noqa: B007 -- used in the message
            yield line.encode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(
            f"{source}:{number + 1}: invalid {codec.upper()} ({error.reason}); {REPLACE_HINT}"
        ) from None
    finally:
        if not stream.closed:
            text.detach()  # leave the stream to its owner


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

    def __init__(self, stream: BinaryIO | Iterable[bytes], *, first_line: int = 1, first_byte: int = 0) -> None:
        """``first_line`` and ``first_byte``: where ``stream`` starts in its file (a slice of it)."""
        self._lines = iter(stream)
        self._number = first_line - 1
        self._offset = first_byte

    def __next__(self) -> tuple[int, int, bytes]:
        raw = next(self._lines)
        self._number += 1
        self._offset += len(raw)
        return self._number, self._offset - len(raw), raw
