"""Condition profiles: the one place a condition's knowledge lives.

A profile is a YAML file (``multiple_sclerosis.yaml`` ships in this package) holding the
strategy taxonomy, the words and codes that identify each strategy, the conditions that
are and are not the condition, phenotypes, outcome and phase vocabularies, the default
queries and the classifier's rules. :func:`load_profile` reads one, checks every key and
returns frozen dataclasses, so the code holds no condition knowledge: a second condition
is a second file, not new code.

Term syntax (shared with the classifier, defined here once): a term is a phrase matched
as whole words. Words are runs of letters and digits; punctuation between them is
ignored, so ``CAR-T`` and ``CAR T`` are the same term. A word ending in ``*`` matches
any word it begins. Case-insensitive words tolerate a plural ending (:func:`fold_word`).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

import yaml

from curemap.errors import ProfileError

DEFAULT_PROFILE = "multiple_sclerosis"

TEXT_FIELDS = (
    "interventions",
    "intervention_types",
    "intervention_descriptions",
    "arm_labels",
    "arm_descriptions",
    "brief_title",
    "official_title",
    "acronym",
    "keywords",
    "conditions",
    "summary",
    "description",
    "outcomes",
)
"""The study fields a profile may name; the classifier knows how to read each."""

PAPER_FIELDS = ("title", "abstract", "keywords", "mesh", "publication_types")
"""The paper fields a profile may name (``mesh``: the MeSH descriptors); the classifier knows how to read each."""

WORD = re.compile(r"[^\W_]+")
"""A word of text: a run of letters and digits."""

_TERM_WORD = re.compile(r"[^\W_]+\*?")
_MISPLACED_STAR = re.compile(r"(?<![^\W_])\*|\*(?=[^\W_])")

TERM_LISTS = {"aliases": "alias", "brands": "brand", "codes": "code", "acronyms": "acronym", "aims": "aim"}
"""The lists a strategy names its terms in, and the ``kind`` each gives its terms."""

ROLES = ("therapy", "focus", "design")
UNITS = ("percent", "per_year", "points", "count", "ratio")

_TERM_OPTIONS = (
    "term",
    "regex",
    "case_sensitive",
    "weak",
    "fields",
    "study_types",
    "requires",
    "unless",
    "otherwise",
    "redirect",
    "with_groups",
)
_ID = re.compile(r"[a-z][a-z0-9_]*")


def term_words(text: str) -> tuple[str, ...]:
    """The words of a term phrase, a trailing ``*`` kept on a word that is a prefix."""
    return tuple(_TERM_WORD.findall(text))


def fold_word(word: str) -> str:
    """A word as case-insensitive matching compares it: lower case, plural ending removed."""
    word = word.lower()
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


@dataclass(frozen=True)
class Term:
    """One way a label shows in text, with the options that say when it counts."""

    text: str
    kind: str
    path: str
    regex: bool = False
    case_sensitive: bool = False
    weak: bool = False
    fields: tuple[str, ...] = ()
    study_types: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()
    otherwise: str | None = None
    redirect: tuple[tuple[str, str], ...] = ()
    with_groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class FieldSpec:
    name: str
    weight: float
    explicit: bool = False


@dataclass(frozen=True)
class PaperField:
    """A paper field: read like the study field ``reads_as`` names (its terms and rules apply), at its own weight."""

    name: str
    weight: float
    reads_as: str | None = None


@dataclass(frozen=True)
class Group:
    id: str
    name: str
    curative_intent: bool
    description: str


@dataclass(frozen=True)
class Strategy:
    id: str
    name: str
    group: str
    curative_intent: bool
    role: str
    description: str
    terms: tuple[Term, ...]
    regimen: tuple[Term, ...] = ()  # drugs given as part of this strategy (conditioning, mobilisation)
    approved: Approval | None = None  # already an approved treatment: the review must say so, with its source


@dataclass(frozen=True)
class Approval:
    """A strategy that is an approved disease-modifying drug, studied as a cure candidate: the
    review labels it so, naming the source of the fact."""

    text: str  # "approved in the EU (2013) and the US (2014) for relapsing MS"
    source: str  # who says so: the regulator's public assessment
    url: str


@dataclass(frozen=True)
class RoleWords:
    """How a study's words say what part a therapy plays in it (rule 10 of curemap/enrich/classify.py)."""

    fields: tuple[str, ...]  # where the cues are read (titles)
    comparator: tuple[Term, ...]  # "versus": the therapies after it are compared with those before
    prior: tuple[Term, ...]  # "previously treated with": what follows was given before the study
    background: tuple[Term, ...]  # "add-on to": what follows is given to every arm
    gap_words: frozenset[str]  # folded words that may stand between a cue and the therapies it governs
    window: int  # at most this many such words between them
    about: tuple[Term, ...]  # a title naming one observes or measures a therapy rather than testing it
    tested_arm_types: tuple[str, ...]
    comparator_arm_types: tuple[str, ...]
    ignored_arm_types: tuple[str, ...]  # placebo, sham, no intervention: no therapy is tested there


@dataclass(frozen=True)
class Context:
    """Words whose presence changes what another term means (an aim, a donor graft…)."""

    id: str
    description: str
    fields: tuple[str, ...]
    terms: tuple[Term, ...]


@dataclass(frozen=True)
class Phenotype:
    id: str
    name: str
    narrower: tuple[str, ...]
    terms: tuple[Term, ...]


@dataclass(frozen=True)
class NotCondition:
    id: str
    name: str
    terms: tuple[Term, ...]


@dataclass(frozen=True)
class Condition:
    name: str
    terms: tuple[Term, ...]
    not_conditions: tuple[NotCondition, ...]


@dataclass(frozen=True)
class OutcomeMeasure:
    id: str
    meaning: str
    units: tuple[str, ...]
    terms: tuple[Term, ...]
    event: bool = False  # its figures name the event they count (an adverse event, a ratio's endpoint)
    says: str = "{share}"  # a figure in words: {share} (54% of 120), {value}, {event}


@dataclass(frozen=True)
class OutcomeCues:
    """Words that tell the outcome extractor a number is not an outcome figure, or whose it is."""

    baseline: tuple[Term, ...] = ()  # a figure right beside one is a baseline or pre-treatment value
    demographics: tuple[Term, ...] = ()  # a sentence naming one describes who was studied
    not_outcome: tuple[Term, ...] = ()  # a figure read with one is something else (a risk stratum, an exposure)
    not_endpoint: tuple[Term, ...] = ()  # a ratio whose clause names one is not for a clinical endpoint
    other_groups: tuple[Term, ...] = ()  # groups that are not the condition (another disease, animals)
    subjects: tuple[Term, ...] = ()  # nouns that make a number a count of people


@dataclass(frozen=True)
class ComparisonCues:
    """Words that tell the comparison reader which group is the comparator and which way of an
    outcome is good, so "increased" can read as "better" or "worse"."""

    control: tuple[Term, ...] = ()  # a group named with one is the comparator (placebo, sham…)
    higher_is_better: tuple[Term, ...] = ()  # checked first: "relapse-free" before "relapse"
    lower_is_better: tuple[Term, ...] = ()


@dataclass(frozen=True)
class Design:
    """How a paper's evidence was produced (randomised trial, cohort, review, animal work…)."""

    id: str
    name: str
    description: str
    observational: bool  # it observes people: the design strategy's terms (cohort, registry) count for it
    terms: tuple[Term, ...]


@dataclass(frozen=True)
class Phase:
    id: str
    name: str
    registry: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Queries:
    registry: Mapping[str, str]
    pubmed: str
    europepmc: str


@dataclass(frozen=True)
class Fallback:
    fields: tuple[str, ...]
    min_similarity: float
    min_shared_words: int
    groups: tuple[str, ...] = ()  # the groups whose strategies it may choose (empty: all)


