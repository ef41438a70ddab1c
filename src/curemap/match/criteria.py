"""Eligibility text, the registry's age and sex fields and the populations a trial admits, read into criteria.

Every line of the text becomes a :class:`Criterion` that keeps its words and line number, and
holds the :class:`Check` s it was read as: what it says about age, sex, diagnosis, disease
course, EDSS, disease duration, recent relapses or MRI activity, treatments and their washout,
pregnancy, contraception, infections, laboratory thresholds, vaccination, consent, trial
participation or residence. A line read as nothing keeps no checks and is judged ``unknown``,
never dropped. A line ending in a colon leads the lines below it ("at least 1 of the
following:"), which become its parts.

A check states a condition on the person (``age 18 to 55``, ``a relapse in the last 12
months``); whether passing means meeting it or not meeting it is the criterion's section
(inclusion or exclusion) and the check's ``negated`` flag ("No relapse…"). The words come from
the profile's ``eligibility`` section and the strategies' treatment terms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from curemap.enrich.terms import TermMatch, TermMatcher
from curemap.errors import ProfileError
from curemap.model import Eligibility, Study
from curemap.profile import WORD, Population, Profile, Term

INCLUSION, EXCLUSION = "inclusion", "exclusion"
TEXT = "text"
"""The source of a criterion read from a line of the eligibility text."""
POPULATION = "population"
"""The source of a criterion from a population the trial admits (and of its evidence in a classification)."""

_HEADER = re.compile(r"^(?:key\s+|main\s+)?(inclusion|exclusion|eligibility)(?:\s*/\s*exclusion)?\s+criteri[a-z]*(?:\s*\([^)]*\))?[^a-z]*$", re.IGNORECASE)
"""A section heading, with a remark in brackets ("Exclusion Criteria (if ANY apply):") or a slip of the keys ("criteriat")."""
_MARKER = re.compile(r"^(?:(?P<bullet>[*\-•·])|(?P<roman>\(?[ivx]+[.)])|(?P<digit>\(?\d{1,2}[.)])|(?P<letter>\(?[a-z][.)]))\s+", re.IGNORECASE)
_ESCAPES = re.compile(r"\\([\\<>\[\]\-^*_.#+()!])")
_EXEMPT = re.compile(r"\b(?:not|never)\b[^.]*\bif\s+(?:one|any|either)\s+of\s+the\s+following\b", re.IGNORECASE)
"""A rule whose list names who is exempt ("… use birth control. Women will not be considered of
childbearing potential if one of the following conditions is documented:")."""
_ANY_OF = re.compile(r"\b(?:at least (?:1|one)|one or more|either|any) of the following\b|\bone of the following\b", re.IGNORECASE)

_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "eighteen": 18, "twenty-four": 24,
}
_NUM = r"(\d{1,3}(?:,\d{3})+(?![\d,])|\d+(?:\.\d+)?|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + ")"
_UNIT_MONTHS = {"hour": 1 / 730, "day": 1 / 30.44, "week": 7 / 30.44, "month": 1.0, "year": 12.0}
_UNIT = r"(hour|day|week|month|year)s?"

_WINDOWS = (
    re.compile(rf"\b(?:within|in|during|over)\s+(?:the\s+)?(?:past|previous|last|prior|preceding)?\s*{_NUM}\s*{_UNIT}\b", re.IGNORECASE),
    re.compile(rf"\b(?:past|previous|last|prior|preceding)\s+{_NUM}\s*{_UNIT}\b", re.IGNORECASE),
    re.compile(rf"(?<![≥>]\s)(?<!at least\s)(?<!more than\s)(?<![≥>])\b{_NUM}\s*{_UNIT}\s+(?:prior|before|of)\b", re.IGNORECASE),
    re.compile(rf"\b(?:in|within|during|over)\s+(?:the\s+)?(?:past|previous|last|prior|preceding)\s+()(?:{_UNIT})\b", re.IGNORECASE),
    re.compile(rf"\b(?:within|in|during)\s+(?:the\s+)?(?:period\s+of\s+)?\d+\s*(?:to|-|–)\s*{_NUM}\s*{_UNIT}\s+(?:prior|before)\b", re.IGNORECASE),
)
"""Time windows: "within 6 months", "in the 4 weeks prior", "42 days prior", "in the previous year"."""

_TREATED_FOR = re.compile(r"\b(?:for|to treat|treatment of|treating)\s+(?:an?\s+|the\s+)?(?:acute\s+)?$", re.IGNORECASE)
_SINCE_LAST = re.compile(
    rf"\b(?:last|most recent|final)\b(?:(?!\bat least\b).)*\bat least\s+{_NUM}\s*{_UNIT}\s+(?:before|prior|ago|earlier)\b"
    rf"|\bat least\s+{_NUM}\s*{_UNIT}\s+(?:since|after)\s+(?:the\s+)?(?:last|most recent|final)\b",
    re.IGNORECASE,
)
"""The last event or dose "at least 2 months before study entry": none in those 2 months."""
_ACUTE = re.compile(r"\b(?:acute|intercurrent|ongoing|current)\s+(?:MS\s+)?$", re.IGNORECASE)
"""Before an attack going on now ("acute optic neuritis", "an intercurrent relapse"): one in the last month."""
_INTERVAL = re.compile(rf"\bbetween\s+{_NUM}\s*(?:{_UNIT}\s*)?(?:and|to|-|–)\s*{_NUM}\s*{_UNIT}\s+(?:prior|before|ago)\b", re.IGNORECASE)
"""A window that ends before today ("one relapse between 12 and 24 months prior to screening")."""

_LOWER = r"(≥|>=|=>|>|greater (?:than )?or equal to|equal to or greater than|at least|no less than|not less than|minimum(?: of)?|over|above|greater than|more than|older than)"
_UPPER = r"(≤|<=|=<|<|less (?:than )?or equal to|equal to or less than|at most|no more than|not more than|up to|maximum(?: of)?|under|below|less than|younger than)"
_STRICT = {">", "over", "above", "greater than", "more than", "older than", "<", "under", "below", "less than", "younger than"}
_RANGE = re.compile(rf"(?:between\s+)?{_NUM}\s*(?:{_UNIT}\s*)?(?:-|–|to|and)\s*{_NUM}", re.IGNORECASE)
_LOWER_BOUND = re.compile(rf"{_LOWER}\s*(?:the\s+)?(?:age\s+(?:of\s+)?)?{_NUM}", re.IGNORECASE)
_UPPER_BOUND = re.compile(rf"{_UPPER}\s*(?:the\s+)?(?:age\s+(?:of\s+)?)?{_NUM}", re.IGNORECASE)
_LOWER_AFTER = re.compile(rf"{_NUM}\s*(?:{_UNIT}\s*(?:of age|old)?\s*)?(?:or older|and older|or over|and over|or above|or more|or higher|or greater|\+)", re.IGNORECASE)
_UPPER_AFTER = re.compile(rf"{_NUM}\s*(?:{_UNIT}\s*(?:of age|old)?\s*)?(?:or younger|and younger|or less|or lower|or below)", re.IGNORECASE)
_AGE = re.compile(r"(?<!gestational )\bage[ds]?\b|\byears?\s+old\b|\byears?\s+of\s+age\b|\b(?:over|under|above|below)\s+\d+\s+years\b(?!\s+(?:prior|before|ago|since|after))", re.IGNORECASE)
_CONDITIONAL = re.compile(r"(?:^(?:for|if|when)|[,;]\s*(?:and\s+|or\s+)?(?:if|when))\b[^,:]*\b(?:age|years)\b[^,:]*,", re.IGNORECASE)
"""A rule for an age group only ("For adolescents under 18 years of age, able to provide informed
assent…"; "…, and if adolescent age 18+ years, parental involvement…"): the ages say whom it binds."""
_AGED_GROUP = re.compile(
    r"^(?:participants?|patients?|subjects?|individuals?|persons?|people|volunteers?)\s+(?:who\s+are\s+)?(?:aged\s+)?"
    r"(?:younger|older|under|over|above|below|less|more|<|>|≤|≥)",
    re.IGNORECASE,
)
"""An exclusion whose subject is an age group ("Participants younger than 18 years of age, unless …")."""
_UNLESS = re.compile(r"[,;]?\s*\bunless\b", re.IGNORECASE)
_ATTRIBUTION = re.compile(r"^(?:as\s+)?(?:per|according\s+to|as\s+documented\s+in)\s+(?:the\s+)?[\w\s'-]{1,40}?,\s*", re.IGNORECASE)
"""Where a fact is taken from, before the fact ("As per medical record, early stage prostate cancer")."""
_SEX = re.compile(r"^(?:\w+\s+){0,2}?(males?|females?|men|women)\b(?!\s+(?:or|and|/)\s+(?:fe)?m)", re.IGNORECASE)
_BOTH_SEXES = re.compile(r"\b(?:male|men)\s*(?:or|and|/)\s*(?:fe)?(?:male|women)s?\b|\b(?:female|women)\s*(?:or|and|/)\s*(?:male|men)\b", re.IGNORECASE)
_COUNT = re.compile(rf"(?:at least|≥|>=|minimum of)\s*{_NUM}\b(?!\s*{_UNIT})|\b{_NUM}\s+or more\b", re.IGNORECASE)
"""A count of events, not a time ("at least 2 relapses", not "at least 2 months before")."""
_DIAGNOSIS_HEAD = re.compile(r"^(?:history of\s+|diagnosis of\s+|known\s+|presence of\s+|confirmed\s+)?", re.IGNORECASE)

