"""Train the top of a large encoder on a small CPU: the frozen lower layers run once per window, not once per epoch.

With ``frozen_layers: k`` the embeddings and the lowest k layers never change, so their output for a window is
the same in every epoch. ``FrozenLayerCache`` computes it the first time a window is seen (without dropout, as at
inference), keeps it, and afterwards runs only the layers above k. For all-mpnet-base-v2 with k = 11 an epoch
then costs about a tenth of the full forward and backward pass. The lower layers run without dropout, so the
cached path equals the plain one exactly when the encoder's own dropout is off, and otherwise differs only in
the frozen layers' dropout noise. ``dtype`` float16 halves the cache's memory (the stored states round to about
three significant digits). ``save`` and ``load`` keep the cache beside the training checkpoint, so a resumed run
does not compute the lower layers again.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


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

    def __init__(self, encoder: nn.Module, layers: int, dtype: str = "float32", *, folder: Path | None = None,
                 base: str = ""):
        all_layers = list(_layer_list_owner(encoder).layer)
        if not 0 < layers < len(all_layers):
            raise ValueError(f"the frozen-layer cache needs 0 < frozen_layers < {len(all_layers)}, got {layers}")
        self.lower = _view(encoder, all_layers[:layers], None)
        self.upper = _view(encoder, all_layers[layers:], _GivenHidden())
        self._lower_modules = [encoder.embeddings, *all_layers[:layers]]
        self.dtype, self.layers, self.base = dtype, layers, base
        self.folder = folder  # where ``save`` and ``load`` keep the states
        self.store: dict[str, torch.Tensor] = {}  # SHA-1 of the window's token ids -> its hidden states
        self._saved: set[str] = set()

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        lengths = attention_mask.sum(dim=1).tolist()
        keys = [hashlib.sha1(input_ids[row, :length].cpu().numpy().tobytes()).hexdigest()
                for row, length in enumerate(lengths)]
        if any(key not in self.store for key in keys):
            self._fill(input_ids, attention_mask, keys, lengths)
        width = next(iter(self.store.values())).shape[-1]
        hidden = torch.zeros((*input_ids.shape, width), device=input_ids.device)
        for row, (key, length) in enumerate(zip(keys, lengths)):
            hidden[row, :length] = self.store[key].to(input_ids.device)  # copied back into float32
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
            self.store.setdefault(key, hidden[row, :length].detach().cpu().to(DTYPES[self.dtype]).clone())

    def save(self) -> None:
        """Write the states computed since the last save as one more shard (atomically: temp file, rename)."""
        new = {key: self.store[key] for key in self.store.keys() - self._saved}
        folder = self.folder
        if not new or folder is None:
            return
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "cache.json").write_text(json.dumps(self._identity()))
        shard = folder / f"shard-{len(list(folder.glob('shard-*.safetensors'))):05d}.safetensors"
        temporary = shard.with_suffix(".tmp")
        save_file({key: tensor.contiguous() for key, tensor in new.items()}, str(temporary))
        temporary.rename(shard)
        self._saved.update(new)

    def load(self) -> int:
        """Read the shards ``save`` wrote (none when the folder is missing); return how many windows were read.
        A ValueError when the folder holds the states of another base, dtype or depth."""
        folder = self.folder
        meta = folder / "cache.json" if folder is not None else None
        if meta is None or not meta.is_file():
            return 0
        if json.loads(meta.read_text()) != self._identity():
            raise ValueError(f"{folder} holds the frozen-layer states of another base, cache_dtype or frozen_layers "
                             f"({meta.read_text().strip()}); give this run another cache_dir")
        for shard in sorted(folder.glob("shard-*.safetensors")):
            loaded = load_file(str(shard))
            self.store.update(loaded)
            self._saved.update(loaded)
        return len(self._saved)

    def _identity(self) -> dict:
        return {"base": self.base, "dtype": self.dtype, "frozen_layers": self.layers}
