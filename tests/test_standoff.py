"""Stand-off annotations: every unit and span must resolve against the corpus text, or be reported."""

from __future__ import annotations

import collections
import json
from pathlib import Path

import pytest

from pipeline.errors import InputError
from pipeline.standoff import (
    DEVICE_LABELS,
    SEED_DIR,
    default_data_root,
    load_seed,
    load_standoff,
    read_corpus_text,
    text_sha1,
    to_documents,
)

# Written by us for the tests; CRLF line endings on purpose (offsets count the \r).
DOC_TEXT = (
    "Officials blame the council for the flooding.\r\n"
    "The so-called referendum was a sham.\r\n"
    "The legitimate authorities took measures.\r\n"
    "Rain fell all day.\r\n"
)
PTC_TEXT = "Title line\n\nThe illegal annexation must end.\n"


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    semeval = tmp_path / "semeval2025-task10-en" / "raw-documents"
    semeval.mkdir(parents=True)
    (semeval / "EN_UA_TEST.txt").write_bytes(DOC_TEXT.encode("utf-8"))
    ptc = tmp_path / "ptc" / "train-articles"
    ptc.mkdir(parents=True)
    (ptc / "article42.txt").write_text(PTC_TEXT, encoding="utf-8")
    return tmp_path


def unit(
    text: str,
    sentence: str,
    *,
    occurrence: int = 0,
    corpus: str = "semeval2025",
    doc_id: str = "EN_UA_TEST",
    split: str = "train",
    spans: list[dict] | None = None,
) -> dict:
    start = text.index(sentence)
    for _ in range(occurrence):
        start = text.index(sentence, start + 1)
    return {
        "corpus": corpus,
        "doc_id": doc_id,
        "start": start,
        "end": start + len(sentence),
        "sha1": text_sha1(sentence),
        "split": split,
        "annotator": "team-a",
        "guideline_version": "1.0",
        "spans": spans or [],
    }


def span(text: str, phrase: str, label: str, actor: str | None = None) -> dict:
    start = text.index(phrase)
    record = {"start": start, "end": start + len(phrase), "label": label}
    if actor:
        a_start = text.index(actor)
        record["actor"] = {"start": a_start, "end": a_start + len(actor)}
    return record


def write(path: Path, records: list) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def good_records() -> list[dict]:
    return [
        unit(
            DOC_TEXT,
            "Officials blame the council for the flooding.",
            spans=[
                span(DOC_TEXT, "blame the council for the flooding", "blame_attribution", actor="the council")
            ],
        ),
        unit(
            DOC_TEXT,
            "The so-called referendum was a sham.",
            spans=[
                span(DOC_TEXT, "so-called referendum", "delegitimation"),
                span(DOC_TEXT, "referendum was a sham", "delegitimation"),
            ],
        ),
        unit(DOC_TEXT, "Rain fell all day."),
        unit(
            PTC_TEXT,
            "The illegal annexation must end.",
            corpus="ptc",
            doc_id="42",
            split="test",
            spans=[span(PTC_TEXT, "illegal annexation", "delegitimation")],
        ),
    ]


def test_units_and_spans_index_the_raw_corpus_text(tmp_path, data_root):
    units = load_standoff(write(tmp_path / "seed.jsonl", good_records()), data_root)

    assert [u.text for u in units] == [
        "Officials blame the council for the flooding.",
        "The so-called referendum was a sham.",
        "Rain fell all day.",
        "The illegal annexation must end.",
    ]
    texts = {
        "semeval2025": read_corpus_text(data_root / "semeval2025-task10-en/raw-documents/EN_UA_TEST.txt"),
        "ptc": PTC_TEXT,
    }
    assert "\r\n" in texts["semeval2025"]
    for u in units:
        assert texts[u.corpus][u.start : u.end] == u.text
        for s in u.spans:
            assert s.source == "human:team-a"
            assert u.start <= s.start < s.end <= u.end
    blame = units[0].spans[0]
    actor = blame.attributes["actor"]
    assert texts["semeval2025"][actor["start"] : actor["end"]] == "the council"
    assert units[1].labels == {"delegitimation"} and units[2].labels == frozenset()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.update(sha1="000000000000"), "sha1"),
        (lambda r: r["spans"][0].update(end=r["end"] + 5), "spans[0]"),
        (lambda r: r["spans"][0].update(start=r["spans"][0]["start"] - 1), "whitespace"),
        (lambda r: r["spans"][0].update(label="loaded_language"), "loaded_language"),
        (lambda r: r.pop("annotator"), "annotator"),
        (lambda r: r.update(split="dev"), "split"),
        (lambda r: r.update(doc_id="EN_UA_MISSING"), "not found"),
    ],
)
def test_a_bad_record_is_reported_with_file_and_line(tmp_path, data_root, change, message):
    records = good_records()
    change(records[0])
    path = write(tmp_path / "seed.jsonl", records)

    with pytest.raises(InputError) as error:
        load_standoff(path, data_root)

    assert f"{path}:1:" in str(error.value)
    assert message in str(error.value)


