"""Documents with gold spans → Hugging Face ``datasets`` for training: sentence-level multi-label examples and
token-level windows with per-token multi-hot labels, plus a deterministic split by document.

Supervision is explicit. A document says which labels its source annotates (``metadata["annotated_labels"]``;
absent = all) and, for partially annotated documents such as the team's seed set, which character ranges
were annotated (``metadata["annotated_ranges"]``; absent = the whole text). A sentence outside those ranges,
or a label its source never annotates, is *unknown*, not negative: its loss is masked. That is what lets a
corpus that never annotates blame train beside one that does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from pipeline.document import Document

ANNOTATED_LABELS = "annotated_labels"
# An auxiliary, token-level-only target: the actor that a blame span blames (``attributes["actor"]`` of gold
# ``blame_attribution`` spans). The model learns it beside the labels and links it to the blame spans it finds.
ACTOR_TARGET = "blamed_actor"
BLAME_LABEL = "blame_attribution"
ANNOTATED_RANGES = "annotated_ranges"
# labels a document supervises at the sentence level only (weak evidence: the tokens are not the device)
SENTENCE_ONLY_LABELS = "sentence_only_labels"
# a sentence counts as annotated when this share of its characters lies inside annotated ranges
_ANNOTATED_SHARE = 0.5


def split_documents(
    doc_ids: Iterable[str], validation_fraction: float, test_fraction: float, seed: int
) -> tuple[list[str], list[str], list[str]]:
    """Deterministic train/validation/test split by document id: documents are ranked by a seeded hash, so the
    same id lands in the same split whatever the order or the other ids. The test part is for reporting only:
    never trained on, never used to tune thresholds."""
    ids = sorted(set(doc_ids))
    ranked = sorted(ids, key=lambda doc_id: hashlib.sha256(f"{seed}:{doc_id}".encode()).hexdigest())

    def size(fraction: float) -> int:
        count = round(len(ids) * fraction)
        return max(count, 1) if fraction > 0 and len(ids) >= 3 else count

    n_test, n_validation = size(test_fraction), size(validation_fraction)
    test = set(ranked[:n_test])
    validation = set(ranked[n_test : n_test + n_validation])
    train = [i for i in ids if i not in test and i not in validation]
    return train, [i for i in ids if i in validation], [i for i in ids if i in test]


def split_keeping_out_of_test(
    doc_ids: Iterable[str], validation_fraction: float, test_fraction: float, seed: int, no_test: Iterable[str] = ()
) -> tuple[list[str], list[str], list[str]]:
    """``split_documents``, then the ``no_test`` ids drawn for test move to train: the other documents keep
    exactly the split they would have had (so models trained with and without the option share them)."""
    train, validation, test = split_documents(doc_ids, validation_fraction, test_fraction, seed)
    excluded = set(no_test)
    moved = [i for i in test if i in excluded]
    return sorted([*train, *moved]), validation, [i for i in test if i not in excluded]


def split_by_document(doc_ids: Iterable[str], validation_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """Deterministic train/validation split by document id (see ``split_documents``)."""
    train, validation, _ = split_documents(doc_ids, validation_fraction, 0.0, seed)
    return train, validation


def _overlap(a_start: int, a_end: int, b_start: int, b_end: int) -> int:
    return max(0, min(a_end, b_end) - max(a_start, b_start))


def sentence_supervision(document: Document, labels: Sequence[str]) -> list[list[int]]:
    """For each sentence, a 0/1 flag per label: is this (sentence, label) pair annotated at all?"""
    annotated = document.metadata.get(ANNOTATED_LABELS)
    label_flags = [1 if annotated is None or label in annotated else 0 for label in labels]
    ranges = document.metadata.get(ANNOTATED_RANGES)
    rows = []
    for sentence in document.sentences:
        inside = True
        if ranges is not None:
            covered = sum(_overlap(sentence.start, sentence.end, a, b) for a, b in ranges)
            inside = covered >= _ANNOTATED_SHARE * (sentence.end - sentence.start)
        rows.append(label_flags if inside else [0] * len(labels))
    return rows


def sentence_targets(document: Document, labels: Sequence[str], source: str = "gold") -> list[list[int]]:
    """For each sentence, a 0/1 flag per label: does a gold span of that label overlap the sentence?"""
    index = {label: i for i, label in enumerate(labels)}
    rows = [[0] * len(labels) for _ in document.sentences]
    spans = [s for s in document.spans_from(source) if s.label in index]
    for row, sentence in zip(rows, document.sentences):
        for span in spans:
            if _overlap(sentence.start, sentence.end, span.start, span.end) > 0:
                row[index[span.label]] = 1
    return rows


def sentence_examples(documents: Iterable[Document], labels: Sequence[str]):
    """One example per sentence: ``doc_id, start, end, text, labels`` (multi-hot) and ``supervised`` (mask).
    ``start``/``end`` index the document text, so context can be added later."""
    from datasets import Dataset

    def rows():
        for document in documents:
            targets = sentence_targets(document, labels)
            masks = sentence_supervision(document, labels)
            for sentence, target, mask in zip(document.sentences, targets, masks):
                yield {
                    "doc_id": document.id,
                    "start": sentence.start,
                    "end": sentence.end,
                    "text": document.text[sentence.start : sentence.end],
                    "labels": target,
                    "supervised": mask,
                }

    return Dataset.from_list(list(rows()))


def window_examples(
    documents: Iterable[Document], tokenizer, labels: Sequence[str], *, max_tokens: int, stride: int
):
    """Token-level examples: documents packed into encoder windows (see ``pipeline.model.windows``) with
    per-token multi-hot labels (a token carries every label whose gold spans overlap it, so overlapping spans
    of different labels are kept), per-sentence labels and the supervision mask."""
    from datasets import Dataset

    return Dataset.from_list(list(iter_window_rows(documents, tokenizer, labels, max_tokens=max_tokens, stride=stride)))


def actor_spans(document: Document) -> list[tuple[int, int]]:
    """Character ranges of the blamed actors named by the document's gold blame spans."""
    ranges = []
    for span in document.spans_from("gold"):
        actor = span.attributes.get("actor") if span.label == BLAME_LABEL else None
        if actor:
            ranges.append((int(actor["start"]), int(actor["end"])))
    return ranges


