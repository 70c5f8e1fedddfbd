"""The Propaganda Techniques Corpus (PTC, SemEval-2020 Task 11): ``train-articles/article<ID>.txt`` and
``train-task2-TC.labels`` (tab-separated article id, technique, start, end; end exclusive).

Offsets count the characters of each file as read (a leading byte-order mark included), so the text is kept
exactly as it is. The two merged PTC labels map to no single project id (see ``pipeline.taxonomy``): their
spans keep ``label=None`` and list the ids they may be in ``attributes["candidates"]``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from pipeline.corpora.common import Problems, TechniqueRows, article_files, read_rows, readable_texts, require
from pipeline.document import Document
from pipeline.taxonomy import Taxonomy, load_taxonomy

CORPUS = "ptc"
ARTICLES_DIR = "train-articles"
LABELS_FILE = "train-task2-TC.labels"


def load_ptc(
    path: str | os.PathLike[str], *, taxonomy: Taxonomy | None = None, errors: list[str] | None = None
) -> Iterator[Document]:
    """Stream the corpus at ``path`` as one :class:`Document` per article, with gold technique spans."""
    root = Path(path)
    taxonomy = taxonomy or load_taxonomy()
    articles_dir = require(root / ARTICLES_DIR, "the articles", CORPUS, directory=True)
    labels_file = require(root / LABELS_FILE, "the technique labels", CORPUS)
    problems = Problems(CORPUS, errors)
    articles = article_files(articles_dir, problems)
    rows = TechniqueRows(CORPUS, taxonomy, articles, problems)
    for number, row in read_rows(labels_file, problems):
        rows.add(f"{labels_file}:{number}", row)
    annotated = list(taxonomy.annotated_ids(CORPUS))

    def documents() -> Iterator[Document]:
        for doc_id, file, text in readable_texts(articles, problems):
            metadata = {
                "corpus": CORPUS,
                "doc_id": doc_id,
                "file": f"{ARTICLES_DIR}/{file.name}",
                "annotated_labels": annotated,
            }
            yield Document(doc_id, text, metadata, spans=rows.spans(doc_id, text))

    return documents()
