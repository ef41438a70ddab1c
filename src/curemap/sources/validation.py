"""Raw records checked against their format's schema before they are normalised and stored.

A registry documents its types but does not enforce them on a file someone saved,
edited or built: a count may arrive as ``"lots"`` or ``1e308``, a list as one
string, a date as ``2024-13-45``. Each format's schema below (pydantic) states
the types, ranges and dates of the fields its connector reads; a record that
breaks it is rejected with the field, the value (cut short) and the rule, and
the rest of the file imports. Fields a connector does not read are not checked.
"""

from __future__ import annotations

import re
import reprlib
from typing import Annotated, Any, Optional

from pydantic import AfterValidator, BeforeValidator, Field, StrictBool, StrictStr, TypeAdapter, ValidationError
from typing_extensions import NotRequired, Required, TypedDict

from curemap.normalise import normalise_nct_id, parse_partial_date

MAX_COUNT = 1_000_000_000
"""The largest participant or event count accepted: above any registered study (the largest,
database studies, count a few hundred million people), far inside the store's 64-bit integers."""

MAX_DEPTH = 64
"""The deepest nesting of a JSON record accepted; an API v2 study nests about ten levels."""

PLACEHOLDERS = frozenset({"", "n/a", "commercially confidential information"})
"""Cell values that mean "empty" in the registries' CSV exports."""

_SHOWN = reprlib.Repr()
_SHOWN.maxstring = _SHOWN.maxother = 40
_SHOWN.maxlist = _SHOWN.maxdict = 3
_SHOWN.maxlevel = 2


def _calendar_date(text: str) -> str:
    if parse_partial_date(text) is None:
        raise ValueError("not a calendar date (YYYY, YYYY-MM, YYYY-MM-DD or DD/MM/YYYY)")
    return text


def _blank(value: Any) -> Any:
    """A CSV cell stripped, and a placeholder as ``None``, so only a filled cell is checked."""
    if not isinstance(value, str):
        return value
    value = value.strip()
    return None if value.lower() in PLACEHOLDERS else value


def _whole_number(value: Any) -> Any:
    """``"40"`` and the flattened CSV's ``"40.0"`` as 40; anything else is left for the int rule to refuse."""
    value = _blank(value)
    if isinstance(value, str) and (match := re.fullmatch(r"([+-]?\d{1,20})(?:\.0*)?", value)):
        return int(match.group(1))
    return value


def shown(value: Any) -> str:
    """``value`` as a message shows it: its repr, cut short."""
    return _SHOWN.repr(value)


def _nct_id(text: str) -> str:
    try:
        return normalise_nct_id(text)
    except ValueError:
        raise ValueError("not an NCT number (NCT followed by 8 digits)") from None


def _web_address(text: str) -> str:
    if not text.startswith(("https://", "http://")):
        raise ValueError("not a web address (http:// or https://)")
    return text


def _pubmed_id(text: str) -> str:
    if not re.fullmatch(r"\d{1,10}", text):
        raise ValueError("not a PubMed id (up to 10 digits)")
    return text


Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
Text = Optional[StrictStr]
Texts = Optional[list[StrictStr]]
Latitude = Optional[Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]]
Longitude = Optional[Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]]
Date = Annotated[StrictStr, AfterValidator(_calendar_date)]

CellCount = Annotated[Optional[Count], BeforeValidator(_whole_number)]
CellDate = Annotated[Optional[Annotated[str, AfterValidator(_calendar_date)]], BeforeValidator(_blank)]
CellFlag = Annotated[Optional[bool], BeforeValidator(_blank)]
CellPubmedId = Annotated[Optional[Annotated[str, AfterValidator(_pubmed_id)]], BeforeValidator(_blank)]
CellWebAddress = Annotated[Optional[Annotated[str, AfterValidator(_web_address)]], BeforeValidator(_blank)]


def check(schema: TypeAdapter, data: Any, *, strict: bool) -> Any:
    """``data`` validated by ``schema`` (``strict`` for JSON, whose types must match as given;
    lax for CSV text, which is converted); ``ValueError`` naming the field, value and rule."""
    try:
        return schema.validate_python(data, strict=strict)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        message = _problem(data, errors[0])
        if len(errors) > 1:
            message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
        raise ValueError(message) from None


def _problem(data: Any, error: dict[str, Any]) -> str:
    """``field value: rule`` for one pydantic error, the value cut short."""
    path, node = "", data
    for key in error["loc"]:
        if isinstance(node, dict) and key in node:
            path += f".{key}" if path else str(key)
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            path += f"[{key}]"
            node = node[key]
        elif error["type"] == "missing":
            path += f".{key}" if path else str(key)
        # otherwise the key names a member of a union, not a place in the record
    if error["type"] == "missing":
        return f"{path} is missing"
    rule = error["msg"].removeprefix("Value error, ")
    return f"{path or 'record'} {shown(error['input'])}: {rule}"