@dataclass(frozen=True)
class Rules:
    condition_fields: tuple[str, ...]
    phenotype_fields: tuple[str, ...]
    context_fields: tuple[str, ...]
    aims_need_intervention: bool
    weak_weight: float
    therapy_min_weight: float
    default_strategy: str
    default_phenotype: str
    design_study_types: tuple[str, ...]
    not_condition_strategies: tuple[str, ...]
    not_condition_phenotypes: tuple[str, ...]
    fallback: Fallback


@dataclass(frozen=True, eq=False)
class PaperRules:
    """How papers differ from studies: where the condition is read, how often it must be named,
    whether acronyms count alone, how much a therapy must be named to count, what the fallback
    reads, and which field decides a paper's design."""

    condition_fields: tuple[str, ...]
    acronyms_need_spelling: bool
    condition_min_mentions: Mapping[str, int]
    condition_models: tuple[Term, ...]
    phenotype_fields: tuple[str, ...]
    therapy_min_share: float
    fallback_fields: tuple[str, ...]
    design_fields: tuple[str, ...]
    default_design: str


@dataclass(frozen=True)
class Ignore:
    """Phrases never read as terms of a section because they contain one by accident."""

    strategies: tuple[Term, ...]
    phenotypes: tuple[Term, ...]
    designs: tuple[Term, ...] = ()


@dataclass(frozen=True)
class ReportSettings:
    """What the living review reads where: which groups are only the comparison frame, which
    strategy marks papers on biomarkers of response, which designs are preclinical, which
    outcome measures are about safety, and the review's opening words."""

    introduction: str = ""
    comparison_groups: tuple[str, ...] = ()
    biomarker_strategies: tuple[str, ...] = ()
    preclinical_designs: tuple[str, ...] = ()
    safety_measures: tuple[str, ...] = ()
    plain_names: tuple[tuple[str, str], ...] = ()  # (strategy id, words a person with MS would use)

    def plain_name(self, strategy: Strategy) -> str:
        """What the summary for people with MS calls a strategy: its plain words, else its name."""
        return dict(self.plain_names).get(strategy.id, strategy.name)


ELIGIBILITY_TOPICS = (
    "diagnosis",
    "mcdonald",
    "edss",
    "disease_duration",
    "relapse",
    "mri_activity",
    "disease_activity",
    "pregnancy",
    "contraception",
    "vaccination",
    "live_vaccine",
    "consent",
    "trial_participation",
    "residence",
    "other_than",
)
"""What an eligibility criterion can be about; the trial finder knows how to judge each."""


@dataclass(frozen=True)
class TreatmentClass:
    """Words for a whole class of treatments, and the strategies, groups or drug words (``drugs``)
    whose treatments belong to it. A class the person's treatment list does not record
    (``recorded`` false: medicines other than MS treatments) is never judged from that list."""

    id: str
    name: str
    terms: tuple[Term, ...]
    strategies: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    drugs: tuple[Term, ...] = ()
    recorded: bool = True


@dataclass(frozen=True)
class NamedTerms:
    id: str
    name: str
    terms: tuple[Term, ...]


@dataclass(frozen=True)
class Lab:
    """A laboratory or function test: a person gives it in ``unit``; ``unit_regex`` finds that unit in a criterion."""

    id: str
    name: str
    terms: tuple[Term, ...]
    unit: str
    unit_regex: str


@dataclass(frozen=True)
class ImpliedEdss:
    """Words that imply an EDSS bound ("walking impairment": 4 or more), uncertain from ``unsure_from``
    up to a lower bound (an EDSS of 3 may or may not come with a walking impairment)."""

    min: float | None
    max: float | None
    terms: tuple[Term, ...]
    unsure_from: float | None = None


@dataclass(frozen=True, eq=False)
class EligibilityWords:
    """How eligibility criteria name what a person can say about themselves (the trial finder's words)."""

    courses: tuple[str, ...]
    diagnosed: tuple[str, ...]
    relapsing_terms: tuple[Term, ...]
    relapsing_phenotypes: tuple[str, ...]
    relapsing_with_activity: tuple[str, ...]
    relapsing_activity_months: int
    course_terms: Mapping[str, tuple[Term, ...]]
    treatment_groups: tuple[str, ...]
    single_treatment_strategies: tuple[str, ...]
    treatment_classes: tuple[TreatmentClass, ...]
    topics: Mapping[str, tuple[Term, ...]]
    infections: tuple[NamedTerms, ...]
    labs: tuple[Lab, ...]
    negations: tuple[Term, ...]
    implied_edss: tuple[ImpliedEdss, ...] = ()
    alike_strategies: tuple[str, ...] = ()


@dataclass(frozen=True)
class SponsorType:
    """One type of the sponsor vocabulary, with the name words that say a sponsor is of it."""

    id: str
    name: str
    description: str
    name_words: tuple[Term, ...] = ()


@dataclass(frozen=True)
class SponsorClass:
    """A registry's sponsor class as it writes it, the type it maps to, and the types its names may refine it to."""

    words: str
    type: str
    refine: tuple[str, ...] = ()


@dataclass(frozen=True)
class Organisation:
    """A sponsor organisation and the names its affiliates and former names begin with."""

    id: str
    name: str
    names: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class SponsorWords:
    """How registries' sponsor classes map onto one vocabulary and how sponsor names merge (curemap/enrich/sponsors.py)."""

    types: tuple[SponsorType, ...]
    unknown_type: str
    industry_type: str  # the type whose share of MS trials is stated
    registries: Mapping[str, tuple[SponsorClass, ...]]
    affiliations: tuple[re.Pattern[str], ...]  # each names the parent in its group "parent"
    remove: tuple[re.Pattern[str], ...]
    legal_suffixes: tuple[str, ...]
    organisations: tuple[Organisation, ...]


AGE_RULES = ("youngest_below", "youngest_from", "oldest_below", "oldest_from")
"""How a population bounds the ages a record admits; the population reader knows how to judge each."""

POPULATION_RESTRICTS = ("age", "course", "pregnancy", "health")
"""What a population restricts who may join by, which the trial finder judges: the person's age (by
its ages rule), disease course (by its phenotypes), being pregnant or breastfeeding, or being a
healthy volunteer."""

RESTRICTING_AGE_RULES = ("youngest_from", "oldest_below")
"""The age rules that bound the person's age ("admits children" bounds nobody's)."""


@dataclass(frozen=True)
class Population:
    """A population a study may admit, and what in a record says so (curemap/enrich/populations.py)."""

    id: str
    name: str
    description: str
    ages: tuple[str, float] | None = None  # (one of AGE_RULES, years)
    healthy_volunteers: bool = False  # the registry's "accepts healthy volunteers" gives it
    fields: tuple[str, ...] = ()
    terms: tuple[Term, ...] = ()
    phenotypes: tuple[str, ...] = ()  # their terms give it too
    unless: tuple[Term, ...] = ()
    unless_phenotypes: tuple[str, ...] = ()
    otherwise: str | None = None  # given instead when an unless term is present
    implies: tuple[str, ...] = ()
    restricts: str | None = None  # one of POPULATION_RESTRICTS; None: it restricts nobody (admits children…)


@dataclass(frozen=True, eq=False)
class PopulationWords:
    fields: tuple[str, ...]
    age_groups: Mapping[str, tuple[float, float | None]]  # registry standard age group -> years (None: no limit)
    ignore: tuple[Term, ...]
    populations: tuple[Population, ...]