_TREATMENT_SKIP = re.compile(
    r"\bcandida(?:te|cy)\b|na[iï]ve\s+or\s+(?:\w+\s+)?treated|hypersensitiv|allerg|\bsensitivity\b|contraindicat|inappropriate|washout|\btolerate\b|randomi[sz]ed to|\beligible\s+(?:to|for)\b",
    re.IGNORECASE,
)
"""Words saying a treatment is named for another reason than having taken it (an allergy to it,
the study's own arm, a drug the study will choose, "treatment-naïve or previously treated" alike)."""
_TREATMENT_PLANNED = re.compile(
    r"\bplann(?:ed|ing)\b|\bintend(?:ed|s)?\b|\bindication\s+for\b|\blikely\s+to\s+(?:need|require|receive)\b"
    r"|\b(?:need|needs|needing|require|requires|requiring|expected to (?:need|require|receive))\b"
    r".*\b(?:during|throughout)\s+(?:the\s+)?(?:[\w-]+\s+){0,3}(?:study|trial|treatment period)\b",
    re.IGNORECASE,
)
"""A treatment the study will choose or the person will need later ("planned concurrent DMT",
"indication for treatment with Gilenya", "patients needing prednisone during the 16 week
treatment period"): not one already taken."""
_TREATMENT_OUTCOME = re.compile(
    r"\b(?P<declined>declined|refused)\b|\b(?:not\s+tolerated|intoleran(?:t|ce)|(?:tried\s+and\s+)?failed|failure\s+(?:of|to|on|with)"
    r"|(?:inadequate|insufficient|suboptimal)(?:ly)?\s+respon\w*|non-?respon\w*|refractory)\b",
    re.IGNORECASE,
)
"""How a treatment the line names went ("declined or not tolerated treatment with beta interferon",
"tried and failed anti-spasticity therapy"): the profile can say it was not taken, never how it went."""
_TREATMENT_STARTED = re.compile(r"\b(?:started|starting|initiat\w*|start of|new(?:ly)? start\w*|introduc\w*|chang(?:e|es|ed|ing))\b", re.IGNORECASE)
"""A treatment begun or changed in a window ("Introduction of a treatment acting on spasticity within 30 days")."""
_TREATMENT_STABLE = re.compile(rf"\bstable\s+(?:\w+\s+)?(?:dose|dosage|regimen|regime)\b[^.;]*?\b{_NUM}\s*{_UNIT}", re.IGNORECASE)
"""A treatment "at a stable dose for three months": not started or changed within that time."""
_TREATMENT_CURRENT = re.compile(r"\brequir\w*\s+chronic\b|\b(?:concurrent\w*|concomitant|currently|current(?:ly)? (?:use|treat\w*)|presently|receiving|taking|continuous\w*)\b", re.IGNORECASE)
_SUBSTANCE_AFTER = re.compile(r"\s*(?:levels?\b|concentrations?\b|receptors?\b|-dependent\b|-positive\b|[<>≤≥=]|(?:greater|less|more)\s+than\b)", re.IGNORECASE)
_SUBSTANCE_BEFORE = re.compile(r"\b(?:absorption|levels?|concentrations?)\s+of\s+$", re.IGNORECASE)
"""A substance measured or acted on, not taken: "Testosterone >100 ng/dL", "estrogen receptor
positive", "testosterone-dependent tumours", "absorption of testosterone"."""
_STUDY_AFTER = re.compile(r"(?:\s*(?:,|/|\bor\b|\band\b)\s*(?:(?:or|and)\s+)?[\w-]+)*\s+(?:clinical\s+)?(?:stud(?:y|ies)|trials?)\b", re.IGNORECASE)
_STUDY_BEFORE = re.compile(r"\b(?:stud(?:y|ies)|trials?)\s+(?:involving|with|of|using|testing|evaluating)\s+(?:an?\s+|any\s+|the\s+)?$", re.IGNORECASE)
"""A treatment naming the kind of a study ("any other drug, biologic, or device study", "a clinical
trial involving investigational agents"): the line is about taking part in studies."""
_AND_ANOTHER = re.compile(r"\s*,?\s*and\s+(?:an|at\s+least\s+one\s+)?other\s+(?:\w+\s+){0,2}?", re.IGNORECASE)
"""Between a treatment and the next named: "interferon and another disease modifying therapy" asks for both."""
_INCLUDING = re.compile(r"\b(?:including|incl\.|as well as)\s+(?:the\s+)?$", re.IGNORECASE)
_TREATMENT_CONTEXT = re.compile(r"\b(?:approved|treatment of|indicated)\b", re.IGNORECASE)

_DRUG_NAME = re.compile(r"\b[a-z]{3,}(?:mab|cept|tinib|ciclib|kinra)\b")
"""A drug by its international nonproprietary name stem (``-mab`` antibodies, ``-cept`` fusion
proteins, ``-tinib`` kinase inhibitors): named in a criterion even when the profile does not know it."""

_HEALTHY = re.compile(r"^(?:subjects?\s+in\s+)?(?:good\s+health|healthy)\b|\bhealthy\s+(?:adult|child(?:ren)?|volunteer|subject|participant|individual|person|people|male|female|men|women)s?\b", re.IGNORECASE)
_ADULTS = re.compile(r"(?<!-)\badults?\b(?!-)", re.IGNORECASE)  # not "adult-onset"
_CHILDREN = re.compile(r"\b(?:child(?:ren)?|paediatric|pediatric)\b(?!\s*-?\s*bearing)", re.IGNORECASE)
_INFANTS = re.compile(r"\b(?:infants?|neonates?|newborns?|new-borns?)\b", re.IGNORECASE)
_ADULT_AGE, _INFANT_AGE = 18.0, 1.0
"""Age limits a population word implies: "adults" are 18 or older, "children" younger than 18."""
_COHORT = re.compile(r"^(?:[a-z][.)]\s*)?(?:cohorts?|arms?|groups?|parts?)\s+[\w-]+(?:\s*(?:-|–|to|and)\s*\w+)?\s*:\s*", re.IGNORECASE)
"""The label of one cohort in a list of alternatives ("a) Cohorts 2-4:"): not a bound."""
_OTHER_UNIT = re.compile(r"\s*(?:kg|g|mg|cm|lbs?|%)\b", re.IGNORECASE)
_ORGANS = {
    "male": re.compile(r"^(?:(?!\bor\s+(?:with|without|who|has|have|having)\b)[^,;])*?\b(?:prostat\w*|testicular|test[ei]s|penile|erectile)\b", re.IGNORECASE),
    "female": re.compile(r"^(?:(?!\bor\s+(?:with|without|who|has|have|having)\b)[^,;])*?\b(?:hysterectom\w*|uter(?:us|ine)|endometri\w*|ovar(?:y|ies|ian)|menstrua\w*)\b", re.IGNORECASE),
}
"""A line whose subject is an organ of one sex ("an abnormal prostate", "endometrial carcinoma",
"in spontaneous menstrual cycle") concerns that sex only; not one named after an alternative
("Healthy or with a diagnosis of endometriosis")."""
_WOMEN_ONLY = re.compile(r"\b(?:wom[ae]n|females?)\b", re.IGNORECASE)
_MEN = re.compile(r"\b(?:m[ae]n|males?)\b|(?<!vasectomized )(?<!vasectomised )\bpartners?\b(?!['’]s)", re.IGNORECASE)
"""Men bound by a contraception rule, not a partner named as a method ("partner's vasectomy")."""
_MEN_ONLY = re.compile(r"\b(?:m[ae]n|males?)\b", re.IGNORECASE)

