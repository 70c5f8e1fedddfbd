"""The training loop, top to bottom: data → batches → steps (with checkpoints) → thresholds → model directory.

Deterministic with a seed: the batch order of each epoch comes from ``seed + epoch``, and a checkpoint holds
the weights, the optimiser state, the torch random state and the position in the data, so ``resume``
continues an interrupted run and reaches the same weights as an uninterrupted one. Checkpoints are
safetensors (tensors) plus JSON (everything else): nothing is unpickled.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from pipeline.errors import ConfigError
from pipeline.model.base import is_named_base, load_tokenizer, resolve_base_model
from pipeline.model.config import TrainConfig, saved_config_yaml
from pipeline.model.forward import autocast_context, collate_inputs, predict_windows
from pipeline.model.low_rank import add_adapters
from pipeline.model.store import (
    WEIGHTS_FILE,
    ModelMeta,
    build_model,
    freeze_embeddings,
    layer_numbers,
    save_weights,
    trainable_state,
    write_meta,
)
from pipeline.model.thresholds import best_threshold, tune_thresholds
from pipeline.progress import Counter

CHECKPOINT_DIR = "checkpoint"
FROZEN_CACHE_DIR = "frozen-cache"  # beside the checkpoint: the cached frozen-layer states (cache_frozen)


# -- batches ------------------------------------------------------------------------------------------------
def epoch_batches(lengths: Sequence[int], batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """Length-bucketed batches for one epoch: shuffle, sort by length within chunks of 50 batches (so a batch
    holds windows of similar length and little padding), then shuffle the batch order."""
    rng = random.Random(seed * 100_003 + epoch)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    chunk = batch_size * 50
    batches = []
    for begin in range(0, len(order), chunk):
        part = sorted(order[begin : begin + chunk], key=lambda i: lengths[i])
        batches.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    rng.shuffle(batches)
    return batches


def collate_training(
    rows: Sequence[dict], pad_id: int, num_labels: int, token_only_from: int | None = None
) -> dict[str, torch.Tensor]:
    """Pad a batch of window rows. Columns from ``token_only_from`` on are token-level targets only: their
    sentence loss is masked."""
    batch = collate_inputs([(r["input_ids"], r["token_sentence"]) for r in rows], pad_id)
    length = batch["input_ids"].shape[1]
    max_sentences = max(len(r["sentence_labels"]) for r in rows)
    token_targets = torch.zeros((len(rows), length, num_labels))
    token_mask = torch.zeros((len(rows), length, num_labels))
    sentence_targets = torch.zeros((len(rows), max_sentences, num_labels))
    sentence_mask = torch.zeros((len(rows), max_sentences, num_labels))
    for row, record in enumerate(rows):
        n_tokens = len(record["input_ids"])
        n_sentences = len(record["sentence_labels"])
        sentence_targets[row, :n_sentences] = torch.as_tensor(record["sentence_labels"], dtype=torch.float32)
        supervised = torch.as_tensor(record["sentence_supervised"], dtype=torch.float32)
        sentence_mask[row, :n_sentences] = supervised
        token_supervised = torch.as_tensor(record.get("token_supervised", record["sentence_supervised"]),
                                           dtype=torch.float32)
        token_targets[row, :n_tokens] = torch.as_tensor(record["token_labels"], dtype=torch.float32)
        owners = torch.as_tensor(record["token_sentence"], dtype=torch.long)
        real = owners >= 0
        token_mask[row, :n_tokens][real] = token_supervised[owners[real]]
    if token_only_from is not None:
        sentence_mask[..., token_only_from:] = 0
    batch.update(
        token_targets=token_targets, token_mask=token_mask,
        sentence_targets=sentence_targets, sentence_mask=sentence_mask,
    )
    return batch


def positive_weights(targets: np.ndarray, mask: np.ndarray, cap: float) -> torch.Tensor:
    """Per-label weight of the positive class: negatives/positives, capped (rare labels still get gradient)."""
    positives = (targets * mask).sum(0)
    negatives = ((1 - targets) * mask).sum(0)
    weights = np.where(positives > 0, negatives / np.maximum(positives, 1), 1.0)
    return torch.as_tensor(np.clip(weights, 1.0, cap), dtype=torch.float32)


def masked_bce(logits, targets, mask, pos_weight) -> torch.Tensor:
    losses = torch.nn.functional.binary_cross_entropy_with_logits(
        logits, targets, pos_weight=pos_weight, reduction="none"
    )
    return (losses * mask).sum() / mask.sum().clamp(min=1.0)


def learning_rate_factor(step: int, total: int, warmup: int) -> float:
    """Linear warm-up, then linear decay to zero."""
    if step < warmup:
        return (step + 1) / max(1, warmup)
    return max(0.0, (total - step) / max(1, total - warmup))


# -- checkpoints -----------------------------------------------------------------------------------------------
def save_checkpoint(directory: Path, model, optimizer, state: dict) -> None:
    tensors = {f"model/{k}": v.detach().clone().contiguous() for k, v in trainable_state(model).items()}
    names = {id(p): n for n, p in model.named_parameters()}
    optimizer_steps = {}
    for group in optimizer.param_groups:
        for parameter in group["params"]:
            slot = optimizer.state.get(parameter)
            if not slot:
                continue
            name = names[id(parameter)]
            tensors[f"adam/{name}/exp_avg"] = slot["exp_avg"].contiguous()
            tensors[f"adam/{name}/exp_avg_sq"] = slot["exp_avg_sq"].contiguous()
            optimizer_steps[name] = float(slot["step"])
    tensors = {name: tensor.cpu() for name, tensor in tensors.items()}
    tensors["rng/torch"] = torch.get_rng_state()
    if torch.cuda.is_available() and any(p.is_cuda for p in model.parameters()):
        tensors["rng/cuda"] = torch.cuda.get_rng_state()
    temporary = directory.with_name(directory.name + ".tmp")
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    save_file(tensors, str(temporary / "state.safetensors"))
    (temporary / "state.json").write_text(json.dumps({**state, "optimizer_steps": optimizer_steps}, indent=1))
    shutil.rmtree(directory, ignore_errors=True)
    temporary.rename(directory)


def save_progress(out_dir: Path, model, optimizer, state: dict) -> None:
    """The checkpoint, and the frozen-layer states computed since the last one (a resumed run reads them back)."""
    save_checkpoint(out_dir / CHECKPOINT_DIR, model, optimizer, state)
    if model.frozen_cache is not None:
        model.frozen_cache.save()


def load_checkpoint(directory: Path, model, optimizer) -> dict:
    tensors = load_file(str(directory / "state.safetensors"))
    state = json.loads((directory / "state.json").read_text())
    model.load_state_dict({k[len("model/"):]: v for k, v in tensors.items() if k.startswith("model/")}, strict=False)
    parameters = dict(model.named_parameters())
    for name, step in state.pop("optimizer_steps").items():
        device = parameters[name].device
        optimizer.state[parameters[name]] = {
            "step": torch.tensor(step),
            "exp_avg": tensors[f"adam/{name}/exp_avg"].to(device),
            "exp_avg_sq": tensors[f"adam/{name}/exp_avg_sq"].to(device),
        }
    torch.set_rng_state(tensors["rng/torch"])
    if "rng/cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["rng/cuda"])
    return state


def load_initial_weights(model, model_dir: Path) -> None:
    """Start from a trained model's weights (warm start): every trainable tensor must be in its weights file,
    with the same shape, and nothing else may be; except that the model to train may adapt more encoder layers
    than the stored one did (a lower ``frozen_layers``). A layer the stored model kept frozen has no tensor in its
    file; here it starts at the base weights (adapters at zero), which is what the stored model computed, so
    training starts from the stored model's function exactly."""
    path = model_dir / WEIGHTS_FILE
    if not path.is_file():
        raise ConfigError(f"cannot warm-start from {model_dir}: no {WEIGHTS_FILE}")
    stored = load_file(str(path))
    expected = trainable_state(model)
    kept_at_base = set(layer_numbers(expected)) - set(layer_numbers(stored))
    missing = sorted(name for name in set(expected) - set(stored) if kept_at_base.isdisjoint(layer_numbers([name])))
    unexpected = sorted(set(stored) - set(expected))
    wrong = sorted(name for name in set(expected) & set(stored) if stored[name].shape != expected[name].shape)
    if missing or unexpected or wrong:
        raise ConfigError(f"cannot warm-start from {path}: its weights do not fit the model to train "
                          f"(missing {missing[:3]}, unexpected {unexpected[:3]}, other shape {wrong[:3]})")
    model.load_state_dict({name: tensor.float() for name, tensor in stored.items()}, strict=False)


