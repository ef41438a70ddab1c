"""Measuring the outcome extractor against hand-annotated abstracts.

The gold file is ``shared/data/labels/outcomes-dev.jsonl`` (or a set of the same shape under
``tests/data/outcomes``): one article per line with every outcome figure it reports (measure,
value, unit, n, time point, group, event and the verbatim words). The abstracts come from the
literature CSV, normalised as :mod:`curemap.sources.literature_csv` does, so every gold ``text``
is a substring of ``Paper.abstract``; or, when the literature path is the evidence-inference
folder of open-access trial articles, from each article's abstract sections (:func:`trial_abstract`),
keyed by PMC id. An article of such a set that lists ``excerpts`` (paragraphs of its full text's
results, each checked to be there) is scored on those paragraphs instead, read as a full text's
results part is (the condition named elsewhere in the paper). An article that lists ``sentences``
(each found once in its abstract) is read whole, as a reader meets it, and scored only on the
figures inside those sentences. One set may mix both sources when both are given.

Matching is the acceptance rule: within one article, a predicted figure matches a gold figure
with the same measure and value, and each gold figure is matched at most once. Figures:
precision, recall and F1 over all figures and per measure, the same on two fixed halves of the
articles (split by a hash of the pmid, so a rule that suits only some articles shows as a gap),
every false positive and false negative with its words, and every predicted span that is not
the text at its offsets.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from curemap.enrich.evaluate import half_of
from curemap.errors import InputError
from curemap.enrich.outcomes import Figure, OutcomeExtractor, clause_span
from curemap.sources.files import iter_file_records
from curemap.sources.jats import parse_evidence_inference


@dataclass(frozen=True)
class GoldFigure:
    measure: str
    value: float
    unit: str
    text: str
    n: int | None = None
    clause: str | None = None  # the words that state it on their own, where the set gives them


@dataclass(frozen=True)
class GoldArticle:
    pmid: str
    sample: str
    figures: tuple[GoldFigure, ...]
    note: str
    excerpts: tuple[str, ...] = ()  # full-text results paragraphs it is scored on, instead of its abstract
    sentences: tuple[str, ...] = ()  # the abstract's sentences it is scored on (the abstract is read whole)


@dataclass
class Scores:
    """Counts of matched, spurious and missed figures, with the rates they give."""

    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0

    @property
    def precision(self) -> float:
        predicted = self.true_positives + self.false_positives
        return self.true_positives / predicted if predicted else 0.0

    @property
    def recall(self) -> float:
        gold = self.true_positives + self.false_negatives
        return self.true_positives / gold if gold else 0.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0

    def add(self, other: Scores) -> None:
        self.true_positives += other.true_positives
        self.false_positives += other.false_positives
        self.false_negatives += other.false_negatives

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "precision": self.precision, "recall": self.recall, "f1": self.f1}


@dataclass
class Miss:
    """A figure the extractor got wrong: predicted without gold (false positive) or the reverse."""

    pmid: str
    measure: str
    value: float
    text: str


@dataclass
class BadSpan:
    """A predicted figure whose ``text`` is not the abstract at its ``start:end``."""

    pmid: str
    text: str
    start: int
    end: int
    found: str


@dataclass
class Completeness:
    """Of the matched figures: how many carry the gold n, and (where the gold gives one) the gold clause."""

    matched: int = 0
    n_right: int = 0
    with_clause: int = 0
    clause_right: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class OutcomeEvalReport:
    articles: int
    missing: list[str]
    overall: Scores
    per_measure: dict[str, Scores]
    halves: dict[str, Scores]
    completeness: Completeness = field(default_factory=Completeness)
    false_positives: list[Miss] = field(default_factory=list)
    false_negatives: list[Miss] = field(default_factory=list)
    bad_spans: list[BadSpan] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.overall.precision

    @property
    def recall(self) -> float:
        return self.overall.recall

    @property
    def f1(self) -> float:
        return self.overall.f1

    @property
    def spans_exact(self) -> bool:
        return not self.bad_spans

    def to_dict(self) -> dict[str, Any]:
        return {
            "articles": self.articles,
            "missing": self.missing,
            "overall": self.overall.to_dict(),
            "per_measure": {name: scores.to_dict() for name, scores in self.per_measure.items()},
            "halves": {name: scores.to_dict() for name, scores in self.halves.items()},
            "completeness": self.completeness.to_dict(),
            "false_positives": [asdict(miss) for miss in self.false_positives],
            "false_negatives": [asdict(miss) for miss in self.false_negatives],
            "bad_spans": [asdict(span) for span in self.bad_spans],
            "spans_exact": self.spans_exact,
        }

    def render_text(self) -> str:
        o, c = self.overall, self.completeness
        missing = f" ({len(self.missing)} pmids not in the literature file: {', '.join(self.missing)})"
        lines = [
            f"Outcome extraction against {self.articles} annotated abstracts" + (missing if self.missing else ""),
            "",
            f"  precision {o.precision:.3f}  recall {o.recall:.3f}  F1 {o.f1:.3f}"
            f"   (matched {o.true_positives}, spurious {o.false_positives}, missed {o.false_negatives})",
            f"  spans exact: {'yes' if self.spans_exact else f'no, {len(self.bad_spans)} differ'}",
            f"  of {c.matched} matched: n as annotated {c.n_right}; clause as annotated {c.clause_right}"
            f" of {c.with_clause} with one",
            "",
            f"  {'':<18} {'prec':>6} {'recall':>6} {'F1':>6} {'gold':>5} {'pred':>5}",
        ]
        rows = [*(("half " + name[-1], s) for name, s in self.halves.items()), *self.per_measure.items()]
        for name, s in rows:
            lines.append(
                f"  {name:<18} {s.precision:>6.3f} {s.recall:>6.3f} {s.f1:>6.3f}"
                f" {s.true_positives + s.false_negatives:>5} {s.true_positives + s.false_positives:>5}"
            )
        for title, misses in (("False positives", self.false_positives), ("False negatives", self.false_negatives)):
            lines += ["", f"{title} ({len(misses)})"]
            lines += [f"  {m.pmid} {m.measure} {m.value:g}: {m.text!r}" for m in misses]
        if self.bad_spans:
            lines += ["", f"Spans that are not the text at their offsets ({len(self.bad_spans)})"]
            lines += [f"  {b.pmid} [{b.start}:{b.end}] {b.text!r} != {b.found!r}" for b in self.bad_spans]
        return "\n".join(lines)


def read_gold(path: Path) -> list[GoldArticle]:
    """The annotated articles of an outcomes JSON Lines file."""
    articles = []
    with Path(path).open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                data = json.loads(line)
                figures = tuple(
                    GoldFigure(f["measure"], float(f["value"]), f["unit"], f["text"], f.get("n"), f.get("clause"))
                    for f in data["figures"]
                )
                articles.append(
                    GoldArticle(
                        str(data["pmid"]), data.get("sample", ""), figures, data.get("note", ""),
                        tuple(data.get("excerpts", ())), tuple(data.get("sentences", ())),
                    )
                )
    return articles


def trial_abstract(article_text: str) -> str:
    """An evidence-inference article's abstract as one text: its abstract sections in order, each
    opened by its heading as PubMed writes a structured abstract ("RESULTS: …")."""
    parts = parse_evidence_inference(article_text)
    return " ".join(f"{part.title}: {part.text}" for part in parts if part.kind in ("abstract", "abstract_results"))


def results_excerpts(pmcid: str, article_text: str, excerpts: tuple[str, ...]) -> str:
    """Paragraphs of an evidence-inference article's results as one text, blank-line separated;
    :class:`InputError` naming the article when one is not in its results sections."""
    parts = parse_evidence_inference(article_text)
    results = "\n".join(part.text for part in parts if part.kind in ("results", "table"))
    for excerpt in excerpts:
        if excerpt not in results:
            raise InputError(f"{pmcid}: excerpt {excerpt[:60]!r}… is not in the article's results sections")
    return "\n\n".join(excerpts)


def read_texts(literature: Path | Sequence[Path], articles: list[GoldArticle]) -> dict[str, str]:
    """The text each annotated article is scored on: its results excerpts where it lists them
    (from an evidence-inference folder among ``literature``), else its abstract from whichever
    source holds it (:func:`read_abstracts`)."""
    sources = [Path(literature)] if isinstance(literature, (str, Path)) else [Path(path) for path in literature]
    abstracts = {article.pmid for article in articles if not article.excerpts}
    texts: dict[str, str] = {}
    for source in sources:
        if abstracts - texts.keys():
            texts |= read_abstracts(source, abstracts - texts.keys())
    folder = next((source / "txt_files" for source in sources if (source / "txt_files").is_dir()), sources[0] / "txt_files")
    for article in articles:
        if article.excerpts:
            if not (folder / f"{article.pmid}.txt").is_file():
                raise InputError(f"{article.pmid}: its excerpts need the article's text, {folder.name}/{article.pmid}.txt")
            texts[article.pmid] = results_excerpts(
                article.pmid, (folder / f"{article.pmid}.txt").read_text(encoding="utf-8"), article.excerpts
            )
    return texts


def read_abstracts(literature: Path, pmids: set[str]) -> dict[str, str]:
    """The abstracts of the wanted articles: from the literature CSV as the literature connector
    normalises them, or from an evidence-inference folder's ``txt_files/<PMC id>.txt``."""
    folder = Path(literature) / "txt_files"
    if folder.is_dir():
        return {pmcid: trial_abstract((folder / f"{pmcid}.txt").read_text(encoding="utf-8"))
                for pmcid in sorted(pmids) if (folder / f"{pmcid}.txt").is_file()}
    literature_csv = literature
    return {
        record.paper.pmid: record.paper.abstract or ""
        for record in iter_file_records(Path(literature_csv))
        if record.paper is not None and record.paper.pmid in pmids
    }


