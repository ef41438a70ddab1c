"""Reading a review's claims and checking them against the records its references name.

From a segment of the review (quotations left out: a quoted title is the record's own words,
not a claim) the reader takes, each with its place in the text:

- a phase, in digits, words or roman numerals ("phase I/II" is phase 1/2, "phase IIa" and
  "phase 2b" are phase 2, "phase Ib/IIa" is phase 1/2, "early phase 1" is early phase 1);
- a status in the registry's words or everyday ones ("still enrolling", "stopped early",
  "has finished", "completed in 2021": the year must fit the completion date);
- a sponsor or collaborator ("sponsored by", "led by", "run by", "X is listed as sponsor",
  "with X as collaborator", an organisation in parentheses);
- an enrollment: an exact number must equal the record's; "about", "roughly", "~", "≈",
  "up to", "target of" allow 10% either way; "more than" / "fewer than" bound it; a range
  ("1,100 to 1,200") must hold it; "A and B … with 746 and 1,050 participants respectively"
  gives each trial its own;
- a condition (MS, or a condition the profile names as not MS);
- shares ("38%", confidence limits left out) and ratios ("OR 0.5") for papers.

A table row's cells are read by their column: a "Phase" cell's "N/A" or "Observational" is a
phase claim, a "Sponsor" cell a sponsor claim, an "n" cell an enrollment.

Sponsors match the lead sponsor or any collaborator up to case, accents, punctuation and legal
suffixes, through the profile's sponsor vocabulary (parents and name variants merge), by an
acronym of the name ("UCSF"), or by one name's distinctive words holding the other's; a person
named with an institution ("Bruce Cree at UCSF") matches either; a record whose sponsor is a
person and which names no institution or site cannot contradict the academic institution a text
names beside that person ("UCSF's study … led by Bruce Cree").
"""

from __future__ import annotations

import re
from bisect import bisect_right
from functools import lru_cache
from typing import Any, NamedTuple

from curemap.enrich.sponsors import SponsorVocabulary, organisation_key, plain_words
from curemap.enrich.terms import TermMatcher
from curemap.model import Study
from curemap.profile import Profile
from curemap.verify.gates import Gated, Screen, folded
from curemap.verify.refs import ID_LIKE
from curemap.wording import STATUS_CELLS, STATUS_PHRASES, phase_words, status_words


OPENING_QUOTE = re.compile(r"[“\"]")
STRAIGHT_QUOTED = re.compile(r"\"[^\"\n]*\"")
SPOKEN = re.compile(r"[a-z]{2}[.!?]\s+[A-Z][a-z]*\s+[a-z]")
"""A sentence's end and the next sentence's start within a quotation: someone's words, whose
claims count, not a quoted title."""

_NUMERAL = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "one": "1", "two": "2", "three": "3", "four": "4"}
_PHASE_NUMBER = r"(?:iv|iii|ii|i|[1-4]|one|two|three|four)"
PHASE = Gated(re.compile(
    rf"\b(early[\s-]+)?(?:phase|ph\.?)[\s-]*({_PHASE_NUMBER})[ab]?"
    rf"(?:(?:\s*(?:/|-|–|and|or|to|slash)\s*|\s+(?=(?:two|three)\b))(?:phase[\s-]*|ph\.?[\s-]*)?({_PHASE_NUMBER})[ab]?)?(?![\w/])",  # "phase one two", as it is said
    re.IGNORECASE,
))
_PH_PHASE = re.compile(r"(?:Ph|PH|ph)\.?[\s-]*(?:[1-4]|IV|I{1,3})[ab]?(?![a-z])")
"""The short form of a phase ("Ph2", "Ph Ib/IIa", "PhIII"): a digit or a capital numeral after it,
so "pH 7", "phi" and "Ph one" are not phases."""
_EARLIER = re.compile(
    r"\b(?:after|following|before|beyond|from|prior\s+to|previous|earlier|(?:follow[\s-]*(?:on|up)|successor|sequel|extension)\s+(?:to|of)|builds?\s+on)\s+"
    r"(?:(?:a|an|the|its|their|successful|positive|initial|early)\s+)?$", re.IGNORECASE)
"""Words before a phase that make it the history of a programme, not the trial's phase ("After
phase 1 work, the AFFINITY trial …", "moved from phase 2 to phase 3", "follow-on to the phase 1")."""
_ITSELF_EARLIER = re.compile(r"\b(?:previous|earlier)\s+(?:(?:a|an|the|its|their)\s+)?", re.IGNORECASE)
_LATER = re.compile(r"\b(?:later|subsequently|eventually|went\s+on)\b[\w ]{0,30}?\b(?:in|into|to)\s+$", re.IGNORECASE)
_TRIAL_AFTER = re.compile(r"[ab]?\s+(?:trial|study|studies|program|programme)\b", re.IGNORECASE)
"""A phase the drug reached later, no trial named ("the drug later flopped in phase 3"; not "later
took Tovaxin into a phase 3 trial")."""
_NOT_ITS_PHASE = re.compile(
    rf"{_EARLIER.pattern}|\b(?:no|nor|never|without(?:\s+an?)?|not\s+(?:an?|yet\s+an?))\s+$|\b(?:titled|entitled|called|named)\s+(?:as\s+)?(?:a|an|the)?\s*$",
    re.IGNORECASE,
)
"""Those words, words that deny a phase ("but no phase 3 followed", "without a phase 2"), or a
title's ("titled a phase 2 trial, but the register lists phase 1/2"): the phase is not claimed of
the trial."""
_ITS_DOSE = re.compile(r"[ \t]+(?:doses?|dosing|regimens?)\b(?![-\w])", re.IGNORECASE)
"""A phase naming a dose ("the basis for the phase 3 dose"): the dose a later trial used, not a phase."""
_PART_WORDS = (" part", " portion", " segment", " stage")
_PARTS_OF = {
    "phase1": frozenset({"phase1", "phase1_2"}),
    "phase2": frozenset({"phase2", "phase1_2", "phase2_3"}),
    "phase3": frozenset({"phase3", "phase2_3"}),
}
"""The phases a trial may have when a text names one part of it ("the phase 2 part")."""
BARE_PHASE = re.compile(rf"{_PHASE_NUMBER}[ab]?(?:\s*/\s*{_PHASE_NUMBER}[ab]?)?", re.IGNORECASE)
"""A phase cell's number alone ("2", "1/2", "IIb", "III")."""
NO_PHASE_CELL = re.compile(r"^\s*(?:n/?a|not applicable|none|observational|—|-)\s*$", re.IGNORECASE)
OBSERVATIONAL = Gated(re.compile(r"\bobservational\s+(?:study|cohort|registry)\b", re.IGNORECASE))
TITLE_RUN = re.compile(r"\b(?=[A-Z0-9abfiotvw])(?:\b[A-Z0-9][\w'’\-/]*[ \t]+|\b(?:of|in|and|the|with|for|a|an|to|on|as|at|by|or|vs|versus)[ \t]+){5,}[A-Z0-9][\w'’\-/]*")
"""Five words or more in Title Case: an unquoted title ("A Phase I Double Blind Study of …"), whose
phase and status words are the record's own, not a claim. It starts at a word's edge on a capital,
a digit or a small word's first letter: said first, that is checked first."""

