"""Tests of the proportional-odds (parallel lines) assumption.

* :func:`nominal_test` — likelihood-ratio test of the model against the partial proportional
  odds model in which one location term (or all of them) gets threshold-specific effects, as
  R ``ordinal::nominal_test``.
* :func:`brant_test` — Brant's (1990) Wald test comparing the slopes of the ``J - 1``
  separate binary logits ``1{Y > j}``, per coefficient and overall (as the R ``brant``
  package and Stata ``brant``).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from formulaic import Formula
from scipy import stats

from ..exceptions import ConvergenceWarning, SeparationWarning, SpecificationError

if TYPE_CHECKING:
    from .._mle import FixedFitResult, NewtonResult

__all__ = ["brant_test", "nominal_test"]


def _terms(rhs: str) -> list[str]:
    return [str(t) for t in Formula(rhs) if str(t) != "1"]


def nominal_test(result: FixedFitResult) -> pd.DataFrame:
    """Likelihood-ratio tests of proportional odds (R ``ordinal::nominal_test``).

    For each location term the model is refitted with that term moved to ``nominal=``
    (threshold-specific effects); the last row ("all terms") moves every term at once.

    Parameters
    ----------
    result : OrdinalResult
        A fixed-effect fit without ``nominal=`` and ``scale=``, not design-based (a
        likelihood-ratio test needs a likelihood).

    Returns
    -------
    pandas.DataFrame
        Index = term; columns ``df``, ``loglik`` (of the nominal model), ``lr_stat``,
        ``p_value`` and ``note`` (empty, or why the row's statistic is NaN).

    Notes
    -----
    A small p-value is evidence that the effect of the term differs between thresholds.
    With many categories and predictors the nominal model may fail to converge or give
    crossing cumulative probabilities; such rows are reported with a NaN statistic and the
    reason in ``note``, and every warning raised by a refit is passed on with its term.
    """
    m = result.model
    Ordinal = type(m)  # refit with the model's own class (keeps po.py below model.py)
    if m.nominal or m.scale or result.cov_type == "design" or result.pseudo:
        raise SpecificationError(
            "nominal_test needs a plain cumulative link model fitted by maximum likelihood "
            "(no nominal=, no scale=, no design= and no sampling weights=: a likelihood-ratio "
            "test needs a likelihood, and a pseudo-likelihood ratio is not chi-square). Use "
            "brant_test() without sampling weights, or compare the nominal model's Wald tests"
        )
    rhs = m.frame.parsed.fixed
    terms = _terms(rhs)
    if not terms:
        raise SpecificationError("the model has no location terms to test")
    outcome = m.frame.outcome_name
    rows = {}
    specs = [(t, [t]) for t in terms]
    if len(terms) > 1:
        specs.append(("all terms", terms))
    for label, moved in specs:
        keep = [t for t in terms if t not in moved]
        f = f"{outcome} ~ " + (" + ".join(keep) if keep else "1")
        alt = Ordinal(
            f,
            m.frame.data,
            link=m.link_name,
            nominal="~ " + " + ".join(moved),
            thresholds=m.thresholds,
            weights=m.weights_name,
        )
        reason = ""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            dfree: float
            try:
                fit = alt.fit()
                ll, ok = fit.loglik, fit.converged
                dfree = fit.k_params - result.k_params
                if not ok:
                    reason = f"the nominal model did not converge: {fit.message}"
            except (ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:
                ll, ok, dfree = np.nan, False, np.nan
                reason = f"the nominal model could not be fitted ({type(exc).__name__}: {exc})"
        for w in caught:  # pass every warning on, saying which refit raised it
            if issubclass(w.category, ConvergenceWarning):
                ok = False
                reason = reason or f"the nominal model did not converge: {w.message}"
            warnings.warn(f"nominal_test, term {label!r}: {w.message}", w.category, stacklevel=3)
        lr = 2 * (ll - result.loglik) if ok else np.nan
        rows[label] = {
            "df": dfree,
            "loglik": ll,
            "lr_stat": lr,
            "p_value": stats.chi2.sf(lr, dfree) if ok else np.nan,
            "note": reason,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def brant_test(result: FixedFitResult) -> pd.DataFrame:
    """Brant's Wald test of proportional odds, per coefficient and overall ("Omnibus").

    Fits the ``J - 1`` binary logits of ``1{Y > j}`` on the location design and tests that
    their slopes are equal, using the joint covariance of the separate fits (Brant 1990).

    Parameters
    ----------
    result : OrdinalResult
        A logit-link fit with flexible thresholds, no ``nominal=`` and no ``scale=``.

    Returns
    -------
    pandas.DataFrame
        Index = ``"Omnibus"`` then one row per coefficient; columns ``chi2``, ``df``,
        ``p_value``.

    Notes
    -----
    If a binary logit is separated (say no observation with a dummy equal to 1 lies above
    cutpoint ``j``), that slope is infinite and its contrasts contribute nothing to the Wald
    statistic as the fit runs off (the Hauck–Donner effect): the statistic converges to a
    finite value that is not chi-square with the stated df and cannot see that departure
    from proportional odds. A :class:`~civmodels.SeparationWarning` names the binary logits
    and coefficients, and the rows of the separated coefficients and the ``"Omnibus"`` row
    are NaN; the other rows remain valid. :func:`nominal_test` (likelihood ratio) is still
    defined.

    References
    ----------
    Brant, R. (1990). Assessing proportionality in the proportional odds model for ordinal
    logistic regression. *Biometrics* 46, 1171–1178.
    """
    from .._binary import binary_derivatives
    from .._links import get_link
    from .._mle import newton

    m = result.model
    if result.pseudo:
        raise SpecificationError(
            "the Brant test uses the model-based covariance of the binary logits, which "
            "treats weights as counts; it is not available with sampling weights (weights=) "
            "or design= (pass counts as freq_weights=)"
        )
    if m.link_name != "logit" or m.nominal or m.scale or m.thresholds != "flexible":
        raise SpecificationError(
            "the Brant test is defined for the proportional-odds logit model with flexible "
            "thresholds and no nominal/scale effects; use nominal_test() otherwise"
        )
    X0 = m.frame.X
    k = X0.shape[1]
    if k == 0:
        raise SpecificationError("the model has no location effects to test")
    X = np.column_stack([np.ones(len(X0)), X0])
    y = m.frame.y
    J = m.frame.n_categories
    if J < 3:
        raise SpecificationError("the Brant test needs at least 3 outcome categories")
    w = result.weights if result.weights is not None else np.ones(len(y))
    logit = get_link("logit")
    betas, pis = [], []
    # coefficient index -> descriptions of the binary logits in which it is separated
    separated: dict[int, list[str]] = {}
    for j in range(J - 1):
        z = (y > j).astype(float)

        def fun(b: np.ndarray, z: np.ndarray = z) -> dict:
            return binary_derivatives(b, X, z, w, logit)

        opt = newton(fun, np.zeros(k + 1), gtol=1e-9 * max(1.0, w.sum()))
        betas.append(opt.params)
        pis.append(logit.cdf(X @ opt.params))
        _flag_separation(opt, X, z, w, m.frame.x_names, m.frame.categories[j], separated)
    Jm = J - 1
    inv_info = [np.linalg.inv((X * (w * p * (1 - p))[:, None]).T @ X) for p in pis]
    V = np.zeros((Jm * (k + 1), Jm * (k + 1)))
    for a in range(Jm):
        for b in range(a, Jm):
            if a == b:
                blk = inv_info[a]
            else:
                # P(Y > j_b) = pi_b for j_a < j_b, so Cov(score_a, score_b) uses pi_b - pi_a pi_b
                wab = w * (pis[b] - pis[a] * pis[b])
                blk = inv_info[a] @ ((X * wab[:, None]).T @ X) @ inv_info[b]
            V[a * (k + 1) : (a + 1) * (k + 1), b * (k + 1) : (b + 1) * (k + 1)] = blk
            V[b * (k + 1) : (b + 1) * (k + 1), a * (k + 1) : (a + 1) * (k + 1)] = blk.T
    # slopes only (drop each fit's intercept)
    keep = np.concatenate([np.arange(a * (k + 1) + 1, (a + 1) * (k + 1)) for a in range(Jm)])
    bstar = np.concatenate([b[1:] for b in betas])
    Vs = V[np.ix_(keep, keep)]
    # contrasts beta_1 - beta_j, j = 2..J-1
    D = np.zeros(((Jm - 1) * k, Jm * k))
    for j in range(1, Jm):
        D[(j - 1) * k : j * k, :k] = np.eye(k)
        D[(j - 1) * k : j * k, j * k : (j + 1) * k] = -np.eye(k)
    rows = {}
    db = D @ bstar
    stat = float(db @ np.linalg.solve(D @ Vs @ D.T, db))
    rows["Omnibus"] = {"chi2": stat, "df": (Jm - 1) * k}
    for c, name in enumerate(m.frame.x_names):
        idx = [r * k + c for r in range(Jm - 1)]
        Dc = D[idx]
        dbc = Dc @ bstar
        rows[name] = {"chi2": float(dbc @ np.linalg.solve(Dc @ Vs @ Dc.T, dbc)), "df": Jm - 1}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out["df"] = out["df"].astype(int)
    if separated:
        names = m.frame.x_names
        bad = ["Omnibus", *(names[c] for c in sorted(separated))]
        out.loc[bad, "chi2"] = np.nan
        detail = "; ".join(f"{names[c]} ({', '.join(v)})" for c, v in sorted(separated.items()))
        warnings.warn(
            "Brant test: quasi-complete separation in the binary logits of 1{Y > j}: "
            f"{detail}. These slopes are infinite, so their Wald contrasts are not "
            "chi-square and cannot detect non-proportional odds; their rows and 'Omnibus' "
            "are NaN. Use nominal_test() (likelihood ratio) or merge outcome categories",
            SeparationWarning,
            stacklevel=3,
        )
    out["p_value"] = stats.chi2.sf(out["chi2"], out["df"])
    return out


def _flag_separation(
    opt: NewtonResult,
    X: np.ndarray,
    z: np.ndarray,
    w: np.ndarray,
    names: list[str],
    cut: object,
    separated: dict[int, list[str]],
) -> None:
    """Record the slopes of one binary logit (``X`` with intercept first) that are separated.

    A 0/1 column is separated when all its (positively weighted) rows with value 0 or with
    value 1 fall on one side of the cutpoint; other directions of divergence (continuous
    predictors, combinations) are caught by the estimate growing with its standard error.
    """
    from .._mle import extreme_effects

    pos = w > 0
    zp = z[pos] > 0.5
    try:
        se = np.sqrt(np.abs(np.diag(np.linalg.inv(-np.asarray(opt.hess)))))
    except np.linalg.LinAlgError:
        se = np.full(X.shape[1], np.inf)
    for c, name in enumerate(names):
        col = X[pos, c + 1]
        hit = False
        if np.isin(col, (0.0, 1.0)).all():
            for val in (0.0, 1.0):
                sel = col == val
                if sel.any() and not sel.all() and (zp[sel].all() or not zp[sel].any()):
                    hit = True
        if not hit:
            b, s = opt.params[c + 1 : c + 2], se[c + 1 : c + 2]
            hit = bool(extreme_effects(b, s, X[:, c + 1 : c + 2], [name]))
        if hit:
            separated.setdefault(c, []).append(f"Y > {cut!r}")
