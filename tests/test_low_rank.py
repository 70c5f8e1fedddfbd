"""Low-rank adapters: trained and stored as small factors, merged on load, identical on both prediction paths."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from pipeline.errors import ConfigError
from pipeline.model.base import load_tokenizer
from pipeline.model.forward import predict_windows
from pipeline.model.low_rank import LowRankLinear, add_adapters, merge_adapters
from pipeline.model.network import FramingModel
from pipeline.model.store import WEIGHTS_FILE, freeze_embeddings, load_model_dir, read_meta
from pipeline.model.train import train
from tests.model_fixtures import prepared, tiny_config, toy_documents, write_tiny_encoder


def tiny_bert(layers: int = 3):
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    return BertModel(BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=layers, num_attention_heads=2,
                                intermediate_size=64, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0))


def inputs():
    torch.manual_seed(1)
    input_ids = torch.randint(5, 50, (2, 10))
    return input_ids, torch.ones_like(input_ids), torch.zeros_like(input_ids)


def test_adapters_start_as_the_base_and_train_only_factors_biases_and_norms():
    model = FramingModel(tiny_bert(), 3, dropout=0.0)
    with torch.no_grad():
        before = model(*inputs())
    freeze_embeddings(model, 1)
    add_adapters(model.encoder, 1, rank=4, alpha=8)
    with torch.no_grad():
        after = model(*inputs())
    assert torch.allclose(before[0], after[0]) and torch.allclose(before[1], after[1])  # B starts at zero
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert "encoder.encoder.layer.1.attention.self.query.lora_A" in trainable
    assert "encoder.encoder.layer.2.output.dense.lora_B" in trainable
    assert "encoder.encoder.layer.1.attention.self.query.bias" in trainable
    assert "encoder.encoder.layer.1.output.LayerNorm.weight" in trainable
    assert "encoder.encoder.layer.1.attention.self.query.weight" not in trainable  # the base matrix stays
    assert not any(name.startswith("encoder.encoder.layer.0.") for name in trainable)  # frozen below
    token_logits, sentence_logits = model(*inputs())
    (token_logits.sum() + sentence_logits.sum()).backward()
    query = model.encoder.encoder.layer[1].attention.self.query
    assert query.weight.grad is None  # no gradient of the full matrix is ever formed
    assert query.lora_B.grad.abs().sum() > 0


def test_merging_gives_the_adapted_model_exactly():
    model = FramingModel(tiny_bert(), 3, dropout=0.0).eval()
    add_adapters(model.encoder, 1, rank=4, alpha=8)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, LowRankLinear):
                module.lora_B.normal_(0, 0.1)
        adapted = model(*inputs())
        merge_adapters(model.encoder)
        merged = model(*inputs())
    assert not any(isinstance(module, LowRankLinear) for module in model.modules())
    assert torch.allclose(adapted[0], merged[0], atol=1e-5)
    assert torch.allclose(adapted[1], merged[1], atol=1e-5)


@pytest.fixture(scope="module")
def adapter_model(tmp_path_factory):
    """A tiny 3-layer BERT trained with rank-4 adapters on its top two layers, in bf16 autocast."""
    encoder_dir = write_tiny_encoder(tmp_path_factory.mktemp("tiny-3"), num_hidden_layers=3)
    tokenizer = load_tokenizer(encoder_dir)
    config = tiny_config(encoder_dir, epochs=6, frozen_layers=1, cache_frozen=True, adapter_rank=4,
                         adapter_alpha=8, autocast="bf16")
    out = train(config, tmp_path_factory.mktemp("adapters") / "model",
                prepared=prepared(tokenizer, toy_documents(2)), progress=False)
    return out, encoder_dir


def test_a_model_with_adapters_stores_factors_not_matrices(adapter_model):
    out, _ = adapter_model
    stored = load_file(str(out / WEIGHTS_FILE))
    assert "encoder.encoder.layer.1.attention.self.query.lora_A" in stored
    assert stored["encoder.encoder.layer.2.intermediate.dense.lora_B"].shape == (64, 4)
    assert not any(name.endswith("dense.weight") or name.endswith("query.weight") for name in stored)
    assert not any(name.startswith("encoder.encoder.layer.0.") for name in stored)
    meta = read_meta(out)
    assert (meta.adapter_rank, meta.adapter_alpha, meta.frozen_layers) == (4, 8, 1)
    assert any(bool(stored[name].abs().sum() > 0) for name in stored if name.endswith("lora_B"))  # it learned


def test_both_prediction_paths_merge_the_adapters_alike(adapter_model):
    out, encoder_dir = adapter_model
    tokenizer = load_tokenizer(encoder_dir)
    windows = [(r["input_ids"], r["token_sentence"]) for r in prepared(tokenizer, toy_documents(1)).train_rows][:4]
    results = []
    for fast in (False, True):
        model, _, _ = load_model_dir(out, cpu_inference=fast)
        results.append(predict_windows(model, windows, pad_id=0))
    for (tokens_a, sentences_a), (tokens_b, sentences_b) in zip(*results):
        assert torch.allclose(torch.as_tensor(tokens_a), torch.as_tensor(tokens_b), atol=1e-4)
        assert torch.allclose(torch.as_tensor(sentences_a), torch.as_tensor(sentences_b), atol=1e-4)
    # the merged weights are not the base's: the adapters reached the prediction
    from pipeline.model.store import read_weights

    base = load_file(str(encoder_dir / "model.safetensors"))
    model, _, _ = load_model_dir(out)
    name = "encoder.layer.1.attention.self.query.weight"
    base_weight = base.get(name, base.get(f"bert.{name}"))
    assert not torch.allclose(model.encoder.encoder.layer[1].attention.self.query.weight, base_weight)
    assert "encoder.encoder.layer.1.attention.self.query.lora_A" in read_weights(out)


def test_models_with_adapters_cannot_be_averaged(adapter_model, tmp_path):
    from pipeline.model.average import check_compatible

    out, _ = adapter_model
    with pytest.raises(ConfigError, match="low-rank adapters"):
        check_compatible([out, out])


@pytest.mark.parametrize(("key", "value", "message"), [
    ("adapter_rank", -1, "adapter_rank"), ("adapter_rank", 2.5, "adapter_rank"), ("autocast", "fp16", "autocast"),
])
def test_bad_adapter_settings_are_refused(tiny_encoder_dir, key, value, message):
    with pytest.raises(ConfigError, match=message):
        tiny_config(tiny_encoder_dir, **{key: value})


def test_retraining_a_model_with_adapters_continues_its_adapters(adapter_model, tmp_path):
    """The correction loop works on an adapter model: the child starts from the parent's factors and stays small."""
    from pipeline.retrain import RetrainOptions, retrain
    from tests.test_retrain import corrections_file

    parent, _ = adapter_model
    result = retrain(corrections_file(tmp_path), parent_dir=parent, out_dir=tmp_path / "child",
                     options=RetrainOptions(max_steps=2, heldout_fraction=0.0, compare=False), promote=False,
                     progress=False)
    child, start = load_file(str(result.new_dir / WEIGHTS_FILE)), load_file(str(parent / WEIGHTS_FILE))
    assert set(child) == set(start)  # factors, not matrices
    assert read_meta(result.new_dir).adapter_rank == 4
    name = "encoder.encoder.layer.1.attention.self.query.lora_B"
    assert (child[name].float() - start[name].float()).abs().max() < 0.05  # warm-started, not re-initialised
    assert not torch.equal(child[name], start[name])  # and trained


