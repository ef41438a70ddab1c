"""Outcome extraction against the development labels (the acceptance floor), and the metric arithmetic."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from curemap.enrich.outcome_eval import evaluate_outcomes, match_figures, read_abstracts, read_gold, read_texts
from curemap.enrich.outcomes import Figure, OutcomeExtractor
from curemap.errors import InputError
from curemap.profile import load_profile

from .conftest import SHARED_DATA

DEV_LABELS = SHARED_DATA / "labels" / "outcomes-dev.jsonl"
LITERATURE = SHARED_DATA / "literature" / "ms_articles_2021_2022.csv"


@pytest.fixture(scope="module")
def dev_report():
    return evaluate_outcomes(DEV_LABELS, LITERATURE, OutcomeExtractor(load_profile()))


def test_dev_labels_reach_the_acceptance_floor(dev_report):
    assert dev_report.articles == 49 and not dev_report.missing
    assert dev_report.precision >= 0.90
    assert dev_report.recall >= 0.80
    assert dev_report.spans_exact, dev_report.bad_spans


def test_matched_figures_carry_the_annotated_n(dev_report):
    """Before figures took the cohort a text enrols, 29 of the 81 carried the annotated n."""
    assert dev_report.completeness.matched == 81
    assert dev_report.completeness.n_right >= 70


def test_both_halves_of_the_labels_score_alike(dev_report):
    """A rule that suits only some abstracts would show as a gap between two fixed halves."""
    halves = dev_report.halves
    assert set(halves) == {"half_a", "half_b"}
    gold = sum(s.true_positives + s.false_negatives for s in halves.values())
    assert gold == dev_report.overall.true_positives + dev_report.overall.false_negatives == 81
    for half in halves.values():
        assert half.precision >= 0.85 and half.recall >= 0.75


def test_report_renders_and_serialises(dev_report):
    text = dev_report.render_text()
    assert "precision" in text and "half a" in text and "False negatives" in text
    data = json.loads(json.dumps(dev_report.to_dict()))
    assert data["overall"]["precision"] == dev_report.precision
    assert set(data["per_measure"]) == set(dev_report.per_measure)
    assert data["spans_exact"] is True


# -- the arithmetic on a hand-computed example ---------------------------------------------


class _Canned:
    """An extractor that returns fixed figures per abstract."""

    def __init__(self, figures: dict[str, list[Figure]]):
        self.figures = figures

    def extract(self, text: str) -> list[Figure]:
        return self.figures[text]


def _figure(measure: str, value: float, text: str, start: int) -> Figure:
    return Figure(measure, value, "percent", None, None, None, None, text, start, start + len(text))


def test_metrics_on_a_hand_computed_example(tmp_path):
    labels = tmp_path / "labels.jsonl"
    gold = [
        {"pmid": "1", "figures": [  # NEDA 54 reported for two arms, and one HR
            {"measure": "neda", "value": 54, "unit": "percent", "text": "54%"},
            {"measure": "neda", "value": 54, "unit": "percent", "text": "and 54%"},
            {"measure": "hazard_ratio", "value": 0.5, "unit": "ratio", "text": "HR 0.5"},
        ]},
        {"pmid": "2", "figures": []},
    ]  # fmt: skip
    labels.write_text("".join(json.dumps(article) + "\n" for article in gold), encoding="utf-8")
    literature = tmp_path / "literature.csv"
    abstracts = {"1": "NEDA 54% and 54%, HR 0.5, OR 2.0.", "2": "ARR was 0.2."}
    with literature.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, ["pmid", "title", "citation", "abstract", "abstract_truncated"])
        writer.writeheader()
        for pmid, abstract in abstracts.items():
            row = {"pmid": pmid, "title": "t", "citation": "", "abstract": abstract, "abstract_truncated": "False"}
            writer.writerow(row)
    canned = _Canned(
        {
            abstracts["1"]: [
                _figure("neda", 54, "54%", 5),  # matches one of the two gold NEDA 54 figures
                _figure("hazard_ratio", 0.5, "HR 0.5", 18),  # matches
                _figure("odds_ratio", 2.0, "OR 2.0", 26),  # spurious
            ],
            abstracts["2"]: [_figure("arr", 0.2, "ARR was 0.3", 0)],  # spurious, and its span is wrong
        }
    )
    report = evaluate_outcomes(labels, literature, canned)

    assert (report.overall.true_positives, report.overall.false_positives, report.overall.false_negatives) == (2, 2, 1)
    assert report.precision == pytest.approx(2 / 4)
    assert report.recall == pytest.approx(2 / 3)
    assert report.f1 == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    neda = report.per_measure["neda"]
    assert (neda.true_positives, neda.false_positives, neda.false_negatives) == (1, 0, 1)
    assert neda.precision == 1.0 and neda.recall == 0.5
    assert report.per_measure["odds_ratio"].precision == 0.0
    assert [(m.pmid, m.measure, m.value) for m in report.false_negatives] == [("1", "neda", 54)]
    assert {(m.pmid, m.measure) for m in report.false_positives} == {("1", "odds_ratio"), ("2", "arr")}
    assert [(b.pmid, b.found) for b in report.bad_spans] == [("2", "ARR was 0.2")]
    assert not report.spans_exact


def test_each_gold_figure_is_matched_at_most_once():
    gold = [("neda", 54.0), ("neda", 54.0), ("arr", 0.2)]
    missed, spurious = match_figures(gold, [("neda", 54.0), ("neda", 54.0), ("neda", 54.0), ("arr", 0.3)])
    assert missed == [2]  # the ARR 0.2
    assert spurious == [2, 3]  # the third NEDA 54 and the ARR 0.3


def test_gold_file_is_read_whole():
    articles = read_gold(DEV_LABELS)
    assert len(articles) == 49 and sum(len(article.figures) for article in articles) == 81


# -- the trial abstracts (evidence-inference articles), annotated before the extractor changed --

TRIAL_LABELS = Path(__file__).parent / "data" / "outcomes" / "outcomes-trials-dev.jsonl"
TRIALS = SHARED_DATA / "literature" / "evidence-inference-ms"


@pytest.fixture(scope="module")
def trial_report():
    return evaluate_outcomes(TRIAL_LABELS, TRIALS, OutcomeExtractor(load_profile()))


def test_trial_abstracts_are_read_from_the_articles_abstract_sections():
    abstracts = read_abstracts(TRIALS, {"PMC4636858", "PMC4240932"})
    assert abstracts["PMC4240932"] == ""  # its text file has no abstract section
    text = abstracts["PMC4636858"]
    assert text.startswith("OBJECTIVES: To evaluate the role of corticosteroid pulse therapy")
    assert " RESULTS: 28 men and 43 women enrolled in the study." in text
    assert "BODY" not in text and "ABSTRACT" not in text


def test_trial_abstracts_reach_the_floor_with_every_span_exact(trial_report):
    """First run before the changes for this set: precision 0.818, recall 0.391 (9 / 2 / 14)."""
    assert trial_report.articles == 19 and not trial_report.missing
    gold = trial_report.overall.true_positives + trial_report.overall.false_negatives
    assert gold == 23
    assert trial_report.precision >= 0.92 and trial_report.recall >= 0.85, trial_report.render_text()
    assert trial_report.spans_exact, trial_report.bad_spans
    for measure in ("edss_change", "arr_reduction", "adverse_event", "hazard_ratio"):
        assert trial_report.per_measure[measure].recall >= 0.9, measure
    # the clause each figure is quoted with is the one the annotator marked, for most
    assert trial_report.completeness.with_clause == 23
    assert trial_report.completeness.clause_right >= 18


def test_every_trial_gold_figure_states_its_clause():
    """The annotation rule for ``clause``: the whole statement, inside the abstract once, around ``text``."""
    abstracts = read_abstracts(TRIALS, {a.pmid for a in read_gold(TRIAL_LABELS)})
    with TRIAL_LABELS.open(encoding="utf-8") as handle:
        for line in handle:
            article = json.loads(line)
            for figure in article["figures"]:
                assert abstracts[article["pmid"]].count(figure["clause"]) == 1
                assert figure["text"] in figure["clause"]


# -- the trial articles' results paragraphs, annotated before the extractor changed for them ----

FULLTEXT_LABELS = Path(__file__).parent / "data" / "outcomes" / "outcomes-fulltext-dev.jsonl"


@pytest.fixture(scope="module")
def fulltext_report():
    return evaluate_outcomes(FULLTEXT_LABELS, TRIALS, OutcomeExtractor(load_profile()))


def test_fulltext_excerpts_are_read_from_the_articles_results_sections():
    articles = read_gold(FULLTEXT_LABELS)
    texts = read_texts(TRIALS, articles)
    dmf = next(article for article in articles if article.pmid == "PMC4361464")
    assert texts["PMC4361464"] == "\n\n".join(dmf.excerpts)
    assert texts["PMC4361464"].startswith("The frequency of relapse in the newly diagnosed population")
    assert "Table 2." not in texts["PMC4361464"]  # the table rows were left out of the excerpts
    for article in articles:
        for figure in article.figures:
            assert texts[article.pmid].count(figure.clause) == 1 and figure.text in figure.clause


def test_an_excerpt_not_in_the_article_is_named(tmp_path):
    labels = tmp_path / "labels.jsonl"
    article = {"pmid": "PMC4361464", "excerpts": ["The ARR at 2 years was 0.99 in the placebo group."], "figures": []}
    labels.write_text(json.dumps(article) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="PMC4361464: excerpt 'The ARR at 2 years was 0.99"):
        evaluate_outcomes(labels, TRIALS, OutcomeExtractor(load_profile()))


def test_fulltext_results_reach_the_floor_with_every_span_exact(fulltext_report):
    """First run before the changes for this set: precision 0.814, recall 0.667 (48 / 11 / 24)."""
    assert fulltext_report.articles == 15 and not fulltext_report.missing
    assert fulltext_report.overall.true_positives + fulltext_report.overall.false_negatives == 72
    assert fulltext_report.precision >= 0.95 and fulltext_report.recall >= 0.85, fulltext_report.render_text()
    assert fulltext_report.spans_exact, fulltext_report.bad_spans
    assert fulltext_report.completeness.with_clause == fulltext_report.completeness.matched


# -- sentences of abstracts outside the other sets, and the trial articles' results: one set, two sources --

SENTENCE_LABELS = Path(__file__).parent / "data" / "outcomes" / "outcomes-sentences-dev.jsonl"


def _literature_of(tmp_path: Path, abstracts: dict[str, str]) -> Path:
    literature = tmp_path / "literature.csv"
    with literature.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, ["pmid", "title", "citation", "abstract", "abstract_truncated"])
        writer.writeheader()
        for pmid, abstract in abstracts.items():
            writer.writerow({"pmid": pmid, "title": "t", "citation": "", "abstract": abstract, "abstract_truncated": "False"})
    return literature


def test_an_article_listing_sentences_is_read_whole_and_scored_on_them(tmp_path):
    abstract = "NEDA 54% at 1 year. ARR was 0.2."
    labels = tmp_path / "labels.jsonl"
    article = {"pmid": "1", "sentences": ["ARR was 0.2."], "figures": [
        {"measure": "arr", "value": 0.2, "unit": "per_year", "text": "ARR was 0.2"}]}  # fmt: skip
    labels.write_text(json.dumps(article) + "\n", encoding="utf-8")
    seen = []

    class Reader(_Canned):
        def extract(self, text: str) -> list[Figure]:
            seen.append(text)
            return super().extract(text)

    reader = Reader({abstract: [_figure("neda", 54, "54%", 5), _figure("arr", 0.2, "ARR was 0.2", 20)]})
    report = evaluate_outcomes(labels, _literature_of(tmp_path, {"1": abstract}), reader)
    assert seen == [abstract]  # the whole abstract is read: the sentences' context counts
    assert (report.overall.true_positives, report.overall.false_positives, report.overall.false_negatives) == (1, 0, 0)


def test_a_sentence_not_in_the_abstract_is_named(tmp_path):
    labels = tmp_path / "labels.jsonl"
    labels.write_text(json.dumps({"pmid": "1", "sentences": ["ARR was 0.3."], "figures": []}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="1: sentence 'ARR was 0.3.'"):
        evaluate_outcomes(labels, _literature_of(tmp_path, {"1": "ARR was 0.2."}), OutcomeExtractor(load_profile()))


def test_the_sentence_set_draws_on_the_snapshot_and_the_trial_articles():
    articles = read_gold(SENTENCE_LABELS)
    texts = read_texts([LITERATURE, TRIALS], articles)
    assert len(articles) == len(texts) == 26
    for article in articles:
        pieces = article.sentences or article.excerpts
        assert pieces and all(piece in texts[article.pmid] for piece in pieces), article.pmid
        for figure in article.figures:
            assert texts[article.pmid].count(figure.clause) == 1 and any(figure.clause in p for p in pieces)


def test_the_sentence_set_reaches_the_floor_with_every_span_exact():
    """First run before the changes for this set: precision 0.500, recall 0.400 (2 / 2 / 3)."""
    report = evaluate_outcomes(SENTENCE_LABELS, [LITERATURE, TRIALS], OutcomeExtractor(load_profile()))
    assert report.articles == 26 and not report.missing
    assert report.overall.true_positives + report.overall.false_negatives == 5
    assert report.precision >= 0.92 and report.recall >= 0.85, report.render_text()
    assert report.spans_exact, report.bad_spans


FRESH_LABELS = Path(__file__).parent / "data" / "outcomes" / "outcomes-fresh-heldout.jsonl"


def test_the_former_held_out_abstracts_reach_the_floor():
    """Held out until its recorded runs (first 0.878 / 0.720, last 0.857 / 0.720), development since:
    this guards what was developed on it, it is no measure of unseen text."""
    report = evaluate_outcomes(FRESH_LABELS, LITERATURE, OutcomeExtractor(load_profile()))
    assert report.articles == 36 and report.overall.true_positives + report.overall.false_negatives == 50
    assert report.precision >= 0.92 and report.recall >= 0.85, report.render_text()
    assert report.spans_exact, report.bad_spans
