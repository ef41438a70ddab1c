"""The normalised records every stage after the connectors speaks.

Connectors turn source formats into these dataclasses; the store persists them;
enrichment and outputs read them. They are plain data: no I/O, no MS knowledge.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any


@dataclass(frozen=True)
class PartialDate:
    """A registry date as precise as the source gave it.

    ``value`` is ISO-like and only as long as the precision: ``2020``,
    ``2020-05`` or ``2020-05-03``. ``kind`` is ``ACTUAL`` or ``ESTIMATED``
    when the source says which, otherwise ``None``.
    """

    value: str
    precision: str  # "year" | "month" | "day"
    kind: str | None = None


@dataclass
class Sponsor:
    name: str
    sponsor_class: str | None = None


@dataclass
class Intervention:
    name: str
    type: str | None = None
    description: str | None = None
    other_names: list[str] = field(default_factory=list)
    arm_labels: list[str] = field(default_factory=list)


@dataclass
class Arm:
    label: str
    type: str | None = None
    description: str | None = None
    interventions: list[str] = field(default_factory=list)


@dataclass
class PlannedOutcome:
    """An outcome the protocol plans to measure (not a result)."""

    measure: str
    kind: str = "primary"  # "primary" | "secondary" | "other"
    description: str | None = None
    time_frame: str | None = None


@dataclass
class Eligibility:
    criteria: str | None = None
    sex: str | None = None
    minimum_age: str | None = None
    maximum_age: str | None = None
    healthy_volunteers: bool | None = None
    std_ages: list[str] = field(default_factory=list)


@dataclass
class Location:
    country: str | None = None
    city: str | None = None
    state: str | None = None
    facility: str | None = None
    status: str | None = None
    lat: float | None = None
    lon: float | None = None


@dataclass
class Reference:
    pmid: str | None = None
    type: str | None = None
    citation: str | None = None


@dataclass
class ResultValue:
    """One posted figure of a results-section outcome measure, for one group."""

    outcome_type: str  # PRIMARY, SECONDARY, OTHER_PRE_SPECIFIED, POST_HOC
    outcome_title: str
    group_id: str
    group_title: str | None
    value: str | None
    param_type: str | None = None
    unit: str | None = None
    time_frame: str | None = None
    category: str | None = None
    klass: str | None = None
    dispersion_type: str | None = None
    spread: str | None = None
    lower_limit: str | None = None
    upper_limit: str | None = None
    denominator: int | None = None


@dataclass
class ResultAnalysis:
    """One posted statistical analysis of an outcome measure: the groups it compares and its
    estimate, interval and p-value, as the registry writes them."""

    outcome_type: str
    outcome_title: str
    group_ids: list[str]
    group_titles: list[str | None]
    param_type: str | None = None  # "Mean Difference", "Odds Ratio (OR)"…
    param_value: str | None = None
    ci_percent: str | None = None
    ci_lower: str | None = None
    ci_upper: str | None = None
    p_value: str | None = None  # as written: "<0.0001", "=0.247", "0.366"
    method: str | None = None
    non_inferiority: str | None = None  # SUPERIORITY, NON_INFERIORITY, EQUIVALENCE, OTHER
    description: str | None = None  # the group description and estimate comment
    unit: str | None = None
    time_frame: str | None = None


@dataclass
class AdverseEvent:
    """One posted adverse-event row: a term in one group."""

    term: str
    seriousness: str  # "serious" | "other" | "death"
    group_id: str
    group_title: str | None
    organ_system: str | None = None
    num_affected: int | None = None
    num_at_risk: int | None = None
    num_events: int | None = None


@dataclass
class Study:
    """One registered study, from any registry, normalised.

    ``id`` is the registry's own identifier (an NCT id or an EU CT number);
    ``source`` names the registry the record came from.
    """

    id: str
    source: str
    brief_title: str | None = None
    official_title: str | None = None
    acronym: str | None = None
    secondary_ids: list[str] = field(default_factory=list)
    summary: str | None = None
    description: str | None = None
    status: str | None = None
    why_stopped: str | None = None
    start_date: PartialDate | None = None
    primary_completion_date: PartialDate | None = None
    completion_date: PartialDate | None = None
    first_posted: PartialDate | None = None
    last_update_posted: PartialDate | None = None
    results_first_posted: PartialDate | None = None
    phase: str | None = None
    phase_raw: str | None = None
    study_type: str | None = None
    design: dict[str, Any] = field(default_factory=dict)
    enrollment: int | None = None
    enrollment_type: str | None = None
    lead_sponsor: Sponsor | None = None
    collaborators: list[Sponsor] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    interventions: list[Intervention] = field(default_factory=list)
    arms: list[Arm] = field(default_factory=list)
    outcomes: list[PlannedOutcome] = field(default_factory=list)
    eligibility: Eligibility | None = None
    locations: list[Location] = field(default_factory=list)
    total_locations: int | None = None
    references: list[Reference] = field(default_factory=list)
    has_results: bool = False
    result_values: list[ResultValue] = field(default_factory=list)
    adverse_events: list[AdverseEvent] = field(default_factory=list)
    result_analyses: list[ResultAnalysis] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Study":
        """Rebuild a Study from :meth:`to_dict` output (as stored in the database)."""
        kwargs = dict(data)
        for name in DATE_FIELDS:
            if kwargs.get(name) is not None:
                kwargs[name] = PartialDate(**kwargs[name])
        if kwargs.get("lead_sponsor") is not None:
            kwargs["lead_sponsor"] = Sponsor(**kwargs["lead_sponsor"])
        if kwargs.get("eligibility") is not None:
            kwargs["eligibility"] = Eligibility(**kwargs["eligibility"])
        for name, item_cls in LIST_ITEM_TYPES.items():
            kwargs[name] = [item_cls(**item) for item in kwargs.get(name) or []]
        known = _field_names(cls)
        return cls(**{k: v for k, v in kwargs.items() if k in known})


@cache
def _field_names(cls: type) -> frozenset[str]:
    """The names of a dataclass's fields, worked out once per class (rebuilding a record reads
    them for every record)."""
    return frozenset(f.name for f in fields(cls))


def _plain(value: Any) -> Any:
    """Dataclasses to dicts, recursively: what ``dataclasses.asdict`` does, several times faster.
    A dataclass of scalar fields only (a location, a result value) is one copy of its ``__dict__``."""
    if isinstance(value, list):
        return [
            item.__dict__.copy() if item.__class__ in _FLAT else item if item is None or isinstance(item, _SCALARS) else _plain(item)
            for item in value
        ]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if value.__class__ in _FLAT:
        return value.__dict__.copy()
    if hasattr(value, "__dataclass_fields__"):
        return {
            name: item if item is None or isinstance(item, _SCALARS) else _plain(item)
            for name, item in value.__dict__.items()
        }
    return value


_SCALARS = (str, int, float, bool)
_SCALAR_TYPES = frozenset({"str", "int", "float", "bool", "str | None", "int | None", "float | None", "bool | None"})


DATE_FIELDS = (
    "start_date",
    "primary_completion_date",
    "completion_date",
    "first_posted",
    "last_update_posted",
    "results_first_posted",
)

LIST_ITEM_TYPES: dict[str, type] = {
    "collaborators": Sponsor,
    "interventions": Intervention,
    "arms": Arm,
    "outcomes": PlannedOutcome,
    "locations": Location,
    "references": Reference,
    "result_values": ResultValue,
    "adverse_events": AdverseEvent,
    "result_analyses": ResultAnalysis,
}

STUDY_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Study))


@dataclass
class Author:
    last_name: str | None = None
    fore_name: str | None = None
    initials: str | None = None
    collective: str | None = None
    affiliations: list[str] = field(default_factory=list)


@dataclass
class AbstractSection:
    """One labelled part of a structured abstract (``label`` None when unstructured)."""

    text: str
    label: str | None = None
    category: str | None = None  # NLM category: BACKGROUND, METHODS, RESULTS, CONCLUSIONS…


@dataclass
class FullTextSection:
    """One part of an open-access article's full text: ``kind`` is what the part reports
    (``abstract``, ``introduction``, ``methods``, ``results``, ``table``, ``discussion``,
    ``conclusions``, ``other``), ``title`` its heading path as written."""

    kind: str
    title: str | None
    text: str


@dataclass
class Grant:
    grant_id: str | None = None
    agency: str | None = None
    country: str | None = None


@dataclass
class MeshHeading:
    descriptor: str
    major: bool = False
    qualifiers: list[str] = field(default_factory=list)


@dataclass
class Paper:
    """One article, from PubMed, Europe PMC or the literature CSV, normalised.

    ``id`` is ``PMID:<n>`` when the article has a PMID, else ``DOI:<doi>``, else
    ``URL:<address>`` (a page known only by its address).
    ``abstract`` is the whole abstract as one text (sections joined by a blank
    line, each prefixed by its label), the text outcome spans point into.
    ``trial_ids`` are registry ids the record itself lists (data banks, or ids
    named in the abstract).
    """

    id: str
    source: str
    pmid: str | None = None
    doi: str | None = None
    pmcid: str | None = None
    title: str | None = None
    abstract: str | None = None
    abstract_sections: list[AbstractSection] = field(default_factory=list)
    journal: str | None = None
    citation: str | None = None
    url: str | None = None
    published: PartialDate | None = None
    language: str | None = None
    authors: list[Author] = field(default_factory=list)
    publication_types: list[str] = field(default_factory=list)
    mesh: list[MeshHeading] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    grants: list[Grant] = field(default_factory=list)
    trial_ids: list[str] = field(default_factory=list)
    full_text: list[FullTextSection] = field(default_factory=list)
    full_text_url: str | None = None  # where the full text was fetched from

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Paper":
        kwargs = dict(data)
        if kwargs.get("published") is not None:
            kwargs["published"] = PartialDate(**kwargs["published"])
        for name, item_cls in PAPER_LIST_ITEM_TYPES.items():
            kwargs[name] = [item_cls(**item) for item in kwargs.get(name) or []]
        known = _field_names(cls)
        return cls(**{k: v for k, v in kwargs.items() if k in known})


PAPER_LIST_ITEM_TYPES: dict[str, type] = {
    "abstract_sections": AbstractSection,
    "authors": Author,
    "mesh": MeshHeading,
    "grants": Grant,
    "full_text": FullTextSection,
}


@dataclass
class ParsedRecord:
    """What a connector yields for one source record.

    ``raw`` is the record's verbatim text (a CSV row re-serialised as the
    source's own header → value JSON, or the API's JSON), kept for provenance.
    ``covers`` lists the record's fields this record can express (its format's,
    less any module a filtered API response left out), so an import from a
    thinner record never blanks out what a richer one stored.
    Exactly one of ``study``, ``paper`` and ``error`` is set; ``deleted`` marks a
    source's withdrawal of the record (PubMed's ``DeleteCitation``).
    """

    source: str
    source_id: str
    raw: str
    origin: str
    covers: frozenset[str]
    study: Study | None = None
    error: str | None = None
    paper: Paper | None = None
    deleted: bool = False


_FLAT = frozenset(
    kind
    for kind in list(globals().values())
    if isinstance(kind, type) and hasattr(kind, "__dataclass_fields__") and all(f.type in _SCALAR_TYPES for f in fields(kind))
)
"""The record parts whose fields are all declared scalars, so their plain form is their ``__dict__``."""