def match_figures(gold: list[tuple[str, float]], predicted: list[tuple[str, float]]) -> tuple[list[int], list[int]]:
    """Indexes of the unmatched gold and unmatched predicted (measure, value) pairs of one article;
    each gold figure is matched at most once."""
    waiting: dict[tuple[str, float], list[int]] = {}
    for index, key in enumerate(gold):
        waiting.setdefault(key, []).append(index)
    spurious = []
    for index, key in enumerate(predicted):
        if waiting.get(key):
            waiting[key].pop(0)
        else:
            spurious.append(index)
    missed = sorted(index for indexes in waiting.values() for index in indexes)
    return missed, spurious


def in_sentences(article: GoldArticle, abstract: str, figures: list[Figure]) -> list[Figure]:
    """The figures lying inside the article's listed sentences (all of them when it lists none);
    :class:`InputError` naming the article when a sentence is not found exactly once."""
    if not article.sentences:
        return figures
    spans = []
    for sentence in article.sentences:
        if abstract.count(sentence) != 1:
            raise InputError(f"{article.pmid}: sentence {sentence[:60]!r}… is not in its abstract exactly once")
        start = abstract.index(sentence)
        spans.append((start, start + len(sentence)))
    return [f for f in figures if any(start <= f.start and f.end <= end for start, end in spans)]


