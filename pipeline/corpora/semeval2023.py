"""SemEval-2023 Task 3 (English): ``train-articles/article<ID>.txt``, span labels in
``train-labels-spans/article<ID>-labels-subtask-3.txt`` (article id, technique, start, end; end exclusive),
and document-level labels: ``train-labels-framing.txt`` (article id, comma-separated frames) and
``train-labels-genre.txt`` (article id, genre), kept in ``metadata["frames"]`` and ``metadata["genre"]``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipeline.corpora.common import Problems, TechniqueRows, article_files, read_rows, readable_texts, require
from pipeline.document import Document
from pipeline.taxonomy import Taxonomy, load_taxonomy

CORPUS = "semeval2023"
ARTICLES_DIR = "train-articles"
SPANS_DIR = "train-labels-spans"
FRAMING_FILE = "train-labels-framing.txt"
GENRE_FILE = "train-labels-genre.txt"
_SPAN_FILE_SUFFIX = "-labels-subtask-3.txt"


def load_semeval2023(
    path: str | os.PathLike[str], *, taxonomy: Taxonomy | None = None, errors: list[str] | None = None
) -> Iterator[Document]:
    """Stream the corpus at ``path`` as one :class:`Document` per article, with gold technique spans and the
    article's frames and genre (when given) in its metadata."""
    root = Path(path)
    taxonomy = taxonomy or load_taxonomy()
    articles_dir = require(root / ARTICLES_DIR, "the articles", CORPUS, directory=True)
    spans_dir = require(root / SPANS_DIR, "the span labels", CORPUS, directory=True)
    problems = Problems(CORPUS, errors)
    articles = article_files(articles_dir, problems)
    rows = TechniqueRows(CORPUS, taxonomy, articles, problems)
    for labels_file in sorted(spans_dir.glob("*.txt")):
        expected_id = None
        if labels_file.name.startswith("article") and labels_file.name.endswith(_SPAN_FILE_SUFFIX):
            expected_id = labels_file.name[len("article") : -len(_SPAN_FILE_SUFFIX)]
        for number, row in read_rows(labels_file, problems):
            rows.add(f"{labels_file}:{number}", row, expected_id)
    frames = _document_labels(root / FRAMING_FILE, articles, problems, split=True)
    genres = _document_labels(root / GENRE_FILE, articles, problems, split=False)
    annotated = list(taxonomy.annotated_ids(CORPUS))

    def documents() -> Iterator[Document]:
        for doc_id, file, text in readable_texts(articles, problems):
            metadata: dict[str, Any] = {
                "corpus": CORPUS,
                "doc_id": doc_id,
                "file": f"{ARTICLES_DIR}/{file.name}",
                "annotated_labels": annotated,
            }
            if doc_id in frames:
                metadata["frames"] = frames[doc_id]
            if doc_id in genres:
                metadata["genre"] = genres[doc_id]
            yield Document(doc_id, text, metadata, spans=rows.spans(doc_id, text))

    return documents()


def _document_labels(path: Path, articles: dict[str, Path], problems: Problems, *, split: bool) -> dict[str, Any]:
    """Article id -> its label (or list of labels when ``split``) from a two-column file, if the file exists.

    Articles listed without an article file (a copy that lacks some articles) are reported in one line.
    """
    labels: dict[str, Any] = {}
    if not path.is_file():
        return labels
    missing: list[str] = []
    for number, row in read_rows(path, problems):
        where = f"{path}:{number}"
        if len(row) != 2:
            problems.add(where, f"expected 2 tab-separated fields (article id, labels), got {len(row)}")
            continue
        doc_id, value = row[0].strip(), row[1].strip()
        if doc_id not in articles:
            missing.append(f"line {number} ({doc_id})")
        elif doc_id in labels:
            problems.add(where, f"article {doc_id!r} is listed twice")
        else:
            labels[doc_id] = [item.strip() for item in value.split(",") if item.strip()] if split else value
    if missing:
        problems.add(
            str(path),
            f"{len(missing)} listed article(s) have no file in {ARTICLES_DIR}/, labels ignored: {', '.join(missing)}",
        )
    return labels