def test_good_records_are_kept_and_bad_ones_listed_when_errors_are_collected(tmp_path, data_root):
    records = good_records()
    records[1]["sha1"] = "ffffffffffff"
    lines = [records[0], "{not json", records[1], records[2], records[0]]
    path = write(tmp_path / "seed.jsonl", lines)
    problems: list[str] = []

    units = load_standoff(path, data_root, errors=problems)

    assert [u.text for u in units] == ["Officials blame the council for the flooding.", "Rain fell all day."]
    assert [p.split(": ", 1)[0] for p in problems] == [f"{path}:2", f"{path}:3", f"{path}:5"]
    assert "not valid JSON" in problems[0] and "duplicate unit" in problems[2]


def test_overlapping_units_of_one_document_are_reported(tmp_path, data_root):
    records = good_records()[:1]
    wider = unit(DOC_TEXT, "Officials blame the council")
    path = write(tmp_path / "seed.jsonl", records + [wider])

    with pytest.raises(InputError, match="overlaps"):
        load_standoff(path, data_root)


def test_to_documents_marks_annotated_ranges_and_explicit_negatives(tmp_path, data_root):
    units = load_standoff(write(tmp_path / "seed.jsonl", good_records()), data_root)

    documents = {d.id: d for d in to_documents(units, data_root)}

    doc = documents["EN_UA_TEST"]
    assert doc.text == read_corpus_text(data_root / "semeval2025-task10-en/raw-documents/EN_UA_TEST.txt")
    assert doc.metadata["corpus"] == "semeval2025" and doc.metadata["split"] == "train"
    assert doc.metadata["annotated_ranges"] == [[s.start, s.end] for s in doc.sentences]
    assert len(doc.sentences) == 3  # the legitimation sentence was not annotated: it is not a negative
    assert [dict(s.labels) for s in doc.sentences][2] == {label: 0.0 for label in DEVICE_LABELS}
    assert dict(doc.sentences[0].labels)["blame_attribution"] == 1.0
    assert sorted(doc.span_text(s) for s in doc.spans) == [
        "blame the council for the flooding",
        "referendum was a sham",
        "so-called referendum",
    ]
    assert documents["42"].metadata["split"] == "test"


def test_a_document_split_across_train_and_test_is_refused(tmp_path, data_root):
    records = good_records()
    records[2]["split"] = "test"
    units = load_standoff(write(tmp_path / "seed.jsonl", records), data_root)

    with pytest.raises(InputError, match="splits"):
        to_documents(units, data_root)


def test_data_root_can_be_overridden_by_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FRAMING_DATA_ROOT", str(tmp_path))
    assert default_data_root() == tmp_path
    monkeypatch.delenv("FRAMING_DATA_ROOT")
    assert default_data_root().parts[-2:] == ("shared", "data")


# -- the committed seed set, checked against ../shared/data --------------------------------------------------

needs_corpora = pytest.mark.skipif(
    not (default_data_root() / "semeval2025-task10-en").is_dir()
    or not (default_data_root() / "ptc").is_dir(),
    reason=f"shared corpora not found at {default_data_root()} (set FRAMING_DATA_ROOT)",
)


@pytest.fixture(scope="module")
def seed():
    return {split: load_seed(split) for split in ("train", "test", "train-only")}


@needs_corpora
def test_seed_set_resolves_and_meets_the_issue_minimums(seed):
    units = seed["train"] + seed["test"] + seed["train-only"]
    positives = collections.Counter(label for u in units for label in u.labels)

    assert len(units) >= 1000
    assert all(positives[label] >= 200 for label in DEVICE_LABELS), positives
    assert {u.guideline_version for u in units} == {"1.0"}
    assert all(u.split == split.removesuffix("-only") for split, part in seed.items() for u in part)


