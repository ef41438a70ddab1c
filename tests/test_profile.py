"""The condition profile: the shipped MS profile is complete, and broken profiles are refused by key path."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from curemap.errors import ProfileError
from curemap.normalise import PHASES
from curemap.profile import DEFAULT_PROFILE, available_profiles, load_profile, parse_profile

TAXONOMY = Path(__file__).resolve().parents[2] / "shared" / "domain" / "ms-strategies.md"
SHIPPED_TEXT = (
    Path(__file__).resolve().parents[1] / "src" / "curemap" / "profile" / "multiple_sclerosis.yaml"
).read_text()


def taxonomy_tables() -> dict[str, list[str]]:
    """Strategy ids per '## Group N' section of the taxonomy file, in the file's order."""
    groups: dict[str, list[str]] = {}
    current = None
    for line in TAXONOMY.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"## Group (\d)", line)
        if heading:
            current = heading.group(1)
            groups[current] = []
        elif line.startswith("## "):
            current = None
        elif current and (row := re.match(r"\| `([a-z_0-9]+)` \|", line)):
            groups[current].append(row.group(1))
    return groups


def outcome_table() -> set[str]:
    """The measure ids of the taxonomy's outcome measure vocabulary table."""
    section = TAXONOMY.read_text(encoding="utf-8").split("### Outcome measure vocabulary", 1)[1]
    first_cells = re.findall(r"^\| ((?:`[a-z_]+`(?: / )?)+) \|", section, re.MULTILINE)
    return {measure for cell in first_cells for measure in re.findall(r"`([a-z_]+)`", cell)}


