"""`make demo`: the main job on the bundled example articles.

Annotates `examples/articles/` with the current model, writes the records and a readable summary to
`out/demo/`, and prints the summary. Run as `python -m pipeline.demo`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pipeline.batch import annotate_to_file
from pipeline.io import read_documents, read_records
from pipeline.model.annotator import Annotator
from pipeline.summary import render_summary
from pipeline.taxonomy import load_taxonomy

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = REPO_ROOT / "examples" / "articles"
OUT = REPO_ROOT / "out" / "demo"


def main() -> int:
    annotator = Annotator.load()
    records_path = OUT / "annotated.jsonl"
    count = sum(1 for _ in annotate_to_file(read_documents([str(EXAMPLES)]), annotator, records_path))
    summary = render_summary(read_records(records_path), load_taxonomy())
    summary_path = OUT / "summary.md"
    summary_path.write_text(summary, encoding="utf-8")
    print(summary)
    print(f"\n{count} example articles annotated with {annotator.model_version}")
    print(f"records: {records_path.relative_to(REPO_ROOT)}  summary: {summary_path.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
