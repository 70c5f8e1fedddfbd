"""The taxonomy file and its loader: the default vocabulary, validation errors, mappings, user files."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import textwrap

import pytest

from pipeline.errors import ConfigError
from pipeline.taxonomy import (
    DEFAULT_TAXONOMY_PATH,
    TAXONOMY_ENV,
    UnknownLabelError,
    load_taxonomy,
    parse_taxonomy,
)

# The ids the issue asks for: the design's devices, then the SemEval-2023 techniques.
DESIGN_IDS = ["blame_attribution", "legitimation", "delegitimation", "loaded_language", "name_calling"]
SEMEVAL2023_IDS = [
    "appeal_to_authority", "appeal_to_fear", "appeal_to_hypocrisy", "appeal_to_popularity", "appeal_to_time",
    "appeal_to_values", "causal_oversimplification", "consequential_oversimplification", "conversation_killer",
    "doubt", "exaggeration_minimisation", "false_dilemma", "flag_waving", "guilt_by_association", "obfuscation",
    "questioning_the_reputation", "red_herring", "repetition", "slogans", "straw_man", "whataboutism",
]  # fmt: skip
# Source labels as the corpora spell them (data README and the SemEval-2023 task's 23 techniques).
PTC_LABELS = [
    "Loaded_Language", "Name_Calling,Labeling", "Repetition", "Doubt", "Exaggeration,Minimisation",
    "Appeal_to_fear-prejudice", "Flag-Waving", "Causal_Oversimplification", "Appeal_to_Authority", "Slogans",
    "Whataboutism,Straw_Men,Red_Herring", "Black-and-White_Fallacy", "Thought-terminating_Cliches",
    "Bandwagon,Reductio_ad_hitlerum",
]  # fmt: skip
SEMEVAL2023_LABELS = [
    "Loaded_Language", "Name_Calling-Labeling", "Repetition", "Doubt", "Exaggeration-Minimisation",
    "Appeal_to_Fear-Prejudice", "Flag_Waving", "Causal_Oversimplification", "Appeal_to_Authority", "Slogans",
    "False_Dilemma-No_Choice", "Conversation_Killer", "Guilt_by_Association", "Red_Herring", "Appeal_to_Hypocrisy",
    "Whataboutism", "Obfuscation-Vagueness-Confusion", "Appeal_to_Popularity", "Straw_Man", "Appeal_to_Values",
    "Consequential_Oversimplification", "Questioning_the_Reputation", "Appeal_to_Time",
]  # fmt: skip

MINIMAL = """\
labels:
  - id: blame_attribution
    name: Blame
    definition: Fault for a bad outcome is put on an actor.
    examples: ["The mayor ruined the park.", "They caused the flood."]
    granularity: span
    color: "#112233"
    hotkey: "b"
    group: devices
  - id: loaded_language
    name: Loaded
    definition: Emotionally charged words.
    examples: ["a shameful plan", "a glorious win"]
    granularity: span
    color: "#445566"
    hotkey: "1"
    group: wording
mappings:
  ptc:
    Loaded_Language: [loaded_language]
    Merged,Label: {one_of: [blame_attribution, loaded_language]}
