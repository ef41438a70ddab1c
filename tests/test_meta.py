"""Pooled proportions checked against published worked examples, statsmodels, and invariants.

Reference values are only ones read in a source (named beside each) or computed
by statsmodels in the test itself; tolerances are stated with each check.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, stats

from curemap.analysis.meta import (
    StudyProportion,
    cochran_q,
    freeman_tukey_transform,
    inverse_freeman_tukey,
    logit_transform,
    pool_proportions,
    reml_tau2,
)

# Published values are printed to 4 decimals: agreement to half a unit in the
# last printed place is agreement to every digit the source gives.
PRINTED_4DP = 0.5e-4


def studies_from(events, totals, prefix="s"):
    return [
        StudyProportion(f"{prefix}{index}", int(x), int(n))
        for index, (x, n) in enumerate(zip(events, totals, strict=True))
    ]


# Miller (1978), "The inverse of the Freeman-Tukey double arcsine transformation",
# The American Statistician 32:138, as reproduced in metafor's test suite
# (wviechtb/metafor tests/testthat/test_analysis_example_miller1978.r; see also
# https://www.metafor-project.org/doku.php/analyses:miller1978).
MILLER_EVENTS = [3, 6, 10, 1]
MILLER_TOTALS = [11, 17, 21, 6]


def test_freeman_tukey_values_match_miller_1978():
    values, variances = freeman_tukey_transform(MILLER_EVENTS, MILLER_TOTALS)
    # Miller omits the 1/2 that metafor (and we) include, hence the factors 2 and 4.
    assert 2 * values == pytest.approx([1.1391, 1.2888, 1.5253, 0.9515], abs=PRINTED_4DP)
    assert 4 * variances == pytest.approx([0.0870, 0.0571, 0.0465, 0.1538], abs=PRINTED_4DP)


def test_fixed_effect_freeman_tukey_matches_miller_1978():
    result = pool_proportions(studies_from(MILLER_EVENTS, MILLER_TOTALS), transform="freeman_tukey")
    assert 2 * result.fixed_effect.transformed == pytest.approx(1.3093, abs=PRINTED_4DP)
    # back-transformed with the harmonic mean of the n's (metafor transf.ipft.hm)
    assert result.fixed_effect.proportion == pytest.approx(0.3595, abs=PRINTED_4DP)


def test_freeman_tukey_with_zero_and_all_events_matches_metafor_example():
    # Same metafor test file, "back-transformations work as intended ..." block.
    events, totals = [0, 4, 9, 16, 20], [10, 10, 15, 20, 20]
    values, _ = freeman_tukey_transform(events, totals)
    own_n = [float(inverse_freeman_tukey(value, n)) for value, n in zip(values, totals, strict=True)]
    assert own_n == pytest.approx([0.0, 0.4, 0.6, 0.8, 1.0], abs=1e-12)

    fixed = pool_proportions(studies_from(events, totals), transform="freeman_tukey").fixed_effect
    assert fixed.proportion == pytest.approx(0.6886, abs=PRINTED_4DP)
    assert fixed.ci.low == pytest.approx(0.5734, abs=PRINTED_4DP)
    assert fixed.ci.high == pytest.approx(0.7943, abs=PRINTED_4DP)


# Stijnen, Hamza & Özdemir (2010), Statistics in Medicine 29:3046, Table II
# (normal-normal model, logit, REML), with the 4-decimal values printed in
# metafor's test suite (wviechtb/metafor tests/testthat/test_analysis_example_stijnen2010.r).
# Data: Niel-Weise et al. (2007), metadat data-raw/dat.nielweise2007.txt;
# columns are (control events, control n, treated events, treated n).
NIELWEISE_2007 = [
    ("Bach 1996", 3, 117, 0, 116),
    ("George 1997", 3, 35, 1, 44),
    ("Maki 1997", 9, 195, 2, 208),
    ("Raad 1997", 7, 136, 0, 130),
    ("Heard 1998", 6, 157, 5, 151),
    ("Collin 1999", 4, 139, 1, 98),
    ("Hannan 1999", 3, 177, 1, 174),
    ("Marik 1999", 2, 39, 1, 74),
    ("Pierce 2000", 19, 103, 1, 97),
    ("Sheng 2000", 2, 122, 1, 113),
    ("Chatzinikolaou 2003", 7, 64, 0, 66),
    ("Corral 2003", 1, 58, 0, 70),
    ("Brun-Buisson 2004", 5, 175, 3, 188),
    ("Leon 2004", 11, 180, 6, 187),
    ("Yucel 2004", 0, 105, 0, 118),
    ("Moretti 2005", 1, 262, 0, 252),
    ("Rupp 2005", 3, 362, 1, 345),
    ("Osma 2006", 1, 69, 4, 64),
]


@pytest.mark.parametrize(
    ("arm", "estimate", "standard_error", "tau2", "proportion", "ci_low", "ci_high"),
    [
        ("control", -3.3018, 0.2378, 0.6629, 0.0355, 0.0226, 0.0554),
        # the treated arm has six studies with 0 events: exercises the 0.5 correction
        ("treated", -4.2604, 0.2589, 0.3928, 0.0139, 0.0084, 0.0229),
    ],
)
def test_reml_logit_matches_stijnen_2010(arm, estimate, standard_error, tau2, proportion, ci_low, ci_high):
    columns = (1, 2) if arm == "control" else (3, 4)
    studies = [StudyProportion(row[0], row[columns[0]], row[columns[1]]) for row in NIELWEISE_2007]
    result = pool_proportions(studies, method="REML", transform="logit")
    assert result.pooled.transformed == pytest.approx(estimate, abs=PRINTED_4DP)
    assert result.pooled.standard_error == pytest.approx(standard_error, abs=PRINTED_4DP)
    assert result.tau2 == pytest.approx(tau2, abs=PRINTED_4DP)
    assert result.pooled.proportion == pytest.approx(proportion, abs=PRINTED_4DP)
    assert result.pooled.ci.low == pytest.approx(ci_low, abs=PRINTED_4DP)
    assert result.pooled.ci.high == pytest.approx(ci_high, abs=PRINTED_4DP)


def restricted_log_likelihood(tau2, effects, variances):
    weights = 1 / (variances + tau2)
    mean = (weights * effects).sum() / weights.sum()
    return -0.5 * (
        np.log(variances + tau2).sum() + np.log(weights.sum()) + (weights * (effects - mean) ** 2).sum()
    )


@pytest.mark.parametrize("transform", [logit_transform, freeman_tukey_transform])
def test_reml_solves_the_score_equation_and_maximises_the_restricted_likelihood(transform):
    effects, variances = transform([row[1] for row in NIELWEISE_2007], [row[2] for row in NIELWEISE_2007])
    tau2 = reml_tau2(effects, variances)
    assert tau2 > 0

    weights = 1 / (variances + tau2)
    mean = (weights * effects).sum() / weights.sum()
    trace_p = weights.sum() - (weights**2).sum() / weights.sum()
    score = (weights**2 * (effects - mean) ** 2).sum() - trace_p
    assert abs(score) <= 1e-8 * trace_p  # zero, relative to the size of its terms

    # independent: a bounded scalar optimiser on the restricted log-likelihood itself
    best = optimize.minimize_scalar(
        lambda t: -restricted_log_likelihood(t, effects, variances),
        bounds=(0, 10),
        method="bounded",
        options={"xatol": 1e-10},
    )
    assert tau2 == pytest.approx(best.x, rel=1e-5)


# Pritz (1997), metadat data-raw/dat.pritz1997.txt; includes two studies with all events.
PRITZ_EVENTS = [16, 10, 4, 43, 10, 25, 13, 12, 22, 4, 5, 18, 58, 6]
PRITZ_TOTALS = [17, 12, 8, 58, 10, 42, 14, 12, 41, 5, 6, 23, 68, 10]


@pytest.mark.parametrize(
    ("transform", "transform_function"),
    [("logit", logit_transform), ("freeman_tukey", freeman_tukey_transform)],
)
def test_dersimonian_laird_agrees_with_statsmodels(transform, transform_function):
    from statsmodels.stats import meta_analysis

    effects, variances = transform_function(PRITZ_EVENTS, PRITZ_TOTALS)
    reference = meta_analysis.combine_effects(effects, variances, method_re="dl")
    assert reference.tau2 > 0  # statsmodels does not truncate at 0; this data needs no truncation

    result = pool_proportions(studies_from(PRITZ_EVENTS, PRITZ_TOTALS), method="DL", transform=transform)
    # same arithmetic, so agreement to rounding error
    close = {"rel": 1e-10, "abs": 1e-12}
    assert result.tau2 == pytest.approx(reference.tau2, **close)
    assert result.pooled.transformed == pytest.approx(reference.mean_effect_re, **close)
    assert result.pooled.standard_error == pytest.approx(reference.sd_eff_w_re, **close)
    assert result.fixed_effect.transformed == pytest.approx(reference.mean_effect_fe, **close)
    assert result.fixed_effect.standard_error == pytest.approx(reference.sd_eff_w_fe, **close)
    assert result.q == pytest.approx(reference.q, **close)
    assert result.i2 == pytest.approx(100 * reference.i2, **close)
    assert result.q_p_value == pytest.approx(reference.test_homogeneity().pvalue, **close)
    assert [row.weight_percent for row in result.studies] == pytest.approx(
        list(100 * reference.weights_rel_re), **close
    )
    _, random_ci, _, _ = reference.conf_int()
    back = (
        (lambda v: 1 / (1 + np.exp(-v)))
        if transform == "logit"
        else (lambda v: inverse_freeman_tukey(v, len(PRITZ_TOTALS) / sum(1 / n for n in PRITZ_TOTALS)))
    )
    assert [result.pooled.ci.low, result.pooled.ci.high] == pytest.approx(
        [float(back(random_ci[0])), float(back(random_ci[1]))], **close
    )


# --- invariants -------------------------------------------------------------

METHODS = st.sampled_from(["REML", "DL"])
TRANSFORMS = st.sampled_from(["logit", "freeman_tukey"])


@st.composite
def counts(draw, min_size=2, max_size=10, strictly_between=False):
    """(events, total) pairs; with strictly_between, 0 < events < total."""
    pairs = []
    for _ in range(draw(st.integers(min_size, max_size))):
        total = draw(st.integers(2 if strictly_between else 1, 400))
        low, high = (1, total - 1) if strictly_between else (0, total)
        pairs.append((draw(st.integers(low, high)), total))
    return pairs


def studies_of(pairs):
    return [StudyProportion(f"study-{index}", events, total) for index, (events, total) in enumerate(pairs)]


def inside(value, interval, slack=1e-12):
    return interval.low - slack <= value <= interval.high + slack


@settings(max_examples=60, deadline=None)
@given(pairs=counts(), method=METHODS, transform=TRANSFORMS)
def test_intervals_contain_their_estimates_and_heterogeneity_is_in_range(pairs, method, transform):
    result = pool_proportions(studies_of(pairs), method=method, transform=transform)
    assert result.tau2 >= 0
    assert result.tau == pytest.approx(math.sqrt(result.tau2))
    assert 0 <= result.i2 <= 100
    assert 0 <= result.q_p_value <= 1
    assert inside(result.pooled.proportion, result.pooled.ci)
    assert inside(result.fixed_effect.proportion, result.fixed_effect.ci)
    if result.prediction_interval is not None:
        assert inside(result.pooled.proportion, result.prediction_interval)
    assert all(inside(row.proportion, row.ci) for row in result.studies)
    assert sum(row.weight_percent for row in result.studies) == pytest.approx(100)


@settings(max_examples=60, deadline=None)
@given(pairs=counts(), transform=TRANSFORMS)
def test_fixed_effect_lies_within_the_studies_on_the_analysis_scale(pairs, transform):
    result = pool_proportions(studies_of(pairs), transform=transform)
    forward = logit_transform if transform == "logit" else freeman_tukey_transform
    values, _ = forward(*zip(*pairs, strict=True))
    assert values.min() - 1e-12 <= result.fixed_effect.transformed <= values.max() + 1e-12


@settings(max_examples=60, deadline=None)
@given(pairs=counts(strictly_between=True))
def test_fixed_effect_lies_within_the_study_proportions_on_the_logit_scale(pairs):
    # Only where no study needs the continuity correction: a corrected 0/n study
    # maps back to 0.5/(n+1), not 0. (The double arcsine maps back with the
    # harmonic-mean n, which can leave the range: Schwarzer et al. 2019.)
    result = pool_proportions(studies_of(pairs), transform="logit")
    proportions = [events / total for events, total in pairs]
    assert min(proportions) - 1e-12 <= result.fixed_effect.proportion <= max(proportions) + 1e-12


@settings(max_examples=40, deadline=None)
@given(data=st.data(), pairs=counts(min_size=2, max_size=8), method=METHODS, transform=TRANSFORMS)
def test_order_of_studies_does_not_matter(data, pairs, method, transform):
    studies = studies_of(pairs)
    shuffled = data.draw(st.permutations(studies))
    first = pool_proportions(studies, method=method, transform=transform).to_dict()
    second = pool_proportions(shuffled, method=method, transform=transform).to_dict()
    first_rows, second_rows = first.pop("studies"), second.pop("studies")
    assert_same_numbers(_flatten(second), _flatten(first))
    rows_first = {row["study_id"]: _flatten(row) for row in first_rows}
    rows_second = {row["study_id"]: _flatten(row) for row in second_rows}
    assert rows_first.keys() == rows_second.keys()
    for study_id, row in rows_first.items():
        assert_same_numbers(rows_second[study_id], row)


def assert_same_numbers(actual, expected):
    """Equal keys; floats equal up to rounding and the 1e-10 REML stopping rule; all else exactly."""
    assert actual.keys() == expected.keys()
    for key, value in expected.items():
        if isinstance(value, float):
            assert actual[key] == pytest.approx(value, rel=1e-9, abs=1e-9), key
        else:
            assert actual[key] == value, key


def _flatten(mapping, prefix=""):
    flat = {}
    for key, value in mapping.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


@settings(max_examples=40, deadline=None)
@given(
    events_total=st.integers(1, 300).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    copies=st.integers(2, 8),
    method=METHODS,
    transform=TRANSFORMS,
)
def test_identical_studies_show_no_heterogeneity(events_total, copies, method, transform):
    result = pool_proportions(studies_of([events_total] * copies), method=method, transform=transform)
    assert result.tau2 == 0
    assert result.i2 == 0
    assert result.pooled.transformed == pytest.approx(result.fixed_effect.transformed)


# --- edge cases -------------------------------------------------------------


@pytest.mark.parametrize("transform", ["logit", "freeman_tukey"])
def test_zero_and_all_event_studies_pool_to_finite_values(transform):
    result = pool_proportions(studies_from([0, 12, 20, 5], [15, 30, 20, 9]), transform=transform)
    values = [result.pooled.proportion, result.pooled.ci.low, result.pooled.ci.high, result.tau2, result.i2]
    assert all(math.isfinite(value) for value in values)
    zero, _, everyone, _ = result.studies
    assert (zero.proportion, zero.ci.low) == (0.0, 0.0)
    assert (everyone.proportion, everyone.ci.high) == (1.0, 1.0)


@pytest.mark.parametrize("transform", ["logit", "freeman_tukey"])
def test_every_study_with_zero_events(transform):
    result = pool_proportions(studies_from([0, 0, 0], [10, 25, 40]), transform=transform)
    assert 0 <= result.pooled.ci.low <= result.pooled.proportion <= result.pooled.ci.high < 0.5
    assert result.tau2 == 0


def test_logit_continuity_correction_applies_only_to_zero_or_all_event_studies():
    values, variances = logit_transform([0, 3, 10], [10, 10, 10])
    assert values[0] == pytest.approx(math.log(0.5 / 10.5))
    assert variances[0] == pytest.approx(1 / 0.5 + 1 / 10.5)
    assert values[1] == pytest.approx(math.log(3 / 7))
    assert variances[1] == pytest.approx(1 / 3 + 1 / 7)
    assert values[2] == pytest.approx(math.log(10.5 / 0.5))


@pytest.mark.parametrize("transform", ["logit", "freeman_tukey"])
def test_single_study_returns_its_own_proportion_and_exact_interval(transform):
    result = pool_proportions([StudyProportion("only", 0, 10, label="Only cohort")], transform=transform)
    assert result.k == 1 and result.total_patients == 10 and result.total_events == 0
    assert result.pooled.proportion == 0.0
    # Clopper-Pearson with no events has the closed form upper = 1 - (alpha/2)^(1/n)
    assert result.pooled.ci.low == 0.0
    assert result.pooled.ci.high == pytest.approx(1 - 0.025 ** (1 / 10), rel=1e-9)
    assert result.fixed_effect == result.pooled
    assert result.prediction_interval is None
    heterogeneity = (result.tau2, result.tau, result.i2, result.q, result.q_df, result.q_p_value)
    assert heterogeneity == (None,) * 6
    assert [row.weight_percent for row in result.studies] == [100.0]


def test_exact_interval_for_all_events_has_closed_form_lower_bound():
    (row,) = pool_proportions([StudyProportion("all", 7, 7)]).studies
    assert row.ci.low == pytest.approx(0.025 ** (1 / 7), rel=1e-9)
    assert row.ci.high == 1.0


def test_two_studies_have_heterogeneity_but_no_prediction_interval():
    result = pool_proportions(studies_from([5, 30], [20, 40]))
    assert result.prediction_interval is None
    assert result.q_df == 1 and result.tau2 is not None and result.i2 is not None


def test_three_studies_have_a_prediction_interval_wider_than_the_confidence_interval():
    result = pool_proportions(studies_from([5, 30, 12], [20, 40, 30]))
    interval = result.prediction_interval
    assert interval is not None
    assert interval.low < result.pooled.ci.low and result.pooled.ci.high < interval.high


def test_totals_and_json_round_trip():
    result = pool_proportions(studies_from(PRITZ_EVENTS, PRITZ_TOTALS), transform="freeman_tukey")
    assert result.total_patients == sum(PRITZ_TOTALS)
    assert result.total_events == sum(PRITZ_EVENTS)
    document = json.loads(json.dumps(result.to_dict()))
    assert document["k"] == len(PRITZ_TOTALS)
    assert document["pooled"]["ci"]["low"] == result.pooled.ci.low
    assert document["studies"][0]["study_id"] == "s0"


def test_cochran_q_is_zero_for_equal_effects():
    assert cochran_q(np.array([0.3, 0.3, 0.3]), np.array([0.1, 0.2, 0.3])) == pytest.approx(0, abs=1e-15)


def test_reml_whose_newton_steps_do_not_settle_in_time_finds_the_root_by_bracketing():
    effects, variances = logit_transform(PRITZ_EVENTS, PRITZ_TOTALS)
    assert reml_tau2(effects, variances, max_iterations=1) == pytest.approx(reml_tau2(effects, variances), rel=1e-6)


@settings(max_examples=200, deadline=None)
@given(pairs=counts(min_size=2, max_size=12), transform=TRANSFORMS)
def test_reml_always_settles_on_a_root_or_zero(pairs, transform):
    forward = logit_transform if transform == "logit" else freeman_tukey_transform
    effects, variances = forward(*zip(*pairs, strict=True))
    tau2 = reml_tau2(effects, variances)
    weights = 1 / (variances + tau2)
    residuals = weights * (effects - (weights * effects).sum() / weights.sum())
    score = (residuals**2).sum() - (weights.sum() - (weights**2).sum() / weights.sum())
    assert tau2 >= 0 and (tau2 == 0 or abs(score) < 1e-6 * max(1.0, weights.sum()))


# --- validation -------------------------------------------------------------


@pytest.mark.parametrize(
    ("events", "total", "message"),
    [
        (11, 10, "between 0 and total"),
        (-1, 10, "between 0 and total"),
        (0, 0, "total must be positive"),
        (2.5, 10, "events must be a whole number"),
        (3, True, "total must be a whole number"),
    ],
)
def test_invalid_counts_name_the_study(events, total, message):
    with pytest.raises(ValueError, match=rf"NCT01234567.*{message}"):
        StudyProportion("NCT01234567", events, total)


def test_numpy_integers_are_accepted():
    assert StudyProportion("np", np.int64(3), np.int64(9)).events == 3


def test_duplicate_studies_are_refused_by_name():
    with pytest.raises(ValueError, match="'twice' appears more than once"):
        pool_proportions([StudyProportion("twice", 1, 5), StudyProportion("twice", 2, 5)])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"method": "ML"}, "unknown method 'ML'"), ({"transform": "arcsine"}, "unknown transform 'arcsine'")],
)
def test_unknown_options_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        pool_proportions(studies_from([1, 2], [5, 5]), **kwargs)


def test_no_studies_is_refused():
    with pytest.raises(ValueError, match="no studies"):
        pool_proportions([])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=100_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))), min_size=1, max_size=6))
def test_each_study_interval_is_the_exact_clopper_pearson_one(counts):
    """Every study's interval (worked out for all studies at once, from the beta quantiles) is
    the one scipy's exact binomial test finds by root-finding, to 1e-9, from no events to all."""
    studies = [StudyProportion(f"s{i}", events, total) for i, (events, total) in enumerate(counts)]
    rows = pool_proportions(studies).studies
    for (events, total), row in zip(counts, rows, strict=True):
        exact = stats.binomtest(events, total).proportion_ci(confidence_level=0.95, method="exact")
        assert row.ci.low == pytest.approx(exact.low, abs=1e-9) and row.ci.high == pytest.approx(exact.high, abs=1e-9)
        assert (row.ci.low == 0.0) == (events == 0) and (row.ci.high == 1.0) == (events == total)
