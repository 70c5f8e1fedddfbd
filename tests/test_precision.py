"""--precision auto: bf16 only where the hardware runs it natively (faked CPU flags and GPUs)."""

from __future__ import annotations

import pytest

from pipeline.model.precision import cpu_flags, resolve_precision

SAPPHIRE_RAPIDS = "fpu sse2 avx2 avx512f avx512bw avx512_bf16 amx_bf16 amx_tile amx_int8"
COOPER_LAKE = "fpu sse2 avx2 avx512f avx512bw avx512_bf16"
SKYLAKE_X = "fpu sse2 avx2 avx512f avx512bw avx512_vnni"  # oneDNN emulates bf16 here: slower, so fp32
EPYC_ROME = "fpu sse2 avx2 fma"


def _flags(line: str):
    return lambda: frozenset(line.split())


@pytest.mark.parametrize(("flags", "expected", "reason"), [
    (SAPPHIRE_RAPIDS, "bf16", "CPU has AMX"),
    (COOPER_LAKE, "bf16", "CPU has AVX-512-bf16"),
    (SKYLAKE_X, "fp32", "neither AMX nor AVX-512-bf16"),
    (EPYC_ROME, "fp32", "neither AMX nor AVX-512-bf16"),
])
def test_auto_on_the_cpu_follows_the_cpu_flags(flags, expected, reason):
    chosen = resolve_precision("auto", "cpu", flags=_flags(flags))
    assert chosen.precision == expected
    assert reason in chosen.reason
    assert chosen.describe().startswith(f"precision: {expected} (")


def test_auto_is_fp32_where_the_flags_cannot_be_read():
    assert resolve_precision("auto", "cpu", flags=lambda: None).precision == "fp32"


@pytest.mark.parametrize(("supported", "expected"), [(True, "bf16"), (False, "fp32")])
def test_auto_on_cuda_asks_the_card(supported, expected):
    chosen = resolve_precision("auto", "cuda:1", flags=_flags(EPYC_ROME), cuda_bf16=lambda: supported)
    assert chosen.precision == expected


def test_auto_elsewhere_is_fp32_and_an_explicit_choice_is_kept():
    assert resolve_precision("auto", "mps", flags=_flags(SAPPHIRE_RAPIDS)).precision == "fp32"
    assert resolve_precision("bf16", "cpu", flags=_flags(EPYC_ROME)).precision == "bf16"
    assert resolve_precision("fp32", "cpu", flags=_flags(SAPPHIRE_RAPIDS)).precision == "fp32"
    with pytest.raises(ValueError):
        resolve_precision("fp16", "cpu")


def test_bf16_asked_for_on_a_cpu_without_it_says_it_will_be_slower():
    chosen = resolve_precision("bf16", "cpu", flags=_flags(EPYC_ROME))
    assert chosen.precision == "bf16" and "emulated and slower than fp32" in chosen.describe()
    assert resolve_precision("bf16", "cpu", flags=_flags(SAPPHIRE_RAPIDS)).reason == "asked for"


def test_cpu_flags_are_read_from_a_cpuinfo_file(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Xeon\nflags\t\t: fpu avx2 amx_bf16\n\nprocessor\t: 1\n")
    assert cpu_flags(str(cpuinfo)) == {"fpu", "avx2", "amx_bf16"}
    assert cpu_flags(str(tmp_path / "missing")) is None


@pytest.mark.parametrize(("cap", "expected", "reason"), [
    ("AVX2", "fp32", "neither AMX nor AVX-512-bf16 within ONEDNN_MAX_CPU_ISA=AVX2"),
    ("avx512_core", "fp32", "neither AMX nor AVX-512-bf16 within ONEDNN_MAX_CPU_ISA=AVX512_CORE"),
    ("AVX512_CORE_BF16", "bf16", "CPU has AVX-512-bf16 within ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16"),
    ("AVX512_CORE_AMX", "bf16", "CPU has AMX within ONEDNN_MAX_CPU_ISA=AVX512_CORE_AMX"),
    ("AVX10_1_512_AMX", "bf16", "CPU has AMX within ONEDNN_MAX_CPU_ISA=AVX10_1_512_AMX"),  # the same level
    ("avx512_core_fp16", "bf16", "CPU has AVX-512-bf16 within ONEDNN_MAX_CPU_ISA=AVX512_CORE_FP16"),
    (None, "bf16", "CPU has AMX"),
])
def test_auto_follows_a_cap_on_onednns_instruction_set(cap, expected, reason):
    # a oneDNN capped below bf16 emulates it whatever the CPU's flags say
    chosen = resolve_precision("auto", "cpu", flags=_flags(SAPPHIRE_RAPIDS), isa_cap=lambda: cap and cap.upper())
    assert chosen.precision == expected and reason in chosen.reason
    if expected == "fp32":
        asked = resolve_precision("bf16", "cpu", flags=_flags(SAPPHIRE_RAPIDS), isa_cap=lambda: cap.upper())
        assert "emulated and slower than fp32" in asked.reason


@pytest.mark.parametrize(("value", "expected"), [("AVX2", "AVX2"), (" avx2 ", "AVX2"), ("ALL", None),
                                                 ("", None), ("bogus", None)])
def test_the_onednn_cap_is_read_from_the_environment(monkeypatch, value, expected):
    from pipeline.model.precision import onednn_isa_cap

    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", value)
    assert onednn_isa_cap() == expected