def test_a_warm_start_may_adapt_more_layers_than_its_parent_and_starts_from_its_function(adapter_model, tmp_path):
    """Growing the adapted depth (frozen_layers 1 -> 0): the newly adapted layer starts at the base, so the child's
    first prediction is its parent's; other mismatches are still refused."""
    from pipeline.model.store import build_model
    from pipeline.model.train import load_initial_weights

    parent, encoder_dir = adapter_model
    meta = read_meta(parent)
    child, tokenizer = build_model(str(encoder_dir), len(meta.labels) + len(meta.auxiliary), 0.0)
    freeze_embeddings(child, 0)
    add_adapters(child.encoder, 0, rank=4, alpha=8)
    load_initial_weights(child, parent)
    windows = [(r["input_ids"], r["token_sentence"]) for r in prepared(tokenizer, toy_documents(1)).train_rows][:4]
    loaded, _, _ = load_model_dir(parent)
    for (tokens_a, sentences_a), (tokens_b, sentences_b) in zip(predict_windows(loaded, windows, pad_id=0),
                                                                predict_windows(child.eval(), windows, pad_id=0)):
        assert torch.allclose(torch.as_tensor(tokens_a), torch.as_tensor(tokens_b), atol=1e-5)
        assert torch.allclose(torch.as_tensor(sentences_a), torch.as_tensor(sentences_b), atol=1e-5)

    trained = train(tiny_config(encoder_dir, epochs=1, max_steps=2, frozen_layers=0, adapter_rank=4,
                                adapter_alpha=8), tmp_path / "deeper", prepared=prepared(tokenizer, toy_documents(2)),
                    progress=False, initial_weights=parent)
    assert "encoder.encoder.layer.0.attention.self.query.lora_A" in load_file(str(trained / WEIGHTS_FILE))

    other_rank, _ = build_model(str(encoder_dir), len(meta.labels) + len(meta.auxiliary), 0.0)
    freeze_embeddings(other_rank, 0)
    add_adapters(other_rank.encoder, 0, rank=8, alpha=8)
    with pytest.raises(ConfigError, match="other shape"):
        load_initial_weights(other_rank, parent)
