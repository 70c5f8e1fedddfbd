"""Conversions to and from Label Studio JSON keep character offsets exact, including emoji and CRLF."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.document import Document, OffsetError, Sentence, Span
from pipeline.labelstudio.convert import (
    KEY_FIELD,
    OffsetCodec,
    document_confidence,
    from_ls,
    prediction_result,
    resolve_offsets,
    text_hash,
    to_ls,
)

TEXT = "The 😀 regime 𝔘 ruined us.\r\nThey blame the West 🌍 again."


def utf16(text: str, index: int) -> int:
    """What JavaScript's String.length gives for text[:index]."""
    return len(text[:index].encode("utf-16-le")) // 2


def region(start, end, label, text=None, region_id="r1"):
    value = {"start": start, "end": end, "labels": [label]}
    if text is not None:
        value["text"] = text
    return {"id": region_id, "from_name": "label", "to_name": "text", "type": "labels", "value": value}


def test_to_ls_sends_utf16_offsets_and_the_exact_span_text():
    start = TEXT.index("ruined us")
    doc = Document("d1", TEXT, spans=[Span(start, start + 9, "loaded_language", 0.8, "model:v1")])
    task = to_ls(doc, "v1")
    (item,) = task["predictions"][0]["result"]
    assert item["value"]["text"] == TEXT[start : start + 9] == "ruined us"
    assert (item["value"]["start"], item["value"]["end"]) == (utf16(TEXT, start), utf16(TEXT, start + 9))
    assert item["value"]["start"] == start + 2  # two astral characters before the span
    assert task["data"]["text"] == TEXT and task["data"][KEY_FIELD] == "d1"
    assert task["data"]["framing_hash"] == text_hash(TEXT) != text_hash(TEXT + " ")
    assert task["predictions"][0]["model_version"] == "v1"


def test_round_trip_keeps_offsets_labels_scores_and_the_blamed_actor():
    blame_start = TEXT.index("They blame")
    actor_start = TEXT.index("the West")
    spans = [
        Span(4, 5, "loaded_language", 0.7),  # the emoji alone
        Span(
            blame_start,
            len(TEXT) - 1,
            "blame_attribution",
            0.9,
            attributes={"actor": {"start": actor_start, "end": actor_start + 8}},
        ),  # fmt: skip
        Span(blame_start, blame_start + 10, "doubt", 0.55),  # overlaps the blame span
    ]
    doc = Document("d", TEXT, spans=spans)
    back = from_ls(TEXT, prediction_result(doc), source="model:v1")
    assert back.problems == []
    assert [(s.start, s.end, s.label, s.score, dict(s.attributes)) for s in back.spans] == [
        (s.start, s.end, s.label, s.score, dict(s.attributes)) for s in spans
    ]
    assert TEXT[back.spans[0].start : back.spans[0].end] == "😀"
    assert all(s.source == "model:v1" for s in back.spans)


astral_text = st.lists(st.sampled_from(list("ab \n\r.😀🌍𝔘é") + ["\r\n"]), min_size=1, max_size=30).map("".join)


@settings(max_examples=150, deadline=None)
@given(astral_text, st.data())
def test_any_span_survives_the_round_trip_and_slices_the_same_text_in_utf16(text, data):
    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start + 1, len(text)))
    doc = Document("d", text, spans=[Span(start, end, "loaded_language")])
    (item,) = prediction_result(doc)
    units = text.encode("utf-16-le")
    js_slice = units[2 * item["value"]["start"] : 2 * item["value"]["end"]].decode("utf-16-le")
    assert js_slice == text[start:end] == item["value"]["text"]
    (span,) = from_ls(text, [item]).spans
    assert (span.start, span.end) == (start, end)
    # the same region as the API hands it back without value.text
    del item["value"]["text"]
    (span,) = from_ls(text, [item]).spans
    assert text[span.start : span.end] == text[start:end]


