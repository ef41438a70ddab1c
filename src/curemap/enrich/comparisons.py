"""Results of comparisons: did the intervention beat the comparator on an outcome?

A comparison names the intervention, the comparator and the outcome, the direction of the
intervention's result relative to the comparator (``increased``, ``decreased`` or
``no_difference``; ``unclear`` when the words do not say), the effect with its interval and
p-value as written, and the words that state it. Whether an increase is *better* is the
profile's to say (``comparison_cues``): a direction becomes a verdict only for outcomes whose
good direction it names.

Two readers share the rules of significance and direction:

- :func:`registry_comparisons` reads posted analyses (ClinicalTrials.gov ``analyses``). The
  comparator is the group a control word names (placebo, vehicle, sham…), else the arm the
  registry types as a comparator, else the second group; arm types alone are not trusted (a
  real record types its placebo arm ``EXPERIMENTAL``). The estimate is taken as intervention
  against comparator unless the groups' own posted values say it is the other way round.
- :func:`text_comparisons` reads sentences of a paper's results that compare groups with a
  statistic, and :func:`answer` finds, for a given intervention, comparator and outcome, the
  sentence of a paper's results that best states it and reads it.

Significance: a p-value below 0.05, or an interval that excludes the null (1 for a ratio, 0
for a difference), or "significant(ly)" unnegated. "No significant", "did not differ",
"similar" and p ≥ 0.05 read as no difference. Direction: a ratio's side of 1, a difference's
sign, the two groups' values in the order the groups are named, or the words (higher, lower,
reduced…), turned round when the comparator is the sentence's subject.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from curemap.enrich.outcomes import _sentences
from curemap.enrich.terms import TermMatcher
from curemap.model import FullTextSection, ResultAnalysis, Study
from curemap.profile import Profile

ALPHA = 0.05

DIRECTIONS = ("increased", "decreased", "no_difference", "unclear")

RESULT_KINDS = frozenset({"abstract_results", "results", "table"})
"""The parts of a paper a comparison is read from: never introductions, methods or discussions,
where other papers' results are quoted."""

_DECIMAL = r"\d*[.·]\d+|\d+"
_P_VALUE = re.compile(
    r"\b[pP]\s*(?:-?\s*values?)?\s*(?P<op>[<>=≤≥]|&lt;|&gt;)?\s*=?\s*(?P<value>" + _DECIMAL + r")(?![\d.·])"
)
_RATIO = re.compile(
    r"\b(?P<name>(?-i:a?HR|a?OR|a?RR|IRR)|hazard ratio|odds ratio|risk ratio|rate ratio|relative risk)\b"
    r"(?:[^\d;]|\d{2}\s*%\s*(?:CI|C\.I\.)){0,25}?(?P<value>" + _DECIMAL + r")(?![\d.·]|\s*%|-\w)",
    re.IGNORECASE,
)
"""A ratio and its value: ``HR 0.66``, ``risk ratio [RR] 0.809``, ``HR DBP+OLE [95%CI]: 0.66``; the
abbreviations in capitals only (``or 20`` is a word, ``ARR`` a relapse rate), never a percentage
or the number of an adjective (``11-year``)."""
_RATIO_FOR = re.compile(
    r"\b(?P<name>hazard ratio|odds ratio|risk ratio|rate ratio|relative risk|(?-i:a?HR|a?OR|a?RR|IRR))\s+for\s+"
    r"[^\d;()\[\]=]{3,100}?\s+(?:was|of|=|:)\s*(?P<value>" + _DECIMAL + r")(?![\d.·]|\s*%|-\w)",
    re.IGNORECASE,
)
"""A ratio named with its endpoint before its value: ``the hazard ratio for EDSS deterioration in
the CPM group in comparison with the MP group was 0.61``."""
_INTERVAL = re.compile(
    r"(?P<level>\d{2})\s*%\s*(?:CI|C\.I\.|confidence interval|CrI)[^\d−-]{0,6}"
    r"(?P<low>[-−]?\s?(?:" + _DECIMAL + r"))\s*(?:-|–|—|to|,)\s*(?P<high>[-−]?\s?(?:" + _DECIMAL + r"))",
    re.IGNORECASE,
)
_NO_DIFFERENCE = re.compile(
    r"\b(?:no|not|nor|without)\s+(?:\w+\s+){0,3}?(?:statistically\s+)?(?:significant(?:ly)?|differ\w*)"
    r"|\bnon-?significant(?:ly)?|\bn\.?s\.?(?=[\s);,]|$)|\bdid not (?:\w+\s+){0,2}(?:differ|change|improve|reach)"
    r"|\b(?:similar|comparable|unchanged|did not change)\b",
    re.IGNORECASE,
)
_SIGNIFICANT = re.compile(r"\bsignifican(?:t|tly|ce)\b", re.IGNORECASE)
_UP = re.compile(
    r"\b(?:increas\w*|higher|greater|more|improv\w*|longer|elevat\w*|gain\w*|rais\w*|rise|rose|better|larger"
    r"|prolong\w*|enhanc\w*|likely)\b",
    re.IGNORECASE,
)
_DOWN = re.compile(
    r"\b(?:reduc\w*|decreas\w*|lower\w*|less|fewer|shorter|declin\w*|drop\w*|fell|worse|smaller|suppress\w*"
    r"|slow\w*|attenuat\w*|diminish\w*|prevent\w*)\b",
    re.IGNORECASE,
)
_COMPARING = re.compile(r"\b(?:compared (?:with|to)|in comparison (?:with|to)|versus|vs\.?|than|relative to|over)\s", re.IGNORECASE)
_STOP = frozenset(
    """a an the of in on at to for and or with by from as is was were are be been than vs versus during
    after before between among its their this that these those which who whom patients participants group
    groups score scores total mean change level levels number rate measured using""".split()
)
_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*")
_CLAUSE = re.compile(r";|,\s+(?=(?:with|and|but|while|whereas|although)\b)|\s+(?=(?:while|whereas)\b)")
"""Where a sentence reporting several results passes to the next."""
_DEFINITIONS = re.compile(r"(?:\b[A-Z][\w-]*\s*=\s*[A-Za-z][^;=]*;\s*){2}")
"""A footnote of abbreviations ("CDMS = clinically definite MS; DMT = …"): no result."""
_TRIES = 3
"""Sentences tried, best first, for one whose direction can be read."""


