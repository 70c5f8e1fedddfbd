"""Train the top of a large encoder on a small CPU: the frozen lower layers run once per window, not once per epoch.

With ``frozen_layers: k`` the embeddings and the lowest k layers never change, so their output for a window is
the same in every epoch. ``FrozenLayerCache`` computes it the first time a window is seen (without dropout, as at
inference), keeps it, and afterwards runs only the layers above k. For all-mpnet-base-v2 with k = 11 an epoch
then costs about a tenth of the full forward and backward pass. The lower layers run without dropout, so the
cached path equals the plain one exactly when the encoder's own dropout is off, and otherwise differs only in
the frozen layers' dropout noise.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class _GivenHidden(nn.Module):
    """Stands in for the embeddings of the upper part: its input already is a hidden state."""

    def forward(self, input_ids=None, inputs_embeds=None, **_):
        return inputs_embeds


def _layer_list_owner(encoder: nn.Module) -> nn.Module:
    inner = getattr(encoder, "encoder", None)
    if inner is None or not isinstance(getattr(inner, "layer", None), nn.ModuleList):
        raise ValueError(f"{type(encoder).__name__}: no encoder.layer list; the frozen-layer cache supports BERT-like "
                         "encoders (BERT, RoBERTa, MPNet)")
    return inner


def _view(encoder: nn.Module, layers: list[nn.Module], embeddings: nn.Module | None) -> nn.Module:
    """A shallow copy of ``encoder`` sharing its modules and parameters, with another layer list (and embeddings)."""
    inner = _layer_list_owner(encoder)
    view_inner = copy.copy(inner)
    view_inner._modules = {**inner._modules, "layer": nn.ModuleList(layers)}
    view = copy.copy(encoder)
    view._modules = {**encoder._modules, "encoder": view_inner}
    if embeddings is not None:
        view._modules["embeddings"] = embeddings
    return view


class FrozenLayerCache:
    """Runs an encoder whose embeddings and lowest ``layers`` layers are frozen, caching their output per window
    (keyed by the window's token ids)."""

    def __init__(self, encoder: nn.Module, layers: int):
        all_layers = list(_layer_list_owner(encoder).layer)
        if not 0 < layers < len(all_layers):
            raise ValueError(f"the frozen-layer cache needs 0 < frozen_layers < {len(all_layers)}, got {layers}")
        self.lower = _view(encoder, all_layers[:layers], None)
        self.upper = _view(encoder, all_layers[layers:], _GivenHidden())
        self._lower_modules = [encoder.embeddings, *all_layers[:layers]]
        self.store: dict[bytes, torch.Tensor] = {}

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        lengths = attention_mask.sum(dim=1).tolist()
        keys = [input_ids[row, :length].cpu().numpy().tobytes() for row, length in enumerate(lengths)]
        if any(key not in self.store for key in keys):
            self._fill(input_ids, attention_mask, keys, lengths)
        width = next(iter(self.store.values())).shape[-1]
        hidden = torch.zeros((*input_ids.shape, width), device=input_ids.device)
        for row, (key, length) in enumerate(zip(keys, lengths)):
            hidden[row, :length] = self.store[key].to(input_ids.device)
        return self.upper(inputs_embeds=hidden, attention_mask=attention_mask).last_hidden_state

    @torch.no_grad()
    def _fill(self, input_ids, attention_mask, keys, lengths) -> None:
        modes = [module.training for module in self._lower_modules]
        for module in self._lower_modules:
            module.eval()
        try:
            hidden = self.lower(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        finally:
            for module, mode in zip(self._lower_modules, modes):
                module.train(mode)
        for row, (key, length) in enumerate(zip(keys, lengths)):
            self.store.setdefault(key, hidden[row, :length].detach().cpu().clone())
