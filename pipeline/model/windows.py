"""Character spans ↔ tokenizer tokens: pack a document's sentences into encoder windows.

The model never sees a document whole. Sentences are tokenized one by one (with character offsets shifted to
document coordinates), then packed greedily, in order, into windows of at most ``max_tokens`` tokens
(special tokens included), so a sentence is read with its neighbours as context and no padding is wasted on
short sentences. A sentence longer than a window is cut into overlapping chunks (``stride`` tokens shared
between neighbours). Token indices never leave the model package: everything that leaves it is in characters.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pipeline.document import Document


@dataclass(frozen=True, slots=True)
class Window:
    """One encoder input. ``offsets[i]`` is the document character range of token ``i`` ((0, 0) for the
    special tokens); ``token_sentence[i]`` indexes ``sentences`` (-1 for special tokens); ``sentences`` holds
    the document indices of the sentences (whole or partial) the window covers."""

    input_ids: list[int]
    offsets: list[tuple[int, int]]
    token_sentence: list[int]
    sentences: list[int]

    def __len__(self) -> int:
        return len(self.input_ids)


def tokenize_sentences(tokenizer, document: Document) -> list[tuple[list[int], list[tuple[int, int]]]]:
    """Token ids and document-level character offsets of each sentence of ``document``."""
    return list(iter_tokenized_sentences(tokenizer, document))


def iter_tokenized_sentences(tokenizer, document: Document, *, batch: int = 1024,
                             ) -> Iterator[tuple[list[int], list[tuple[int, int]]]]:
    """:func:`tokenize_sentences`, ``batch`` sentences at a time (a long document is never held tokenized
    whole; the tokenizer encodes each sentence on its own, so the result is the same)."""
    sentences = document.sentences
    for begin in range(0, len(sentences), batch):
        chunk = sentences[begin : begin + batch]
        texts = [document.text[s.start : s.end] for s in chunk]
        encoded = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True)
        for sentence, ids, offsets in zip(chunk, encoded["input_ids"], encoded["offset_mapping"]):
            shift = sentence.start
            yield list(ids), [(a + shift, b + shift) for a, b in offsets]


def pack_windows(
    tokenized: Iterable[tuple[list[int], list[tuple[int, int]]]],
    *,
    max_tokens: int,
    stride: int,
    cls_id: int,
    sep_id: int,
) -> Iterator[Window]:
    """Greedily pack tokenized sentences (in order) into windows of at most ``max_tokens`` tokens."""
    if max_tokens < 8:
        raise ValueError(f"max_tokens must be at least 8, got {max_tokens}")
    room = max_tokens - 2
    if not 0 <= stride < room:
        raise ValueError(f"stride must be in [0, {room}), got {stride}")
    ids: list[int] = []
    offsets: list[tuple[int, int]] = []
    owners: list[int] = []
    sentences: list[int] = []

    def flush() -> Window:
        window = Window(
            [cls_id, *ids, sep_id],
            [(0, 0), *offsets, (0, 0)],
            [-1, *owners, -1],
            list(sentences),
        )
        ids.clear()
        offsets.clear()
        owners.clear()
        sentences.clear()
        return window

    for sentence_index, (sentence_ids, sentence_offsets) in enumerate(tokenized):
        if not sentence_ids:
            continue
        if len(sentence_ids) > room:
            if ids:
                yield flush()
            step = room - stride
            for begin in range(0, len(sentence_ids), step):
                chunk = sentence_ids[begin : begin + room]
                ids.extend(chunk)
                offsets.extend(sentence_offsets[begin : begin + room])
                owners.extend([0] * len(chunk))
                sentences.append(sentence_index)
                yield flush()
                if begin + room >= len(sentence_ids):
                    break
            continue
        if len(ids) + len(sentence_ids) > room:
            yield flush()
        local = len(sentences)
        sentences.append(sentence_index)
        ids.extend(sentence_ids)
        offsets.extend(sentence_offsets)
        owners.extend([local] * len(sentence_ids))
    if ids:
        yield flush()


def document_windows(tokenizer, document: Document, *, max_tokens: int, stride: int) -> list[Window]:
    """All windows of one document (whose sentences must already be set)."""
    return list(iter_document_windows(tokenizer, document, max_tokens=max_tokens, stride=stride))


def iter_document_windows(tokenizer, document: Document, *, max_tokens: int, stride: int) -> Iterator[Window]:
    """The windows of :func:`document_windows`, made as they are read."""
    return pack_windows(
        iter_tokenized_sentences(tokenizer, document),
        max_tokens=max_tokens,
        stride=stride,
        cls_id=_first_not_none(tokenizer.cls_token_id, tokenizer.bos_token_id),
        sep_id=_first_not_none(tokenizer.sep_token_id, tokenizer.eos_token_id),
    )


def _first_not_none(*values: int | None) -> int:
    for value in values:
        if value is not None:
            return value
    raise ValueError("the tokenizer defines neither a CLS/BOS nor a SEP/EOS token")