_JOINT = re.compile(
    r"\b(?:in|for|among)\s+(?:patients|subjects|participants|people|persons|those|individuals)\s+(?:with|who)\b"
    r"|\b(?:patients|subjects|participants|people|persons|individuals)\s+with\s+[^,;.]*?\bwho\s+(?:are|is|have|has|were)\b",
    re.IGNORECASE,
)
"""An exclusion whose conditions hold together ("disease duration over 10 years in patients with an
EDSS of 2 or less", "subjects with lower anti-IgA antibodies who are naive to IGIV treatment"): it
rules out only a person meeting all of them, so not one whose other condition was not read."""
_UNREAD_CONDITION = re.compile(
    r"\b(?:medical|significant|serious|other|any|severe|uncontrolled)\s+(?:\w+\s+)?(?:conditions?|diseases?|illness(?:es)?|disorders?)\b"
    r"(?!\s+(?:that|which|requir\w*)\b)",
    re.IGNORECASE,
)
"""Conditions named without saying which ("significant medical conditions … or lactating or pregnant
women"): an exclusion naming them is not passed on the checks read beside them alone."""
_MEASURE = re.compile(
    r"(?P<test>(?:[\w-]+\s+){0,3}?[\w-]+)\s*(?:\([^)]*\)\s*)?(?:levels?\s+)?(?:[<>≤≥]=?|=[<>])\s*\d[\d,.]*\s*"
    r"(?:x\s*|times\s+)?(?:(?:institutional\s+)?(?:ULN|upper limit)|[mnµu]?(?:g|mol|IU|U)\s*/\s*(?:dL|L|mL)|/\s*(?:microliter|mm3|µL|uL))",
    re.IGNORECASE,
)
"""A laboratory bound in a unit of one ("ANC >=1,500/microliter", "Testosterone >100 ng/dL"), for a test the profile does not name."""
_LAB_QUALIFIER = re.compile(r"\b(?:normal|abnormal|elevated|elevation|raised|increased?|decreased?)\b", re.IGNORECASE)
"""A test result asked for in words, not by a bound."""
_PREVENTION = re.compile(r"\b(?:prevention|prophylaxis|prevent|protection|protect)\s+(?:of\s+|against\s+|from\s+)?$", re.IGNORECASE)
_TIME_POINT = re.compile(r"\b(?:prior to|before|after|following|since|until|at the (?:point|time) of)\s+(?:the\s+)?(?:informed\s+)?$", re.IGNORECASE)
"""Consent as a point in time ("prior to consent", "at the point of consent"), not a consent criterion."""
_UNREAD_MEASURE = re.compile(r"(?:[≥>≤<]=?|\bat least|\bup to)\s*\d[\d.,]*\s*(?:kg|g|cm|lbs?)\b", re.IGNORECASE)
"""A bound on a body measure the profile does not hold ("weight at screening ≥ 40 kg")."""
_WITH = re.compile(
    r"\b(?:patients?|subjects?|participants?|adults?|children|individuals?|people|persons?|men|women|males?|females?|years?|volunteers?)"
    r"\s+(?:\w+\s+){0,2}?with\s+(?!or\b|and\b)([^;.]+)",
    re.IGNORECASE,
)
"""Whom a criterion is for, "with" what they must have ("adults ages 18 to 64 years with Chronic AD")."""
_CAUSE = re.compile(r"\b(?:due to|secondary to|caused by|related to|associated with)\s*$", re.IGNORECASE)
_NOT_PARTICIPATION = re.compile(r"\b(?:(?:preclude|prevent|interfere with|jeopardi[sz]e|compromise)\w*\s+(?:\w+\s+){0,3}|potential\s+)participation\b", re.IGNORECASE)
"""A condition that "would preclude participation in a clinical trial", or a note on "a patient's potential
participation in a clinical trial", is not about taking part in other trials."""

_COUNTRIES = {
    "us": "United States", "u.s.": "United States", "usa": "United States", "u.s.a.": "United States",
    "united states": "United States", "america": "United States", "uk": "United Kingdom",
    "united kingdom": "United Kingdom",
}
"""Common short names of countries, as registries spell them in their site lists."""

_RESIDENCE = re.compile(r"\b(?:the\s+)?([A-Z][\w.]*(?:\s+[A-Z][\w.]*)*)")

_REGISTRIES = {"ctgov": "ClinicalTrials.gov", "ctis": "EU CTIS"}
_FIELD_NAMES = {"brief_title": "title", "official_title": "official title", "eligibility.std_ages": "age groups"}
"""Record fields a population's evidence names, in plain words (others by their own name)."""


@dataclass
class Check:
    """One condition a criterion states about the person, with the values it was read with."""

    kind: str
    values: dict[str, Any] = field(default_factory=dict)
    negated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **self.values, **({"negated": True} if self.negated else {})}


@dataclass
class Criterion:
    """One line of eligibility (or one registry field), with the checks it was read as.

    ``line`` is the 1-based line of the eligibility text (0 for a registry field); ``parts``
    are the lines a lead line ("one of the following:") introduces, combined as ``mode``: ``all``,
    ``any``, or ``unless`` for a rule of its own that any part exempts a person from.
    """

    text: str
    section: str
    line: int
    source: str = TEXT
    checks: list[Check] = field(default_factory=list)
    parts: list[Criterion] = field(default_factory=list)
    mode: str = "all"
    unread: bool = False
    """A criterion that also names conditions no check reads (an exclusion's "significant medical
    conditions", an inclusion's "with Chronic AD"): never passed on its checks alone."""
    applies_to: dict[str, Any] = field(default_factory=dict)
    """The ages of the group a rule is for ("For adolescents under 18 years of age, …"): met for anyone else."""

    @property
    def kind(self) -> str:
        if self.checks:
            return self.checks[0].kind
        return "group" if self.parts else "unknown"

    def flat(self) -> list[Criterion]:
        """This criterion and all its parts, in text order."""
        return [self] + [item for part in self.parts for item in part.flat()]


@dataclass
class _Line:
    text: str
    number: int
    indent: int
    marker: str | None
    ordinal: int | None = None  # the number of a numbered item ("5." → 5)


