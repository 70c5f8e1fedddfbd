"""A CPU inference path for BERT encoders that needs neither transformers' model classes nor its tokenizers.

Why: `framing annotate` on a 2-core CPU spent 9 s starting up, most of it importing transformers (its model
classes pull in torch.distributed and torch._dynamo; AutoTokenizer alone takes 5 s), and about 70% of its run
time in the encoder's linear layers. For a BERT encoder with absolute positions and exact GELU (the default
all-MiniLM-L6-v2 and most BERT checkpoints) this module computes the same function from the same safetensors
weights (hidden states agree to ~1e-5, checked by the tests) with:

- the query, key and value projections fused into one matrix multiply;
- linear layers run by oneDNN with weights packed once at load time (about 1.25x faster matrix multiplies
  than torch's default CPU path on AVX2 machines), the intermediate GELU fused into its layer;
- the tokenizer read straight from ``tokenizer.json`` with the ``tokenizers`` library (what transformers'
  fast tokenizer wraps; ids and offsets are the same, checked by the tests).

Training, other architectures and non-CPU devices use transformers' classes (``pipeline.model.base``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from pipeline.model.base import checked_layer_count
from pipeline.model.offset_tokenizer import read_json

# the row count oneDNN packs weights for: a batch of 8 windows of 256 tokens (any other size still works)
_PACK_ROWS = 2048
# under bf16, batches are padded to a multiple of this many tokens: oneDNN builds (JIT-compiles) a kernel for each new
# input shape, about 60 ms for a 4-layer MiniLM's bf16 layers on 2 cores, and length-sorted batches of whole sentences
# come in nearly every length (48 shapes in 76 batches on 120 articles). Ten shapes instead: `framing annotate`
# 1.30x faster end to end in bf16, labels as close as bf16's (masked padding changes no real token's output).
# fp32 kernels come cheaply, so fp32 runs unpadded: padding cost it 5% on 120 articles with oneDNN capped at AVX2,
# and made no difference uncapped on the same cores
LENGTH_STEP = 32


def supports_inference_path(base_dir: Path) -> bool:
    """Can this base encoder directory be run by :class:`InferenceBert` and :class:`OffsetTokenizer`?"""
    try:
        config = json.loads((Path(base_dir) / "config.json").read_text(encoding="utf-8"))
        tokenizer_config = read_json(Path(base_dir) / "tokenizer_config.json")
    except (OSError, ValueError):
        return False
    return (
        config.get("model_type") == "bert"
        and config.get("position_embedding_type", "absolute") == "absolute"
        and config.get("hidden_act") == "gelu"
        and (Path(base_dir) / "model.safetensors").is_file()
        and (Path(base_dir) / "tokenizer.json").is_file()
        and tokenizer_config.get("tokenizer_class", "BertTokenizer") in ("BertTokenizer", "BertTokenizerFast")
    )


@dataclass(frozen=True)
class EncoderOutput:
    last_hidden_state: torch.Tensor


@dataclass(frozen=True)
class EncoderShape:
    hidden_size: int
    num_attention_heads: int
    layer_norm_eps: float


class PackedLinear(nn.Module):
    """``y = act(x W^T + b)`` for inference, through oneDNN with a pre-packed weight when torch has it."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, activation: str = "none"):
        super().__init__()
        self.activation = activation
        self.bias = nn.Parameter(bias.float().contiguous(), requires_grad=False)
        weight = weight.float().contiguous()
        self.packed = None
        self._bf16: tuple[torch.Tensor, torch.Tensor] | None = None  # packed on first bf16 input (autocast)
        self._bf16_source: torch.Tensor | None = None
        if _onednn_available():
            self.packed = torch.ops.mkldnn._reorder_linear_weight(weight, _PACK_ROWS)
            self.weight = None
            self._bf16_source = weight.to(torch.bfloat16)
        else:
            self.weight = nn.Parameter(weight, requires_grad=False)

    def _bf16_weights(self) -> tuple[torch.Tensor | None, torch.Tensor]:
        """The bf16 weight packed for oneDNN, or None where oneDNN cannot run bf16 on this CPU (it needs AMX,
        AVX-512 BW/VL/DQ or AVX-NE-CONVERT: an AVX2-only CPU has none); then torch's own bf16 path runs it."""
        if self._bf16 is None:
            try:
                packed = torch.ops.mkldnn._reorder_linear_weight(self._bf16_source, _PACK_ROWS)
            except RuntimeError:
                packed = None
            self._bf16 = (packed, self.bias.detach().to(torch.bfloat16))
        return self._bf16

    def _plain(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """torch's own linear layer (and GELU): where oneDNN is not used or cannot run this precision."""
        y = F.linear(x, weight, bias)
        return F.gelu(y) if self.activation == "gelu" else y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.packed is None:
            return self._plain(x, self.weight, self.bias)
        rows = x.reshape(-1, x.shape[-1])
        # under bf16 autocast the input arrives in bf16: oneDNN needs weights of the same type (AMX runs them)
        if rows.dtype == torch.bfloat16 or torch.is_autocast_enabled("cpu"):
            packed, bias = self._bf16_weights()
            rows = rows.to(torch.bfloat16)
            if packed is None:
                return self._plain(x.to(torch.bfloat16), self._bf16_source, bias)
        else:
            packed, bias = self.packed, self.bias
            rows = rows.float()
        # "gelu" with algorithm "none" is the exact (erf) GELU, as BERT's hidden_act "gelu"
        y = torch.ops.mkldnn._linear_pointwise(rows, packed, bias, self.activation, [],
                                               "none" if self.activation == "gelu" else "")
        return y.reshape(*x.shape[:-1], y.shape[-1])


def _onednn_available() -> bool:
    return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise") and hasattr(
        torch.ops.mkldnn, "_reorder_linear_weight")


