"""The model card: what a model was trained on, how well it does per label, and what it must not be used for."""

from __future__ import annotations

from pathlib import Path

from pipeline.model.config import TrainConfig
from pipeline.model.store import ModelMeta

INTENDED_USE = """\
Research support for media scholars: flag sentences and phrases in English news that may use framing devices
or persuasion techniques, so that humans can review them (for example in Label Studio). The scores are
suggestions for annotators and for corpus-level statistics, not verdicts about a text, an outlet or an author."""

LIMITATIONS = """\
- English news only; trained on a few hundred articles, mostly opinion pieces from 2017-2019 (SemEval-2023 /
  PTC) and, where configured, 2022-2024 news on the war in Ukraine and climate change (SemEval-2025).
- Small encoder (6 layers) reading windows of about a paragraph: techniques that need the whole article
  (repetition, whataboutism, straw man) are weak.
- Thresholds are tuned on the validation split, so the validation F1 figures below are optimistic; use
  `framing evaluate` on held-out data for an honest estimate.
- Labels listed as "not emitted" had too little data to learn; the model never outputs them.
- The design's own devices (blame attribution, legitimation, delegitimation) are learned from the team's small
  seed set, and their thresholds rest on its validation part (a few hundred sentences): expect their precision
  and recall to shift on other corpora, and check them with `framing evaluate --format standoff`."""