@dataclass
class Comparison:
    """One result of an intervention against a comparator, with the words that state it."""

    intervention: str | None
    comparator: str | None
    outcome: str
    direction: str  # one of DIRECTIONS, the intervention's result relative to the comparator
    verdict: str | None  # "better" | "worse" | "no difference"; None when the good direction is unknown
    effect: str | None  # the estimate as named and written: "OR 15.231", "Difference -1.696"
    effect_value: float | None
    ci_low: float | None
    ci_high: float | None
    ci_level: float | None
    p_value: str | None  # as written: "<0.001", "0.06"
    n: int | None  # participants in the two groups, when stated
    primary: bool
    text: str  # the words it was read from: input[start:end]
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Comparison:
        """A comparison as the store keeps it (``is_primary``, ``source_field``) read back."""
        data = {**row, "primary": bool(row.get("is_primary", row.get("primary")))}
        return cls(**{name: data.get(name) for name in cls.__dataclass_fields__})

    def summary(self) -> str:
        """"X vs Y on Z: better (OR 2.1, 95% CI 1.1 to 4.0, p 0.02; n 120)"."""
        verdict = self.verdict or {"no_difference": "no difference"}.get(self.direction, self.direction)
        parts = [self.effect or ""]
        if self.ci_low is not None and self.ci_high is not None:
            parts.append(f"{self.ci_level or 95:g}% CI {self.ci_low:g} to {self.ci_high:g}")
        if self.p_value:
            parts.append(f"p {self.p_value}")
        detail = ", ".join(part for part in parts if part)
        if self.n:
            detail = f"{detail}; n {self.n}" if detail else f"n {self.n}"
        who = f"{self.intervention or 'intervention'} vs {self.comparator or 'comparator'}"
        return f"{who} on {self.outcome}: {verdict}" + (f" ({detail})" if detail else "")


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text.replace("·", ".").replace("−", "-").replace(" ", "").lstrip("<>=≤≥"))
    except ValueError:
        return None


def p_significant(written: str | None) -> bool | None:
    """Whether a p-value as written ("<0.0001", "=0.247", "0·06") is below :data:`ALPHA`."""
    match = re.match(r"\s*(?P<op>[<>=≤≥]|&lt;|&gt;)?\s*=?\s*(?P<value>" + _DECIMAL + r")\s*$", written or "")
    if match is None:
        return None
    value = _number(match.group("value"))
    if value is None:
        return None
    op = match.group("op") or "="
    if op in (">", "&gt;", "≥"):
        return False if value >= ALPHA else None
    return value < ALPHA or (op in ("<", "&lt;", "≤") and value <= ALPHA)


