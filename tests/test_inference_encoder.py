"""The CPU inference path (``pipeline.model.inference_encoder``) computes what transformers' classes compute."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest
import torch

from pipeline.errors import ConfigError
from pipeline.model.annotator import Annotator
from pipeline.model.base import load_encoder, load_tokenizer
from pipeline.model.inference_encoder import InferenceBert, supports_inference_path
from pipeline.model.offset_tokenizer import OffsetTokenizer

TRICKY = [
    "The corrupt régime LIED — again!",
    "Ünïcödé café naïve 東京 emoji 😀 don't stop",
    "  spaced\ttext\u00a0here  ",
    "",
    "x" * 700,
    "Officials said: \"We will not yield.\" (Reuters) U.S.-led talks, 2.5% growth, e-mail@example.org",
]


def test_the_tokenizer_gives_transformers_ids_and_offsets(tiny_encoder_dir):
    ours, theirs = OffsetTokenizer(tiny_encoder_dir), load_tokenizer(tiny_encoder_dir)
    mine = ours(TRICKY, add_special_tokens=False, return_offsets_mapping=True)
    reference = theirs(TRICKY, add_special_tokens=False, return_offsets_mapping=True)
    assert mine["input_ids"] == [list(ids) for ids in reference["input_ids"]]
    assert mine["offset_mapping"] == [[tuple(o) for o in offsets] for offsets in reference["offset_mapping"]]
    for role in ("cls", "sep", "pad"):
        assert getattr(ours, f"{role}_token_id") == getattr(theirs, f"{role}_token_id")


def test_hidden_states_match_transformers_with_fine_tuned_layers_and_padding(tiny_encoder_dir):
    assert supports_inference_path(tiny_encoder_dir)
    reference = load_encoder(tiny_encoder_dir).eval()
    torch.manual_seed(1)
    tuned = {"encoder.layer.1.output.dense.weight": torch.randn(32, 64) * 0.1,
             "encoder.layer.0.attention.self.query.bias": torch.randn(32)}
    reference.load_state_dict(tuned, strict=False)
    ours = InferenceBert.from_safetensors(tiny_encoder_dir, tuned).eval()
    input_ids = torch.randint(1000, 20000, (3, 40))
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1, 25:] = 0
    attention_mask[2, 3:] = 0
    with torch.inference_mode():
        expected = reference(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        got = ours(input_ids, attention_mask).last_hidden_state  # fp32: run unpadded (bf16 pads to a multiple of 32)
    assert got.shape == expected.shape
    real = attention_mask.bool()
    assert torch.allclose(got[real], expected[real], atol=1e-4), (got[real] - expected[real]).abs().max()


@pytest.mark.skipif(not torch.ops.mkldnn._is_mkldnn_bf16_supported(), reason="this CPU has no oneDNN bf16 support")
def test_the_fast_path_runs_under_bf16_autocast_close_to_fp32(tiny_encoder_dir):
    """--precision bf16 (autocast) used to crash in the packed oneDNN linear layers (fp32 weights, bf16 input)."""
    ours = InferenceBert.from_safetensors(tiny_encoder_dir, {}).eval()
    input_ids = torch.randint(1000, 20000, (2, 30))
    attention_mask = torch.ones_like(input_ids)
    with torch.inference_mode():
        exact = ours(input_ids, attention_mask).last_hidden_state
        with torch.autocast("cpu", dtype=torch.bfloat16):
            fast = ours(input_ids, attention_mask).last_hidden_state
        again = ours(input_ids, attention_mask).last_hidden_state  # fp32 after bf16: the fp32 weights are intact
    assert torch.allclose(fast.float(), exact, atol=0.1) and torch.equal(again, exact)


def test_bf16_runs_where_onednn_cannot_pack_bf16_weights(tiny_encoder_dir):
    """On an AVX2-only CPU oneDNN refuses bf16 weights ("needs avx_ne_convert or avx512bw..."); --precision bf16
    crashed there. Limiting oneDNN to AVX2 (ONEDNN_MAX_CPU_ISA) makes any x86 CPU such a CPU: torch's own bf16
    path must then run the layers, close to fp32."""
    script = (
        "import json, torch; from pipeline.model.inference_encoder import InferenceBert; "
        f"m = InferenceBert.from_safetensors({str(tiny_encoder_dir)!r}, {{}}).eval(); "
        "ids = torch.randint(1000, 20000, (2, 30)); mask = torch.ones_like(ids)\n"
        "with torch.inference_mode():\n"
        "    exact = m(ids, mask).last_hidden_state\n"
        "    with torch.autocast('cpu', dtype=torch.bfloat16):\n"
        "        fast = m(ids, mask).last_hidden_state\n"
        "print(json.dumps({'packed': m.layers[0].qkv._bf16[0] is not None, "
        "'error': (fast.float() - exact).abs().max().item()}))"
    )
    env = {**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX2"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["error"] < 0.1
    if platform.machine() in ("x86_64", "AMD64"):
        assert not outcome["packed"]  # the fallback ran, not oneDNN


def test_weights_that_do_not_fit_the_base_encoder_are_refused(tiny_encoder_dir):
    with pytest.raises(KeyError, match="not a tensor"):
        InferenceBert.from_safetensors(tiny_encoder_dir, {"encoder.layer.9.output.dense.weight": torch.zeros(1)})
    with pytest.raises(RuntimeError, match="shape"):
        InferenceBert.from_safetensors(tiny_encoder_dir, {"encoder.layer.0.output.dense.weight": torch.zeros(3, 3)})


def test_annotations_are_the_same_on_both_paths(trained_model, monkeypatch):
    texts = ["The corrupt regime lied to everyone again. Officials met on Monday.",
             "Critics said the corrupt mayor had rigged the vote. " * 12, ""]
    fast = Annotator.load(trained_model, all_scores=True)
    assert isinstance(fast.model.encoder, InferenceBert)
    monkeypatch.setenv("FRAMING_ENCODER", "transformers")
    slow = Annotator.load(trained_model, all_scores=True)
    assert not isinstance(slow.model.encoder, InferenceBert)
    for mine, theirs in zip(fast.annotate_many(texts), slow.annotate_many(texts)):
        assert [(s.start, s.end, s.label) for s in mine.spans] == [(s.start, s.end, s.label) for s in theirs.spans]
        for a, b in zip(mine.sentences, theirs.sentences):
            assert (a.start, a.end) == (b.start, b.end)
            assert a.labels.keys() == b.labels.keys()
            assert all(abs(a.labels[k] - b.labels[k]) < 1e-4 for k in a.labels)


def test_annotating_on_the_cpu_does_not_import_transformers(trained_model):
    # transformers' import is most of the start-up time of `framing annotate` (seconds on a laptop)
    script = ("import sys, json; from pipeline.model.annotator import Annotator; "
              f"d = Annotator.load({str(trained_model)!r}).annotate('The corrupt regime lied again.'); "
              "print(json.dumps({'transformers': 'transformers' in sys.modules, 'sentences': len(d.sentences)}))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"transformers": False, "sentences": 1}


def test_a_base_encoder_the_fast_path_cannot_run_is_not_offered_it(tmp_path, tiny_encoder_dir):
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"):
        (tmp_path / name).write_bytes((tiny_encoder_dir / name).read_bytes())
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "position_embedding_type": "relative_key"}))
    assert not supports_inference_path(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({**config, "model_type": "roberta"}))
    assert not supports_inference_path(tmp_path)


def test_a_model_whose_heads_are_missing_is_refused(trained_model, tmp_path):
    import shutil

    from safetensors.torch import load_file, save_file

    broken = tmp_path / "broken"
    shutil.copytree(trained_model, broken)
    weights = load_file(str(broken / "weights.safetensors"))
    del weights["token_head.weight"]
    save_file(weights, str(broken / "weights.safetensors"))
    with pytest.raises(ConfigError, match="does not fit"):
        Annotator.load(broken)
