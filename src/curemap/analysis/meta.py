"""Random-effects pooling of single-arm outcome proportions across studies.

Typical use: the share of patients with no evidence of disease activity (NEDA)
after autologous stem cell transplantation, reported by several cohorts. Each
study's proportion is moved to a scale on which it is roughly normal with a
known variance, pooled by inverse-variance weighting with a between-study
variance τ², and moved back to the proportion scale.

The choices, stated once:

* Logit scale: log-odds with variance 1/x + 1/(n − x). A study with 0 or all
  events has an infinite log-odds, so 0.5 is added to its events and non-events
  (only to those studies; as metafor's ``escalc(to="only0")`` and meta's
  ``metaprop(incr=0.5)`` do).
* Freeman–Tukey scale (Freeman & Tukey 1950): the double arcsine, halved as in
  metafor's ``measure="PFT"``, variance 1/(4n + 2); no correction is needed at
  0 or n events. It is moved back with Miller's (1978) inversion, which needs a
  sample size: pooled values use the harmonic mean of the studies' n (Miller's
  proposal); a single study's value with its own n gives back exactly x/n.
* τ²: DerSimonian & Laird (1986) moments estimator, or REML (Viechtbauer 2005)
  by Newton steps with Fisher scoring as the fallback; both truncated at 0.
* Confidence intervals of pooled values: 95%, normal (Wald) on the analysis
  scale, then moved back.
* Prediction interval (Higgins, Thompson & Spiegelhalter 2009):
  μ ± t(k − 2) · √(τ² + SE²). With k − 2 degrees of freedom it needs k ≥ 3;
  with fewer studies it is None rather than a made-up width.
* I² = (Q − df)/Q, floored at 0 (Higgins & Thompson 2002), from Cochran's Q with
  fixed-effect weights, whichever τ² estimator is used.
* Each study's own 95% interval is Clopper–Pearson (exact), not one from the
  analysis scale, so studies with 0 or all events still get an honest interval.
* One study: its proportion and exact interval; heterogeneity fields are None.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from numbers import Integral
from typing import Any

import numpy as np
from scipy import optimize, special, stats

METHODS = ("REML", "DL")
TRANSFORMS = ("logit", "freeman_tukey")
CONFIDENCE_LEVEL = 0.95
CONTINUITY_CORRECTION = 0.5

_Z = float(stats.norm.ppf(0.5 + CONFIDENCE_LEVEL / 2))


class REMLNotConverged(ArithmeticError):
    """The REML iteration did not settle within the allowed number of steps."""


@dataclass(frozen=True)
class StudyProportion:
    """One study arm: ``events`` of ``total`` patients had the outcome.

    Checked on construction, so a bad count from a registry or an abstract is
    reported against the study it came from rather than deep in the arithmetic.
    """

    study_id: str
    events: int
    total: int
    label: str | None = None
    citation: str | None = None

    def __post_init__(self) -> None:
        for name in ("events", "total"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, Integral):
                raise ValueError(f"study {self.study_id!r}: {name} must be a whole number, got {value!r}")
        if self.total <= 0:
            raise ValueError(f"study {self.study_id!r}: total must be positive, got {self.total}")
        if not 0 <= self.events <= self.total:
            raise ValueError(
                f"study {self.study_id!r}: events must be between 0 and total ({self.total}), "
                f"got {self.events}"
            )


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


@dataclass(frozen=True)
class PooledProportion:
    """A pooled proportion and its 95% CI, with the value and SE on the scale it was pooled on."""

    proportion: float
    ci: Interval
    transformed: float
    standard_error: float


@dataclass(frozen=True)
class StudyRow:
    """One study as it enters the pooled estimate: proportion, exact 95% CI, random-effects weight."""

    study_id: str
    label: str | None
    citation: str | None
    events: int
    total: int
    proportion: float
    ci: Interval
    weight_percent: float


@dataclass(frozen=True)
class PooledEstimate:
    """The result of :func:`pool_proportions`; ``pooled`` is the random-effects estimate."""

    method: str
    transform: str
    k: int
    total_patients: int
    total_events: int
    pooled: PooledProportion
    fixed_effect: PooledProportion
    prediction_interval: Interval | None
    tau2: float | None
    tau: float | None
    i2: float | None
    q: float | None
    q_df: int | None
    q_p_value: float | None
    studies: tuple[StudyRow, ...]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def logit_transform(events: np.ndarray, totals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Log-odds and variance; 0.5 is added only where events are 0 or all, where log-odds is infinite."""
    events = np.asarray(events, dtype=float)
    totals = np.asarray(totals, dtype=float)
    correction = CONTINUITY_CORRECTION * ((events == 0) | (events == totals))
    with_outcome = events + correction
    without_outcome = totals - events + correction
    return np.log(with_outcome / without_outcome), 1 / with_outcome + 1 / without_outcome


