"""A document's windows in pieces of whole sentences, so that a long document streams through the model.

A piece holds at most about ``max_windows`` windows and never splits a sentence (the overlapping chunks of a
very long sentence stay together), so every piece decodes on its own exactly as the whole document would:
spans never cross a sentence boundary and a sentence's scores come from its own windows. A document of fewer
windows is one piece: batching, and so every score, is the same as when documents were never cut.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pipeline.document import Document, stable_id
from pipeline.model.windows import Window, iter_document_windows


@dataclass(frozen=True, slots=True)
class Piece:
    """Windows ``windows`` of ``document`` covering its sentences ``[first, stop)``; ``index`` counts the
    document's pieces from 0 and ``last`` marks its final one."""

    document: Document
    index: int
    windows: list[Window]
    first: int
    stop: int
    last: bool


@dataclass(frozen=True)
class PieceCutter:
    """A model's way of cutting documents into pieces (plain data: worker processes receive it)."""

    tokenizer: object
    max_tokens: int
    stride: int
    max_windows: int | None

    def __call__(self, document: Document) -> Iterator[Piece]:
        return document_pieces(self.tokenizer, document, max_tokens=self.max_tokens, stride=self.stride,
                               max_windows=self.max_windows)


def document_pieces(tokenizer, document: Document, *, max_tokens: int, stride: int,
                    max_windows: int | None) -> Iterator[Piece]:
    """The pieces of ``document`` (whose sentences are set), made as they are read; ``max_windows`` None:
    one piece, however long the document."""
    windows: list[Window] = []
    first = index = 0
    for window in iter_document_windows(tokenizer, document, max_tokens=max_tokens, stride=stride):
        if (max_windows is not None and len(windows) >= max_windows
                and window.sentences[0] != windows[-1].sentences[-1]):
            stop = windows[-1].sentences[-1] + 1
            yield Piece(document, index, windows, first, stop, False)
            windows, first, index = [], stop, index + 1
        windows.append(window)
    yield Piece(document, index, windows, first, len(document.sentences), True)


def prepare_document(item: str | Document) -> Document:
    """``item`` as a document with its sentences (segmented when it has none)."""
    document = _as_document(item)
    if not document.sentences:
        from pipeline.segment import segment_document

        document = segment_document(document)
    return document


def _as_document(item: str | Document) -> Document:
    if isinstance(item, Document):
        return item
    if isinstance(item, str):
        return Document(stable_id(item), item)
    raise TypeError(f"annotate expects a str or a Document, got {type(item).__name__}")