def iter_window_rows(
    documents: Iterable[Document],
    tokenizer,
    labels: Sequence[str],
    *,
    max_tokens: int,
    stride: int,
    auxiliary: Sequence[str] = (),
):
    """Window rows (see ``window_examples``). ``auxiliary`` may name ``ACTOR_TARGET``: an extra token column,
    supervised wherever blame is, whose sentence column is always 0 (it has no sentence-level meaning)."""
    from pipeline.model.windows import document_windows

    unknown = sorted(set(auxiliary) - {ACTOR_TARGET})
    if unknown:
        raise ValueError(f"unknown auxiliary targets {unknown}; known: {ACTOR_TARGET}")
    index = {label: i for i, label in enumerate(labels)}
    blame_column = index.get(BLAME_LABEL)
    width = len(labels) + len(auxiliary)
    for document in documents:
        sentence_rows = [row + [0] * len(auxiliary) for row in sentence_targets(document, labels)]
        mask_rows = [
            row + [row[blame_column] if blame_column is not None else 0] * len(auxiliary)
            for row in sentence_supervision(document, labels)
        ]
        sentence_only = {index[label] for label in document.metadata.get(SENTENCE_ONLY_LABELS, ()) if label in index}
        token_mask_rows = [[0 if c in sentence_only else v for c, v in enumerate(row)] for row in mask_rows]
        gold = [(s.start, s.end, index[s.label]) for s in document.spans_from("gold") if s.label in index]
        if auxiliary:
            gold += [(start, end, len(labels)) for start, end in actor_spans(document)]
        for window in document_windows(tokenizer, document, max_tokens=max_tokens, stride=stride):
            token_labels = []
            for (start, end), owner in zip(window.offsets, window.token_sentence):
                row = [0] * width
                if owner >= 0 and end > start:
                    for span_start, span_end, column in gold:
                        if _overlap(start, end, span_start, span_end) > 0:
                            row[column] = 1
                token_labels.append(row)
            yield {
                "doc_id": document.id,
                "input_ids": window.input_ids,
                "offsets": [list(o) for o in window.offsets],
                "token_sentence": window.token_sentence,
                "sentence_bounds": [
                    [document.sentences[i].start, document.sentences[i].end] for i in window.sentences
                ],
                "sentence_labels": [sentence_rows[i] for i in window.sentences],
                "sentence_supervised": [mask_rows[i] for i in window.sentences],
                "token_supervised": [token_mask_rows[i] for i in window.sentences],
                "token_labels": token_labels,
            }


def with_sentences(documents: Iterable[Document]) -> list[Document]:
    """Segment documents that have no sentences yet."""
    from pipeline.segment import segment_document

    return [d if d.sentences else segment_document(d) for d in documents]


def count_positive_sentences(documents: Iterable[Document], labels: Sequence[str]) -> dict[str, int]:
    counts = dict.fromkeys(labels, 0)
    for document in documents:
        for target, mask in zip(sentence_targets(document, labels), sentence_supervision(document, labels)):
            for label, positive, supervised in zip(labels, target, mask):
                counts[label] += positive and supervised
    return counts


__all__ = [
    "ACTOR_TARGET",
    "ANNOTATED_LABELS",
    "actor_spans",
    "ANNOTATED_RANGES",
    "SENTENCE_ONLY_LABELS",
    "count_positive_sentences",
    "iter_window_rows",
    "sentence_examples",
    "sentence_supervision",
    "sentence_targets",
    "split_by_document",
    "split_documents",
    "split_keeping_out_of_test",
    "window_examples",
    "with_sentences",
]
