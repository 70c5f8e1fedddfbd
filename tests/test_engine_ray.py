"""``framing annotate --engine ray`` on a real Ray cluster: a head and a second node started with ``ray start`` on
127.0.0.1 (one CPU each, small object stores, no dashboard), stopped with ``ray stop --force`` at the end. The
records must be the local engine's; a scoring actor killed mid-run and a rerun must leave every document in the
output exactly once. Skipped when Ray Data is not installed (``pip install 'framing-pipeline[ray]'``)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("ray.data", reason="Ray Data is not installed: pip install 'framing-pipeline[ray]'")

from pipeline.cli import cli  # noqa: E402
from pipeline.engines.ray import CRASH_AFTER_ENV, CRASH_MARKER_ENV, KILL_DRIVER_ENV  # noqa: E402
from pipeline.io import read_records  # noqa: E402

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
RAY = Path(sys.executable).with_name("ray")
START_TIMEOUT = 90
RUN_TIMEOUT = 120


_TEMP: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def ray_temp():
    """Ray's session files (logs, sockets) in a folder of our own, removed at the end. Short: Ray's socket paths
    must fit in 107 bytes."""
    _TEMP["root"] = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    yield _TEMP["root"]
    shutil.rmtree(_TEMP.pop("root"), ignore_errors=True)


def _environment(**extra: str) -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled",
            "RAY_TMPDIR": _TEMP["root"], "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **extra}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def ray_cluster(ray_temp):
    """The address of a two-node Ray cluster on this machine."""
    temp = os.path.join(ray_temp, "ray")
    port = _free_port()
    common = ["--node-ip-address", "127.0.0.1", "--num-cpus", "1", "--num-gpus", "0",
              "--object-store-memory", "200000000", "--disable-usage-stats"]
    environment = _environment()
    try:
        subprocess.run([str(RAY), "start", "--head", "--port", str(port), "--include-dashboard=false",
                        "--temp-dir", temp, *common], env=environment, check=True, timeout=START_TIMEOUT,
                       capture_output=True)
        subprocess.run([str(RAY), "start", "--address", f"127.0.0.1:{port}", *common], env=environment, check=True,
                       timeout=START_TIMEOUT, capture_output=True)
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([str(RAY), "stop", "--force"], env=environment, timeout=START_TIMEOUT, capture_output=True)


def _corpus(path: Path, count: int, *, bad_line: int | None = None, duplicate: int | None = None) -> list[str]:
    """JSON Lines of short documents (ids d0..); returns the ids that should come out."""
    words = ["The corrupt regime lied again.", "Officials met on Monday.", "The treacherous traitors sold out.",
             "Crowds gathered to watch.", "Critics said the corrupt mayor had rigged the vote."]
    lines, ids = [], []
    for number in range(count):
        if number + 1 == bad_line:
            lines.append('{"id": "broken", "text": ')
            continue
        doc_id = f"d{number - 1}" if number + 1 == duplicate else f"d{number}"
        text = " ".join(words[(number + k) % len(words)] for k in range(1 + number % 3))
        lines.append(json.dumps({"id": doc_id, "text": text, "outlet": f"o{number % 2}"}))
        if number + 1 != duplicate:
            ids.append(doc_id)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ids


def _framing(*args: object, **environment: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", "from pipeline.cli import main; main()", *map(str, args)]
    return subprocess.run(command, env=_environment(**environment), capture_output=True, text=True,
                          timeout=RUN_TIMEOUT)


def _shard_records(out: Path) -> list[dict]:
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return [r for entry in manifest["shards"] if entry["done"] for r in read_records(out / entry["output"])]


def _problems(output: str) -> list[str]:
    return sorted(line for line in output.splitlines() if ": error: " in line or ": warning: " in line)


def test_a_local_ray_instance_writes_parquet_shards_and_a_manifest(tmp_path, trained_model):
    corpus = tmp_path / "corpus.jsonl"
    ids = _corpus(corpus, 9)
    out = tmp_path / "scored"
    run = _framing("annotate", corpus, "--out", out, "--engine", "ray", "--model", trained_model, "--shard-size", 4)
    assert run.returncode == 0, run.stderr
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["complete"] and manifest["records"] == 9 and manifest["output_format"] == "parquet"
    assert [(e["output"], e["records"]) for e in manifest["shards"]] == [
        ("part-00000.parquet", 4), ("part-00001.parquet", 4), ("part-00002.parquet", 1)]
    version = json.loads((Path(trained_model) / "framing-model.json").read_text(encoding="utf-8"))["version"]
    from pipeline.model.precision import resolve_precision

    resolved = resolve_precision("auto", "cpu").precision  # the default, resolved once on the driver
    assert manifest["settings"] == {"model_version": version, "all_scores": False, "precision": resolved}
    assert [r["id"] for r in _shard_records(out)] == ids


def test_cluster_run_equals_the_local_engine_and_leaves_the_cluster_running(tmp_path, trained_model, ray_cluster):
    corpus = tmp_path / "corpus.jsonl"
    ids = _corpus(corpus, 30, bad_line=5, duplicate=12)
    out = tmp_path / "scored.jsonl"
    run = _framing("annotate", corpus, "--out", out, "--engine", "ray", "--ray-address", ray_cluster,
                   "--model", trained_model, "--shard-size", 7, "--all-scores")
    local_out = tmp_path / "local.jsonl"
    local = CliRunner().invoke(cli, ["annotate", str(corpus), "--out", str(local_out), "--model", str(trained_model),
                                     "--all-scores"])
    assert run.returncode == local.exit_code == 1, run.stderr  # records were skipped: status 1, as documented
    assert _problems(run.stderr) == _problems(local.output) and len(_problems(run.stderr)) == 2
    assert f"{corpus}:5: error: invalid JSON" in run.stderr
    records = _shard_records(out)
    assert [r["id"] for r in records] == ids
    assert records == list(read_records(local_out))
    status = subprocess.run([str(RAY), "status", "--address", ray_cluster], env=_environment(), capture_output=True,
                            text=True, timeout=START_TIMEOUT)
    assert status.returncode == 0, status.stderr  # joined, not stopped


def test_a_killed_actor_a_killed_driver_and_a_rerun_leave_each_document_once(tmp_path, trained_model, ray_cluster):
    corpus = tmp_path / "corpus.jsonl"
    ids = _corpus(corpus, 40)
    out = tmp_path / "scored"
    marker = tmp_path / "crashed"
    arguments = ["annotate", corpus, "--out", out, "--engine", "ray", "--ray-address", ray_cluster, "--model",
                 trained_model, "--shard-size", 5, "--batch-size", 1]
    # the scoring actor's process exits after 3 batches (Ray restarts it and retries the batch), then the driver
    # is killed (SIGKILL) once it has written 2 shards
    first = _framing(*arguments, **{CRASH_AFTER_ENV: "3", CRASH_MARKER_ENV: str(marker), KILL_DRIVER_ENV: "2"})
    assert first.returncode == -9, first.stderr
    assert marker.exists(), first.stderr  # the actor did exit mid-run
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert sum(e["done"] for e in manifest["shards"]) == 2 and not manifest["complete"]
    rerun = _framing(*arguments)
    assert rerun.returncode == 0, rerun.stderr
    assert "resuming: 2 of 8 input shards already done" in rerun.stderr
    records = _shard_records(out)
    assert sorted(r["id"] for r in records) == sorted(ids)  # every document, each once
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["complete"] and manifest["records"] == 40
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary shard left behind
