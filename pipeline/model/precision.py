"""``--precision auto``: bfloat16 where the hardware runs it natively, float32 elsewhere.

bf16 autocast is about 2.5x faster than fp32 on CPUs with AMX or AVX-512-bf16 (Sapphire Rapids and later), and
about 5.7x SLOWER on an AVX2-only CPU, where oneDNN emulates it: the choice must come from the CPU's own flags
(``/proc/cpuinfo``), never from "oneDNN supports bf16" (it does, by emulation, on any AVX-512 CPU). On CUDA,
bf16 is chosen where the card supports it (``torch.cuda.is_bf16_supported``); any other device gets fp32.

A process whose oneDNN is capped below bf16 (``ONEDNN_MAX_CPU_ISA=AVX2``, as used to stand in for an AVX2-only
CPU) emulates bf16 whatever the flags say, so the cap hides the features it leaves out.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

CHOICES = ("auto", "fp32", "bf16")
# CPU flags (as Linux names them) that mean bf16 matrix multiplies run in hardware
_BF16_FLAGS = (("amx_bf16", "AMX"), ("avx512_bf16", "AVX-512-bf16"))
# the values ONEDNN_MAX_CPU_ISA takes and oneDNN's own numbers for them (dnnl_cpu_isa_t: each level's bits hold the
# levels below it; the AVX-512 names are aliases of the AVX10.1 ones). bf16 runs natively from AVX512_CORE_BF16 on,
# AMX from AVX512_CORE_AMX on; a name not listed here (DEFAULT, ALL, newer levels) caps nothing we use
_ONEDNN_ISAS = {"SSE41": 0x1, "AVX": 0x3, "AVX2": 0x7, "AVX2_VNNI": 0xF, "AVX2_VNNI_2": 0x1F, "AVX512_CORE": 0x27,
                "AVX512_CORE_VNNI": 0x67, "AVX512_CORE_BF16": 0xE7, "AVX10_1_512": 0x1EF, "AVX512_CORE_FP16": 0x1EF,
                "AVX10_1_512_AMX": 0xFEF, "AVX512_CORE_AMX": 0xFEF, "AVX10_1_512_AMX_FP16": 0x1FEF,
                "AVX512_CORE_AMX_FP16": 0x1FEF}
_NEEDS_ISA = {"amx_bf16": _ONEDNN_ISAS["AVX512_CORE_AMX"], "avx512_bf16": _ONEDNN_ISAS["AVX512_CORE_BF16"]}


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


def onednn_isa_cap() -> str | None:
    """The highest instruction set oneDNN may use in this process (``ONEDNN_MAX_CPU_ISA``), None where uncapped."""
    value = os.environ.get("ONEDNN_MAX_CPU_ISA", "").strip().upper()
    return value if value in _ONEDNN_ISAS else None


def _within_cap(found: Iterable[str], cap: str | None) -> frozenset[str]:
    """The CPU flags less the bf16 features a capped oneDNN does not use."""
    found = frozenset(found)
    if cap is None:
        return found
    level = _ONEDNN_ISAS[cap]
    return frozenset(flag for flag in found if flag not in _NEEDS_ISA or level & _NEEDS_ISA[flag] == _NEEDS_ISA[flag])


def _cuda_bf16() -> bool:
    import torch

    return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())


def resolve_precision(requested: str, device: str = "cpu", *,
                      flags: Callable[[], Iterable[str] | None] = cpu_flags,
                      cuda_bf16: Callable[[], bool] = _cuda_bf16,
                      isa_cap: Callable[[], str | None] = onednn_isa_cap) -> Precision:
    """The precision to run: ``requested`` itself unless it is "auto" (the hardware then decides)."""
    if requested not in CHOICES:
        raise ValueError(f"precision must be one of {CHOICES}, got {requested!r}")
    kind = device.split(":")[0]
    cap = isa_cap() if kind == "cpu" else None
    capped = f" within ONEDNN_MAX_CPU_ISA={cap}" if cap else ""
    found = flags() if requested == "bf16" and kind == "cpu" else None
    if found is not None and _bf16_feature(_within_cap(found, cap)) is None:  # unreadable flags: nothing to warn about
        return Precision("bf16", f"asked for; this CPU has neither AMX nor AVX-512-bf16{capped}, so bf16 is "
                                 "emulated and slower than fp32")
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
    feature = _bf16_feature(_within_cap(found, cap))
    if feature:
        return Precision("bf16", f"CPU has {feature}{capped}")
    return Precision("fp32", f"CPU has neither AMX nor AVX-512-bf16{capped}: bf16 would be slower")


def _bf16_feature(found: Iterable[str]) -> str | None:
    """The CPU feature that runs bf16 in hardware ("AMX", "AVX-512-bf16"), None where the flags show none."""
    found = set(found)
    return next((name for flag, name in _BF16_FLAGS if flag in found), None)