@dataclass(frozen=True)
class VerifierWords:
    """The verifier's section: each product's names (a code, its INN, its short name), so a review
    naming it one way finds the store's trials that name it another; and the endings of
    nonproprietary drug names (INN stems: "-mab", "-imod"), so a review naming a drug without a
    code ("ibudilast") is matched to the trials that test it; and the targets therapies act on,
    written like codes ("CD19", "BCMA"), which name no one product; and the syndromes the map
    counts with MS that are not MS itself (acute optic neuritis), so a trial listing only those is
    not called an MS trial; and the words of conditions that name a class of diseases MS belongs
    to ("B-cell mediated autoimmune disorders"), under which a trial's keywords say which ones;
    and organisations a review may name by their parent ("the NIH" for NIAID)."""

    products: tuple[tuple[str, ...], ...] = ()
    name_stems: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    syndromes: tuple[str, ...] = ()  # conditions that may come before MS without being it
    classes: tuple[str, ...] = ()  # words of conditions naming a class of diseases MS is one of
    parents: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = ()  # (a parent's names, its parts' names)


@dataclass(frozen=True, eq=False)
class Profile:
    """A condition's whole knowledge, validated. Compared and hashed by identity."""

    id: str
    name: str
    version: int
    source: str
    digest: str  # sha256 of the profile text: classifications made under another one are stale
    queries: Queries
    fields: tuple[FieldSpec, ...]
    rules: Rules
    condition: Condition
    groups: tuple[Group, ...]
    strategies: tuple[Strategy, ...]
    contexts: tuple[Context, ...]
    phenotypes: tuple[Phenotype, ...]
    ignore: Ignore
    outcome_measures: tuple[OutcomeMeasure, ...]
    phases: tuple[Phase, ...]
    paper_fields: tuple[PaperField, ...] = ()
    paper_rules: PaperRules | None = None  # None: the profile does not describe papers
    designs: tuple[Design, ...] = ()
    outcome_cues: OutcomeCues = OutcomeCues()
    comparison_cues: ComparisonCues = ComparisonCues()
    report: ReportSettings = ReportSettings()
    eligibility: EligibilityWords | None = None  # None: the profile has no words for the trial finder
    roles: RoleWords | None = None  # None: every strategy a study names is tested
    sponsors: SponsorWords | None = None  # None: sponsors keep their registries' classes
    populations: PopulationWords | None = None  # None: studies are not tagged with populations
    verifier: VerifierWords = VerifierWords()

    def strategy(self, strategy_id: str) -> Strategy:
        return _by_id(self.strategies, strategy_id, "strategy")

    @property
    def strategy_ids(self) -> frozenset[str]:
        return frozenset(strategy.id for strategy in self.strategies)

    def group(self, group_id: str) -> Group:
        return _by_id(self.groups, group_id, "group")

    def field_weight(self, name: str) -> float:
        return next((spec.weight for spec in self.fields if spec.name == name), 0.0)


def _by_id(items, wanted: str, what: str):
    for item in items:
        if item.id == wanted:
            return item
    raise KeyError(f"no {what} {wanted!r} in this profile")


def available_profiles() -> list[str]:
    """Names of the profiles shipped in the package."""
    return sorted(p.name[: -len(".yaml")] for p in resources.files(__name__).iterdir() if p.name.endswith(".yaml"))


def load_profile(name_or_path: str | Path = DEFAULT_PROFILE) -> Profile:
    """Load and validate a profile by package name (cached) or from a YAML file path.

    Raises :class:`ProfileError` naming the key path and the problem, e.g.
    ``strategies.car_t.codes[3]: invalid regex …``.
    """
    if isinstance(name_or_path, Path) or re.search(r"[/\\]|\.ya?ml$", name_or_path):
        path = Path(name_or_path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ProfileError(f"cannot read profile {path}: {exc.strerror or exc}") from exc
        return parse_profile(text, str(path))
    return _packaged_profile(name_or_path)


@functools.cache
def _packaged_profile(name: str) -> Profile:
    resource = resources.files(__name__).joinpath(f"{name}.yaml")
    if not resource.is_file():
        raise ProfileError(f"no profile named {name!r}; shipped profiles: {', '.join(available_profiles())}")
    return parse_profile(resource.read_text(encoding="utf-8"), f"{name}.yaml")


def parse_profile(text: str, source: str = "<profile>") -> Profile:
    """Validate profile YAML text and build the :class:`Profile` it describes."""
    try:
        return _build(_Value(_read_yaml(text), ""), source, hashlib.sha256(text.encode("utf-8")).hexdigest())
    except ProfileError as exc:
        raise ProfileError(f"{exc} (in {source})") from None


# -- reading YAML with key paths ---------------------------------------------------------


def _read_yaml(text: str) -> Any:
    """Plain Python data from YAML, refusing duplicate keys (which PyYAML would overwrite). The
    document is composed by libyaml where PyYAML was built with it (several times faster: every
    command reads the profile at start)."""
    try:
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        if node is None:
            raise ProfileError("the profile is empty")
        return _plain(node, "", yaml.SafeLoader(""))
    except yaml.YAMLError as exc:
        raise ProfileError(f"not valid YAML: {exc}") from None


def _plain(node: yaml.Node, path: str, loader: yaml.SafeLoader) -> Any:
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(loader.construct_object(key_node))
            child = _join(path, key)
            if key in result:
                raise ProfileError(f"{child}: duplicate key (line {key_node.start_mark.line + 1})")
            result[key] = _plain(value_node, child, loader)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item, f"{path}[{index}]", loader) for index, item in enumerate(node.value)]
    return loader.construct_object(node)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class _Value:
    """A value read from the profile together with the key path it was read at."""

    __slots__ = ("value", "path")

    def __init__(self, value: Any, path: str):
        self.value = value
        self.path = path

    def fail(self, problem: str) -> NoReturn:
        raise ProfileError(f"{self.path or '(top level)'}: {problem}")

    def child(self, key: str) -> _Value:
        return _Value(self.value[key], _join(self.path, key))

    def mapping(self, required: Iterable[str] = (), optional: Iterable[str] = ()) -> dict[str, _Value]:
        """The keys of a mapping with a fixed set of keys, checked for unknown and missing ones."""
        required, optional = tuple(required), tuple(optional)
        if not isinstance(self.value, dict):
            self.fail(f"expected a mapping, got {_type_name(self.value)}")
        known = required + optional
        for key in self.value:
            if key not in known:
                _Value(None, _join(self.path, key)).fail(f"unknown key (expected one of: {', '.join(known)})")
        for key in required:
            if key not in self.value:
                self.fail(f"missing key {key!r}")
        return {key: self.child(key) for key in self.value}

    def entries(self) -> list[tuple[str, _Value]]:
        """The items of a mapping keyed by ids (snake_case)."""
        if not isinstance(self.value, dict):
            self.fail(f"expected a mapping of ids, got {_type_name(self.value)}")
        for key in self.value:
            if not _ID.fullmatch(key):
                _Value(None, _join(self.path, key)).fail("an id must be snake_case: lower-case letters, digits and _")
        return [(key, self.child(key)) for key in self.value]

    def sequence(self) -> list[_Value]:
        if not isinstance(self.value, list):
            self.fail(f"expected a list, got {_type_name(self.value)}")
        return [_Value(item, f"{self.path}[{index}]") for index, item in enumerate(self.value)]

    def string(self) -> str:
        if not isinstance(self.value, str) or not self.value.strip():
            self.fail(f"expected non-empty text, got {_type_name(self.value)}")
        return self.value.strip()

    def strings(self) -> tuple[str, ...]:
        return tuple(item.string() for item in self.sequence())

    def boolean(self) -> bool:
        if not isinstance(self.value, bool):
            self.fail(f"expected true or false, got {_type_name(self.value)}")
        return self.value

    def number(self) -> float:
        if isinstance(self.value, bool) or not isinstance(self.value, (int, float)):
            self.fail(f"expected a number, got {_type_name(self.value)}")
        return float(self.value)

    def integer(self) -> int:
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            self.fail(f"expected a whole number, got {_type_name(self.value)}")
        return self.value


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false"}.get(type(value), type(value).__name__)


# -- building the profile ----------------------------------------------------------------