def _is_ratio(name: str | None) -> bool:
    return bool(name) and bool(re.search(r"ratio|\b(?:a?HR|a?OR|a?RR|IRR)\b|relative risk", name, re.IGNORECASE))


def _excludes_null(low: float | None, high: float | None, ratio: bool) -> bool | None:
    if low is None or high is None:
        return None
    null = 1.0 if ratio else 0.0
    return not (min(low, high) <= null <= max(low, high))


def _side(value: float | None, ratio: bool) -> str | None:
    """Which way an estimate of the intervention against the comparator points."""
    if value is None:
        return None
    null = 1.0 if ratio else 0.0
    if math.isclose(value, null):
        return None
    return "increased" if value > null else "decreased"


class ComparisonReader:
    """Reads comparisons with the profile's comparison words."""

    def __init__(self, profile: Profile):
        cues = profile.comparison_cues
        self._control = TermMatcher(("control", term) for term in cues.control)
        self._goods = TermMatcher(
            [("higher", term) for term in cues.higher_is_better] + [("lower", term) for term in cues.lower_is_better]
        )

    def is_control(self, name: str | None) -> bool:
        return bool(name) and bool(self._control.find(name))

    def verdict(self, outcome: str, direction: str) -> str | None:
        """``better``/``worse`` when the profile says which way the outcome is good; a
        higher-is-better term found anywhere wins over a lower-is-better one ("relapse-free")."""
        if direction == "no_difference":
            return "no difference"
        if direction not in ("increased", "decreased"):
            return None
        found = {match.key for match in self._goods.find(outcome)}
        good = "higher" if "higher" in found else "lower" if "lower" in found else None
        if good is None:
            return None
        return "better" if (direction == "increased") == (good == "higher") else "worse"

    # -- registry analyses -------------------------------------------------------------

    def registry_comparisons(self, study: Study) -> list[Comparison]:
        """One comparison per posted analysis of two groups."""
        comparator_arms = {
            arm.label.lower() for arm in study.arms if (arm.type or "").upper().endswith(("COMPARATOR", "NO_INTERVENTION"))
        }
        found = []
        for analysis in study.result_analyses:
            if len(analysis.group_ids) != 2:
                continue
            titles = [title or group_id for title, group_id in zip(analysis.group_titles, analysis.group_ids, strict=True)]
            controls = [i for i, title in enumerate(titles) if self.is_control(title)]
            if len(controls) != 1:
                controls = [i for i, title in enumerate(titles) if title.lower() in comparator_arms] or [1]
            comparator = controls[0]
            intervention = 1 - comparator
            found.append(self._registry_comparison(study, analysis, titles, intervention, comparator))
        return found

    def _registry_comparison(
        self, study: Study, analysis: ResultAnalysis, titles: list[str], intervention: int, comparator: int
    ) -> Comparison:
        ratio = _is_ratio(analysis.param_type)
        value = _number(analysis.param_value)
        low, high = _number(analysis.ci_lower), _number(analysis.ci_upper)
        values = self._group_values(study, analysis)
        side = _side(value, ratio)
        by_values = None
        if values is not None:
            difference = values[analysis.group_ids[intervention]] - values[analysis.group_ids[comparator]]
            by_values = _side(difference, False)
        if side and by_values and side != by_values:  # the estimate is comparator against intervention
            side = by_values
            value, low, high = (1 / value, 1 / high, 1 / low) if ratio and value and low and high else (
                -value if value is not None else None, -high if high is not None else None, -low if low is not None else None)
        significant = p_significant(analysis.p_value)
        if significant is None:
            significant = _excludes_null(low, high, ratio)
        if significant is None:
            direction = "unclear"
        elif not significant:
            direction = "no_difference"
        else:
            direction = side or by_values or "unclear"
        per_group = {
            row.group_id: row.denominator
            for row in study.result_values
            if row.outcome_title == analysis.outcome_title and row.group_id in analysis.group_ids and row.denominator
        }
        n = sum(per_group.values()) if len(per_group) == 2 else None
        effect = f"{analysis.param_type} {value:g}" if analysis.param_type and value is not None else None
        text = registry_text(analysis)
        return Comparison(
            intervention=titles[intervention],
            comparator=titles[comparator],
            outcome=analysis.outcome_title,
            direction=direction,
            verdict=self.verdict(analysis.outcome_title, direction),
            effect=effect,
            effect_value=value,
            ci_low=low,
            ci_high=high,
            ci_level=_number(analysis.ci_percent),
            p_value=analysis.p_value,
            n=n,
            primary=analysis.outcome_type.upper() == "PRIMARY",
            text=text,
            start=0,
            end=len(text),
        )

    @staticmethod
    def _group_values(study: Study, analysis: ResultAnalysis) -> dict[str, float] | None:
        """The two groups' posted values for the analysed measure, when one value per group can be
        told apart (a class or category the analysis names when the measure has several)."""
        rows = [r for r in study.result_values if r.outcome_title == analysis.outcome_title and r.group_id in analysis.group_ids]
        if len(rows) > 2:
            words = (analysis.description or "").lower()
            rows = [r for r in rows if any(label and re.search(rf"\b{re.escape(label.lower())}\b", words) for label in (r.klass, r.category))]
        values = {r.group_id: _number(r.value) for r in rows}
        if len(rows) != 2 or len(values) != 2 or None in values.values():
            return None
        return values  # type: ignore[return-value]

    # -- text --------------------------------------------------------------------------

    def read(self, text: str, start: int, end: int, intervention: str | None, comparator: str | None,
             outcome: str, primary: bool = False) -> Comparison:
        """The comparison the words ``text[start:end]`` state about ``outcome``: read in the clause
        that names most of the outcome's words, the sentence's p-values standing in when the clause
        has no statistic of its own."""
        words = text[start:end]
        clause = _best_clause(words, outcome)
        ratio = _RATIO.search(clause) or _RATIO.search(words) or _RATIO_FOR.search(words)
        interval = _INTERVAL.search(clause) or _INTERVAL.search(words)
        low = _number(interval.group("low")) if interval else None
        high = _number(interval.group("high")) if interval else None
        significant = _significance(clause)
        if significant is None:
            significant = _p_significance(words)
        if significant is None and ratio:
            significant = _excludes_null(low, high, True)
        value = _number(ratio.group("value")) if ratio else None
        if significant is None:
            direction = "unclear"
        elif not significant:
            direction = "no_difference"
        else:
            direction = (
                (_side(value, True) if ratio else None)
                or self._worded_direction(clause, intervention, comparator, outcome)
                or "unclear"
            )
        p_written = [_p_written(m) for m in _P_VALUE.finditer(clause)] or [_p_written(m) for m in _P_VALUE.finditer(words)]
        return Comparison(
            intervention=intervention,
            comparator=comparator,
            outcome=outcome,
            direction=direction,
            verdict=self.verdict(outcome, direction),
            effect=f"{ratio.group('name')} {ratio.group('value')}" if ratio else None,
            effect_value=value,
            ci_low=low,
            ci_high=high,
            ci_level=_number(interval.group("level")) if interval else None,
            p_value=p_written[0] if p_written else None,
            n=None,
            primary=primary,
            text=words,
            start=start,
            end=end,
        )

    def _worded_direction(self, clause: str, intervention: str | None, comparator: str | None, outcome: str) -> str | None:
        """Up or down from the direction word nearest the outcome's words, turned round when the
        comparator is the clause's subject: named before "compared with"/"than", or named alone."""
        moves = [(m.start(), "increased") for m in _UP.finditer(clause)] + [(m.start(), "decreased") for m in _DOWN.finditer(clause)]
        if not moves:
            return None
        at_outcome = _position(clause, _stems(outcome)) or 0
        side = min(moves, key=lambda move: abs(move[0] - at_outcome))[1]
        own_i, own_c = _stems(intervention or ""), _stems(comparator or "")
        at_i, at_c = _position(clause, own_i - own_c), _position(clause, own_c - own_i)
        marker = _COMPARING.search(clause)
        if marker:
            comparator_subject = at_c is not None and at_c < marker.start() and (at_i is None or at_i > marker.start())
        else:
            comparator_subject = at_c is not None and at_i is None
        if comparator_subject:
            return "decreased" if side == "increased" else "increased"
        return side

    def text_comparisons(self, text: str, *, kind: str = "abstract_results") -> list[Comparison]:
        """Sentences of a results part that compare groups with a statistic, each read as a comparison
        of the groups it names ("X vs Y", "compared with Y"); the outcome is the words before the
        first figure or verb."""
        if kind not in RESULT_KINDS:
            return []
        found = []
        for start, end in _sentences(text):
            words = text[start:end]
            if not (_P_VALUE.search(words) or _INTERVAL.search(words)) or not _COMPARING.search(words):
                continue
            groups = _groups(words)
            if groups is None:
                continue
            if self.is_control(groups[0]) and not self.is_control(groups[1]):
                groups = groups[1], groups[0]
            if _NOT_A_GROUP.match(groups[0]) or _NOT_A_GROUP.match(groups[1]):
                continue  # "participants who collided vs did not": people sorted by what happened to them
            if not self.is_control(groups[1]) and not _ARMS.search(words):
                continue  # two groups of an association ("wheelchair users vs those who walk"), not arms
            outcome = _outcome_words(words)
            low, high = _trimmed(text, start, end)
            found.append(self.read(text, low, high, groups[0], groups[1], outcome, primary=bool(_PRIMARY.search(words))))
        return found

    def answer(self, sections: list[FullTextSection], intervention: str, comparator: str, outcome: str) -> Comparison | None:
        """The comparison a paper states for this intervention, comparator and outcome: of the results
        sentences that name most of the outcome's words (then the groups', then a statistic's), the
        first whose direction can be read."""
        wanted, groups = _stems(outcome), _stems(intervention) | _stems(comparator)
        if not wanted:
            return None
        candidates: list[tuple[float, int, FullTextSection, int, int]] = []
        for section in sections:
            if section.kind not in RESULT_KINDS:
                continue
            for start, end in _lines_and_sentences(section.text):
                words = section.text[start:end]
                stems = _stems(words)
                if not stems & wanted or _DEFINITIONS.search(words):
                    continue
                score = len(stems & wanted) / len(wanted) + 0.2 * len(stems & groups) / max(1, len(groups))
                if _P_VALUE.search(words) or _INTERVAL.search(words) or _SIGNIFICANT.search(words) or _NO_DIFFERENCE.search(words):
                    score += 0.3
                if section.kind == "abstract_results":
                    score += 0.05
                candidates.append((-score, len(candidates), section, start, end))
        read = [self.read(section.text, start, end, intervention, comparator, outcome)
                for _, _, section, start, end in sorted(candidates, key=lambda c: c[:2])[:_TRIES]]
        return next((c for c in read if c.direction != "unclear"), read[0] if read else None)