def render_model_card(meta: ModelMeta, config: TrainConfig | None = None) -> str:
    lines = [f"# Model card: {meta.version}", ""]
    lines += [f"- Base encoder: `{meta.base_model}`", f"- Created: {meta.created_at}"]
    if meta.parent_version:
        lines.append(f"- Parent version: `{meta.parent_version}`")
    lines += [f"- Window: {meta.max_tokens} tokens (stride {meta.stride} for longer sentences)", ""]
    lines += ["## Intended use", "", INTENDED_USE, "", "## Training data", ""]
    training = meta.metrics.get("training", {})
    for source, facts in meta.metrics.get("data", {}).items():
        if source == "corrections":
            lines.append(f"- corrections `{facts.get('file')}` (sha256 {str(facts.get('sha256'))[:16]}): "
                         f"{facts.get('train_documents')} documents trained, {facts.get('heldout_documents')} held "
                         f"out for the comparison; labels covered: {', '.join(facts.get('labels') or [])}")
            continue
        lines.append(f"- `{source}`: {facts.get('documents')} documents (content hash {facts.get('sha256_16')})")
    lines += [
        "",
        f"Split by document (seeded): {training.get('train_documents')} training and "
        f"{training.get('validation_documents')} validation documents (threshold tuning), "
        f"{training.get('test_documents', 0)} held-out test documents; {training.get('train_windows')} training "
        f"windows; {training.get('steps')} optimiser steps in {training.get('seconds')} s"
        f" on {training.get('device', 'cpu')}.",
    ]
    if config is not None:
        hp = config.hyperparameters
        lines.append(
            f"Hyper-parameters: {hp.epochs} epochs, batch {hp.batch_size} x {hp.grad_accumulation}, "
            f"learning rate {hp.learning_rate} (heads {hp.head_learning_rate}), embeddings "
            f"{'frozen' if hp.freeze_embeddings else 'trained'}, "
            + (f"attention dropout {hp.attention_dropout}, " if hp.attention_dropout is not None else "")
            + (f"the lowest {hp.encoder_layers} layers of the base encoder, " if hp.encoder_layers else "")
            + (f"the lowest {hp.frozen_layers} layers frozen, " if hp.frozen_layers else "")
            + (f"low-rank adapters (rank {hp.adapter_rank}, alpha {hp.adapter_alpha:g}) on the layers above, "
               if hp.adapter_rank else "")
            + (f"forward passes in {hp.autocast} autocast, " if hp.autocast else "")
            + f"seed {config.seed}"
            + (f", training seed {config.training_seed}." if config.training_seed is not None else ".")
        )
        if config.distil:
            taught = [s.path for s in config.data if s.supervision == "teacher"]
            lines.append(
                f"Distilled from the teacher `{Path(config.distil.teacher).name}`: each training target is "
                f"{1 - config.distil.weight:g} x gold + {config.distil.weight:g} x the teacher's score where gold "
                "exists, the teacher's score alone where it does not"
                + (f" (text-only sources: {', '.join(f'`{t}`' for t in taught)})." if taught else ".")
                + (f" The teacher teaches {', '.join(config.distil.labels)} only; every other label keeps its gold."
                   if config.distil.labels is not None else "")
                + (f" Texts of the held-out sets {', '.join(f'`{h}`' for h in config.distil.held_out)} were never "
                   "shown to the teacher." if config.distil.held_out else ""))
        if config.initial_weights:
            lines.append(f"Training started from the weights of `{Path(config.initial_weights).name}`.")
    warm = meta.metrics.get("warm_start")
    if warm:
        lines.append(
            f"Warm start from `{warm.get('origin') or warm.get('parent')}` (its weights, not the base encoder's): "
            f"{warm.get('epochs')} "
            f"passes over {warm.get('correction_windows')} correction windows and {warm.get('replay_windows')} "
            f"replay windows of the parent's training data ({warm.get('replay_documents')} documents), learning "
            f"rate {warm.get('learning_rate')}, {warm.get('steps')} steps; thresholds re-tuned on the parent's "
            "validation documents. The hyper-parameters above are the parent's recipe, kept for later runs.")
    calibrated = "validation_calibrated" in meta.metrics
    tuned = meta.metrics.get("validation_calibrated") or meta.metrics.get("validation_tuned", {})
    span_metric = "span_f1" if calibrated else "token_f1"
    lines += ["", "## Labels", "",
              "Thresholds and the validation F1 at them (" + ("tuned on whole validation documents, as "
              "`framing annotate` runs; span F1 with partial-overlap credit" if calibrated else
              "tuned on training-style windows; token-level F1") + "; optimistic, since tuned on the same data).", "",
              "| label | training sentences | status | sentence thr. | span thr. | "
              f"val. sentence F1 | val. {span_metric.replace('_f1', '')} F1 |", "|---|---|---|---|---|---|---|"]
    for label in meta.labels:
        thresholds = meta.thresholds.get(label, {})
        status = "emitted" if label in meta.enabled_labels else f"not emitted: {meta.disabled.get(label, '')}"
        quality = tuned.get(label, {})
        lines.append(
            f"| {label} | {meta.label_support.get(label, 0)} | {status} | {thresholds.get('sentence', '-')} | "
            f"{thresholds.get('span', '-')} | {quality.get('unit_f1', quality.get('sentence_f1', '-'))} | "
            f"{quality.get(span_metric, '-')} |"
        )
    if any("unit_f1" in quality for quality in tuned.values()):
        lines += ["", "For the labels annotated per sentence (the seed set's devices), the sentence threshold is "
                  "tuned for the label the output gives a sentence (score over the threshold, or a span of the "
                  "label inside it), and the sentence F1 above is that decision's F1."]
    for group in meta.metrics.get("validation_joint") or []:
        before, after = group["si_f1"]
        lines += ["", f"The span thresholds of the {group['labels']} technique labels were then re-tuned together "
                  f"for label-blind span identification on the {group['documents']} validation documents that "
                  f"annotate them: SI F1 {before} with each label's own best threshold, {after} tuned together "
                  "(the span thresholds above are the joint ones)."]
    if meta.metrics.get("averaged_from"):
        lines += ["", f"Weights: the mean of those of {', '.join(meta.metrics['averaged_from'])} (`framing models "
                  "average`); thresholds re-tuned on the shared validation documents (the training details above "
                  "are those of the first)."]
    elif meta.metrics.get("calibrated_from"):
        lines += ["", f"Weights of {meta.metrics['calibrated_from']}; thresholds re-tuned with "
                  "`framing models calibrate` (the training details above are those of that version)."]
    history = training.get("history") or []
    if history:
        lines += ["", "## Training curve (validation, fixed threshold 0.5)", "", "| epoch | loss | sentence micro-F1 | "
                  "token micro-F1 |", "|---|---|---|---|"]
        for row in history:
            lines.append(f"| {row['epoch']} | {row['loss']} | {row['validation_sentence_micro_f1@0.5']} | "
                         f"{row['validation_token_micro_f1@0.5']} |")
    recorded = meta.metrics.get("recorded_evaluations") or {}
    if recorded:
        lines += ["", "## Evaluation on held-out data", "",
                  "Documents never used for training or threshold tuning; each set was scored with the command "
                  "shown (`framing evaluate ... --record NAME`).", ""]
        for name, entry in recorded.items():
            lines += [f"### {name}", "", f"`{entry.get('command', '')}`", ""]
            metrics = entry.get("metrics", {})
            flat = {k: v for k, v in metrics.items() if isinstance(v, int | float) and not isinstance(v, bool)}
            if flat:
                lines += ["| metric | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in flat.items()]
            per_label = metrics.get("per_label") or {}
            if per_label:
                columns = [k for k, v in next(iter(per_label.values())).items() if isinstance(v, int | float | None)]
                lines += ["", "| label | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
                for label, row in per_label.items():
                    cells = [("-" if row.get(c) is None else f"{row[c]:.3f}" if isinstance(row[c], float)
                              else str(row[c])) for c in columns]
                    lines.append(f"| {label} | " + " | ".join(cells) + " |")
            lines.append("")
    comparison = meta.metrics.get("evaluations")
    if comparison:
        lines += ["", "## Comparison with the parent version", "", comparison["decision"], "",
                  "| held-out set | metric | parent | new |", "|---|---|---|---|"]
        for name, result in comparison.get("new", {}).items():
            parent = comparison.get("parent", {}).get(name, {})
            for key, value in result.items():
                if key not in ("documents", "per_label"):
                    where = f"{name} ({result.get('documents')} docs)"
                    lines.append(f"| {where} | {key} | {_number(parent.get(key))} | {_number(value)} |")
        changes = comparison.get("label_changes") or {}
        if changes:
            lines += ["", "Per label (sentence F1 and span F1, parent -> new; gold sentences):", "",
                      "| held-out set | label | sentence F1 | span F1 | gold sentences |", "|---|---|---|---|---|"]
            for name, rows in changes.items():
                for label, row in rows.items():
                    lines.append(f"| {name} | {label} | {row['parent_sentence_f1']:.3f} -> {row['sentence_f1']:.3f} "
                                 f"| {row['parent_span_f1']:.3f} -> {row['span_f1']:.3f} | {row['sentences']} |")
    lines += ["", "## Limitations", "", LIMITATIONS, ""]
    return "\n".join(lines)


def _number(value) -> str:
    return "-" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)


def write_model_card(model_dir: Path, meta: ModelMeta, config: TrainConfig | None = None) -> Path:
    path = Path(model_dir) / "model-card.md"
    path.write_text(render_model_card(meta, config), encoding="utf-8")
    return path
