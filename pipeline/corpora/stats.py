"""Corpus statistics: documents, sentences, gold spans per project label, share of sentences with a device.

A sentence "has a device" when a gold span overlaps it (by at least one character) whose label is a project
label, or which is a merged source label whose candidates are project labels (PTC's
``Whataboutism,Straw_Men,Red_Herring``: certainly a technique, only not which one). Spans whose source label
maps to no project label (a protagonist mention, say) are counted per source label, not as devices.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pipeline.document import Document, Sentence, Span
from pipeline.taxonomy import Taxonomy


@dataclass(frozen=True)
class CorpusStats:
    corpus: str
    documents: int
    sentences: int
    sentences_with_device: int
    spans: int
    spans_per_label: dict[str, int]  # every taxonomy id, in taxonomy order (0 when absent)
    ambiguous_spans: dict[str, int] = field(default_factory=dict)  # merged source label -> spans
    unmapped_spans: dict[str, int] = field(default_factory=dict)  # source label mapped to nothing -> spans
    problems: int = 0

    @property
    def device_sentence_share(self) -> float:
        return self.sentences_with_device / self.sentences if self.sentences else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "corpus": self.corpus,
            "documents": self.documents,
            "sentences": self.sentences,
            "sentences_with_device": self.sentences_with_device,
            "device_sentence_share": round(self.device_sentence_share, 4),
            "spans": self.spans,
            "spans_per_label": dict(self.spans_per_label),
            "ambiguous_spans": dict(self.ambiguous_spans),
            "unmapped_spans": dict(self.unmapped_spans),
            "problems": self.problems,
        }


def corpus_stats(
    documents: Iterable[Document],
    taxonomy: Taxonomy,
    *,
    corpus: str,
    segmenter: Callable[[Document], Document],
) -> CorpusStats:
    """Count ``documents`` (segmented with ``segmenter`` unless they already have sentences)."""
    n_documents = n_sentences = n_device_sentences = n_spans = 0
    per_label: Counter[str] = Counter()
    ambiguous: Counter[str] = Counter()
    unmapped: Counter[str] = Counter()
    for document in documents:
        if not document.sentences:
            document = segmenter(document)
        n_documents += 1
        n_sentences += len(document.sentences)
        devices = []
        for span in document.spans_from("gold"):
            n_spans += 1
            source_label = str(span.attributes.get("source_label", "(none)"))
            if span.label in taxonomy:
                per_label[span.label] += 1
                devices.append(span)
            elif span.label is None and any(c in taxonomy for c in span.attributes.get("candidates", ())):
                ambiguous[source_label] += 1
                devices.append(span)
            else:
                unmapped[source_label if span.label is None else f"{span.label} (not in taxonomy)"] += 1
        n_device_sentences += count_sentences_hit(document.sentences, devices)
    return CorpusStats(
        corpus=corpus,
        documents=n_documents,
        sentences=n_sentences,
        sentences_with_device=n_device_sentences,
        spans=n_spans,
        spans_per_label={label_id: per_label[label_id] for label_id in taxonomy.ids},
        ambiguous_spans=dict(ambiguous.most_common()),
        unmapped_spans=dict(unmapped.most_common()),
    )


def count_sentences_hit(sentences: tuple[Sentence, ...], spans: Iterable[Span]) -> int:
    """How many of ``sentences`` (sorted, non-overlapping) overlap at least one of ``spans``."""
    ends = [sentence.end for sentence in sentences]
    hit: set[int] = set()
    for span in spans:
        index = bisect.bisect_right(ends, span.start)  # the first sentence ending after the span starts
        while index < len(sentences) and sentences[index].start < span.end:
            hit.add(index)
            index += 1
    return len(hit)


def format_stats(stats: CorpusStats, taxonomy: Taxonomy) -> str:
    """A readable table: totals, then spans per project label, then ambiguous and unmapped source labels."""
    share = f"{stats.sentences_with_device:,} ({stats.device_sentence_share:.1%})"
    width = max([len("sentences with a device"), *(len(label.id) for label in taxonomy.labels)])
    lines = [f"corpus {stats.corpus}"]
    for name, value in (
        ("documents", f"{stats.documents:,}"),
        ("sentences", f"{stats.sentences:,}"),
        ("sentences with a device", share),
        ("gold spans", f"{stats.spans:,}"),
    ):
        lines.append(f"  {name:<{width}}  {value}")
    lines.append("")
    lines.append(f"  {'label':<{width}}  {'spans':>8}  group")
    for label in taxonomy.labels:
        lines.append(f"  {label.id:<{width}}  {stats.spans_per_label.get(label.id, 0):>8,}  {label.group}")
    for title, counts in (
        ("merged source labels (one of several ids; no single label)", stats.ambiguous_spans),
        ("source labels mapped to no project label", stats.unmapped_spans),
    ):
        if counts:
            lines.append("")
            lines.append(f"  {title}:")
            lines += [f"    {source_label}: {count:,}" for source_label, count in counts.items()]
    if stats.problems:
        lines.append("")
        lines.append(f"  {stats.problems} problem(s) reported on standard error")
    return "\n".join(lines)