def write_profile(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def shipped_data() -> dict:
    return yaml.safe_load(SHIPPED_TEXT)


def test_shipped_profile_loads_and_is_cached():
    profile = load_profile()
    assert profile.id == DEFAULT_PROFILE
    assert load_profile() is profile
    assert DEFAULT_PROFILE in available_profiles()
    assert re.fullmatch(r"[0-9a-f]{64}", profile.digest)


def test_every_taxonomy_strategy_is_in_the_profile_in_its_group():
    profile = load_profile()
    tables = taxonomy_tables()
    assert [len(ids) for ids in tables.values()] == [6, 2, 6, 3, 6]
    group_ids = [group.id for group in profile.groups]
    for number, ids in tables.items():
        for strategy_id in ids:
            assert profile.strategy(strategy_id).group == group_ids[int(number) - 1], strategy_id
    assert [s.id for s in profile.strategies] == [i for ids in tables.values() for i in ids]


def test_curative_intent_is_true_exactly_for_the_first_three_groups():
    profile = load_profile()
    assert [group.curative_intent for group in profile.groups] == [True, True, True, False, False]
    for strategy in profile.strategies:
        assert strategy.curative_intent == profile.group(strategy.group).curative_intent


def test_every_strategy_has_a_two_sentence_description_and_terms():
    for strategy in load_profile().strategies:
        assert len(re.findall(r"[.!?](?:\s|$)", strategy.description)) == 2, strategy.id
        assert strategy.terms, strategy.id


def test_vocabularies_cover_the_taxonomy():
    profile = load_profile()
    assert [p.id for p in profile.phenotypes] == [
        "ris",
        "cis",
        "rrms",
        "spms",
        "ppms",
        "progressive",
        "pediatric",
        "unspecified",
    ]
    measures = outcome_table()
    assert len(measures) == 19
    assert {m.id for m in profile.outcome_measures} == measures
    for measure in profile.outcome_measures:
        assert measure.meaning and measure.units and measure.terms, measure.id
    assert {phase.id for phase in profile.phases} == {"preclinical", *PHASES, "not_applicable"}
    not_conditions = {term.text.lower() for nc in profile.condition.not_conditions for term in nc.terms}
    assert {
        "tuberous sclerosis",
        "systemic sclerosis",
        "scleroderma",
        "amyotrophic lateral sclerosis",
        "multiple system atrophy",
        "lateral sclerosis",
    } <= not_conditions


def test_default_queries():
    queries = load_profile().queries
    assert dict(queries.registry) == {"condition": "multiple sclerosis"}
    assert "multiple sclerosis" in queries.pubmed and "multiple sclerosis" in queries.europepmc


def test_a_profile_loads_from_a_path(tmp_path):
    path = write_profile(tmp_path, shipped_data())
    profile = load_profile(path)
    assert profile.source == str(path)
    assert profile.digest != load_profile().digest  # the same data written differently is another text
    assert [s.id for s in profile.strategies] == [s.id for s in load_profile().strategies]


def append_term(data: dict, strategy: str, list_name: str, item) -> str:
    """Add a term to a strategy's list; the key path the term will have."""
    items = data["strategies"][strategy][list_name]
    items.append(item)
    return f"strategies.{strategy}.{list_name}[{len(items) - 1}]"


def set_value(data: dict, path: str, value) -> str:
    *parents, key = path.split(".")
    node = data
    for parent in parents:
        node = node[parent]
    node[key] = value
    return path


def drop_group(data: dict) -> str:
    del data["strategies"]["car_t"]["group"]
    return "strategies.car_t"


def unknown_default(data: dict) -> str:
    data["rules"]["default_strategy"] = "cure"
    return "rules"


BROKEN = {
    "unknown group": (lambda d: set_value(d, "strategies.car_t.group", "cell_magic"), "unknown group 'cell_magic'"),
    "bad regex": (lambda d: append_term(d, "car_t", "aliases", {"regex": "CAR-(T"}), "invalid regex"),
    "wrong type, boolean": (
        lambda d: set_value(d, "groups.immune_reset.curative_intent", "yes"),
        "expected true or false",
    ),
    "wrong type, number": (lambda d: set_value(d, "fields.interventions", "heavy"), "expected a number"),
    "wrong type, mapping": (lambda d: set_value(d, "strategies", ["car_t"]), "expected a mapping of ids"),
    "unknown key": (lambda d: set_value(d, "strategies.car_t.colour", "red"), "unknown key"),
    "missing field": (drop_group, "missing key 'group'"),
    "unknown context": (
        lambda d: append_term(d, "car_t", "codes", {"term": "X-1", "requires": ["moonlight"]}),
        "unknown context 'moonlight'",
    ),
    "term in two strategies": (lambda d: append_term(d, "nk_cell", "codes", "KYV-101"), "duplicate term 'KYV-101'"),
    "misplaced wildcard": (lambda d: append_term(d, "car_t", "aliases", "CAR*T"), "'*' may only end a word"),
    "unknown default": (unknown_default, "unknown strategy 'cure'"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_broken_profiles_name_the_key_path(tmp_path, case):
    change, problem = BROKEN[case]
    data = shipped_data()
    path = change(data)
    with pytest.raises(ProfileError) as raised:
        load_profile(write_profile(tmp_path, data))
    message = str(raised.value)
    assert message.startswith(f"{path}: "), message
    assert problem in message


def test_a_duplicate_id_is_refused_although_yaml_would_keep_the_last(tmp_path):
    text = SHIPPED_TEXT.replace(
        "strategies:\n",
        "strategies:\n  car_t:\n    name: Early copy\n    group: immune_reset\n    description: One. Two.\n",
        1,
    )
    path = tmp_path / "duplicate.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProfileError, match=r"^strategies\.car_t: duplicate key \(line \d+\)"):
        load_profile(path)


def test_unreadable_and_unknown_profiles(tmp_path):
    with pytest.raises(ProfileError, match="no profile named 'gout'"):
        load_profile("gout")
    with pytest.raises(ProfileError, match="cannot read profile"):
        load_profile(tmp_path / "missing.yaml")
    with pytest.raises(ProfileError, match="not valid YAML"):
        parse_profile("strategies: [unclosed")
    with pytest.raises(ProfileError, match="empty"):
        parse_profile("")


def test_a_second_condition_is_a_second_file(tmp_path):
    """A tiny profile for another condition loads with the same code."""
    data = {
        "id": "example_condition",
        "name": "Example condition",
        "version": 1,
        "queries": {"registry": {"condition": "example condition"}, "pubmed": "example", "europepmc": "example"},
        "fields": {"interventions": 3, "brief_title": 2, "conditions": 1, "outcomes": 0},
        "rules": {
            "condition_fields": ["conditions", "brief_title"],
            "phenotype_fields": ["conditions"],
            "context_fields": ["interventions", "brief_title"],
            "aims_need_intervention": True,
            "weak_weight": 0.5,
            "therapy_min_weight": 2,
            "default_strategy": "other",
            "default_phenotype": "any",
            "design_study_types": ["OBSERVATIONAL"],
            "not_condition": {"strategies": ["other"], "phenotypes": ["any"]},
            "fallback": {"fields": ["brief_title"], "min_similarity": 0.2, "min_shared_words": 2},
        },
        "condition": {"name": "Example", "terms": ["example condition"], "not_condition": {}},
        "groups": {"care": {"name": "Care", "curative_intent": False, "description": "Care."}},
        "strategies": {
            "exercise": {"name": "Exercise", "group": "care", "description": "Moving. More.", "aliases": ["exercise*"]},
            "other": {"name": "Other", "group": "care", "description": "Else. Anything.", "aliases": ["misc"]},
        },
        "contexts": {},
        "phenotypes": {"any": {"name": "Any", "terms": []}},
    }
    profile = load_profile(write_profile(tmp_path, data))
    assert [s.id for s in profile.strategies] == ["exercise", "other"]