def registry_text(analysis: ResultAnalysis) -> str:
    """The line a posted analysis is quoted from."""
    groups = " vs ".join(title or gid for title, gid in zip(analysis.group_titles, analysis.group_ids, strict=True))
    parts = [f"{analysis.outcome_title} [{groups}]:"]
    if analysis.param_type and analysis.param_value is not None:
        parts.append(f"{analysis.param_type} {analysis.param_value}")
    if analysis.ci_lower is not None and analysis.ci_upper is not None:
        parts.append(f"({analysis.ci_percent or 95}% CI {analysis.ci_lower} to {analysis.ci_upper})")
    if analysis.p_value:
        parts.append(f"p {analysis.p_value}")
    if analysis.method:
        parts.append(f"[{analysis.method}]")
    return " ".join(parts)


def _stems(text: str) -> set[str]:
    """Content words cut to six letters, so "progression" meets "progressed"."""
    return {word.lower()[:6] for word in _WORD.findall(text) if word.lower() not in _STOP and not word.isdigit()}


def _position(words: str, stems: set[str]) -> int | None:
    """Where any of these word stems first appears; a short stem matches a longer word ("cool", "cooler")."""
    for match in _WORD.finditer(words):
        word = match.group().lower()[:6]
        if any(word == stem or (len(stem) >= 4 and word.startswith(stem)) for stem in stems):
            return match.start()
    return None


