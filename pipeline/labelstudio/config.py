"""The Label Studio labeling config, generated from the taxonomy (never hand-written).

One ``<Labels>`` control holds every taxonomy label as a span label: ``value`` is the label id (stable across
renames, and what results carry), the display name is shown through ``html`` and the definition through
``hint``; colours and hotkeys come from the taxonomy. Regions may overlap (Label Studio allows overlapping
text regions by default). An extra ``actor`` label marks the actor that a blame span blames, linked by a
``blamed_actor`` relation, and document-level ``<Choices>`` record the review status.
"""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

LABELS_NAME = "label"
TEXT_NAME = "text"
TEXT_FIELD = "text"
REVIEW_NAME = "review"
ACTOR_LABEL = "actor"
ACTOR_COLOR = "#8c8c8c"
BLAMED_ACTOR_RELATION = "blamed_actor"
REVIEW_STATUSES = ("accepted", "corrected", "needs_discussion", "not_relevant")


class LabelLike(Protocol):
    """The fields of ``pipeline.taxonomy.Label`` the config needs."""

    id: str
    name: str
    definition: str
    color: str | None
    hotkey: str | None


@dataclass(frozen=True)
class ConfigNames:
    """The control and object names a labeling config uses (read back from a project's config), and the span
    labels it offers (``label_ids``; None when unknown: every label is shown)."""

    labels: str = LABELS_NAME
    text: str = TEXT_NAME
    review: str | None = REVIEW_NAME
    data_field: str = TEXT_FIELD
    label_ids: tuple[str, ...] | None = None


def build_label_config(labels: Iterable[LabelLike]) -> str:
    """The labeling config XML for these taxonomy labels (pass ``load_taxonomy().labels``)."""
    view = ET.Element("View")
    control = ET.SubElement(
        view, "Labels", {"name": LABELS_NAME, "toName": TEXT_NAME, "choice": "single", "showInline": "true"}
    )
    seen: set[str] = set()
    for label in labels:
        attributes = {"value": label.id, "html": html.escape(label.name or label.id)}
        if label.definition:
            attributes["hint"] = " ".join(label.definition.split())
        if label.color:
            attributes["background"] = label.color
        if label.hotkey:
            attributes["hotkey"] = label.hotkey
        ET.SubElement(control, "Label", attributes)
        seen.add(label.id)
    if ACTOR_LABEL not in seen:
        ET.SubElement(
            control,
            "Label",
            {
                "value": ACTOR_LABEL,
                "html": "Actor",
                "hint": "The actor a blame span blames: link the blame span to it with a blamed_actor relation.",
                "background": ACTOR_COLOR,
            },
        )
    ET.SubElement(view, "Text", {"name": TEXT_NAME, "value": "$" + TEXT_FIELD})
    relations = ET.SubElement(view, "Relations")
    ET.SubElement(relations, "Relation", {"value": BLAMED_ACTOR_RELATION})
    ET.SubElement(view, "Header", {"value": "Review status", "size": "5"})
    choices = ET.SubElement(
        view, "Choices", {"name": REVIEW_NAME, "toName": TEXT_NAME, "choice": "single", "showInline": "true"}
    )
    for status in REVIEW_STATUSES:
        ET.SubElement(choices, "Choice", {"value": status})
    ET.indent(view)
    return ET.tostring(view, encoding="unicode")


def config_label_ids(label_config: str) -> tuple[str, ...]:
    """The span label values of a labeling config's first ``<Labels>`` control, in order."""
    root = _parse(label_config)
    control = root.find(".//Labels")
    if control is None:
        return ()
    return tuple(child.get("value", "") for child in control.iter("Label"))


def config_names(label_config: str) -> ConfigNames:
    """The names of the span-label control, the text object and the review choices in a config.

    Lets conversions work against a config that a user edited (renamed controls), not only ours.
    """
    root = _parse(label_config)
    labels = root.find(".//Labels")
    choices = root.find(".//Choices")
    if labels is None:
        return ConfigNames()
    text = labels.get("toName", TEXT_NAME)
    objects = [node for node in root.iter() if node.get("name") == text and node.get("value", "").startswith("$")]
    return ConfigNames(
        labels=labels.get("name", LABELS_NAME),
        text=text,
        review=choices.get("name") if choices is not None else None,
        data_field=objects[0].get("value")[1:] if objects else TEXT_FIELD,
        label_ids=tuple(child.get("value", "") for child in labels.iter("Label")),
    )


def _parse(label_config: str) -> Any:
    try:
        return ET.fromstring(label_config)
    except ET.ParseError as error:
        raise ValueError(f"labeling config is not valid XML: {error}") from None
