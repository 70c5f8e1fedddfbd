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


def best_threshold(probs: np.ndarray, targets: np.ndarray) -> tuple[float, float]:
    """(threshold, F1) maximising F1 of ``probs >= threshold`` against 0/1 ``targets``."""
    best = (0.5, 0.0)
    positives = targets.sum()
    if positives == 0 or len(probs) == 0:
        return best
    for threshold in GRID:
        predicted = probs >= threshold
        true_positives = float((predicted & (targets == 1)).sum())
        if true_positives == 0:
            continue
        precision = true_positives / predicted.sum()
        recall = true_positives / positives
        f1 = 2 * precision * recall / (precision + recall)
        if f1 > best[1] + 1e-9:
            best = (float(threshold), float(f1))
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
        if s_f1 == 0.0 and t_f1 == 0.0:
            disabled[label] = "not learned: no threshold gives a true positive on validation"
            continue
        # a head that found no true positive gets no threshold: that head stays silent for the label
        thresholds[label] = {}
        if s_f1 > 0:
            thresholds[label]["sentence"] = s_threshold
        if t_f1 > 0:
            thresholds[label]["span"] = t_threshold
        quality[label] = {"sentence_f1": round(s_f1, 4), "token_f1": round(t_f1, 4)}
    return thresholds, disabled, quality