def _p_written(match: re.Match[str]) -> str:
    return f"{match.group('op') or '='}{match.group('value')}".replace("&lt;", "<").replace("&gt;", ">")


def _p_significance(words: str) -> bool | None:
    """Significance from p-values alone: any below :data:`ALPHA`, else all above it, else unknown."""
    found = [p_significant(_p_written(m)) for m in _P_VALUE.finditer(words)]
    return True if True in found else False if False in found else None


def _significance(words: str) -> bool | None:
    """Whether words state a significant difference: p-values, a ratio's interval, then the words."""
    by_p = _p_significance(words)
    if by_p is not None:
        return by_p
    ratio, interval = _RATIO.search(words), _INTERVAL.search(words)
    if ratio and interval:
        return _excludes_null(_number(interval.group("low")), _number(interval.group("high")), True)
    if _NO_DIFFERENCE.search(words):
        return False
    if _SIGNIFICANT.search(words):
        return True
    return None


def _best_clause(words: str, outcome: str) -> str:
    """The clause of a sentence that names most of the outcome's words (the sentence when none does)."""
    clauses = [c for c in _CLAUSE.split(words) if c and c.strip()]
    wanted = _stems(outcome)
    best = max(clauses, key=lambda c: len(_stems(c) & wanted), default=words)
    return best if _stems(best) & wanted else words


