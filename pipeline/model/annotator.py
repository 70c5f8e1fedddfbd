"""``Annotator``: the model applied to documents. Returns new documents; never mutates its inputs.

Documents are read in groups; the windows of a whole group are sorted by length for batching (the single
biggest CPU speed-up for variable-length text), and the results are put back in document order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from pipeline.document import Document, stable_id
from pipeline.model.decode import attach_actors, decode_spans, merge_token_scores, sentence_labels
from pipeline.model.forward import predict_windows
from pipeline.model.registry import current_model_dir
from pipeline.model.store import ModelMeta, load_model_dir
from pipeline.model.windows import document_windows
from pipeline.training_data import ACTOR_TARGET, BLAME_LABEL


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
        enabled = set(meta.enabled_labels)
        self._span_thresholds = {k: v["span"] for k, v in meta.thresholds.items() if k in enabled and "span" in v}
        self._sentence_thresholds = {
            k: v["sentence"] for k, v in meta.thresholds.items() if k in enabled and "sentence" in v
        }
        actor = meta.thresholds.get(ACTOR_TARGET, {}) if ACTOR_TARGET in meta.auxiliary else {}
        self._actor_threshold = actor.get("span") if BLAME_LABEL in enabled else None

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

    def annotate(self, text_or_document: str | Document) -> Document:
        return next(self.annotate_many([text_or_document]))

    def annotate_many(self, items: Iterable[str | Document]) -> Iterator[Document]:
        for group in self._groups(items):
            for document, scores in self._scores(group):
                yield self._assemble(document, *scores)

    def raw_scores(self, items: Iterable[str | Document]) -> Iterator[tuple[Document, list, np.ndarray, np.ndarray]]:
        """Per document (segmented if it had no sentences): token offsets, token probabilities ``[T, C]`` and
        sentence probabilities ``[S, C]`` over all output columns (labels, then auxiliary targets), before any
        threshold: for calibrating thresholds under the same conditions as annotation."""
        for group in self._groups(items):
            for document, scores in self._scores(group):
                yield (document, *scores)

    def _groups(self, items: Iterable[str | Document]) -> Iterator[list[tuple[Document, list]]]:
        """Documents with their windows, in groups of about ``group_windows`` windows (batched together)."""
        group: list[tuple[Document, list]] = []
        pending = 0
        for item in items:
            document = _as_document(item)
            if not document.sentences:
                from pipeline.segment import segment_document

                document = segment_document(document)
            windows = document_windows(
                self.tokenizer, document, max_tokens=self.meta.max_tokens, stride=self.meta.stride
            )
            group.append((document, windows))
            pending += len(windows)
            if pending >= self.group_windows:
                yield group
                group, pending = [], 0
        if group:
            yield group

    def _scores(self, group: list[tuple[Document, list]]):
        flat = [(w.input_ids, w.token_sentence) for _, windows in group for w in windows]
        outputs = predict_windows(
            self.model, flat, pad_id=self.tokenizer.pad_token_id or 0, batch_size=self.batch_size,
            precision=self.precision,
        )
        position = 0
        width = len(self.meta.targets)
        for document, windows in group:
            results = outputs[position : position + len(windows)]
            position += len(windows)
            offsets, token_probs = merge_token_scores([(w.offsets, r[0]) for w, r in zip(windows, results)])
            if not offsets:
                token_probs = np.zeros((0, width), dtype=np.float32)
            sentence_probs = np.zeros((len(document.sentences), width), dtype=np.float32)
            for window, (_, probs) in zip(windows, results):
                for local, sentence_index in enumerate(window.sentences):
                    sentence_probs[sentence_index] = np.maximum(sentence_probs[sentence_index], probs[local])
            yield document, (offsets, token_probs, sentence_probs)

    def _assemble(self, document: Document, offsets, token_probs, sentence_probs) -> Document:
        labels = self.meta.targets
        bounds = [(s.start, s.end) for s in document.sentences]
        spans = decode_spans(document.text, offsets, token_probs, labels, self._span_thresholds, source=self.source,
                             sentences=bounds, clean=self.clean_spans)
        if self._actor_threshold is not None:
            actors = decode_spans(document.text, offsets, token_probs, labels, {ACTOR_TARGET: self._actor_threshold},
                                  source=self.source, sentences=bounds, clean=self.clean_spans)
            spans = attach_actors(spans, actors, document.sentences)
        sentences = sentence_labels(
            document.sentences, sentence_probs, labels, self._sentence_thresholds, spans,
            all_scores=self.all_scores, enabled=self.labels,
        )
        kept = tuple(s for s in document.spans if s.source != self.source)
        return document.with_sentences(sentences).with_spans(kept + tuple(spans))


def _as_document(item: str | Document) -> Document:
    if isinstance(item, Document):
        return item
    if isinstance(item, str):
        return Document(stable_id(item), item)
    raise TypeError(f"annotate expects a str or a Document, got {type(item).__name__}")
