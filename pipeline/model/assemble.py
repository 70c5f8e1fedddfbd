"""Model outputs of a document's pieces → the annotated document (thresholds, spans, sentence labels).

Plain numpy and Python, no torch: worker processes run it (``pipeline.engines.local``). A long document is
decoded piece by piece (``pipeline.model.pieces``), so neither its token scores nor its candidate spans are
ever held whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from pipeline.document import Document, Span
from pipeline.model.decode import attach_actors, decode_spans, merge_token_scores, sentence_labels
from pipeline.model.pieces import Piece

# per window: token probabilities [T, C] and sentence probabilities [S, C], as predict_windows returns them
WindowOutputs = Sequence[tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Decoder:
    """What turns scores into annotations: the output columns, the tuned thresholds and the options."""

    targets: list[str]
    enabled: list[str]
    span_thresholds: dict[str, float]
    sentence_thresholds: dict[str, float]
    actor_threshold: float | None
    actor_target: str
    source: str
    all_scores: bool = False
    clean: bool = True

    def piece_scores(self, piece: Piece, outputs: WindowOutputs):
        """Token offsets, token probabilities ``[T, C]`` and the probabilities ``[stop - first, C]`` of the
        piece's sentences."""
        width = len(self.targets)
        offsets, token_probs = merge_token_scores([(w.offsets, r[0]) for w, r in zip(piece.windows, outputs)])
        if not offsets:
            token_probs = np.zeros((0, width), dtype=np.float32)
        sentence_probs = np.zeros((piece.stop - piece.first, width), dtype=np.float32)
        for window, (_, probs) in zip(piece.windows, outputs):
            for local, sentence_index in enumerate(window.sentences):
                row = sentence_index - piece.first
                sentence_probs[row] = np.maximum(sentence_probs[row], probs[local])
        return offsets, token_probs, sentence_probs

    def decode(self, piece: Piece, outputs: WindowOutputs):
        """The piece's labelled sentences and spans."""
        document = piece.document
        offsets, token_probs, sentence_probs = self.piece_scores(piece, outputs)
        sentences = document.sentences[piece.first : piece.stop]
        bounds = [(s.start, s.end) for s in sentences]
        spans = decode_spans(document.text, offsets, token_probs, self.targets, self.span_thresholds,
                             source=self.source, sentences=bounds, clean=self.clean)
        if self.actor_threshold is not None:
            actors = decode_spans(document.text, offsets, token_probs, self.targets,
                                  {self.actor_target: self.actor_threshold}, source=self.source, sentences=bounds,
                                  clean=self.clean)
            spans = attach_actors(spans, actors, sentences)
        labelled = sentence_labels(sentences, sentence_probs, self.targets, self.sentence_thresholds, spans,
                                   all_scores=self.all_scores, enabled=self.enabled)
        return labelled, spans


@dataclass
class Assembly:
    """One document's decoded pieces, gathered until its last one arrives."""

    decoder: Decoder
    document: Document
    sentences: list = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)

    def add(self, piece: Piece, outputs: WindowOutputs) -> Document | None:
        """Decode ``piece``; after the document's last piece, the annotated document (else None)."""
        sentences, spans = self.decoder.decode(piece, outputs)
        self.sentences.extend(sentences)
        self.spans.extend(spans)
        if not piece.last:
            return None
        kept = tuple(s for s in self.document.spans if s.source != self.decoder.source)
        return self.document.with_sentences(self.sentences).with_spans(kept + tuple(self.spans))
