"""``--precision auto``: bfloat16 where the hardware runs it natively, float32 elsewhere.

bf16 autocast is about 2.5x faster than fp32 on CPUs with AMX or AVX-512-bf16 (Sapphire Rapids and later), and
about 5.7x SLOWER on an AVX2-only CPU, where oneDNN emulates it: the choice must come from the CPU's own flags
(``/proc/cpuinfo``), never from "oneDNN supports bf16" (it does, by emulation, on any AVX-512 CPU). On CUDA,
bf16 is chosen where the card supports it (``torch.cuda.is_bf16_supported``); any other device gets fp32.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

CHOICES = ("auto", "fp32", "bf16")
# CPU flags (as Linux names them) that mean bf16 matrix multiplies run in hardware
_BF16_FLAGS = (("amx_bf16", "AMX"), ("avx512_bf16", "AVX-512-bf16"))


@dataclass(frozen=True)
class Precision:
    precision: str  # "fp32" or "bf16"
    reason: str

    def describe(self) -> str:
        return f"precision: {self.precision} ({self.reason})"


def cpu_flags(path: str = "/proc/cpuinfo") -> frozenset[str] | None:
    """The CPU's feature flags, or None where they cannot be read (not Linux)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith(("flags", "Features")):
                    return frozenset(line.partition(":")[2].split())
    except OSError:
        return None
    return None


def _cuda_bf16() -> bool:
    import torch

    return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())


def resolve_precision(requested: str, device: str = "cpu", *,
                      flags: Callable[[], Iterable[str] | None] = cpu_flags,
                      cuda_bf16: Callable[[], bool] = _cuda_bf16) -> Precision:
    """The precision to run: ``requested`` itself unless it is "auto" (the hardware then decides)."""
    if requested not in CHOICES:
        raise ValueError(f"precision must be one of {CHOICES}, got {requested!r}")
    kind = device.split(":")[0]
    found = flags() if requested == "bf16" and kind == "cpu" else None
    if found is not None and _bf16_feature(found) is None:  # unreadable flags: nothing to warn about
        return Precision("bf16", "asked for; this CPU has neither AMX nor AVX-512-bf16, so bf16 is emulated and "
                                 "slower than fp32")
    if requested != "auto":
        return Precision(requested, "asked for")
    if kind == "cuda":
        if cuda_bf16():
            return Precision("bf16", "the GPU supports bf16")
        return Precision("fp32", "the GPU does not support bf16")
    if kind != "cpu":
        return Precision("fp32", f"bf16 is not chosen automatically on {kind}")
    found = flags()
    if found is None:
        return Precision("fp32", "the CPU's flags cannot be read")
    feature = _bf16_feature(found)
    if feature:
        return Precision("bf16", f"CPU has {feature}")
    return Precision("fp32", "CPU has neither AMX nor AVX-512-bf16: bf16 would be slower")


def _bf16_feature(found: Iterable[str]) -> str | None:
    """The CPU feature that runs bf16 in hardware ("AMX", "AVX-512-bf16"), None where the flags show none."""
    found = set(found)
    return next((name for flag, name in _BF16_FLAGS if flag in found), None)
