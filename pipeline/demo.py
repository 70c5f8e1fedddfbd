"""`make demo`: the main job on the bundled example articles.

Annotates `examples/articles/` with the current model, writes the records and a readable summary to
`out/demo/`, prints the summary, writes the article view (`out/demo/view/index.html`) and the corpus report
(`out/demo/report/index.html`) and prints where they are, then starts the local Label Studio server (SQLite,
data under `.framing/`) and pushes the documents with the model's predictions into the project "framing-demo",
ready for correction.
Set FRAMING_DEMO_LABEL_STUDIO=0 to skip the Label Studio part. Run as `python -m pipeline.demo`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pipeline.batch import annotate_to_file
from pipeline.io import read_documents, read_records
from pipeline.model.annotator import Annotator
from pipeline.summary import render_summary
from pipeline.taxonomy import load_taxonomy
from pipeline.views.article import write_site
from pipeline.views.corpus_report import write_report
from pipeline.views.records import read_view_documents

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = REPO_ROOT / "examples" / "articles"
OUT = REPO_ROOT / "out" / "demo"
DEMO_PROJECT = "framing-demo"


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
    site, report = write_views(records_path)
    print(f"article view: {site}")
    print(f"corpus report: {report}")
    if os.environ.get("FRAMING_DEMO_LABEL_STUDIO", "1") != "0":
        push_to_label_studio(records_path)
    return 0


def write_views(records_path: Path) -> tuple[Path, Path]:
    """The article view and the corpus report of the annotated examples; returns their index.html paths."""
    taxonomy = load_taxonomy()
    site = write_site(read_view_documents([records_path]), OUT / "view", taxonomy=taxonomy,
                      title="Framing devices in the example articles")
    report = write_report(read_view_documents([records_path]), OUT / "report", taxonomy=taxonomy,
                          view_dir=str(OUT / "view"), title="Framing devices in the example articles: report")
    return site.index, report.html


def push_to_label_studio(records_path: Path) -> None:
    """Start (or reuse) the local Label Studio server and push the annotated examples into a project."""
    from pipeline.cli import cli

    print("\nStarting the local Label Studio server (the first start migrates its database: up to a few minutes)")
    cli.main(["ls", "up"], prog_name="framing", standalone_mode=False)
    cli.main(["ls", "push", str(records_path), "--project", DEMO_PROJECT, "--no-progress"], prog_name="framing",
             standalone_mode=False)
    print(f"Open the project {DEMO_PROJECT!r} in Label Studio to correct the predictions; afterwards:")
    print(f"  .venv/bin/framing ls pull --project {DEMO_PROJECT}   # corrections -> annotations/labelstudio/")
    print(f"  .venv/bin/framing retrain --project {DEMO_PROJECT}   # train, compare, promote")
    print("  .venv/bin/framing ls down                            # stop the server")


if __name__ == "__main__":
    sys.exit(main())