def evaluate_outcomes(
    labels_jsonl: Path, literature_csv: Path | Sequence[Path], extractor: OutcomeExtractor
) -> OutcomeEvalReport:
    """Extract figures from every annotated abstract and compare them with the gold figures."""
    articles = read_gold(labels_jsonl)
    abstracts = read_texts(literature_csv, articles)
    report = OutcomeEvalReport(
        articles=0,
        missing=[article.pmid for article in articles if article.pmid not in abstracts],
        overall=Scores(),
        per_measure={},
        halves={"half_a": Scores(), "half_b": Scores()},
    )
    for article in articles:
        if article.pmid not in abstracts:
            continue
        abstract = abstracts[article.pmid]
        # results paragraphs are read as a full text's results part: the paper names the condition
        predicted = extractor.extract(abstract, about_condition=True) if article.excerpts else extractor.extract(abstract)
        predicted = in_sentences(article, abstract, predicted)
        report.articles += 1
        report.bad_spans += [
            BadSpan(article.pmid, f.text, f.start, f.end, abstract[f.start : f.end])
            for f in predicted
            if abstract[f.start : f.end] != f.text
        ]
        _score_article(report, article, predicted)
        _score_completeness(report.completeness, article, predicted, abstract)
    report.per_measure = dict(sorted(report.per_measure.items()))
    return report


def _score_article(report: OutcomeEvalReport, article: GoldArticle, predicted: list[Figure]) -> None:
    """Add one article's matches, misses and spurious figures to the report's counts."""
    gold_keys = [(f.measure, f.value) for f in article.figures]
    missed, spurious = match_figures(gold_keys, [(f.measure, f.value) for f in predicted])
    report.false_negatives += [Miss(article.pmid, *gold_keys[i], article.figures[i].text) for i in missed]
    report.false_positives += [
        Miss(article.pmid, predicted[i].measure, predicted[i].value, predicted[i].text) for i in spurious
    ]
    matched = Counter(gold_keys) - Counter(gold_keys[i] for i in missed)
    article_scores = Scores(sum(matched.values()), len(spurious), len(missed))
    report.overall.add(article_scores)
    report.halves[half_of(article.pmid)].add(article_scores)
    for measure, count in matched.items():
        report.per_measure.setdefault(measure[0], Scores()).true_positives += count
    for index in missed:
        report.per_measure.setdefault(gold_keys[index][0], Scores()).false_negatives += 1
    for index in spurious:
        report.per_measure.setdefault(predicted[index].measure, Scores()).false_positives += 1


def _score_completeness(counts: Completeness, article: GoldArticle, predicted: list[Figure], abstract: str) -> None:
    """Pair each gold figure with the first unused prediction of its measure and value, and count
    whether it carries the gold n and states the gold clause (:func:`clause_span`)."""
    unused = list(predicted)
    for gold in article.figures:
        found = next((f for f in unused if (f.measure, f.value) == (gold.measure, gold.value)), None)
        if found is None:
            continue
        unused.remove(found)
        counts.matched += 1
        counts.n_right += found.n == gold.n
        if gold.clause is not None:
            counts.with_clause += 1
            start, end = clause_span(abstract, found.start, found.end)
            counts.clause_right += abstract[start:end] == gold.clause