def record_name(identifier: Any, position: str) -> str:
    """The record's own id to name it by in a rejection, or its position when the id is missing,
    not text, or too long to be one (a message never carries a record's contents)."""
    if isinstance(identifier, str) and 0 < len(identifier.strip()) <= 40:
        return identifier.strip()
    return position


_CONTAINERS = frozenset({dict, list})


def nesting_depth_exceeds(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether parsed JSON ``value`` nests lists and objects deeper than ``limit``, found without
    recursion, level by level. Only the containers of a level are kept for the next (the exact
    class test is the cheapest, and a parser makes plain dicts and lists only)."""
    level = [value] if value.__class__ in _CONTAINERS else []
    for _ in range(limit + 1):
        level = [
            child
            for node in level
            for child in (node.values() if node.__class__ is dict else node)
            if child.__class__ in _CONTAINERS
        ]
        if not level:
            return False
    return True


# -- ClinicalTrials.gov API v2 study records ----------------------------------------------


class _DateStruct(TypedDict, total=False):
    date: Date
    type: Text


class _IdInfo(TypedDict, total=False):
    id: Text


class _Identification(TypedDict, total=False):
    nctId: Optional[Annotated[StrictStr, AfterValidator(_nct_id)]]
    briefTitle: Text
    officialTitle: Text
    acronym: Text
    orgStudyIdInfo: Optional[_IdInfo]
    secondaryIdInfos: Optional[list[_IdInfo]]


class _Status(TypedDict, total=False):
    overallStatus: Text
    whyStopped: Text
    startDateStruct: Optional[_DateStruct]
    primaryCompletionDateStruct: Optional[_DateStruct]
    completionDateStruct: Optional[_DateStruct]
    studyFirstPostDateStruct: Optional[_DateStruct]
    lastUpdatePostDateStruct: Optional[_DateStruct]
    resultsFirstPostDateStruct: Optional[_DateStruct]


_Sponsor = TypedDict("_Sponsor", {"name": Text, "class": Text}, total=False)


class _Sponsors(TypedDict, total=False):
    leadSponsor: Optional[_Sponsor]
    collaborators: Optional[list[_Sponsor]]


class _Description(TypedDict, total=False):
    briefSummary: Text
    detailedDescription: Text


class _Conditions(TypedDict, total=False):
    conditions: Texts
    keywords: Texts


class _Enrollment(TypedDict, total=False):
    count: Optional[Count]
    type: Text


_DesignValue = StrictStr | list[StrictStr] | dict[str, StrictStr | list[StrictStr]]


class _Design(TypedDict, total=False):
    studyType: Text
    phases: Texts
    designInfo: Optional[dict[str, _DesignValue]]
    enrollmentInfo: Optional[_Enrollment]


class _Intervention(TypedDict, total=False):
    name: Required[StrictStr]
    type: Text
    description: Text
    otherNames: Texts
    armGroupLabels: Texts


class _Arm(TypedDict, total=False):
    label: Required[StrictStr]
    type: Text
    description: Text
    interventionNames: Texts


class _ArmsInterventions(TypedDict, total=False):
    interventions: Optional[list[_Intervention]]
    armGroups: Optional[list[_Arm]]


class _Outcome(TypedDict, total=False):
    measure: Required[StrictStr]
    description: Text
    timeFrame: Text


class _Outcomes(TypedDict, total=False):
    primaryOutcomes: Optional[list[_Outcome]]
    secondaryOutcomes: Optional[list[_Outcome]]
    otherOutcomes: Optional[list[_Outcome]]


class _Eligibility(TypedDict, total=False):
    eligibilityCriteria: Text
    sex: Text
    minimumAge: Text
    maximumAge: Text
    healthyVolunteers: Optional[StrictBool]
    stdAges: Texts


class _GeoPoint(TypedDict, total=False):
    lat: Latitude
    lon: Longitude


class _Site(TypedDict, total=False):
    country: Text
    city: Text
    state: Text
    facility: Text
    status: Text
    geoPoint: Optional[_GeoPoint]


class _ContactsLocations(TypedDict, total=False):
    locations: Optional[list[_Site]]


class _Reference(TypedDict, total=False):
    pmid: Text
    type: Text
    citation: Text


class _References(TypedDict, total=False):
    references: Optional[list[_Reference]]


class _Protocol(TypedDict, total=False):
    identificationModule: Optional[_Identification]
    statusModule: Optional[_Status]
    sponsorCollaboratorsModule: Optional[_Sponsors]
    descriptionModule: Optional[_Description]
    conditionsModule: Optional[_Conditions]
    designModule: Optional[_Design]
    armsInterventionsModule: Optional[_ArmsInterventions]
    outcomesModule: Optional[_Outcomes]
    eligibilityModule: Optional[_Eligibility]
    contactsLocationsModule: Optional[_ContactsLocations]
    referencesModule: Optional[_References]


class _DenomCount(TypedDict, total=False):
    groupId: Required[StrictStr]
    value: Text


class _Denom(TypedDict, total=False):
    units: Text
    counts: Optional[list[_DenomCount]]


class _Group(TypedDict, total=False):
    id: Required[StrictStr]
    title: Text


class _Measurement(TypedDict, total=False):
    groupId: Required[StrictStr]
    value: Text
    spread: Text
    lowerLimit: Text
    upperLimit: Text


class _Category(TypedDict, total=False):
    title: Text
    measurements: Optional[list[_Measurement]]


class _Class(TypedDict, total=False):
    title: Text
    denoms: Optional[list[_Denom]]
    categories: Optional[list[_Category]]


class _Analysis(TypedDict, total=False):
    groupIds: Optional[list[StrictStr]]
    groupDescription: Text
    nonInferiorityType: Text
    pValue: Text
    statisticalMethod: Text
    paramType: Text
    paramValue: Text
    ciPctValue: Text
    ciLowerLimit: Text
    ciUpperLimit: Text
    estimateComment: Text


class _Measure(TypedDict, total=False):
    type: Text
    title: Text
    paramType: Text
    unitOfMeasure: Text
    timeFrame: Text
    dispersionType: Text
    groups: Optional[list[_Group]]
    denoms: Optional[list[_Denom]]
    classes: Optional[list[_Class]]
    analyses: Optional[list[_Analysis]]


class _OutcomeMeasures(TypedDict, total=False):
    outcomeMeasures: Optional[list[_Measure]]


class _EventGroup(TypedDict, total=False):
    id: Required[StrictStr]
    title: Text
    deathsNumAffected: Optional[Count]
    deathsNumAtRisk: Optional[Count]


class _EventStats(TypedDict, total=False):
    groupId: Required[StrictStr]
    numAffected: Optional[Count]
    numAtRisk: Optional[Count]
    numEvents: Optional[Count]


class _Event(TypedDict, total=False):
    term: Required[StrictStr]
    organSystem: Text
    stats: Optional[list[_EventStats]]


class _AdverseEvents(TypedDict, total=False):
    eventGroups: Optional[list[_EventGroup]]
    seriousEvents: Optional[list[_Event]]
    otherEvents: Optional[list[_Event]]


class _Results(TypedDict, total=False):
    outcomeMeasuresModule: Optional[_OutcomeMeasures]
    adverseEventsModule: Optional[_AdverseEvents]


class _ApiStudy(TypedDict, total=False):
    protocolSection: Required[_Protocol]
    hasResults: Optional[StrictBool]
    resultsSection: Optional[_Results]


API_STUDY = TypeAdapter(_ApiStudy)
"""The parts of a raw ClinicalTrials.gov API v2 study the connector reads, with their documented types."""


# -- CSV rows ------------------------------------------------------------------------------

CTGOV_ROW = TypeAdapter(
    TypedDict(
        "CtgovRow",
        {
            "NCTId": Annotated[str, AfterValidator(_nct_id)],
            "EnrollmentCount": NotRequired[CellCount],
            "TotalLocations": NotRequired[CellCount],
            "HasResults": NotRequired[CellFlag],
            **dict.fromkeys(
                (
                    "StartDate",
                    "PrimaryCompletionDate",
                    "CompletionDate",
                    "LastUpdatePostDate",
                    "StudyFirstPostDate",
                    "ResultsFirstPostDate",
                ),
                NotRequired[CellDate],
            ),
        },
    )
)
"""The typed cells of a flattened ClinicalTrials.gov row; the rest is text."""

CTIS_ROW = TypeAdapter(
    TypedDict(
        "CtisRow",
        {
            "Number of participants enrolled": NotRequired[CellCount],
            **dict.fromkeys(
                ("Start date", "End date", "Global end of the trial", "Decision date", "Last updated"),
                NotRequired[CellDate],
            ),
        },
    )
)
"""The typed cells of an EU CTIS row; the rest is text."""

LITERATURE_ROW = TypeAdapter(
    TypedDict(
        "LiteratureRow",
        {
            "pmid": NotRequired[CellPubmedId],
            "link": NotRequired[CellWebAddress],
        },
    )
)
"""The typed cells of a literature CSV row; the rest is text."""