class EligibilityReader:
    """Reads eligibility into criteria with one profile's words (build once, read many)."""

    def __init__(self, profile: Profile):
        if profile.eligibility is None:
            raise ProfileError(f"{profile.source}: the profile has no 'eligibility' section, so the trial finder cannot read criteria")
        self.profile = profile
        self.words = profile.eligibility

    # -- the vocabularies, as term matchers ------------------------------------------------

    @cached_property
    def topics(self) -> TermMatcher:
        return TermMatcher((name, term) for name, terms in self.words.topics.items() for term in terms)

    @cached_property
    def phenotypes(self) -> TermMatcher:
        courses = set(self.words.courses)
        terms: list[tuple[str, Term]] = [("relapsing", term) for term in self.words.relapsing_terms]
        terms += [(p.id, term) for p in self.profile.phenotypes if p.id in courses for term in p.terms]
        return TermMatcher(terms)

    @cached_property
    def course_words(self) -> TermMatcher:
        """The eligibility section's own course words ("progressive relapsing"), before the phenotypes'."""
        return TermMatcher((course, term) for course, items in self.words.course_terms.items() for term in items)

    @cached_property
    def ignored_phenotype_phrases(self) -> TermMatcher:
        return TermMatcher((None, term) for term in self.profile.ignore.phenotypes)

    @cached_property
    def conditions(self) -> TermMatcher:
        terms: list[tuple[str, Term]] = [("ms", term) for term in self.profile.condition.terms]
        terms += [(nc.id, term) for nc in self.profile.condition.not_conditions for term in nc.terms]
        return TermMatcher(terms)

    @cached_property
    def treatments(self) -> TermMatcher:
        """Treatment classes first (so "anti-CD20" names the class), then every drug term of the
        strategies in the treatment groups, keyed ("class", id) or ("drug", strategy, kind, words)."""
        groups = set(self.words.treatment_groups)
        terms: list[tuple[tuple, Term]] = [(("class", c.id), term) for c in self.words.treatment_classes for term in c.terms]
        terms += [
            (("drug", s.id, term.kind, term.text.lower()), term)
            for s in self.profile.strategies
            if s.group in groups and s.role == "therapy"
            for term in s.terms
            if term.kind in ("alias", "brand", "code") and not (term.requires or term.fields or term.with_groups or term.study_types)
        ]
        return TermMatcher(terms)

    @cached_property
    def class_drugs(self) -> TermMatcher:
        """The drugs each treatment class names, keyed by class (fingolimod is an immunosuppressant)."""
        return TermMatcher((c.id, term) for c in self.words.treatment_classes for term in c.drugs)

    @cached_property
    def infections(self) -> TermMatcher:
        return TermMatcher((item.id, term) for item in self.words.infections for term in item.terms)

    @cached_property
    def labs(self) -> TermMatcher:
        return TermMatcher((lab.id, term) for lab in self.words.labs for term in lab.terms)

    @cached_property
    def implied_edss(self) -> TermMatcher:
        return TermMatcher((index, term) for index, item in enumerate(self.words.implied_edss) for term in item.terms)

    @cached_property
    def negations(self) -> TermMatcher:
        return TermMatcher((None, term) for term in self.words.negations)

    # -- reading ---------------------------------------------------------------------------

    def read(self, eligibility: Eligibility | None) -> list[Criterion]:
        """The registry's age and sex fields, then every line of the eligibility text."""
        if eligibility is None:
            return []
        return self.registry_criteria(eligibility) + self.read_text(eligibility.criteria or "")

    def registry_criteria(self, eligibility: Eligibility) -> list[Criterion]:
        criteria = []
        low, high = registry_age(eligibility.minimum_age), registry_age(eligibility.maximum_age)
        if low is not None or high is not None:
            text = "Age: " + " to ".join(
                part for part in (
                    f"at least {eligibility.minimum_age}" if low is not None else None,
                    f"at most {eligibility.maximum_age}" if high is not None else None,
                ) if part
            )
            values = {k: v for k, v in (("min", low), ("max", high)) if v is not None}
            criteria.append(Criterion(text, INCLUSION, 0, "registry", [Check("age", values)]))
        sex = (eligibility.sex or "").upper()
        if sex in ("FEMALE", "MALE"):
            criteria.append(Criterion(f"Sex: {sex.lower()} only", INCLUSION, 0, "registry", [Check("sex", {"sex": sex.lower()})]))
        return criteria

    def population_criteria(self, study: Study, classification: dict[str, Any]) -> list[Criterion]:
        """The populations the classification gave a trial that bar others (children only,
        pregnant women only, relapsing MS only…), each a criterion naming the field and words
        that gave it: read from the stored tags, so the finder and the map agree. Ages the
        registry's minimum and maximum age fields bound are left to their criterion."""
        if self.profile.populations is None:
            return []
        given = set(classification.get("populations") or ())
        evidence: dict[str, dict[str, Any]] = {}
        for item in classification.get("evidence") or ():
            if item.get("kind") == POPULATION:
                evidence.setdefault(item["label"], item)
        criteria = []
        for population in self.profile.populations.populations:
            found = evidence.get(population.id)
            if population.restricts is None or population.id not in given or found is None:
                continue
            check = self._population_check(population, found, study.eligibility)
            if check is not None:
                text = f"{population.name} ({_where(study.source, found)})"
                criteria.append(Criterion(text, INCLUSION, 0, POPULATION, [check]))
        return criteria

    def _population_check(self, population: Population, found: dict[str, Any], eligibility: Eligibility | None) -> Check | None:
        """What a restricting population asks of the person; "relapsing forms" (or a relapse)
        admit the courses the profile's eligibility.relapsing rules add, "relapsing-remitting" does not."""
        if population.restricts == "age":
            ages = self._population_ages(population, found, eligibility)
            return Check("age", ages) if ages else None
        if population.restricts == "course":
            words = found["text"]
            relapsing = any(m.key == "relapsing" for m in self.phenotypes.find(words)) or any(m.key == "relapse" for m in self.topics.find(words))
            return Check("phenotype", {"phenotypes": sorted(population.phenotypes), **({"relapsing": True} if relapsing else {})})
        return Check({"pregnancy": "pregnancy", "health": "healthy_volunteer"}[population.restricts])

    def _population_ages(self, population: Population, found: dict[str, Any], eligibility: Eligibility | None) -> dict[str, Any]:
        """The ages an age population holds the person to, on the sides the registry's minimum and
        maximum ages leave open: the record's age groups where they gave it (both ends, so an
        adults-only trial of 18 to 64 rules out a 70-year-old), else the population's own limit,
        unless the registry's other bound contradicts it."""
        low = registry_age(eligibility.minimum_age) if eligibility else None
        high = registry_age(eligibility.maximum_age) if eligibility else None
        values: dict[str, Any] = {}
        if found["field"].startswith("eligibility.std_ages"):
            groups = self.profile.populations.age_groups
            bounds = [groups[code] for code in eligibility.std_ages if code in groups]
            youngest = min(lowest for lowest, _ in bounds)
            oldest = None if any(highest is None for _, highest in bounds) else max(highest for _, highest in bounds)
            if low is None and youngest > 0:
                values["min"] = youngest
            if high is None and oldest is not None:
                values.update({"max": oldest + 1, "max_strict": True})  # a group up to 17 admits 17 and a half
        elif not found["field"].startswith("eligibility."):  # words: "children", "adults"
            rule, limit = population.ages
            if rule == "youngest_from" and low is None and (high is None or high >= limit):
                values["min"] = limit
            elif rule == "oldest_below" and high is None and (low is None or low < limit):
                values.update({"max": limit, "max_strict": True})
        return values

    def read_text(self, text: str) -> list[Criterion]:
        """Every line of an eligibility text as a criterion, lead lines holding their parts."""
        section = INCLUSION
        top: list[Criterion] = []
        stack: list[tuple[_Line, Criterion]] = []
        lines = _join_wrapped([line for number, raw in enumerate(text.splitlines(), start=1) if (line := _split_line(raw, number))])
        for index, line in enumerate(lines):
            header = _HEADER.match(line.text)
            if header:
                section = EXCLUSION if header.group(1).lower() == "exclusion" else INCLUSION
                stack.clear()
                continue
            while stack and _ends(stack, line):
                stack.pop()
            parent = stack[-1][1] if stack else None
            criterion = self.read_line(line.text, section, line.number, parent)
            (parent.parts if parent else top).append(criterion)
            indented_below = index + 1 < len(lines) and lines[index + 1].indent > line.indent
            if line.text.rstrip().endswith(":") or (_ANY_OF.search(line.text) and indented_below):  # "…who meet one of the following weight criteria (…)."
                criterion.mode = "unless" if criterion.checks and section == INCLUSION and _EXEMPT.search(line.text) else "any" if _ANY_OF.search(line.text) else "all"
                stack.append((line, criterion))
        return top

    def read_line(self, text: str, section: str, number: int, parent: Criterion | None = None) -> Criterion:
        """One line; a part of a lead that states nothing itself ("Either of the following within
        one month:") takes the lead's time window."""
        criterion = Criterion(text, section, number)
        lead = parent.text if parent is not None and not parent.checks else None
        criterion.checks = self.checks(text, section, lead)
        group = _CONDITIONAL.match(text)
        if group:
            criterion.applies_to = _bounds(group.group(0), years=True)
        if criterion.checks and section == EXCLUSION:
            criterion.unread = bool(_UNREAD_CONDITION.search(text))
        elif criterion.checks:  # "adults ages 18 to 64 years with Chronic AD", "… and weight at screening ≥ 40 kg"
            measured = _UNREAD_MEASURE.search(text) and not any(check.kind == "lab" for check in criterion.checks)
            criterion.unread = bool(measured) or self._unread_with(text)
        return criterion

    def checks(self, text: str, section: str, lead: str | None = None) -> list[Check]:
        """What one criterion line states, check by check."""
        text = _ATTRIBUTION.sub("", text)
        unless = _UNLESS.search(text) if section == EXCLUSION else None
        if unless:  # "X, unless Y": ruled out only when X holds and Y does not
            rule, exemption = self.checks(text[: unless.start()], section, lead), self.checks(text[unless.end() :], section, lead)
            if rule and exemption:
                for check in exemption:
                    check.negated = not check.negated
                for check in rule + exemption:
                    check.values["jointly"] = True
                return rule + exemption
        topics = _by_key(self.topics.find(text))
        if "consent" in topics:
            topics["consent"] = [m for m in topics["consent"] if not _TIME_POINT.search(text[: m.start])]
            if not topics["consent"]:
                del topics["consent"]
        treated = [(m.start, m.end) for m in self.treatments.find(text)]
        vaccines = [m for m in topics.get("vaccination", []) if not any(s <= m.start < e for s, e in treated)]
        if not vaccines:  # "T-cell vaccination" is a treatment
            topics.pop("vaccination", None)
        negations = [m.start for m in self.negations.find(text) if not _no_negation(text[: m.start], section)]
        window = _window(text) or (_window(lead) if lead else None)
        since_last = _SINCE_LAST.search(text) if window is None else None
        if since_last:
            amount, unit = [group for group in since_last.groups() if group][:2]
            window = round(_number(amount) * _UNIT_MONTHS[unit.lower()], 2)
        found: list[Check] = []
        if section == INCLUSION or _AGED_GROUP.match(text):  # in an exclusion, "individuals ≥ 1 year of age" names whom a rule is for
            found += self._age(_COHORT.sub("", text))
            if _HEALTHY.search(text):
                found.append(Check("health"))
        if not {"pregnancy", "contraception"} & topics.keys():  # "women of child-bearing potential must…" binds women without limiting sex
            found += self._sex(text, section)
        found += self._course(text, section, topics, negations)
        found += self._bounded(text, topics, "edss", 40, 0, 10) or self._implied_edss(text)
        found += self._duration(text, topics)
        found += self._activity(text, topics, window, negations, treated)
        found += self._treatments(text, section, topics, window, negations, lead)
        found += self._flagged(text, section, topics, negations)
        infections = self._infections(text, negations)
        if infections:  # "following hepatitis B immunization": the vaccine names the infection
            found = [check for check in found if check.kind != "vaccination"]
        found += infections
        found += self._labs(text)
        found += self._residence(text, topics)
        for check in found if since_last else ():
            if check.kind in ("activity", "treatment"):
                check.negated = True
        if section == EXCLUSION and found and _JOINT.search(text):
            for check in found:
                check.values["jointly"] = True
                if len(found) == 1:
                    check.values["with_unread"] = True
        return found

    # -- one reader per kind of check --------------------------------------------------------

    def _age(self, text: str) -> list[Check]:
        """Bounds near the word "age" ("18 to 55 years"), and those "adults" or "children" imply."""
        if _CONDITIONAL.search(text):
            return []
        match = _AGE.search(text)
        values = {}
        if match is not None:
            start = max(0, match.start() - 30)
            clause = re.match(r"[^,;]*", text[match.end() : match.end() + 45]).group(0)  # not the "gestational age" after a comma
            values = _bounds(text[start : match.end()] + clause, years=True)
        if _ADULTS.search(text) and "min" not in values and values.get("max", _ADULT_AGE) >= _ADULT_AGE:
            values["min"] = _ADULT_AGE
        elif _INFANTS.search(text) and "max" not in values and values.get("min", 0) < _INFANT_AGE:
            values.update({"max": _INFANT_AGE, "max_strict": True})
        elif _CHILDREN.search(text) and "max" not in values and values.get("min", 0) < _ADULT_AGE:
            values.update({"max": _ADULT_AGE, "max_strict": True})
        return [Check("age", values)] if values else []

    def _sex(self, text: str, section: str) -> list[Check]:
        """A sex an inclusion limits the trial to ("Men, age 18-65"), or the sex an exclusion is
        for ("Males who have taken DHEA", "an abnormal prostate")."""
        organ = next((sex for sex, pattern in _ORGANS.items() if pattern.search(text)), None)
        if organ is not None:  # an inclusion about a prostate rules out women, but says nothing certain of a man
            return [Check("sex", {"sex": organ, **({"organ": True} if section == INCLUSION else {})})]
        if _BOTH_SEXES.search(text) or (re.search(r"\b(?:males?|men)\b", text, re.IGNORECASE) and re.search(r"\b(?:females?|women)\b", text, re.IGNORECASE)):
            return []  # "Males unable to fulfil the above criteria and all female patients": not one sex
        match = _SEX.match(text)
        if match is None:
            return []
        word = match.group(1).lower()
        return [Check("sex", {"sex": "female" if word in ("female", "females", "women") else "male"})]

    def _course(self, text: str, section: str, topics: dict, negations: list[int]) -> list[Check]:
        """The MS diagnosis, the disease course, and other named conditions."""
        checks: list[Check] = []
        own = _longest(self.course_words.find(text))  # "progressive relapsing" is a course of its own in criteria
        ignored = [(m.start, m.end) for m in self.ignored_phenotype_phrases.find(text) if not any(o.start == m.start for o in own)]
        courses: set[str] = {m.key for m in own}
        relapsing = False
        relapse_words = [(m.start, m.end) for m in topics.get("relapse", [])]
        named_ms = [m.end for m in self.conditions.find(text) if m.key == "ms"]
        kept: list[TermMatch] = []
        for match in _longest(self.phenotypes.find(text)):
            if (
                # "Diagnosis of MS, including Clinically Isolated Syndrome": a course that widens the diagnosis
                (any(end <= match.start for end in named_ms) and _INCLUDING.search(text[: match.start]))
                or any(o.start <= match.start < o.end or match.start <= o.start < match.end for o in own)
                or any(s <= match.start < e for s, e in ignored)
                or any(match.start <= s < match.end for s, _ in relapse_words)  # "MS relapse" is an event
                or _TREATMENT_CONTEXT.search(_words_before(text, match.start, 4))
            ):
                continue
            if match.key == "relapsing":
                relapsing = True
            else:
                courses.add(match.key)
                kept.append(match)
        courses.update(self._elided_courses(text, [*own, *kept]))
        if relapsing:
            courses.update(self.words.relapsing_phenotypes)
        courses -= {p.id for p in self.profile.phenotypes if p.id in courses and set(p.narrower) & courses} - {m.key for m in own}
        if courses:
            values: dict[str, Any] = {"phenotypes": sorted(courses)}
            if relapsing:
                values["relapsing"] = True
            checks.append(Check("phenotype", values, _negated(text, _first(self.phenotypes.find(text)), negations)))
        other_than = [m.end for m in topics.get("other_than", [])]
        conditions = _longest(self.conditions.find(text))
        ms = [
            m
            for m in conditions
            if m.key == "ms"
            and not any(0 <= m.start - end <= 3 for end in other_than)
            and not any(0 <= s - m.end <= 1 or s <= m.start < e for s, e in relapse_words)  # "MS relapse", "optic neuritis" name an event
            and not _CAUSE.search(text[: m.start])  # "spasticity due to multiple sclerosis": the diagnosis is of the spasticity
        ]
        if re.match(r"^(?:\w+\s+){0,2}(?:MRI|magnetic resonance imaging|scan)\b", text, re.IGNORECASE):
            ms = []  # "Screening MRI scan fulfilling the criteria for a diagnosis of MS": the scan is to come
        named_diagnosis = ("diagnosis" in topics and not courses) or "mcdonald" in topics
        at_head = bool(ms) and ms[0].start == len(_DIAGNOSIS_HEAD.match(text).group(0))
        if ms and (section == INCLUSION and named_diagnosis or section == EXCLUSION and at_head and not courses):
            checks.append(Check("diagnosis", {"mcdonald": True} if "mcdonald" in topics else {}, _negated(text, ms[0].start, negations)))
        others = sorted({m.key for m in conditions if m.key != "ms"})
        if others:
            first = min(m.start for m in conditions if m.key != "ms")
            checks.append(Check("condition", {"conditions": others}, _negated(text, first, negations)))
        return checks

    def _elided_courses(self, text: str, matches: list[TermMatch]) -> set[str]:
        """Courses whose shared words are said once ("Primary or secondary progression of Multiple
        Sclerosis"): the word before "or" takes the place of the named course's first word."""
        found: set[str] = set()
        for match in matches:
            head = re.match(r"\w+", text[match.start : match.end])
            before = re.search(r"\b(\w+)\s*(?:,|\bor\b|\band\b|/)\s*$", text[: match.start])
            if head is None or before is None:
                continue
            candidate = before.group(1) + text[match.start + head.end() : match.end]
            for item in [*self.course_words.find(candidate), *self.phenotypes.find(candidate)]:
                if item.start == 0 and item.end == len(candidate) and item.key != "relapsing":
                    found.add(item.key)
        return found

    def _bounded(self, text: str, topics: dict, kind: str, reach: int, low: float, high: float) -> list[Check]:
        matches = topics.get(kind)
        if not matches:
            return []
        following = re.sub(r"^\s*\([^)]*\)", "", text[matches[0].end :])  # "EDSS (Expanded Disability Status Scale) score of 3.0 - 6.5"
        values = _bounds(following[:reach])
        values = {k: v for k, v in values.items() if not isinstance(v, float) or low <= v <= high}
        return [Check(kind, values)] if {"min", "max"} & values.keys() else []

    def _unread_with(self, text: str) -> bool:
        """Whether an inclusion says whom it is for "with" something no vocabulary names ("adults
        ages 18 to 64 years with Chronic AD (according to …)"): what they must have is not read."""
        vocabularies = (self.conditions, self.phenotypes, self.course_words, self.topics, self.treatments, self.infections, self.labs, self.implied_edss)
        for found in _WITH.finditer(text):
            clause = found.group(1)
            if WORD.search(clause) and not any(vocabulary.find(clause) for vocabulary in vocabularies):
                return True
        return False

    def _implied_edss(self, text: str) -> list[Check]:
        """An EDSS bound words imply ("a walking impairment", "able to move with or without mechanical assistance")."""
        matches = self.implied_edss.find(text)
        if not matches:
            return []
        item = self.words.implied_edss[matches[0].key]
        values = {side: value for side, value in (("min", item.min), ("max", item.max), ("unsure_from", item.unsure_from)) if value is not None}
        return [Check("edss", values)]

    def _duration(self, text: str, topics: dict) -> list[Check]:
        matches = topics.get("disease_duration")
        if not matches:
            return []
        after = [m.start for key, items in topics.items() if key != "disease_duration" for m in items if m.start > matches[0].end]
        fragment = text[matches[0].start : min([matches[0].end + 160, *after])]  # "… of more than 10 years in patients with an EDSS of 2 or less"
        values = _bounds(fragment, years=True)
        if not values:
            window = _window(fragment)
            values = {"max": round(window / 12, 2)} if window else {}
        return [Check("disease_duration", values)] if values else []

    def _activity(self, text: str, topics: dict, window: float | None, negations: list[int], treated: list[tuple[int, int]]) -> list[Check]:
        """Relapses or MRI activity in a window; a line giving several counts, each with its own
        window ("1 relapse in the last year or 2 in the last 2 years or a Gd+ lesion in the last
        6 months"), is one check per window, alternatives when "or" joins them. A relapse a named
        treatment is for ("methylprednisolone for relapses") is its use, not an event asked about."""
        events = sorted(
            (m.start, m.end, name)
            for name in ("relapse", "mri_activity", "disease_activity")
            for m in topics.get(name, [])
            if not (_TREATED_FOR.search(text[: m.start]) and any(end <= m.start for _, end in treated))
        )
        if not events:
            return []
        if window is None and any(_ACUTE.search(text[: m.start]) for m in topics.get("relapse", [])):  # "not in an intercurrent relapse": an attack of the last month
            window = 1.0
        if window is None:
            return []
        ends = sorted({found.end() for pattern in _WINDOWS for found in pattern.finditer(text)})
        cuts = [0]
        for end in ends:  # a segment ends at each window that follows an event of its own
            if any(cuts[-1] <= start < end for start, _, _ in events):
                cuts.append(end)
        if len(cuts) <= 2:
            return [self._activity_check(text, 0, len(text), events, window, negations)]
        cuts[-1] = len(text)  # events after the last window belong to it
        checks = [self._activity_check(text, a, b, events, _window(text[a:b]), negations) for a, b in zip(cuts, cuts[1:])]
        if any(re.search(r"\bor\b", text[a : next(s for s, _, _ in events if s >= a)]) for a in cuts[1:-1]):
            for check in checks:
                check.values["any_of"] = True
        return checks

    def _activity_check(self, text: str, start: int, end: int, events: list, window: float, negations: list[int]) -> Check:
        names = {name for s, _, name in events if start <= s < end}
        event = "relapse" if names == {"relapse"} else "mri" if names == {"mri_activity"} else "any"
        first, first_end = next((s, e) for s, e, _ in events if s >= start)
        segment = text[start:end]
        count = _COUNT.search(segment) or re.search(rf"\b{_NUM}\s+(?:[a-z-]+\s+)?$", text[start:first], re.IGNORECASE)
        values = {"event": event, "min_count": int(_number(next(g for g in count.groups() if g))) if count else 1, "window_months": window}
        interval = _INTERVAL.search(segment)
        if interval:
            values["from_months"] = round(_number(interval.group(1)) * _UNIT_MONTHS[(interval.group(2) or interval.group(4)).lower()], 2)
        free = re.match(r"\s*-?\s*free\b", text[first_end:], re.IGNORECASE)  # "relapse-free"
        return Check("activity", values, bool(free) or _negated(text, first, negations))

    def _treatments(self, text: str, section: str, topics: dict, window: float | None, negations: list[int], lead: str | None = None) -> list[Check]:
        if _TREATMENT_SKIP.search(text) or "vaccination" in topics:
            return []
        matches = [
            m for m in _longest(self.treatments.find(text))
            # "the investigational product": the study's own; "the multiple sclerosis treatment" is the person's
            if (not text[: m.start].endswith("the ") or self.conditions.find(text[m.start : m.end]))
            and not _SUBSTANCE_AFTER.match(text, m.end) and not _SUBSTANCE_BEFORE.search(text[: m.start])
            and not _STUDY_AFTER.match(text, m.end) and not _STUDY_BEFORE.search(text[: m.start])
        ]
        known = [(m.start, m.end) for m in matches]
        unnamed = [(m.start(), m.end()) for m in _DRUG_NAME.finditer(text)] + [(m.start, m.end) for m in _longest(self.class_drugs.find(text))]
        unnamed = sorted({(s, e) for s, e in unnamed if not any(ks <= s < ke for ks, ke in known)})
        matches += [TermMatch(("drug", None, "name", text[s:e].lower()), s, e, None) for s, e in unnamed]
        matches = _not_excepted(text, sorted(matches, key=lambda m: m.start), [m.end for m in topics.get("other_than", [])])
        keys = list(dict.fromkeys(m.key for m in matches))
        if not keys:
            return []
        if section == EXCLUSION:  # "Rituxan" in an exclusion: any drug that acts alike
            keys += list(dict.fromkeys(("strategy", key[1]) for key in keys if key[0] == "drug" and key[1] in self.words.alike_strategies))
        stable = _TREATMENT_STABLE.search(text)
        if _TREATMENT_PLANNED.search(text) or (lead and _TREATMENT_PLANNED.search(lead)):  # "… or likely to receive …:" then the list
            relation = "planned"
        elif stable:
            relation, window = "started", _window(f"within {stable.group(1)} {stable.group(2)}")
        elif _TREATMENT_STARTED.search(text):
            relation = "started"
        elif _TREATMENT_CURRENT.search(text) or re.search(r"(?<!been)\s+on\s*(?:(?:a\s+)?stable\s+(?:dose\s+of\s+)?)?$", text[: matches[0].start]):
            # "on Tysabri presently or within 6 months of screening": taken in the window, now included
            relation = "prior" if window is not None and re.search(r"\bor\s+(?:within|in|during)\b", text, re.IGNORECASE) else "current"
        else:
            relation = "prior"
        values: dict[str, Any] = {"treatments": [list(key) for key in keys], "relation": relation}
        if window is not None and relation in ("prior", "started"):
            values["window_months"] = window
        clause = re.split(r"[;.]\s", text[: matches[0].end])[-1]
        outcome = _TREATMENT_OUTCOME.search(clause)
        if outcome:
            values["outcome"] = "declined" if outcome.group("declined") else "failed"
            return [Check("treatment", values)]  # "not tolerated" says how it went, not that it was never taken
        negated = bool(stable) or _negated(text, matches[0].start, negations)
        both = next((i for i in range(1, len(matches)) if _AND_ANOTHER.fullmatch(text[matches[i - 1].end : matches[i].start])), None)
        if both is not None and len(keys) > 1:  # "interferon and another disease modifying therapy": each is asked for
            first = matches[both - 1].key
            rest = [list(key) for key in keys if key != first]
            return [Check("treatment", {**values, "treatments": [list(first)]}, negated), Check("treatment", {**values, "treatments": rest}, negated)]
        return [Check("treatment", values, negated)]

    def _flagged(self, text: str, section: str, topics: dict, negations: list[int]) -> list[Check]:
        """Kinds judged from a yes/no the person may give: pregnancy, contraception, vaccination,
        consent, trial participation."""
        checks = []
        for kind in ("pregnancy", "contraception", "vaccination", "consent", "trial_participation"):
            matches = topics.get(kind)
            if not matches:
                continue
            if kind == "pregnancy" and "contraception" in topics and not _mentions_pregnancy_state(text):
                continue
            if kind == "consent" and ("contraception" in topics or re.search(r"\bto\s+abstain\b", text, re.IGNORECASE)):
                continue  # "unwilling to use contraception" is the contraception rule, "willing to abstain" one about substance use (not "comply…, including abstaining from exclusionary procedures")
            if kind == "trial_participation" and _NOT_PARTICIPATION.search(text):
                continue
            values = {"live": True} if kind == "vaccination" and "live_vaccine" in topics else {}
            if kind == "contraception" and _WOMEN_ONLY.search(text) and not _MEN.search(text):
                values = {"women_only": True}
            elif kind == "contraception" and _MEN_ONLY.search(text) and not _WOMEN_ONLY.search(text):
                values = {"men_only": True}  # "Men must agree to use an effective method of contraception"
            negated = _negated(text, matches[0].start, negations)
            if kind == "contraception" and section == EXCLUSION:
                negated = True  # an exclusion about contraception always means not using it
            checks.append(Check(kind, values, negated))
        return checks

    def _infections(self, text: str, negations: list[int]) -> list[Check]:
        """Infections the person may have, not one a treatment prevents ("immune globulin for prevention of Hepatitis B")."""
        matches = [m for m in _longest(self.infections.find(text)) if not _PREVENTION.search(text[: m.start])]
        if not matches:
            return []
        names = sorted({m.key for m in matches})
        return [Check("infection", {"infections": names}, _negated(text, matches[0].start, negations))]

    def _labs(self, text: str) -> list[Check]:
        """Each test with the bound after it, up to the next test named; tests named together
        with no bound of their own ("ALT or AST ≥ 2.0 times ULN") share the next one's."""
        found = [m for m in _longest(self.labs.find(text)) if not re.search(r"corrected for\s*$", text[: m.start])]

        def fragment(match: TermMatch) -> str:
            """The words after a test up to the next test, less remarks in brackets; a bound of
            the upper limit of normal with no factor ("≤ local upper limit of normal") is 1 ULN."""
            following = [m.start for m in found if m.start >= match.end and m.key != match.key]
            words = re.sub(r"\([^()]*\)", "", text[match.end : min([len(text), *following])])[:80]
            return re.sub(r"([≤≥<>]=?)\s*(?:the\s+)?(?:local\s+|institutional\s+)?(upper limit of normal|ULN)", r"\1 1 \2", words, flags=re.IGNORECASE)

        checks: dict[int, Check] = {}
        for match in found:
            lab = next(item for item in self.words.labs if item.id == match.key)
            words = fragment(match)
            aged = re.search(rf"{_NUM}\s*{_UNIT}\b", words)  # "for < 1 year of age": whom the limit is for
            values = _bounds(words[: aged.start()] if aged else words)
            if {"min", "max"} & values.keys() and not any(c.values["lab"] == lab.id for c in checks.values()):
                checks[match.start] = Check("lab", {"lab": lab.id, **values, "unit_matches": bool(re.search(lab.unit_regex, words))})
        for match in found:
            if any(c.values["lab"] == match.key for c in checks.values()) or re.search(r"\d", fragment(match).split(",")[0]):
                continue
            after = [checks[start] for start in sorted(checks) if start > match.start]
            if after:
                checks[match.start] = Check("lab", {**after[0].values, "lab": match.key})
        qualified = _LAB_QUALIFIER.search(text[: found[0].start]) if found else None
        for match in found if qualified else ():  # "normal AST (SGOT) ALT (SGPT)", "increase of liver enzymes (ASAT, ALAT)"
            if not any(c.values["lab"] == match.key for c in checks.values()):
                checks[match.start] = Check("lab", {"lab": match.key, "qualifier": qualified.group(0).lower()})
        if not checks:  # a test the profile does not name, by its bound and unit ("Serum albumin >= 2.8 g/dL")
            measured = _MEASURE.search(text)
            if measured:
                test = re.sub(r"^(?:(?:with|and|or|of|a|an|the|must|be|have|has|is)\s+)+", "", measured.group("test").strip(" (),:"), flags=re.IGNORECASE)
                return [Check("lab", {"test": test})]
        return [checks[start] for start in sorted(checks)]

    def _residence(self, text: str, topics: dict) -> list[Check]:
        matches = topics.get("residence")
        if not matches:
            return []
        rest = text[matches[0].end :].strip()
        name = _RESIDENCE.match(rest)
        if name is None:
            return []
        return [Check("residence", {"country": country_name(name.group(1))})]