def _build(top: _Value, source: str, digest: str) -> Profile:
    keys = top.mapping(
        required=(
            "id",
            "name",
            "version",
            "queries",
            "fields",
            "rules",
            "condition",
            "groups",
            "strategies",
            "contexts",
            "phenotypes",
        ),
        optional=(
            "ignore",
            "outcome_measures",
            "outcome_cues",
            "comparison_cues",
            "phases",
            "report",
            "eligibility",
            "sponsors",
            "populations",
            "roles",
            "verifier",
            *_PAPER_SECTIONS,
        ),
    )
    groups = tuple(_group(group_id, value) for group_id, value in keys["groups"].entries())
    curative = {group.id: group.curative_intent for group in groups}
    strategies = tuple(_strategy(strategy_id, value, curative) for strategy_id, value in keys["strategies"].entries())
    condition = _condition(keys["condition"])
    ignore = _ignore(keys["ignore"]) if "ignore" in keys else Ignore((), ())
    paper_fields, paper_rules, designs = _papers(top, keys)
    profile = Profile(
        id=keys["id"].string(),
        name=keys["name"].string(),
        version=keys["version"].integer(),
        source=source,
        digest=digest,
        queries=_queries(keys["queries"]),
        fields=tuple(_field(name, value) for name, value in keys["fields"].entries()),
        rules=_rules(keys["rules"]),
        condition=condition,
        groups=groups,
        strategies=strategies,
        contexts=tuple(_context(context_id, value, condition) for context_id, value in keys["contexts"].entries()),
        phenotypes=tuple(_phenotype(phenotype_id, value) for phenotype_id, value in keys["phenotypes"].entries()),
        ignore=ignore,
        outcome_measures=tuple(
            _outcome(measure_id, value)
            for measure_id, value in keys.get("outcome_measures", _Value({}, "outcome_measures")).entries()
        ),
        phases=tuple(_phase(phase_id, value) for phase_id, value in keys.get("phases", _Value({}, "phases")).entries()),
        paper_fields=paper_fields,
        paper_rules=paper_rules,
        designs=designs,
        outcome_cues=_outcome_cues(keys["outcome_cues"]) if "outcome_cues" in keys else OutcomeCues(),
        comparison_cues=_comparison_cues(keys["comparison_cues"]) if "comparison_cues" in keys else ComparisonCues(),
        report=_report(keys["report"]) if "report" in keys else ReportSettings(),
        eligibility=_eligibility(keys["eligibility"]) if "eligibility" in keys else None,
        roles=_roles(keys["roles"]) if "roles" in keys else None,
        sponsors=_sponsors(keys["sponsors"]) if "sponsors" in keys else None,
        populations=_populations(keys["populations"]) if "populations" in keys else None,
        verifier=_verifier(keys["verifier"]) if "verifier" in keys else VerifierWords(),
    )
    _check_references(profile)
    return profile


def _verifier(value: _Value) -> VerifierWords:
    keys = value.mapping(required=("products",), optional=("name_stems", "targets", "syndromes", "classes", "parents"))
    return VerifierWords(
        products=tuple(item.strings() for item in keys["products"].sequence()),
        name_stems=keys["name_stems"].strings() if "name_stems" in keys else (),
        targets=keys["targets"].strings() if "targets" in keys else (),
        syndromes=keys["syndromes"].strings() if "syndromes" in keys else (),
        classes=keys["classes"].strings() if "classes" in keys else (),
        parents=tuple(_parent(item) for item in keys["parents"].sequence()) if "parents" in keys else (),
    )


def _parent(value: _Value) -> tuple[tuple[str, ...], tuple[str, ...]]:
    keys = value.mapping(required=("names", "parts"))
    return keys["names"].strings(), keys["parts"].strings()


def _roles(value: _Value) -> RoleWords:
    keys = value.mapping(
        required=("fields", "comparator", "prior", "background", "gap_words", "window", "about", "arm_types")
    )
    arms = keys["arm_types"].mapping(required=("tested", "comparator", "ignored"))
    return RoleWords(
        fields=keys["fields"].strings(),
        comparator=_terms(keys["comparator"], "role_cue"),
        prior=_terms(keys["prior"], "role_cue"),
        background=_terms(keys["background"], "role_cue"),
        gap_words=frozenset(fold_word(word) for word in keys["gap_words"].strings()),
        window=keys["window"].integer(),
        about=_terms(keys["about"], "about"),
        tested_arm_types=arms["tested"].strings(),
        comparator_arm_types=arms["comparator"].strings(),
        ignored_arm_types=arms["ignored"].strings(),
    )


def _sponsors(value: _Value) -> SponsorWords:
    keys = value.mapping(
        required=("types", "unknown_type", "industry_type", "registries", "legal_suffixes", "organisations"),
        optional=("affiliations", "remove"),
    )
    types = tuple(_sponsor_type(type_id, item) for type_id, item in keys["types"].entries())
    registries = {
        registry: tuple(_sponsor_class(item) for item in classes.sequence())
        for registry, classes in keys["registries"].entries()
    }
    for suffix in keys["legal_suffixes"].sequence():
        if not term_words(suffix.string()):
            suffix.fail(f"suffix {suffix.value!r} has no words")
    return SponsorWords(
        types=types,
        unknown_type=keys["unknown_type"].string(),
        industry_type=keys["industry_type"].string(),
        registries=MappingProxyType(registries),
        affiliations=_patterns(keys["affiliations"], "parent") if "affiliations" in keys else (),
        remove=_patterns(keys["remove"]) if "remove" in keys else (),
        legal_suffixes=keys["legal_suffixes"].strings(),
        organisations=tuple(_organisation(org_id, item) for org_id, item in keys["organisations"].entries()),
    )


def _sponsor_type(type_id: str, value: _Value) -> SponsorType:
    keys = value.mapping(required=("name", "description"), optional=("name_words",))
    words = _terms(keys["name_words"], "sponsor_word") if "name_words" in keys else ()
    return SponsorType(type_id, keys["name"].string(), " ".join(keys["description"].string().split()), words)


def _sponsor_class(value: _Value) -> SponsorClass:
    keys = value.mapping(required=("class", "type"), optional=("refine",))
    refine = keys["refine"].strings() if "refine" in keys else ()
    return SponsorClass(keys["class"].string(), keys["type"].string(), refine)


def _organisation(org_id: str, value: _Value) -> Organisation:
    keys = value.mapping(required=("name", "names"))
    for item in keys["names"].sequence():
        if not term_words(item.string()):
            item.fail(f"name {item.value!r} has no words")
    return Organisation(org_id, keys["name"].string(), keys["names"].strings())


def _patterns(value: _Value, group: str | None = None) -> tuple[re.Pattern[str], ...]:
    """Regular expressions, each checked to compile and, when ``group`` is given, to name that group."""
    patterns = []
    for item in value.sequence():
        try:
            pattern = re.compile(item.string())
        except re.error as exc:
            item.fail(f"invalid regex {item.value!r}: {exc}")
        if group is not None and group not in pattern.groupindex:
            item.fail(f"the regex must name the group {group!r}")
        patterns.append(pattern)
    return tuple(patterns)


def _populations(value: _Value) -> PopulationWords:
    keys = value.mapping(required=("fields", "age_groups", "populations"), optional=("ignore",))
    return PopulationWords(
        fields=keys["fields"].strings(),
        age_groups=_age_groups(keys["age_groups"]),
        ignore=_terms(keys["ignore"], "ignore") if "ignore" in keys else (),
        populations=tuple(_population(pop_id, item) for pop_id, item in keys["populations"].entries()),
    )


