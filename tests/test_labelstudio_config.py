"""The labeling config is generated from the taxonomy: labels, colours, hotkeys, relation, review choices."""

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from pipeline.labelstudio.config import (
    ACTOR_LABEL,
    BLAMED_ACTOR_RELATION,
    REVIEW_STATUSES,
    build_label_config,
    config_label_ids,
    config_names,
)
from pipeline.taxonomy import load_taxonomy


@dataclass(frozen=True)
class FakeLabel:
    id: str
    name: str
    definition: str
    color: str | None = None
    hotkey: str | None = None


def test_every_taxonomy_label_is_a_span_label_with_its_colour_and_hotkey():
    taxonomy = load_taxonomy()
    root = ET.fromstring(build_label_config(taxonomy.labels))
    labels = {node.get("value"): node for node in root.find("Labels").iter("Label")}
    assert list(labels)[: len(taxonomy.ids)] == list(taxonomy.ids)
    for label in taxonomy.labels:
        node = labels[label.id]
        assert node.get("background") == label.color
        assert node.get("hotkey") == label.hotkey
        assert node.get("html") and node.get("alias") is None  # alias would replace the id in results
    hotkeys = [node.get("hotkey") for node in labels.values() if node.get("hotkey")]
    assert len(hotkeys) == len(set(hotkeys))


def test_config_links_blame_to_an_actor_and_has_review_choices():
    root = ET.fromstring(build_label_config([FakeLabel("blame_attribution", "Blame", "Fault is assigned.")]))
    assert config_label_ids(ET.tostring(root, encoding="unicode")) == ("blame_attribution", ACTOR_LABEL)
    assert [r.get("value") for r in root.find("Relations")] == [BLAMED_ACTOR_RELATION]
    choices = root.find("Choices")
    assert choices.get("toName") == root.find("Text").get("name") == "text"
    assert tuple(c.get("value") for c in choices) == REVIEW_STATUSES
    assert root.find("Text").get("value") == "$text"


def test_names_and_definitions_with_markup_characters_are_escaped():
    label = FakeLabel("odd", 'Fear & "<panic>"', "Uses <b>fear</b> & dread.\n  Second line.")
    xml = build_label_config([label])
    node = ET.fromstring(xml).find("Labels/Label")
    assert node.get("html") == "Fear &amp; &quot;&lt;panic&gt;&quot;"  # HTML-escaped display text
    assert node.get("hint") == "Uses <b>fear</b> & dread. Second line."
    assert config_names(xml).labels == "label" and config_names(xml).review == "review"