# -- helpers -------------------------------------------------------------------------------


def country_name(text: str) -> str:
    """A country as registries name it: common short forms spelled out."""
    cleaned = text.strip().rstrip(".").strip()
    return _COUNTRIES.get(cleaned.lower(), _COUNTRIES.get(cleaned.lower() + ".", cleaned))


def _where(source: str, found: dict[str, Any]) -> str:
    """Where a population's evidence is, in plain words: "ClinicalTrials.gov title: 'Children'"."""
    field = re.sub(r"\[\d+\]", "", found["field"])
    name = _FIELD_NAMES.get(field, field.rsplit(".", 1)[-1].replace("_", " "))
    return f"{_REGISTRIES.get(source, 'registry')} {name}: '{found['text']}'"


def registry_age(value: str | None) -> float | None:
    """A registry age field ("18 Years", "6 Months", "72 Hours") in years."""
    if not value:
        return None
    match = re.match(rf"\s*(\d+(?:\.\d+)?)\s*{_UNIT}", value, re.IGNORECASE)
    if match is None:
        return None
    return round(float(match.group(1)) * _UNIT_MONTHS[match.group(2).lower()] / 12, 4)


def _split_line(raw: str, number: int) -> _Line | None:
    indent = len(raw) - len(raw.lstrip())
    text = _ESCAPES.sub(r"\1", raw.strip())
    marker = None
    found = _MARKER.match(text)
    ordinal = None
    if found:
        marker = found.lastgroup
        if marker == "digit":
            ordinal = int(re.sub(r"\D", "", found.group(0)))
        text = text[found.end() :]
    text = text.strip()
    if not WORD.search(text):
        return None
    return _Line(text, number, indent, marker, ordinal)


