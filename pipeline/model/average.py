"""Average the weights of models fine-tuned from the same base encoder on the same split (a "model soup").

Fine-tuning runs that start from one pretrained encoder tend to end in one basin of the loss, where the mean of
their weights is itself a good model, often better than each run, at no extra cost when annotating (Wortsman et
al., 2022). Measured here: the GPU-trained default and the CPU recipe averaged 1:1 raised held-out PTC SI from
0.396 to 0.406. The members must share the base encoder, the outputs and the validation documents: thresholds
are re-tuned on them afterwards. Their test documents may differ (a member may train on documents another held
out, e.g. the seed set's, which has its own test file): the mean holds out only the documents every member held
out (``held_out_by_all``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from pipeline.errors import ConfigError
from pipeline.model.store import WEIGHTS_FILE, ModelMeta, read_meta

# what members must agree on, with the words an error uses for it
_SHARED = {
    "base_model": "base encoder",
    "targets": "outputs (labels and auxiliary targets, in order)",
    "frozen_layers": "frozen layers",
    "encoder_layers": "encoder layers",
    "validation_documents": "validation documents",
}


def check_compatible(model_dirs: Sequence[Path]) -> list[ModelMeta]:
    """The members' metadata; a clear error if any two cannot be averaged."""
    if len(model_dirs) < 2:
        raise ConfigError("averaging needs at least two model directories")
    metas = [read_meta(d) for d in model_dirs]
    first = metas[0]
    with_adapters = [str(d) for d, meta in zip(model_dirs, metas) if meta.adapter_rank]
    if with_adapters:
        raise ConfigError(f"{', '.join(with_adapters)} store low-rank adapters: the mean of two adapters' factors "
                          "is not the mean of their updates, so such models cannot be averaged")
    for directory, meta in zip(model_dirs[1:], metas[1:]):
        for attribute, words in _SHARED.items():
            if getattr(meta, attribute) != getattr(first, attribute):
                raise ConfigError(f"{directory} and {model_dirs[0]} differ in their {words}: only models trained "
                                  "from the same base with the same validation documents can be averaged")
    if not held_out_by_all(metas) and any(meta.test_documents for meta in metas):
        raise ConfigError(f"{', '.join(map(str, model_dirs))} share no held-out test document: their mean could "
                          "never be tested")
    return metas


def held_out_by_all(metas: Sequence[ModelMeta]) -> list[str]:
    """The test documents of the first member that no member trained on (every member held them out)."""
    shared = set.intersection(*(set(meta.test_documents) for meta in metas))
    return [document for document in metas[0].test_documents if document in shared]


def write_average(model_dirs: Sequence[Path], out_file: Path) -> None:
    """Write the element-wise mean of the members' stored tensors (computed in float32, stored in the first
    member's precision) to ``out_file``."""
    states = [load_file(str(Path(d) / WEIGHTS_FILE)) for d in model_dirs]
    for directory, state in zip(model_dirs[1:], states[1:]):
        if state.keys() != states[0].keys():
            difference = sorted(state.keys() ^ states[0].keys())
            raise ConfigError(f"{directory / WEIGHTS_FILE} and {model_dirs[0] / WEIGHTS_FILE} store different "
                              f"tensors: {difference[:3]}")
        for name, tensor in state.items():
            if tensor.shape != states[0][name].shape:
                raise ConfigError(f"{directory / WEIGHTS_FILE}: {name} has shape {tuple(tensor.shape)}, "
                                  f"{model_dirs[0] / WEIGHTS_FILE} has {tuple(states[0][name].shape)}")
    averaged = {
        name: (torch.stack([state[name].float() for state in states]).mean(dim=0)).to(tensor.dtype).contiguous()
        for name, tensor in states[0].items()
    }
    with safe_open(str(Path(model_dirs[0]) / WEIGHTS_FILE), "pt") as handle:
        metadata = handle.metadata()
    save_file(averaged, str(out_file), metadata=metadata)