class _Layer(nn.Module):
    def __init__(self, state: dict[str, torch.Tensor], prefix: str, eps: float):
        super().__init__()

        def get(name: str) -> torch.Tensor:
            return state[prefix + name]

        self.qkv = PackedLinear(
            torch.cat([get(f"attention.self.{n}.weight") for n in ("query", "key", "value")]),
            torch.cat([get(f"attention.self.{n}.bias") for n in ("query", "key", "value")]),
        )
        self.attention_out = PackedLinear(get("attention.output.dense.weight"), get("attention.output.dense.bias"))
        self.attention_norm = _norm(get("attention.output.LayerNorm.weight"), get("attention.output.LayerNorm.bias"),
                                    eps)
        self.intermediate = PackedLinear(get("intermediate.dense.weight"), get("intermediate.dense.bias"), "gelu")
        self.output = PackedLinear(get("output.dense.weight"), get("output.dense.bias"))
        self.output_norm = _norm(get("output.LayerNorm.weight"), get("output.LayerNorm.bias"), eps)


def _norm(weight: torch.Tensor, bias: torch.Tensor, eps: float) -> nn.LayerNorm:
    norm = nn.LayerNorm(weight.shape[0], eps=eps)
    norm.weight = nn.Parameter(weight.float(), requires_grad=False)
    norm.bias = nn.Parameter(bias.float(), requires_grad=False)
    return norm


class InferenceBert(nn.Module):
    """BERT's encoder forward pass (no pooler, token type 0), for inference on CPU."""

    def __init__(self, config: dict[str, Any], state: dict[str, torch.Tensor]):
        super().__init__()
        self.config = EncoderShape(config["hidden_size"], config["num_attention_heads"],
                                   config.get("layer_norm_eps", 1e-12))
        self.word_embeddings = nn.Parameter(state["embeddings.word_embeddings.weight"].float(), requires_grad=False)
        self.position_embeddings = nn.Parameter(state["embeddings.position_embeddings.weight"].float(),
                                                requires_grad=False)
        self.type_embedding = nn.Parameter(state["embeddings.token_type_embeddings.weight"][0].float(),
                                           requires_grad=False)
        eps = self.config.layer_norm_eps
        self.embedding_norm = _norm(state["embeddings.LayerNorm.weight"], state["embeddings.LayerNorm.bias"], eps)
        self.layers = nn.ModuleList(
            _Layer(state, f"encoder.layer.{index}.", eps) for index in range(config["num_hidden_layers"])
        )

    @classmethod
    def from_safetensors(cls, base_dir: Path, overrides: dict[str, torch.Tensor],
                         layers: int | None = None, merge=None) -> InferenceBert:
        """The encoder of ``base_dir/model.safetensors`` with ``overrides`` (fine-tuned tensors, named as in
        transformers' ``BertModel``) replacing the base weights; ``layers`` keeps only the lowest ones;
        ``merge(overrides, base state)``, when given, turns stored adapters into full weights first."""
        from safetensors.torch import load_file

        config = json.loads((Path(base_dir) / "config.json").read_text(encoding="utf-8"))
        if layers is not None:
            config["num_hidden_layers"] = checked_layer_count(layers, config["num_hidden_layers"], base_dir)
        stored = load_file(str(Path(base_dir) / "model.safetensors"))
        state = {_strip_prefix(name): tensor for name, tensor in stored.items()}
        if merge is not None:
            overrides = merge(overrides, state)
        for name, tensor in overrides.items():
            if name not in state:
                raise KeyError(f"{name!r} is not a tensor of the base encoder")
            if state[name].shape != tensor.shape:
                raise RuntimeError(f"{name!r} has shape {tuple(tensor.shape)}, the base encoder's "
                                   f"{tuple(state[name].shape)}")
            state[name] = tensor
        return cls(config, state)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> EncoderOutput:
        length = input_ids.shape[1]
        step = LENGTH_STEP if torch.is_autocast_enabled("cpu") else 1
        padded = min(math.ceil(length / step) * step, self.position_embeddings.shape[0])
        if padded > length:
            input_ids = F.pad(input_ids, (0, padded - length))
            attention_mask = F.pad(attention_mask, (0, padded - length))
        return EncoderOutput(self._encode(input_ids, attention_mask)[:, :length])

    def _encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        batch, length = input_ids.shape
        width, heads = self.config.hidden_size, self.config.num_attention_heads
        x = self.embedding_norm(self.word_embeddings[input_ids] + self.position_embeddings[:length]
                                + self.type_embedding)
        keep = attention_mask.bool()[:, None, None, :]
        for layer in self.layers:
            qkv = layer.qkv(x).view(batch, length, 3, heads, width // heads).permute(2, 0, 3, 1, 4)
            context = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=keep)
            context = context.transpose(1, 2).reshape(batch, length, width)
            x = layer.attention_norm(layer.attention_out(context) + x)
            x = layer.output_norm(layer.output(layer.intermediate(x)) + x)
        return x


def _strip_prefix(name: str) -> str:
    """Base checkpoints saved from a task model name the encoder's tensors ``bert.…``."""
    return name[len("bert."):] if name.startswith("bert.") else name
