"""Distillation: a teacher model's soft scores as training targets for a (faster) student.

The teacher annotates every training document, and also documents nobody labelled (a source with
``supervision: teacher``). Its scores reach the student through character offsets, the one currency between
stages, so teacher and student may use different tokenizers: a student token's target is the highest teacher
probability over the characters it covers, a sentence's target is the teacher's score of the same sentence
(both segment with the same segmenter). Where gold exists the target is ``(1 - weight) * gold + weight *
teacher``; where the gold says nothing (unlabelled documents, sentences outside annotated ranges, labels a
source does not annotate) the teacher alone supervises. Labels the teacher never emits (too little data, not
learned) and the auxiliary actor target keep their gold supervision only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.document import Document
from pipeline.errors import ConfigError


@dataclass(frozen=True)
class TeacherScores:
    """One document's teacher probabilities over the student's label columns: per character ``[N, C]`` (the
    highest score of any teacher token covering the character) and per sentence, keyed by its offsets.
    ``scored[c]`` is false for a column the teacher does not emit (its scores are 0 and never used)."""

    characters: np.ndarray
    sentences: dict[tuple[int, int], np.ndarray]
    scored: np.ndarray


def teacher_columns(teacher_meta, student_labels: Sequence[str], taught: Sequence[str] | None = None
                    ) -> list[int | None]:
    """For each student label, the teacher's output column, or None where the teacher does not emit it or it is
    not among the ``taught`` labels (None: every label the teacher emits)."""
    if taught is not None:
        unknown = sorted(set(taught) - set(student_labels))
        if unknown:
            raise ConfigError(f"distil.labels: {', '.join(unknown)} not among the student's labels")
    index = {label: i for i, label in enumerate(teacher_meta.targets)}
    emitted = set(teacher_meta.enabled_labels) & (set(taught) if taught is not None else set(student_labels))
    columns = [index[label] if label in emitted else None for label in student_labels]
    if not any(c is not None for c in columns):
        raise ConfigError(f"distil: the teacher {teacher_meta.version} emits none of the labels it should teach "
                          f"({', '.join(taught if taught is not None else student_labels)})")
    return columns


def score_documents(annotator, documents: Iterable[Document], student_labels: Sequence[str],
                    taught: Sequence[str] | None = None) -> dict[str, TeacherScores]:
    """The teacher's scores of ``documents`` (segmented), mapped to the student's label columns (only the
    ``taught`` ones, if given)."""
    columns = teacher_columns(annotator.meta, student_labels, taught)
    present = [i for i, c in enumerate(columns) if c is not None]
    taken = [columns[i] for i in present]
    scored = np.array([c is not None for c in columns])
    result = {}
    for document, offsets, token_probs, sentence_probs in annotator.raw_scores(documents):
        characters = np.zeros((len(document.text), len(columns)), dtype=np.float32)
        for (start, end), probs in zip(offsets, token_probs):
            if end > start:
                characters[start:end, present] = np.maximum(characters[start:end, present], probs[taken])
        sentences = {}
        for sentence, probs in zip(document.sentences, sentence_probs):
            row = np.zeros(len(columns), dtype=np.float32)
            row[present] = probs[taken]
            sentences[(sentence.start, sentence.end)] = row
        result[document.id] = TeacherScores(characters, sentences, scored)
    return result


def soften_row(row: dict, scores: TeacherScores, weight: float) -> dict:
    """A window row (``pipeline.training_data.iter_window_rows``) with the teacher blended into its targets."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"distil weight must be in [0, 1], got {weight}")
    columns = [c for c in range(scores.characters.shape[1]) if scores.scored[c]]
    sentence_labels, sentence_mask, token_mask = [], [], []
    for bounds, gold, supervised, token_supervised in zip(
            row["sentence_bounds"], row["sentence_labels"], row["sentence_supervised"], row["token_supervised"]):
        teacher = scores.sentences.get(tuple(bounds))
        if teacher is None:
            raise ConfigError(f"distil: document {row['doc_id']}: the teacher saw other sentences than the student "
                              f"(no teacher score for characters {bounds[0]}-{bounds[1]})")
        targets, mask, tokens = list(gold), list(supervised), list(token_supervised)
        for column in columns:
            targets[column] = _blend(gold[column], supervised[column], float(teacher[column]), weight)
            mask[column] = 1
            tokens[column] = 1
        sentence_labels.append(targets)
        sentence_mask.append(mask)
        token_mask.append(tokens)
    token_labels = []
    # a token's supervision comes from its sentence's token mask row (the collate step looks it up by owner)
    for (start, end), owner, gold in zip(row["offsets"], row["token_sentence"], row["token_labels"]):
        targets = list(gold)
        if owner >= 0 and end > start:
            teacher = scores.characters[start:end].max(axis=0)
            supervised = row["token_supervised"][owner]
            for column in columns:
                targets[column] = _blend(gold[column], supervised[column], float(teacher[column]), weight)
        token_labels.append(targets)
    return {**row, "sentence_labels": sentence_labels, "sentence_supervised": sentence_mask,
            "token_supervised": token_mask, "token_labels": token_labels}


def _blend(gold: float, supervised: float, teacher: float, weight: float) -> float:
    return (1.0 - weight) * gold + weight * teacher if supervised else teacher


def load_teacher(path: Path, device: str = "cpu", precision: str = "fp32"):
    from pipeline.model.annotator import Annotator
    from pipeline.model.precision import resolve_precision

    if not (path / "framing-model.json").is_file():
        raise ConfigError(f"distil.teacher: {path} is not a model directory (no framing-model.json)")
    return Annotator.load(path, device=device, precision=resolve_precision(precision, device).precision)