# -- validation ------------------------------------------------------------------------------------------------
def validation_arrays(model, rows: Sequence[dict], pad_id: int, num_labels: int, batch_size: int,
                      precision: str = "fp32") -> dict:
    """Flattened probabilities, targets and masks of all validation tokens and sentences."""
    outputs = predict_windows(model, [(r["input_ids"], r["token_sentence"]) for r in rows], pad_id=pad_id,
                              batch_size=batch_size, precision=precision)
    arrays: dict[str, list] = {k: [] for k in ("sp", "st", "sm", "tp", "tt", "tm")}
    for record, (token_probs, sentence_probs) in zip(rows, outputs):
        supervised = np.asarray(record["sentence_supervised"], dtype=np.float32).reshape(-1, num_labels)
        token_supervised = np.asarray(record.get("token_supervised", record["sentence_supervised"]),
                                      dtype=np.float32).reshape(-1, num_labels)
        owners = np.asarray(record["token_sentence"])
        real = owners >= 0
        arrays["sp"].append(sentence_probs[: len(supervised)])
        arrays["st"].append(np.asarray(record["sentence_labels"], dtype=np.float32).reshape(-1, num_labels))
        arrays["sm"].append(supervised)
        arrays["tp"].append(token_probs[real])
        arrays["tt"].append(np.asarray(record["token_labels"], dtype=np.float32)[real])
        arrays["tm"].append(token_supervised[owners[real]])
    return {k: np.concatenate(v) if v else np.zeros((0, num_labels)) for k, v in arrays.items()}


