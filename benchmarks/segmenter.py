"""Benchmark the sentence segmenter against the PTC sentence lines, next to pysbd and syntok.

Run from the repository root: ``python benchmarks/segmenter.py [--data ../shared/data] [--json out.json]``.

What is measured, in one run on the same text (the 371 SemEval-2023 English training articles):

* Boundary precision, recall and F1 against the PTC sentence lines. PTC holds the same articles with one
  NLTK-split sentence per line; SemEval-2023 holds them with one paragraph per line, which is what a
  segmenter sees in practice. Each segmenter splits the SemEval-2023 text; the reference is PTC's lines.
  NLTK's splits are not gold, so this measures agreement, not correctness (the tricky-case suite in
  ``tests/segment_cases.yaml`` is the quality bar).
  "F1 in-para" scores only the boundaries inside SemEval-2023 paragraphs (lines), the hard part: every
  paragraph start is a boundary in both files and is easy to find.
* Throughput: characters (and UTF-8 megabytes) per second of CPU time of this single-threaded process,
  splitting the articles one at a time into sentence start offsets. CPU time rather than wall time, so
  that other work on a shared machine disturbs the figure less.

Alignment. The two files of an article differ in whitespace (PTC has line breaks where SemEval-2023 has
spaces, and NLTK's detokenisation left extra spaces such as ``what? !”``) and, in one article, in a few
characters (``.....`` against ``……..``). So both texts are reduced to their non-whitespace characters
(``str.isspace()`` plus zero-width space, word joiner and BOM) and a boundary is the non-whitespace index
at which a sentence starts (the start of the text excluded; paragraph starts included, since a segmenter
must keep them). Where the reduced texts differ, ``difflib.SequenceMatcher`` maps reference indices onto
the SemEval-2023 side, and boundaries inside non-matching stretches are left out of both sides.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
import time
from collections.abc import Callable, Iterable
from itertools import accumulate
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from pipeline.segment import iter_sentence_offsets  # noqa: E402

_INVISIBLE = "\u200b\u2060\ufeff"

SentenceStarts = Callable[[str], Iterable[int]]


def ours(text: str) -> Iterable[int]:
    return [start for start, _ in iter_sentence_offsets(text)]


def pysbd_starts() -> SentenceStarts | None:
    try:
        import pysbd
    except ImportError:
        return None
    segmenter = pysbd.Segmenter(language="en", clean=False, char_span=True)
    return lambda text: [span.start for span in segmenter.segment(text)]


def syntok_starts() -> SentenceStarts | None:
    try:
        from syntok import segmenter
    except ImportError:
        return None

    def starts(text: str) -> list[int]:
        return [sentence[0].offset for paragraph in segmenter.analyze(text) for sentence in paragraph]

    return starts


def nonblank_index(text: str) -> list[int]:
    """``index[i]`` is the number of non-whitespace characters in ``text[:i]``."""
    return [0, *accumulate(not (c.isspace() or c in _INVISIBLE) for c in text)]


def squeeze(text: str) -> str:
    return "".join(c for c in text if not (c.isspace() or c in _INVISIBLE))


def reference_starts(ptc_text: str) -> list[int]:
    starts, position = [], 0
    for line in ptc_text.splitlines(keepends=True):
        if line.strip():
            starts.append(position + len(line) - len(line.lstrip()))
        position += len(line)
    return starts


def boundaries(text: str, starts: Iterable[int]) -> set[int]:
    index = nonblank_index(text)
    return {index[s] for s in starts} - {0}


def aligned(reference: set[int], ref_text: str, test_text: str) -> tuple[set[int], set[int] | None]:
    """Map reference boundaries onto ``test_text``'s non-blank index; also return the test-side indices
    that are comparable (None when the texts match exactly)."""
    a, b = squeeze(ref_text), squeeze(test_text)
    if a == b:
        return reference, None
    mapped, comparable = set(), set()
    for block in difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks():
        comparable.update(range(block.b + 1, block.b + block.size))
        mapped.update(r - block.a + block.b for r in reference if block.a < r < block.a + block.size)
    return mapped, comparable


def load_pairs(data: Path) -> list[tuple[str, str, str]]:
    semeval_dir = data / "semeval2023-task3-en" / "train-articles"
    ptc_dir = data / "ptc" / "train-articles"
    pairs = []
    for path in sorted(semeval_dir.glob("article*.txt")):
        ptc_path = ptc_dir / path.name
        if ptc_path.exists():
            pairs.append((path.stem, path.read_text(encoding="utf-8"), ptc_path.read_text(encoding="utf-8")))
    return pairs


def evaluate(name: str, starts_of: SentenceStarts, pairs: list[tuple[str, str, str]]) -> dict:
    texts = [text for _, text, _ in pairs]
    began = time.process_time()
    predicted = [list(starts_of(text)) for text in texts]
    seconds = time.process_time() - began
    every, inside = Counts(), Counts()
    for (_, text, ptc_text), starts in zip(pairs, predicted, strict=True):
        reference, comparable = aligned(boundaries(ptc_text, reference_starts(ptc_text)), ptc_text, text)
        found = boundaries(text, starts)
        if comparable is not None:
            found &= comparable
            reference &= comparable
        every.add(found, reference)
        paragraph_starts = boundaries(text, reference_starts(text))
        inside.add(found - paragraph_starts, reference - paragraph_starts)
    chars = sum(len(text) for text in texts)
    megabytes = sum(len(text.encode("utf-8")) for text in texts) / 1e6
    return {
        "segmenter": name,
        **every.scores(),
        "f1_inside_paragraphs": inside.scores()["f1"],
        "mb_per_s": round(megabytes / seconds, 3),
        "chars_per_s": round(chars / seconds),
        "cpu_seconds": round(seconds, 3),
        "articles": len(texts),
        "reference_boundaries": every.reference,
        "reference_boundaries_inside_paragraphs": inside.reference,
    }


class Counts:
    """Boundary counts summed over articles (micro-averaged precision, recall, F1)."""

    def __init__(self) -> None:
        self.true_positives = self.predicted = self.reference = 0

    def add(self, found: set[int], reference: set[int]) -> None:
        self.true_positives += len(found & reference)
        self.predicted += len(found)
        self.reference += len(reference)

    def scores(self) -> dict[str, float]:
        precision = self.true_positives / self.predicted if self.predicted else 0.0
        recall = self.true_positives / self.reference if self.reference else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO_ROOT.parent / "shared" / "data")
    parser.add_argument("--json", type=Path, help="also write the results table as JSON to this path")
    parser.add_argument("--only", choices=["ours", "pysbd", "syntok"], action="append",
                        help="run only these segmenters (repeatable; default: all)")
    args = parser.parse_args(argv)
    pairs = load_pairs(args.data)
    if not pairs:
        print(f"error: no SemEval-2023/PTC article pairs under {args.data} (expected "
              "semeval2023-task3-en/train-articles and ptc/train-articles)", file=sys.stderr)
        return 2
    candidates = {"ours": ours, "pysbd": pysbd_starts(), "syntok": syntok_starts()}
    rows = []
    for name, starts_of in candidates.items():
        if args.only and name not in args.only:
            continue
        if starts_of is None:
            print(f"note: {name} is not installed (pip install -e '.[bench]'); skipped", file=sys.stderr)
            continue
        rows.append(evaluate(name, starts_of, pairs))
    print(f"{len(pairs)} articles, {sum(len(t) for _, t, _ in pairs):,} characters; reference: PTC lines")
    print(f"{'segmenter':<10} {'P':>6} {'R':>6} {'F1':>6} {'F1 in-para':>10} {'MB/s':>7} {'chars/s':>10}")
    for row in rows:
        print(f"{row['segmenter']:<10} {row['precision']:>6.3f} {row['recall']:>6.3f} {row['f1']:>6.3f} "
              f"{row['f1_inside_paragraphs']:>10.3f} {row['mb_per_s']:>7.3f} {row['chars_per_s']:>10,}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