"""


@pytest.fixture(scope="module")
def taxonomy():
    return load_taxonomy(DEFAULT_TAXONOMY_PATH)


def test_default_taxonomy_has_the_issue_ids_in_file_order(taxonomy):
    assert taxonomy.ids == tuple(DESIGN_IDS + SEMEVAL2023_IDS)
    assert len(taxonomy.ids) == 26


def test_every_label_is_usable_by_an_annotator_and_by_label_studio(taxonomy):
    hotkeys = [label.hotkey for label in taxonomy.labels]
    assert len(set(hotkeys)) == len(hotkeys)
    assert any(key.isdigit() for key in hotkeys) and any(key.isalpha() for key in hotkeys)
    for label in taxonomy.labels:
        assert label.name and len(label.definition.split()) >= 15, label.id
        assert len(label.examples) >= 2 and all(label.examples), label.id
        assert label.granularity == "span"
        assert re.fullmatch(r"#[0-9a-f]{6}", label.color), label.id
        assert re.fullmatch(r"[a-z0-9]", label.hotkey) and label.hotkey != "u", label.id
        assert label.group in taxonomy.groups


def test_the_legitimate_authorities_device_has_both_sides(taxonomy):
    assert "legitima" in taxonomy.get("legitimation").definition
    assert "so-called" in taxonomy.get("delegitimation").definition
    assert "responsib" in taxonomy.get("blame_attribution").definition


def test_labels_and_taxonomy_are_frozen(taxonomy):
    with pytest.raises(dataclasses.FrozenInstanceError):
        taxonomy.labels[0].name = "x"
    with pytest.raises(dataclasses.FrozenInstanceError):
        taxonomy.labels = ()
    with pytest.raises(TypeError):
        taxonomy.mappings["ptc"]["Doubt"] = None


def test_get_and_membership(taxonomy):
    assert taxonomy.get("doubt").id == "doubt"
    assert "doubt" in taxonomy and "Doubt" not in taxonomy
    with pytest.raises(UnknownLabelError, match="unknown label 'Doubt'.*doubt"):
        taxonomy.get("Doubt")


@pytest.mark.parametrize(
    ("corpus", "labels"), [("ptc", PTC_LABELS), ("semeval2023", SEMEVAL2023_LABELS)], ids=["ptc", "semeval2023"]
)
def test_mapping_tables_cover_every_corpus_label(taxonomy, corpus, labels):
    assert sorted(taxonomy.source_labels(corpus)) == sorted(labels)


def test_ptc_renamed_techniques_map_to_their_project_ids(taxonomy):
    assert taxonomy.map_label("ptc", "Black-and-White_Fallacy") == ("false_dilemma",)
    assert taxonomy.map_label("ptc", "Thought-terminating_Cliches") == ("conversation_killer",)
    assert taxonomy.map_label("ptc", "Name_Calling,Labeling") == ("name_calling",)
    assert taxonomy.map_label("ptc", "Exaggeration,Minimisation") == ("exaggeration_minimisation",)


def test_merged_ptc_labels_map_to_no_single_id_but_keep_their_candidates(taxonomy):
    merged = "Whataboutism,Straw_Men,Red_Herring"
    assert taxonomy.map_label("ptc", merged) == ()
    assert set(taxonomy.candidates("ptc", merged)) >= {"whataboutism", "straw_man", "red_herring"}
    assert taxonomy.map_label("ptc", "Bandwagon,Reductio_ad_hitlerum") == ()
    assert set(taxonomy.candidates("ptc", "Bandwagon,Reductio_ad_hitlerum")) == {
        "appeal_to_popularity",
        "guilt_by_association",
    }
    assert taxonomy.candidates("ptc", "Doubt") == ()
    assert "whataboutism" not in taxonomy.annotated_ids("ptc")
    assert "doubt" in taxonomy.annotated_ids("ptc")


def test_semeval2023_maps_one_to_one(taxonomy):
    mapped = [taxonomy.map_label("semeval2023", label) for label in SEMEVAL2023_LABELS]
    assert all(len(ids) == 1 for ids in mapped)
    assert sorted(ids[0] for ids in mapped) == sorted(SEMEVAL2023_IDS + ["loaded_language", "name_calling"])


def test_semeval2025_antagonist_roles_are_blame_evidence_and_others_are_not(taxonomy):
    assert taxonomy.map_label("semeval2025", "Instigator") == ("blame_attribution",)
    assert taxonomy.map_label("semeval2025", "Incompetent") == ("blame_attribution",)
    for role in ("Foreign Adversary", "Guardian", "Victim", "Scapegoat", "Antagonist"):
        assert taxonomy.map_label("semeval2025", role) == (), role


def test_unknown_source_label_and_missing_table_are_errors(taxonomy):
    with pytest.raises(UnknownLabelError, match="ptc label 'Loaded language' is not in the ptc mapping table"):
        taxonomy.map_label("ptc", "Loaded language")
    with pytest.raises(ConfigError, match="no mapping table for corpus 'other'"):
        taxonomy.map_label("other", "Doubt")


def test_a_minimal_user_taxonomy_loads(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    taxonomy = load_taxonomy(path)
    assert taxonomy.ids == ("blame_attribution", "loaded_language")
    assert taxonomy.get("loaded_language").hotkey == "1"
    assert taxonomy.candidates("ptc", "Merged,Label") == ("blame_attribution", "loaded_language")


def test_environment_variable_selects_the_taxonomy(tmp_path, monkeypatch):
    path = tmp_path / "env.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    monkeypatch.setenv(TAXONOMY_ENV, str(path))
    assert load_taxonomy().ids == ("blame_attribution", "loaded_language")


def test_edits_to_the_file_are_seen(tmp_path):
    path = tmp_path / "edited.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    assert load_taxonomy(path).get("loaded_language").name == "Loaded"
    path.write_text(MINIMAL.replace("name: Loaded", "name: Loaded words"), encoding="utf-8")
    assert load_taxonomy(path).get("loaded_language").name == "Loaded words"


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(ConfigError, match="nope.yaml"):
        load_taxonomy(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("labels:", "colour_scheme: dark\nlabels:", "unknown top-level key 'colour_scheme'"),
        ("    group: wording", "    group: wording\n    shortcut: x", "'loaded_language'.*unknown key 'shortcut'"),
        ("id: loaded_language", "id: blame_attribution", "duplicate id 'blame_attribution'"),
        ('hotkey: "1"', 'hotkey: "b"', "'loaded_language'.*duplicate hotkey 'b'"),
        ('hotkey: "1"', 'hotkey: "u"', "hotkey 'u' is taken by Label Studio"),
        ('hotkey: "1"', 'hotkey: "F1"', "hotkey 'F1' must be one lowercase letter or digit"),
        ('color: "#445566"', 'color: "#4455"', "'loaded_language'.*color '#4455' must be '#rrggbb'"),
        ('color: "#445566"', "color: #445566", "color None .*quote it"),
        ('examples: ["a shameful plan", "a glorious win"]', 'examples: ["a shameful plan"]', "at least 2 examples"),
        ("definition: Emotionally charged words.", "definition: ''", "'definition' must be non-empty"),
        ("    granularity: span\n    color: \"#445566\"", '    color: "#445566"', "missing 'granularity'"),
        ("granularity: span", "granularity: token", "'blame_attribution'.*granularity 'token'"),
        ("[loaded_language]", "[loaded_languages]", "ptc.Loaded_Language: unknown label id.*'loaded_languages'"),
        ("{one_of: [blame_attribution, loaded_language]}", "{one_of: [loaded_language]}", "at least two ids"),
        ("    Loaded_Language: [loaded_language]", "    Loaded_Language: [loaded_language]\n    Loaded_Language: []",
         "duplicate key 'Loaded_Language'"),
    ],
    ids=[
        "top-key", "label-key", "dup-id", "dup-hotkey", "reserved-hotkey", "long-hotkey", "bad-colour",
        "unquoted-colour", "one-example", "empty-definition", "missing-key", "bad-granularity", "mapping-id",
        "one-of-one", "duplicate-yaml-key",
    ],
)  # fmt: skip
def test_invalid_taxonomies_are_rejected_naming_file_and_label(tmp_path, old, new, message):
    assert old in MINIMAL
    path = tmp_path / "bad.yaml"
    path.write_text(MINIMAL.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as caught:
        load_taxonomy(path)
    assert str(path) in str(caught.value)


def test_every_problem_is_reported_at_once():
    text = MINIMAL.replace('hotkey: "1"', 'hotkey: "b"').replace('color: "#112233"', 'color: "red"')
    with pytest.raises(ConfigError, match="2 problem") as caught:
        parse_taxonomy(text)
    assert "duplicate hotkey" in str(caught.value) and "color 'red'" in str(caught.value)


def test_unquoted_digit_hotkey_is_accepted():
    assert parse_taxonomy(MINIMAL.replace('hotkey: "1"', "hotkey: 1")).get("loaded_language").hotkey == "1"


def test_loading_is_fast_and_does_not_import_torch():
    code = textwrap.dedent(
        """
        import sys, time
        started = time.perf_counter()
        from pipeline.taxonomy import load_taxonomy
        load_taxonomy()
        print(time.perf_counter() - started, "torch" in sys.modules)
        """
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    seconds, torch_imported = output.split()
    assert torch_imported == "False"
    assert float(seconds) < 1.0