def inverse_logit(values: np.ndarray, n: float) -> np.ndarray:
    """The logistic function; ``n`` is unused and present so both scales move back alike."""
    return special.expit(values)


def freeman_tukey_transform(events: np.ndarray, totals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Freeman & Tukey (1950) double arcsine, halved (metafor's PFT), with variance 1/(4n + 2)."""
    events = np.asarray(events, dtype=float)
    totals = np.asarray(totals, dtype=float)
    values = 0.5 * (
        np.arcsin(np.sqrt(events / (totals + 1))) + np.arcsin(np.sqrt((events + 1) / (totals + 1)))
    )
    return values, 1 / (4 * totals + 2)


def inverse_freeman_tukey(values: np.ndarray, n: float) -> np.ndarray:
    """Miller (1978) inversion for sample size ``n``.

    Values below what 0 events give (or above what n events give) can arise at
    interval ends; they map to 0 (or 1), as metafor's ``transf.ipft`` does.
    """
    values = np.asarray(values, dtype=float)
    sine = np.sin(2 * values)
    with np.errstate(divide="ignore", invalid="ignore"):
        inverted = 0.5 * (1 - np.sign(np.cos(2 * values)) * np.sqrt(1 - (sine + (sine - 1 / sine) / n) ** 2))
    (lowest, highest), _ = freeman_tukey_transform(np.array([0.0, n]), np.array([n, n]))
    return np.where(values < lowest, 0.0, np.where(values > highest, 1.0, inverted))


@dataclass(frozen=True)
class _Scale:
    forward: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
    backward: Callable[[np.ndarray, float], np.ndarray]


_SCALES = {
    "logit": _Scale(logit_transform, inverse_logit),
    "freeman_tukey": _Scale(freeman_tukey_transform, inverse_freeman_tukey),
}


def cochran_q(effects: np.ndarray, variances: np.ndarray) -> float:
    """Cochran's Q: weighted squared deviations from the fixed-effect mean."""
    weights = 1 / variances
    mean = (weights * effects).sum() / weights.sum()
    return float((weights * (effects - mean) ** 2).sum())


def dersimonian_laird_tau2(effects: np.ndarray, variances: np.ndarray) -> float:
    """DerSimonian & Laird (1986): τ² = (Q − (k − 1)) / (Σw − Σw²/Σw), truncated at 0."""
    weights = 1 / variances
    scaling = weights.sum() - (weights**2).sum() / weights.sum()
    return max(0.0, (cochran_q(effects, variances) - (len(effects) - 1)) / scaling)


def reml_tau2(
    effects: np.ndarray, variances: np.ndarray, *, tolerance: float = 1e-10, max_iterations: int = 100
) -> float:
    """REML τ² (Viechtbauer 2005): the root of the REML score, started at DerSimonian–Laird, kept ≥ 0.

    With w = 1/(v + τ²), P = W − wwᵀ/Σw and r = Py = w(y − μ̂), twice the score
    is rᵀr − tr P. Each step divides it by twice the observed information,
    2rᵀPr − tr P², or, where that is not positive, by twice the expected
    information, tr P² (a Fisher-scoring step). Pure Fisher scoring can crawl
    for thousands of steps when one extreme study dominates; these Newton
    steps settle in a few dozen at most. Stops when a step moves τ² by less
    than ``tolerance``. Like metafor, it finds the maximum reached from the
    starting value, which for a rare bimodal likelihood can be τ² = 0. Where
    Newton steps cycle instead of settling (they can, between two sides of a
    steep score), the root is bracketed and found by bisection (Brent) instead.
    """
    tau2 = dersimonian_laird_tau2(effects, variances)
    for _ in range(max_iterations):
        weights = 1 / (variances + tau2)
        total = weights.sum()
        residuals = weights * (effects - (weights * effects).sum() / total)
        trace_p = total - (weights**2).sum() / total
        trace_p_squared = (
            (weights**2).sum() - 2 * (weights**3).sum() / total + ((weights**2).sum() / total) ** 2
        )
        twice_observed = (
            2 * ((weights * residuals**2).sum() - (weights * residuals).sum() ** 2 / total) - trace_p_squared
        )
        information = twice_observed if twice_observed > 0 else trace_p_squared
        updated = max(0.0, tau2 + ((residuals**2).sum() - trace_p) / information)
        if abs(updated - tau2) < tolerance:
            return float(updated)
        tau2 = updated
    return _reml_by_bracketing(effects, variances, tolerance)


def _reml_score(effects: np.ndarray, variances: np.ndarray, tau2: float) -> float:
    """Twice the REML score at τ²: rᵀr − tr P (see :func:`reml_tau2`)."""
    weights = 1 / (variances + tau2)
    total = weights.sum()
    residuals = weights * (effects - (weights * effects).sum() / total)
    return float((residuals**2).sum() - (total - (weights**2).sum() / total))


def _reml_by_bracketing(effects: np.ndarray, variances: np.ndarray, tolerance: float) -> float:
    """The REML root by Brent's method on a bracket [0, high] where the score changes sign
    (τ² = 0 where the score is already negative there)."""
    if _reml_score(effects, variances, 0.0) <= 0:
        return 0.0
    high = max(float(np.var(effects)), float(variances.max()), 1e-8)
    for _ in range(200):
        if _reml_score(effects, variances, high) < 0:
            return float(optimize.brentq(lambda t: _reml_score(effects, variances, t), 0.0, high, xtol=tolerance))
        high *= 2
    raise REMLNotConverged("REML estimate of tau^2 has no root below " + f"{high:.3g}")


def _clopper_pearson(events: np.ndarray, totals: np.ndarray) -> list[Interval]:
    """Each study's exact (Clopper-Pearson) interval, all at once: the beta quantiles that define
    it (0 below no events, 1 above all), which scipy's ``binomtest`` finds one study at a time
    by root-finding, 2 ms a study (most of pooling thousands of figures)."""
    tail = (1 - CONFIDENCE_LEVEL) / 2
    some, not_all = events > 0, events < totals
    low = np.where(some, special.betaincinv(np.where(some, events, 1), totals - events + 1, tail), 0.0)
    high = np.where(not_all, special.betaincinv(events + 1, np.where(not_all, totals - events, 1), 1 - tail), 1.0)
    return [Interval(float(a), float(b)) for a, b in zip(low, high, strict=True)]


def _inverse_variance_pool(
    effects: np.ndarray, variances: np.ndarray, back: Callable[[float], float]
) -> PooledProportion:
    weights = 1 / variances
    mean = float((weights * effects).sum() / weights.sum())
    standard_error = math.sqrt(1 / weights.sum())
    half_width = _Z * standard_error
    return PooledProportion(
        proportion=back(mean),
        ci=Interval(back(mean - half_width), back(mean + half_width)),
        transformed=mean,
        standard_error=standard_error,
    )


def pool_proportions(
    studies: Sequence[StudyProportion],
    *,
    method: str = "REML",
    transform: str = "logit",
    tolerance: float = 1e-10,
    max_iterations: int = 100,
) -> PooledEstimate:
    """Pool the studies' proportions: random-effects (``method`` "REML" or "DL") and fixed-effect.

    ``transform`` is "logit" or "freeman_tukey"; ``tolerance`` and
    ``max_iterations`` govern the REML iteration. See the module docstring for
    every convention used.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    if transform not in TRANSFORMS:
        raise ValueError(f"unknown transform {transform!r}; expected one of {', '.join(TRANSFORMS)}")
    if not studies:
        raise ValueError("no studies to pool")
    seen: set[str] = set()
    for study in studies:
        if study.study_id in seen:
            raise ValueError(f"study {study.study_id!r} appears more than once")
        seen.add(study.study_id)

    scale = _SCALES[transform]
    totals = np.array([study.total for study in studies], dtype=float)
    effects, variances = scale.forward(np.array([study.events for study in studies], dtype=float), totals)
    study_cis = _clopper_pearson(np.array([study.events for study in studies], dtype=float), totals)
    k = len(studies)
    common = {
        "method": method,
        "transform": transform,
        "k": k,
        "total_patients": int(sum(study.total for study in studies)),
        "total_events": int(sum(study.events for study in studies)),
    }

    if k == 1:
        (study,) = studies
        single = PooledProportion(
            proportion=study.events / study.total,
            ci=study_cis[0],
            transformed=float(effects[0]),
            standard_error=math.sqrt(variances[0]),
        )
        return PooledEstimate(
            **common,
            pooled=single,
            fixed_effect=single,
            prediction_interval=None,
            tau2=None,
            tau=None,
            i2=None,
            q=None,
            q_df=None,
            q_p_value=None,
            studies=(_study_row(study, study_cis[0], 100.0),),
        )

    if method == "REML":
        tau2 = reml_tau2(effects, variances, tolerance=tolerance, max_iterations=max_iterations)
    else:
        tau2 = dersimonian_laird_tau2(effects, variances)
    back_n = float(stats.hmean(totals))

    def back(value: float) -> float:
        return float(scale.backward(np.asarray(value), back_n))

    pooled = _inverse_variance_pool(effects, variances + tau2, back)
    prediction_interval = None
    if k >= 3:
        half_width = float(stats.t.ppf(0.5 + CONFIDENCE_LEVEL / 2, k - 2)) * math.sqrt(
            tau2 + pooled.standard_error**2
        )
        prediction_interval = Interval(
            back(pooled.transformed - half_width), back(pooled.transformed + half_width)
        )

    q = cochran_q(effects, variances)
    q_df = k - 1
    random_weights = 1 / (variances + tau2)
    weight_percents = 100 * random_weights / random_weights.sum()
    return PooledEstimate(
        **common,
        pooled=pooled,
        fixed_effect=_inverse_variance_pool(effects, variances, back),
        prediction_interval=prediction_interval,
        tau2=tau2,
        tau=math.sqrt(tau2),
        i2=100 * (q - q_df) / q if q > q_df else 0.0,
        q=q,
        q_df=q_df,
        q_p_value=float(stats.chi2.sf(q, q_df)),
        studies=tuple(
            _study_row(study, ci, float(weight))
            for study, ci, weight in zip(studies, study_cis, weight_percents, strict=True)
        ),
    )


def _study_row(study: StudyProportion, ci: Interval, weight_percent: float) -> StudyRow:
    return StudyRow(
        study_id=study.study_id,
        label=study.label,
        citation=study.citation,
        events=int(study.events),
        total=int(study.total),
        proportion=study.events / study.total,
        ci=ci,
        weight_percent=weight_percent,
    )