def _age_groups(value: _Value) -> Mapping[str, tuple[float, float | None]]:
    """Registry standard age groups (not snake_case ids: the registries' own words) and their bounds in years."""
    if not isinstance(value.value, dict) or not value.value:
        value.fail("expected a mapping of registry age groups to [lowest, highest] years")
    groups = {}
    for name in value.value:
        bounds = value.child(name)
        if not isinstance(bounds.value, list) or len(bounds.value) != 2:
            bounds.fail("expected [lowest age, highest age or null] in years")
        low, high = bounds.sequence()
        groups[name] = (low.number(), None if high.value is None else high.number())
    return MappingProxyType(groups)


def _population(population_id: str, value: _Value) -> Population:
    keys = value.mapping(
        required=("name", "description"),
        optional=(
            "ages", "healthy_volunteers", "fields", "terms", "phenotypes", "unless", "unless_phenotypes",
            "otherwise", "implies", "restricts",
        ),
    )
    ages = None
    if "ages" in keys:
        rules = keys["ages"].mapping(optional=AGE_RULES)
        if len(rules) != 1:
            keys["ages"].fail(f"expected exactly one of: {', '.join(AGE_RULES)}")
        [(rule, years)] = rules.items()
        ages = (rule, years.number())
    return Population(
        id=population_id,
        name=keys["name"].string(),
        description=" ".join(keys["description"].string().split()),
        ages=ages,
        healthy_volunteers=keys["healthy_volunteers"].boolean() if "healthy_volunteers" in keys else False,
        fields=keys["fields"].strings() if "fields" in keys else (),
        terms=_terms(keys["terms"], "population") if "terms" in keys else (),
        phenotypes=keys["phenotypes"].strings() if "phenotypes" in keys else (),
        unless=_terms(keys["unless"], "population_unless") if "unless" in keys else (),
        unless_phenotypes=keys["unless_phenotypes"].strings() if "unless_phenotypes" in keys else (),
        otherwise=keys["otherwise"].string() if "otherwise" in keys else None,
        implies=keys["implies"].strings() if "implies" in keys else (),
        restricts=keys["restricts"].string() if "restricts" in keys else None,
    )


def _report(value: _Value) -> ReportSettings:
    keys = value.mapping(
        optional=(
            "introduction", "comparison_groups", "biomarker_strategies", "preclinical_designs", "safety_measures",
            "plain_names",
        )
    )
    introduction = keys.pop("introduction").string() if "introduction" in keys else ""
    plain = tuple((key, item.string()) for key, item in keys.pop("plain_names").entries()) if "plain_names" in keys else ()
    return ReportSettings(introduction=introduction, plain_names=plain, **{name: item.strings() for name, item in keys.items()})


def _eligibility(value: _Value) -> EligibilityWords:
    keys = value.mapping(
        required=("courses", "diagnosed", "relapsing", "topics", "negations"),
        optional=("course_terms", "treatment_groups", "single_treatment_strategies", "treatment_classes", "infections", "labs", "implied_edss", "alike_strategies"),
    )
    relapsing = keys["relapsing"].mapping(
        required=("terms", "phenotypes"), optional=("with_activity", "activity_window_months")
    )
    topics = keys["topics"].mapping(optional=ELIGIBILITY_TOPICS)
    classes = []
    for class_id, item in keys.get("treatment_classes", _Value({}, "eligibility.treatment_classes")).entries():
        parts = item.mapping(required=("name", "terms"), optional=("strategies", "groups", "drugs", "recorded"))
        classes.append(
            TreatmentClass(
                class_id,
                parts["name"].string(),
                _terms(parts["terms"], "treatment_class"),
                parts["strategies"].strings() if "strategies" in parts else (),
                parts["groups"].strings() if "groups" in parts else (),
                _terms(parts["drugs"], "treatment_class") if "drugs" in parts else (),
                parts["recorded"].boolean() if "recorded" in parts else True,
            )
        )
    infections = []
    for infection_id, item in keys.get("infections", _Value({}, "eligibility.infections")).entries():
        parts = item.mapping(required=("name", "terms"))
        infections.append(NamedTerms(infection_id, parts["name"].string(), _terms(parts["terms"], "infection")))
    labs = []
    for lab_id, item in keys.get("labs", _Value({}, "eligibility.labs")).entries():
        parts = item.mapping(required=("name", "terms", "unit", "unit_regex"))
        pattern = parts["unit_regex"].string()
        try:
            re.compile(pattern)
        except re.error as exc:
            parts["unit_regex"].fail(f"invalid regex {pattern!r}: {exc}")
        labs.append(Lab(lab_id, parts["name"].string(), _terms(parts["terms"], "lab"), parts["unit"].string(), pattern))
    implied = []
    for item in keys["implied_edss"].sequence() if "implied_edss" in keys else ():
        parts = item.mapping(required=("terms",), optional=("min", "max", "unsure_from"))
        if "min" not in parts and "max" not in parts:
            item.fail("an implied EDSS bound needs 'min' or 'max'")
        bounds = {side: parts[side].number() if side in parts else None for side in ("min", "max")}
        unsure = parts["unsure_from"].number() if "unsure_from" in parts else None
        implied.append(ImpliedEdss(bounds["min"], bounds["max"], _terms(parts["terms"], "implied_edss"), unsure))
    return EligibilityWords(
        courses=keys["courses"].strings(),
        diagnosed=keys["diagnosed"].strings(),
        relapsing_terms=_terms(relapsing["terms"], "phenotype"),
        relapsing_phenotypes=relapsing["phenotypes"].strings(),
        relapsing_with_activity=relapsing["with_activity"].strings() if "with_activity" in relapsing else (),
        relapsing_activity_months=(
            relapsing["activity_window_months"].integer() if "activity_window_months" in relapsing else 24
        ),
        course_terms=MappingProxyType(
            {course: _terms(item, "phenotype") for course, item in keys["course_terms"].entries()} if "course_terms" in keys else {}
        ),
        treatment_groups=keys["treatment_groups"].strings() if "treatment_groups" in keys else (),
        single_treatment_strategies=(
            keys["single_treatment_strategies"].strings() if "single_treatment_strategies" in keys else ()
        ),
        treatment_classes=tuple(classes),
        topics=MappingProxyType({name: _terms(item, f"topic_{name}") for name, item in topics.items()}),
        infections=tuple(infections),
        labs=tuple(labs),
        negations=_terms(keys["negations"], "negation"),
        implied_edss=tuple(implied),
        alike_strategies=keys["alike_strategies"].strings() if "alike_strategies" in keys else (),
    )


def _check_eligibility(words: EligibilityWords, phenotypes: set[str], strategies: set[str], groups: set[str], expect) -> None:
    """The finder's words name declared phenotypes, strategies and groups, and no term twice in one list."""
    path = "eligibility"
    expect(phenotypes, words.courses, f"{path}.courses", "phenotype")
    expect(set(words.courses), words.diagnosed, f"{path}.diagnosed", "course")
    expect(set(words.courses), words.relapsing_phenotypes + words.relapsing_with_activity, f"{path}.relapsing", "course")
    expect(set(words.courses), tuple(words.course_terms), f"{path}.course_terms", "course")
    expect(groups, words.treatment_groups, f"{path}.treatment_groups", "group")
    expect(strategies, words.single_treatment_strategies, f"{path}.single_treatment_strategies", "strategy")
    expect(strategies, words.alike_strategies, f"{path}.alike_strategies", "strategy")
    for item in words.treatment_classes:
        expect(strategies, item.strategies, f"{path}.treatment_classes.{item.id}.strategies", "strategy")
        expect(groups, item.groups, f"{path}.treatment_classes.{item.id}.groups", "group")
    _check_unique(f"{path}.treatment_classes", [t for item in words.treatment_classes for t in item.terms])
    _check_unique(f"{path}.infections", [t for item in words.infections for t in item.terms])
    _check_unique(f"{path}.labs", [t for item in words.labs for t in item.terms])
    for name, terms in words.topics.items():
        _check_unique(f"{path}.topics.{name}", list(terms))


