"""Outcome figures: every result a text reports, with its measure, value and the exact words.

All words about the condition and its outcomes come from the profile: the measures and their
terms (``outcome_measures``), the condition's own terms, and the cue words (``outcome_cues``).
This module holds only generic rules about how results are written:

1. Numbers. p-values, confidence limits, ranges, thresholds (``>30 years``), quantities with
   units (``12 months``, ``1,200 mg``), statistics (``SD 1.8``, ``I2 = 92%``), ordinals
   (``grade 2``, ``year 4``), years and the digits of names (``COVID-19``, ``T2``) are not
   figures, nor is the first value of a change (``from 1.31 to 0``) or a relative change that
   restates a ratio (``a 16% increase in the risk``), nor a whole number that counts what no
   measure names (``3 relapses``). The rest is written as a percentage, a
   count (``36 patients``, ``3 of the 16 patients``, ``lymphopenia (27)``, ``one serious
   adverse event``), a bare number (a rate, points), a ratio when it follows a ratio term
   (``HR 0.54``, ``odds ratio [OR], 2.8``) or a multiple (``a 2.8-fold increase in the
   risk``, read as the kind of ratio the text reports). A count with its percentage (``41
   (33.6%)``) gives one figure, the percentage. A unit or a percent sign at the end of a
   series applies to all of it (``52.6 and 73.4 vs. 66.9%``, ``at 2 and 4 years``).
2. Ratios. A negative ratio, or one whose interval is symmetric on the additive scale but not
   on the log scale, is a difference mislabelled as a ratio. A ratio whose endpoint (the one it
   names, else its clause) names a not-endpoint cue (adherence, the risk of MS itself) is not an
   outcome. A ratio's value may go on in a series, each with its own interval.
3. Measure. A number takes the nearest term whose measure has a unit that fits how it is
   written. The term is looked for in the number's own clause piece first, then outward: to
   the words a bracket follows and the clause around them. A piece of more than a few words
   that names no measure says something else and ends the search, so ``among whom 5 (71.4%)
   received…`` is not read with the infection named before it, while ``control, 9.83%`` is.
   A term does not give its measure to a number it is the group of (``84% of responders``),
   nor across another figure that makes a statement of its own (``9% had completed …, and
   92% had experienced an AE``). A count is read only with a term close by in its own piece,
   one named before it only through a word of reporting (``was detected in 36 patients``),
   and never with a cohort's definition (``8 patients with PML``).
4. Not outcomes. Negated terms (``no cases of PML``) do not count. A figure right beside a
   baseline cue, in a sentence that describes who was studied (a demographic cue), or read
   with a not-outcome cue (a risk stratum, a screening status, a survey's attitudes) is not
   an outcome. A text that never names the condition reports on no group of it and gives no
   figures; in a text that also names another group (NMOSD, animals), only sentences that
   name the condition count.
5. One entry per result. A figure with the measure, value, unit and event of one given in an
   earlier sentence, at no other time point, is a restatement (the conclusion repeating a result).

A figure's ``text`` is ``input[start:end]``: the number with what belongs to it (its bracket
and the name before it, the people it counts), stretched to its measure term when the term is
close by with no other figure between.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from curemap.model import ResultValue, Study
from curemap.enrich.terms import TermMatcher
from curemap.profile import OUTCOME_CUE_LISTS, WORD, OutcomeMeasure, Profile, Term, term_words

_COPULA = re.compile(r"\b(?:was|were|is|are)\b", re.IGNORECASE)
"""Words that join a term to the figure that follows it ("event-free survival was 65%")."""

_COUNT_BEFORE_SHARE = re.compile(r"\s*n\s*=\s*\d+\s*[,;]\s*", re.IGNORECASE)
"""``(n = 49, 35.5%)``: the count a percentage is written with, inside its bracket."""

_SAME_SUBJECT = re.compile(r"\b(?:and|but)\s+(?:were|was|are|is|had|have|has)\b", re.IGNORECASE)
"""A piece that goes on about the subject before it ("Infections were reported in 33 patients
(23.9%) and were predominantly mild (n = 28, 20.3%)", "… in 33 (23.9%) patients and were …")
does not end the search for its measure."""

_COMPARATOR_PIECE = re.compile(r"\s*(?:compared\s+(?:to|with)|as\s+against|versus|vs\.?)\s", re.IGNORECASE)
"""``…, 20 did so because of adverse events, compared to five out of 22 in the MP group``: a piece
giving the comparator's figure of the measure before it."""
_SHARE_OF = re.compile(r"\b(?:proportions?|percentages?|shares?)\s+of\s+", re.IGNORECASE)
_PEOPLE_REACH = 20
"""Characters between "proportion of" and the people it is a share of, at most."""

_PREDICATE = re.compile(r"\b(?:had|has|have|was|were|is|are)\b", re.IGNORECASE)
"""Words that make a stretch of text a statement of its own."""

_REPORTED = re.compile(
    r"\b(?:occurred|occurring|observed|reported|detected|seen|developed|noted|found|documented|recorded|identified"
    r"|experienced|achieved|presented|attributed)\b",
    re.IGNORECASE,
)
"""Words that make an event named before a count the event counted ("was detected in 36 patients")."""

_SUBJECT_VERB = re.compile(
    r"\s+(?:did|had|were|developed|experienced|showed|required|needed|stopped|discontinued|achieved|remained)\b",
    re.IGNORECASE,
)
"""``20 did so because of adverse events``, ``Fourteen showed …``: a whole number that is the subject
of what people do or have counts people."""
_REASONS = re.compile(r"\breasons?\s+(?:for|of)\b", re.IGNORECASE)
"""``The reasons for discontinuation were …``: the list that follows names causes, not all of them events."""
_EVENT_TO_PEOPLE = 60
_IN_BEFORE = re.compile(r"\bin\s+(?:only\s+)?$", re.IGNORECASE)
"""``two AEs attributed to NAC in one patient``: how far after a count of events the people come."""

_CHANGE_NOUNS = frozenset({"reduction", "decrease", "increase", "improvement"})
"""``90.3% reduction``: a share followed by one of these is a change of what the words before name."""
_NEXT_WORD = re.compile(r"\s*([^\W\d][\w-]*)")
_FUNCTION_WORDS = frozenset(
    """in of on at vs versus and or with for after before during among were was are is had have has respectively
    compared than from to by over within who which that while whereas but each per""".split()
)
"""Words after a percentage that do not name what it is a share of."""

_COUNTED_NOUN = re.compile(r"[ \t]+(?:of\s+(?:the|these|those|all)\s+)?([^\W\d][\w-]*)", re.IGNORECASE)
_POINTS = frozenset({"point", "points"})
"""``1 point``: a whole number of points is not a count of something else."""

_COUNT_REACH = 80
"""Characters between a count and the term that says what it counts, at most."""

_BARE_UNITS = ("per_year", "points")
"""The units a number written without a sign or a count noun can have."""

_MAX_SHORT_WORDS = 4
"""A clause piece of at most this many words (a list item, ``and glatiramer acetate``) lets the
search for its measure go on outward; a longer one is a statement of its own."""

_BESIDE = 25
"""Characters between a baseline cue and the number it qualifies, at most."""

_BESIDE_TERM = 100
"""Characters between a figure and its measure term for the term to join the figure's span."""

_NEGATIONS = frozenset({"no", "not", "without", "none", "never", "neither", "nor"})
_NEGATION_REACH = 3
"""A term is negated by a negation word among the few words before it."""

_CUE_AFTER_CHANGE = re.compile(
    r"\b(?:from|since|relative to|compared (?:with|to)|versus|vs\.?)(?:\s+\w+){0,2}\s*$", re.IGNORECASE
)
"""A baseline cue after these words is the reference of a change, not a baseline value."""

_SMALL_NUMBERS = (
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen"
).split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_NUMBER_WORD = re.compile(
    # the look-ahead at the words' first letters lets a text's other letters be passed over in one
    # test each, not one per word (2.4 times faster over abstracts)
    "(?=[" + "".join(sorted({word[0] for word in _TENS + _SMALL_NUMBERS})) + "])"
    r"\b(?:(?P<tens>" + "|".join(_TENS) + r")(?:[- ](?P<ones>" + "|".join(_SMALL_NUMBERS[:9]) + r"))?"
    r"|(?P<small>" + "|".join(_SMALL_NUMBERS) + r"))\b(?!\s+(?:hundred|thousand|million)|-\w)",
    re.IGNORECASE,
)
_HUNDREDS_BEFORE = re.compile(r"\b(" + "|".join(_SMALL_NUMBERS[:9]) + r")\s+hundred(?:\s+and)?\s+$", re.IGNORECASE)
_NUMBER_WORD_NOT_COUNT = re.compile(r"(?:\bat least|\bmore than|\bless than|\bthan)\s+$", re.IGNORECASE)
"""``at least one adverse event``: a number word that bounds rather than counts."""

_NUMBER = re.compile(
    r"(?P<sign>[-−–]\s?)?(?P<digits>\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d,])|\d+(?:[.·]\d+)?|\.\d+)"
)
"""A number; a raised dot between digits is a decimal point (``0·31``)."""

_STATISTIC = re.compile(
    r"(?:\b(?:p|P|p-value|p value|r|R|r2|R2|rho|I2|I 2|t|F|z|Z|SD|SE|SEM|IQR|ES|SMD|MD|b|B|AUC|ICC|df|n|N"
    r"|coefficient|correlation)|[ρβκχτ]2?)\s*(?:[=<>≤≥:,]\s*)*[(\[]?\s*$"
)
_THRESHOLD = re.compile(
    r"(?:[<>≤≥⩽⩾]|=<|>=|<=|\bat least|\bmore than|\bless than|\bgreater than|\bfewer than|\bup to)\s*$",
    re.IGNORECASE,
)
_SCIENTIFIC = re.compile(r"[×x]\s*10\s*$|^\s*[×x]\s*10\b")
_UNIT = re.compile(
    r"^\s*-?\s*(?:years?|yrs?|months?|mos?|weeks?|wks?|days?|hours?|hrs?|h|minutes?|mins?|seconds?|sec"
    r"|mg|g|kg|µg|μg|mcg|ng|pg|ml|mL|dl|dL|l|L|IU|mmol|µmol|μmol|nmol|µm|μm|mm|cm|m|Tesla|T|times|fold"
    r"|°C|doses?|infusions?|cycles?|courses?|sessions?|visits?)(?![\w-])"
)
_FOLD = re.compile(
    r"\s*-?\s*fold\s+(?:(?:higher|greater|increased?|lower|reduced|decreased?)\s+)?(?:in\s+(?:the\s+)?)?"
    r"(?:risk|hazard|odds|likelihood|rate)\b",
    re.IGNORECASE,
)
"""``2.8-fold increase in the risk``: a ratio written as a multiple."""
_COMPOUND = re.compile(r"^-[^\W\d_]")
"""``6-month``, ``2.8-fold``, ``1-to-1``: a number that is part of an adjective."""
_PER = re.compile(r"^\s*%?\s*per\s*\d", re.IGNORECASE)
_CONFIDENCE_LEVEL = re.compile(r"^\s*%\s*(?:CI\b|C\.I\.|CrI\b|confidence|credible|prediction)", re.IGNORECASE)
_PERCENT = re.compile(r"^\s*(?:%|percent\b|per\s?cent\b)", re.IGNORECASE)
_RATIO_NOTATION = re.compile(r"^\s*:\s*\d")
_FRACTION = re.compile(r"^\s*/\s*(\d+)(?![\d/.,]\d)")
_OF_TOTAL = re.compile(r"^\s+(?:out\s+)?of\s+(?:the\s+|these\s+|all\s+)?(\d+)(?![\d.])")
_OF_GAP = re.compile(r"^\s+(?:out\s+)?of\s+(?:the\s+|these\s+|all\s+)?$", re.IGNORECASE)
_RANGE_NEXT = re.compile(r"^\s*%?\s*(?:-|–|−|to)\s*[-−]?\s*\.?\d")
_ORDINAL = re.compile(
    r"\b(?:grade|type|stage|phase|class|version|day|week|month|year|cycle|step|level|score|wave|visit|dose|arm"
    r"|group|cohort|panel|tier|model|figure|table|per)\s*$",
    re.IGNORECASE,
)
"""``grade 2``, ``year 4``, ``per 1 SD``: a number that names or divides, not one that counts."""
_RELATIVE_CHANGE = re.compile(
    r"^\s*%\s+(?:relative\s+)?(?:increase[sd]?|reduction|reduced|decrease[sd]?|lower|higher|greater)\s+"
    r"(?:in\s+(?:the\s+)?)?(?:risk|odds|hazard|likelihood)\b",
    re.IGNORECASE,
)
"""``16% increase in the risk``: a ratio restated as a relative change."""
_RELATIVE_RISK = re.compile(
    r"\b(?:increased|enhanced|higher|greater|excess|reduced|lower|decreased)\s+(?:\w+\s+)?"
    r"(?:risk|odds|hazard|likelihood)\b",
    re.IGNORECASE,
)
"""``an enhanced risk of death … of approximately 30%``: a percentage that is a relative change."""
_RISK_REDUCED_BY = re.compile(r"\b(?:risk|odds|hazard|likelihood)\s+of\b[^;]{0,80}?\bby\b", re.IGNORECASE)
"""``reduced … risk of relapse by 54% and 57%``: a percentage that is a relative change of a risk."""
_DENOMINATOR = re.compile(r"\b(?:among|of|including|included|enrolled|recruited)\s*$", re.IGNORECASE)
"""``among 256 participants``, ``a cohort of 170 patients``: a number that says who was studied."""
_RANGING = re.compile(r"\b(?:rang\w*|var\w*)\s+from\s*$", re.IGNORECASE)
_BETWEEN = re.compile(r"\bbetween\s*$", re.IGNORECASE)
_FROM = re.compile(r"\bfrom\s*$", re.IGNORECASE)
_CONFIDENCE = re.compile(
    r"\b(?:95\s*%\s*)?(?:CI|C\.I\.|CrI|confidence interval|credible interval)\b(?:\s*95\s*%)?|\bIC\s*95\s*%",
    re.IGNORECASE,
)
"""An interval's label, in either order ("95% CI", "CI 95%", and "IC 95%" as Romance languages write it)."""
_LEVEL_AFTER_LABEL = re.compile(r"\b(?:CI|IC)\s*$")
"""``IC 95% 0.026 - 0.074``: the 95 after an interval's label is its level, not a figure."""
_INTERVAL_GAP = re.compile(r"^(?:\s*[(\[][^()\[\]]{0,12}[)\]])?\s*(?:[=:,]\s*)?$")
_SERIES_GAP = re.compile(r"^\s*%?\s*(?:,\s*(?:and\s+|or\s+)?|and|or|vs\.?|versus)\s*$", re.IGNORECASE)
_COUNT_THEN_PERCENT = re.compile(r"^\s*(?:[^\W\d][\w-]*\s+){0,2}[(\[]\s*$")
_COUNT_RESTATED = re.compile(
    r"\s+(?:[^\W\d][\w-]*\s+){0,3}[(\[]\s*n\s*=\s*(\d+)\s*[;,]\s*\d+(?:[.·]\d+)?\s*%", re.IGNORECASE
)
"""``three cases of hypertension (n = 3; 2.2%)``: a count its bracket restates with its share."""
_LIST_ITEM = re.compile(r"[^\W\d_][^\W_]*\s*\(\s*$")

_RATIO_GAP = re.compile(
    r"(?:\s+[A-Z][A-Z0-9+/-]+(?![\w+/-])){0,2}(?:\s*[(\[][^()\[\]]{0,40}[)\]])*"
    r"(?:\s+and\s+(?:the\s+|its\s+)?(?:95\s*%\s*)?(?:CI|confidence interval))?"
    r"(?:\s+(?:for|of)\s+(?:[^\d,;:()\[\]=<>]|\d(?=[^\W\d_])){3,120}?\s+(?=was\b|is\b|were\b|of\b|=))?"
    r"\s*(?:(?:[=:,≈~]|of|was|is|were)\s*)*(?=[-−]?\.?\d)"
)
"""What may stand between a ratio term and its value: ``(HR) of``, ``[OR], ``, ``(95% CI): ``,
``(OR) and the 95% CI … were``,
a model's name in capitals (``HR DBP+OLE [95%CI]: ``), what it is for or of (``the hazard ratio
for EDSS deterioration in the CPM in comparison with the MP group was``, ``the adjusted hazard
ratio of progression was``; a digit only inside a name, ``IFN beta-1a``)."""

_SENTENCE_END = re.compile(r"[.!?](?=\s+[(\[]?[A-Z0-9])|\s(?=[A-Z][A-Z /&-]{2,}:\s)|\n\s*\n")
_ABBREVIATION = re.compile(r"\b(?:vs|e\.g|i\.e|al|approx|Fig|ca|cf|No|Dr|St|resp|incl)\.$", re.IGNORECASE)

_TIMEPOINT = re.compile(
    r"\b(?:at|after|over|in|by|within|during|through)\s+(?:the\s+)?(?:first\s+|last\s+)?(?:approximately\s+)?"
    r"(?:(?:year|month|week|day)\s+\d+|\d+(?:\.\d+)?(?:\s*(?:,|and|or)\s*\d+(?:\.\d+)?)*[\s-]*"
    r"(?:years?|months?|weeks?|days?)(?:'s?)?(?:\s+(?:of\s+)?(?:follow-up|treatment))?)",
    re.IGNORECASE,
)
_GROUP_PHRASE = re.compile(
    r"\b(?:in|of) the ([^\W\d][^,;()\[\]]{0,50}?) (?:group|arm|cohort)\b"
    r"|\b(?:receiving|treated with|on) ([^\W\d][\w/-]*)",
    re.IGNORECASE,
)
_ARM_WORD = re.compile(r"\b(?:groups?|arms?|cohorts?)\b", re.IGNORECASE)
_JOINS_LIST = re.compile(r"[\s,]*(?:and|or)\b", re.IGNORECASE)
_LIST_JOINER = re.compile(r"^(?:and|or|vs\.?|versus)\s+|\s+(?:and|or|vs\.?|versus)$", re.IGNORECASE)
_LABEL_STOP = frozenset(
    "were was are is had has have including included and or as follows with vs versus".split()
)
_ENDPOINT = re.compile(
    r"\b(?:(?:risk|odds|hazard|likelihood|probability|rate|time)\s+(?:of|to|for)|likely\s+(?:not\s+)?to)"
    r"\s+([^,;()\[\]]{3,60}?)"
    r"\s*(?=[(\[,;.]|\s(?:compared|versus|vs|than|when|after|among|were|was|is|are|in|at|by|with)\b|$)",
    re.IGNORECASE,
)
_RATIO_SERIES_GAP = re.compile(r"\s*[(\[][^()\[\]]*[)\]]\s*(?:for\s+[^,;()\[\]]{1,60}?\s*)?,?\s*(?:and|or)\s+")
_OWN_INTERVAL = re.compile(r"\s*[(\[]\s*[-−]?\d")
"""A ratio series' next value: after the previous one's interval (and what it is for), "and",
then a value with an interval of its own."""
_LIKELY = re.compile(r"\blikely\s*$", re.IGNORECASE)
_ENDPOINT_AFTER = re.compile(
    r"\s*(?:not\s+)?to\s+([^,;()\[\]]{3,60}?)\s*(?=[(\[,;.]|\s(?:than|when|after|compared|versus|vs)\b|$)"
)
"""``2.7 times less likely (HR = 0.37 …) to experience disability progression``: the endpoint after the bracket."""
_RATIO_FOR = re.compile(
    r"\s+(?:for|of)\s+([^,;()\[\]\d=<>]{3,60}?)\s+(?=(?:in|among|between|was|is|were|of|compared|versus|vs)\b|=)",
    re.IGNORECASE,
)
"""``the hazard ratio for EDSS deterioration in …``, ``… ratio of progression was``: the endpoint
named right after a ratio term."""
_MODIFIER = re.compile(r"-?\s?related\b", re.IGNORECASE)
"""``COVID-19-related restrictions``: a term used as a modifier names something else."""
_PEOPLE = re.compile(r"\s+(?:of\s+(?:the\s+)?)?(?:[^\W\d][\w-]*\s+)?", re.IGNORECASE)
"""What may stand between a figure and the people it is of: ``of patients``, ``RRMS patients``."""


@dataclass
class Figure:
    """One outcome figure: its measure, the value as written, and where it was read."""

    measure: str
    value: float  # as written: 54 for 54 %
    unit: str  # percent | per_year | points | count | ratio
    n: int | None  # the size of the group it describes, when stated beside it
    timepoint: str | None  # as written
    group: str | None  # the arm or subgroup; for a ratio, the comparison
    event: str | None  # the named adverse event or ratio endpoint
    text: str  # the words it was read from: input[start:end]
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Mention:
    """A profile term found in the text: a measure (``label`` its id) or a cue list's word."""

    label: str
    start: int
    end: int
    negated: bool = False


@dataclass
class _Number:
    """A number in the text and how it is written; ``kind`` None when it is not a figure."""

    start: int
    end: int  # of the number itself
    value: float
    decimals: int
    kind: str | None  # "percent" | "count" | "bare" | "fold" (a ratio as a multiple) | None
    stop: int = 0  # end of what belongs to it: the % sign, a fraction's total
    n: int | None = None
    word: bool = False  # written as a word ("one")
    listed: bool = False  # a count in brackets after a list item: "lymphopenia (27)"
    pre_value: bool = False  # the first value of a change ("from 1.31")
    total: bool = False  # the N of "k of N": the group k is counted in
    total_end: int = 0  # for k of "k of N": where its N ends


# -- finding profile terms ---------------------------------------------------------------


def _mentions(terms: TermMatcher[tuple[str, bool]], text: str) -> list[_Mention]:
    """The profile terms in ``text`` by position (:meth:`TermMatcher.find`), less those used as a
    modifier ("COVID-19-related restrictions" names something else), each flagged when negated.
    A term's key is its label and whether it is itself a negation ("no evidence of disease
    activity"), which no negation word before it undoes."""
    words: list[re.Match[str]] | None = None
    found = []
    for match in terms.find(text):
        label, negative = match.key
        if match.word is None:
            found.append(_Mention(label, match.start, match.end))
        elif not _MODIFIER.match(text, match.end):
            negated = False
            if not negative:
                words = words if words is not None else list(WORD.finditer(text))
                negated = _negated(words, match.word)
            found.append(_Mention(label, match.start, match.end, negated))
    return found


def _negated(words: list[re.Match[str]], index: int) -> bool:
    """Whether a negation word stands among the few words before ``index`` in the same clause."""
    for back in range(index - 1, max(-1, index - 1 - _NEGATION_REACH), -1):
        between = words[back].string[words[back].end() : words[back + 1].start()]
        if any(mark in between for mark in ",;:()[]."):
            return False
        if words[back].group().lower() in _NEGATIONS:
            return True
    return False


# -- reading numbers ---------------------------------------------------------------------


_CHANGED_TO = re.compile(
    r"\b(?:improved|increased|decreased|declined|rose|fell|dropped|changed)\s*[(\[]\s*$", re.IGNORECASE
)
"""``RFR improved (33.00%-86.35%``: a change written as its two ends; the second is the result."""
_DEFINED = re.compile(r"(?:\s+[^\W\d][\w-]*){0,2}\s*\(([A-Z][A-Za-z0-9]{1,9})\)")
"""``relapse-free rate (RFR)``: the abbreviation a text gives a term (and the word or two ending it)."""
_NAMED_IN_BRACKET = re.compile(r"\([A-Z][A-Za-z0-9]*[A-Z]\)$")
"""``no evidence of disease activity (NEDA)-3``: an abbreviation in brackets the number's hyphen joins."""


def _read_numbers(text: str) -> list[_Number]:
    """Every number in the text with how it is written; those that cannot be figures get kind None."""
    numbers: list[_Number] = []
    for match in _NUMBER.finditer(text):
        start, digits = match.start(), match.group("digits").replace("·", ".")
        sign = match.group("sign")
        if sign:
            before_sign = text[start - 1] if start else " "
            if before_sign.isalnum() or before_sign in "%)]":
                if before_sign.isalpha() or _NAMED_IN_BRACKET.search(text, 0, start):
                    continue  # COVID-19, NEDA-3, IL-10, "(NEDA)-3": part of a name
                sign, start = None, match.start("digits")
        before = text[start - 1] if start else " "
        after = text[match.end()] if match.end() < len(text) else " "
        if (before.isalnum() or before in "._/·") or after.isalpha() or after in "_(":
            continue
        value = float(digits.replace(",", "")) * (-1 if sign else 1)
        number = _Number(start, match.end(), value, len(digits.split(".")[1]) if "." in digits else 0, "bare")
        number.stop = number.end
        _classify(text, number)
        numbers.append(number)
    numbers += _number_words(text, numbers)
    numbers.sort(key=lambda number: number.start)
    _link_neighbours(text, numbers)
    return numbers


def _classify(text: str, number: _Number) -> None:
    """Set how one number is written from the words right around it."""
    pre, post = text[max(0, number.start - 24) : number.start], text[number.end : number.end + 30]
    fold = _FOLD.match(text, number.end, number.end + 50)
    if fold:
        number.kind, number.stop = "fold", fold.end()
        return
    if (
        _STATISTIC.search(pre)
        or _LEVEL_AFTER_LABEL.search(pre)
        or _THRESHOLD.search(pre)
        or _SCIENTIFIC.search(pre)
        or _SCIENTIFIC.search(post)
        or _CONFIDENCE_LEVEL.match(post)
        or _RATIO_NOTATION.match(post)
        or _PER.match(post)
        or _COMPOUND.match(post)
        or _UNIT.match(post)
        or _BETWEEN.search(pre)
        or _ORDINAL.search(pre)
        or _RELATIVE_CHANGE.match(post)
    ):
        number.kind = None
        return
    if _FROM.search(pre) and not _RANGING.search(pre):
        number.kind, number.pre_value = None, True
        return
    percent = _PERCENT.match(post)
    if percent:
        number.kind, number.stop = "percent", number.end + percent.end()
        total = _OF_TOTAL.match(post[percent.end() :])
        if total:
            number.n, number.stop = int(total.group(1)), number.stop + total.end()
        return
    whole = number.decimals == 0 and number.value >= 0
    if whole and 1900 <= number.value <= 2100:
        number.kind = None  # a year
        return
    fraction = _FRACTION.match(post) if whole else None
    if fraction and int(fraction.group(1)) >= number.value:
        number.kind, number.n, number.stop = "count", int(fraction.group(1)), number.end + fraction.end()
        return
    if whole and _LIST_ITEM.search(pre) and re.match(r"^\s*\)", post):
        number.kind, number.listed = "count", True


def _number_words(text: str, numbers: list[_Number]) -> list[_Number]:
    """Counts written as words (``One patient``); whether they count people is decided later."""
    taken = {(number.start, number.end) for number in numbers}
    found = []
    for match in _NUMBER_WORD.finditer(text):
        if (match.start(), match.end()) in taken or _NUMBER_WORD_NOT_COUNT.search(text[: match.start()][-20:]):
            continue
        if _UNIT.match(text[match.end() : match.end() + 30]):
            continue  # "for three weeks": a quantity with its unit
        if match.group("small"):
            value = _SMALL_NUMBERS.index(match.group("small").lower()) + 1
        else:
            value = 20 + 10 * _TENS.index(match.group("tens").lower())
            if match.group("ones"):
                value += _SMALL_NUMBERS.index(match.group("ones").lower()) + 1
        start = match.start()
        hundreds = _HUNDREDS_BEFORE.search(text, max(0, start - 30), start)
        if hundreds:  # "One hundred and thirty seven"
            value += 100 * (_SMALL_NUMBERS.index(hundreds.group(1).lower()) + 1)
            start = hundreds.start()
        found.append(_Number(start, match.end(), float(value), 0, "count", match.end(), word=True))
    return found


def _link_neighbours(text: str, numbers: list[_Number]) -> None:
    """Rules that need the next number: ranges, confidence limits, fractions' totals, a count with
    its percentage, and the unit or percent sign a series shares."""
    for number, following in zip(numbers, numbers[1:]):
        whole = number.decimals == following.decimals == 0 and 0 <= number.value <= following.value
        if number.kind in ("bare", "count") and whole and _OF_GAP.match(text[number.end : following.start]):
            number.kind, number.n, number.stop = "count", int(following.value), following.end
            number.total_end = following.end
        if following.start < number.stop:  # the total of a fraction or "k of N"
            following.kind, following.total = None, True
    counted = [number for number in numbers if not number.total]
    for number, following in zip(counted, counted[1:]):
        if number.kind is None:
            continue
        gap = text[number.stop : following.start]
        if _RANGE_NEXT.match(text[number.end : following.end]) and not re.search(r"[;,]", gap):
            if _CHANGED_TO.search(text, max(0, number.start - 30), number.start):
                number.kind, number.pre_value = None, True  # "RFR improved (33.00%-86.35%": from, then to
            else:
                number.kind = following.kind = None
        elif (
            number.kind in ("count", "bare")
            and number.decimals == 0
            and following.kind == "percent"
            and _COUNT_THEN_PERCENT.match(gap)
        ):
            number.kind = None  # "41 (33.6%)": the percentage is the figure
            following.n = following.n or number.n
    for number in numbers:
        restated = _COUNT_RESTATED.match(text, number.stop)
        if number.kind in ("count", "bare") and restated and int(restated.group(1)) == number.value:
            number.kind = None  # "three cases of hypertension (n = 3; 2.2%)": the share is the figure
    for confidence in _CONFIDENCE.finditer(text):
        limits = [number for number in numbers if confidence.end() <= number.start < confidence.end() + 30]
        for limit in limits[:2]:
            if _INTERVAL_GAP.match(text[confidence.end() : limit.start]) or limit is not limits[0]:
                limit.kind = None
    for series in _series(text, numbers):
        last = series[-1]
        if last.kind is None and not last.pre_value and _UNIT.match(text[last.end : last.end + 30]):
            for number in series:
                number.kind = None
        elif last.kind == "percent":
            for number in series:
                if number.kind == "bare":
                    number.kind = "percent"


def _series(text: str, numbers: list[_Number]) -> Iterator[list[_Number]]:
    """Runs of numbers joined only by ``,``, ``and``, ``or``, ``vs``: ``52.6 and 73.4 vs. 66.9%``."""
    run: list[_Number] = []
    for number in numbers:
        if number.word:
            continue
        if run and _SERIES_GAP.match(text[run[-1].end : number.start]):
            run.append(number)
            continue
        if len(run) > 1:
            yield run
        run = [number]
    if len(run) > 1:
        yield run


def _one_of_several_arms(text: str, figure: Figure, figures: list[Figure]) -> bool:
    """Whether a figure is one arm's or subgroup's: its sentence gives another figure of the same
    measure and event ("0.21 vs 0.26"), so the whole cohort is not its denominator."""
    if figure.unit == "ratio":
        return False
    sentence = next((a, b) for a, b in _sentences(text) if a <= figure.start < b)
    return any(
        other is not figure and result_key(other)[::3] == result_key(figure)[::3] and sentence[0] <= other.start < sentence[1]
        for other in figures
    )


def _cohort_size(text: str, mentions: list[_Mention], numbers: list[_Number], before: int) -> int | None:
    """How many people the text reports on, as it states before its first figure: the last count
    of people (``60 MS patients``) that follows "of"/"among" or stands in a sentence that enrols
    (included, randomised, analysed …); not a share of them (``996 patients (61.5%)``), a bound
    (``over 100 participants``) or a handful (under 10)."""
    people = [m.start for m in mentions if m.label == ":subjects"]
    found = None
    for number in numbers:
        if number.start >= before:
            break
        if number.decimals or number.value < _MIN_COHORT or 1900 <= number.value <= 2100 or number.total:
            continue
        if _THRESHOLD.search(text, max(0, number.start - 24), number.start):
            continue
        words = _PEOPLE_AFTER.match(text, number.end)
        reach = words.end() if words else number.end
        if not any(number.end < start <= reach + 1 for start in people) or _SHARE_AFTER.match(text, reach):
            continue
        sentence = next((a, b) for a, b in _sentences(text) if a <= number.start < b)
        if _OF_PEOPLE.search(text, max(0, number.start - 40), number.start) or _ENROLS.search(text, *sentence):
            found = int(number.value)
    return found


_COUNT_WITH_SHARE = re.compile(
    r"(?<![\d/.,])(?<!of )(\d[\d,]*)(?:\s*/\s*\d[\d,]*|\s+(?:out\s+)?of\s+\d[\d,]*)?\s*(?:[^\W\d][\w-]*\s+){0,2}[(\[]\s*\d+(?:\.\d+)?\s*%"
)
"""A count written with its share: ``14 (29.2%)``, ``58 participants (84.1%)``, ``47 out of 55 (86%)``."""


def stated_count(words: str | None, n: int | None = None) -> int | None:
    """The count a share's words state with it, if they do; not ``n`` itself (words that begin
    at the denominator, "57 (42.1%)" of "24 out of 57 (42.1%)", state no count)."""
    stated = _COUNT_WITH_SHARE.search(words or "")
    count = int(stated.group(1).replace(",", "")) if stated else None
    return None if count == n else count


def share_fits(words: str | None, value: float, unit: str, n: int | None) -> bool:
    """Whether a share can be of ``n`` people: one written with its own count ("14 (29.2%)
    achieved NEDA", of 48 with complete data, in a cohort of 71) is that count's share of its
    denominator, so ``n`` fits only when the count is that share of it (to a point of rounding)."""
    if n is None or n <= 0 or unit != "percent":
        return True
    stated = stated_count(words, n)
    return stated is None or abs(100 * stated / n - value) <= 1.0


_MIN_COHORT = 10
_PEOPLE_AFTER = re.compile(r"\s+(?:[^\W\d][\w-]*\s+){0,3}")
"""Up to three words between a count and the people it counts: ``60 MS patients``, ``174 PS-matched patients``."""
_SHARE_AFTER = re.compile(r"\s*[(\[]\s*\d+(?:\.\d+)?\s*%")
_OF_PEOPLE = re.compile(r"(?:\bof|\bamong|\b(?:study|trial|analysis|cohort|sample)\s+(?:on|in|of))\s*$", re.IGNORECASE)
_ENROLS = re.compile(
    r"\b(?:included|enrolled|recruited|randomi[sz]ed|total of|cohort of|sample of|analy[sz]ed|participated|evaluated"
    r"|involving|completed|took part)\b",
    re.IGNORECASE,
)
"""Words of a sentence that says who was studied."""


# -- sentences and their clause structure -------------------------------------------------


def _sentences(text: str) -> Iterator[tuple[int, int]]:
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if match.group().startswith(".") and _ABBREVIATION.search(text[max(0, match.start() - 8) : match.end()]):
            continue
        yield start, match.end()
        start = match.end()
    yield start, len(text)


_ENDS_WITH_NUMBER = re.compile(r"(?<![\w.-])\d[\d.,/]*\s*%?\s*$")
_STARTS_WITH_NUMBER = re.compile(r"\s*(?:and\s+|or\s+)?[≥≤<>]?[-−]?\.?\d")
"""Text ending with or starting with a number: a comma between them joins a series."""


class _Clauses:
    """The bracket structure of one sentence, and the pieces a number's measure is looked for in."""

    def __init__(self, text: str, start: int, end: int):
        self.text, self.start, self.end = text, start, end
        self.depth: dict[int, int] = {}
        self.closing: dict[int, int] = {}
        opened: list[int] = []
        for position in range(start, end):
            char = text[position]
            if char in "([":
                self.depth[position] = len(opened)
                opened.append(position)
                continue
            if char in ")]" and opened:
                self.closing[opened.pop()] = position
                self.depth[position] = len(opened)
                continue
            self.depth[position] = len(opened)
        for position in opened:  # a bracket the text never closes ends with the sentence
            self.closing[position] = end

    def enclosing(self, position: int) -> list[tuple[int, int]]:
        """The brackets around a position, innermost first."""
        return sorted(
            ((o, c) for o, c in self.closing.items() if o < position < c), key=lambda pair: pair[0], reverse=True
        )

    def piece(self, position: int, separators: str, low: int, high: int) -> tuple[int, int]:
        """The stretch around ``position`` between separators at its own bracket depth (only the
        separator characters are looked at: the rest of a sentence cannot end it)."""
        depth, text = self.depth[position], self.text
        left = position
        while left > low:
            mark = max(text.rfind(separator, low, left) for separator in separators)
            if mark < low:
                left = low
            elif self._separates(mark, separators, depth):
                left = mark + 1
                break
            else:
                left = mark
        right = position
        while right < high:
            mark = min((found for separator in separators if (found := text.find(separator, right, high)) >= 0), default=high)
            if mark < high and self._separates(mark, separators, depth):
                right = mark
                break
            right = mark + 1 if mark < high else high
        return left, right

    def _separates(self, position: int, separators: str, depth: int) -> bool:
        """A separator at this depth; the commas of a series of numbers (``83, 78, and 73%``) are not."""
        if self.text[position] not in separators or self.depth[position] != depth:
            return False
        return not (
            self.text[position] == ","
            and _ENDS_WITH_NUMBER.search(self.text, max(0, position - 12), position)
            and _STARTS_WITH_NUMBER.match(self.text, position + 1)
        )

    def head(self, bracket: int, low: int) -> tuple[int, int]:
        """The words a bracket follows, back to the previous separator or bracket at its depth;
        a bracket right after a number (``1101/1203 (92%)``) annotates that number alone."""
        number = _ENDS_WITH_NUMBER.search(self.text, max(low, bracket - 20), bracket)
        if number:
            return number.start(), bracket
        depth = self.depth[bracket]
        left = bracket
        while left > low and not (
            self._separates(left - 1, ",;", depth) or (self.text[left - 1] in ")]" and self.depth[left - 1] == depth)
        ):
            left -= 1
        return left, bracket

    def scopes(self, position: int) -> Iterator[tuple[int, int]]:
        """Where to look for a number's measure, nearest first: its own piece, its clause, then
        for each bracket around it the words the bracket follows and the piece around them."""
        brackets = self.enclosing(position)
        bounds = [(o + 1, c) for o, c in brackets] + [(self.start, self.end)]
        yield self.piece(position, ",;", *bounds[0])
        yield self.piece(position, ";", *bounds[0])
        for (opening, _), (low, high) in zip(brackets, bounds[1:]):
            yield self.head(opening, low)
            yield self.piece(opening, ",;", low, high)
            yield self.piece(opening, ";", low, high)

    def words(self, span: tuple[int, int]) -> int:
        """Words of letters in a stretch at its own depth (bracketed asides not counted)."""
        left, right = span
        depth = min((self.depth[p] for p in range(left, right) if not self.text[p].isspace()), default=0)
        return sum(
            1
            for word in WORD.finditer(self.text, left, right)
            if self.depth[word.start()] == depth and not word.group()[0].isdigit()
        )


# -- the extractor -----------------------------------------------------------------------


class OutcomeExtractor:
    """Reads outcome figures from text and from registry results, with the profile's vocabulary."""

    def __init__(self, profile: Profile):
        self.profile = profile
        self.measures: dict[str, OutcomeMeasure] = {measure.id: measure for measure in profile.outcome_measures}
        self.ratio_measures = frozenset(m.id for m in profile.outcome_measures if m.units == ("ratio",))
        cues = profile.outcome_cues
        labelled: list[tuple[str, Term]] = [(m.id, t) for m in profile.outcome_measures for t in m.terms]
        for name in OUTCOME_CUE_LISTS:
            labelled += [(f":{name}", term) for term in getattr(cues, name)]
        labelled += [(":other_groups", t) for nc in profile.condition.not_conditions for t in nc.terms]
        labelled += [(":condition", term) for term in profile.condition.terms]
        self._terms = TermMatcher(
            ((label, not term.regex and term_words(term.text)[0].lower() in _NEGATIONS), term)
            for label, term in labelled
        )

    # -- text --------------------------------------------------------------------------

    def extract(self, text: str, *, about_condition: bool = False) -> list[Figure]:
        """Every outcome figure in ``text``, in text order; each one's ``text`` is ``text[start:end]``.
        ``about_condition``: the text is a part of a paper that names the condition elsewhere (a
        full text's results section), so it need not name it itself."""
        mentions = self._with_abbreviations(text, _mentions(self._terms, text))
        named = {mention.label for mention in mentions}
        if ":condition" not in named and not about_condition:
            return []
        names_other_group = ":other_groups" in named
        numbers = _read_numbers(text)
        # a ratio written as a multiple ("2.8-fold risk") is of the kind the text reports
        multiple_of = next((m.label for m in mentions if m.label in self.ratio_measures and not m.negated), None)
        figures: list[Figure] = []
        for start, end in _sentences(text):
            inside = [m for m in mentions if start <= m.start < end]
            condition = [m for m in inside if m.label == ":condition" and not _counted_item(text, m)]
            if names_other_group and not condition:
                continue
            sentence = _Sentence(self, text, start, end, inside, [n for n in numbers if start <= n.start < end])
            describes_people = any(m.label == ":demographics" and not _group_with_figure(text, m) for m in inside)
            found = sentence.figures(describes_people=describes_people, multiple_of=multiple_of)
            figures += [figure for figure in found if not any(restates(figure, earlier) for earlier in figures)]
        if figures:
            cohort = _cohort_size(text, mentions, numbers, figures[0].start)
            for figure in figures:
                if figure.n is None and not _one_of_several_arms(text, figure, figures) and share_fits(figure.text, figure.value, figure.unit, cohort):
                    figure.n = cohort
        return figures

    def _with_abbreviations(self, text: str, mentions: list[_Mention]) -> list[_Mention]:
        """The mentions, and each later use of an abbreviation a text defines for a measure
        ("relapse-free rate (RFR) … RFR improved"), as that measure's."""
        added = []
        for mention in mentions:
            defined = _DEFINED.match(text, mention.end)
            if mention.label not in self.measures or mention.negated or defined is None:
                continue
            for use in re.finditer(rf"(?<![\w-]){re.escape(defined.group(1))}(?![\w-])", text[defined.end() :]):
                start, end = defined.end() + use.start(), defined.end() + use.end()
                if not any(m.start < end and start < m.end for m in mentions + added):
                    added.append(_Mention(mention.label, start, end))
        return sorted(mentions + added, key=lambda m: m.start) if added else mentions

    def names_condition(self, text: str) -> bool:
        """Whether a text names the condition (a paper's title and abstract)."""
        return any(mention.label == ":condition" for mention in _mentions(self._terms, text))

    def fits(self, measure: str, unit: str) -> bool:
        """Whether a measure takes a number written as ``unit`` ("bare": a rate or points)."""
        units = self.measures[measure].units
        return unit in units or (unit == "bare" and any(u in _BARE_UNITS for u in units))

    # -- registry results --------------------------------------------------------------

    def extract_results(self, study: Study) -> list[Figure]:
        """Figures from a registry results section: each posted value whose outcome title names a
        measure that takes the value's unit. A figure's ``text`` is :func:`result_text` of its row,
        whole (``start`` 0, ``end`` its length)."""
        figures = []
        for row in study.result_values:
            unit = _result_unit(row)
            value = _float(row.value)
            if unit is None or value is None:
                continue
            mentions = [
                m for m in _mentions(self._terms, row.outcome_title) if m.label in self.measures and not m.negated
            ]
            measure = next((m for m in mentions if self.fits(m.label, unit)), None)
            if measure is None:
                continue
            line = result_text(row)
            event = row.outcome_title[measure.start : measure.end] if self.measures[measure.label].event else None
            figures.append(
                Figure(
                    measure=measure.label,
                    value=value,
                    unit=unit,
                    n=row.denominator,
                    timepoint=row.time_frame,
                    group=row.group_title,
                    event=event,
                    text=line,
                    start=0,
                    end=len(line),
                )
            )
        return figures


_HEADING = re.compile(r"\s*[A-Z][A-Z /&-]{2,}:\s+")
"""A structured abstract's section heading ("RESULTS: ") that opens a sentence."""

_LONG_CLAUSE = 350
"""A sentence longer than this is quoted by the ``;`` piece that holds the figure."""


def clause_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Where the words that state a figure on their own lie: the sentence around ``text[start:end]``
    less a section heading that opens it, or, in a long sentence, its ``;`` piece that holds the
    figure. Always contains ``start:end``."""
    low, high = next(((a, b) for a, b in _sentences(text) if a <= start < b), (0, len(text)))
    heading = _HEADING.match(text, low, high)
    if heading and heading.end() <= start:
        low = heading.end()
    if high - low > _LONG_CLAUSE:
        piece = _Clauses(text, low, high).piece(start, ";", low, high)
        low, high = min(piece[0], start), max(piece[1], end)
    low, high = _trimmed(text, low, max(high, end))
    return min(low, start), max(high, end)


def statement(measure: OutcomeMeasure, figure: dict[str, Any]) -> str:
    """A figure as a sentence a person can follow, from its measure's ``says`` words and its own
    fields: "54% of 120 had no evidence of disease activity (ocrelizumab), at 2 years." """
    value = f"{figure['value']:g}"
    share = f"{value}%" if figure["unit"] == "percent" else value
    if figure.get("n"):
        share += f" of {figure['n']:,}"
    event = figure.get("event") or ("the endpoint" if figure["unit"] == "ratio" else "an adverse event")
    if event[1:2].islower():  # "Infections" opening its sentence, not an acronym
        event = event[:1].lower() + event[1:]
    words = measure.says.format(share=share, value=value, event=event)
    group = figure.get("group") or figure.get("group_label")
    if group:
        words += f" ({group})"
    if figure.get("timepoint"):
        timepoint = figure["timepoint"]
        words += ", " + (timepoint[:1].lower() + timepoint[1:] if timepoint[1:2].islower() else timepoint)
    return words[:1].upper() + words[1:] + "."


def result_key(figure: Figure) -> tuple:
    """What makes two figures the same result: a later sentence repeating it is a restatement."""
    return figure.measure, figure.value, figure.unit, (figure.event or "").lower()


def restates(figure: Figure, earlier: Figure) -> bool:
    """Whether a figure repeats an earlier one: the same result (:func:`result_key`), not one of
    another time point ("OR 0.72 at week 96" and "OR 0.72 at week 144" are two results)."""
    if result_key(figure) != result_key(earlier):
        return False
    return not (figure.timepoint and earlier.timepoint and figure.timepoint.lower() != earlier.timepoint.lower())


def result_text(row: ResultValue) -> str:
    """The line a registry figure is quoted from: outcome title, group and value with its unit."""
    group = f" [{row.group_title}]" if row.group_title else ""
    return f"{row.outcome_title}{group}: {row.value} {row.unit or ''}".rstrip()


def _result_unit(row: ResultValue) -> str | None:
    """The vocabulary unit of a posted value, from the registry's unit and parameter type."""
    unit = (row.unit or "").lower()
    if "change" in unit:
        return None  # a percent change is not a share
    if (row.param_type or "").upper() == "COUNT_OF_PARTICIPANTS" or unit in {"participants", "subjects", "patients"}:
        return "count"
    if "percent" in unit or "%" in unit:
        return "percent"
    if re.search(r"\bper (?:year|participant[- ]year|patient[- ]year|person[- ]year)|annuali[sz]ed", unit):
        return "per_year"
    if "ratio" in unit:
        return "ratio"
    if "on a scale" in unit or "points" in unit:
        return "points"
    return None


def _float(value: str | None) -> float | None:
    """A posted value as a number; None for "NA" and other non-numbers."""
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


# -- one sentence ------------------------------------------------------------------------


@dataclass
class _Sentence:
    """One sentence being read: its terms, its numbers and its clause structure."""

    extractor: OutcomeExtractor
    text: str
    start: int
    end: int
    mentions: list[_Mention]
    numbers: list[_Number]

    @functools.cached_property
    def clauses(self) -> _Clauses:
        """Read when a number is placed: most sentences have none."""
        return _Clauses(self.text, self.start, self.end)

    def cues(self, name: str) -> list[_Mention]:
        """The words of one cue list in this sentence."""
        return [mention for mention in self.mentions if mention.label == f":{name}"]

    def measures(self) -> list[_Mention]:
        """The measure terms in this sentence that are not negated."""
        return [m for m in self.mentions if m.label in self.extractor.measures and not m.negated]

    def figures(self, describes_people: bool, multiple_of: str | None) -> list[Figure]:
        """The sentence's figures; one that describes who was studied gives only its ratios.
        ``multiple_of`` is the ratio measure a "2.8-fold risk" is read as (None: not read)."""
        pairs = self._ratio_pairs()
        figures = self._ratios(pairs)
        if multiple_of is not None:
            figures += [self._multiple(number, multiple_of) for number in self.numbers if number.kind == "fold"]
        if not describes_people:
            bound = {number.start for _, number in pairs}
            figures += self._lists()
            figures += [figure for number in self.numbers if number.total if (figure := self._total(number))]
            figures += [
                figure
                for number in self.numbers
                if number.kind in ("percent", "count", "bare") and not number.listed and number.start not in bound
                if (figure := self._figure(number)) is not None
            ]
        return sorted(figures, key=lambda figure: figure.start)

    # -- ratios ------------------------------------------------------------------------

    def _ratio_pairs(self) -> list[tuple[_Mention, _Number]]:
        """Each ratio term with the number written right after it."""
        by_start = {number.start: number for number in self.numbers if number.kind == "bare"}
        pairs: dict[int, tuple[_Mention, _Number]] = {}
        for mention in self.measures():
            if mention.label in self.extractor.ratio_measures:
                gap = _RATIO_GAP.match(self.text, mention.end, self.end)
                number = by_start.get(gap.end()) if gap else None
                while number is not None and number.start not in pairs:
                    pairs[number.start] = (mention, number)
                    number = self._next_in_series(number, by_start)
        return list(pairs.values())

    def _next_in_series(self, number: _Number, bare: dict[int, _Number]) -> _Number | None:
        """The value that goes on a ratio's in a series, each with its own interval: "was 0.75
        (0.61–0.93) for the 3-point threshold and 0.79 (0.64–0.97) for the 4-point threshold"."""
        following = next((o for o in self.numbers if o.start >= number.stop and o.start in bare), None)
        if following is None or not _OWN_INTERVAL.match(self.text, following.end, self.end):
            return None
        return following if _RATIO_SERIES_GAP.fullmatch(self.text, number.stop, following.start) else None

    def _ratios(self, pairs: list[tuple[_Mention, _Number]]) -> list[Figure]:
        figures = []
        for mention, number in pairs:
            if number.value <= 0 or self._is_difference(number):
                continue
            endpoint = self._named_endpoint(mention)  # else the clause says what the ratio is of
            if self._blocked([endpoint or self._clause(mention.start)], "not_outcome", "not_endpoint"):
                continue
            figures.append(
                Figure(
                    mention.label,
                    number.value,
                    "ratio",
                    self._stated_n(number),
                    self._timepoint(number),
                    self._comparison(mention),
                    self._endpoint(mention),
                    self.text[mention.start : number.end],
                    mention.start,
                    number.end,
                )
            )
        return figures

    def _multiple(self, number: _Number, measure: str) -> Figure:
        """A ratio written as a multiple: "a 2.8-fold increase in the risk of disability worsening"."""
        endpoint = _ENDPOINT.search(self.text, number.start, self.end)
        return Figure(
            measure,
            number.value,
            "ratio",
            None,
            self._timepoint(number),
            None,
            endpoint.group(1).strip() if endpoint else None,
            self.text[number.start : number.stop],
            number.start,
            number.stop,
        )

    def _is_difference(self, number: _Number) -> bool:
        """A "ratio" whose interval is symmetric on the additive scale but not on the log scale
        (or reaches zero) is a mean difference mislabelled as a ratio."""
        later = [
            other
            for other in self.numbers
            if other.start > number.end and not other.word and not _CONFIDENCE_LEVEL.match(self.text[other.end :])
        ][:2]
        if len(later) < 2 or later[0].start - number.end > 30:
            return False
        low, high = later[0].value, later[1].value
        if not low < number.value < high:
            return low <= 0
        if low <= 0:
            return True
        step = 10 ** -max(number.decimals, later[0].decimals, later[1].decimals)
        additive = abs((number.value - low) - (high - number.value)) <= step * 1.01
        logs = sorted((math.log(number.value / low), math.log(high / number.value)))
        return additive and logs[0] > 0 and logs[1] / logs[0] > 1.5

    def _clause(self, position: int) -> tuple[int, int]:
        """The sentence clause (between semicolons, outside brackets) a position lies in."""
        return list(self.clauses.scopes(position))[-1]

    # -- list items: "the most common adverse events were lymphopenia (27), fatigue (9)" -

    def _lists(self) -> list[Figure]:
        """Counts in a list of named items; each item's name is its event."""
        figures = []
        heads: dict[int, int] = {}  # list piece start -> where its first item's name begins
        for number in self.numbers:
            if not number.listed:
                continue
            opening = self.text.rfind("(", self.start, number.start)
            label_start = _label_start(self.text, self.clauses.head(opening, self.start)[0], opening)
            piece_start = self.clauses.piece(opening, ";", self.start, self.end)[0]
            head = (piece_start, heads.setdefault(piece_start, label_start))
            measure = self._listed_measure((label_start, opening), head)
            if measure is None:
                continue
            end = self.text.find(")", number.end) + 1
            figures.append(
                Figure(
                    measure,
                    number.value,
                    "count",
                    None,
                    self._timepoint(number),
                    None,
                    self.text[label_start:opening].strip() if self.extractor.measures[measure].event else None,
                    self.text[label_start:end],
                    label_start,
                    end,
                )
            )
        return figures

    def _listed_measure(self, label: tuple[int, int], head: tuple[int, int]) -> str | None:
        """A list item's measure: a term in the item itself, else one in the words before the list."""
        for span in (label, head):
            if self._blocked([span]):
                return None
            found = [m for m in self.measures() if _overlaps(m, span) and self.extractor.fits(m.label, "count")]
            if found:
                return found[0].label
        return None

    # -- other figures -----------------------------------------------------------------

    def _figure(self, number: _Number) -> Figure | None:
        """A percentage, count or bare number read with the measure its words give it."""
        unit = self._unit(number)
        if unit is None or self._beside_baseline(number):
            return None
        scopes = list(self.clauses.scopes(number.start))
        if unit == "percent" and (
            _RELATIVE_RISK.search(self.text, scopes[0][0], number.start)
            or _RISK_REDUCED_BY.search(self.text, scopes[0][0], number.start)
        ):
            return None  # "an enhanced risk … of approximately 30%", "risk of relapse by 54%": a relative change
        if self._other_reason(number):
            return None  # "reasons for discontinuation were …, withdrawal of consent (n = 1; 0.7%)"
        if unit == "count" and self._events_of_people(number):
            return None  # "two AEs … in one patient": the patients who had them are the figure
        own_only = unit == "count" or self._names_own_quantity(number)
        if own_only and not _COMPARATOR_PIECE.match(self.text, *scopes[0]):
            scopes = scopes[:1]  # read only with the words of its own piece (a comparator's goes on)
        for scope in scopes:
            candidates = [m for m in self.measures() if _overlaps(m, scope) and self._may_measure(number, unit, m)]
            if candidates:
                if self._blocked([scope]):
                    return None
                mention = min(candidates, key=lambda m: (_distance(m, number), m.start > number.start))
                return self._build(number, unit, mention)
            if (
                self._statement_words(scope) > _MAX_SHORT_WORDS
                and not _SAME_SUBJECT.search(self.text, *scope)
                and not _COMPARATOR_PIECE.match(self.text, *scope)
                and not self._names_share_of_people(scope)
            ):
                return None
        return None

    def _names_share_of_people(self, scope: tuple[int, int]) -> bool:
        """Whether a piece is the subject of a share ("A lower proportion of patients receiving
        PR-fampridine (3%) versus placebo (8%) reported SAEs"): what they had follows it."""
        people = [m.start for m in self.mentions if m.label == ":subjects"]
        return any(
            any(share.end() <= start <= share.end() + _PEOPLE_REACH for start in people)
            for share in _SHARE_OF.finditer(self.text, *scope)
        )

    def _statement_words(self, scope: tuple[int, int]) -> int:
        """The words of a piece that may make it a statement of its own: not the arm it names
        ("0.17 in the delayed-release DMF BID group", "and … TID (95%) groups") nor the word that
        joins it to a list ("and")."""
        words = self.clauses.words(scope)
        arms = [*_GROUP_PHRASE.finditer(self.text, *scope)]
        arms += [
            word for word in _ARM_WORD.finditer(self.text, *scope) if not any(a.start() <= word.start() < a.end() for a in arms)
        ]
        words -= sum(self.clauses.words(arm.span()) for arm in arms)
        return words - bool(_JOINS_LIST.match(self.text, *scope))

    def _names_own_quantity(self, number: _Number) -> bool:
        """Whether a percentage is followed by the noun it is a share of ("94% adherence")."""
        word = _NEXT_WORD.match(self.text, number.stop, self.end)
        if word is None or word.group(1).lower() in _FUNCTION_WORDS or _CONFIDENCE.match(self.text, word.start(1)):
            return False  # "0.049 IC 95% …": its interval follows, not what it is a share of
        if word.group(1).lower() in _CHANGE_NOUNS:
            return False  # "90.3% reduction": a relative change of what the words before name
        names = [m for m in self.mentions if m.label in self.extractor.measures or m.label == ":subjects"]
        return not any(m.start == word.start(1) for m in names)

    def _may_measure(self, number: _Number, unit: str, mention: _Mention) -> bool:
        """Whether a term can give a number its measure: its units fit, it does not name the group
        the number is a share of ("84% of responders", "two of six deaths"), and a count sits close
        to it without naming a cohort ("8 patients with PML")."""
        if not self.extractor.fits(mention.label, unit):
            return False
        gap = self.text[number.stop : mention.start]
        if mention.start >= number.stop and (_OF_GAP.match(" " + gap) or (number.total_end and not gap.strip())):
            return False
        if mention.start >= number.stop and (
            self._own_statement_before(number, mention) or self._heads_later_figure(number, mention)
        ):
            return False
        if unit != "count":
            return True
        if _distance(mention, number) > _COUNT_REACH:
            return False
        if mention.end <= number.start:  # "SAEs were reported in 32 patients", not "PML in three patients"
            piece = self.clauses.piece(number.start, ",;", self.start, self.end)
            compared = mention.end <= piece[0] and _COMPARATOR_PIECE.match(self.text, *piece)
            return bool(compared or _REPORTED.search(self.text, mention.end, number.start))
        with_ = re.search(r"\bwith\b", gap)  # "8 patients with PML", not "one patient presented with a rash"
        if with_ and not _REPORTED.search(gap, 0, with_.start()):
            return False
        return not any(word.lower() in _NEGATIONS for word in WORD.findall(gap))

    def _own_statement_before(self, number: _Number, mention: _Mention) -> bool:
        """Whether another figure stands between a number and a later term, and the words up to it
        make a statement of their own ("9% had completed …, and 92% had experienced an AE")."""
        later = next(
            (o for o in self.numbers if o.kind and not o.total and number.stop <= o.start < mention.start), None
        )
        return later is not None and bool(_PREDICATE.search(self.text, number.stop, later.start))

    def _heads_later_figure(self, number: _Number, mention: _Mention) -> bool:
        """Whether a term after a number opens the next figure instead: "70% and event-free
        survival was 65%" (the term, a copula, a figure in the same clause)."""
        clause_end = self.clauses.piece(number.start, ";", self.start, self.end)[1]
        later = next((o for o in self.numbers if o.kind and not o.total and mention.end <= o.start < clause_end), None)
        return later is not None and bool(_COPULA.search(self.text, mention.end, later.start))

    def _unit(self, number: _Number) -> str | None:
        """How a number is written: a percentage, a count of people or events, or bare."""
        if number.kind == "percent" or (number.kind == "count" and not number.word):
            return number.kind
        whole = number.decimals == 0
        studied = whole and _DENOMINATOR.search(self.text, max(self.start, number.start - 20), number.start)
        if studied and not self._names_event(number):
            return None  # "among 256 participants", "a cohort of 170 patients": who was studied ("of 0.059" is a value)
        counts = self._counts_people(number) or (whole and bool(_SUBJECT_VERB.match(self.text, number.stop)))
        if number.word:
            return "count" if counts or number.n is not None else None  # "five out of 22" counts
        if number.value < 0:
            return "points"
        if number.decimals == 0 and not counts and self._counts_other(number):
            return None  # "one patient who had 3 relapses", "all but 2 of the follow-up years"
        return "count" if counts and number.decimals == 0 else "bare"

    def _counts_other(self, number: _Number) -> bool:
        """Whether a whole number is followed by the noun it counts (``3 relapses``, ``2 of the
        years``): a count of something no measure names, not a rate or points."""
        word = _COUNTED_NOUN.match(self.text, number.stop, self.end)
        return word is not None and word.group(1).lower() not in _FUNCTION_WORDS | _POINTS

    def _other_reason(self, number: _Number) -> bool:
        """Whether a figure is one item of a list of reasons ("The reasons for discontinuation were
        abnormal laboratory values (n = 2; 1.4%), AEs (n = 1; 0.7%), withdrawal of consent (n = 1;
        0.7%)") whose name, before its bracket, names no measure: a reason that is no event."""
        brackets = self.clauses.enclosing(number.start)
        if not brackets or not _REASONS.search(self.text, self.start, brackets[0][0]):
            return False
        opening = brackets[0][0]
        name = (_label_start(self.text, self.clauses.head(opening, self.start)[0], opening), opening)
        return self.clauses.words(name) > 0 and not any(_overlaps(m, name) for m in self.measures())

    def _events_of_people(self, number: _Number) -> bool:
        """Whether a count of events is followed, in its piece, by the people who had them ("There
        were two AEs attributed to NAC in one patient"): a count of people comes "in" after it."""
        if not self._names_event(number):
            return False
        return any(
            other.kind == "count"
            and 0 < other.start - number.stop <= _EVENT_TO_PEOPLE
            and not re.search(r"[,;()\[\]]", self.text[number.stop : other.start])
            and _IN_BEFORE.search(self.text, number.stop, other.start)
            and self._counts_people(other)
            for other in self.numbers
        )

    def _names_event(self, number: _Number) -> bool:
        """Whether a number is followed right away by the measure term it counts ("a total of
        186 TEAEs"): events, not the people studied."""
        gap = re.match(r"\s+", self.text[number.stop : self.end])
        at = number.stop + (gap.end() if gap else 0)
        return any(m.start == at for m in self.measures())

    def _counts_people(self, number: _Number) -> bool:
        """Whether a number is followed, within two words, by people or by the event it counts."""
        follows = re.match(r"\s+(?:[^\W\d][\w-]*\s+){0,2}", self.text[number.stop : self.end])
        reach = number.stop + (follows.end() if follows else 0) + 1
        return any(
            number.stop <= m.start <= reach and (m.label == ":subjects" or m.label in self.extractor.measures)
            for m in self.mentions
        )

    def _total(self, number: _Number) -> Figure | None:
        """The N of "k of N deaths": a count of the event its noun names."""
        gap = re.match(r"\s+", self.text[number.end : self.end])
        at = number.end + (gap.end() if gap else 0)
        noun = next((m for m in self.measures() if m.start == at and self.extractor.fits(m.label, "count")), None)
        if noun is None or self._beside_baseline(number):
            return None
        return self._build(number, "count", noun)

    def _beside_baseline(self, number: _Number) -> bool:
        """Whether a baseline cue stands right before or after the number (or its series)."""
        for cue in self.cues("baseline"):
            if _CUE_AFTER_CHANGE.search(self.text[max(self.start, cue.start - 40) : cue.start]):
                continue
            if cue.start >= number.stop:
                gap = self.text[self._series_end(number) : cue.start]
            else:
                gap = self.text[cue.end : number.start]
                if re.search(r"\b(?:to|vs|versus)\b", gap):
                    continue
            if len(gap) <= _BESIDE and not re.search(r"[\d;]", gap):
                return True
        return False

    def _series_end(self, number: _Number) -> int:
        """Where the series a number opens ends (``2.0 and 1.7 vs. 1.4``)."""
        end = number.stop
        for other in self.numbers:
            if other.start >= end and _SERIES_GAP.match(self.text[end : other.start]):
                end = other.stop
        return end

    def _blocked(self, scopes: list[tuple[int, int]], *lists: str) -> bool:
        """Whether a cue of these lists (default: not-outcome cues) lies in any of the scopes."""
        cues = [cue for name in lists or ("not_outcome",) for cue in self.cues(name)]
        return any(_overlaps(cue, scope) for cue in cues for scope in scopes)

    def _build(self, number: _Number, unit: str, mention: _Mention) -> Figure:
        measure = self.extractor.measures[mention.label]
        value_unit = unit if unit != "bare" else next(u for u in measure.units if u in _BARE_UNITS)
        start, end = self._span(number, mention)
        return Figure(
            measure.id,
            number.value,
            value_unit,
            self._stated_n(number),
            self._timepoint(number),
            self._group(number),
            self.text[mention.start : mention.end] if measure.event else None,
            self.text[start:end],
            start,
            end,
        )

    def _span(self, number: _Number, mention: _Mention) -> tuple[int, int]:
        """The number with what belongs to it (its bracket and the name before it, "interferons
        (0.61%)"; the people it counts, "36 patients"), stretched to its measure term when the term
        is close by with no other figure between."""
        start, end = number.start, number.stop
        bracket = self._own_bracket(number)
        if bracket:
            start, end = self._label(number)[0], bracket[1] + 1
        people = [m for m in self.cues("subjects") if m.start >= end and _PEOPLE.fullmatch(self.text, end, m.start)]
        if people:
            end = people[0].end
        figures = [o for o in self.numbers if o.kind and not o.total and o is not number and not start <= o.start < end]
        if mention.end <= start and start - mention.end <= _BESIDE_TERM:
            if not any(mention.start <= o.start < start for o in figures):  # a term spanning other figures
                start = mention.start
        elif mention.start >= end and mention.start - end <= _BESIDE_TERM:
            if not any(end <= o.start < mention.start for o in figures):
                end = mention.end
        return _trimmed(self.text, start, end)

    # -- details of a figure -------------------------------------------------------------

    def _own_bracket(self, number: _Number) -> tuple[int, int] | None:
        """The bracket a number stands alone in ("(0.61%)"), if any."""
        brackets = self.clauses.enclosing(number.start)
        if brackets:
            inside = self.text[brackets[0][0] + 1 : brackets[0][1]]
            if not inside.replace(self.text[number.start : number.stop], "").strip():
                return brackets[0]
        return None

    def _label(self, number: _Number) -> tuple[int, int]:
        """The name a number is given in a list, "interferons (0.61%)" or "control, 9.83%";
        empty when it has none."""
        bracket = self._own_bracket(number)
        if bracket:
            opening = bracket[0]
            return _label_start(self.text, self.clauses.head(opening, self.start)[0], opening), opening
        around = self.clauses.enclosing(number.start)
        low, high = (around[0][0] + 1, around[0][1]) if around else (self.start, self.end)
        piece = self.clauses.piece(number.start, ",;", low, high)
        comma = piece[0] - 1
        alone = not self.text[piece[0] : number.start].strip() and not self.text[number.stop : piece[1]].strip()
        if not alone or comma <= low or self.text[comma] != ",":
            return number.start, number.start
        return _label_start(self.text, self.clauses.piece(comma - 1, ",;", low, high)[0], comma), comma

    def _stated_n(self, number: _Number) -> int | None:
        """The group size written beside a figure: "8/8", "3 of the 16", "(n = 33)"; not the count
        a percentage is written with in its own bracket ("mild (n = 49, 35.5%)": 49 had it)."""
        if number.n is not None:
            return number.n
        around = self.clauses.enclosing(number.start)
        low, high = (around[0][0] + 1, around[0][1]) if around else (self.start, self.end)
        if around and number.kind == "percent" and _COUNT_BEFORE_SHARE.fullmatch(self.text, low, number.start):
            return None  # the count the percentage is written with, not the group's size
        piece = self.clauses.piece(number.start, ",;", low, high)
        stated = re.search(r"\bn\s*=\s*(\d+)", self.text[piece[0] : piece[1]], re.IGNORECASE)
        return int(stated.group(1)) if stated else None

    def _timepoint(self, number: _Number) -> str | None:
        """The time point nearest the figure in its piece, clause or sentence ("at 24 months")."""
        for scope in list(self.clauses.scopes(number.start))[:2] + [(self.start, self.end)]:
            found = list(_TIMEPOINT.finditer(self.text, *scope))
            if found:
                return min(found, key=lambda m: abs(m.start() - number.start)).group()
        return None

    def _group(self, number: _Number) -> str | None:
        """The arm a figure belongs to: the name before it in a list ("control, 9.83%",
        "glatiramer acetate (0.51%)"), or the group a phrase names ("in the EGCG group")."""
        label = self._label(number)
        name = _LIST_JOINER.sub("", self.text[label[0] : label[1]].strip(" ([:,;"))
        last = name.split()[-1] if name else ""
        if name and len(name.split()) <= 5 and re.search(r"[^\W\d_]", name) and not _NUMBER_WORD.fullmatch(last):
            if not any(_overlaps(m, label) for m in self.mentions if m.label != ":condition"):
                return name
        scope = self.clauses.piece(number.start, ";", self.start, self.end)
        phrases = list(_GROUP_PHRASE.finditer(self.text, *scope))
        if not phrases:
            return None
        nearest = min(phrases, key=lambda m: (abs(m.start() - number.stop), m.start() < number.start))
        return (nearest.group(1) or nearest.group(2)).strip()

    def _comparison(self, mention: _Mention) -> str | None:
        """The groups a ratio compares, when the words it qualifies say "X vs Y"."""
        head = self._ratio_head(mention)
        compared = re.search(
            r"([^,;:\d%]{3,60}?)\s+(?:vs\.?|versus)\s+([^,;\d%]{2,40}?)\s*$", self.text[head[0] : head[1]]
        )
        return f"{compared.group(1).strip()} vs {compared.group(2).strip()}" if compared else None

    def _ratio_head(self, mention: _Mention) -> tuple[int, int]:
        """The words a ratio qualifies: those its bracket follows, or its piece up to the term."""
        brackets = self.clauses.enclosing(mention.start)
        if brackets:
            return self.clauses.head(brackets[0][0], self.start)
        return self.clauses.piece(mention.start, ",;", self.start, self.end)[0], mention.start

    def _endpoint(self, mention: _Mention) -> str | None:
        """The endpoint a ratio is for: the one it names (:meth:`_named_endpoint`), or the nearest
        other measure term."""
        named = self._named_endpoint(mention)
        if named:
            return self.text[named[0] : named[1]].strip()
        others = [m for m in self.measures() if m.label not in self.extractor.ratio_measures]
        if others:
            nearest = min(others, key=lambda m: abs(m.start - mention.start))
            return self.text[nearest.start : nearest.end]
        return None

    def _named_endpoint(self, mention: _Mention) -> tuple[int, int] | None:
        """Where the words name a ratio's endpoint: "hazard ratio for X", "less likely (HR …) to
        X", or the last "risk of X", "time to X", "more likely to X" before it in its sentence."""
        named = _RATIO_FOR.match(self.text, mention.end, self.end)
        if named:
            return named.span(1)
        brackets = self.clauses.enclosing(mention.start)
        if brackets and _LIKELY.search(self.text, self.start, brackets[0][0]):
            after = _ENDPOINT_AFTER.match(self.text, brackets[0][1] + 1, self.end)
            if after:
                return after.span(1)
        phrases = list(_ENDPOINT.finditer(self.text, self.start, mention.start))
        return phrases[-1].span(1) if phrases else None


_COUNT_IN_BRACKET = re.compile(r"\s*[(\[]\s*\d+\s*[)\]]")


def _counted_item(text: str, mention: _Mention) -> bool:
    """Whether a term is one item of a list of counted diagnoses ("encephalitis (6), … relapse of
    multiple sclerosis (2)"): the condition counted among others' is not the group reported on."""
    return bool(_COUNT_IN_BRACKET.match(text, mention.end))


_FIGURE_IN_BRACKET = re.compile(r"\s*[(\[]\s*[-−]?\d*\.\d+(?![\d.]|\s*%)")
_COUNTED_BEFORE = re.compile(r"\d\s*%?\s*(?:[^\W\d][\w-]*\s+)?$")


def _group_with_figure(text: str, cue: _Mention) -> bool:
    """Whether a demographic word names the group whose value its bracket gives ("higher in
    menopausal women (0.049 IC 95% 0.026 - 0.074)"), not who was studied: a count or share of
    them ("were female (1202 [74.0%])", "11 women (69%)")."""
    counted = _COUNTED_BEFORE.search(text, max(0, cue.start - 20), cue.start)
    return bool(_FIGURE_IN_BRACKET.match(text, cue.end)) and not counted


def _label_start(text: str, low: int, opening: int) -> int:
    """Where a list item's name begins: after the last separator or joining word before its bracket."""
    words = list(WORD.finditer(text, low, opening))
    start = opening
    for word in reversed(words):
        between = text[word.end() : start]
        if word.group().lower() in _LABEL_STOP or any(mark in between for mark in ",;:("):
            break
        start = word.start()
    return start


def _overlaps(mention: _Mention, span: tuple[int, int]) -> bool:
    return mention.start < span[1] and mention.end > span[0]


def _distance(mention: _Mention, number: _Number) -> int:
    if mention.end <= number.start:
        return number.start - mention.end
    if mention.start >= number.stop:
        return mention.start - number.stop
    return 0


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and (text[start].isspace() or text[start] in ",;:"):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;:"):
        end -= 1
    return start, end
