"""ONNX Runtime against the hand-written oneDNN encoder (`pipeline/model/inference_encoder.py`), in one run.

The current model's encoder (transformers' BertModel with the fine-tuned layers) is exported to ONNX, fp32 and
dynamically quantized to int8 (`onnxruntime.quantization.quantize_dynamic`), and put in place of the oneDNN
encoder under the same heads, tokenizer, windows and decoding. Each path annotates the same articles in this
process (segmentation and decoding included, start-up and export not); labels are compared with the oneDNN fp32
path: share of sentences with the same label set, and the Jaccard index of the span sets. Needs `onnxruntime`
and `onnx` (not dependencies of the project). Run by hand (not a test):

    .venv/bin/python benchmarks/onnx_encoder.py [--articles DIR] [--limit 120] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from annotate import DEFAULT_ARTICLES, agreement, cpu_description  # noqa: E402

from pipeline.batch import annotation_record  # noqa: E402
from pipeline.document import Document  # noqa: E402
from pipeline.model.annotator import Annotator  # noqa: E402
from pipeline.model.inference_encoder import EncoderOutput  # noqa: E402
from pipeline.model.registry import current_model_dir  # noqa: E402
from pipeline.model.store import load_model_dir  # noqa: E402


class _Export(nn.Module):
    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids, attention_mask):
        return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state


class OrtEncoder(nn.Module):
    """An ONNX Runtime session where the model expects its encoder."""

    def __init__(self, path: Path, threads: int, config):
        super().__init__()
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.config = config

    def forward(self, input_ids, attention_mask):
        hidden = self.session.run(None, {"input_ids": input_ids.numpy(), "attention_mask": attention_mask.numpy()})[0]
        return EncoderOutput(torch.from_numpy(hidden))


def export(model_dir: Path, work: Path) -> tuple[Path, Path]:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model, _, _ = load_model_dir(model_dir, cpu_inference=False)
    wrapper = _Export(model.encoder).eval()
    ids = torch.ones((2, 16), dtype=torch.long)
    fp32 = work / "encoder.onnx"
    torch.onnx.export(wrapper, (ids, torch.ones_like(ids)), str(fp32), input_names=["input_ids", "attention_mask"],
                      output_names=["hidden"], opset_version=17, dynamo=False,
                      dynamic_axes={"input_ids": {0: "batch", 1: "length"}, "attention_mask": {0: "batch", 1: "length"},
                                    "hidden": {0: "batch", 1: "length"}})
    int8 = work / "encoder-int8.onnx"
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    return fp32, int8


def timed(annotator: Annotator, documents: list[Document]) -> tuple[float, list[dict]]:
    began = time.perf_counter()
    records = [annotation_record(d, annotator.model_version, annotator.source)
               for d in annotator.annotate_many(documents)]
    return time.perf_counter() - began, records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=Path, default=DEFAULT_ARTICLES)
    parser.add_argument("--limit", type=int, default=120)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    documents = [Document(p.name, p.read_text(encoding="utf-8"))
                 for p in sorted(args.articles.glob("*.txt"))[: args.limit]]
    model_dir = current_model_dir()
    name, flags = cpu_description()
    paths: dict[str, Annotator] = {"oneDNN fp32 (inference_encoder)": Annotator.load(model_dir, precision="fp32")}
    if flags & {"amx_bf16", "avx512_bf16"}:
        paths["oneDNN bf16 (inference_encoder)"] = Annotator.load(model_dir, precision="bf16")
    with tempfile.TemporaryDirectory() as scratch:
        fp32, int8 = export(model_dir, Path(scratch))
        for label, path in (("ONNX Runtime fp32", fp32), ("ONNX Runtime int8 (dynamic)", int8)):
            annotator = Annotator.load(model_dir, precision="fp32")
            annotator.model.encoder = OrtEncoder(path, args.threads, annotator.model.encoder.config)
            paths[label] = annotator
        for annotator in paths.values():  # warm-up (packing, sessions)
            list(annotator.annotate_many(documents[:2]))
        results = {label: timed(annotator, documents) for label, annotator in paths.items()}
    reference = next(iter(results.values()))[1]
    n = sum(len(r["sentences"]) for r in reference)
    print(f"CPU: {name}; flags: " + ", ".join(f for f in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16",
                                                            "amx_int8") if f in flags))
    print(f"{len(documents)} articles, {n} sentences, {args.threads} threads, {model_dir.name}; in-process "
          "annotate_many (segmenting, windows, forward, decoding), start-up not counted")
    print(f"{'':<34}{'seconds':>8}{'sent/s':>8}{'same labels':>12}{'span Jacc.':>11}")
    for label, (seconds, records) in results.items():
        same, jaccard = agreement(reference, records)
        print(f"{label:<34}{seconds:>8.1f}{n / seconds:>8.1f}{same:>12.4f}{jaccard:>11.4f}")


if __name__ == "__main__":
    main()