def _join_wrapped(lines: list[_Line]) -> list[_Line]:
    """Hard-wrapped items as one line each: a line with no list marker on the very next line
    after an item, indented past the item's marker, continues it (the 2021 registry text wraps
    at 80 columns) and keeps the item's line number; so does one beginning in lower case right
    after an unfinished line of an unmarked item."""
    joined: list[_Line] = []
    last = 0  # the physical line the previous item ended on
    for line in lines:
        previous = joined[-1] if joined else None
        follows = previous is not None and line.marker is None and line.number == last + 1
        if follows and (
            (previous.marker and line.indent > previous.indent)
            or (line.indent >= previous.indent and (line.text[:1].islower() or line.text[:1] == "(") and previous.text.rstrip()[-1:] not in (".", ":"))
        ):
            previous.text = f"{previous.text} {line.text}"
        else:
            joined.append(line)
        last = line.number
    return joined


def _ends(stack: list[tuple[_Line, Criterion]], line: _Line) -> bool:
    """Whether a line closes the innermost open lead: it is a sibling of that lead or of any
    lead above it (same kind of marker, not indented deeper), unless it is an entry of a list
    flattened to the lead's level."""
    if _flat_entry(stack[-1][0], line):
        return False
    for lead, _ in stack:
        if lead.marker == line.marker and line.indent <= lead.indent and _next_in_list(lead, line):
            return True
    lead = stack[-1][0]
    return not (line.indent > lead.indent or (line.marker is not None and line.marker != lead.marker))