def _lines_and_sentences(text: str) -> Iterator[tuple[int, int]]:
    """Sentences within lines: a line break ends a sentence (a table row, a heading)."""
    offset = 0
    for line in text.split("\n"):
        for start, end in _sentences(line):
            if line[start:end].strip():
                yield offset + start, offset + end
        offset += len(line) + 1


def _groups(words: str) -> tuple[str, str] | None:
    """The two groups a sentence compares: "in the X group … the Y group", "X vs Y", "X compared with Y"."""
    named = re.findall(r"\b(?:in|of|for|with|to|than|versus|vs\.?) the ([\w-]+(?:\s[\w-]+){0,3}) (?:group|arm)\b", words)
    if len(named) >= 2 and named[0] != named[1]:
        return named[0], named[1]
    pair = re.search(r"\bthe ([\w]+(?:[\s-][\w]+){0,2})-? than (?:in )?the ([\w-]+(?:\s[\w-]+){0,3}) (?:group|arm)\b", words)
    if pair:  # "higher in the early- than the delayed-treatment group"
        return pair.group(1), pair.group(2)
    listed = re.search(r"\b([A-Za-z][\w-]*):\s*[\d.·]+\s*%?\s*(?:vs\.?|versus)\s+([A-Za-z][\w-]*):", words)
    if listed:  # "(CPM: 97·2% versus MP: 92·4%)"
        return listed.group(1), listed.group(2)
    versus = re.search(r"([A-Za-z][\w-]*(?:\s[\w-]+)?)\s+(?:vs\.?|versus)\s+([A-Za-z][\w-]*(?:\s[\w-]+)?)", words)
    if versus:
        return versus.group(1), versus.group(2)
    return None


_OPENER = re.compile(
    r"^\s*(?:[A-Z][A-Z /&-]{2,}:\s*)?(?:(?:however|moreover|furthermore|additionally|overall|notably|similarly|in addition"
    r"|(?:after|according to|over|at|in|during|by|within|for)\b[^,;()]{0,60}?),\s*)?",
    re.IGNORECASE,
)
"""A heading and an opening phrase before a comma ("RESULTS: After 11 years, …"): not the outcome."""


_LIKELY = re.compile(r"\b(?:more|less) likely\s+((?:not\s+)?to\s+[^,;()\[\]\d]{3,80}?)\s*(?=[,;(\[]|\bthan\b|\bcompared\b|$)", re.IGNORECASE)


_NOT_A_GROUP = re.compile(r"(?:who|those|did|does|do|not|had|has)\b", re.IGNORECASE)
_PRIMARY = re.compile(r"\bprimary\s+(?:end\s*-?\s*point|outcome|efficacy)", re.IGNORECASE)
"""A sentence that reports the primary outcome says so."""
_ARMS = re.compile(r"\b(?:group|arm)s?\b", re.IGNORECASE)
"""A sentence that names its groups as groups or arms compares a study's arms."""


def _outcome_words(words: str) -> str:
    """What a sentence reports on: its words after a heading or opening phrase, up to the first
    verb or bracket, less an article before and a group named after ("in the intervention group")."""
    rest = words[_OPENER.match(words).end() :]
    likely = _LIKELY.search(rest)
    if likely:  # "patients in the CPM group were 2.2 times more likely to discontinue their treatment"
        return " ".join(likely.group(1).split()[:14])
    rest = re.sub(r"^(?:the\s+)?(?:hazard|odds|risk|rate) ratio (?:for|of)\s+", "", rest, flags=re.IGNORECASE)
    head = re.split(r"\b(?:was|were|is|are|had|did|remained|showed|increased|decreased|reduced)\b|[(\[;:]", rest, maxsplit=1)[0]
    head = re.split(r"\s+(?:in|of|for|among) the [\w-]+(?:\s[\w-]+){0,3} (?:group|arm)\b", head, maxsplit=1)[0]
    head = re.sub(r"^(?:the|a|an)\s+", "", head.strip(" ,"), flags=re.IGNORECASE)
    return " ".join(head.split()[:14]).strip(" ,") or words[:60]


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