def _queries(value: _Value) -> Queries:
    keys = value.mapping(required=("registry", "pubmed", "europepmc"))
    registry = keys["registry"]
    return Queries(
        registry=MappingProxyType({key: item.string() for key, item in registry.entries()}),
        pubmed=keys["pubmed"].string(),
        europepmc=keys["europepmc"].string(),
    )


def _field(name: str, value: _Value) -> FieldSpec:
    if name not in TEXT_FIELDS:
        _Value(None, value.path).fail(f"unknown study field (known: {', '.join(TEXT_FIELDS)})")
    if isinstance(value.value, dict):
        keys = value.mapping(required=("weight",), optional=("explicit",))
        return FieldSpec(name, keys["weight"].number(), keys["explicit"].boolean() if "explicit" in keys else False)
    return FieldSpec(name, value.number())


def _rules(value: _Value) -> Rules:
    keys = value.mapping(
        required=(
            "condition_fields",
            "phenotype_fields",
            "context_fields",
            "aims_need_intervention",
            "weak_weight",
            "therapy_min_weight",
            "default_strategy",
            "default_phenotype",
            "design_study_types",
            "not_condition",
            "fallback",
        )
    )
    not_condition = keys["not_condition"].mapping(required=("strategies", "phenotypes"))
    fallback = keys["fallback"].mapping(required=("fields", "min_similarity", "min_shared_words"), optional=("groups",))
    return Rules(
        condition_fields=keys["condition_fields"].strings(),
        phenotype_fields=keys["phenotype_fields"].strings(),
        context_fields=keys["context_fields"].strings(),
        aims_need_intervention=keys["aims_need_intervention"].boolean(),
        weak_weight=keys["weak_weight"].number(),
        therapy_min_weight=keys["therapy_min_weight"].number(),
        default_strategy=keys["default_strategy"].string(),
        default_phenotype=keys["default_phenotype"].string(),
        design_study_types=keys["design_study_types"].strings(),
        not_condition_strategies=not_condition["strategies"].strings(),
        not_condition_phenotypes=not_condition["phenotypes"].strings(),
        fallback=Fallback(
            fallback["fields"].strings(),
            fallback["min_similarity"].number(),
            fallback["min_shared_words"].integer(),
            fallback["groups"].strings() if "groups" in fallback else (),
        ),
    )


def _group(group_id: str, value: _Value) -> Group:
    keys = value.mapping(required=("name", "curative_intent", "description"))
    description = " ".join(keys["description"].string().split())
    return Group(group_id, keys["name"].string(), keys["curative_intent"].boolean(), description)


def _strategy(strategy_id: str, value: _Value, curative: dict[str, bool]) -> Strategy:
    keys = value.mapping(
        required=("name", "group", "description"), optional=("role", "redirect", "regimen", "approved", *TERM_LISTS)
    )
    group = keys["group"].string()
    if group not in curative:
        keys["group"].fail(f"unknown group {group!r} (known: {', '.join(curative)})")
    role = keys["role"].string() if "role" in keys else "therapy"
    if role not in ROLES:
        keys["role"].fail(f"unknown role {role!r} (known: {', '.join(ROLES)})")
    redirect = _redirect(keys["redirect"]) if "redirect" in keys else ()
    terms = tuple(
        _term(item, kind, weak=kind == "aim", case_sensitive=kind == "acronym", redirect=redirect)
        for list_name, kind in TERM_LISTS.items()
        if list_name in keys
        for item in keys[list_name].sequence()
    )
    return Strategy(
        id=strategy_id,
        name=keys["name"].string(),
        group=group,
        curative_intent=curative[group],
        role=role,
        description=" ".join(keys["description"].string().split()),
        terms=terms,
        regimen=_terms(keys["regimen"], "regimen") if "regimen" in keys else (),
        approved=_approval(keys["approved"]) if "approved" in keys else None,
    )


def _approval(value: _Value) -> Approval:
    keys = value.mapping(required=("text", "source", "url"))
    url = keys["url"].string()
    if not url.startswith("https://"):
        keys["url"].fail(f"{url!r} is not an https address")
    return Approval(" ".join(keys["text"].string().split()), keys["source"].string(), url)


def _condition(value: _Value) -> Condition:
    keys = value.mapping(required=("name", "terms", "not_condition"))
    not_conditions = []
    for not_id, not_value in keys["not_condition"].entries():
        not_keys = not_value.mapping(required=("name", "terms"))
        not_conditions.append(
            NotCondition(not_id, not_keys["name"].string(), _terms(not_keys["terms"], "not_condition"))
        )
    return Condition(keys["name"].string(), _terms(keys["terms"], "condition"), tuple(not_conditions))


def _context(context_id: str, value: _Value, condition: Condition) -> Context:
    keys = value.mapping(required=("description",), optional=("fields", "terms", "terms_from"))
    if ("terms" in keys) == ("terms_from" in keys):
        value.fail("give either 'terms' or 'terms_from'")
    if "terms_from" in keys:
        if keys["terms_from"].value != "condition":
            keys["terms_from"].fail("only 'condition' can lend its terms")
        terms = condition.terms
    else:
        terms = _terms(keys["terms"], "context")
    fields = keys["fields"].strings() if "fields" in keys else ()
    return Context(context_id, keys["description"].string(), fields, terms)


def _phenotype(phenotype_id: str, value: _Value) -> Phenotype:
    keys = value.mapping(required=("name", "terms"), optional=("narrower",))
    narrower = keys["narrower"].strings() if "narrower" in keys else ()
    return Phenotype(phenotype_id, keys["name"].string(), narrower, _terms(keys["terms"], "phenotype"))


def _ignore(value: _Value) -> Ignore:
    keys = value.mapping(optional=("strategies", "phenotypes", "designs"))
    return Ignore(
        strategies=_terms(keys["strategies"], "ignore") if "strategies" in keys else (),
        phenotypes=_terms(keys["phenotypes"], "ignore") if "phenotypes" in keys else (),
        designs=_terms(keys["designs"], "ignore") if "designs" in keys else (),
    )


_PAPER_SECTIONS = ("paper_fields", "paper_rules", "designs")
"""The sections that let a profile classify papers: all three or none."""

DESIGN_LISTS = {
    "publication_types": ("publication_types",),
    "mesh": ("mesh",),
    "terms": ("title", "keywords", "abstract"),
}
"""The lists a design names its terms in, and the paper fields each list's terms read unless a term names its own."""


def _papers(
    top: _Value, keys: dict[str, _Value]
) -> tuple[tuple[PaperField, ...], PaperRules | None, tuple[Design, ...]]:
    present = [name for name in _PAPER_SECTIONS if name in keys]
    if not present:
        return (), None, ()
    if len(present) < len(_PAPER_SECTIONS):
        missing = ", ".join(repr(name) for name in _PAPER_SECTIONS if name not in keys)
        top.fail(f"{', '.join(present)} need(s) {missing} too: papers are described by all three sections")
    paper_fields = tuple(_paper_field(name, value) for name, value in keys["paper_fields"].entries())
    designs = tuple(_design(design_id, value) for design_id, value in keys["designs"].entries())
    return paper_fields, _paper_rules(keys["paper_rules"]), designs


def _paper_field(name: str, value: _Value) -> PaperField:
    if name not in PAPER_FIELDS:
        _Value(None, value.path).fail(f"unknown paper field (known: {', '.join(PAPER_FIELDS)})")
    keys = value.mapping(required=("weight",), optional=("reads_as",))
    reads_as = keys["reads_as"].string() if "reads_as" in keys else None
    if reads_as is not None and reads_as not in TEXT_FIELDS:
        keys["reads_as"].fail(f"unknown study field {reads_as!r} (known: {', '.join(TEXT_FIELDS)})")
    return PaperField(name, keys["weight"].number(), reads_as)


