"""``framing evaluate``: score predictions, or a model, against a research corpus' gold spans."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import click

from pipeline.cli.options import device_option
from pipeline.document import Document, OffsetError
from pipeline.errors import InputError

# The reference units of each corpus: PTC's lines are the sentences NLP4IF-2019 scored, and it has no
# paragraphs apart from them; SemEval-2023's lines are the paragraphs its task scored.
UNITS = {
    "ptc": {"sentences": "lines", "paragraphs": "lines"},
    "semeval2023": {"sentences": "segment", "paragraphs": "lines"},
}
_SHOWN_IDS = 5


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--format", "corpus_format", type=click.Choice([*sorted(UNITS), "standoff"]), required=True,
              help="The layout of the gold labels (see the data README); standoff = the team's sentence "
                   "annotations (annotations/seed/*.jsonl), scored on the annotated sentences only.")
@click.option("--articles", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Directory of article<ID>.txt files (for standoff: the data root holding the corpora, "
                   "default ../shared/data or $FRAMING_DATA_ROOT).")
@click.option("--labels", "labels_path", type=click.Path(exists=True, path_type=Path), required=True,
              help="Gold technique labels: for ptc the TC labels file (article id, technique, start, "
                   "end); for semeval2023 the directory of article<ID>-labels-subtask-3.txt files, or one "
                   "such file.")
@click.option("--predictions", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Annotated records (JSONL or Parquet) as `framing annotate` writes them.")
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A model directory: annotate the articles with it, then score.")
@click.option("--split", type=click.Choice(["all", "test", "validation"]), default="all", show_default=True,
              help="With --model: score only the documents the model held out as its test (never trained or "
                   "tuned on) or validation split (with --format standoff: the units in those documents).")
@click.option("--record", "record_name", metavar="NAME", default=None,
              help="With --model: also store the metrics under NAME in the model directory and its model card.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@click.option("--examples", type=click.IntRange(0, 1000), default=0, show_default=True,
              help="With --format standoff: also list up to N sentences per label the model got right and N it "
                   "got wrong (misses and false alarms), for error analysis.")
@click.option("--taxonomy", "taxonomy_path", type=click.Path(exists=True, dir_okay=False),
              help="Taxonomy file (default: $FRAMING_TAXONOMY, else annotations/taxonomy.yaml).")
@device_option
def evaluate(
    corpus_format: str,
    articles: Path | None,
    labels_path: Path,
    predictions: Path | None,
    model_dir: Path | None,
    split: str,
    record_name: str | None,
    as_json: bool,
    examples: int,
    taxonomy_path: str | None,
    device: str,
) -> None:
    """Score span identification (SI), technique-aware span F1, technique classification (TC),
    sentence-level propaganda (SLC) and per-sentence / per-paragraph micro- and macro-F1, overall and per
    label, of --predictions or of --model against the gold labels of --articles.

    Only the labels the corpus annotates are scored: a prediction of another label (blame, say) is left
    out, not counted as a false positive. SI and SLC ignore labels: they count every predicted span of a
    technique the corpus annotates, also inside a merged label (PTC's Whataboutism,Straw_Men,Red_Herring).
    Problems with single records are reported on standard error, and those records skipped.
    """
    from pipeline.evaluate import evaluate_documents
    from pipeline.progress import echo
    from pipeline.taxonomy import load_taxonomy

    if (predictions is None) == (model_dir is None):
        raise click.UsageError("give exactly one of --predictions FILE or --model DIR")
    if split != "all" and model_dir is None:
        raise click.UsageError("--split needs --model (the split is recorded in the model directory)")
    if record_name and model_dir is None:
        raise click.UsageError("--record needs --model")
    if corpus_format == "standoff":
        metrics = evaluate_seed(labels_path, articles, model_dir, as_json, device, examples, split)
        if record_name:  # examples are for reading, not for the model card
            record_metrics(model_dir, record_name, {k: v for k, v in metrics.items() if k != "examples"})
        return
    if articles is None:
        raise click.UsageError(f"--format {corpus_format} needs --articles DIR")
    taxonomy = load_taxonomy(taxonomy_path)
    problems: list[str] = []
    gold = list(load_gold(corpus_format, articles, labels_path, taxonomy=taxonomy, errors=problems))
    if split != "all":
        gold = select_split(gold, model_dir, split)
    if not gold:
        raise InputError(f"{articles}: no article<ID>.txt files to evaluate on")
    labels = taxonomy.annotated_ids(corpus_format)
    if predictions is not None:
        predicted: Iterable[Document] = read_predictions(predictions, problems)
    else:
        predicted = run_model(model_dir, gold, labels, device)
    metrics = evaluate_documents(predicted, gold, labels=labels, span_labels=taxonomy.covered_ids(corpus_format),
                                 **UNITS[corpus_format])
    for problem in problems:
        echo(f"warning: {problem}")
    for key, what in (("missing_predictions", "articles have no prediction (scored as predicting nothing)"),
                      ("unmatched_predictions", "predictions match no article (ignored)")):
        if metrics[key]:
            echo(f"warning: {len(metrics[key])} {what}: {_some(metrics[key])}")
    click.echo(json.dumps(metrics, indent=2) if as_json else format_metrics(metrics))
    if record_name:
        record_metrics(model_dir, record_name, metrics)


def record_metrics(model_dir: Path, name: str, metrics: dict[str, Any]) -> None:
    """Store ``metrics`` (with the command that produced them) in the model directory and re-render its card."""
    import sys

    from pipeline.model.card import write_model_card
    from pipeline.model.config import load_config
    from pipeline.model.store import read_meta, write_meta

    meta = read_meta(model_dir)
    kept = {k: v for k, v in metrics.items() if k not in ("missing_predictions", "unmatched_predictions")}
    command = "framing " + " ".join(sys.argv[1:]) if sys.argv[1:] else "framing evaluate"
    meta.metrics.setdefault("recorded_evaluations", {})[name] = {"command": command, "metrics": kept}
    write_meta(model_dir, meta)
    config_file = Path(model_dir) / "config.yaml"
    write_model_card(model_dir, meta, load_config(config_file) if config_file.exists() else None)


def select_split(gold: list[Document], model_dir: Path, split: str) -> list[Document]:
    """The gold documents the model kept out of training as its ``split``."""
    wanted = held_out_ids(model_dir, split)
    return [doc for doc in gold if doc.id in wanted]


def held_out_ids(model_dir: Path, split: str) -> set[str]:
    """The training ids of the documents ``model_dir`` held out as its ``split`` ("test" or "validation")."""
    from pipeline.model.store import read_meta

    meta = read_meta(model_dir)
    wanted = set(meta.test_documents if split == "test" else meta.validation_documents)
    if not wanted:
        raise InputError(f"{model_dir} records no {split} documents (trained with {split}_fraction 0?)")
    return wanted


def evaluate_seed(labels_path: Path, data_root: Path | None, model_dir: Path | None, as_json: bool,
                  device: str = "cpu", examples: int = 0, split: str = "all") -> dict[str, Any]:
    """Per-device scores of a model on stand-off sentence annotations (the team's seed test set; with ``split``,
    only the units of the training file's documents the model held out as that split)."""
    from pipeline.evaluate.standoff import evaluate_standoff, format_standoff
    from pipeline.model.annotator import Annotator
    from pipeline.standoff import load_standoff

    if model_dir is None:
        raise click.UsageError("--format standoff scores a --model (records hold no unit boundaries)")
    units = load_standoff(labels_path, data_root)
    if split != "all":
        from pipeline.standoff import units_in_documents

        units = units_in_documents(units, held_out_ids(model_dir, split))
        if not units:
            raise InputError(f"{labels_path}: no unit lies in a document of {model_dir}'s {split} split")
    annotator = Annotator.load(model_dir, device=device)
    labels = sorted({span.label for unit in units for span in unit.spans})
    metrics = evaluate_standoff(annotator, units, labels, data_root, examples=examples)
    metrics["model_version"] = annotator.model_version
    click.echo(json.dumps(metrics, indent=2) if as_json else format_standoff(metrics))
    return metrics


def load_gold(corpus_format: str, articles: Path, labels_path: Path, *, taxonomy, errors: list[str]
              ) -> Iterator[Document]:
    """The gold documents of an articles directory and a labels file or directory, as ``load_corpus`` reads
    them (same checks, trimming and label mapping) but from paths the user names: ``load_corpus`` wants the
    corpus root with its standard file names."""
    from pipeline.corpora.common import Problems, TechniqueRows, article_files, read_rows, readable_texts

    problems = Problems(corpus_format, errors)
    files = article_files(articles, problems)
    rows = TechniqueRows(corpus_format, taxonomy, files, problems)
    label_files = sorted(labels_path.glob("*.txt")) if labels_path.is_dir() else [labels_path]
    if not label_files:
        raise InputError(f"{labels_path}: no label files (*.txt) in this directory")
    for label_file in label_files:
        for number, row in read_rows(label_file, problems):
            rows.add(f"{label_file}:{number}", row)
    for doc_id, file, text in readable_texts(files, problems):
        metadata = {"corpus": corpus_format, "file": str(file)}
        yield Document(doc_id, text, metadata, spans=rows.spans(doc_id, text))


def read_predictions(path: Path, errors: list[str]) -> Iterator[Document]:
    """Documents of an annotated-record file; a record that is no valid document is reported and skipped."""
    from pipeline.io import read_records

    def bad_line(message: str) -> None:
        errors.append(f"{message}; record skipped")

    for number, record in enumerate(read_records(path, on_error=bad_line), start=1):
        try:
            yield Document.from_dict(record)
        except (KeyError, TypeError, ValueError, OffsetError) as error:
            reason = f"missing field {error}" if isinstance(error, KeyError) else str(error)
            errors.append(f"{path}: record {number} (id {record.get('id')!r}): {reason}; record skipped")


def run_model(model_dir: Path, gold: list[Document], labels: Iterable[str], device: str = "cpu"
              ) -> Iterator[Document]:
    """The model's predictions on the gold texts (the gold spans are not shown to it)."""
    from pipeline.model.annotator import Annotator
    from pipeline.progress import echo, progress

    annotator = Annotator.load(model_dir, device=device, all_scores=True)  # every label's sentence score helps TC
    if not set(annotator.labels) & set(labels):
        echo(f"warning: the model in {model_dir} emits none of the labels this corpus annotates "
             f"(it emits: {', '.join(annotator.labels) or 'nothing'}), so none of its predictions is scored")
    texts = (Document(doc.id, doc.text) for doc in gold)
    return progress(annotator.annotate_many(texts), total=len(gold), desc="annotating")


_OVERALL = (
    ("span identification (SI)", "si"),
    ("technique-aware spans", "span"),
    ("technique classification (TC)", "tc"),
    ("sentence propaganda (SLC)", "slc"),
    ("sentence labels, micro", "sentence_micro"),
    ("paragraph labels, micro", "paragraph_micro"),
)


def format_metrics(metrics: dict[str, Any]) -> str:
    """The metrics as a plain-text table: overall scores, then one row per label."""
    header = f"{'metric':<32}{'precision':>10}{'recall':>10}{'f1':>10}"
    lines = [f"{metrics['documents']} documents", "", header]
    for title, key in _OVERALL:
        lines.append(f"{title:<32}{metrics[key + '_precision']:>10.4f}{metrics[key + '_recall']:>10.4f}"
                     f"{metrics[key + '_f1']:>10.4f}")
    for unit in ("sentence", "paragraph"):
        lines.append(f"{unit + ' labels, macro':<32}{'':>20}{metrics[unit + '_macro_f1']:>10.4f}")
    columns = (("support", "support", "d"), ("span P", "precision", ".4f"), ("span R", "recall", ".4f"),
               ("span F1", "f1", ".4f"), ("TC F1", "tc_f1", ".4f"), ("sent F1", "sentence_f1", ".4f"),
               ("para F1", "paragraph_f1", ".4f"))
    width = max([len("label"), *map(len, metrics["per_label"])]) + 2
    lines += ["", f"{'label':<{width}}" + "".join(f"{title:>9}" for title, _, _ in columns)]
    for label, row in metrics["per_label"].items():
        lines.append(f"{label:<{width}}" + "".join(f"{row[key]:>9{fmt}}" for _, key, fmt in columns))
    if metrics["ignored_predictions"]:
        ignored = ", ".join(f"{label} {count}" for label, count in metrics["ignored_predictions"].items())
        lines += ["", f"predicted spans of labels the corpus does not annotate (left out): {ignored}"]
    return "\n".join(lines)


def _some(ids: list[str]) -> str:
    shown = ", ".join(ids[:_SHOWN_IDS])
    return shown + (f" and {len(ids) - _SHOWN_IDS} more" if len(ids) > _SHOWN_IDS else "")
