"""The models shipped in models/ load from the PyPI base encoder and annotate a sample, offsets intact."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.model.annotator import Annotator
from pipeline.model.registry import current_model_dir

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "examples" / "articles" / "03-so-called-referendum.txt"
NAMES = sorted(path.parent.name for path in (REPO / "models").glob("*/framing-model.json"))
# the last commit whose tree held the earlier models (the README says how to bring one back)
HISTORY = "a1ed62b"


def _needs_missing_base(name: str) -> str | None:
    """Why a shipped model cannot load here: a base installed on demand (all-mpnet-base-v2) that is not installed."""
    from pipeline.model.bases import KNOWN_BASES, install_command, installed_base
    from pipeline.model.store import read_meta

    base = read_meta(REPO / "models" / name).base_model
    if base not in KNOWN_BASES:
        return None
    try:
        installed_base(base)
    except ConfigError:
        return f"{name} needs the base {base!r}, not installed here ({install_command(base)})"
    return None


SHIPPED = [pytest.param(name, marks=pytest.mark.skipif(bool(reason := _needs_missing_base(name)), reason=reason or ""))
           for name in NAMES]


def test_the_current_model_is_one_of_the_shipped_ones(monkeypatch):
    monkeypatch.delenv("FRAMING_MODEL", raising=False)
    monkeypatch.delenv("FRAMING_MODELS_DIR", raising=False)
    assert current_model_dir().name in NAMES


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_model_annotates_a_sample_article(name):
    annotator = Annotator.load(REPO / "models" / name)
    assert {"blame_attribution", "delegitimation", "loaded_language"} <= set(annotator.labels)
    text = SAMPLE.read_text(encoding="utf-8")
    document = annotator.annotate(text)
    assert document.text == text and len(document.sentences) >= 5
    spans = document.spans_from("model")
    assert spans, "the sample is written to contain delegitimation language"
    for span in spans:
        assert span.label in annotator.labels
        assert text[span.start : span.end] == text[span.start : span.end].strip() != ""
        actor = span.attributes.get("actor")
        if actor:
            assert 0 <= actor["start"] < actor["end"] <= len(text)


def test_the_python_api_annotates_with_the_current_model_by_default(monkeypatch):
    import pipeline

    monkeypatch.delenv("FRAMING_MODEL", raising=False)
    monkeypatch.delenv("FRAMING_MODELS_DIR", raising=False)
    annotator = pipeline.Annotator.load()
    assert annotator.model_version == Annotator.load(current_model_dir()).model_version
    texts = ["The so-called government staged an illegal referendum.", "Rain fell overnight."]
    documents = list(annotator.annotate_many(texts))
    assert [d.text for d in documents] == texts
    assert annotator.annotate(texts[0]).to_dict() == documents[0].to_dict()


def _in_word(text: str, index: int) -> bool:
    return 0 <= index < len(text) and text[index].isalnum()


@pytest.mark.parametrize("name", SHIPPED)
def test_decoded_spans_keep_the_clean_span_invariants_on_real_output(name):
    """Every span the shipped models propose on the bundled articles: inside one sentence, on word boundaries, with
    a content word, never twice with the same label and range; a blamed actor in its sentence or the next one."""
    from pipeline.model.decode import is_content

    annotator = Annotator.load(REPO / "models" / name)
    texts = [path.read_text(encoding="utf-8") for path in sorted((REPO / "examples" / "articles").glob("*.txt"))]
    counted = 0
    for document in annotator.annotate_many(texts):
        text, sentences = document.text, list(document.sentences)
        seen = set()
        for span in document.spans_from("model"):
            counted += 1
            where = f"{span.label} {text[span.start:span.end]!r} at {span.start}"
            assert (span.start, span.end, span.label) not in seen, f"duplicate: {where}"
            seen.add((span.start, span.end, span.label))
            owner = [i for i, s in enumerate(sentences) if s.start <= span.start and span.end <= s.end]
            assert owner, f"crosses a sentence boundary: {where}"
            assert is_content(text[span.start:span.end]), f"only stop words: {where}"
            assert not (_in_word(text, span.start - 1) and _in_word(text, span.start)), f"cuts a word: {where}"
            assert not (_in_word(text, span.end) and _in_word(text, span.end - 1)), f"cuts a word: {where}"
            actor = span.attributes.get("actor")
            if actor:
                near = sentences[max(0, owner[0] - 1): owner[0] + 2]
                assert any(s.start <= actor["start"] and actor["end"] <= s.end for s in near), f"far actor: {where}"
    assert counted > 20  # the articles are written to contain devices and techniques


@pytest.mark.parametrize("name", NAMES)
def test_a_shipped_models_training_config_names_files_that_exist(name):
    """`framing retrain`, `framing models calibrate` and `framing evaluate` read a model's config.yaml: its
    annotation files must be found from the model folder (a config saved from another checkout once named those).
    Its teacher and starting weights, which only rerunning its training needs, are shipped or restorable from the
    git history with the README's `git checkout HISTORY -- models/<version>`."""
    from pipeline.model.config import load_config

    config = load_config(REPO / "models" / name / "config.yaml")
    in_repo = [config.resolve_data(source.path) for source in config.data]
    if config.distil:
        in_repo += map(config.resolve_data, config.distil.held_out)
    in_repo = [path for path in in_repo if "shared" not in path.parts]  # the corpora live outside the repository
    missing = [str(path) for path in in_repo if not path.exists()]
    assert not missing, f"{name}/config.yaml names paths that do not exist: {missing}"
    models = [config.resolve(config.distil.teacher)] if config.distil else []
    models += [config.resolve(config.initial_weights)] if config.initial_weights else []
    for model in models:
        assert model.parent == REPO / "models", f"{name}/config.yaml names a model outside models/: {model}"
        if not model.exists():
            assert _in_history(f"models/{model.name}/framing-model.json"), (
                f"{name}/config.yaml names {model.name}, neither shipped nor at {HISTORY} in the git history")


def _in_history(path: str) -> bool:
    """Is ``path`` in the commit that still held the models taken out of the tree (skips without that history)?"""
    import subprocess

    try:
        known = subprocess.run(["git", "-C", str(REPO), "cat-file", "-e", f"{HISTORY}^{{commit}}"],
                               capture_output=True).returncode == 0
    except OSError:
        known = False
    if not known:
        pytest.skip(f"no git history with commit {HISTORY} (a shallow clone or an unpacked release)")
    return subprocess.run(["git", "-C", str(REPO), "cat-file", "-e", f"{HISTORY}:{path}"],
                          capture_output=True).returncode == 0
