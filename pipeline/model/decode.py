"""Token scores → character spans, and sentence scores → sentence labels.

For each label, consecutive tokens whose probability reaches the label's span threshold form a span; the
span is widened to whole words (a word-piece run never cuts a word), trimmed of surrounding whitespace and
punctuation, and scored with the mean probability of its tokens. Labels of different spans overlap freely.
A sentence's labels always include the labels of the spans inside it (scored with the larger of the
sentence head's and the span's score), so sentence and span outputs never contradict each other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from pipeline.document import Sentence, Span

_TRIM = " \t\r\n\f\v\u00a0.,;:!?\"'“”‘’«»()[]{}-–—…/"


def merge_token_scores(
    pieces: Sequence[tuple[Sequence[tuple[int, int]], np.ndarray]],
) -> tuple[list[tuple[int, int]], np.ndarray]:
    """Merge per-window token scores of one document into document order. Tokens seen by several windows
    (the overlapping chunks of a very long sentence) get the mean of their scores."""
    totals: dict[tuple[int, int], np.ndarray] = {}
    counts: dict[tuple[int, int], int] = {}
    for offsets, probs in pieces:
        for (start, end), row in zip(offsets, probs):
            if end <= start:
                continue
            key = (start, end)
            if key in totals:
                totals[key] = totals[key] + row
                counts[key] += 1
            else:
                totals[key] = row.copy()
                counts[key] = 1
    keys = sorted(totals)
    if not keys:
        return [], np.zeros((0, 0), dtype=np.float32)
    return keys, np.stack([totals[k] / counts[k] for k in keys])


_APOSTROPHES = "'’"


def _in_word(text: str, index: int) -> bool:
    """Is ``text[index]`` part of a word (a letter or digit, or an apostrophe between two of them)?"""
    if not 0 <= index < len(text):
        return False
    if text[index].isalnum():
        return True
    return (text[index] in _APOSTROPHES and 0 < index < len(text) - 1
            and text[index - 1].isalnum() and text[index + 1].isalnum())


def _widen_to_words(text: str, start: int, end: int) -> tuple[int, int]:
    while start > 0 and _in_word(text, start - 1) and _in_word(text, start):
        start -= 1
    while end < len(text) and _in_word(text, end) and _in_word(text, end - 1):
        end += 1
    return start, end


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start] in _TRIM:
        start += 1
    while end > start and text[end - 1] in _TRIM:
        end -= 1
    return start, end


def decode_spans(
    text: str,
    offsets: Sequence[tuple[int, int]],
    probs: np.ndarray,
    labels: Sequence[str],
    span_thresholds: Mapping[str, float],
    *,
    source: str,
) -> list[Span]:
    """Spans for every label that has a span threshold (others are never emitted)."""
    spans: list[Span] = []
    for column, label in enumerate(labels):
        threshold = span_thresholds.get(label)
        if threshold is None or not len(offsets):
            continue
        column_probs = probs[:, column]
        # runs of consecutive tokens at or above the threshold: [first, last) index pairs
        edges = np.flatnonzero(np.diff(np.concatenate(([0], (column_probs >= threshold).astype(np.int8), [0]))))
        for first, last in zip(edges[::2], edges[1::2]):
            start, end = _widen_to_words(text, offsets[first][0], offsets[last - 1][1])
            start, end = _trim(text, start, end)
            if end > start:
                score = float(column_probs[first:last].mean())
                spans.append(Span(start, end, label, round(score, 4), source))
    spans.sort(key=lambda s: (s.start, s.end, s.label))
    return spans


def sentence_labels(
    sentences: Sequence[Sentence],
    probs: np.ndarray,
    labels: Sequence[str],
    sentence_thresholds: Mapping[str, float],
    spans: Sequence[Span],
    *,
    all_scores: bool = False,
    enabled: Sequence[str] | None = None,
) -> list[Sentence]:
    """Sentences with the labels the model asserts (score ≥ threshold, or a span of the label inside).
    With ``all_scores``, ``Sentence.scores`` holds every enabled label's score as well."""
    enabled_set = set(enabled if enabled is not None else sentence_thresholds)
    result = []
    for row, sentence in enumerate(sentences):
        asserted: dict[str, float] = {}
        every: dict[str, float] = {}
        for column, label in enumerate(labels):
            if label not in enabled_set:
                continue
            score = round(float(probs[row, column]), 4)
            every[label] = score
            threshold = sentence_thresholds.get(label)
            if threshold is not None and score >= threshold:
                asserted[label] = score
        for span in spans:
            if span.start < sentence.end and span.end > sentence.start and span.score is not None:
                asserted[span.label] = round(max(asserted.get(span.label, 0.0), span.score), 4)
        result.append(Sentence(sentence.start, sentence.end, asserted, every if all_scores else {}))
    return result


def attach_actors(spans: Sequence[Span], actors: Sequence[Span], sentences: Sequence[Sentence],
                  blame_label: str = "blame_attribution") -> list[Span]:
    """Name the blamed actor of each blame span: the best-scoring actor span inside it, else the best one in
    the sentences the blame span touches. The actor goes into ``attributes["actor"]`` as a character range;
    a blame span with no actor candidate is left as it is (the text may not name the actor)."""
    result = []
    for span in spans:
        if span.label != blame_label or not actors:
            result.append(span)
            continue
        inside = [a for a in actors if a.start < span.end and span.start < a.end]
        if not inside:
            touched = [s for s in sentences if s.start < span.end and span.start < s.end]
            inside = [a for a in actors if any(s.start <= a.start and a.end <= s.end for s in touched)]
        if not inside:
            result.append(span)
            continue
        best = max(inside, key=lambda a: (a.score or 0.0, -(a.end - a.start)))
        actor = {"start": best.start, "end": best.end, "score": best.score}
        result.append(Span(span.start, span.end, span.label, span.score, span.source,
                           {**span.attributes, "actor": actor}))
    return result