def _paper_rules(value: _Value) -> PaperRules:
    keys = value.mapping(
        required=(
            "condition_fields",
            "acronyms_need_spelling",
            "condition_min_mentions",
            "condition_models",
            "phenotype_fields",
            "therapy_min_share",
            "fallback_fields",
            "design_fields",
            "default_design",
        )
    )
    min_mentions = {}
    for name, count in keys["condition_min_mentions"].entries():
        min_mentions[name] = count.integer()
        if min_mentions[name] < 1:
            count.fail("expected a whole number of at least 1")
    share = keys["therapy_min_share"].number()
    if not 0 <= share <= 1:
        keys["therapy_min_share"].fail(f"expected a share between 0 and 1, got {share}")
    return PaperRules(
        condition_fields=keys["condition_fields"].strings(),
        acronyms_need_spelling=keys["acronyms_need_spelling"].boolean(),
        condition_min_mentions=MappingProxyType(min_mentions),
        condition_models=_terms(keys["condition_models"], "condition"),
        phenotype_fields=keys["phenotype_fields"].strings(),
        therapy_min_share=share,
        fallback_fields=keys["fallback_fields"].strings(),
        design_fields=keys["design_fields"].strings(),
        default_design=keys["default_design"].string(),
    )


def _design(design_id: str, value: _Value) -> Design:
    keys = value.mapping(required=("name", "description", "observational"), optional=tuple(DESIGN_LISTS))
    terms = tuple(
        _term(item, "design", fields=DESIGN_LISTS[list_name])
        for list_name in DESIGN_LISTS
        if list_name in keys
        for item in keys[list_name].sequence()
    )
    return Design(
        id=design_id,
        name=keys["name"].string(),
        description=" ".join(keys["description"].string().split()),
        observational=keys["observational"].boolean(),
        terms=terms,
    )


def _outcome(measure_id: str, value: _Value) -> OutcomeMeasure:
    keys = value.mapping(required=("meaning", "units", "terms"), optional=("event", "says"))
    units = keys["units"].strings()
    for index, unit in enumerate(units):
        if unit not in UNITS:
            _Value(unit, f"{keys['units'].path}[{index}]").fail(f"unknown unit {unit!r} (known: {', '.join(UNITS)})")
    return OutcomeMeasure(
        measure_id,
        keys["meaning"].string(),
        units,
        _terms(keys["terms"], "outcome"),
        keys["event"].boolean() if "event" in keys else False,
        _says(keys["says"]) if "says" in keys else "{share}",
    )


def _says(value: _Value) -> str:
    """A measure's words for a figure; only the placeholders a figure fills may appear."""
    words = value.string()
    try:
        words.format(share="", value="", event="")
    except (KeyError, IndexError, ValueError):
        value.fail("unknown placeholder (known: {share}, {value}, {event})")
    return words


OUTCOME_CUE_LISTS = tuple(field.name for field in dataclasses.fields(OutcomeCues))


def _outcome_cues(value: _Value) -> OutcomeCues:
    keys = value.mapping(optional=OUTCOME_CUE_LISTS)
    return OutcomeCues(**{name: _terms(keys[name], "outcome_cue") for name in keys})


def _comparison_cues(value: _Value) -> ComparisonCues:
    names = tuple(field.name for field in dataclasses.fields(ComparisonCues))
    keys = value.mapping(optional=names)
    return ComparisonCues(**{name: _terms(keys[name], "comparison_cue") for name in keys})


def _phase(phase_id: str, value: _Value) -> Phase:
    keys = value.mapping(required=("name", "registry"))
    return Phase(phase_id, keys["name"].string(), keys["registry"].strings())


def _terms(value: _Value, kind: str) -> tuple[Term, ...]:
    return tuple(_term(item, kind) for item in value.sequence())


def _redirect(value: _Value) -> tuple[tuple[str, str], ...]:
    return tuple((context, target.string()) for context, target in value.entries())


def _term(
    value: _Value, kind: str, *, weak: bool = False, case_sensitive: bool = False, redirect=(), fields=()
) -> Term:
    """A term from a plain string or an options mapping; list-level defaults apply unless overridden."""
    if isinstance(value.value, str):
        options: dict[str, _Value] = {"term": value}
    else:
        options = value.mapping(optional=_TERM_OPTIONS)
        if ("term" in options) == ("regex" in options):
            value.fail("give exactly one of 'term' and 'regex'")
    case_sensitive = options["case_sensitive"].boolean() if "case_sensitive" in options else case_sensitive
    is_regex = "regex" in options
    text = (options["regex"] if is_regex else options["term"]).string()
    if is_regex:
        try:
            re.compile(text, 0 if case_sensitive else re.IGNORECASE)
        except re.error as exc:
            value.fail(f"invalid regex {text!r}: {exc}")
    elif not term_words(text):
        value.fail(f"term {text!r} has no words")
    elif _MISPLACED_STAR.search(text):
        value.fail(f"term {text!r}: '*' may only end a word")
    return Term(
        text=text,
        kind=kind,
        path=value.path,
        regex=is_regex,
        case_sensitive=case_sensitive,
        weak=options["weak"].boolean() if "weak" in options else weak,
        fields=options["fields"].strings() if "fields" in options else fields,
        study_types=options["study_types"].strings() if "study_types" in options else (),
        requires=options["requires"].strings() if "requires" in options else (),
        unless=options["unless"].strings() if "unless" in options else (),
        otherwise=options["otherwise"].string() if "otherwise" in options else None,
        redirect=_redirect(options["redirect"]) if "redirect" in options else redirect,
        with_groups=options["with_groups"].strings() if "with_groups" in options else (),
    )


# -- cross-references -------------------------------------------------------------------


