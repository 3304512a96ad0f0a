"""One contrast, one test: the numerics behind every verdict of the replication.

A directional finding is judged by a single contrast - its estimate, its interval, its p-value
and its verdict all come from the same estimate and standard error, so an interval that covers
the null can never sit next to a "replicated". A "no difference" finding is judged by an
equivalence test (two one-sided tests, TOST) against a stated margin, applied to every pair of
groups at once (the intersection-union test: equivalent only if every pair is). Array-level
code only (NumPy/SciPy); the methods in :mod:`._methods` build the contrasts.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats
from scipy.optimize import brentq

from ..exceptions import SpecificationError

__all__ = [
    "DEFAULT_MARGINS",
    "POWER",
    "Contrast",
    "check_margins",
    "equivalence",
    "mde",
    "omnibus_mde",
    "pairwise",
    "two_sided",
]

#: Power at which the minimal detectable effect is given.
POWER = 0.80

#: Equivalence margins of "no difference" findings. ``difference``: an absolute difference in
#: the event proportion of at most 10 percentage points (what the report's Resumé itself treats
#: as a notable gap, e.g. 70 % vs 82 % for F05). ``odds_ratio``: an odds ratio within
#: [1/1.5, 1.5] = [2/3, 3/2], a "small" effect in Chen, Cohen & Chen (2010, Commun. Stat.
#: Simul. Comput. 39:860) terms.
DEFAULT_MARGINS: dict[str, float] = {"difference": 0.10, "odds_ratio": 1.5}


def check_margins(margins: Mapping[str, Any] | None) -> dict[str, float]:
    """Validate equivalence margins and fill in the defaults.

    Parameters
    ----------
    margins : mapping, optional
        ``{"difference": d, "odds_ratio": r}``; either key may be left out.

    Returns
    -------
    dict
        Both margins as floats.

    Raises
    ------
    SpecificationError
        An unknown key, a margin that is not a finite positive number, a difference margin of
        1 or more, or an odds-ratio margin of 1 or less.
    """
    out = dict(DEFAULT_MARGINS)
    if margins is None:
        return out
    if not isinstance(margins, Mapping):
        raise SpecificationError(
            f"margins must be a mapping like {DEFAULT_MARGINS}, got {type(margins).__name__}"
        )
    unknown = sorted(set(margins) - set(DEFAULT_MARGINS))
    if unknown:
        raise SpecificationError(
            f"unknown margin(s) {unknown}; valid keys are {sorted(DEFAULT_MARGINS)}"
        )
    for key, value in margins.items():
        try:
            m = float(value)
        except (TypeError, ValueError):
            m = math.nan
        if not math.isfinite(m) or m <= 0:
            raise SpecificationError(
                f"margins[{key!r}] must be a finite number > 0, got {value!r}; e.g. "
                f"{DEFAULT_MARGINS[key]} (the default)"
            )
        if key == "difference" and m >= 1:
            raise SpecificationError(
                f"margins['difference'] is a difference in proportions and must lie in (0, 1), "
                f"got {m} (for 10 percentage points pass 0.10)"
            )
        if key == "odds_ratio" and m <= 1:
            raise SpecificationError(
                f"margins['odds_ratio'] is the upper odds ratio r of the interval [1/r, r] and "
                f"must be > 1, got {m} (for [2/3, 3/2] pass 1.5)"
            )
        out[key] = m
    return out


@dataclass(frozen=True)
class Contrast:
    """An estimated contrast on its analysis scale.

    Attributes
    ----------
    estimate : float
        A difference in proportions, or a log odds ratio.
    se : float
        Its standard error (posterior SD for the Bayesian method).
    df : float
        Degrees of freedom of the reference t distribution; ``inf`` for a normal (z) test.
    label : str
        Which groups are compared (``"a vs b"``).
    """

    estimate: float
    se: float
    df: float = math.inf
    label: str = ""

    def quantile(self, q: float) -> float:
        """Quantile of the reference distribution (normal or t)."""
        if math.isinf(self.df):
            return float(stats.norm.ppf(q))
        return float(stats.t.ppf(q, self.df))

    def sf(self, x: float) -> float:
        """Upper tail probability of the reference distribution."""
        if math.isinf(self.df):
            return float(stats.norm.sf(x))
        return float(stats.t.sf(x, self.df))


def two_sided(c: Contrast, alpha: float = 0.05) -> dict[str, float]:
    """Interval at level 1 - alpha and the matching two-sided test of ``c`` (Wald z or t).

    The interval excludes 0 exactly when ``p_value < alpha``: both come from the same estimate,
    standard error and reference distribution.
    """
    if not (np.isfinite(c.se) and c.se > 0):
        raise ValueError(f"the contrast {c.label or ''} has no positive standard error ({c.se})")
    stat = c.estimate / c.se
    q = c.quantile(1 - alpha / 2)
    return {
        "statistic": float(stat),
        "p_value": float(min(1.0, 2 * c.sf(abs(stat)))),
        "ci_lower": float(c.estimate - q * c.se),
        "ci_upper": float(c.estimate + q * c.se),
    }


def mde(c: Contrast, alpha: float = 0.05, power: float = POWER) -> float:
    """Minimal detectable effect of a two-sided level-alpha test at ``power``.

    ``(q_{1-alpha/2} + q_{power}) * se`` on the contrast's scale, with the quantiles of the
    contrast's own reference distribution (its df) and its own standard error (which carries the
    method's n, weights and clusters).
    """
    return float((c.quantile(1 - alpha / 2) + c.quantile(power)) * c.se)


def omnibus_mde(n: float, df: float, alpha: float = 0.05, power: float = POWER) -> float:
    """Smallest Cohen's w a chi-square test on ``df`` degrees of freedom detects at ``power``.

    ``n`` is the (effective) sample size; for a design-based test pass ``n`` divided by the mean
    generalised design effect.
    """
    if not (n > 0 and df > 0):
        return math.nan
    crit = stats.chi2.isf(alpha, df)

    def gap(lam: float) -> float:
        return float(stats.ncx2.sf(crit, df, lam)) - power

    hi = 1.0
    while gap(hi) < 0:
        hi *= 2
    lam = brentq(gap, 1e-9, hi, xtol=1e-10)
    return float(math.sqrt(lam / n))


def pairwise(estimates: np.ndarray, vcov: np.ndarray, labels: Sequence[str], df: float):
    """Every pairwise contrast ``estimates[a] - estimates[b]`` (a before b) with its SE."""
    out = []
    for a, b in itertools.combinations(range(len(estimates)), 2):
        var = vcov[a, a] + vcov[b, b] - 2 * vcov[a, b]
        out.append(
            Contrast(
                float(estimates[a] - estimates[b]),
                float(math.sqrt(max(var, 0.0))),
                df,
                f"{labels[a]} vs {labels[b]}",
            )
        )
    return out


def equivalence(contrasts: Sequence[Contrast], margin: float, alpha: float = 0.05) -> dict:
    """TOST equivalence of every contrast within (-margin, margin), as one intersection-union test.

    Each contrast gets the larger of its two one-sided p-values; the set is equivalent when the
    largest of these is below ``alpha`` - equivalently, when every contrast's 1 - 2 alpha
    interval lies inside the margin. No multiplicity correction is needed (or allowed): an
    intersection-union test is level alpha as it stands (Berger 1982).

    Returns
    -------
    dict
        ``p_value`` (the IUT p-value), the binding contrast's ``estimate``, ``ci_lower`` and
        ``ci_upper`` (its 1 - 2 alpha interval), ``label``, ``se`` and ``df``, and ``n_pairs``.
    """
    if not contrasts:
        raise ValueError("no contrast to test for equivalence")
    worst, worst_p = None, -1.0
    for c in contrasts:
        if not (np.isfinite(c.se) and c.se > 0):
            p = 1.0
        else:
            p_low = c.sf((c.estimate + margin) / c.se)  # H0: estimate <= -margin
            p_up = c.sf((margin - c.estimate) / c.se)  # H0: estimate >= margin
            p = max(p_low, p_up)
        if p > worst_p:
            worst, worst_p = c, p
    assert worst is not None
    q = worst.quantile(1 - alpha) if worst.se > 0 else math.nan
    return {
        "p_value": float(min(worst_p, 1.0)),
        "estimate": worst.estimate,
        "ci_lower": worst.estimate - q * worst.se,
        "ci_upper": worst.estimate + q * worst.se,
        "se": worst.se,
        "df": worst.df,
        "label": worst.label,
        "n_pairs": len(contrasts),
    }


def posterior_interval(draws: np.ndarray, alpha: float = 0.05) -> tuple[float, float, float]:
    """Equal-tailed interval of ``draws`` and the two-sided posterior tail probability.

    ``p = 2 min(P(d <= 0), P(d >= 0))`` (capped at 1). The interval uses the inverted empirical
    CDF, so it excludes 0 exactly when ``p < alpha``: the Bayesian verdict and interval agree
    by construction, as the frequentist ones do.
    """
    d = np.asarray(draws, dtype=float)
    lo = float(np.quantile(d, alpha / 2, method="inverted_cdf"))
    hi = float(-np.quantile(-d, alpha / 2, method="inverted_cdf"))
    below, above = float(np.mean(d <= 0)), float(np.mean(d >= 0))
    p = min(1.0, 2 * min(below, above))
    return lo, hi, p


def rope(draws: np.ndarray, margin: float, alpha: float = 0.05) -> dict[str, float | str]:
    """Bayesian equivalence: the 1 - 2 alpha posterior interval against the ROPE (-margin, margin).

    ``equivalent`` if the interval lies inside the region of practical equivalence, ``difference
    found`` if the 1 - alpha interval excludes 0, otherwise ``inconclusive`` - the same rule as
    the frequentist interval-inclusion (TOST) test, on the same margin.
    """
    d = np.asarray(draws, dtype=float)
    lo = float(np.quantile(d, alpha, method="inverted_cdf"))
    hi = float(-np.quantile(-d, alpha, method="inverted_cdf"))
    _, _, p = posterior_interval(d, alpha)
    if -margin < lo and hi < margin:
        verdict = "equivalent"
    elif p < alpha:
        verdict = "difference found"
    else:
        verdict = "inconclusive"
    return {
        "ci_lower": lo,
        "ci_upper": hi,
        "p_rope": float(np.mean(np.abs(d) < margin)),
        "verdict": verdict,
    }
