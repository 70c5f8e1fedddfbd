"""Low-rank adapters (LoRA, Hu et al., 2021): train a large encoder's upper layers within a small model directory.

``hyperparameters.adapter_rank: r`` keeps the base weight ``W`` of every linear layer above ``frozen_layers``
frozen and learns ``W + (alpha / r) * B @ A`` with ``A`` (r x in) and ``B`` (out x r, zero at the start), so the
model starts as the base encoder. Those layers' biases and layer norms train in full (they are small). A model
directory stores ``A``, ``B``, the biases, the norms and the heads: about 2.5 MB for all-mpnet-base-v2's top six
layers at rank 16 in float16, against 14 MB for one fully trained layer.

Training computes ``x @ A.T @ B.T`` beside the frozen product, so no gradient of a full weight matrix is ever
formed. Loading merges ``B @ A`` into the base weights once (``merged_weights`` / ``merge_adapters``): a model
with adapters then predicts at exactly the cost of the base encoder.

Written here rather than taken from ``peft``: about sixty lines, the parameter names of the encoder stay
unchanged (the frozen-layer cache and the stored-weights checks rely on them), and inference needs no extra
package.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from pipeline.errors import ConfigError

ADAPTER_A, ADAPTER_B = "lora_A", "lora_B"


class LowRankLinear(nn.Linear):
    """A linear layer whose weight and bias are the wrapped layer's own parameters, plus a low-rank update."""

    def __init__(self, linear: nn.Linear, rank: int, alpha: float):
        nn.Module.__init__(self)
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.weight, self.bias = linear.weight, linear.bias
        self.weight.requires_grad_(False)
        self.scale = alpha / rank
        device, dtype = linear.weight.device, linear.weight.dtype
        self.lora_A = nn.Parameter(torch.empty(rank, linear.in_features, device=device, dtype=dtype))
        self.lora_B = nn.Parameter(torch.zeros(linear.out_features, rank, device=device, dtype=dtype))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))  # as nn.Linear initialises its weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        update = nn.functional.linear(nn.functional.linear(x, self.lora_A), self.lora_B)
        return nn.functional.linear(x, self.weight, self.bias) + self.scale * update

    def merged(self) -> nn.Linear:
        """A plain linear layer with ``B @ A`` folded into its weight."""
        linear = nn.Linear(self.in_features, self.out_features, bias=self.bias is not None,
                           device=self.weight.device, dtype=self.weight.dtype)
        with torch.no_grad():
            linear.weight.copy_(_merged(self.weight, self.lora_A, self.lora_B, self.scale))
            if self.bias is not None:
                linear.bias.copy_(self.bias)
        return linear


def _merged(weight: torch.Tensor, lora_a: torch.Tensor, lora_b: torch.Tensor, scale: float) -> torch.Tensor:
    return weight + scale * (lora_b @ lora_a)


def _adapted_layers(encoder: nn.Module, first_layer: int) -> list[nn.Module]:
    inner = getattr(encoder, "encoder", None)
    layers = getattr(inner, "layer", None)
    if not isinstance(layers, nn.ModuleList):
        raise ConfigError(f"{type(encoder).__name__}: no encoder.layer list; adapters support BERT-like encoders "
                          "(BERT, RoBERTa, MPNet)")
    if not 0 <= first_layer < len(layers):
        raise ConfigError(f"adapters need frozen_layers below the encoder's {len(layers)} layers, got {first_layer}")
    return list(layers)[first_layer:]


def add_adapters(encoder: nn.Module, first_layer: int, rank: int, alpha: float) -> None:
    """Wrap every linear layer of layers ``first_layer`` and up in a ``LowRankLinear``; of those layers, only the
    adapters, the biases and the layer norms train."""
    if rank < 1:
        raise ConfigError(f"adapter_rank must be at least 1, got {rank}")
    for layer in _adapted_layers(encoder, first_layer):
        for parameter in layer.parameters():
            parameter.requires_grad_(True)  # biases and norms; the wrapped weights are frozen below
        for owner in list(layer.modules()):
            for name, child in list(owner.named_children()):
                if type(child) is nn.Linear:
                    setattr(owner, name, LowRankLinear(child, rank, alpha))


def merge_adapters(encoder: nn.Module) -> None:
    """Replace every ``LowRankLinear`` by the plain linear layer it computes (for prediction)."""
    for owner in list(encoder.modules()):
        for name, child in list(owner.named_children()):
            if isinstance(child, LowRankLinear):
                setattr(owner, name, child.merged())


def merged_weights(stored: dict[str, torch.Tensor], base: dict[str, torch.Tensor], alpha: float,
                   rank: int) -> dict[str, torch.Tensor]:
    """``stored`` with each ``X.lora_A`` / ``X.lora_B`` pair replaced by the merged ``X.weight`` (``base`` holds
    the base encoder's tensors under the same names), for encoders built from tensors rather than modules."""
    merged = {name: tensor for name, tensor in stored.items()
              if not name.endswith((f".{ADAPTER_A}", f".{ADAPTER_B}"))}
    for name in stored:
        if name.endswith(f".{ADAPTER_A}"):
            prefix = name[: -len(ADAPTER_A)]
            merged[f"{prefix}weight"] = _merged(base[f"{prefix}weight"].float(), stored[name].float(),
                                                stored[f"{prefix}{ADAPTER_B}"].float(), alpha / rank)
    return merged