def _check_references(profile: Profile) -> None:
    """Every id a profile mentions must exist; no term may mean two things in one section."""
    strategies = {strategy.id for strategy in profile.strategies}
    groups = {group.id for group in profile.groups}
    contexts = {context.id for context in profile.contexts}
    phenotypes = {phenotype.id for phenotype in profile.phenotypes}
    fields = {spec.name for spec in profile.fields}

    def expect(known: set[str], names: Iterable[str], path: str, what: str) -> None:
        for name in names:
            if name not in known:
                raise ProfileError(f"{path}: unknown {what} {name!r} (known: {', '.join(sorted(known))})")

    rules, rules_path = profile.rules, "rules"
    for name in ("condition_fields", "phenotype_fields", "context_fields"):
        expect(fields, getattr(rules, name), f"{rules_path}.{name}", "field")
    expect(fields, rules.fallback.fields, f"{rules_path}.fallback.fields", "field")
    expect(strategies, (rules.default_strategy, *rules.not_condition_strategies), rules_path, "strategy")
    expect(phenotypes, (rules.default_phenotype, *rules.not_condition_phenotypes), rules_path, "phenotype")
    for context in profile.contexts:
        expect(fields, context.fields, f"contexts.{context.id}.fields", "field")
    expect(groups, rules.fallback.groups, f"{rules_path}.fallback.groups", "group")
    if profile.roles is not None:
        expect(fields, profile.roles.fields, "roles.fields", "field")
        for name in ("comparator", "prior", "background", "about"):
            _check_unique(f"roles.{name}", list(getattr(profile.roles, name)))
    for strategy in profile.strategies:
        _check_unique(f"strategies.{strategy.id}.regimen", list(strategy.regimen))
    for phenotype in profile.phenotypes:
        expect(phenotypes, phenotype.narrower, f"phenotypes.{phenotype.id}.narrower", "phenotype")

    all_terms = [term for strategy in profile.strategies for term in strategy.terms]
    all_terms += [term for phenotype in profile.phenotypes for term in phenotype.terms]
    all_terms += list(profile.condition.terms) + [t for nc in profile.condition.not_conditions for t in nc.terms]
    all_terms += [term for context in profile.contexts for term in context.terms]
    for term in all_terms:
        expect(fields, term.fields, term.path, "field")
        expect(contexts, term.requires + term.unless + tuple(c for c, _ in term.redirect), term.path, "context")
        expect(strategies, (term.otherwise,) if term.otherwise else (), term.path, "strategy")
        expect(strategies, tuple(s for _, s in term.redirect), term.path, "strategy")
        expect(groups, term.with_groups, term.path, "group")
        if term.otherwise and not term.requires:
            raise ProfileError(f"{term.path}: 'otherwise' needs 'requires'")

    _check_unique("strategies", [t for s in profile.strategies for t in s.terms] + list(profile.ignore.strategies))
    _check_unique("phenotypes", [t for p in profile.phenotypes for t in p.terms] + list(profile.ignore.phenotypes))
    _check_unique(
        "condition", list(profile.condition.terms) + [t for nc in profile.condition.not_conditions for t in nc.terms]
    )
    _check_unique("outcome_measures", [t for measure in profile.outcome_measures for t in measure.terms])
    for name in OUTCOME_CUE_LISTS:
        _check_unique(f"outcome_cues.{name}", list(getattr(profile.outcome_cues, name)))
    for context in profile.contexts:
        if context.terms is not profile.condition.terms:
            _check_unique(f"contexts.{context.id}", list(context.terms))
    if profile.paper_rules is not None:
        _check_papers(profile, profile.paper_rules, fields, expect)
    report = profile.report
    expect(groups, report.comparison_groups, "report.comparison_groups", "group")
    expect(strategies, report.biomarker_strategies, "report.biomarker_strategies", "strategy")
    expect(strategies, [key for key, _ in report.plain_names], "report.plain_names", "strategy")
    if profile.designs:  # a profile that does not describe papers has no designs to name
        expect({d.id for d in profile.designs}, report.preclinical_designs, "report.preclinical_designs", "design")
    expect({m.id for m in profile.outcome_measures}, report.safety_measures, "report.safety_measures", "outcome measure")
    if profile.eligibility is not None:
        _check_eligibility(profile.eligibility, phenotypes, strategies, groups, expect)
    if profile.sponsors is not None:
        _check_sponsors(profile.sponsors, expect)
    if profile.populations is not None:
        _check_populations(profile.populations, phenotypes, fields, expect)


def _check_sponsors(words: SponsorWords, expect) -> None:
    """Classes map to declared types; organisations are named once; name words mean one type."""
    types = {sponsor_type.id for sponsor_type in words.types}
    expect(types, (words.unknown_type,), "sponsors.unknown_type", "sponsor type")
    expect(types, (words.industry_type,), "sponsors.industry_type", "sponsor type")
    for registry, classes in words.registries.items():
        seen: set[str] = set()
        for index, item in enumerate(classes):
            path = f"sponsors.registries.{registry}[{index}]"
            expect(types, (item.type, *item.refine), path, "sponsor type")
            if item.words in seen:
                raise ProfileError(f"{path}: class {item.words!r} listed twice")
            seen.add(item.words)
    _check_unique("sponsors.types", [term for sponsor_type in words.types for term in sponsor_type.name_words])
    names: dict[tuple[str, ...], str] = {}
    for organisation in words.organisations:
        for name in organisation.names:
            key = tuple(fold_word(word) for word in term_words(name))
            if key in names:
                raise ProfileError(f"sponsors.organisations.{organisation.id}: name {name!r} is already {names[key]}'s")
            names[key] = organisation.id


def _check_populations(words: PopulationWords, phenotypes: set[str], fields: set[str], expect) -> None:
    """Populations name declared fields, phenotypes and populations; no term means two things in one list."""
    populations = {population.id for population in words.populations}
    expect(fields, words.fields, "populations.fields", "field")
    for population in words.populations:
        path = f"populations.populations.{population.id}"
        expect(fields, population.fields, f"{path}.fields", "field")
        expect(phenotypes, population.phenotypes + population.unless_phenotypes, path, "phenotype")
        expect(populations, population.implies + ((population.otherwise,) if population.otherwise else ()), path, "population")
        for term in population.terms + population.unless:
            expect(fields, term.fields, term.path, "field")
            if term.requires or term.unless or term.redirect or term.otherwise or term.with_groups or term.study_types:
                raise ProfileError(f"{term.path}: a population term takes only term or regex, case_sensitive and fields")
        _check_restricts(population, path)
        _check_unique(f"{path}.terms", list(population.terms))
        _check_unique(f"{path}.unless", list(population.unless))
    _check_unique("populations.ignore", list(words.ignore))


def _check_restricts(population: Population, path: str) -> None:
    """A population restricts by something the finder can judge and the population states: an age
    rule that bounds the person's age, or phenotypes for a course."""
    if population.restricts is None:
        return
    if population.restricts not in POPULATION_RESTRICTS:
        raise ProfileError(f"{path}.restricts: {population.restricts!r} is not one of: {', '.join(POPULATION_RESTRICTS)}")
    if population.restricts == "age" and (population.ages is None or population.ages[0] not in RESTRICTING_AGE_RULES):
        raise ProfileError(f"{path}.restricts: age needs an ages rule of {' or '.join(RESTRICTING_AGE_RULES)}")
    if population.restricts == "course" and not population.phenotypes:
        raise ProfileError(f"{path}.restricts: course needs phenotypes")


_DESIGN_TERM_OPTIONS = ("requires", "unless", "otherwise", "redirect", "with_groups", "study_types")


def _check_papers(profile: Profile, rules: PaperRules, study_fields: set[str], expect) -> None:
    """Paper fields read declared study fields; paper rules and design terms name declared paper fields."""
    paper_fields = {spec.name for spec in profile.paper_fields}
    for spec in profile.paper_fields:
        if spec.reads_as is not None:
            expect(study_fields, (spec.reads_as,), f"paper_fields.{spec.name}.reads_as", "field")
    for name in ("condition_fields", "phenotype_fields", "fallback_fields", "design_fields"):
        expect(paper_fields, getattr(rules, name), f"paper_rules.{name}", "paper field")
    minimum_path = "paper_rules.condition_min_mentions"
    expect(set(rules.condition_fields), rules.condition_min_mentions, minimum_path, "condition field")
    expect({design.id for design in profile.designs}, (rules.default_design,), "paper_rules.default_design", "design")
    design_terms = [term for design in profile.designs for term in design.terms]
    for term in [*rules.condition_models, *design_terms, *profile.ignore.designs]:
        expect(paper_fields, term.fields, term.path, "paper field")
    for term in design_terms:
        if any(getattr(term, option) for option in _DESIGN_TERM_OPTIONS):
            raise ProfileError(f"{term.path}: a design term takes only term or regex, case_sensitive, weak and fields")
    condition_terms = list(profile.condition.terms) + [t for nc in profile.condition.not_conditions for t in nc.terms]
    _check_unique("condition", condition_terms + list(rules.condition_models))
    by_fields: dict[tuple[str, ...], list[Term]] = {}
    for term in design_terms:  # one phrase may name a publication type, a MeSH heading and a text term
        by_fields.setdefault(term.fields, []).append(term)
    _check_unique("ignore.designs", list(profile.ignore.designs))
    for fields, terms in by_fields.items():
        _check_unique(f"designs ({', '.join(fields)})", terms + list(profile.ignore.designs))


def _check_unique(section: str, terms: list[Term]) -> None:
    seen: dict[tuple, str] = {}
    for term in terms:
        if term.regex:
            key: tuple = ("regex", term.text)
        elif term.case_sensitive:
            key = ("exact", term_words(term.text))
        else:
            key = ("folded", tuple(fold_word(word) for word in term_words(term.text)))
        if key in seen:
            raise ProfileError(f"{term.path}: duplicate term {term.text!r} in {section} (already at {seen[key]})")
        seen[key] = term.path
