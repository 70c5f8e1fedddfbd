"""Token scores → character spans, and sentence scores → sentence labels.

For each label, consecutive tokens whose probability reaches the label's span threshold form a span; the
span is widened to whole words (a word-piece run never cuts a word), trimmed of surrounding whitespace and
punctuation, and scored with the mean probability of its tokens. Labels of different spans overlap freely.
Invariants of every decoded span (what an annotator would refuse otherwise): it never crosses a sentence
boundary (a run is cut where its tokens change sentence), it holds at least one word that is not a stop word
(``the``, ``to``, ``is`` alone are dropped), and no two spans share label and range.
A sentence's labels always include the labels of the spans inside it (scored with the larger of the
sentence head's and the span's score), so sentence and span outputs never contradict each other.
"""

from __future__ import annotations

import re
from bisect import bisect_right
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


# English function words: a span made only of these (and punctuation) is never a device or a technique
STOP_WORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below between both but
by can could did do does doing down during each few for from further had has have having he her here hers herself
him himself his how i if in into is it its itself just me more most my myself no nor not now of off on once only or
other our ours ourselves out over own same she should so some such than that the their theirs them themselves then
there these they this those through to too under until up very was we were what when where which while who whom why
will with would you your yours yourself yourselves it's that's there's he's she's they're we're i'm don't doesn't
didn't isn't wasn't aren't weren't won't can't also yet via per upon
""".split())
_WORD = re.compile(r"\w+(?:['’]\w+)*")


def is_content(text: str) -> bool:
    """Does the text hold a word that is not a stop word?"""
    return any(word.lower().replace("’", "'") not in STOP_WORDS for word in _WORD.findall(text))


def _sentence_of(offsets: Sequence[tuple[int, int]], boundaries: Sequence[tuple[int, int]] | None) -> np.ndarray:
    """Per token, the index of the sentence holding its start (-1: none; no boundaries: all 0)."""
    if not boundaries:
        return np.zeros(len(offsets), dtype=np.int64)
    starts = np.asarray([start for start, _ in boundaries])
    ends = np.asarray([end for _, end in boundaries])
    token_starts = np.asarray([start for start, _ in offsets])
    index = np.searchsorted(starts, token_starts, side="right") - 1
    inside = (index >= 0) & (token_starts < ends[np.maximum(index, 0)])
    return np.where(inside, index, -1)


def decode_spans(
    text: str,
    offsets: Sequence[tuple[int, int]],
    probs: np.ndarray,
    labels: Sequence[str],
    span_thresholds: Mapping[str, float],
    *,
    source: str,
    sentences: Sequence[tuple[int, int]] | None = None,
    clean: bool = True,
) -> list[Span]:
    """Spans for every label that has a span threshold (others are never emitted). ``sentences``: the
    document's sentence ranges (sorted); a span never crosses one of their boundaries. ``clean=False`` keeps
    the raw runs (stop-word spans and duplicates included), only to measure what the clean-up changes."""
    best: dict[tuple[int, int, str], Span] = {}
    raw: list[Span] = []
    if not clean:
        sentences = None
    owner = _sentence_of(offsets, sentences) if len(offsets) else np.zeros(0, dtype=np.int64)
    # a token starts a new run where its sentence differs from the previous token's
    breaks = np.concatenate(([False], owner[1:] != owner[:-1])) if len(offsets) else np.zeros(0, dtype=bool)
    for column, label in enumerate(labels):
        threshold = span_thresholds.get(label)
        if threshold is None or not len(offsets):
            continue
        column_probs = probs[:, column]
        above = column_probs >= threshold
        # runs of consecutive tokens at or above the threshold, cut at sentence changes: [first, last) pairs
        run_starts = np.flatnonzero(above & (breaks | ~np.concatenate(([False], above[:-1]))))
        run_ends = np.flatnonzero(above & np.concatenate((~above[1:] | breaks[1:], [True]))) + 1
        for first, last in zip(run_starts, run_ends):
            start, end = _widen_to_words(text, offsets[first][0], offsets[last - 1][1])
            if sentences and owner[first] >= 0:
                low, high = sentences[owner[first]]
                start, end = max(start, low), min(end, high)
            start, end = _trim(text, start, end)
            if end <= start:
                continue
            score = round(float(column_probs[first:last].mean()), 4)
            if not clean:
                raw.append(Span(start, end, label, score, source))
                continue
            if not is_content(text[start:end]):
                continue
            key = (start, end, label)
            if key not in best or score > (best[key].score or 0.0):
                best[key] = Span(start, end, label, score, source)
    return sorted(raw if not clean else best.values(), key=lambda s: (s.start, s.end, s.label))


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
    inside = _spans_by_sentence(sentences, [s for s in spans if s.score is not None])
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
        for span in inside[row]:
            asserted[span.label] = round(max(asserted.get(span.label, 0.0), span.score), 4)
        result.append(Sentence(sentence.start, sentence.end, asserted, every if all_scores else {}))
    return result


def _spans_by_sentence(sentences: Sequence[Sentence], spans: Sequence[Span]) -> list[list[Span]]:
    """Per sentence, the spans that overlap it, in the order of ``spans``. Sorted sentences that do not overlap
    (what the segmenter makes) take one binary search per span, not a pass over every span per sentence (which
    made a long document quadratic)."""
    starts = [s.start for s in sentences]
    ends = [s.end for s in sentences]
    ordered = all(ends[i] <= starts[i + 1] and starts[i] <= ends[i] for i in range(len(sentences) - 1))
    if not ordered:
        return [[p for p in spans if p.start < s.end and p.end > s.start] for s in sentences]
    result: list[list[Span]] = [[] for _ in sentences]
    for span in spans:
        row = bisect_right(ends, span.start)  # the first sentence ending after the span starts
        while row < len(sentences) and starts[row] < span.end:
            result[row].append(span)
            row += 1
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