@needs_corpora
def test_seed_split_is_by_document_without_twins_across_splits(seed):
    documents = {split: {(u.corpus, u.doc_id) for u in units} for split, units in seed.items()}
    long_train_sentences = {u.text for u in seed["train"] + seed["train-only"] if len(u.text) >= 80}
    test_units = seed["test"]

    assert not documents["train"] & documents["test"]
    assert not documents["train-only"] & (documents["train"] | documents["test"])
    # documents go to test with probability 0.30 (wave 5 added sentences to train documents only)
    assert 0.25 <= len(documents["test"]) / len(documents["train"] | documents["test"]) <= 0.30
    assert len(test_units) >= 150
    assert all(any(label in u.labels for u in test_units) for label in DEVICE_LABELS)
    assert not [u.text for u in test_units if u.text in long_train_sentences]


@needs_corpora
def test_units_for_a_second_pass_are_exactly_the_test_units(seed):
    with open(SEED_DIR / "units-test.jsonl", encoding="utf-8") as handle:
        blind = [json.loads(line) for line in handle]

    assert all(set(record) == {"corpus", "doc_id", "start", "end", "sha1"} for record in blind)
    assert sorted((r["corpus"], r["doc_id"], r["start"], r["end"], r["sha1"]) for r in blind) == sorted(
        (u.corpus, u.doc_id, u.start, u.end, text_sha1(u.text)) for u in seed["test"]
    )


def test_the_seed_devices_are_labels_of_the_default_taxonomy():
    from pipeline.taxonomy import load_taxonomy

    taxonomy = load_taxonomy()
    assert set(DEVICE_LABELS) <= set(taxonomy.ids)
    assert {taxonomy.get(label).group for label in DEVICE_LABELS} == {"blame_and_legitimacy"}


def test_a_training_source_reads_the_units_in_their_full_text_and_learns_only_from_them(
    tmp_path, data_root, monkeypatch
):
    from pipeline.model.config import config_from_dict
    from pipeline.model.sources import load_source
    from pipeline.training_data import sentence_supervision, sentence_targets, with_sentences

    path = write(tmp_path / "seed.jsonl", good_records())
    config = config_from_dict({"data": [{"format": "standoff", "path": str(path)}]})
    labels = list(DEVICE_LABELS)
    monkeypatch.setenv("FRAMING_DATA_ROOT", str(data_root))
    loaded = load_source(config.data[0], config, labels)
    (document,) = [d for d in with_sentences(loaded) if d.metadata["doc_id"] == "EN_UA_TEST"]

    # the segmenter reads the whole text, as `framing annotate` does: the unannotated legitimation sentence
    # is there as context ...
    assert [document.text[s.start:s.end] for s in document.sentences] == [
        "Officials blame the council for the flooding.",
        "The so-called referendum was a sham.",
        "The legitimate authorities took measures.",
        "Rain fell all day.",
    ]
    # ... but teaches nothing: it is unknown, not a negative
    assert [any(flags) for flags in sentence_supervision(document, labels)] == [True, True, False, True]
    targets = sentence_targets(document, labels)
    assert [row[labels.index("blame_attribution")] for row in targets] == [1, 0, 0, 0]
    assert [row[labels.index("delegitimation")] for row in targets] == [0, 1, 0, 0]
    assert sorted(document.span_text(s) for s in document.spans) == [
        "blame the council for the flooding", "referendum was a sham", "so-called referendum",
    ]


def test_units_are_selected_by_the_training_ids_a_model_records_for_its_splits(tmp_path, data_root, monkeypatch):
    # `framing evaluate --format standoff --split validation` scores only the units whose document the model
    # held out: the ids it records are the training source's ids, so both must name a document alike
    from pipeline.model.config import config_from_dict
    from pipeline.model.sources import load_source
    from pipeline.standoff import units_in_documents

    path = write(tmp_path / "seed.jsonl", good_records())
    monkeypatch.setenv("FRAMING_DATA_ROOT", str(data_root))
    config = config_from_dict({"data": [{"format": "standoff", "path": str(path)}]})
    training_ids = sorted(d.id for d in load_source(config.data[0], config, list(DEVICE_LABELS)))
    units = load_standoff(path)
    assert len(training_ids) >= 2

    held_out = units_in_documents(units, training_ids[:1])
    assert held_out and all(u in units for u in held_out)
    assert {(u.corpus, u.doc_id) for u in held_out} == {tuple(training_ids[0].split(":", 2)[1:])}
    assert units_in_documents(units, []) == []
