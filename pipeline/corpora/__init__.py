"""Loaders for the research corpora (PTC, SemEval-2023 Task 3, SemEval-2025 Task 10) into the document model.

``load_corpus(format, path)`` streams one :class:`~pipeline.document.Document` per article, carrying the gold
annotations as spans with ``source="gold"``, ``label`` = the project label id after mapping through the
taxonomy (``None`` when the source label maps to none) and ``attributes["source_label"]`` = the corpus' own
label; corpus-level labels go into ``metadata``. Every span indexes the text exactly and is trimmed the way
the PTC v2 release trimmed its fragments (see :mod:`pipeline.corpora.common`). ``metadata["annotated_labels"]``
lists the project ids the corpus annotates exhaustively, so training can tell "absent" from "not annotated".

Bad records are reported as ``<file>:<line>: <what is wrong>`` and skipped while the rest loads: appended to
``errors`` when a list is given, else logged as warnings on the ``pipeline.corpora`` logger. A missing corpus
layout raises :class:`~pipeline.errors.InputError`, a taxonomy without a table for the corpus
:class:`~pipeline.errors.ConfigError`, both when ``load_corpus`` is called.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator

from pipeline.document import Document
from pipeline.errors import InputError
from pipeline.taxonomy import Taxonomy

# format name -> "module:function"
_LOADERS = {
    "ptc": "pipeline.corpora.ptc:load_ptc",
    "semeval2023": "pipeline.corpora.semeval2023:load_semeval2023",
    "semeval2025": "pipeline.corpora.semeval2025:load_semeval2025",
}
CORPUS_FORMATS = tuple(_LOADERS)


def load_corpus(
    format: str,
    path: str | os.PathLike[str],
    *,
    taxonomy: Taxonomy | None = None,
    errors: list[str] | None = None,
) -> Iterator[Document]:
    """Stream the documents of the ``format`` corpus at ``path`` (the directory holding its files).

    ``taxonomy`` defaults to :func:`pipeline.taxonomy.load_taxonomy`; it supplies the label mapping.
    """
    if format not in _LOADERS:
        raise InputError(f"unknown corpus format {format!r}; expected one of {', '.join(CORPUS_FORMATS)}")
    module_name, function = _LOADERS[format].split(":")
    loader = getattr(importlib.import_module(module_name), function)
    return loader(path, taxonomy=taxonomy, errors=errors)


__all__ = ["CORPUS_FORMATS", "load_corpus"]
