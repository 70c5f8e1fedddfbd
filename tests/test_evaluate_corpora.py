"""The scorers on the real corpora's gold annotations (nested, overlapping and merged-label spans).

Reads ``../shared/data`` at run time and skips when it is absent; nothing from it is stored here.
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import pytest

from pipeline.document import Document, Span
from pipeline.evaluate import evaluate_documents

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CORPORA = {
    "ptc": ("ptc", {"sentences": "lines", "paragraphs": "lines"}),
    "semeval2023": ("semeval2023-task3-en", {"sentences": "segment", "paragraphs": "lines"}),
}
ARTICLES = 40


@pytest.mark.parametrize("merged_as", [None, "candidate"])
@pytest.mark.parametrize("corpus", sorted(CORPORA))
def test_the_gold_annotations_score_1_against_themselves(corpus, merged_as):
    """``merged_as="candidate"``: a merged gold span (PTC's Whataboutism,Straw_Men,Red_Herring) is predicted
    with a label it stands for, as a model trained on SemEval-2023 labels predicts it (issue #19: SI 0.98)."""
    directory, units = CORPORA[corpus]
    if not (DATA / directory).is_dir():
        pytest.skip(f"corpus {DATA / directory} is not available")
    from pipeline.corpora import load_corpus

    gold = list(islice(load_corpus(corpus, DATA / directory, errors=[]), ARTICLES))
    assert any(a.label != b.label and a.start < b.end and b.start < a.end
               for doc in gold for a in doc.spans for b in doc.spans), "expected overlapping gold spans"
    # what a perfect model would write: the gold spans as predictions, no sentence labels
    def label(span):
        candidates = span.attributes.get("candidates")
        return candidates[0] if merged_as and span.label is None and candidates else span.label

    predicted = [Document(doc.id, doc.text, spans=[Span(s.start, s.end, label(s)) for s in doc.spans])
                 for doc in gold]
    if merged_as and corpus == "ptc":
        assert any(s.label is None for doc in gold for s in doc.spans), "expected merged-label gold spans"
    labels = gold[0].metadata["annotated_labels"]
    from pipeline.taxonomy import load_taxonomy

    metrics = evaluate_documents(predicted, gold, labels=labels, span_labels=load_taxonomy().covered_ids(corpus),
                                 **units)
    for key in ("si_f1", "span_f1", "tc_f1", "slc_f1", "sentence_micro_f1", "sentence_macro_f1",
                "paragraph_micro_f1", "paragraph_macro_f1"):
        assert metrics[key] == pytest.approx(1.0), key
    assert metrics["documents"] == ARTICLES and not metrics["missing_predictions"]