def micro_f1(probs: np.ndarray, targets: np.ndarray, mask: np.ndarray, threshold: float = 0.5) -> float:
    predicted = (probs >= threshold) & (mask > 0)
    gold = (targets > 0) & (mask > 0)
    tp = float((predicted & gold).sum())
    denominator = float(predicted.sum() + gold.sum())
    return 2 * tp / denominator if denominator else 0.0


# -- the run ---------------------------------------------------------------------------------------------------
def train(
    config: TrainConfig,
    out_dir: str | Path,
    *,
    resume: bool = False,
    progress: bool = True,
    prepared=None,
    stop_after_steps: int | None = None,
    parent_version: str | None = None,
    device: str = "cpu",
    initial_weights: str | Path | None = None,
    validate_each_epoch: bool = True,
    on_progress=None,
) -> Path:
    """Train a model and write its directory to ``out_dir``. ``prepared`` (from
    ``pipeline.model.sources.prepare``) skips data loading; ``stop_after_steps`` simulates an interruption;
    ``initial_weights`` (a model directory of the same shape) warm-starts from its weights instead of the base
    encoder's; ``on_progress(step, total_steps)`` is called after each optimiser step;
    ``device`` is a torch device ("cpu", "cuda", "cuda:1", "mps"). On the CPU a seeded run is reproducible to
    the bit; GPU kernels (scatter and index additions) may differ in the last bits from run to run."""
    from pipeline.model.sources import prepare

    out_dir = Path(out_dir)
    checkpoint_dir = out_dir / CHECKPOINT_DIR
    if prepared is None:
        from pipeline.model.sources import check_sources

        check_sources(config)  # before anything is written
    if not resume and (out_dir / "framing-model.json").exists():
        raise ConfigError(f"{out_dir} already holds a model; choose another --out or remove it")
    if resume and not checkpoint_dir.is_dir():
        raise ConfigError(f"nothing to resume: no checkpoint in {checkpoint_dir}")
    out_dir.mkdir(parents=True, exist_ok=True)
    hp = config.hyperparameters
    torch.manual_seed(config.run_seed)

    tokenizer = load_tokenizer(resolve_base_model(config.base_model, relative_to=Path(config.base_dir)))
    data = prepared or prepare(config, tokenizer, progress=progress)
    if parent_version:
        data.parent_version = parent_version
    labels = [*data.labels, *data.auxiliary]  # output columns: the labels, then auxiliary token targets
    model, tokenizer = build_model(config.base_model, len(labels), hp.dropout, relative_to=Path(config.base_dir),
                                   attention_dropout=hp.attention_dropout, encoder_layers=hp.encoder_layers)
    if hp.freeze_embeddings or hp.frozen_layers:
        freeze_embeddings(model, hp.frozen_layers)
    if hp.adapter_rank:
        add_adapters(model.encoder, hp.frozen_layers, hp.adapter_rank, hp.adapter_alpha)
    if initial_weights is None and config.initial_weights:
        initial_weights = config.resolve(config.initial_weights)
    if initial_weights is not None:
        load_initial_weights(model, Path(initial_weights))
    device = torch.device(device)
    model.to(device)
    if hp.cache_frozen:
        if not hp.frozen_layers:
            raise ConfigError("cache_frozen: true needs frozen_layers >= 1 (the layers whose output is cached)")
        # a cache_dir outlives the run (other runs on the same base and depth read it); the default one goes with it
        folder = config.resolve(hp.cache_dir) if hp.cache_dir else out_dir / FROZEN_CACHE_DIR
        model.cache_frozen_layers(hp.frozen_layers, hp.cache_dtype, folder=folder,
                                  base=str(resolve_base_model(config.base_model, relative_to=Path(config.base_dir))))
        if resume or hp.cache_dir:
            try:
                model.frozen_cache.load()
            except ValueError as error:
                raise ConfigError(str(error)) from None
        else:
            shutil.rmtree(folder, ignore_errors=True)  # an earlier, abandoned run's
    pad_id = tokenizer.pad_token_id or 0
    train_rows, validation_rows = data.train_rows, data.validation_rows
    if not train_rows:
        raise ConfigError("no training windows: check the data sources of the config")

    all_sentences = np.concatenate([np.asarray(r["sentence_labels"]).reshape(-1, len(labels)) for r in train_rows])
    all_masks = np.concatenate([np.asarray(r["sentence_supervised"]).reshape(-1, len(labels)) for r in train_rows])
    sentence_pos_weight = positive_weights(all_sentences, all_masks, hp.pos_weight_cap)
    token_stats = [
        (np.asarray(r["token_labels"]),
         np.asarray(r.get("token_supervised", r["sentence_supervised"]))[np.maximum(r["token_sentence"], 0)])
        for r in train_rows
    ]
    token_pos_weight = positive_weights(
        np.concatenate([t for t, _ in token_stats]), np.concatenate([m for _, m in token_stats]), hp.pos_weight_cap
    )
    del token_stats
    sentence_pos_weight, token_pos_weight = sentence_pos_weight.to(device), token_pos_weight.to(device)

    encoder_parameters = [p for n, p in model.named_parameters() if p.requires_grad and n.startswith("encoder.")]
    head_parameters = [p for n, p in model.named_parameters() if p.requires_grad and not n.startswith("encoder.")]
    optimizer = torch.optim.AdamW(
        [
            {"params": encoder_parameters, "lr": hp.learning_rate, "base_lr": hp.learning_rate},
            {"params": head_parameters, "lr": hp.head_learning_rate, "base_lr": hp.head_learning_rate},
        ],
        weight_decay=hp.weight_decay,
    )
    lengths = [len(r["input_ids"]) for r in train_rows]
    batches_per_epoch = math.ceil(len(train_rows) / hp.batch_size)
    total_batches = max(1, int(round(hp.epochs * batches_per_epoch)))
    total_steps = math.ceil(total_batches / hp.grad_accumulation)
    if hp.max_steps is not None:
        total_steps = min(total_steps, hp.max_steps)
        total_batches = min(total_batches, total_steps * hp.grad_accumulation)
    warmup = int(hp.warmup_fraction * total_steps)

    state = {"batch": 0, "step": 0, "history": [], "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
             "seconds": 0.0}
    if resume:
        state = load_checkpoint(checkpoint_dir, model, optimizer)
    log_path = out_dir / "train-log.jsonl"
    model.train()
    bar = Counter(total=total_batches, initial=state["batch"], desc="training", unit="batch", enabled=progress)
    began = time.monotonic() - state["seconds"]
    cached_epoch, order = -1, []
    running_loss = None
    while state["batch"] < total_batches:
        epoch, position = divmod(state["batch"], batches_per_epoch)
        if epoch != cached_epoch:
            order, cached_epoch = epoch_batches(lengths, hp.batch_size, config.run_seed, epoch), epoch
        batch = collate_training([train_rows[i] for i in order[position]], pad_id, len(labels), len(data.labels))
        batch = {name: tensor.to(device, non_blocking=True) for name, tensor in batch.items()}
        with autocast_context(device, hp.autocast):
            token_logits, sentence_logits = model(batch["input_ids"], batch["attention_mask"], batch["token_sentence"])
        token_logits, sentence_logits = token_logits.float(), sentence_logits.float()
        loss = masked_bce(token_logits, batch["token_targets"], batch["token_mask"], token_pos_weight)
        loss = loss + hp.sentence_loss_weight * masked_bce(
            sentence_logits, batch["sentence_targets"], batch["sentence_mask"], sentence_pos_weight
        )
        (loss / hp.grad_accumulation).backward()
        running_loss = loss.item() if running_loss is None else 0.95 * running_loss + 0.05 * loss.item()
        state["batch"] += 1
        bar.update(1)
        bar.set_postfix(loss=f"{running_loss:.4f}", epoch=epoch + 1)
        if state["batch"] % hp.grad_accumulation == 0 or state["batch"] == total_batches:
            factor = learning_rate_factor(state["step"], total_steps, warmup)
            for group in optimizer.param_groups:
                group["lr"] = group["base_lr"] * factor
            torch.nn.utils.clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]], 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            state["step"] += 1
            if on_progress is not None:
                on_progress(state["step"], total_steps)
            if state["step"] % hp.checkpoint_every == 0 or state["batch"] == total_batches:
                state["seconds"] = time.monotonic() - began
                save_progress(out_dir, model, optimizer, state)
        epoch_done = state["batch"] % batches_per_epoch == 0 or state["batch"] == total_batches
        if epoch_done and validation_rows and validate_each_epoch:
            arrays = validation_arrays(model, validation_rows, pad_id, len(labels), hp.batch_size * 2,
                                       precision=hp.autocast or "fp32")
            record = {
                "epoch": round(state["batch"] / batches_per_epoch, 3), "step": state["step"],
                "loss": round(running_loss, 5),
                "validation_sentence_micro_f1@0.5": round(micro_f1(arrays["sp"], arrays["st"], arrays["sm"]), 4),
                "validation_token_micro_f1@0.5": round(micro_f1(arrays["tp"], arrays["tt"], arrays["tm"]), 4),
                "elapsed_s": round(time.monotonic() - began, 1),
            }
            state["history"].append(record)
            with log_path.open("a", encoding="utf-8") as log:
                log.write(json.dumps(record) + "\n")
            bar.write(json.dumps(record))
            model.train()
        if stop_after_steps is not None and state["step"] >= stop_after_steps:
            state["seconds"] = time.monotonic() - began
            save_progress(out_dir, model, optimizer, state)
            bar.close()
            return out_dir
    bar.close()
    state["seconds"] = time.monotonic() - began
    model.frozen_cache = None  # its memory goes; thresholds are tuned on the plain forward pass
    if not hp.cache_dir:
        shutil.rmtree(out_dir / FROZEN_CACHE_DIR, ignore_errors=True)
    return finish(config, out_dir, model, tokenizer, data, state, device=str(device))


