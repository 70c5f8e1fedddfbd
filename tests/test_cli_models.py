"""`framing models list`: each version once, parents that are not here said to be missing."""

from __future__ import annotations

import json

from pipeline.cli import main


def fake_model(root, folder, version, parent=None):
    (root / folder).mkdir(parents=True)
    meta = {"format_version": 1, "version": version, "base_model": "x", "labels": ["doubt"],
            "thresholds": {"doubt": {"sentence": 0.5}}, "parent_version": parent, "created_at": version[-1]}
    (root / folder / "framing-model.json").write_text(json.dumps(meta), encoding="utf-8")


def test_models_list_names_each_version_once_and_flags_parents_that_are_missing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FRAMING_MODELS_DIR", str(tmp_path))
    monkeypatch.delenv("FRAMING_MODEL", raising=False)
    fake_model(tmp_path, "m-1", "m-1")
    fake_model(tmp_path, "m-2", "m-2", parent="m-1")
    fake_model(tmp_path, "renamed", "m-3", parent="m-0")
    (tmp_path / "CURRENT").write_text("m-2\n", encoding="utf-8")

    main(["models", "list"])
    lines = capsys.readouterr().out.splitlines()

    versions = [line[2:].split()[0] for line in lines]
    assert versions == ["m-1", "m-2", "m-3"]
    assert lines[0].count("m-1") == 1  # not "m-1  m-1"
    assert lines[1].startswith("* ") and "parent m-1" in lines[1] and "not in this models folder" not in lines[1]
    assert "(folder renamed)" in lines[2] and "parent m-0, not in this models folder" in lines[2]
