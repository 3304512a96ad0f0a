"""Tests of model terms and comparisons of nested models.

* :func:`wald_test` and :func:`wald_test_terms` — Wald tests that all coefficients of a term
  (or of several terms, jointly) are zero, as R ``car::Anova(type = 3, test = "Wald")``,
  ``anova.clm(type = "III")`` and, for design-based fits, ``survey::regTermTest`` (an F test
  with the design's residual degrees of freedom).
* :func:`compare` — likelihood-ratio tests of nested fixed and mixed models, as R
  ``anova(m0, m1)``, with the boundary-corrected reference distribution when the larger model
  adds random-intercept variances.
* :func:`drop1` — the likelihood-ratio test of each term against the model without it, as R
  ``drop1(test = "Chisq")``.

The functions work on the frozen results of :class:`~civmodels.Ordinal` and
:class:`~civmodels.Logistic` (fixed and mixed); the results expose them as methods
(``res.wald_test("area")``, ``res.wald_test_terms()``, ``res.drop1()``).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from math import comb
from typing import Any

import numpy as np
import pandas as pd

from .exceptions import SpecificationError
from .formula import random_formula

__all__ = ["compare", "drop1", "term_parameters", "wald_test", "wald_test_terms"]


# -- terms ----------------------------------------------------------------------------------
def term_parameters(result: Any) -> dict[str, list[str]]:
    """The parameters (names in ``result.params``) belonging to each model term.

    Location terms are named as in the formula (``"area"``, ``"x1:x2"``; the binary models'
    intercept is ``"Intercept"``). Ordinal ``nominal=`` terms are named ``"nominal(x)"`` and
    cover the threshold-specific effects of ``x``; ``scale=`` terms ``"scale(x)"``. The
    thresholds are not a term.

    Parameters
    ----------
    result : fitted result
        Any fixed or mixed civmodels result.

    Returns
    -------
    dict of str to list of str
    """
    m = result.model
    out = dict(m.frame.fixed.term_columns())
    alpha = list(getattr(m, "_alpha_names", []))
    nom = getattr(m, "_nominal_design", None)
    if nom is not None:
        for t, cols in nom.term_columns().items():
            out[f"nominal({t})"] = [f"{a}:{c}" for c in cols for a in alpha]
    sc = getattr(m, "_scale_design", None)
    if sc is not None:
        for t, cols in sc.term_columns().items():
            out[f"scale({t})"] = [f"scale:{c}" for c in cols]
    params = set(result.params.index)
    return {t: cols for t, cols in out.items() if cols and set(cols) <= params}


def _resolve(result: Any, terms: str | Sequence[str]) -> list[tuple[str, list[str]]]:
    """Each requested term (or parameter name) with its parameters; clear error otherwise."""
    names = [terms] if isinstance(terms, str) else list(terms)
    if not names:
        raise SpecificationError("wald_test needs at least one term")
    table = term_parameters(result)
    aliases = {t.removeprefix("C(").removesuffix(")"): t for t in table if t.startswith("C(")}
    out = []
    for name in names:
        if name in table:
            out.append((name, table[name]))
        elif name in aliases:
            out.append((name, table[aliases[name]]))
        elif name in result.params.index:
            out.append((name, [name]))
        else:
            raise SpecificationError(
                f"term {name!r} is not in the model; valid terms: {list(table)} (or a "
                f"parameter name from result.params.index)"
            )
    return out


def _design_ddf(result: Any) -> float | None:
    """Denominator df of a design-based Wald F test, as ``regTermTest`` (None otherwise).

    ``survey`` uses the model's residual df: ``degf - p + 1`` for ``svyglm`` (p counting the
    intercept) and ``degf - p`` for ``svyolr`` (p the location coefficients).
    """
    if getattr(result, "cov_type", None) != "design" or result.df_resid is None:
        return None
    if hasattr(result, "thresholds"):  # the ordinal result stores degf itself
        return float(result.df_resid) - len(result.coef)
    return float(result.df_resid)


def _wald_row(result: Any, params: list[str], ddf: float | None) -> dict[str, float]:
    from scipy import stats

    b = result.params[params].to_numpy(float)
    V = result.vcov.loc[params, params].to_numpy(float)
    k = len(params)
    if not np.all(np.isfinite(V)):
        raise SpecificationError(
            f"the covariance of {params} has non-finite entries (the fit did not give "
            "standard errors for them); no Wald test is possible"
        )
    try:
        chi2 = float(b @ np.linalg.solve(V, b))
    except np.linalg.LinAlgError:
        raise SpecificationError(
            f"the covariance of {params} is singular (a standard error of 0 or an exact "
            "linear dependence); the Wald test of these parameters is not defined"
        ) from None
    row: dict[str, float] = {"df": float(k), "chi2": chi2}
    if ddf is None:
        row["p_value"] = float(stats.chi2.sf(chi2, k))
    else:
        F = chi2 / k
        row.update({"F": F, "ddf": ddf, "p_value": float(stats.f.sf(F, k, ddf))})
    return row


def wald_test(result: Any, terms: str | Sequence[str]) -> pd.DataFrame:
    """Joint Wald test that every coefficient of ``terms`` is zero.

    Parameters
    ----------
    result : fitted result
        A fixed or mixed :class:`~civmodels.Ordinal` / :class:`~civmodels.Logistic` result.
    terms : str or sequence of str
        Term names as in the formula (``"area"``; ``"C(area)"`` may be written ``"area"``),
        ``"nominal(x)"``/``"scale(x)"`` for ordinal nominal and scale terms, or parameter
        names. Several terms are tested *jointly* (one row); use :func:`wald_test_terms` for
        one test per term.

    Returns
    -------
    pandas.DataFrame
        One row, indexed by the terms joined with ``" + "``. Columns ``df`` and ``chi2``
        (the Wald statistic ``b' V^-1 b``) and ``p_value``. Design-based fits add ``F``
        (``chi2 / df``) and ``ddf`` (the design's residual df) and take the p-value from
        ``F(df, ddf)``, as R ``survey::regTermTest``.

    Notes
    -----
    The covariance is the fit's ``vcov`` (model-based, robust, cluster-robust or design-based,
    whichever the fit used). The hypothesis sets the term's coefficients to zero with every
    other term in the model ("type III"); for main-effect models with treatment contrasts
    this equals the type II test. With interactions, a main-effect row tests the effect at
    the reference level of the interacting factor (as ``car::Anova(type = 3)`` with
    treatment contrasts), which is rarely the question; test the interaction first.
    """
    parts = _resolve(result, terms)
    params = list(dict.fromkeys(p for _, cols in parts for p in cols))
    label = " + ".join(name for name, _ in parts)
    return pd.DataFrame([_wald_row(result, params, _design_ddf(result))], index=[label])


def wald_test_terms(result: Any) -> pd.DataFrame:
    """Wald test of each model term (one row per term), as ``car::Anova(type = 3)``.

    Parameters
    ----------
    result : fitted result
        A fixed or mixed :class:`~civmodels.Ordinal` / :class:`~civmodels.Logistic` result.

    Returns
    -------
    pandas.DataFrame
        Index = term (the binary models' ``"Intercept"`` included, as ``car::Anova``);
        columns as :func:`wald_test`.

    Examples
    --------
    >>> res.wald_test_terms()  # doctest: +SKIP
                 df       chi2   p_value
    x1          1.0  16.835928  0.000041
    region      4.0   1.128198  0.889765
    """
    ddf = _design_ddf(result)
    rows = {t: _wald_row(result, cols, ddf) for t, cols in term_parameters(result).items()}
    if not rows:
        raise SpecificationError("the model has no terms to test")
    return pd.DataFrame.from_dict(rows, orient="index")


# -- likelihood-ratio comparisons -----------------------------------------------------------
def _pseudo(result: Any) -> bool:
    """Whether the fit maximised a pseudo-likelihood (design or sampling weights)."""
    return getattr(result, "cov_type", None) == "design" or bool(getattr(result, "pseudo", False))


def _groups(result: Any) -> list[str]:
    return list(getattr(result, "group_names", []) or [])


def _correlations(result: Any) -> list[str]:
    corr = getattr(result, "re_corr", None)
    return [] if corr is None else [str(c) for c in corr.index]


def _kind(result: Any) -> str:
    return type(result.model).__name__


def _check_comparable(small: Any, big: Any) -> None:
    for r in (small, big):
        if not hasattr(r, "loglik"):
            raise SpecificationError(
                f"{type(r).__name__} has no log-likelihood; compare() needs maximum-likelihood "
                "fits (for posterior fits compare by LOO/WAIC in civmodels.bayes)"
            )
        if _pseudo(r):
            raise SpecificationError(
                "a fit with sampling or design weights maximises a pseudo-likelihood, so a "
                "likelihood-ratio test is not valid; use result.wald_test(...) (with a design: "
                "an F test, as survey::regTermTest)"
            )
    if _kind(small) != _kind(big):
        raise SpecificationError(f"cannot compare a {_kind(small)} model with a {_kind(big)} model")
    ms, mb = small.model, big.model
    if ms.frame.outcome_name != mb.frame.outcome_name:
        raise SpecificationError(
            f"the models have different outcomes ({ms.frame.outcome_name!r} and "
            f"{mb.frame.outcome_name!r}); a likelihood-ratio test needs the same outcome"
        )
    same_rows = ms.frame.nobs == mb.frame.nobs and ms.frame.data.index.equals(mb.frame.data.index)
    if not same_rows or not np.array_equal(ms.frame.y, mb.frame.y):
        raise SpecificationError(
            f"the models were fitted to different rows ({ms.frame.nobs} and {mb.frame.nobs} "
            f"rows used; {ms.frame.n_dropped} and {mb.frame.n_dropped} dropped for missing "
            "values); refit both on the same complete cases, e.g. "
            "data.dropna(subset=[...all variables of the larger model...])"
        )
    ws, wb = getattr(small, "weights", None), getattr(big, "weights", None)
    if (ws is None) != (wb is None) or (
        ws is not None and wb is not None and not np.allclose(ws, wb)
    ):
        raise SpecificationError("the models were fitted with different weights")
    if ms.link_name != mb.link_name:
        raise SpecificationError(
            f"the models use different links ({ms.link_name!r}, {mb.link_name!r}); they are "
            "not nested"
        )
    if getattr(ms, "thresholds", None) != getattr(mb, "thresholds", None):
        raise SpecificationError("the models use different threshold structures")
    if _groups(small) and _groups(big):
        if (small.method, small.n_quad) != (big.method, big.n_quad):
            raise SpecificationError(
                f"the mixed models were fitted with different approximations "
                f"({small.method}, n_quad={small.n_quad} vs {big.method}, n_quad={big.n_quad}); "
                "their log-likelihoods are not comparable — refit with the same method"
            )


def _nested(small: Any, big: Any) -> None:
    ps, pb = list(small.params.index), set(big.params.index)
    thr = list(getattr(big.model, "_alpha_names", []))
    missing = []
    for p in ps:
        if p in pb:
            continue
        # a location effect that the larger model makes threshold-specific
        if thr and all(f"{a}:{p}" in pb for a in thr):
            continue
        missing.append(p)
    gs, gb = set(_groups(small)), set(_groups(big))
    cs, cb = set(_correlations(small)), set(_correlations(big))
    if missing or not gs <= gb or not cs <= cb:
        extra = f"; random terms {sorted(gs - gb)} only in the first" if gs - gb else ""
        if cs - cb:
            extra += f"; random-effect correlations {sorted(cs - cb)} only in the first"
        raise SpecificationError(
            "the models are not nested: the first model's parameters "
            f"{missing} are not in the second{extra}. Pass the smaller model first"
        )
    if len(ps) + len(gs) + len(cs) >= len(pb) + len(gb) + len(cb):
        raise SpecificationError(
            "the second model has no parameters beyond the first; pass the smaller model first"
        )


def _lr_p(lr: float, q: int, r: int) -> float:
    """P-value of the LR statistic for ``q`` added coefficients and ``r`` added variances.

    With ``r`` variances tested on their boundary (0) the null distribution is the mixture
    ``sum_j C(r, j) 2^-r chi2(q + j)`` (Self & Liang 1987; Stram & Lee 1994), ``chi2(0)``
    being a point mass at 0.
    """
    from scipy import stats

    if r == 0:
        return float(stats.chi2.sf(lr, q))
    total = 0.0
    for j in range(r + 1):
        dfj = q + j
        sf = float(stats.chi2.sf(lr, dfj)) if dfj > 0 else float(lr <= 0)
        total += comb(r, j) / 2**r * sf
    return total


def compare(*results: Any, labels: Sequence[str] | None = None) -> pd.DataFrame:
    """Likelihood-ratio tests of nested maximum-likelihood fits (R ``anova(m0, m1, ...)``).

    Parameters
    ----------
    *results : fitted results
        Two or more fits of the same outcome to the same rows, smallest first; each must be
        nested in the next (its parameters a subset of the next one's, its grouping factors
        too). Fixed and mixed fits can be mixed (a fixed fit is a mixed fit with zero
        random-intercept variances).
    labels : sequence of str, optional
        Row labels; default ``"model 1"``, ``"model 2"``, ...

    Returns
    -------
    pandas.DataFrame
        One row per model: ``formula``, ``nobs``, ``k_params``, ``loglik``, ``aic`` and, from
        the second row, ``lr_stat`` (twice the log-likelihood gain), ``df`` (added
        parameters), ``re_added`` (added random-intercept variances) and ``p_value``.

    Raises
    ------
    SpecificationError
        For models that are not nested, were fitted to different rows or weights, use
        different outcomes or links, are design-based (no likelihood) or mixed fits with
        different approximations.

    Notes
    -----
    When the larger model adds ``r`` random-intercept variances the null hypothesis puts
    them on the boundary of the parameter space and the LR statistic is not ``chi2(df)``:
    its null distribution is the mixture of ``chi2(q)``, ..., ``chi2(q + r)`` with binomial
    weights ``C(r, j) / 2^r``, ``q`` the added coefficients (for one variance:
    ``0.5 chi2(q) + 0.5 chi2(q + 1)``; Self & Liang 1987, Stram & Lee 1994). R's
    ``anova()`` uses ``chi2(q + r)``, which is conservative. The mixture is exact for one
    variance and an approximation for several. A negative LR statistic (the larger fit did
    not reach its optimum) is reported as it is with a NaN p-value.

    References
    ----------
    Self, S. G. and Liang, K.-Y. (1987). Asymptotic properties of maximum likelihood
    estimators and likelihood ratio tests under nonstandard conditions. *JASA* 82, 605–610.
    Stram, D. O. and Lee, J. W. (1994). Variance components testing in the longitudinal
    mixed effects model. *Biometrics* 50, 1171–1177.
    """
    if len(results) < 2:
        raise SpecificationError("compare() needs at least two fitted models, smallest first")
    if labels is None:
        labels = [f"model {i + 1}" for i in range(len(results))]
    if len(labels) != len(results):
        raise SpecificationError(f"{len(labels)} labels for {len(results)} models")
    for a, b in itertools.pairwise(results):
        _check_comparable(a, b)
        _nested(a, b)
    rows = []
    for i, r in enumerate(results):
        row: dict[str, Any] = {
            "formula": r.model.formula,
            "nobs": r.nobs,
            "k_params": r.k_params,
            "loglik": r.loglik,
            "aic": r.aic,
        }
        if i:
            prev = results[i - 1]
            lr = 2.0 * (r.loglik - prev.loglik)
            r_add = len(set(_groups(r)) - set(_groups(prev)))
            q = (r.k_params - prev.k_params) - r_add
            row.update(
                lr_stat=lr,
                df=q + r_add,
                re_added=r_add,
                # |LR| below 1e-6 is optimiser noise around an SD estimated at 0: the
                # mixture's atom at 0, p = 1 (not 0.5 from a tiny positive LR)
                p_value=_lr_p(max(lr, 0.0) if lr >= 1e-6 else 0.0, q, r_add)
                if lr >= -1e-6
                else float("nan"),
            )
        rows.append(row)
    return pd.DataFrame(rows, index=list(labels))


# -- drop1 ----------------------------------------------------------------------------------
def _refit(result: Any, fixed_rhs: str) -> Any:
    """Refit ``result``'s model with location part ``fixed_rhs`` on the same rows."""
    m = result.model
    rand = random_formula(m.frame.parsed.random)
    rhs = " + ".join(x for x in (fixed_rhs, rand) if x)
    formula = f"{m.frame.outcome_name} ~ {rhs}"
    kwargs: dict[str, Any] = {"link": m.link_name, "weights": m.weights_name}
    if _kind(result) == "Ordinal":
        kwargs.update(nominal=m.nominal, scale=m.scale, thresholds=m.thresholds)
    new = type(m)(formula, m.frame.data, **kwargs)
    fit_kw: dict[str, Any] = {}
    if _groups(result):
        fit_kw = {"method": result.method}
        if result.method == "agq":
            fit_kw["n_quad"] = result.n_quad
    return new.fit(**fit_kw)


def drop1(result: Any) -> pd.DataFrame:
    """Likelihood-ratio test of each term against the model without it (R ``drop1``).

    Each location term is removed in turn and the model refitted on the same rows (the
    complete cases of the full model), with the same link, weights, nominal/scale terms
    and, for mixed models, the same approximation. As R, terms contained in a higher-order
    term (``a`` and ``b`` when ``a:b`` is in the model) are not dropped.

    Parameters
    ----------
    result : fitted result
        A fixed or mixed maximum-likelihood fit (not design-based: use
        :func:`wald_test_terms` there).

    Returns
    -------
    pandas.DataFrame
        First row ``"<none>"`` (the full model's AIC), then one row per term with ``df``,
        ``aic`` (of the reduced model), ``lr_stat`` and ``p_value`` (``chi2(df)``).

    Notes
    -----
    Costs one refit per term. The binary models' intercept is not dropped (as R).
    """
    from scipy import stats

    if _pseudo(result):
        raise SpecificationError(
            "drop1 uses likelihood-ratio tests, which a fit with sampling or design weights "
            "(a pseudo-likelihood) does not support; use result.wald_test_terms()"
        )
    terms = {t: c for t, c in result.model.frame.fixed.term_columns().items() if t != "Intercept"}
    if not terms:
        raise SpecificationError("the model has no location terms to drop")
    # marginality, as R's drop.scope: a term inside a higher-order term (a in a:b) stays
    parts = {t: set(t.split(":")) for t in terms}
    droppable = [t for t in terms if not any(parts[t] < parts[u] for u in terms)]
    rows: dict[str, dict[str, float]] = {
        "<none>": {"df": np.nan, "aic": result.aic, "lr_stat": np.nan, "p_value": np.nan}
    }
    for t in droppable:
        keep = [u for u in terms if u != t]
        rhs = " + ".join(keep) if keep else "1"
        small = _refit(result, rhs)
        lr = 2.0 * (result.loglik - small.loglik)
        k = result.k_params - small.k_params
        rows[t] = {
            "df": float(k),
            "aic": small.aic,
            "lr_stat": lr,
            "p_value": float(stats.chi2.sf(lr, k)),
        }
    return pd.DataFrame.from_dict(rows, orient="index")