def finish(config: TrainConfig, out_dir: Path, model, tokenizer, data, state: dict, device: str = "cpu") -> Path:
    """Tune thresholds on validation, then write the self-describing model directory."""
    from pipeline.model.card import write_model_card
    from pipeline.model.version import new_version

    hp = config.hyperparameters
    labels = [*data.labels, *data.auxiliary]
    pad_id = tokenizer.pad_token_id or 0
    if data.validation_rows:
        arrays = validation_arrays(model, data.validation_rows, pad_id, len(labels), hp.batch_size * 2)
    else:
        empty = np.zeros((0, len(labels)))
        arrays = dict.fromkeys(("sp", "st", "sm", "tp", "tt", "tm"), empty)
    n = len(data.labels)
    thresholds, disabled, quality = tune_thresholds(
        data.labels, arrays["sp"][:, :n], arrays["st"][:, :n], arrays["sm"][:, :n], arrays["tp"][:, :n],
        arrays["tt"][:, :n], arrays["tm"][:, :n], train_support=data.train_support, min_examples=hp.min_label_examples,
        min_f1=hp.min_validation_f1,
    )
    for column, target in enumerate(data.auxiliary, start=n):
        mask = arrays["tm"][:, column] > 0
        threshold, f1 = best_threshold(arrays["tp"][mask, column], arrays["tt"][mask, column])
        if f1 > 0:
            thresholds[target] = {"span": threshold}
            quality[target] = {"token_f1": round(f1, 4)}
        else:
            disabled[target] = "no true positive on validation"
    digest = save_weights(model, out_dir)
    meta = ModelMeta(
        version=new_version(config.name, digest),
        base_model=_base_model_reference(config, out_dir),
        labels=list(data.labels),
        auxiliary=list(data.auxiliary),
        thresholds=thresholds,
        disabled=disabled,
        max_tokens=hp.max_tokens,
        stride=hp.stride,
        dropout=hp.dropout,
        frozen_layers=hp.frozen_layers,
        adapter_rank=hp.adapter_rank,
        adapter_alpha=hp.adapter_alpha,
        encoder_layers=hp.encoder_layers,
        parent_version=data.parent_version,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        label_support=data.train_support,
        validation_documents=sorted(data.validation_ids),
        test_documents=sorted(data.test_ids),
        metrics={
            "validation_tuned": quality,
            "training": {"steps": state["step"], "seconds": round(state["seconds"], 1),
                         "device": _device_name(device), "history": state["history"],
                         "train_windows": len(data.train_rows), "validation_windows": len(data.validation_rows),
                         "train_documents": len(data.train_ids), "validation_documents": len(data.validation_ids),
                         "test_documents": len(data.test_ids)},
            "data": data.snapshot,
        },
    )
    write_meta(out_dir, meta)
    (out_dir / "config.yaml").write_text(saved_config_yaml(config, out_dir), encoding="utf-8")
    if data.taxonomy_path is not None:
        shutil.copyfile(data.taxonomy_path, out_dir / "taxonomy.yaml")
    write_model_card(out_dir, meta, config)
    if data.validation_documents:
        # the thresholds above come from training-style windows; re-tune them as `framing annotate` runs
        from pipeline.model.calibrate import calibrate_model_dir

        calibrate_model_dir(out_dir, data.validation_documents, min_f1=hp.min_validation_f1,
                            device=device)
    shutil.rmtree(out_dir / CHECKPOINT_DIR, ignore_errors=True)
    return out_dir


def _device_name(device: str) -> str:
    """The hardware a run trained on, for the model card (timings mean little without it)."""
    if device.startswith("cuda") and torch.cuda.is_available():
        return f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    import platform

    return f"{device} ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def _base_model_reference(config: TrainConfig, out_dir: Path) -> str:
    """The base encoder as the model directory names it: the package name, or a path relative to the model
    directory (so a model and its local encoder can move together)."""
    import os

    if is_named_base(config.base_model):
        return config.base_model
    return os.path.relpath(config.resolve(config.base_model), out_dir.resolve())
