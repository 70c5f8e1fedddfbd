"""Per-label decision thresholds, tuned on validation data (never on training data).

Sentence thresholds maximise the label's sentence-level F1; span thresholds maximise its token-level F1 (a
cheap, monotone proxy of the character-overlap span F1). A label is switched off, with the reason recorded,
when it had too few training examples to learn or when no threshold gives it any true positive on
validation: the tool never emits scores it cannot stand behind.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

GRID = np.round(np.arange(0.05, 0.951, 0.025), 3)


def f1_at(probs: np.ndarray, targets: np.ndarray, threshold: float) -> float:
    """F1 of ``probs >= threshold`` against 0/1 ``targets``."""
    predicted = probs >= threshold
    true_positives = float((predicted & (targets == 1)).sum())
    return 2 * true_positives / float(predicted.sum() + (targets == 1).sum()) if true_positives else 0.0


def best_threshold(probs: np.ndarray, targets: np.ndarray) -> tuple[float, float]:
    """(threshold, F1) maximising F1 of ``probs >= threshold`` against 0/1 ``targets``."""
    best = (0.5, 0.0)
    if targets.sum() == 0 or len(probs) == 0:
        return best
    for threshold in GRID:
        f1 = f1_at(probs, targets, threshold)
        if f1 > best[1] + 1e-9:
            best = (float(threshold), f1)
    return best


def tune_thresholds(
    labels: Sequence[str],
    sentence_probs: np.ndarray,
    sentence_targets: np.ndarray,
    sentence_mask: np.ndarray,
    token_probs: np.ndarray,
    token_targets: np.ndarray,
    token_mask: np.ndarray,
    *,
    train_support: dict[str, int],
    min_examples: int,
    min_validation_positives: int = 3,
    min_f1: float = 0.0,
) -> tuple[dict[str, dict[str, float]], dict[str, str], dict[str, dict[str, float]]]:
    """Return (thresholds, disabled reasons, validation F1 at the chosen thresholds) per label."""
    thresholds: dict[str, dict[str, float]] = {}
    disabled: dict[str, str] = {}
    quality: dict[str, dict[str, float]] = {}
    for column, label in enumerate(labels):
        if train_support.get(label, 0) < min_examples:
            disabled[label] = f"{train_support.get(label, 0)} positive training sentences (< {min_examples})"
            continue
        s_mask = sentence_mask[:, column] > 0
        t_mask = token_mask[:, column] > 0
        s_targets = sentence_targets[s_mask, column]
        if s_targets.sum() < min_validation_positives:
            disabled[label] = f"{int(s_targets.sum())} positive validation sentences: thresholds cannot be tuned"
            continue
        s_threshold, s_f1 = best_threshold(sentence_probs[s_mask, column], s_targets)
        t_threshold, t_f1 = best_threshold(token_probs[t_mask, column], token_targets[t_mask, column])
        quality[label] = {"sentence_f1": round(s_f1, 4), "token_f1": round(t_f1, 4)}
        thresholds[label] = {"sentence": s_threshold, "span": t_threshold}
    quality_floor(thresholds, disabled, quality, min_f1)
    return thresholds, disabled, quality


def quality_floor(thresholds: dict[str, dict[str, float]], disabled: dict[str, str],
                  quality: dict[str, dict[str, float]], min_f1: float) -> None:
    """Silence every head whose best validation F1 is zero or below ``min_f1`` (its scores would mean nothing);
    a label with both heads silenced is disabled, with the reason."""
    for label in list(thresholds):
        scores = quality.get(label, {})
        for head, keys in (("sentence", ("sentence_f1",)), ("span", ("span_f1", "token_f1"))):
            value = next((scores[k] for k in keys if k in scores), 0.0)
            if head in thresholds[label] and (value <= 0.0 or value < min_f1):
                del thresholds[label][head]
        if not thresholds[label]:
            del thresholds[label]
            best = max([v for k, v in scores.items() if k.endswith("_f1")], default=0.0)
            disabled[label] = (f"not learned: best validation F1 {best:.3f} (< {min_f1})" if best > 0
                               else "not learned: no threshold gives a true positive on validation")
    return thresholds, disabled, quality
