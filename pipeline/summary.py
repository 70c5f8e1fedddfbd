"""A readable summary of annotated records: per document, the sentences with devices and the flagged phrases."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any


def _names(taxonomy) -> dict[str, str]:
    return {label.id: label.name for label in taxonomy.labels} if taxonomy is not None else {}


def render_summary(records: Iterable[Mapping[str, Any]], taxonomy=None) -> str:
    """Markdown: one section per document, then device counts over the whole run."""
    names = _names(taxonomy)
    name = lambda label: names.get(label, label)  # noqa: E731
    totals: Counter[str] = Counter()
    lines: list[str] = []
    version = None
    for record in records:
        version = record.get("model_version", version)
        text = record["text"]
        flagged = [s for s in record.get("sentences", []) if s.get("labels")]
        lines += [f"## {record['id']}", ""]
        if not flagged and not record.get("spans"):
            lines += ["No framing devices found.", ""]
            continue
        for sentence in flagged:
            ranked = sorted(sentence["labels"].items(), key=lambda kv: -kv[1])
            labels = ", ".join(f"{name(k)} {v:.2f}" for k, v in ranked)
            lines.append(f"- \"{text[sentence['start']:sentence['end']]}\"  \n  *{labels}*")
        if record.get("spans"):
            lines += ["", "Flagged phrases:", ""]
            for span in sorted(record["spans"], key=lambda s: (s["start"], s["end"])):
                totals[span["label"]] += 1
                actor = (span.get("attributes") or {}).get("actor")
                blamed = f" (blamed: \"{text[actor['start']:actor['end']]}\")" if actor else ""
                lines.append(f"- `{span['start']}-{span['end']}` \"{text[span['start']:span['end']]}\" — "
                             f"{name(span['label'])} {span['score']:.2f}{blamed}")
        lines.append("")
    header = ["# Framing devices found", ""]
    if version:
        header += [f"Model: `{version}`", ""]
    if totals:
        header += ["| device | phrases |", "|---|---|"]
        header += [f"| {name(label)} | {count} |" for label, count in totals.most_common()]
        header.append("")
    return "\n".join(header + lines)
