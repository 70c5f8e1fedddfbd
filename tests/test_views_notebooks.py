"""The notebooks in notebooks/ run top to bottom (nbclient, a real kernel) on tiny inputs, so they never rot.

Each notebook reads its inputs from environment variables (see its first cell); the kernel inherits them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.views_helpers import pulled_record, record, sample_record, write_jsonl

nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed (pip install -e '.[test]')")
nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (pip install -e '.[test]')")
pytest.importorskip("ipykernel", reason="ipykernel is not installed (pip install -e '.[test]')")

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
SEED_TEST = REPO / "annotations" / "seed" / "devices-test.jsonl"


def run_notebook(name: str, monkeypatch, **env: str):
    monkeypatch.setenv("FRAMING_REPO", str(REPO))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=240, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()
    return notebook


def output_text(notebook) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", ()):
            parts.append(output.get("text", ""))
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def has_image(notebook) -> bool:
    return any("image/png" in output.get("data", {}) for cell in notebook.cells for output in cell.get("outputs", ()))


def test_notebooks_are_stored_without_outputs():
    for path in NOTEBOOKS.glob("*.ipynb"):
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), path.name


def test_explore_annotated(tmp_path, monkeypatch):
    other = record("doc-2", "The mayor failed. Fine.", {"outlet": "Gazette", "date": "2026-04-10"},
                   spans=[{"start": 0, "end": 17, "label": "blame_attribution", "score": 0.8,
                           "attributes": {"actor": {"start": 4, "end": 9}}}],
                   sentences=[{"start": 0, "end": 18, "labels": {"blame_attribution": 0.8}},
                              {"start": 19, "end": 24}])
    path = write_jsonl(tmp_path / "annotated.jsonl", [sample_record(), other])
    notebook = run_notebook("explore-annotated.ipynb", monkeypatch, FRAMING_NB_ANNOTATED=str(path),
                            FRAMING_NB_BY="outlet")
    text = output_text(notebook)
    assert "2 documents, 5 sentences, 8 spans" in text
    assert "mayor" in text and "Gazette" in text


def test_error_analysis_of_a_pulled_file(tmp_path, monkeypatch):
    model = sample_record()
    human = pulled_record(model)
    start = model["text"].index("Nothing")
    human["spans"].append({"start": start, "end": start + 7, "label": "appeal_to_fear", "attributes": {}})
    pulled = write_jsonl(tmp_path / "pulled.jsonl", [human])
    predictions = write_jsonl(tmp_path / "annotated.jsonl", [model])
    notebook = run_notebook("error-analysis.ipynb", monkeypatch, FRAMING_NB_PULLED=str(pulled),
                            FRAMING_NB_PREDICTIONS=str(predictions))
    text = output_text(notebook)
    assert "mode: pulled" in text and "1 documents; span F1" in text
    assert "missed by the model" in text and "appeal_to_fear" in text


@pytest.mark.slow
def test_error_analysis_on_the_seed_test_set(tmp_path, monkeypatch):
    from pipeline.standoff import default_data_root, load_standoff

    errors: list[str] = []
    try:
        load_standoff(SEED_TEST, default_data_root(), errors=errors)
    except Exception as error:  # no corpora here: the seed set cannot be resolved
        pytest.skip(f"the seed test set does not resolve against {default_data_root()}: {error}")
    if errors:
        pytest.skip(f"the research corpora are not all there ({default_data_root()}): {errors[0]}")
    notebook = run_notebook("error-analysis.ipynb", monkeypatch, FRAMING_NB_DOCUMENTS="2", FRAMING_NB_EXAMPLES="2")
    text = output_text(notebook)
    assert "mode: seed" in text and "annotated sentences in 2 documents" in text, text
    assert "blame_attribution" in text and "outcome" in text


def test_learning_curve_without_its_csv(tmp_path, monkeypatch):
    notebook = run_notebook("learning-curve.ipynb", monkeypatch, FRAMING_NB_CURVE=str(tmp_path / "missing.csv"))
    assert "No learning-curve CSV at" in output_text(notebook)
    assert not has_image(notebook)


def test_learning_curve_plots_the_benchmark_csv(tmp_path, monkeypatch):
    # the columns benchmarks/learning_loop.py writes to curve.csv
    rows = [("start", 0, 0, 1, 0.38, 0.58, 0.54, 0.32, 0.72, 0.0)]
    for ordering in ("uncertainty", "random"):
        for round_number in (1, 2):
            rows.append((ordering, round_number, 20 * round_number, 2, 0.39, 0.59, 0.55 + 0.01 * round_number,
                         0.33, 0.73, 110.5))
    header = ("ordering,round,documents,seeds,si_f1,slc_f1,blame_attribution_f1,legitimation_f1,delegitimation_f1,"
              "retrain_s")
    path = tmp_path / "curve.csv"
    path.write_text(header + "\n" + "\n".join(",".join(map(str, row)) for row in rows) + "\n")
    notebook = run_notebook("learning-curve.ipynb", monkeypatch, FRAMING_NB_CURVE=str(path))
    assert f"{path}: 5 rows" in output_text(notebook)
    assert has_image(notebook)
    json.dumps(notebook)  # outputs are plain JSON