def _flat_entry(lead: _Line, line: _Line) -> bool:
    """An entry of a list the 2021 registry text flattened to its lead's level ("Prior treatment
    with any of the following:" then "- cladribine" as a sibling): an unnumbered line with the
    lead's marker and indent below a lead ending in a colon, until a full sentence or a new lead."""
    ending = line.text.rstrip()[-1:]
    return (
        lead.text.rstrip().endswith(":") and line.marker == lead.marker and line.indent == lead.indent
        and line.ordinal is None and ending not in (".", ":")
    )


def _next_in_list(lead: _Line, line: _Line) -> bool:
    """A numbered line continues its lead's list only when it counts on from it ("6." after
    "5."); numbering that starts again ("1." after "5.") begins the lead's own list."""
    return lead.ordinal is None or line.ordinal is None or line.ordinal > lead.ordinal


def _not_excepted(text: str, matches: list[TermMatch], except_ends: list[int]) -> list[TermMatch]:
    """Mentions less those an "other than" or "with the exception of" sets aside (at most two
    words after it: "low dose beta blocker"), with those listed right after them ("with the
    exception of natalizumab or daclizumab")."""
    kept, excepted, previous = [], False, None
    for match in matches:
        listed = previous is not None and re.fullmatch(r"[\s,/]*(?:or|and)?\s*", text[previous : match.start])
        excepted = any(end <= match.start and len(WORD.findall(text[end : match.start])) <= 2 for end in except_ends) or (excepted and bool(listed))
        if not excepted:
            kept.append(match)
        previous = match.end
    return kept