def test_browser_offsets_code_point_offsets_and_crlf_folded_offsets_are_all_read_correctly():
    start = TEXT.index("the West")
    end = start + len("the West")
    codec = OffsetCodec(TEXT)
    browser = {"start": utf16(TEXT, start), "end": utf16(TEXT, end), "text": "the West"}
    python = {"start": start, "end": end, "text": "the West"}
    folded_text = TEXT.replace("\r\n", "\n")
    f_start = folded_text.index("the West")
    folded = {"start": utf16(folded_text, f_start), "end": utf16(folded_text, f_start + 8), "text": "the West"}
    for value in (browser, python, folded):
        assert resolve_offsets(TEXT, value, codec) == (start, end)
    # a region across the line break, selected in a browser that shows CRLF as one character
    across = folded_text.index("us.\nThey")
    value = {"start": utf16(folded_text, across), "end": utf16(folded_text, across + 8), "text": "us.\nThey"}
    s, e = resolve_offsets(TEXT, value)
    assert TEXT[s:e] == "us.\r\nThey"


def test_a_region_that_fits_no_interpretation_is_reported_and_the_others_are_kept():
    good = region(0, 3, "loaded_language", "The", "ok")
    wrong_text = region(0, 3, "doubt", "xyz", "bad")
    outside = region(500, 510, "doubt", None, "far")
    inside_pair = region(5, 6, "doubt", None, "half")  # between the two halves of 😀
    converted = from_ls(TEXT, [good, wrong_text, outside, inside_pair])
    assert [(s.start, s.end, s.label) for s in converted.spans] == [(0, 3, "loaded_language")]
    assert len(converted.problems) == 3
    assert any("bad" in p and "'xyz'" in p for p in converted.problems)
    with pytest.raises(OffsetError):
        resolve_offsets(TEXT, {"start": "0", "end": 3})


def test_relations_set_the_actor_whatever_way_they_were_drawn():
    text = "Critics blame Brussels for the crisis. Someone else."
    blame = region(0, 37, "blame_attribution", text[0:37], "b")
    actor = region(14, 22, "actor", "Brussels", "a")
    stray_actor = region(39, 46, "actor", "Someone", "s")
    drawn = [
        {"type": "relation", "from_id": "b", "to_id": "a", "direction": "right", "labels": ["blamed_actor"]},
        {"type": "relation", "from_id": "b", "to_id": "a", "direction": "left", "labels": []},
        {"type": "relation", "from_id": "a", "to_id": "b", "direction": "right", "labels": []},
    ]
    for relation in drawn:
        converted = from_ls(text, [blame, actor, stray_actor, relation])
        assert [(s.label, dict(s.attributes)) for s in converted.spans] == [
            ("blame_attribution", {"actor": {"start": 14, "end": 22}}),
        ]
        assert converted.orphan_actors == [(39, 46)]  # linked to no blame span: counted, not a span (issue #19)


def test_choices_and_multi_label_regions():
    text = "A loaded phrase."
    item = region(2, 8, "loaded_language", "loaded")
    item["value"]["labels"] = ["loaded_language", "doubt"]
    choice = {"from_name": "review", "to_name": "text", "type": "choices", "value": {"choices": ["corrected"]}}
    converted = from_ls(text, [item, choice])
    assert [s.label for s in converted.spans] == ["loaded_language", "doubt"]
    assert converted.choices == {"review": ["corrected"]}


def test_confidence_is_low_near_the_decision_boundary_and_high_far_from_it():
    text = "One. Two."
    unsure = Document("u", text, spans=[Span(0, 3, "doubt", 0.52)], sentences=[Sentence(0, 4, {"doubt": 0.45})])
    sure = Document("s", text, spans=[Span(0, 3, "doubt", 0.97)], sentences=[Sentence(0, 4, {"doubt": 0.02})])
    assert document_confidence(unsure) == pytest.approx(0.07)
    assert document_confidence(sure) == pytest.approx(0.95)
    assert document_confidence(Document("e", text)) == 1.0
    assert to_ls(unsure, "v")["predictions"][0]["score"] < to_ls(sure, "v")["predictions"][0]["score"]
