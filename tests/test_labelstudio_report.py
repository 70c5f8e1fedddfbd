"""The correction report classifies what humans did to each predicted span; agreement handles overlaps."""

import pytest

from pipeline.labelstudio.report import correction_report, format_report, match_spans

TEXT = "x" * 100


def regions(*spans):
    return [
        {"id": f"r{i}", "from_name": "label", "to_name": "text", "type": "labels",
         "value": {"start": s, "end": e, "labels": [label]}}
        for i, (s, e, label) in enumerate(spans)
    ]  # fmt: skip


def annotation(annotation_id, spans, *, user="ann@example.org", parent=None, cancelled=False):
    return {
        "id": annotation_id,
        "completed_by": {"id": annotation_id, "email": user},
        "result": regions(*spans),
        "was_cancelled": cancelled,
        "parent_prediction": parent,
    }


def task(task_id, predictions, annotations, text=TEXT):
    return {"id": task_id, "data": {"text": text}, "predictions": predictions, "annotations": annotations}


def test_match_spans_prefers_exact_matches_then_the_largest_overlap():
    kept, moved, removed, added = match_spans([(0, 5), (10, 20), (40, 50)], [(0, 5), (12, 20), (9, 11), (60, 70)])
    assert kept == [((0, 5), (0, 5))]
    assert moved == [((10, 20), (12, 20))]  # 8 shared characters beat 1
    assert removed == [(40, 50)]
    assert sorted(added) == [(9, 11), (60, 70)]


def test_corrections_per_label_against_the_prediction_the_annotator_saw():
    v1 = {"id": 1, "model_version": "v1", "result": regions(
        (0, 5, "loaded_language"), (10, 20, "loaded_language"), (30, 40, "doubt"), (50, 60, "doubt"))}  # fmt: skip
    v2 = {"id": 2, "model_version": "v2", "result": regions((80, 90, "doubt"))}
    human = annotation(7, [(0, 5, "loaded_language"), (12, 20, "loaded_language"), (30, 40, "doubt"),
                           (70, 75, "name_calling")], parent=1)  # fmt: skip
    skipped = annotation(8, [], user="other@example.org", cancelled=True)
    report = correction_report([task(1, [v1, v2], [human, skipped])])
    rows = report["corrections"]["per_label"]
    assert rows["loaded_language"] == {
        "predicted": 2, "human": 2, "kept": 1, "moved": 1, "removed": 0, "added": 0,
        "strict_precision": 0.5, "strict_recall": 0.5,
        # overlap credit: P = (5/5 + 8/10) / 2 predicted spans, R = (5/5 + 8/8) / 2 human spans
        "precision": pytest.approx(0.9), "recall": pytest.approx(1.0),
    }  # fmt: skip
    assert (rows["doubt"]["kept"], rows["doubt"]["removed"], rows["doubt"]["precision"]) == (1, 1, 0.5)
    assert rows["name_calling"]["added"] == 1 and rows["name_calling"]["precision"] is None
    assert rows["name_calling"]["recall"] == 0.0
    assert report["compared_by_model_version"] == {"v1": 1}  # not v2, which came later
    assert (report["annotations"], report["cancelled"]) == (2, 1)
    total = report["corrections"]["total"]
    assert (total["predicted"], total["human"], total["kept"], total["moved"]) == (4, 4, 2, 1)
    assert "loaded_language" in format_report(report)


def test_without_a_parent_prediction_the_newest_prediction_is_compared():
    old = {"id": 3, "model_version": "v1", "result": regions((0, 5, "doubt"))}
    new = {"id": 9, "model_version": "v2", "result": regions((0, 6, "doubt"))}
    report = correction_report([task(1, [old, new], [annotation(1, [(0, 6, "doubt")])])])
    assert report["compared_by_model_version"] == {"v2": 1}
    assert report["corrections"]["per_label"]["doubt"]["kept"] == 1


def test_agreement_counts_overlapping_spans_of_one_label_once_per_character():
    # A marks X twice, overlapping ([0,10) and [5,15)); B marks the same characters as one span [0,15).
    a = annotation(1, [(0, 10, "x_label"), (5, 15, "x_label"), (0, 5, "y_label"), (0, 10, "z_label")], user="a@x")
    b = annotation(2, [(0, 15, "x_label"), (0, 8, "z_label")], user="b@x")
    report = correction_report([task(1, [], [a, b], text="t" * 20)])
    agreement = report["agreement"]
    assert (agreement["tasks"], agreement["pairs"]) == (1, 1)
    x, y, z = (agreement["per_label"][k] for k in ("x_label", "y_label", "z_label"))
    assert x["char_kappa"] == 1.0 and x["span_f1"] == 1.0  # same characters: full agreement
    assert x["exact_f1"] == 0.0  # yet no identical region, which a region-matching metric would report
    # y: only A marked it. both=0, A only=5, B only=0, neither=15: po=.75, pe=.25*0+.75*1=.75 -> kappa 0
    assert y["char_kappa"] == 0.0
    # z: both=8, A only=2, neither=10 of 20: po=.9, pA=.5, pB=.4, pe=.2+.3=.5 -> kappa=(.9-.5)/.5=.8
    assert z["char_kappa"] == pytest.approx(0.8)
    assert report["annotations_without_prediction"] == 2


def test_unreadable_regions_are_reported_not_counted():
    bad = annotation(1, [(0, 500, "doubt")])
    report = correction_report([task(1, [{"id": 1, "model_version": "v1", "result": []}], [bad])])
    assert report["corrections"]["per_label"] == {}
    assert len(report["problems"]) == 1 and "annotation 1" in report["problems"][0]


def blame_with_actor(region_id, blame, actor):
    """A blame region, its actor region and the relation between them."""
    return [
        {"id": f"{region_id}b", "from_name": "label", "to_name": "text", "type": "labels",
         "value": {"start": blame[0], "end": blame[1], "labels": ["blame_attribution"]}},
        {"id": f"{region_id}a", "from_name": "label", "to_name": "text", "type": "labels",
         "value": {"start": actor[0], "end": actor[1], "labels": ["actor"]}},
        {"type": "relation", "from_id": f"{region_id}b", "to_id": f"{region_id}a", "direction": "right",
         "labels": ["blamed_actor"]},
    ]  # fmt: skip


def test_a_deleted_blame_span_leaves_an_orphan_actor_that_is_counted_not_scored():
    """Issue #19: deleting a blame span in Label Studio leaves its actor region; that made an 'actor' row
    (0 predicted, N added, recall 0.000). Actors are attributes of blame spans, reported in their own section."""
    prediction = {"id": 1, "model_version": "v1",
                  "result": blame_with_actor("p1", (0, 30), (0, 8)) + blame_with_actor("p2", (40, 70), (40, 48))}
    human = annotation(5, [], parent=1)
    orphan = {"id": "p1a", "from_name": "label", "to_name": "text", "type": "labels",
              "value": {"start": 0, "end": 8, "labels": ["actor"]}}  # its blame span was deleted
    human["result"] = blame_with_actor("p2", (40, 70), (44, 48)) + [orphan]  # the second actor moved
    report = correction_report([task(1, [prediction], [human])])

    assert "actor" not in report["corrections"]["per_label"]
    assert report["corrections"]["per_label"]["blame_attribution"]["removed"] == 1
    assert report["actors"] == {"predicted": 2, "human": 1, "kept": 0, "moved": 1, "removed": 1, "added": 0,
                                "orphans": 1}
    assert "1 actor regions linked to no blame span" in format_report(report)
