"""Forward speed of a base encoder on full 256-token windows, fp32 and under bf16 autocast, in one run.

Sizes a frozen-layer cache before a training run (``cache_frozen``): the first epoch pays one forward pass of the
frozen layers per window, every later epoch only the layers above. Reports windows per second for the whole
encoder and for its lowest ``--frozen`` layers (what the cache step runs), and how far bf16 moves the hidden
states. ``--train`` also times a training step of the whole encoder (forward and backward, every weight trained, the
optimiser step left out): what fine-tuning all layers, or adapters on all of them, costs per window. Run by hand
(not a test), on an otherwise idle machine:

    .venv/bin/python benchmarks/encoder_speed.py [--base all-mpnet-base-v2] [--frozen 11] [--threads 2] [--train]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import time

import torch

from pipeline.model.base import load_encoder, resolve_base_model


def windows_per_second(encoder, ids, mask, *, bf16: bool, seconds: float) -> tuple[float, torch.Tensor]:
    """Run batches until ``seconds`` have passed (after one warm-up batch); return the rate and the last output."""
    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    with torch.inference_mode(), autocast:
        out = encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        done, began = 0, time.perf_counter()
        while time.perf_counter() - began < seconds:
            out = encoder(input_ids=ids, attention_mask=mask).last_hidden_state
            done += ids.shape[0]
    return done / (time.perf_counter() - began), out.float()


def training_windows_per_second(encoder, ids, mask, *, bf16: bool, seconds: float) -> float:
    """Forward and backward passes of the whole encoder (a stand-in loss on its output) until ``seconds`` pass."""
    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    encoder.train()

    def step() -> None:
        with autocast:
            loss = encoder(input_ids=ids, attention_mask=mask).last_hidden_state.float().pow(2).mean()
        loss.backward()
        encoder.zero_grad(set_to_none=True)

    step()  # warm-up
    done, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        step()
        done += ids.shape[0]
    return done / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="all-mpnet-base-v2")
    parser.add_argument("--frozen", type=int, default=11, help="layers the cache step runs")
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=15.0, help="measuring time per setting")
    parser.add_argument("--train", action="store_true", help="also time training steps of the whole encoder")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    base = resolve_base_model(args.base)
    ids = torch.randint(1000, 20000, (args.batch, args.tokens))
    mask = torch.ones_like(ids)
    results = {"processor": _processor(), "torch": torch.__version__, "threads": args.threads,
               "tokens": args.tokens, "batch": args.batch}
    for layers in (None, args.frozen):
        encoder = load_encoder(base, layers=layers).eval()
        name = f"layers_{layers or encoder.config.num_hidden_layers}"
        fp32, reference = windows_per_second(encoder, ids, mask, bf16=False, seconds=args.seconds)
        bf16, approximate = windows_per_second(encoder, ids, mask, bf16=True, seconds=args.seconds)
        drift = ((approximate - reference).norm() / reference.norm()).item()
        results[name] = {"fp32_windows_per_s": round(fp32, 2), "bf16_windows_per_s": round(bf16, 2),
                         "bf16_relative_error": round(drift, 4)}
        print(json.dumps({name: results[name]}), flush=True)
    if args.train:
        encoder = load_encoder(base)
        results["train_all_layers"] = {
            f"{kind}_windows_per_s": round(training_windows_per_second(encoder, ids, mask, bf16=kind == "bf16",
                                                                       seconds=args.seconds), 2)
            for kind in ("fp32", "bf16")}
        print(json.dumps({"train_all_layers": results["train_all_layers"]}), flush=True)
    print(json.dumps(results, indent=1))


def _processor() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


if __name__ == "__main__":
    main()
