"""What does the clean-up of decoded spans change? Raw runs against clean spans, from one forward pass.

Run from the repository root (by hand, about a minute): ``python benchmarks/clean_spans.py [--model DIR]
[--split test] [--data ../shared/data]``. On the model's held-out PTC articles, the same token scores are
decoded twice: raw (every run of tokens above threshold, as decoding was before the clean-up) and clean
(``pipeline.model.decode``: no span crossing a sentence boundary, none made only of stop words, no two with the
same label and range). Prints, for each: span count, how many break each invariant, blamed actors more than 200
characters from their span, and the PTC scores (SI precision / recall / F1, technique-aware span F1, SLC F1).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from pipeline.cli.evaluate import UNITS, load_gold, select_split  # noqa: E402
from pipeline.data_root import data_root  # noqa: E402
from pipeline.document import Document  # noqa: E402
from pipeline.evaluate import evaluate_documents  # noqa: E402
from pipeline.model.annotator import Annotator  # noqa: E402
from pipeline.model.decode import is_content  # noqa: E402
from pipeline.model.registry import current_model_dir  # noqa: E402
from pipeline.taxonomy import load_taxonomy  # noqa: E402


def problems(documents: list[Document]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for document in documents:
        bounds = [(s.start, s.end) for s in document.sentences]
        seen = set()
        for span in document.spans:
            counts["spans"] += 1
            key = (span.start, span.end, span.label)
            counts["duplicate label and range"] += key in seen
            seen.add(key)
            counts["3 characters or fewer"] += span.end - span.start <= 3
            counts["only stop words or punctuation"] += not is_content(document.text[span.start:span.end])
            counts["crosses a sentence boundary"] += not any(a <= span.start and span.end <= b for a, b in bounds)
            actor = span.attributes.get("actor")
            if actor:
                counts["blamed actors"] += 1
                distance = max(0, actor["start"] - span.end, span.start - actor["end"])
                counts["actor > 200 characters away"] += distance > 200
    return dict(counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--split", default="test", choices=["test", "validation", "all"])
    parser.add_argument("--data", type=Path, default=None, help="data root (default: $FRAMING_DATA_ROOT)")
    args = parser.parse_args()
    model = (args.model or current_model_dir()).resolve()
    ptc = (args.data or data_root()) / "ptc"
    taxonomy = load_taxonomy()
    gold = list(load_gold("ptc", ptc / "train-articles", ptc / "train-task2-TC.labels", taxonomy=taxonomy, errors=[]))
    if args.split != "all":
        gold = select_split(gold, model, args.split)
    labels = taxonomy.annotated_ids("ptc")
    annotator = Annotator.load(model, all_scores=True)
    raw, clean = [], []
    for document, offsets, token_probs, sentence_probs in annotator.raw_scores(Document(d.id, d.text) for d in gold):
        annotator.clean_spans = False
        raw.append(annotator._assemble(document, offsets, token_probs, sentence_probs))
        annotator.clean_spans = True
        clean.append(annotator._assemble(document, offsets, token_probs, sentence_probs))
    report = {}
    for name, predicted in (("raw", raw), ("clean", clean)):
        metrics = evaluate_documents(predicted, gold, labels=labels, **UNITS["ptc"])
        report[name] = {**problems(predicted), **{k: round(metrics[k], 4) for k in (
            "si_precision", "si_recall", "si_f1", "span_f1", "slc_f1")}}
    print(json.dumps({"model": model.name, "split": args.split, "articles": len(gold), **report}, indent=1))


if __name__ == "__main__":
    main()
