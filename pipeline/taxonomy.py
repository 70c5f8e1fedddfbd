"""The label taxonomy: load and validate ``annotations/taxonomy.yaml``, and map research-corpus labels to it.

Every label id the system uses comes from here, never from literals in code. The default file is
``annotations/taxonomy.yaml`` at the repository root; ``$FRAMING_TAXONOMY`` or an explicit path selects
another. Validation rejects unknown keys, duplicate ids and hotkeys, bad colours, labels without a definition
or with fewer than two examples, and mapping tables that name ids the taxonomy lacks; every problem is
reported at once, naming the file and the label.

Mapping tables (``mappings: {corpus: {source label: ...}}``) give, for each source label, either a list of
project ids (the source label *is* each of them; an empty list means it is evidence for none) or
``{one_of: [ids]}`` for a source label that merges distinct techniques, such as PTC's
``Whataboutism,Straw_Men,Red_Herring``. A merged label means exactly one of its ids, and the data does not say
which: :meth:`Taxonomy.map_label` returns no id for it, and :meth:`Taxonomy.candidates` returns the ids it
may be. Loaders keep such spans with ``label=None`` and ``attributes["candidates"]``, so they count for span
identification but never become a (false) training example for all, or an arbitrary one, of the candidates.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from pipeline.errors import ConfigError, FramingError

TAXONOMY_ENV = "FRAMING_TAXONOMY"
DEFAULT_TAXONOMY_PATH = Path(__file__).resolve().parents[1] / "annotations" / "taxonomy.yaml"

GRANULARITIES = ("span", "sentence", "document")
# Label Studio binds single keys to its own actions in the text editor ("u": unselect region).
RESERVED_HOTKEYS = frozenset({"u"})
MIN_EXAMPLES = 2

_TOP_KEYS = {"version", "description", "labels", "mappings"}
_LABEL_KEYS = ("id", "name", "definition", "examples", "granularity", "color", "hotkey", "group")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_HOTKEY = re.compile(r"^[a-z0-9]$")


class UnknownLabelError(FramingError, KeyError):
    """A label id (or a corpus' source label) that the taxonomy does not define."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True, slots=True)
class Label:
    """One label of the taxonomy, as annotators see it in Label Studio."""

    id: str
    name: str
    definition: str
    examples: tuple[str, ...]
    granularity: str
    color: str
    hotkey: str
    group: str


@dataclass(frozen=True, slots=True)
class SourceMapping:
    """What one source-corpus label means in project ids: ``ids`` it is, or ``one_of`` ids it may be."""

    ids: tuple[str, ...] = ()
    one_of: tuple[str, ...] = ()


@dataclass(frozen=True)
class Taxonomy:
    """The labels in file order, and the source-corpus mapping tables."""

    labels: tuple[Label, ...]
    mappings: Mapping[str, Mapping[str, SourceMapping]] = field(default_factory=dict)
    path: Path | None = None
    _by_id: Mapping[str, Label] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", tuple(self.labels))
        frozen = {corpus: MappingProxyType(dict(table)) for corpus, table in self.mappings.items()}
        object.__setattr__(self, "mappings", MappingProxyType(frozen))
        object.__setattr__(self, "_by_id", MappingProxyType({label.id: label for label in self.labels}))

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(label.id for label in self.labels)

    @property
    def groups(self) -> tuple[str, ...]:
        """Group names in order of first appearance."""
        return tuple(dict.fromkeys(label.group for label in self.labels))

    @property
    def corpora(self) -> tuple[str, ...]:
        """Corpora that have a mapping table."""
        return tuple(self.mappings)

    def __hash__(self) -> int:
        return hash(self.labels)

    def __contains__(self, label_id: object) -> bool:
        return label_id in self._by_id

    def get(self, label_id: str) -> Label:
        """The label with this id; :class:`UnknownLabelError` (naming the valid ids) when there is none."""
        try:
            return self._by_id[label_id]
        except KeyError:
            raise UnknownLabelError(
                f"unknown label {label_id!r} in taxonomy {self._where()}; labels are: {', '.join(self.ids)}"
            ) from None

    def source_labels(self, corpus: str) -> tuple[str, ...]:
        """The source labels that ``corpus``' mapping table knows."""
        return tuple(self._table(corpus))

    def map_label(self, corpus: str, source_label: str) -> tuple[str, ...]:
        """Project ids that ``source_label`` of ``corpus`` is evidence for (possibly none).

        A merged label (``one_of``) maps to none; see :meth:`candidates`. A source label missing from the
        table raises :class:`UnknownLabelError`: a typo or a new label must not pass silently as "no label".
        """
        return self._entry(corpus, source_label).ids

    def candidates(self, corpus: str, source_label: str) -> tuple[str, ...]:
        """The ids a merged source label may stand for (exactly one of them applies); empty otherwise."""
        return self._entry(corpus, source_label).one_of

    def annotated_ids(self, corpus: str) -> tuple[str, ...]:
        """Project ids that ``corpus`` annotates unambiguously, in taxonomy order (merged labels excluded)."""
        mapped = {label_id for entry in self._table(corpus).values() for label_id in entry.ids}
        return tuple(label_id for label_id in self.ids if label_id in mapped)

    def covered_ids(self, corpus: str) -> tuple[str, ...]:
        """Project ids that ``corpus`` annotates at all, unambiguously or inside a merged label (``one_of``), in
        taxonomy order: the labels whose spans are propaganda for its label-blind scores (SI, SLC)."""
        covered = {label_id for entry in self._table(corpus).values() for label_id in (*entry.ids, *entry.one_of)}
        return tuple(label_id for label_id in self.ids if label_id in covered)

    def _table(self, corpus: str) -> Mapping[str, SourceMapping]:
        try:
            return self.mappings[corpus]
        except KeyError:
            known = ", ".join(self.mappings) or "none"
            raise ConfigError(
                f"taxonomy {self._where()} has no mapping table for corpus {corpus!r} (tables: {known}); "
                f"add one under 'mappings: {corpus}:'"
            ) from None

    def _entry(self, corpus: str, source_label: str) -> SourceMapping:
        table = self._table(corpus)
        try:
            return table[source_label]
        except KeyError:
            raise UnknownLabelError(
                f"{corpus} label {source_label!r} is not in the {corpus} mapping table of taxonomy "
                f"{self._where()}; known labels: {', '.join(table)}"
            ) from None

    def _where(self) -> str:
        return str(self.path) if self.path else "(in memory)"


def load_taxonomy(path: str | os.PathLike[str] | None = None) -> Taxonomy:
    """Load and validate a taxonomy: ``path``, else ``$FRAMING_TAXONOMY``, else the repository's default.

    Results are cached per file and modification time, so repeated calls are cheap and see edits.
    """
    chosen = Path(path) if path is not None else Path(os.environ.get(TAXONOMY_ENV) or DEFAULT_TAXONOMY_PATH)
    try:
        stat = chosen.stat()
    except OSError as error:
        source = "" if path is not None else f" (set ${TAXONOMY_ENV} to choose another file)"
        raise ConfigError(f"cannot read taxonomy file {chosen}: {error.strerror}{source}") from None
    return _load_cached(str(chosen.resolve()), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _load_cached(path: str, mtime_ns: int, size: int) -> Taxonomy:
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    return parse_taxonomy(text, Path(path))


def parse_taxonomy(text: str, path: Path | None = None) -> Taxonomy:
    """Validate taxonomy YAML ``text``; raise one :class:`ConfigError` listing every problem."""
    where = str(path) if path else "taxonomy"
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        raise ConfigError(f"{where}: not valid YAML: {error}") from None
    problems: list[str] = []
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping with 'labels' (and 'mappings'), got {_kind(data)}")
    for key in sorted(set(data) - _TOP_KEYS, key=str):
        problems.append(f"unknown top-level key {key!r} (allowed: {', '.join(sorted(_TOP_KEYS))})")
    labels = _parse_labels(data.get("labels"), problems)
    # every declared id, valid label or not, so that one bad label is not reported again by each mapping
    declared = data.get("labels") if isinstance(data.get("labels"), list) else []
    ids = {item["id"] for item in declared if isinstance(item, dict) and isinstance(item.get("id"), str)}
    mappings = _parse_mappings(data.get("mappings") or {}, ids, problems)
    if problems:
        listed = "\n  ".join(problems)
        raise ConfigError(f"{where}: {len(problems)} problem(s) in the taxonomy:\n  {listed}")
    return Taxonomy(tuple(labels), mappings, path)


def _parse_labels(raw: Any, problems: list[str]) -> list[Label]:
    if not isinstance(raw, list) or not raw:
        problems.append(f"'labels' must be a non-empty list of labels, got {_kind(raw)}")
        return []
    labels: list[Label] = []
    first_id: dict[str, int] = {}
    first_hotkey: dict[str, str] = {}
    for number, item in enumerate(raw, start=1):
        name = f"label #{number}"
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            name = f"label {item['id']!r} (#{number})"
        if not isinstance(item, dict):
            problems.append(f"{name}: expected a mapping of {', '.join(_LABEL_KEYS)}, got {_kind(item)}")
            continue
        before = len(problems)
        for key in sorted(set(item) - set(_LABEL_KEYS), key=str):
            problems.append(f"{name}: unknown key {key!r} (allowed: {', '.join(_LABEL_KEYS)})")
        for key in _LABEL_KEYS:
            if key not in item:
                problems.append(f"{name}: missing {key!r}")
        label_id = item.get("id")
        if "id" in item and (not isinstance(label_id, str) or not _ID.match(label_id)):
            problems.append(
                f"{name}: id {label_id!r} must be lowercase letters, digits and '_', starting with a letter"
            )
        elif isinstance(label_id, str):
            if label_id in first_id:
                problems.append(f"{name}: duplicate id {label_id!r} (first used by label #{first_id[label_id]})")
            first_id.setdefault(label_id, number)
        for key in ("name", "definition"):
            if key in item and (not isinstance(item[key], str) or not item[key].strip()):
                problems.append(f"{name}: {key!r} must be non-empty text")
        examples = item.get("examples")
        if "examples" in item:
            if not isinstance(examples, list) or not all(isinstance(e, str) and e.strip() for e in examples):
                problems.append(f"{name}: 'examples' must be a list of non-empty strings")
            elif len(examples) < MIN_EXAMPLES:
                problems.append(f"{name}: needs at least {MIN_EXAMPLES} examples, has {len(examples)}")
        if "granularity" in item and item["granularity"] not in GRANULARITIES:
            problems.append(f"{name}: granularity {item['granularity']!r} must be one of {', '.join(GRANULARITIES)}")
        color = item.get("color")
        if "color" in item and (not isinstance(color, str) or not _COLOR.match(color)):
            hint = " (quote it: in YAML an unquoted # starts a comment)" if color is None else ""
            problems.append(f"{name}: color {color!r} must be '#rrggbb'{hint}")
        hotkey = item.get("hotkey")
        if isinstance(hotkey, int) and not isinstance(hotkey, bool) and 0 <= hotkey <= 9:
            hotkey = str(hotkey)  # an unquoted digit
        if "hotkey" in item:
            if not isinstance(hotkey, str) or not _HOTKEY.match(hotkey):
                problems.append(f"{name}: hotkey {item['hotkey']!r} must be one lowercase letter or digit")
            elif hotkey in RESERVED_HOTKEYS:
                problems.append(f"{name}: hotkey {hotkey!r} is taken by Label Studio; choose another")
            elif hotkey in first_hotkey:
                problems.append(f"{name}: duplicate hotkey {hotkey!r} (already used by {first_hotkey[hotkey]!r})")
            else:
                first_hotkey[hotkey] = str(label_id)
        group = item.get("group")
        if "group" in item and (not isinstance(group, str) or not _ID.match(group)):
            problems.append(f"{name}: group {group!r} must be lowercase letters, digits and '_'")
        if len(problems) == before:
            labels.append(
                Label(
                    id=label_id,
                    name=item["name"].strip(),
                    definition=" ".join(item["definition"].split()),
                    examples=tuple(e.strip() for e in examples),
                    granularity=item["granularity"],
                    color=color.lower(),
                    hotkey=hotkey,
                    group=group,
                )
            )
    return labels


def _parse_mappings(raw: Any, ids: set[str], problems: list[str]) -> dict[str, dict[str, SourceMapping]]:
    if not isinstance(raw, dict):
        problems.append(f"'mappings' must map a corpus name to a table, got {_kind(raw)}")
        return {}
    mappings: dict[str, dict[str, SourceMapping]] = {}
    for corpus, table in raw.items():
        if not isinstance(table, dict):
            problems.append(f"mappings.{corpus}: expected a table of source label -> ids, got {_kind(table)}")
            continue
        parsed: dict[str, SourceMapping] = {}
        for source_label, value in table.items():
            where = f"mappings.{corpus}.{source_label}"
            if not isinstance(source_label, str):
                problems.append(f"{where}: source label must be a string (quote it), got {_kind(source_label)}")
                continue
            entry = _parse_entry(value, where, ids, problems)
            if entry is not None:
                parsed[source_label] = entry
        mappings[str(corpus)] = parsed
    return mappings


def _parse_entry(value: Any, where: str, ids: set[str], problems: list[str]) -> SourceMapping | None:
    if isinstance(value, dict):
        if set(value) != {"one_of"}:
            problems.append(f"{where}: expected a list of ids or {{one_of: [ids]}}, got keys {sorted(value)}")
            return None
        listed = value["one_of"]
        if not isinstance(listed, list) or len(listed) < 2:
            problems.append(f"{where}: one_of needs a list of at least two ids")
            return None
        kind = "one_of"
    elif isinstance(value, list):
        listed, kind = value, "ids"
    else:
        problems.append(f"{where}: expected a list of ids or {{one_of: [ids]}}, got {_kind(value)}")
        return None
    unknown = [label_id for label_id in listed if label_id not in ids]
    if unknown:
        problems.append(f"{where}: unknown label id(s) {', '.join(map(repr, unknown))}")
        return None
    if len(set(listed)) != len(listed):
        problems.append(f"{where}: an id is listed twice")
        return None
    return SourceMapping(ids=tuple(listed)) if kind == "ids" else SourceMapping(one_of=tuple(listed))


def _kind(value: Any) -> str:
    return "nothing" if value is None else f"{type(value).__name__} {value!r}"[:80]


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml's parser when available
    """A safe loader that rejects duplicate mapping keys (PyYAML would silently keep the last one)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, Hashable):
            continue  # SafeLoader reports unhashable keys itself
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return yaml.constructor.SafeConstructor.construct_mapping(loader, node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