def _by_key(matches: list[TermMatch]) -> dict[str, list[TermMatch]]:
    """Matches by key, the longest of each key's overlapping ones (two keys may share words)."""
    grouped: dict[str, list[TermMatch]] = {}
    for match in matches:
        grouped.setdefault(match.key, []).append(match)
    return {key: _longest(items) for key, items in grouped.items()}


def _longest(matches: list[TermMatch]) -> list[TermMatch]:
    """Matches that no longer match contains, first come first (matches arrive by start, longest first)."""
    kept: list[TermMatch] = []
    for match in matches:
        if any(k.start <= match.start and match.end <= k.end and (k.start, k.end) != (match.start, match.end) for k in kept):
            continue
        if any((k.start, k.end) == (match.start, match.end) for k in kept):
            continue
        kept.append(match)
    return kept


def _first(matches: list[TermMatch]) -> int:
    return matches[0].start if matches else 0


def _words_before(text: str, position: int, count: int) -> str:
    return " ".join(WORD.findall(text[:position])[-count:])


def _negated(text: str, position: int, negations: list[int]) -> bool:
    """A negation word among the four words before ``position``, in the same clause."""
    before = text[:position]
    clause_start = max(before.rfind(";"), before.rfind(". "), before.rfind(" or "), before.rfind("/"))
    for start in negations:
        if clause_start < start < position and len(WORD.findall(text[start:position])) <= 5:
            return True
    return False


def _no_negation(before: str, section: str) -> bool:
    """Whether a negation word is none: "with or without progression" names both; in an exclusion,
    "may not participate" restates the exclusion rather than turning it around."""
    if re.search(r"\bwith\s+(?:or|and)\s+$", before, re.IGNORECASE):
        return True
    return section == EXCLUSION and bool(re.search(r"\b(?:may|must|should|shall|will|can)\s+$", before, re.IGNORECASE))


def _mentions_pregnancy_state(text: str) -> bool:
    return bool(re.search(r"pregnancy test|\bpregnant\b|breast|lactat|nursing", text, re.IGNORECASE))


def _number(text: str) -> float:
    lowered = text.lower()
    return float(_NUMBER_WORDS[lowered]) if lowered in _NUMBER_WORDS else float(text.replace(",", ""))


def _window(text: str | None) -> float | None:
    """The first time window in a text, in months."""
    if not text:
        return None
    best = None
    for pattern in _WINDOWS:
        match = pattern.search(text)
        if match and (best is None or match.start() < best.start()):
            best = match
    if best is None:
        return None
    ranged = re.search(r"(\d+)\s*(?:to|-|–)\s*\d", best.group(0))  # "within the 24 to 1 months prior": the outer bound
    amount = float(ranged.group(1)) if ranged else _number(best.group(1)) if best.group(1) else 1.0
    return round(amount * _UNIT_MONTHS[best.group(2).lower()], 2)


def _bounds(fragment: str, years: bool = False) -> dict[str, Any]:
    """Lower and upper bounds stated in a fragment ("18 to 55", "≥ 22", "under 60", "2.0 or more");
    with ``years`` a bound given in months, weeks or days is converted to years."""
    values: dict[str, Any] = {}
    fragment = re.sub(r"\bnot\s*>\s*", "≤ ", re.sub(r"\bnot\s*<\s*", "≥ ", fragment))  # "ALT not > 2x ULN"
    fragment = re.sub(r"(?<=\d),(?=\d(?!\d))", ".", fragment)  # a decimal comma: "EDSS 0-5,5"
    fragment = re.sub(r"(?<=\d)\s*[−—]\s*(?=\d)", "-", fragment)  # a minus sign or dash between numbers: "Ages 18−60"
    fragment = re.sub(r"\b(more|less|greater|higher|lower|older|younger)\s+then\b", r"\1 than", fragment, flags=re.IGNORECASE)

    def amount(number: str, unit_text: str | None) -> float:
        value = _number(number)
        if years and unit_text and unit_text.lower().rstrip("s") in ("month", "week", "day", "hour"):
            value = value * _UNIT_MONTHS[unit_text.lower().rstrip("s")] / 12
        return round(value, 4)

    def unit_after(end: int) -> str | None:
        found = re.match(rf"\s*{_UNIT}", fragment[end:], re.IGNORECASE)
        return found.group(1) if found else None

    found = _RANGE.search(fragment)
    candidates = []
    if found:
        candidates.append((found.start(), "range", found))
    for name, pattern in (("lower", _LOWER_BOUND), ("upper", _UPPER_BOUND), ("lower_after", _LOWER_AFTER), ("upper_after", _UPPER_AFTER)):
        for match in pattern.finditer(fragment):
            if not (years and _OTHER_UNIT.match(fragment, match.end())):  # "weight ≥ 40 kg" next to an age is not an age
                candidates.append((match.start(), name, match))
                break
    for _, name, match in sorted(candidates, key=lambda item: item[0]):
        if name == "range" and "min" not in values and "max" not in values:
            unit = unit_after(match.end())
            values["min"], values["max"] = amount(match.group(1), match.group(2) or unit), amount(match.group(3), unit)
        elif name == "lower" and "min" not in values:
            values["min"] = amount(match.group(2), unit_after(match.end()))
            if match.group(1).lower() in _STRICT:
                values["min_strict"] = True
        elif name == "upper" and "max" not in values:
            values["max"] = amount(match.group(2), unit_after(match.end()))
            if match.group(1).lower() in _STRICT:
                values["max_strict"] = True
        elif name == "lower_after" and "min" not in values:
            values["min"] = amount(match.group(1), match.group(2))
        elif name == "upper_after" and "max" not in values:
            values["max"] = amount(match.group(1), match.group(2))
    if "min" in values and "max" in values and values["min"] > values["max"]:
        return {}
    return values
