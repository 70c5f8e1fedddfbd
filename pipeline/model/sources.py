"""Training data of a config: load every source, mark what each annotates, split by document, make windows."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from pipeline.corpora import CORPUS_FORMATS, load_corpus
from pipeline.data_root import missing_data_message
from pipeline.document import Document
from pipeline.errors import ConfigError
from pipeline.model.config import DataSource, TrainConfig
from pipeline.training_data import (
    ACTOR_TARGET,
    ANNOTATED_LABELS,
    ANNOTATED_RANGES,
    BLAME_LABEL,
    SENTENCE_ONLY_LABELS,
    actor_spans,
    count_positive_sentences,
    iter_window_rows,
    split_keeping_out_of_test,
    with_sentences,
)


@dataclass
class PreparedData:
    labels: list[str]
    train_rows: list[dict]
    validation_rows: list[dict]
    train_ids: list[str]
    validation_ids: list[str]
    train_support: dict[str, int]
    test_ids: list[str] = field(default_factory=list)
    auxiliary: list[str] = field(default_factory=list)
    taxonomy_path: Path | None = None
    parent_version: str | None = None
    snapshot: dict = field(default_factory=dict)
    validation_documents: list[Document] = field(default_factory=list)


def load_source(source: DataSource, config: TrainConfig, labels: list[str], taxonomy=None) -> list[Document]:
    """Documents of one source, with gold spans restricted to ``labels`` and the labels it annotates marked."""
    path = config.resolve_data(source.path)
    if not path.exists():
        raise ConfigError(missing_data_message(source.format, path))
    if source.format in CORPUS_FORMATS:
        documents = list(load_corpus(source.format, path, taxonomy=taxonomy))
    elif source.format == "records":
        from pipeline.io import read_records

        documents = [Document.from_dict(record) for record in read_records(path)]
    elif source.format == "standoff":
        from pipeline.standoff import load_standoff, standoff_document_id, to_documents

        # the team's annotations are the gold of this source (ids: ``standoff_document_id``). The whole text is
        # kept and segmented as `framing annotate` segments it, so the annotated sentences are read in their
        # context; the sentences outside the annotated ranges are unknown, never negatives.
        documents = [
            Document(standoff_document_id(d.metadata["corpus"], d.id), d.text, d.metadata, (),
                     [replace(s, source="gold") for s in d.spans])
            for d in to_documents(load_standoff(path))
        ]
    elif source.format == "texts":
        from pipeline.io.problems import ErrorReport
        from pipeline.io.text import read_text_directory

        # doc_id: the file's path without its suffix, as stand-off files name documents, so that ``exclude`` and
        # ``distil.held_out`` can name a text file
        documents = [Document(f"texts:{d.id}", d.text, {"doc_id": str(Path(d.id).with_suffix(""))})
                     for d in read_text_directory(path, "strict", ErrorReport())]
    else:
        valid = ", ".join((*CORPUS_FORMATS, "records", "standoff", "texts"))
        raise ConfigError(f"unknown data source format {source.format!r}; valid: {valid}")
    if source.excluded_files:
        from pipeline.standoff import annotated_document_ids

        held_out = annotated_document_ids(config.resolve_data(file) for file in source.excluded_files)
        documents = [d for d in documents if corpus_document_id(d) not in held_out and d.id not in held_out]
    wanted = set(labels)
    if source.supervision == "teacher":  # the text only: the distillation teacher gives every target
        return [d.with_spans([]).with_metadata(**{ANNOTATED_LABELS: []}) for d in documents]
    if source.supervision == "entity-roles":
        if source.format != "semeval2025":
            raise ConfigError(f"data source {source.path}: supervision 'entity-roles' needs format semeval2025")
        return [entity_role_evidence(d) for d in documents] if BLAME_LABEL in wanted else []
    if source.labels is not None:
        unknown = sorted(set(source.labels) - wanted)
        if unknown:
            raise ConfigError(f"data source {source.path}: labels {unknown} are not in the model's label set")
    observed = {s.label for d in documents for s in d.spans_from("gold") if s.label in wanted}
    result = []
    for document in documents:
        declared = document.metadata.get(ANNOTATED_LABELS)
        if source.labels is not None:
            marked = set(source.labels)
        elif declared is not None:
            marked = set(declared) & wanted
        else:
            marked = observed
        gold = [s for s in document.spans_from("gold") if s.label in marked]
        result.append(document.with_spans(gold).with_metadata(**{ANNOTATED_LABELS: sorted(marked)}))
    return result


def entity_role_evidence(document: Document) -> Document:
    """Weak blame supervision from SemEval-2025 entity roles: sentences that mention an entity are annotated
    (the others are unknown); a sentence naming an entity in a blame role (see the taxonomy's semeval2025 table)
    is a blame sentence, and the mention is its blamed actor. Tokens are not trained as blame: the mention is the
    actor, not the words that blame it."""
    from pipeline.corpora.semeval2025 import MENTION_KIND
    from pipeline.segment import segment_document

    document = segment_document(document) if not document.sentences else document
    mentions = [s for s in document.spans_from("gold") if s.attributes.get("kind") == MENTION_KIND]
    ranges = sorted({(sentence.start, sentence.end) for sentence in document.sentences
                     for m in mentions if sentence.start <= m.start < sentence.end})
    blame = [
        replace(m, source="gold", attributes={"actor": {"start": m.start, "end": m.end}, **m.attributes})
        for m in mentions if m.label == BLAME_LABEL
    ]
    return document.with_spans(blame).with_metadata(**{
        ANNOTATED_LABELS: [BLAME_LABEL], ANNOTATED_RANGES: [list(r) for r in ranges],
        SENTENCE_ONLY_LABELS: [BLAME_LABEL],
    })


def check_sources(config: TrainConfig) -> None:
    """Refuse a config whose data sources cannot be read, before anything is written (one line per problem)."""
    problems = []
    for source in config.data:
        for path in (source.path, *source.excluded_files):
            if not config.resolve_data(path).exists():
                problems.append(missing_data_message(source.format, config.resolve_data(path)))
    if problems:
        raise ConfigError("\n".join(problems))


def supervised_windows(documents: Iterable[Document], tokenizer, labels: list[str], hp,
                       auxiliary: list[str], transform: Callable[[dict], dict] | None = None) -> list[dict]:
    """Training window rows of segmented documents (each passed through ``transform``, if given); a window
    without a single supervised (sentence, label) pair teaches nothing and is skipped."""
    rows = iter_window_rows(documents, tokenizer, labels, max_tokens=hp.max_tokens, stride=hp.stride,
                            auxiliary=auxiliary)
    if transform is not None:
        rows = map(transform, rows)
    return [row for row in rows if any(any(flags) for flags in row["sentence_supervised"])]


def distilled_windows(config: TrainConfig, documents: list[Document], tokenizer, labels: list[str], hp,
                      auxiliary: list[str], *, progress: bool = False) -> list[dict]:
    """Training windows whose targets blend gold with the teacher's scores (``pipeline.model.distil``); only the
    training documents are shown to the teacher, never validation or test ones."""
    from pipeline.model.distil import load_teacher, score_documents, soften_row
    from pipeline.progress import progress as progress_bar
    from pipeline.standoff import annotated_document_ids

    settings = config.distil
    teacher = load_teacher(config.resolve(settings.teacher), settings.device, settings.precision)
    held_out = annotated_document_ids(config.resolve_data(path) for path in settings.held_out)
    taught = [d for d in documents if corpus_document_id(d) not in held_out]
    shown = progress_bar(taught, total=len(taught), desc=f"teacher {teacher.model_version}", enabled=progress)
    scores = score_documents(teacher, shown, labels, settings.labels)

    def blend(row: dict) -> dict:  # a held-out text keeps its gold supervision only
        return soften_row(row, scores[row["doc_id"]], settings.weight) if row["doc_id"] in scores else row

    return supervised_windows(documents, tokenizer, labels, hp, auxiliary, transform=blend)


def corpus_document_id(document: Document) -> str:
    """The id a document has in its corpus (a stand-off or seed copy's ``doc_id``), by which held-out sets name
    it."""
    return document.metadata.get("doc_id", document.id)


def _digest(paths: Iterable[Path]) -> str:
    hasher = hashlib.sha256()
    for path in sorted(paths):
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            hasher.update(str(file.relative_to(path) if path.is_dir() else file.name).encode())
            hasher.update(file.read_bytes())
    return hasher.hexdigest()[:16]


def prepare(config: TrainConfig, tokenizer, *, progress: bool = False) -> PreparedData:
    from pipeline.taxonomy import load_taxonomy

    taxonomy_path = config.resolve(config.taxonomy) if config.taxonomy else None
    taxonomy = load_taxonomy(taxonomy_path)
    labels = list(config.labels) if config.labels else list(taxonomy.ids)
    unknown = sorted(set(labels) - set(taxonomy.ids))
    if unknown:
        raise ConfigError(f"labels {unknown} are not in the taxonomy ({', '.join(taxonomy.ids)})")
    if not config.data:
        raise ConfigError("the config lists no data sources (key 'data')")
    documents: list[Document] = []
    seen: set[str] = set()
    train_only: set[str] = set()  # weakly supervised or train_only sources: never drawn for validation or test
    repeats: dict[str, int] = {}
    no_test: set[str] = set()
    snapshot = {}
    for source in config.data:
        loaded = load_source(source, config, labels, taxonomy)
        duplicates = sorted(seen & {d.id for d in loaded})
        if duplicates:
            raise ConfigError(
                f"data source {source.path} repeats {len(duplicates)} document id(s) of an earlier source "
                f"(e.g. {duplicates[0]}); list each document once (PTC and SemEval-2023 share their articles)"
            )
        seen.update(d.id for d in loaded)
        if source.supervision != "spans" or source.train_only:
            train_only.update(d.id for d in loaded)
        if source.repeat > 1:
            repeats.update(dict.fromkeys((d.id for d in loaded), source.repeat))
        if not source.internal_test:
            no_test.update(d.id for d in loaded)
        documents.extend(loaded)
        snapshot[f"{source.format}:{source.path}"] = {"sha256_16": _digest([config.resolve_data(source.path)]),
                                                       "documents": len(loaded)}
    documents = with_sentences(documents)
    # weakly supervised and train_only documents only ever train: validation (threshold tuning) and test need
    # corpus text with real labels
    train_ids, validation_ids, test_ids = split_keeping_out_of_test(
        [d.id for d in documents if d.id not in train_only], config.validation_fraction, config.test_fraction,
        config.seed, no_test,
    )
    train_ids = sorted([*train_ids, *train_only])
    validation_set, train_set = set(validation_ids), set(train_ids)
    train_docs = [d for d in documents if d.id in train_set]
    validation_docs = [d for d in documents if d.id in validation_set]
    hp = config.hyperparameters
    # learn the blamed actor wherever the training data names one
    auxiliary = [ACTOR_TARGET] if any(actor_spans(d) for d in train_docs) else []

    def rows(docs: list[Document]) -> list[dict]:
        return supervised_windows(docs, tokenizer, labels, hp, auxiliary)

    if config.distil:
        train_rows = distilled_windows(config, train_docs, tokenizer, labels, hp, auxiliary, progress=progress)
    else:
        train_rows = rows(train_docs)
    train_rows = [row for row in train_rows for _ in range(repeats.get(row["doc_id"], 1))]
    resolved_taxonomy = taxonomy_path or getattr(taxonomy, "path", None)
    return PreparedData(
        labels=labels,
        train_rows=train_rows,
        validation_rows=rows(validation_docs),
        train_ids=train_ids,
        validation_ids=validation_ids,
        test_ids=test_ids,
        auxiliary=auxiliary,
        train_support=count_positive_sentences(train_docs, labels),
        taxonomy_path=Path(resolved_taxonomy) if resolved_taxonomy else None,
        snapshot=snapshot,
        validation_documents=validation_docs,
    )
