"""The frozen-layer cache: computing the frozen lower layers once per window gives the model the plain path gives."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from pipeline.model.base import load_tokenizer
from pipeline.model.network import FramingModel
from pipeline.model.store import WEIGHTS_FILE, freeze_embeddings
from pipeline.model.train import train
from tests.model_fixtures import prepared, tiny_config, toy_documents, write_tiny_encoder


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
    return write_tiny_encoder(tmp_path_factory.mktemp("tiny-no-dropout"), hidden_dropout_prob=0.0,
                              attention_probs_dropout_prob=0.0)


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


def test_a_float16_cache_stays_close_to_the_plain_forward():
    encoder = list(encoders())[1]  # MPNet
    model = FramingModel(encoder, 4, dropout=0.0).eval()
    freeze_embeddings(model, 2)
    inputs = batch(50)
    with torch.no_grad():
        plain = model(*inputs)
        model.cache_frozen_layers(2, "float16")
        cached = model(*inputs)
    assert all(state.dtype == torch.float16 for state in model.frozen_cache.store.values())
    real = inputs[1].bool()
    assert torch.allclose(plain[0][real], cached[0][real], atol=1e-2)
    assert torch.allclose(plain[1], cached[1], atol=1e-2)


def test_a_saved_cache_is_read_back_and_the_lower_layers_do_not_run_again(tmp_path):
    encoder = next(encoders())
    model = FramingModel(encoder, 4, dropout=0.0).eval()
    freeze_embeddings(model, 1)
    inputs = batch(50)
    folder = tmp_path / "cache"
    model.cache_frozen_layers(1, "float16", folder=folder, base="b")
    with torch.no_grad():
        expected = model(*inputs)
    model.frozen_cache.save()
    model.frozen_cache.save()  # nothing new: no second shard
    assert len(list(folder.glob("shard-*.safetensors"))) == 1

    model.cache_frozen_layers(1, "float32", folder=folder, base="b")
    with pytest.raises(ValueError, match="another base, cache_dtype or frozen_layers"):
        model.frozen_cache.load()  # written as float16: not this cache's
    model.cache_frozen_layers(1, "float16", folder=folder, base="b")
    assert model.frozen_cache.load() == 3

    def refuse(**_):
        raise AssertionError("the lower layers ran again")

    model.frozen_cache.lower = refuse
    with torch.no_grad():
        again = model(*inputs)
    assert torch.equal(expected[1], again[1])


def test_an_interrupted_cached_run_resumes_from_the_saved_cache(dropout_free_encoder_dir, tmp_path, monkeypatch):
    from pipeline.model import frozen_cache

    tokenizer = load_tokenizer(dropout_free_encoder_dir)
    data = prepared(tokenizer, toy_documents(2))
    config = tiny_config(dropout_free_encoder_dir, epochs=4, checkpoint_every=2, frozen_layers=1, cache_frozen=True)
    straight = train(config, tmp_path / "straight", prepared=data, progress=False)
    interrupted = tmp_path / "interrupted"
    train(config, interrupted, prepared=data, progress=False, stop_after_steps=3)
    assert list((interrupted / "frozen-cache").glob("shard-*.safetensors"))
    fills = []
    original = frozen_cache.FrozenLayerCache._fill
    monkeypatch.setattr(frozen_cache.FrozenLayerCache, "_fill", lambda self, *a: fills.append(1) or original(self, *a))
    train(config, interrupted, prepared=data, progress=False, resume=True)
    assert not fills  # every training and validation window came from the saved cache
    assert not (interrupted / "frozen-cache").exists()  # removed with the checkpoint when the model is written
    a, b = load_file(str(straight / WEIGHTS_FILE)), load_file(str(interrupted / WEIGHTS_FILE))
    assert a.keys() == b.keys()
    for name in a:
        assert torch.allclose(a[name].float(), b[name].float(), atol=1e-3), name


def test_an_unknown_cache_dtype_is_refused(tiny_encoder_dir):
    from pipeline.errors import ConfigError

    with pytest.raises(ConfigError, match="cache_dtype: expected one of float32, float16, bfloat16"):
        tiny_config(tiny_encoder_dir, cache_frozen=True, frozen_layers=1, cache_dtype="int8")


def test_a_cache_dir_is_kept_and_a_second_run_reads_it(dropout_free_encoder_dir, tmp_path, monkeypatch):
    from pipeline.errors import ConfigError
    from pipeline.model import frozen_cache

    tokenizer = load_tokenizer(dropout_free_encoder_dir)
    data = prepared(tokenizer, toy_documents(2))
    shared = tmp_path / "shared-cache"
    config = tiny_config(dropout_free_encoder_dir, epochs=2, frozen_layers=1, cache_frozen=True,
                         cache_dir=str(shared))
    first = train(config, tmp_path / "first", prepared=data, progress=False)
    assert list(shared.glob("shard-*.safetensors"))  # kept after the run
    from pipeline.model.config import load_config

    saved = load_config(first / "config.yaml")
    assert saved.resolve(saved.hyperparameters.cache_dir) == shared.resolve()  # the saved config names the same folder
    fills = []
    original = frozen_cache.FrozenLayerCache._fill
    monkeypatch.setattr(frozen_cache.FrozenLayerCache, "_fill", lambda self, *a: fills.append(1) or original(self, *a))
    other = tiny_config(dropout_free_encoder_dir, epochs=3, learning_rate=1e-3, frozen_layers=1, cache_frozen=True,
                        cache_dir=str(shared))
    train(other, tmp_path / "second", prepared=data, progress=False)
    assert not fills
    half = tiny_config(dropout_free_encoder_dir, epochs=1, cache_frozen=True, cache_dir=str(shared),
                         frozen_layers=1, cache_dtype="float16")
    with pytest.raises(ConfigError, match="another base, cache_dtype or frozen_layers"):
        train(half, tmp_path / "third", prepared=data, progress=False)
