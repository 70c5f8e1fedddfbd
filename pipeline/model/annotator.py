"""``Annotator``: the model applied to documents. Returns new documents; never mutates its inputs.

Documents are read in groups; the windows of a whole group are sorted by length for batching (the single
biggest CPU speed-up for variable-length text), and the results are put back in document order. A long
document is read and decoded in pieces of whole sentences (``pipeline.model.pieces``): its time grows with its
length and its memory stays bounded. The stages (pieces, forward, assembly) are methods of their own so that an
engine (``pipeline.engines``) can run the CPU ones in other processes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from pipeline.document import Document
from pipeline.model.assemble import Assembly, Decoder
from pipeline.model.forward import predict_windows
from pipeline.model.pieces import Piece, PieceCutter, prepare_document
from pipeline.model.registry import current_model_dir
from pipeline.model.store import ModelMeta, load_model_dir
from pipeline.training_data import ACTOR_TARGET, BLAME_LABEL

FIRST_GROUP_WINDOWS = 32


class Annotator:
    def __init__(self, model, tokenizer, meta: ModelMeta, *, precision: str = "fp32", batch_size: int = 8,
                 group_windows: int = 512, all_scores: bool = False, clean_spans: bool = True):
        self.model = model
        self.tokenizer = tokenizer
        self.meta = meta
        self.precision = precision
        self.batch_size = batch_size
        self.group_windows = group_windows
        self.all_scores = all_scores
        self.clean_spans = clean_spans  # False: raw decoding, only to measure the clean-up (pipeline.model.decode)
        self.source = f"model:{meta.version}"

    @classmethod
    def load(cls, model_dir: str | Path | None = None, *, device: str = "cpu", **options) -> Annotator:
        """The model in ``model_dir`` (default: the current one) on a torch ``device`` ("cpu", "cuda", ...)."""
        model, tokenizer, meta = load_model_dir(Path(model_dir) if model_dir else current_model_dir(),
                                                cpu_inference=device == "cpu")
        return cls(model.to(device), tokenizer, meta, **options)

    @property
    def model_version(self) -> str:
        return self.meta.version

    @property
    def labels(self) -> list[str]:
        """The labels this model emits (labels it could not learn are left out)."""
        return self.meta.enabled_labels

    @property
    def decoder(self) -> Decoder:
        """Scores → annotations, as this annotator is set (plain data: worker processes receive it)."""
        meta = self.meta
        enabled = set(meta.enabled_labels)
        actor = meta.thresholds.get(ACTOR_TARGET, {}) if ACTOR_TARGET in meta.auxiliary else {}
        return Decoder(
            targets=list(meta.targets),
            enabled=list(meta.enabled_labels),
            span_thresholds={k: v["span"] for k, v in meta.thresholds.items() if k in enabled and "span" in v},
            sentence_thresholds={k: v["sentence"] for k, v in meta.thresholds.items()
                                 if k in enabled and "sentence" in v},
            actor_threshold=actor.get("span") if BLAME_LABEL in enabled else None,
            actor_target=ACTOR_TARGET,
            source=self.source,
            all_scores=self.all_scores,
            clean=self.clean_spans,
        )

    def annotate(self, text_or_document: str | Document) -> Document:
        return next(self.annotate_many([text_or_document]))

    def annotate_many(self, items: Iterable[str | Document]) -> Iterator[Document]:
        decoder = self.decoder
        assembly: Assembly | None = None
        for piece, outputs in self._scored_pieces(items):
            if piece.index == 0:
                assembly = Assembly(decoder, piece.document)
            document = assembly.add(piece, outputs)
            if document is not None:
                yield document

    def raw_scores(self, items: Iterable[str | Document]) -> Iterator[tuple[Document, list, np.ndarray, np.ndarray]]:
        """Per document (segmented if it had no sentences): token offsets, token probabilities ``[T, C]`` and
        sentence probabilities ``[S, C]`` over all output columns (labels, then auxiliary targets), before any
        threshold: for calibrating thresholds under the same conditions as annotation."""
        decoder = self.decoder
        parts: list[tuple[list, np.ndarray, np.ndarray]] = []
        for piece, outputs in self._scored_pieces(items):
            parts.append(decoder.piece_scores(piece, outputs))
            if piece.last:
                offsets = [o for part in parts for o in part[0]]
                yield (piece.document, offsets, np.concatenate([part[1] for part in parts]),
                       np.concatenate([part[2] for part in parts]))
                parts = []

    def _scored_pieces(self, items: Iterable[str | Document]) -> Iterator[tuple[Piece, list]]:
        return self.forward_pieces(self.pieces(prepare_document(item) for item in items))

    @property
    def cutter(self) -> PieceCutter:
        """How this annotator cuts documents into pieces of whole sentences (``pipeline.model.pieces``). Raw
        decoding (``clean_spans=False``) may cross sentences: a document is then one piece."""
        return PieceCutter(self.tokenizer, self.meta.max_tokens, self.meta.stride,
                           self.group_windows if self.clean_spans else None)

    def pieces(self, documents: Iterable[Document]) -> Iterator[Piece]:
        """The windows of segmented documents, in pieces."""
        cutter = self.cutter
        for document in documents:
            yield from cutter(document)

    def forward_pieces(self, pieces: Iterable[Piece]) -> Iterator[tuple[Piece, list]]:
        """Each piece with its windows' outputs. Pieces are gathered into groups of about ``group_windows``
        windows, sorted by length within a group for batching (the single biggest CPU speed-up)."""
        group: list[Piece] = []
        pending = 0
        limits = self.group_limits()
        limit = next(limits)
        for piece in pieces:
            group.append(piece)
            pending += len(piece.windows)
            if pending >= limit:
                yield from zip(group, self.forward_group([p.windows for p in group]))
                group, pending, limit = [], 0, next(limits)
        if group:
            yield from zip(group, self.forward_group([p.windows for p in group]))

    def group_limits(self) -> Iterator[int]:
        """The window count at which each successive group is scored: small at first, doubling up to
        ``group_windows``, so the first documents are written (and kept by an interrupted run) after seconds
        rather than after a whole group of about 60 articles."""
        limit = min(FIRST_GROUP_WINDOWS, self.group_windows)
        while True:
            yield limit
            limit = min(2 * limit, self.group_windows)

    def forward_group(self, group: list[list]) -> list[list]:
        """The model's outputs for each list of windows of ``group`` (one forward over all of them)."""
        flat = [(w.input_ids, w.token_sentence) for windows in group for w in windows]
        return self.forward_flat(flat, [len(windows) for windows in group])

    def forward_flat(self, flat: list, counts: list[int]) -> list[list]:
        """``flat``: ``(input_ids, token_sentence)`` per window; the outputs, split into runs of ``counts``."""
        outputs = predict_windows(
            self.model, flat, pad_id=self.tokenizer.pad_token_id or 0, batch_size=self.batch_size,
            precision=self.precision,
        )
        result, position = [], 0
        for count in counts:
            result.append(outputs[position : position + count])
            position += count
        return result