_WORD_NUMBERS = {
    w: n for n, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty".split()
    )
} | {"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "a dozen": 12}
_TENS = "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
_SMALL = "|".join(sorted((w for w, n in _WORD_NUMBERS.items() if 0 < n < 20), key=len, reverse=True))
NUMBER = (r"(?:(?=\d)(?:\d{1,3}(?:,\d{3})+(?!\d)|\d{1,3}(?:\.\d{3})+(?![\d,]|\.\d)"  # 1,131 and, as much of Europe writes it, 1.131
          r"|(?<!phase )(?<!ph )(?<!ph\. )\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?![\d.,]\d)"  # 1 124, not "phase 2 120 patients"
          r"|\d{1,3}(?:\.\d)?k(?![\w])"  # "1.2k people", as posts write thousands (the text read folded: "1.2K" too)
          r"|\d+(?![\d.,]\d))"
          + r"|(?:" + _SMALL + r"|a)\s+hundred(?:\s+(?:and\s+)?(?:(?:" + _TENS
          + r")(?:[-\s](?:one|two|three|four|five|six|seven|eight|nine))?|" + _SMALL + r"))?\b"
          + r"|(?:" + _TENS + r")[-\s](?:one|two|three|four|five|six|seven|eight|nine)\b|(?:two|three|four|five|six)\s+dozen\b|"
          + "|".join(sorted(_WORD_NUMBERS, key=len, reverse=True)) + r")")
"""A count in digits or words; said aloud, with its hundreds ("five hundred and eighty one")."""
APPROX = (
    r"(?:about|around|approximately|approx\.?|roughly|nearly|almost|some|circa|ca\.|~|≈|up\s+to|an\s+estimated|"
    r"estimated|(?:a\s+)?target(?:ed)?(?:\s+enrol(?:l)?ment)?(?:\s+of)?(?:\s+(?:about|around|≈|~))?|aiming\s+for|"
    r"planned|more\s+than|over|at\s+least|fewer\s+than|less\s+than|under|only)"
)
NOT_ONE = r"(?!one\b(?![\s-]+hundred))"
"""Not "one" on its own: "the randomised one", "the one people mean" count nobody."""
PEOPLE = r"(?:participants|patients|pts|ppl|people|persons|subjects|volunteers|veterans|individuals|adults|children|women|men)"
ENROLLMENT = Gated(re.compile(  # every match starts where a word starts, or on "~" or "≈": said first, it is checked first
    rf"(?:\b(?=\w)|(?=[~≈]))(?<!\bour )(?<!\bmy )(?:(?:(?<![\w~≈])(?P<a1>{APPROX})\s*)?\b{NOT_ONE}(?P<n1>{NUMBER})(?:\s*(?:to|–|-)\s*(?P<h1>{NUMBER}))?\s+(?:(?:healthy|adult|paediatric|pediatric)\s+)?{PEOPLE}\b"
    rf"|\bn\s*(?:=\s*(?P<a2>[~≈≃])?|(?P<a6>[~≈≃]))\s*(?P<n2>\d[\d,]*)|\b(?P<n4>\d{{1,3}}(?:,\d{{3}})*|\d+)-(?:patient|person|participant|subject|volunteer)\b"
    rf"|\b(?:enrolled|enrolling|recruited|randomi[sz]ed|treated|enrol(?:l)?ment(?:\s+(?:of|target))?:?|sample\s+size\s+of|(?:target|planned|sample|study|trial)\s+size:|target\s+of|to\s+(?:enrol(?:l)?|recruit))\s+(?:(?P<a3>{APPROX})\s*)?{NOT_ONE}(?P<n3>{NUMBER})(?:\s*(?:to|–)\s*(?P<h3>{NUMBER}))?(?![\w%])"
    rf"|(?<!\bof )(?<!\bwhom )(?:(?<![\w~≈])(?P<a7>{APPROX})\s*|(?<![\w.]\s)(?<![\w.,]))(?P<n7>\d{{1,3}}(?:,\d{{3}})+|\d+)\s+(?:were\s+)?(?:enrolled|randomi[sz]ed|recruited)\b(?!\s+(?:in|into|to|by|from|at)\b)"  # "42 enrolled; …", as a study's characteristics say
    rf"|\brecruiting\s+(?P<said5>(?:(?P<a5>{APPROX})\s*)?(?P<n5>{NUMBER}))(?![\w%]|[.,]\d))",  # "is recruiting about 1,600": the count after the status
    re.IGNORECASE,
))
FRACTIONS = (
    Gated(re.compile(r"(?P<n>\d(?<![\w.]\d)\d{0,4})\s*(?:/|of|out\s+of)\s*(?P<d>\d{1,5})\b(?![.,]\d|\s*(?:%|mg|kg|ml|years?|months?|weeks?|days?)\b)", re.IGNORECASE)),
    Gated(re.compile(r"\bout\s+of\s+(?P<d>\d{1,5})\s+(?:[\w-]+\s+){0,3}?[\w-]+,?\s+(?P<n>\d{1,5})\s+(?:had|were|was|showed|developed|reached|achieved|relapsed)\b", re.IGNORECASE)),
)
"""A share said as a fraction ("11/25", "14 of 48", "out of 25 children, 15 had …"): said of a
paper, it must be the abstract's fraction over the same whole, where the abstract gives one."""
LISTED_PEOPLE = Gated(re.compile(rf"(?:(?<![\w~≈])(?P<approx>{APPROX})\s*)?\b(?P<list>{NUMBER}(?:\s*,\s*{NUMBER})*\s*,?\s*(?:and|or)\s+{NUMBER})\s+{PEOPLE}\b", re.IGNORECASE))
"""Several enrollments sharing one noun ("two trials of 123 and 208 patients", "roughly 970 and 900
participants"): one claim each, for the trials named with them in turn when as many are named."""
_LISTED_COUNT = re.compile(rf"(?:(?<![\w~≈])(?P<approx>{APPROX})\s*)?(?P<n>{NUMBER})", re.IGNORECASE)
"""A count of a list, with its own "about" or "~" ("974 and ~900 participants, respectively")."""
RESPECTIVELY = Gated(re.compile(
    rf"(?:(?<![\w~≈])(?P<approx>{APPROX})\s*)?\b(?P<list>{NUMBER}(?:\s*,\s*(?:{APPROX}\s*)?{NUMBER})*\s*,?\s*and\s+(?:{APPROX}\s*)?{NUMBER})"
    rf"\s*,?\s*(?:{PEOPLE}\s*,?\s*)?(?:respectively\b|resp\.)", re.IGNORECASE
))
PERCENT = Gated(re.compile(r"(\d(?<![\d.,]\d)\d*(?:\.\d+|,\d{1,2}(?!\d))?)\s*%"))  # a digit first (not after a digit, "." or ","); "29,2 %" a decimal comma
_DIGIT_WORD = r"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)"
WORDED_PERCENT = Gated(re.compile(
    r"(?<![\w-])(?<!point )((?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[- ](?:one|two|three|four|five|six|seven|eight|nine))?"
    rf"|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|{_DIGIT_WORD})"
    rf"(?:[ \t]+point[ \t]+({_DIGIT_WORD}(?:[ \t]+{_DIGIT_WORD})*))?[ \t]+per[ \t]?cent\b",
    re.IGNORECASE,
))
"""A share said in words, as a dictated note has it ("thirty-five percent reached NEDA", "sixty
point three percent")."""


def _worded_share(match: re.Match) -> str:
    whole = str(_number(match.group(1).replace("oh", "zero")))
    decimals = "".join(str(_number(word.replace("oh", "zero"))) for word in (match.group(2) or "").split())
    return f"{whole}.{decimals}" if decimals else whole
CONFIDENCE = Gated(re.compile(r"\b\d+\s*%\s*(?:CI|confidence interval)[^)\n;]*", re.IGNORECASE))
RATIO = Gated(re.compile(r"\b(?:OR|HR|RR|aOR|aHR|odds\s+ratio|hazard\s+ratio|risk\s+ratio)\s*(?:of|=|:|was|were|is)?\s*(?:(?:about|around|approximately|roughly|nearly|almost)\s+|[~≈]\s*)?(\d+(?:\.\d+|,\d+(?![\d.]))?)"))
def _rate_pattern(profile: Profile) -> Gated | None:
    """A rate said in words, by the terms of the profile's measures counted per year ("the
    annualised relapse rate falling to 0.4", "an ARR of 0.04"): the first decimal after its term,
    within a few words and the same clause."""
    terms = [term for measure in profile.outcome_measures if "per_year" in measure.units for term in measure.terms if not term.regex]
    if not terms:
        return None
    words = "|".join(
        (re.escape(term.text) if term.case_sensitive else f"(?i:{re.escape(term.text)})") for term in sorted(terms, key=lambda t: -len(t.text))
    )
    return Gated(re.compile(rf"\b(?:{words})s?\b[^\d.;:!?()\n]{{0,30}}?(?<![\w.])(?P<value>\d*\.\d+)(?![\d%])"))


COUNTED = Gated(re.compile(r"(\d(?<![\w.,]\d)(?:\d{0,2}(?:,\d{3})+|\d*))(?![\d.,%])[ \t]+([A-Za-z][\w-]*)[ \t]+([A-Za-z][\w-]*)"))
"""A count with the two words it counts ("228 active trials"): said of a paper, it must be the
count its abstract gives those words, where the abstract counts them."""
_NOT_COUNTED = frozenset(
    "of in and or to the a an with for at on by from were was is are had have who that which than per "
    "year years month months week weeks day days hour hours mg kg ml g µg mcg percent times".split()
)
"""Words after a number that make it no count of a thing (a duration, a dose, a preposition)."""
ABSTRACT_PERCENTS = re.compile(r"(\d+(?:\.\d+)?)(?=(?:\s*(?:,|and|or|to|–|-|vs\.?|versus)\s*\d+(?:\.\d+)?)*\s*%)")

_CAP = r"[A-ZÀ-ÞĀ-Ž]"
NAME = (rf"(?:the\s+)?{_CAP}[\w.&'’\-]*(?:[ \t]+(?:(?:of|de|del|des|du|di|da|for|and|i|y|la|le|at|am|&|–|-)(?:[ \t]+|[ \t]*\n[ \t]*))*(?:{_CAP}|\d)[\w.&'’\-]*)*"
        r"(?:[ \t]+(?:foundation|society|hospital|university|institute|trust|network|consortium)\b)?")
"""An organisation's name: words in capitals (small joining words between, a line break after one:
"the University of" / "Melbourne"), and a kind of organisation after them written small ("the
Italian MS foundation")."""
SPONSOR_PATTERNS = [
    Gated(re.compile(p, re.UNICODE)) for p in (
        rf"\b(?:[Ss]ponsored|[Ll]ed|[Rr]un|[Cc]onducted|[Ff]unded|[Oo]rgani[sz]ed|[Cc]oordinated)\s+(?:in\s+part\s+|jointly\s+|mainly\s+)?by\s+(?P<name>{NAME})",
        rf"\b[Ss]ponsor(?:ed)?\s*(?::|is|was|being)\s+(?P<name>{NAME})",
        rf"\b(?:is|was|are|were)\s+(?P<name>{NAME})(?<=['’]s|s['’])(?=\s*(?:[;,.)]|$))",  # "…, is Merck KGaA's; ongoing"
        rf"(?:^|[–—(,;]\s*|\s-\s)[Ss]ponsor\s+(?P<name>{NAME})",  # "… recruitment over – sponsor Oslo University Hospital"
        rf"(?P<name>{NAME})\s+(?:is|was|are)\s+(?:listed|named|registered|given)\s+as\s+(?:the\s+)?(?:lead\s+)?sponsor",
        rf"\blisting\s+(?P<name>{NAME})\s+as\s+(?:the\s+)?(?:lead\s+)?sponsor",
        rf"\bwith\s+(?P<name>{NAME})\s+as\s+(?:an?\s+|the\s+)?(?:collaborator|partner|co-sponsor|sponsor)",
        rf"\b(?:[Rr]un|[Cc]onducted|[Dd]eveloped|[Ss]ponsored|[Ff]unded|[Ll]ed)\s+(?:jointly\s+|together\s+)?with\s+(?P<name>{NAME})",
        rf"\b[Ii]n\s+(?:partnership|collaboration)\s+with\s+(?P<name>{NAME})",
        rf"(?P<name>{NAME})\s+(?:among\s+the\s+collaborators|collaborating|as\s+(?:a\s+)?collaborator)",
    )
]
ORGANISATION_HINT = Gated(re.compile(
    rf"\b(?:by|from)\s+(?P<by>{NAME})|\([ \t]{{0,2}}(?P<opens>{NAME})\s*[),]|,\s*(?P<closes>{NAME})\s*\)"
    rf"|^[ \t]*(?:[-*•]|\d{{1,3}}[.)/])?[ \t]*(?P<leads>{NAME})[ \t]*,|^[ \t]*[•▪●■◦][ \t]*(?P<alone>{NAME})[ \t]*$",
    re.UNICODE | re.MULTILINE,
))
"""An organisation named after "by" or "from", alone in (or last in) parentheses, or first in a
line or list item before a comma ("- Nantes University Hospital, phase 3, 386 pts"). A name that
opens parentheses after a link's (blanked) address is the link's text, the writer's source
("(<a href=…>Fierce Biotech</a>)"), not a sponsor."""
HOSTED = Gated(re.compile(rf"\b(?:study|trial|phase\s+\S+|pilot|cohort)(?:\s+of\s+[\w-]+)?\s+at\s+(?P<at>(?:the\s+)?{NAME})", re.UNICODE))
"""Where a trial is run ("a phase 1 study of rituximab at Mayo Clinic"): the writer's word for who
runs it, which fits the record's sponsors, collaborators or the sites it lists."""
NAMED_BEFORE = [
    (Gated(re.compile(r"-(?:sponsored|funded)\b")), re.compile(r"\Z"), False),  # "a Merck-sponsored phase 2" ("China-led" names a place)
    (Gated(re.compile(r"-(?:led|run)\b")), re.compile(r"\Z"), True),  # "UCL-led", "Cleveland Clinic-run": an organisation's name only ("China-led" names a place)
    (Gated(re.compile(r"\bsponsor\b(?![-\w]|\s*:)")), re.compile(r"\s+(?:(?:is|was|are|were)\s+the\s+(?:lead\s+)?)?\Z"), False),  # "(UCSF sponsor, …)", "Biogen were the sponsor"
    (Gated(re.compile(
        r"\b(?:ran|runs|running|sponsored|sponsors|sponsoring|conducted|conducts|launched|registered|moved|testing|tests|tested)\s+(?:a|an|the|its|their|this|that\s+one|it\b(?!\s+(?:is|was|has|had)\b))\b"
    )), re.compile(r"[*_]{0,3}\s+(?:(?:is|was|has|have|had)\s+)?(?:(?:also|now|still|currently|already|itself|too)\s+)?\Z"), True),  # "The Cleveland Clinic ran a phase 2", "Cellerys also runs the …", "Stanford University is running it", "Allogene has moved its CAR-T into a phase 1"
    (Gated(re.compile(r"\bha(?:s|ve)\s+(?=[A-Z][\w-]*\d[\w-]*\s+in\b)")), re.compile(r"\s+\Z"), True),  # "Novartis has CC-97540 in NCT…"
]
"""Words that follow a sponsor's name, what may stand between (``…\\Z``), and whether the name
must look like an organisation's: the name is read back from the words, so the text is scanned
for them, not for a name at every capital."""
_CUES = Screen([cue for cue, _, _ in NAMED_BEFORE])
_NAME_BEFORE = re.compile(rf"(?P<name>{NAME})\Z", re.UNICODE)
_TYPED_BY = re.compile(
    r"\b(?:sponsored|led|run|conducted|funded)[ \t]+by[ \t]+(?!(?:a|an|the|its|their|this|that|our|my|your|his|her|one|some|several|many|local|private|public)\b)"
    r"(?P<name>[a-z][\w&.-]*(?:[ \t]+[a-z][\w&.-]*){0,3})"
)
"""A sponsor typed in lower case after "run by" ("run by karolinska"): its longest start that names
an organisation is taken."""
_TYPED_NAME_BEFORE = re.compile(
    r"(?<![\w-])(?P<name>(?:(?!(?:the|that|this|a|an|and|or|of|our|my|your|their|which|who|study|trial|one|same|local)[ \t])[a-z]{3,}[ \t]+){1,3}"
    r"(?:clinic|hospital|university|institute|centre|center|foundation))\Z"
)
"""An organisation's name typed in lower case, as chats are ("mayo clinic ran it")."""
_ROLES = frozenset("investigator industry academic government company physician patient self state publicly privately charity co".split())
"""Words before "-sponsored" that name a kind of sponsor, not one ("Investigator-sponsored", "Co-funded")."""
_PART_OF = re.compile(r"(?:the\s+)?[A-Z]{2,6}['’]s\s+(?=[A-Z]{2,8}(?![\w-]))")
"""An acronym's possessive before another acronym ("the NIH's NINDS"): the second is the part meant."""
_PLACE_OF = re.compile(r"[A-Z][a-z]+['’]s\s+(?=[A-Z])")
"""A place's possessive before an organisation's name ("Shanghai's RenJi Hospital", "Wuhan's Union Hospital")."""
_NATIONAL = re.compile(r"[A-Z][a-z]+(?:ian|ish|ese|ean|ic)\s")
"""A people's adjective opening a name ("Italian network", "Swedish registry", "Nordic centres")."""
_CODE_OR_KIND = re.compile(
    r"-(?:sponsored|funded|led|run)\b|^[A-Z][A-Z-]*\d[A-Z0-9-]*$|^(?:multi|single|mono|dual|two|inter)[- ]?(?:cent(?:er|re)|site|national)s?$", re.IGNORECASE
)
"""A kind of sponsor ("Company-sponsored"), a trial's code ("KYSA-7") or its design ("A
Multi-Center, Open-Label … Study", a registered title's first words): names no sponsor."""
_DETERMINERS = frozenset("its their the this that our your his her whose each every one another".split())
_PRODUCT_FROM = re.compile(r"\b[A-Z][\w.-]*\d[\w.-]*[ \t]+\Z|\b(?:trial|study|programme|program)[ \t]+\Z")
"""A product's code or a trial just before "from" ("MB-CART2019.1 from Kite", "evobrutinib's phase 3
programme from Biogen"): the company named after it runs the trial (after a reference, "NCT… from
Novartis" may name a maker of what it tests: no claim)."""
_OWNER_AFTER_TITLE = re.compile(r"(?:^|\s)\S*[-\d]\S*\s+(?P<owner>[A-Z][a-z]{3,}['’]s?)$")
"""A one-word owner after a heading's last word, a code ("CAR-T Allogene's"; not "AB Science's")."""


ONE_WORD_OWNER = re.compile(r"[A-Z][a-z]{3,}")
"""One capitalised word before "'s" and a trial ("Mesoblast's phase 2"); "BeiGene's" and "SickKids'" too."""
_NOT_OWNERS = frozenset(
    "today tomorrow yesterday year week month everyone nobody someone world nation country this that they these those "
    "there then here when where which what also their".split()
)
_ILLNESS = re.compile(r"['’]s?\s+(?:disease|syndrome|palsy|encephalitis|sclerosis|neuritis|myelitis|thyroiditis)\b", re.IGNORECASE)
"""A possessive naming an illness ("Parkinson's disease trial"), not an owner."""
OWNER = re.compile(rf"(?P<owns>{NAME})(?<=['’]s|s['’])\s+(?:(?:[\w-]+,?\s+){{0,3}}?(?:phase|trial|study)\b|(?:[\w-]*[A-Z0-9][\w-]*\s+){{1,3}}\((?=[\s\[])| {{10,}}(?=[,;:.)]|\s))", re.UNICODE)
"""An organisation owning a trial ("Kite Pharma's phase 1", "Acorda Therapeutics' first study",
"Sanofi's evolutionRMS 2 (NCT…)", a trial's name before its id, "Biogen's NCT…" (the id blanked), not
"IASO Bio's announcement (…)");
read only in a sentence with an apostrophe, as a name may start at any capital."""
PRODUCT = re.compile(
    r"\b(?:[A-Za-z]{1,6}-[A-Za-z]{1,6}\d{1,6}\.\d{1,2}(?!\d)"  # MB-CART2019.1
    r"|[A-Za-z]{1,6}-?[A-Za-z]{0,6}\d{1,6}(?:(?:-[A-Za-z]{0,6}|[A-Za-z]{1,6})\d{1,6})+|[A-Za-z]{1,6}-?\d{2,6}[A-Za-z]?"
    r"|[A-Za-z]{2,6}-[A-Za-z]{1,3}\d{1,6}|[a-z]{3,}-cel)\b"
)
"""A product's code or short name: KYV-101, CT103A, CNM-Au8, obe-cel, P-CD19CD20-ALLO1."""
SLASHED_COUNT = re.compile(rf"(?<=\s/\s)(?P<a>~|≈|(?:about|around|approx\.?|ca\.)\s)?\s*(?P<n>\d{{1,3}}(?:,\d{{3}})+|\d{{1,5}})(?=[ \t]*(?:/|$|\n))", re.IGNORECASE)
"""A bare count among facts set apart by slashes ("NCT… / Roche / phase 3 / ~1,050 / active"): its enrollment."""
_FIELDED_LINE = re.compile(r"(?:^|\n)[ \t]*(?:[-*•]|\d{1,3}[.)])[ \t]+[^\n]*,[^\n]*\Z|(?:^|\n)[^\n,]*,[^\n]*\Z")
"""A line of facts set apart by commas (a list item's "…, Novartis, phase 3, recruiting, 800")."""
DRUG_OWNER = re.compile(rf"(?P<owns>{NAME})(?<=['’]s|s['’])[ \t]+(?P<drug>[\w-]+)", re.UNICODE)
"""An organisation's possessive before a word, read as a drug's maker when the word names a drug
("Roche's evobrutinib", "Kyverna's KYV-101")."""
LISTED_ORGANISATION = re.compile(rf"(?:\(|,)[ \t]*(?P<name>{NAME})[ \t]*(?=[,;)])", re.UNICODE)
"""An organisation named alone among a reference's claims in parentheses: the sponsor, or where
the trial runs ("(phase 2, Oslo University Hospital, 50 participants, recruitment over)")."""
COMPANY_WORD = re.compile(r"(?!Mc|Mac)[A-Z][a-z]+(?:[A-Z][a-z]+)+")
"""One word with a capital inside, as companies name themselves ("BeiGene", "AstraZeneca",
"InnoCare"); not a Scottish or Irish surname ("McDonald")."""
ATTRIBUTIVE = re.compile(r"(?<=\w)(?:[ \t]+phase[ \t]+[\dIV]+[ab]?(?:/[\dIV]+)?)?[ \t]+(?:trial|study)\b")
"""Where a listed organisation's name, written before "trial" or "study" (with a phase between),
says whose the trial is ("a Sanofi phase 2 study", "the Roche trial"); an acronym there names a
method or a target as often ("an MRI study"), so only the profile's organisations are read so."""
_DENIED = re.compile(r"\b(?:not|rather\s+than|instead\s+of|except|excluding)\s+(?:in\s+|for\s+)?(?:an?\s+)?\Z", re.IGNORECASE)
"""Words that deny the condition after them ("was run in scleroderma, not MS", "not an MS-specific trial")."""
FIELD_ORGANISATION = re.compile(rf"(?:^|[ \t][-–—|][ \t]|;[ \t]*)(?P<name>{NAME})(?=[ \t]+[-–—|][ \t]|[ \t]*;)", re.UNICODE | re.MULTILINE)
"""An organisation standing alone as one field of a line of fields set apart by dashes, bars or
semicolons ("Orelabrutinib NCT04711148 - BeiGene - Ph 2 RRMS - 160"): its sponsor, or where it runs."""
DASHED_ORGANISATION = re.compile(rf"[ \t][-–—][ \t](?P<name>{NAME})(?=[ \t]*,)", re.UNICODE)
"""An organisation after a dash, first of a line's comma-set facts ("tolebrutinib PPMS NCT… - Roche, 767 ppl")."""
_GROUP_AT = re.compile(rf"(?:['’]s?)?\s+(?:research\s+)?(?:group|team|lab|laboratory|unit)\s+(?:at|in)\s+(?:the\s+)?(?P<at>{NAME})", re.UNICODE)
_SHORT_NAME = re.compile(r"\s*\([A-Z][A-Za-z&]{1,9}(?:-[A-Z][A-Za-z&]{1,9})?\)")
_SENTENCE_OPENING = re.compile(r"(?:(?:In|On|At|Since|After|Before|Then|Now|Also|Meanwhile|And|But|Today|Here|There|When|While|Later|With|An?)\s+|(?:19|20)\d\d,?\s+)+")
ORG_WORDS = frozenset(
    form for word in (
        "university universitat universitatsklinikum hospital hospitals institute institut instituto center centre clinic clinica "
        "foundation fondazione fundacio fundacion college society network inc ltd llc gmbh ag plc corp company pharma hospices "
        "pharmaceuticals pharmaceutical therapeutics biotherapeutics biopharma biopharmaceuticals biotech biotechnology bio biosciences biologics biomedicine "
        "biosystems laboratories labs healthcare hf nhs trust ministry agency kgaa chu hopitaux assistance "
        "sa nv bv asa spa sas srl oy corporation limited"
    ).split() for form in (word, *plain_words(word))
)
"""Words of organisations' names, as written and as names are compared (made plain: "bioscience")."""
GENERIC_WORDS = ORG_WORDS | frozenset(
    "the of and for de la at medical research health national general school sciences science group international "
    "st saint state federal china beijing us usa".split()
)
_HONORIFICS = frozenset("dr prof professor md phd mph msc frcp".split())
"""A person's titles and degrees, left out when names are compared ("Dr Emmanuelle Waubant" is
"Emmanuelle Waubant, MD PhD")."""
_ACRONYM_SKIP = frozenset("of and for the de la di du des del at in on".split())
_PAST = re.compile(r"\b(?:was|were|previously|formerly|from|until|had\s+been)\s+$", re.IGNORECASE)
_ONGOING = frozenset({"RECRUITING", "NOT_YET_RECRUITING", "ENROLLING_BY_INVITATION", "ACTIVE_NOT_RECRUITING"})
_NOT_SAID = re.compile(
    r"\b(?:to|will|would|should|expected\s+to|planned\s+to|due\s+to)\s+(?:be\s+)?$|(?-i:\bwho\s+$)"
    r"|\b(?:if|whether)\s+(?:\w+\s+){0,3}$|\b(?:after|before|when|while|upon|without)\s*$|\b(?:not|never)\s+$"
    r"|\b(?:follows|following|replaces|replacing|succeeds|succeeding)\s+(?:the|a|an|its|their)\s+$",
    re.IGNORECASE,
)
"""What, just before status words, makes them no claim: a future ("expected to be completed"), a
person ("participants who completed the course"), a doubt ("we don't know if it has finished"), a
time ("terminated after enrolling one person") or a denial ("suspended, not terminated")."""
_SUPERSEDED = re.compile(r"\s*[,;]?\s*(?:(?:but|and)\s+)?(?:now|→|->|to)\s+", re.IGNORECASE)
"""What joins a status that was to the one that followed it ("completed, now recruiting",
"from completed to recruiting")."""
_SHARED = re.compile(r"\b(?:both|each|all|either)\b", re.IGNORECASE)

_MISSPELT = r"recru(?:it|t|itt|iit)ing"
""""Recruiting" as it is often typed ("recruting", "recruitting"): every status phrase reads it so."""
STATUS_PATTERNS = [(Gated(re.compile(pattern.replace("recruiting", _MISSPELT), re.IGNORECASE)), statuses) for pattern, statuses in STATUS_PHRASES]
_ONGOING_ONLY = [statuses for _, statuses in STATUS_PATTERNS if set(statuses) <= _ONGOING]
"""Statuses a past tense contradicts ("was recruiting" is no claim that it is)."""
STATUS_SCREEN = Screen([pattern for pattern, _ in STATUS_PATTERNS])
SPONSOR_SCREEN = Screen([*SPONSOR_PATTERNS, ORGANISATION_HINT, *(cue for cue, _, _ in NAMED_BEFORE)])


@lru_cache(maxsize=1024)
def _column(header: str) -> str:
    """A table header as the column names read it: its words made plain, a qualifier in
    parentheses left out ("Status (as of Sept)" is a status column)."""
    words = plain_words(re.sub(r"\([^)]*\)|_", " ", header))
    while len(words) > 1 and words[-1] in _REPORTED:
        words = words[:-1]
    return " ".join(words)


_REPORTED = frozenset("reported stated claimed cited quoted given listed said".split())
"""Words after a column's name saying whose words its cells are ("phase_reported", "N stated"):
the writer's, as every cell is."""


@lru_cache(maxsize=1024)
def _kind(header: str, *kinds: frozenset[str]) -> tuple[frozenset[str] | None, bool]:
    """Which known columns a header names, and whether wholly: itself, or itself without a
    footnote's letter ("n randomised a", from "n randomised<sup>a</sup>"); else one of its pieces
    ("Sponsor / funder", "Status / result"), whose cells may say more than that column's field."""
    header = header.replace("_", " ")  # "lead_or_partner", as a sheet's column is named
    whole = {_column(header), _column(re.sub(r"(?<=\w)\s+[a-z*†‡]$", "", header))}
    pieces = {_column(piece) for piece in re.split(r"\s+(?:or|and)\s+|\s*[/&]\s*", header)}
    for known in kinds:
        if whole & known:
            return known, True
    return next(((known, False) for known in kinds if pieces & known), (None, False))


def _columns(*headers: str) -> frozenset[str]:
    """Column headers as a table's header reads once its words are made plain (singular, lower case)."""
    return frozenset(" ".join(plain_words(header)) for header in headers)


_PHASE_COLUMNS = _columns("phase", "trial phase", "stage", "ph")
_STATUS_COLUMNS = _columns("status", "recruitment", "recruitment status", "trial status", "registry status", "overall status", "situation")
_SPONSOR_COLUMNS = _columns(
    "sponsor", "sponsors", "lead sponsor", "sponsor collaborators", "sponsored by", "run by", "led by", "funded by", "funder",
    "lead organisation", "lead organization", "organisation", "organization", "company", "developer", "lead", "who runs it",
    "lead or partner",
)
_WHO_COLUMNS = _columns("who", "by", "team", "partner", "partners", "institution", "centre", "center", "group")
"""Columns that may name who runs a trial or who takes part ("Who": "Kyverna", or "adults with
PPMS"): a cell naming an organisation is a sponsor claim, any other is read as prose."""
_AHEAD_COLUMNS = _columns(
    "next milestone", "milestone", "next milestones", "milestones", "next step", "next steps", "catalyst", "next catalyst",
    "upcoming", "next readout", "expected readout", "readout", "expected", "outlook", "what next", "what's next",
)
"""Columns of what is to come ("Next milestone: Enrollment complete"): plans, not claims about the record now."""
_ENROLLMENT_COLUMNS = _columns(
    "n randomised", "n randomized", "randomised", "randomized", "n enrolled", "n", "enrollment", "enrolment", "participants", "patients", "people", "pts", "size", "sample size", "target enrollment",
    "target enrolment", "enrolled", "number enrolled", "no of participants", "no of patients", "target n", "planned n",
    "target size", "target", "planned size", "persons", "study size", "trial size", "planned enrollment", "planned enrolment", "target number",
    "places", "trial places",  # a charity's "Places: 90", the people a trial takes
)


class Claim(NamedTuple):
    """A claim read from a text (a tuple: a 4 MB sentence holds hundreds of thousands)."""

    field: str  # phase | status | sponsor | enrollment | condition | figure
    written: str
    value: Any
    start: int
    end: int
    order: int | None = None  # its place in a "respectively" list, or in a list of counts
    listed: int = 0  # how many that list of counts holds (0 for "respectively", which says it is in turn)


def mask_quotes(text: str) -> str:
    """The text with every quotation blanked out (same length, so positions hold).

    Read as the pattern ``“[^”]*”|"[^"\n]*"`` would be, but an opening curly mark after the
    last closing one is not tried: the regex would scan to the end of the text from each of
    them (quadratic time)."""
    last_close = text.rfind("”")
    parts, position = [], 0
    for opening in OPENING_QUOTE.finditer(text):
        start = opening.start()
        if start < position:
            continue
        if opening.group() == "“":
            if start > last_close:
                continue
            end = text.index("”", start + 1) + 1
        elif quoted := STRAIGHT_QUOTED.match(text, start):
            end = quoted.end()
        else:
            continue
        if SPOKEN.search(text, start, end) or ID_LIKE.search(text, start, end) or not text[text.rfind("\n", 0, start) + 1:start].strip(" \t>"):
            continue  # words someone said, sentence after sentence ("… unthinkable in MS. Orca-Q is now recruiting …"), a sentence quoted with the record it cites, or one set on a line of its own (an AI answer's line being checked, a forwarded message), not a title
        parts += [text[position:start], " " * (end - start)]
        position = end
    parts.append(text[position:])
    return "".join(parts)


def _number(words: str) -> int:
    """A number in digits or words ("1,131", "twelve", "twenty-four")."""
    words = words.lower().strip()
    if "hundred" in words:  # "five hundred and eighty one", "thirteen hundred", "a hundred"
        left, _, right = words.partition("hundred")
        right = re.sub(r"^\s*and\s+", "", right).strip()
        return (1 if left.strip() == "a" else _number(left)) * 100 + (_number(right) if right else 0)
    if words in _WORD_NUMBERS:
        return _WORD_NUMBERS[words]
    if words.endswith("dozen"):  # "two dozen"
        return _number(words[:-5]) * 12
    if tens := re.fullmatch(r"([a-z]+)[-\s]([a-z]+)", words):
        return _WORD_NUMBERS[tens.group(1)] + _WORD_NUMBERS[tens.group(2)]
    if words.endswith("k"):
        return round(float(words[:-1]) * 1000)
    return int(words.translate(_SEPARATORS))


_SEPARATORS = str.maketrans("", "", ",. \t\u00a0\u202f")
"""What sets a number's thousands apart: "1,131", "1.131", "1 131"."""


def _phase_key(match: re.Match) -> str | None:
    first = _NUMERAL.get(match.group(2).lower(), match.group(2))
    second = match.group(3) and _NUMERAL.get(match.group(3).lower(), match.group(3))
    if match.group(1):
        return "early_phase1" if first == "1" and not second else None
    if second and second != first:
        return {("1", "2"): "phase1_2", ("2", "3"): "phase2_3"}.get((first, second))
    return f"phase{first}"


def _looks_organised(name: str) -> bool:
    return any(word in ORG_WORDS for word in plain_words(name))


class _Spans:
    """The characters of a segment already claimed, as a byte mask: whether a new claim overlaps
    one is a search of its own few characters (a 4 MB sentence holds hundreds of thousands of
    claims; comparing each with every earlier one was quadratic)."""

    def __init__(self, offset: int, length: int) -> None:
        self._offset = offset
        self._mask = bytearray(length)

    def take(self, start: int, end: int) -> bool:
        """Claim the characters, unless one of them is claimed already."""
        a, b = start - self._offset, end - self._offset
        if self._mask.find(1, a, b) != -1:
            return False
        self._mask[a:b] = b"\x01" * (b - a)
        return True

    def free(self, start: int, end: int) -> bool:
        """Whether none of the characters is claimed yet."""
        return self._mask.find(1, start - self._offset, end - self._offset) == -1

    def add(self, start: int, end: int) -> None:
        self._mask[start - self._offset : end - self._offset] = b"\x01" * (end - start)

    def remove(self, start: int, end: int) -> None:
        self._mask[start - self._offset : end - self._offset] = bytes(end - start)


SHORT_SEGMENT = 160
SHORT_SEGMENTS_KEPT = 20_000
"""Segments up to this many characters have their claims kept by wording, up to this many wordings."""


class ClaimReader:
    def __init__(self, profile: Profile):
        self.condition = TermMatcher(
            [(("ms", profile.condition.name), t) for t in profile.condition.terms]
            + [(("not_ms", nc.name), t) for nc in profile.condition.not_conditions for t in nc.terms]
        )
        self.organisations = SponsorVocabulary(profile)
        stems = "|".join(re.escape(stem) for stem in profile.verifier.name_stems)
        self.drug_name = re.compile(rf"\b[A-Za-z]{{3,}}(?:{stems})\b" if stems else r"(?!)", re.IGNORECASE)  # (?!): no stems, no names
        self._products = frozenset(name.lower() for names in profile.verifier.products for name in names)
        self.syndromes = frozenset(term.lower() for term in profile.verifier.syndromes)
        self.classes = tuple(term.lower() for term in profile.verifier.classes)
        names = sorted({strategy.name for strategy in profile.strategies}, key=len, reverse=True)
        self._labels = re.compile("|".join(re.escape(name) for name in names), re.IGNORECASE) if names else None  # "Neuroprotection in progressive MS"
        self.rates = _rate_pattern(profile)
        self._named: dict[str, frozenset[str]] = {}
        self._short: dict[tuple[str, str | None], list[Claim]] = {}

    def named_in(self, study: Study) -> frozenset[str]:
        """Whether a record's conditions and titles name MS ("ms") or a condition that is not MS
        ("not_ms"), read once per record (a long review cites each many times)."""
        if study.id not in self._named:
            named = "; ".join([*study.conditions, study.brief_title or "", study.official_title or ""])
            self._named[study.id] = frozenset(h.key[0] for h in self.condition.find(named))
        return self._named[study.id]

    def ms_in_class(self, study: Study) -> bool:
        """Whether a trial lists only a class of diseases MS is one of, and names MS among its
        keywords (azer-cel's "B-cell Mediated Autoimmune Disorders", keywords "Progressive MS")."""
        return bool(study.conditions) and all(any(w in c.lower() for w in self.classes) for c in study.conditions) and any(
            h.key[0] == "ms" for h in self.condition.find("; ".join(study.keywords))
        )

    def read(self, text: str, start: int, end: int, only: str | None = None) -> list[Claim]:
        """The claims of ``text[start:end]`` (``text`` with quotations masked), positions in
        ``text``; with ``only``, just the claims of that field (a table column's).

        A segment's claims depend on its words alone, so a short one (a table cell: "yes", a
        year, a strategy's name) is read once per wording and its claims moved to each place."""
        if end - start > SHORT_SEGMENT:
            return self._read(text[start:end], start, only)
        key = (text[start:end], only)
        if (claims := self._short.get(key)) is None:
            if len(self._short) >= SHORT_SEGMENTS_KEPT:
                self._short.clear()
            claims = self._short[key] = self._read(key[0], 0, only)
        return [c._replace(start=c.start + start, end=c.end + start) for c in claims]

    def _read(self, segment: str, start: int, only: str | None) -> list[Claim]:
        end = start + len(segment)
        lowered = folded(segment)
        claims: list[Claim] = []
        taken = _Spans(start, end - start)

        def add(claim: Claim) -> None:
            if taken.take(claim.start, claim.end):
                claims.append(claim)

        titles = [(start + t.start(), start + t.end()) for t in TITLE_RUN.finditer(segment)]
        for a, b in titles:
            taken.add(a, b)
        if only in (None, "phase"):
            for match in PHASE.finditer(segment, lowered):
                if not lowered.startswith("phase", match.start()) and "phase" not in lowered[match.start():match.start() + 11]:
                    if not _PH_PHASE.match(re.sub(r"(?i)^early[\s-]+", "", segment[match.start():match.end()])):
                        continue
                key = _phase_key(match)
                if key in _PARTS_OF and lowered.startswith(_PART_WORDS, match.end()):  # "its phase 2 part": a phase 1/2 or 2/3 trial's
                    key = _PARTS_OF[key]
                later = _LATER.search(segment, max(0, match.start() - 40), match.start()) and not _TRIAL_AFTER.match(segment, match.end())
                history = _NOT_ITS_PHASE.search(segment, max(0, match.start() - 40), match.start())
                if history and _ITSELF_EARLIER.fullmatch(history.group()) and _TRIAL_AFTER.match(segment, match.end()):
                    history = None  # "the earlier phase 3 study (NCT…)": the trial itself, the earlier of two
                if key and not later and not history and not _ITS_DOSE.match(segment, match.end()):
                    add(Claim("phase", segment[match.start():match.end()].strip(), key, start + match.start(), start + match.end()))
            if match := OBSERVATIONAL.search(segment, lowered):
                add(Claim("phase", segment[match.start():match.end()].strip(), None, start + match.start(), start + match.end()))
        if only in (None, "status"):
            self._statuses(segment, lowered, start, add)
        if only is not None:
            return sorted(claims, key=lambda c: c.start)
        for a, b in titles:
            taken.remove(a, b)
        self._sponsors(segment, lowered, start, add)
        for listing in (RESPECTIVELY, LISTED_PEOPLE):
            for match in listing.finditer(segment, lowered):
                numbers = list(_LISTED_COUNT.finditer(match.group("list")))
                approx, listed = (match.group("approx") or "").lower(), 0 if listing is RESPECTIVELY else len(numbers)
                for order, number in enumerate(numbers):
                    a = start + match.start("list") + number.start("n")
                    said = (number.group("approx") or approx).lower()
                    add(Claim("enrollment", number["n"], (_number(number["n"]), None, said), a, a + len(number["n"]), order, listed))
        for fraction in FRACTIONS if "/" in segment or " of " in lowered else ():  # "11/25", "14 of 48", "out of 25 …, 15 had"
            for match in fraction.finditer(segment, lowered):
                add(Claim("figure", match.group(), ("fraction", int(match.group("n")), int(match.group("d"))), start + match.start(), start + match.end()))
        for match in ENROLLMENT.finditer(segment, lowered):
            n1, n2, n3, n4, n5, n7, h1, h3 = match.group("n1", "n2", "n3", "n4", "n5", "n7", "h1", "h3")
            n, high = n1 or n2 or n3 or n4 or n5 or n7, h1 or h3
            approx = next((a for a in match.group("a1", "a2", "a3", "a5", "a6", "a7") if a), "").lower() or ("about" if n.lower().endswith("k") else "")  # "1.2k": thousands, rounded
            a = match.start("said5") if n5 else match.start()  # "recruiting" itself is the status's claim
            if n3 and (lowered.startswith("enrolling", a) or not taken.free(start + a, start + match.end())):
                # "still enrolling about 200", "has completed enrolment of about 200": the words before the count are the status's
                a = match.start("a3") if match.group("a3") else match.start("n3")
            add(Claim("enrollment", segment[a:match.end()].strip(), (_number(n), high and _number(high), approx), start + a, start + match.end()))
        for match in SLASHED_COUNT.finditer(segment) if segment.count(" / ") >= 3 else ():  # "FENhance 2 NCT… / Roche / phase 3 / ~1,050 / active"
            if not re.fullmatch(r"(?:19|20)\d\d", match.group("n")):
                add(Claim("enrollment", match.group().strip(), (_number(match.group("n")), None, (match.group("a") or "").strip().lower()), start + match.start(), start + match.end()))
        for match in COUNTED.finditer(segment, lowered):
            if match.group(2).lower() not in _NOT_COUNTED and match.group(3).lower() not in _NOT_COUNTED:
                words = (match.group(2).lower(), match.group(3).lower())
                add(Claim("count", match.group(), (match.group(1).replace(",", ""), words), start + match.start(), start + match.end()))
        if PERCENT.may_match(segment, lowered):
            shares = CONFIDENCE.pattern.sub(lambda m: " " * len(m.group()), segment) if CONFIDENCE.may_match(segment, lowered) else segment
            for match in PERCENT.pattern.finditer(shares):
                add(Claim("figure", match.group(), ("percent", match.group(1)), start + match.start(), start + match.end()))
        for match in WORDED_PERCENT.finditer(segment, lowered):
            add(Claim("figure", match.group(), ("percent", _worded_share(match)), start + match.start(), start + match.end()))
        for match in RATIO.finditer(segment, lowered):
            add(Claim("figure", match.group(), ("ratio", match.group(1)), start + match.start(), start + match.end()))
        for match in self.rates.finditer(segment, lowered) if self.rates else ():
            add(Claim("figure", match.group(), ("ratio", match.group("value")), start + match.start(), start + match.end()))
        screened = self.condition.may_match([segment]) or self.condition.has_regexes and self.condition.regex_hits(segment)  # the screen leaves out regex terms
        hits = self.condition.find(segment) if screened else []
        if hits and self._labels is not None:  # a strategy's name ("Neuroprotection in progressive MS") labels, it claims no condition
            labels = [m.span() for m in self._labels.finditer(segment)]
            hits = [h for h in hits if not any(a <= h.start and h.end <= b for a, b in labels)]
        not_ms = [h for h in hits if h.key[0] == "not_ms"]
        for hit in hits:
            inside = hit.key[0] == "ms" and any(o.start <= hit.start and hit.end <= o.end for o in not_ms)
            a, b = start + hit.start, start + hit.end
            if hit.key[0] == "ms" and _DENIED.search(segment, max(0, hit.start - 16), hit.start):  # "run in scleroderma, not MS"
                continue
            overlaps = any(x < b and a < y for x, y in titles) or any(c.start < b and a < c.end for c in claims if c.field not in ("figure", "count"))
            if not inside and not overlaps:  # "21 MS patients": a count's words may name the condition, a sponsor's ("National MS Society") not
                claims.append(Claim("condition", segment[hit.start:hit.end], hit.key, a, b))
        return sorted(claims, key=lambda c: c.start)

    def read_cell(self, text: str, start: int, end: int, header: str) -> list[Claim] | None:
        """The claim of a table cell under a column that names its field, or None for another column."""
        cell = text[start:end]
        written = cell.strip()
        if not written:
            return []
        at = start + cell.index(written)
        column, whole = _kind(header, _AHEAD_COLUMNS, _PHASE_COLUMNS, _STATUS_COLUMNS, _SPONSOR_COLUMNS, _ENROLLMENT_COLUMNS, _WHO_COLUMNS)
        if column in (_PHASE_COLUMNS, _STATUS_COLUMNS, _ENROLLMENT_COLUMNS) and not whole:  # "Status / result", "Target / mechanism": its cells say more
            return None
        if column is _AHEAD_COLUMNS:
            return []
        if column is _PHASE_COLUMNS:
            if NO_PHASE_CELL.search(written):
                return [Claim("phase", written, None, at, at + len(written))]
            if BARE_PHASE.fullmatch(written) and (key := _phase_key(PHASE.pattern.fullmatch(f"phase {written}"))):
                return [Claim("phase", written, key, at, at + len(written))]  # "2", "1/2", "III" under "Phase"
            return self.read(text, start, end, only="phase")
        if column is _STATUS_COLUMNS:
            if (statuses := STATUS_CELLS.get(" ".join(written.lower().split()))) is not None:
                return [Claim("status", written, statuses, at, at + len(written))]
            return self.read(text, start, end, only="status")
        if column is _SPONSOR_COLUMNS or column is _WHO_COLUMNS and whole and any(
            _looks_organised(part) or self.organisations.lists(part) or re.fullmatch(r"[A-Z]{3,8}", part) for part in _parts(written)
        ):
            return [Claim("sponsor", written, written, at, at + len(written))]
        if column is _ENROLLMENT_COLUMNS:
            match = re.fullmatch(rf"(?:n\s*[=:]\s*|(?:enrolled|enrolling|randomi[sz]ed|recruited|planned|target(?:ing)?|aiming\s+for|aims\s+for)\s*:?\s*)?(?:(?P<a>{APPROX})\s*)?(?P<n>{NUMBER})(?:\s*(?:to|–|-)\s*(?P<h>{NUMBER}))?\s*(?:\w+)?", written, re.IGNORECASE)  # "n = 88", "enrolled 52"
            if not match:
                return []
            return [Claim("enrollment", written, (_number(match.group("n")), match.group("h") and _number(match.group("h")), (match.group("a") or "").lower()), at, at + len(written))]
        return None

    def _statuses(self, segment: str, lowered: str, start: int, add) -> None:
        if not STATUS_SCREEN.may_match(segment, lowered):
            return
        found: list[tuple[int, int, int, int]] = []  # (start, minus length, pattern, end): leftmost, longest, first listed
        for index, (pattern, _) in enumerate(STATUS_PATTERNS):
            found += [(m.start(), m.start() - m.end(), index, m.end()) for m in pattern.finditer(segment, lowered)]
        found.sort()
        starts = sorted({a for a, *_ in found})
        last_end = -1
        for a, _, index, b in found:
            if a < last_end:
                continue
            if (later := _SUPERSEDED.match(segment, b)) and (after := bisect_right(starts, b)) < len(starts) and starts[after] <= later.end():
                continue  # "status was completed, now recruiting": the first is what it was (a status starts after the joining words)
            statuses = STATUS_PATTERNS[index][1]
            before = segment[max(0, a - 24):a]
            last_end = b  # a phrase not taken as said still takes its words: "was not yet recruiting" is not "recruiting"
            if _NOT_SAID.search(before) or (statuses in _ONGOING_ONLY and _PAST.search(before)):
                continue
            add(Claim("status", segment[a:b], statuses, start + a, start + b))

    def _sponsors(self, segment: str, lowered: str, start: int, add) -> None:
        owned = "'" in segment or "’" in segment
        hosted = " at " in lowered  # "a study … at the Charité": most sentences with "study" or "phase" have no "at"
        fielded = " - " in segment or " – " in segment or " | " in segment or ";" in segment
        for match in ATTRIBUTIVE.finditer(segment) if " trial" in lowered or " study" in lowered else ():  # "a Sanofi phase 2 study"
            named = _NAME_BEFORE.search(segment, max(0, match.start() - 60), match.start())
            if named and self.organisations.lists(named.group("name")) and not re.match(r"(?:the\s+)?[A-Z]{2,8}\Z", named.group("name")):
                self._sponsor(segment, *named.span("name"), start, add, ends_at_cue=True)
        if not owned and not hosted and not fielded and not SPONSOR_SCREEN.may_match(segment, lowered):
            return
        for pattern in SPONSOR_PATTERNS:
            for match in pattern.finditer(segment, lowered):
                self._sponsor(segment, *match.span("name"), start, add)
        for match in _TYPED_BY.finditer(segment) if " by " in lowered else ():  # "run by karolinska", as notes are typed
            words = list(re.finditer(r"\S+", match.group("name")))
            for last in reversed(words):
                name = match.group("name")[: last.end()]
                if self.organisations.lists(name) or self.organisations.typed(name) or _looks_organised(name):
                    self._sponsor(segment, match.start("name"), match.start("name") + last.end(), start, add)
                    break
        for cue, bridge, organised in NAMED_BEFORE if _CUES.may_match(segment, lowered) else ():
            for match in cue.finditer(segment, lowered):
                between = bridge.search(segment, max(0, match.start() - 30), match.start())
                if between is None or not segment[between.start() - 1:between.start()].isalnum():  # a name ends in a letter or digit
                    continue
                if (named := _NAME_BEFORE.search(segment, max(0, between.start() - 120), between.start()) or (
                    _TYPED_NAME_BEFORE.search(segment, max(0, between.start() - 60), between.start()) if organised else None
                )) is None:
                    continue
                name = named.group("name")
                if name.lower() in _ROLES or name.lower() in _DETERMINERS:  # "Its sponsor is …": the name comes after
                    continue
                if organised and not (_looks_organised(name) or self.organisations.lists(name) or re.fullmatch(r"[A-Z]{3,8}", name)):
                    if match.group()[:1] != "-" and (ONE_WORD_OWNER.fullmatch(name) or COMPANY_WORD.fullmatch(name)) and not self._names_product(name):
                        self._sponsor(segment, *named.span("name"), start, add, owner=True)  # "Cellerys also runs the IMCY-0141 study"
                    continue
                self._sponsor(segment, *named.span("name"), start, add, ends_at_cue=True)
        for match in LISTED_ORGANISATION.finditer(segment) if "(" in segment or segment.count(",") >= 3 else ():  # "(phase 2, Oslo University Hospital, 50 participants)"
            name, opened = match.group("name"), segment.rfind("(", 0, match.end("name"))
            closed = segment.find(")", match.end("name"))
            aside = segment[opened:closed] if opened > segment.rfind(")", 0, match.end("name")) and closed > 0 else ""
            line_end = segment.find("\n", match.end("name"))
            if not aside and self.organisations.lists(name) and _FIELDED_LINE.search(segment, 0, match.start("name")) and segment.count(",", segment.rfind("\n", 0, match.start("name")) + 1, line_end if line_end >= 0 else len(segment)) >= 3:
                self._sponsor(segment, *match.span("name"), start, add, hosted=True)  # "- REMODEL-2 NCT… remibrutinib vs teri, Novartis, phase 3, recruiting, 800"
                continue
            if "," not in aside or "  " in name:  # among claims in an aside, not a link's words "(Fierce Biotech)"; no id inside it
                continue
            if (_looks_organised(name) or self.organisations.lists(name)) and any(w not in ORG_WORDS for w in plain_words(name)):
                self._sponsor(segment, *match.span("name"), start, add, hosted=True)
        for match in [*FIELD_ORGANISATION.finditer(segment), *DASHED_ORGANISATION.finditer(segment)] if fielded else ():
            name = re.split(r"[ \t]+[-–—|][ \t]+", match.group("name"))[0]  # a name's own dash joins no fields
            if (self.organisations.lists(name) or COMPANY_WORD.fullmatch(name) or _looks_organised(name)) and any(w not in ORG_WORDS for w in plain_words(name)):
                self._sponsor(segment, match.start("name"), match.start("name") + len(name), start, add, hosted=True)
        owners = OWNER.finditer(segment) if owned else ()
        for match in [*ORGANISATION_HINT.finditer(segment, lowered), *(HOSTED.finditer(segment, lowered) if hosted else ()), *owners]:
            group = next(g for g in ("by", "opens", "closes", "leads", "alone", "at", "owns") if match.groupdict().get(g))
            name, (a, b) = match.group(group), match.span(group)
            if opening := _SENTENCE_OPENING.match(name):  # "And Novartis's masitinib phase 3"
                name = name[opening.end():]
            if group == "owns" and not _looks_organised(name) and (last := _OWNER_AFTER_TITLE.search(name)):  # "Off-the-shelf CAR-T Allogene's …": a title's words, then the owner
                name, a = last.group("owner"), b - len(last.group("owner"))
            bare = re.sub(r"['’]s?$", "", name)
            organised = _looks_organised(name) or group == "owns" and (self.organisations.lists(name) or re.fullmatch(r"[A-Z]{3,8}", bare)) or (
                group == "by" and match.group()[:2].lower() == "by" and (self.organisations.lists(name) or COMPANY_WORD.fullmatch(name))
            )  # "Sanofi's earlier phase 2", "UCL's trial", "NCT… by Novartis", "by BeiGene"
            made = group == "by" and _PRODUCT_FROM.search(segment, 0, match.start()) is not None  # "MB-CART2019.1 from Kite": its maker runs it
            organised = organised or made and self.organisations.lists(name)
            if group == "at" or organised and any(w not in ORG_WORDS for w in plain_words(name)):  # "a study … at the Charité"
                self._sponsor(segment, *match.span(group), start, add, hosted=group == "at")
            elif (group == "owns" or made) and (ONE_WORD_OWNER.fullmatch(bare) or COMPANY_WORD.fullmatch(bare)) and not self._names_product(bare) and not _ILLNESS.match(segment, b):
                self._sponsor(segment, a, b, start, add, owner=True)  # "Mesoblast's randomised phase 2", or "Burt's trial"
        for match in DRUG_OWNER.finditer(segment) if owned else ():  # "Roche's evobrutinib": a company's drug
            maker = re.sub(r"['’]s?$", "", match.group("owns"))
            if (self.organisations.lists(maker) or _looks_organised(maker) or COMPANY_WORD.fullmatch(maker)) and (self._names_product(match.group("drug")) or PRODUCT.fullmatch(match.group("drug"))) and match.group("drug").lower() not in _NOT_OWNERS:
                self._sponsor(segment, *match.span("owns"), start, add, maker=True)

    def _names_product(self, word: str) -> bool:
        """Whether one word names a drug or a product, not who owns a trial ("Tolebrutinib's phase
        2b"), or is a word of time or of everyone ("Today's", "Everyone's")."""
        return word.lower() in _NOT_OWNERS or word.lower() in self._products or self.drug_name.fullmatch(word) is not None

    @staticmethod
    def _sponsor(segment: str, name_start: int, name_end: int, start: int, add, hosted: bool = False, ends_at_cue: bool = False, owner: bool = False, maker: bool = False) -> None:
        """A sponsor claim of the name at ``segment[name_start:name_end]``, a leading "the" and the
        sentence's closing stop left out, an acronym after it in parentheses kept."""
        name = re.sub(r"['’]s?$", "", segment[name_start:name_end].rstrip(".,;:"))
        if part := _PART_OF.match(name):  # "the NIH's NINDS": the part named
            name, name_start = name[part.end():], name_start + part.end()
        elif (place := _PLACE_OF.match(name)) and _looks_organised(name[place.end():]) and plain_words(name[place.end():])[0] not in GENERIC_WORDS:  # "Shanghai's RenJi Hospital", not "King's College London"
            name, name_start = name[place.end():], name_start + place.end()
        name = re.sub(r"\s+(?:for|and|of|at|with)\s+\d[\d,.]*$", "", name)  # "sponsored by Ospedale San Raffaele for 86 participants"
        a = start + name_start
        if len(pieces := re.split(r"(?:(?<=[a-z0-9)])|(?<=[A-Z]{2}))(?<!\bProf)(?<!\bDr)(?<!\bMr)(?<!\bMrs)(?<!\bSt)(?<!\bInc)(?<!\bCo)\.\s+(?=[A-Z])|\.\s+(?=(?:Available|Accessed|Retrieved|Registered|Updated|Online)\b)", name)) > 1:
            # a name never runs over a sentence's end, nor into a reference list's "Available at" ("… SA. Available")
            kept = pieces[-1] if ends_at_cue else pieces[0]
            a += name.rfind(kept) if ends_at_cue else 0
            name = kept
        if opening := _SENTENCE_OPENING.match(name):  # "In 2020 the Cleveland Clinic ran …"
            name, a = name[opening.end():], a + opening.end()
        if name.lower() in _ROLES:
            return  # "… BEAT-MS. Co-funded by us": a kind of sponsor, once the sentence before is cut away
        if short := _SHORT_NAME.match(segment, name_end):  # "the Italian MS Foundation (FISM)": its acronym too
            name += short.group()
        elif group := _GROUP_AT.match(segment, name_end):  # "led by Richard Burt's group at Northwestern University"
            name += f" at {group.group('at')}"
        if name.lower().startswith("the "):
            name, a = name[4:], a + 4
        if all(w in GENERIC_WORDS for w in plain_words(name)):
            return  # "General Hospital" (of a name wrapped over lines), "University Hospital": whose is not said
        if _NATIONAL.match(name) and len(plain_words(name)) == 2 and plain_words(name)[1] in GENERIC_WORDS:
            return  # "(Italian network)", "a Swedish hospital": a kind of place, not a name
        if _CODE_OR_KIND.search(name):
            return  # "Company-sponsored KYSA-7", "the STEMS2 sponsor": a kind of sponsor, or a trial's code, names none
        value = SiteOrSponsor(name) if hosted else OneWordOwner(name) if owner else DrugMaker(name) if maker else name
        add(Claim("sponsor", name, value, a, a + len(name)))


# -- checking -------------------------------------------------------------------------------


def _acronym(name: str) -> str:
    return "".join(w[0] for w in plain_words(re.sub(r"\([^)]*\)", " ", name)) if w not in _ACRONYM_SKIP)


def _parts(claimed: str) -> list[str]:
    """The names a sponsor claim holds: itself, the pieces around "at", "with", "/", commas
    and parentheses ("Bruce Cree at UCSF", "NIAID / Immune Tolerance Network"), and an owner
    before "'s"."""
    pieces = re.split(r"\s+(?:at|with|and|&)\s+|[/,;()]", claimed)
    owners = [m.group(1) for m in re.finditer(r"([\w.&-]+(?:\s+[A-Z][\w.&-]*){0,3})['’]s?(?=\s)", claimed)]  # "Legend's LCAR-AIO": Legend
    return [claimed] + [p.strip() for p in pieces + owners if p.strip() and p.strip() != claimed]


class SiteOrSponsor(str):
    """A sponsor claim said as where a trial runs ("… at Mayo Clinic"): a site of the record fits it too."""


class DrugMaker(str):
    """A company named as a drug's maker ("Roche's evobrutinib"): it runs a trial a company runs
    (as sponsor or collaborator); a trial a university or hospital runs may test any company's drug."""


class OneWordOwner(str):
    """A trial's owner named by one word ("Mesoblast's phase 2"): a company's name, or a person's
    ("Burt's trial", its investigator's at the university or hospital that sponsors it) or a
    place's ("Norway's RAM-MS", where its sites are); only a company's can be told wrong."""


def _short_form(said: str, named: list[str]) -> bool:
    """Whether one word said is a name's informal short form: its capitalised pieces, in order,
    begin successive words of the name ("WashU": Washington University; "UPenn": University of
    Pennsylvania)."""
    pieces = [p.lower() for p in re.findall(r"[A-Z][a-z]*", said.strip())]
    if not re.fullmatch(r"[A-Za-z]+", said.strip()) or len(pieces) < 2 or not any(len(p) > 1 for p in pieces):
        return False
    return any(
        all(start + k < len(named) and named[start + k].startswith(piece) for k, piece in enumerate(pieces))
        for start in range(len(named))
    )


ACADEMIC_WORDS = frozenset(plain_words("university universitat college hospital clinic institute institut centre center school"))


def _academic(name: str) -> bool:
    """Whether a name is an academic institution's, by its words or as an acronym ("UCSF")."""
    return bool(re.fullmatch(r"[A-Z]{3,6}", name.strip())) or any(w in ACADEMIC_WORDS for w in plain_words(name))


def _personal(name: str) -> bool:
    """Whether a sponsor's name is a person's ("Bruce Cree", "Emmanuelle Waubant, MD PhD")."""
    words = [w for w in re.findall(r"[\w'’-]+", name) if w.lower() not in _HONORIFICS]
    return 2 <= len(words) <= 4 and all(w[:1].isupper() for w in words) and not any(w in GENERIC_WORDS for w in plain_words(name))


_DOCTOR = re.compile(r"(?:Dr|Prof|Professor)\.?\s+[A-Z]")
"""A person named by title ("Dr Burt")."""
_MIXED_ACRONYM = re.compile(r"(?:[A-Z][a-z]?){2,4}(?<=[A-Z])|[A-Z][a-z][A-Z][a-z]?")
"""An acronym written with small letters inside ("DoD", "DoH"), not a name with a capital inside ("McGill")."""


def _unumlauted(word: str) -> str:
    """A word with a German umlaut's spelling out folded as its accent is ("Muenster", "Münster")."""
    return re.sub(r"([aou])e", r"\1", word) if "e" in word else word


_COMPANY_CLASSES = frozenset({"INDUSTRY", "PHARMACEUTICAL COMPANY"})
"""A lead sponsor's class saying it is a company (ClinicalTrials.gov's, then the EU register's)."""


class SponsorMatcher:
    def __init__(self, profile: Profile):
        self.vocabulary = SponsorVocabulary(profile)
        self.parents = profile.verifier.parents
        self._fits: dict[tuple[str, ...], bool] = {}

    def names(self, study: Study) -> list[str]:
        return [s.name for s in [study.lead_sponsor, *study.collaborators] if s and s.name.strip()]

    def fits(self, claimed: str, study: Study) -> bool:
        names = self.names(study)
        if not names:
            return True
        key = (claimed, *names)
        if key not in self._fits:  # a long review says the same sponsor of the same trial many times
            self._fits[key] = any(self._same(part, name) or self._parent_of(part, name) for part in _parts(claimed) for name in names)
        return self._fits[key]

    def _parent_of(self, said: str, record: str) -> bool:
        """Whether the name said is the parent of the record's ("NIH" for NIAID's trial)."""
        return any(
            any(self._same(said, name) for name in names) and any(self._same(part, record) for part in parts)
            for names, parts in self.parents
        )

    def may_own(self, word: str, study: Study) -> bool:
        """Whether one word owning a trial may be other than its sponsor company's: the drug it tests
        ("Ocrelizumab's phase 3"), its investigator's name or its institution's short name at the
        university or hospital that sponsors it ("Burt's trial", "SickKids' phase I/II"), or a
        country or city of its sites ("Norway's RAM-MS"); a hospital's or a public body's trial
        may be called by its city ("Turku's PET study" for the Southwest Finland wellbeing services
        county's), so only a company's trial can be told wrong so."""
        said = " ".join(plain_words(word))
        places = {" ".join(plain_words(place)) for site in study.locations for place in (site.country, site.city) if place}
        tested = " ".join(plain_words(" ".join([study.brief_title or "", *(n for i in study.interventions for n in (i.name, *i.other_names) if n)])))
        if said in places or re.search(rf"\b{re.escape(said)}\b", tested) is not None:
            return True
        lead = study.lead_sponsor
        if lead and _personal(lead.name):  # an investigator's trial: their name, or their institution where it runs
            return said in plain_words(lead.name) or self.hosts(word, study)
        company = lead is not None and (lead.sponsor_class or "").upper() in _COMPANY_CLASSES
        return not company or any(_academic(name) or _personal(name) for name in self.names(study))

    def hosts(self, claimed: str, study: Study) -> bool:
        """Whether a trial may run at the place a text names: one of the record's sites, or, when
        the record names no site's institution and a person sponsors it, one its keywords name or
        in its sites' city ("Bruce Cree's study at UCSF", whose record keeps "University of
        California, San Francisco (UCSF)" among its keywords and San Francisco as its site), or
        anywhere when it names no city either."""
        facilities = [site.facility for site in study.locations if site.facility]
        if not facilities and study.lead_sponsor and _personal(study.lead_sponsor.name):
            cities = {" ".join(plain_words(site.city)) for site in study.locations if site.city}
            said = f" {' '.join(plain_words(claimed))} "
            return not cities or any(f" {city} " in said for city in cities) or any(self._same(claimed, keyword) for keyword in study.keywords)
        return any(self._same(claimed, facility) for facility in facilities)

    def _same(self, said: str, record: str) -> bool:
        words = [_unumlauted(w) for w in plain_words(said) if w not in _HONORIFICS]
        if len(words) >= 2 and all(len(w) == 1 for w in words[:-1]):  # "J. Pich" for "Judit Pich"
            named = [w for w in plain_words(record) if w not in _HONORIFICS]
            if words[-1] in named[1:]:
                given = named[: named.index(words[-1])]
                return [w[0] for w in given[: len(words) - 1]] == words[:-1]
        named = [_unumlauted(w) for w in plain_words(record) if w not in _HONORIFICS]
        if words and len(named) >= len(words) and all(x == y or (len(x) >= 3 and y.startswith(x)) for x, y in zip(words, named)):
            return True  # the name's start, as a sentence cut it ("University College" of "University College, London"), words cut short ("Peking Univ")
        if _short_form(said, [w for w in named if w not in _ACRONYM_SKIP]):
            return True  # "WashU" for "Washington University School of Medicine", "UPenn"
        shared = next((i for i, (x, y) in enumerate(zip(words, named)) if x != y), min(len(words), len(named)))
        if shared and all(len(w) == 1 for w in words[shared:]) and words[shared:] == [w[0] for w in named[shared:] if w not in _ACRONYM_SKIP]:
            return True  # the name's end as its initials ("VA Office of R&D")
        if organisation_key(self.vocabulary.organisation(said)) == organisation_key(self.vocabulary.organisation(record)):
            return True
        have = {_unumlauted(w) for w in [*plain_words(record), *plain_words(self.vocabulary.organisation(record))]}
        acronyms = {_acronym(record), _acronym(record.split(",")[0])}  # "NIHR" for "National Institute for Health Research, United Kingdom"
        # and an acronym of the name's first words: "FISM" for "Fondazione Italiana Sclerosi Multipla Ente Del Terzo Settore"
        capitals = {fold for fold, raw in zip(words, re.findall(r"\w+", said)) if 2 <= len(raw) <= 8 and (raw.isupper() or _MIXED_ACRONYM.fullmatch(raw))}
        runs = {"".join(w[0] for w in named[i:i + k]) for k in (2, 3, 4) for i in range(len(named) - k + 1)}  # "MS" for "Multiple Sclerosis" inside the name
        matched_acronym = any(w in have or w in acronyms or w in runs or (len(w) >= 3 and _acronym(record).startswith(w)) for w in capitals)
        rest = [w for w in words if w not in capitals and w not in _ACRONYM_SKIP]
        if not rest or matched_acronym and all(w in have for w in rest if w not in GENERIC_WORDS):
            return matched_acronym  # "Hospital Clinic Barcelona (FRCB-IDIBAPS)": its acronym and its distinctive words
        if all(w in have or (len(w) >= 3 and any(h.startswith(w) and (len(h) >= len(w) + 2 or matched_acronym and len(w) >= 6) for h in have)) for w in rest) and (
            matched_acronym or any(w not in GENERIC_WORDS for w in rest)
        ):  # "Antwerp Univ Hospital" for "University Hospital, Antwerp": words in any order, some cut short
            return True
        core = {w for w in have if w not in _ACRONYM_SKIP and w not in GENERIC_WORDS}  # its distinctive words, in any language's frame
        other = [w for w in words if w not in have and w not in GENERIC_WORDS and w not in capitals and w not in _ACRONYM_SKIP]
        return bool(core) and core <= set(words) and not other  # not "Imperial College London" for "University College, London"


def _problem(field: str, claim: Claim, record: str, message: str) -> dict[str, Any]:
    return {"field": field, "says": claim.written, "record": record, "message": message, "start": claim.start, "end": claim.end}


def _enrollment_fits(value: tuple[int, int | None, str], enrollment: int) -> bool:
    low, high, approx = value
    high = high or low
    if approx in ("more than", "over", "at least"):
        return enrollment >= low
    if approx in ("fewer than", "less than", "under"):
        return enrollment <= low
    if approx and approx != "only":
        return low * 0.9 <= enrollment <= high * 1.1
    return low <= enrollment <= high


_FIRST_IN_HUMAN = {"phase1", "early_phase1"}
"""The registry's early phase 1 and phase 1, which writers call by either name."""


def study_problems(claims: list[Claim], study: Study, is_ms: bool | None, sponsors: SponsorMatcher, reader: ClaimReader) -> list[dict[str, Any]]:
    problems = []
    named = [claim.value for claim in claims if claim.field == "sponsor"]
    person_named = len(named) > 1 and any(_personal(name) and sponsors.fits(name, study) for name in named)  # "UCSF's study …, led by Bruce Cree"
    person_sponsor = bool(study.lead_sponsor and _personal(study.lead_sponsor.name))  # an investigator's trial: their institution is where it runs
    for claim in claims:
        if claim.field == "phase":
            if claim.value is None:
                fits = study.phase in (None, "not_applicable")
            else:
                fits = study.phase in claim.value if isinstance(claim.value, frozenset) else claim.value == study.phase or {claim.value, study.phase} == _FIRST_IN_HUMAN
                # "early phase I work at Northwestern" of a phase 1 record, "a phase 1" of an early phase 1 one: the same step, in words
            if not fits:
                problems.append(_problem("phase", claim, phase_words(study.phase),
                                         f"phase: the text says {claim.written!r}; the record says {phase_words(study.phase)}"))
        elif claim.field == "status":
            status = study.status or "UNKNOWN"
            if status not in claim.value:
                problems.append(_problem("status", claim, status_words(study.status),
                                         f"status: the text says {claim.written!r}; the record says {status_words(study.status)}"))
            elif (year := re.search(r"\b(?:19|20)\d\d\b", claim.written)) and study.completion_date and study.completion_date.value[:4] != year.group():
                problems.append(_problem("status", claim, f"completed {study.completion_date.value}",
                                         f"status: the text says {claim.written!r}; the record's completion date is {study.completion_date.value}"))
        elif claim.field == "sponsor":
            if isinstance(claim.value, OneWordOwner) and sponsors.may_own(claim.value, study):
                continue
            if isinstance(claim.value, DrugMaker) and not (study.lead_sponsor and study.lead_sponsor.sponsor_class == "INDUSTRY"):
                continue
            if _DOCTOR.match(claim.value) and not (study.lead_sponsor and _personal(study.lead_sponsor.name)):
                continue  # "run by Dr Burt's group": an investigator, whose institution the record names, not judged
            if not sponsors.fits(claim.value, study) and not (
                (isinstance(claim.value, SiteOrSponsor) or (person_named or person_sponsor) and _academic(claim.value)) and sponsors.hosts(claim.value, study)
            ):
                names = sponsors.names(study)
                record = names[0] if names else "not given"
                problems.append(_problem("sponsor", claim, record,
                                         f"sponsor: the text says {claim.written!r}; the record's lead sponsor is {record!r}"
                                         + (f" (collaborators: {', '.join(names[1:])})" if len(names) > 1 else "")))
        elif claim.field == "enrollment":
            if study.enrollment is not None and not _enrollment_fits(claim.value, study.enrollment):
                record = f"{study.enrollment:,}" + (f" ({study.enrollment_type.lower()})" if study.enrollment_type else "")
                problems.append(_problem("enrollment", claim, record, f"enrollment: the text says {claim.written!r}; the record says {record}"))
        elif claim.field == "condition":
            problems += _condition_problems(claim, study, is_ms, reader)
    return problems


def _condition_problems(claim: Claim, study: Study, is_ms: bool | None, reader: ClaimReader) -> list[dict[str, Any]]:
    kind, name = claim.value
    conditions = "; ".join(study.conditions) or "none given"
    said = reader.named_in(study)
    if kind == "ms" and "ms" not in said and (is_ms is False or study.conditions) and not reader.ms_in_class(study):  # the conditions it lists, not a keyword, say what a trial is in
        return [_problem("condition", claim, conditions, f"condition: the text says {claim.written!r}; the record is not about MS (conditions: {conditions})")]
    if kind == "ms" and claim.written.lower() not in reader.syndromes and study.conditions and all(c.strip().lower() in reader.syndromes for c in study.conditions):
        return [_problem("condition", claim, conditions, f"condition: the text says {claim.written!r}; the record is a trial in {conditions}, not in MS itself")]
    if kind == "not_ms" and is_ms and "not_ms" not in said:
        return [_problem("condition", claim, conditions, f"condition: the text says {claim.written!r} ({name}); the record is about MS (conditions: {conditions})")]
    return []


def figure_problems(claims: list[Claim], figures: list[dict[str, Any]], abstract: str | None) -> list[dict[str, Any]]:
    """A share or ratio said of a record must be one of its extracted figures (a percentage, a
    count over its denominator, a ratio) at the text's precision, or stand in its abstract;
    records with neither are not judged."""
    problems = _count_problems(claims, abstract) + _people_problems(claims, abstract) + _fraction_problems(claims, abstract) if abstract else []
    claims = [claim for claim in claims if not (claim.field == "figure" and claim.value[0] == "fraction")]
    if not any(claim.field == "figure" for claim in claims):
        return problems
    shares = [f["value"] for f in figures if f["unit"] == "percent"]
    shares += [100 * f["value"] / f["n"] for f in figures if f["unit"] == "count" and f.get("n")]
    ratios = [f["value"] for f in figures if f["unit"] not in ("percent", "count")]
    stated_percents = {float(n) for n in ABSTRACT_PERCENTS.findall(abstract or "")}
    stated_numbers = {float(n) for n in re.findall(r"(?<![\d.])\d+(?:\.\d+)?", abstract or "")}
    for claim in claims:
        if claim.field != "figure":
            continue
        unit, digits = claim.value
        digits = digits.replace(",", ".")  # a decimal comma: "29,2 %", "HR 0,66"
        value, decimals = float(digits), len(digits.partition(".")[2])
        pool = shares if unit == "percent" else ratios
        stated = stated_percents if unit == "percent" else stated_numbers
        if not pool and not abstract:
            continue
        if any(round(x, decimals) == value for x in pool) or value in stated:
            continue
        listed = ", ".join(f"{s:.{max(decimals, 1)}f}%" for s in sorted(set(shares))[:8]) if unit == "percent" else ", ".join(f"{r:g}" for r in sorted(set(ratios))[:8])
        record = f"the record's extracted {'shares are' if unit == 'percent' else 'ratios are'} {listed}" if listed else "the abstract does not state it"
        problems.append(_problem("figure", claim, record, f"figure: the text says {claim.written!r}; {record}"))
    return problems


_ABSTRACT_PEOPLE = re.compile(rf"(?<![\w.,/])(\d{{1,3}}(?:,\d{{3}})+|\d+)(?![\d.,%])\s+(?:[A-Za-z-]+\s+){{0,2}}?{PEOPLE}\b", re.IGNORECASE)


def _fraction_problems(claims: list[Claim], abstract: str) -> list[dict[str, Any]]:
    """A fraction said of a paper ("15 of 25") against the abstract's fractions over the same
    whole ("11/25"); a whole the abstract never divides is not judged."""
    problems = []
    for claim in claims:
        if claim.field != "figure" or claim.value[0] != "fraction":
            continue
        _, n, d = claim.value
        parts = {int(a) for a, b in _ABSTRACT_FRACTION.findall(abstract) if int(b) == d}
        if parts and n not in parts:
            record = "the abstract gives " + ", ".join(f"{a}/{d}" for a in sorted(parts))
            problems.append(_problem("figure", claim, record, f"figure: the text says {claim.written!r}; {record}"))
    return problems


_ABSTRACT_FRACTION = re.compile(r"\b(\d{1,5})\s*(?:/|of|out of)\s*(\d{1,5})\b(?![.,]\d)", re.IGNORECASE)


@lru_cache(maxsize=256)
def _abstract_counts(abstract: str) -> tuple[frozenset[str], frozenset[str]]:
    """The counts of people an abstract gives, and every number it states or that two of them add
    up to (a total of two groups: "(n=21) … (n=67)" is 88), read once per abstract."""
    counted = frozenset(n.replace(",", "") for n in _ABSTRACT_PEOPLE.findall(abstract))
    numbers = {n.replace(",", "") for n in re.findall(r"(?<![\d.])\d{1,3}(?:,\d{3})+(?![\d])|(?<![\d.])\d+(?![\d.])", abstract)}
    return counted, frozenset(numbers | {str(int(a) + int(b)) for a in numbers for b in numbers if a != b})


def _people_problems(claims: list[Claim], abstract: str) -> list[dict[str, Any]]:
    """How many people a paper studied ("serum from 293 participants"), said exactly, against the
    counts of people its abstract gives ("239 subjects"): a number the abstract never states, where
    it counts people, is a problem."""
    if not any(claim.field == "enrollment" for claim in claims):
        return []
    counted, numbers = _abstract_counts(abstract)
    if not counted:
        return []
    problems = []
    for claim in claims:
        low, high, approx = claim.value if claim.field == "enrollment" else (None, None, "x")
        if approx in ("", "only") and high is None and str(low) not in numbers:
            record = "the abstract counts " + ", ".join(sorted(counted, key=int)) + " people"
            problems.append(_problem("figure", claim, record, f"figure: the text says {claim.written!r}; {record}"))
    return problems


def _count_problems(claims: list[Claim], abstract: str) -> list[dict[str, Any]]:
    """A count said of a paper ("282 active trials") that its abstract gives otherwise ("228
    active trials"); words the abstract does not count are not judged."""
    problems = []
    for claim in claims:
        if claim.field != "count":
            continue
        digits, (first, second) = claim.value
        pattern = rf"(?<![\w.,])(\d{{1,3}}(?:,\d{{3}})+|\d+)(?![\d.,%])\s+{re.escape(first)}\s+{re.escape(second)}\b"
        stated = {found.replace(",", "") for found in re.findall(pattern, abstract, re.IGNORECASE)}
        if stated and digits not in stated:
            record = "the abstract says " + ", ".join(f"{n} {first} {second}" for n in sorted(stated, key=int))
            problems.append(_problem("figure", claim, record, f"figure: the text says {claim.written!r}; {record}"))
    return problems
