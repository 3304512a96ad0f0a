"""The post-fit API of the Bayesian models with several outcomes (Battery, JointResponse).

:class:`MultiOutcomePostFit` gives :class:`~civmodels.bayes.BatteryResult` and
:class:`~civmodels.bayes.JointResult` the ``wald_test``/``wald_test_terms`` and
``predictions``/``comparisons``/``slopes``/``predict(se=True)`` of the single-outcome
results. Both describe themselves to :mod:`civmodels.predictions` as one
:class:`~civmodels.predictions.PredictionModel` whose probability columns are every outcome's
categories, labelled ``"<item>: <category>"``:

* Battery: every item times every category. An item's probabilities integrate the
  respondent's latent residual (``N(0, 1)``) and, for marginal predictions, the group effects
  by Gauss-Hermite quadrature, per posterior draw.
* JointResponse: the outcome's categories (``"y: <category>"``), then the probability of
  responding (``"<response>: True"``); marginal predictions integrate the outcome's group
  effects, and the response model's shared and own municipality effects
  (``lambda * u + v``, variance ``lambda^2 sd_u^2 + sd_v^2``).

The option ``item=`` keeps the columns of one item (or the outcome, or the response
indicator) only. This module reads the results duck-typed and imports neither the battery nor
the joint module (their results import it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from .._validation import check_columns
from ..exceptions import SpecificationError
from ._numeric import expand_rows, unique_rows

__all__ = ["MultiOutcomePostFit", "battery_prediction_model", "joint_prediction_model"]


class _Layout:
    """Named posterior arrays stacked into one parameter vector per draw."""

    def __init__(self, post: Mapping[str, np.ndarray], names: Sequence[str]) -> None:
        blocks, self.slots = [], {}
        start = 0
        for name in names:
            a = np.asarray(post[name], float)
            S = a.shape[0]
            shape = a.shape[1:]
            size = int(np.prod(shape)) if shape else 1
            blocks.append(a.reshape(S, size))
            self.slots[name] = (slice(start, start + size), shape)
            start += size
        self.draws = np.hstack(blocks)

    def unpack(self, t: np.ndarray) -> dict[str, np.ndarray]:
        """The named arrays of one draw ``(P,)``, or of a block ``(D, P)`` (draws axis first)."""
        out = {}
        lead = t.shape[:-1]
        for name, (sl, shape) in self.slots.items():
            v = t[..., sl]
            out[name] = v.reshape(*lead, *shape) if shape else v[..., 0]
        return out


# The functions below take one draw's parameters or a block's (a leading draws axis); a
# draw's scalars broadcast through ``_col`` as a block's (D,) vectors do.
# _distinct: a design computes each distinct row (same design and group codes) once; its
# last element maps the rows to them (None: all distinct), and prob/linear expand by it.
def _col(v: Any) -> np.ndarray:
    """``v[..., None]``: a per-draw scalar against the rows axis."""
    return np.asarray(v)[..., None]


def _matvec(X: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``X @ b`` for coefficients ``(k,)``, or ``(D, n)`` for a block ``(D, k)``."""
    return X @ b if b.ndim == 1 else b @ X.T


def _integrate(dist: Any, t: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """``E F(t - sd Z)`` for one draw (``sd`` (n,)) or a block (``sd`` (D, n))."""
    if sd.ndim == 1:
        from .._glmm import integrate_cdf

        return integrate_cdf(dist, t, sd)
    from ._numeric import integrate_cdf_draws

    return integrate_cdf_draws(dist, t, sd)


def _group_codes(
    data: pd.DataFrame, groups: Sequence[Any], levels: Mapping[str, pd.Index], conditional: bool
) -> list[np.ndarray]:
    """Each row's level index per group: -1 for a level not seen in the fit, and for every
    row when ``conditional`` is False (the effect is then integrated over)."""
    if not conditional:
        return [np.full(len(data), -1) for _ in groups]
    check_columns(data, [g.name for g in groups], what="the model's grouping factors")
    return [levels[g.name].get_indexer(data[g.name]) for g in groups]


def _effects(
    p: Mapping[str, np.ndarray], groups: Sequence[Any], codes: list[np.ndarray], shape: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Sum of the seen levels' effects and the variance of the unseen ones, per row
    (``shape``: ``(n,)``, or ``(D, n)`` for a block of draws)."""
    shift, var = np.zeros(shape), np.zeros(shape)
    for g, c in zip(groups, codes, strict=True):
        re = p[f"re_{g.name}"]
        seen = c >= 0
        shift = shift + np.where(seen, re[..., np.clip(c, 0, None)], 0.0)
        var = var + np.where(seen, 0.0, _col(p[f"sd_{g.name}"]) ** 2)
    return shift, var


def _ordinal_probs(dist: Any, cut: np.ndarray, eta: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """``P(Y = k)`` (n, K) with ``P(Y <= k) = E F(cut_k - eta - sd Z)``, ``Z ~ N(0, 1)``;
    ``(D, n, K)`` for a block (``cut`` (D, K-1), ``eta`` and ``sd`` (D, n))."""
    tt = cut[..., None, :] - eta[..., :, None]
    cum = _integrate(dist, tt, sd) if np.any(sd) else dist.cdf(tt)
    edge = np.zeros((*cum.shape[:-1], 1))
    return np.diff(np.concatenate([edge, cum, edge + 1.0], axis=-1), axis=-1)


def _pick(names: Sequence[str], item: Any, what: str) -> list[int]:
    """Indices of the selected outcomes (all when ``item`` is None)."""
    if item is None:
        return list(range(len(names)))
    wanted = [item] if isinstance(item, str) else list(item)
    bad = [i for i in wanted if i not in names]
    if bad or not wanted:
        raise SpecificationError(f"item={item!r}: choose from the {what} {list(names)}")
    return [list(names).index(i) for i in dict.fromkeys(wanted)]


def _variables(formulas: Sequence[Any], exclude: set[str]) -> list[str]:
    names: list[str] = []
    for parsed in formulas:
        names += parsed.variables()
    return [v for v in dict.fromkeys(names) if v not in exclude]


def battery_prediction_model(result: Any, conditional: bool, item: Any = None) -> Any:
    """:class:`~civmodels.predictions.PredictionModel` of a fitted battery.

    A draw's parameters are the coefficients, loadings, thresholds, group SDs and group
    effects. For a row with latent mean ``mu = x'beta`` (plus the effects of the levels seen
    in the fit when ``conditional``), ``P(Y_j <= k) = E F(theta_jk - lambda_j (mu + s Z))``
    with ``s^2 = 1 + sum of the SDs^2 of the groups integrated over`` (the respondent
    residual has variance 1), by Gauss-Hermite quadrature. ``linear`` is ``mu``. Both take
    one draw or a block of draws, so they are also the model's ``prob_draws`` and
    ``linear_draws``.

    Parameters
    ----------
    result : BatteryResult
    conditional : bool
        Use the posterior draws of the effects of the levels seen in the fit (True), or
        integrate every row over the group effects (False).
    item : str or list of str, optional
        The items whose columns to keep (default: all).

    Returns
    -------
    civmodels.predictions.PredictionModel
    """
    from .._glmm import get_dist
    from .._links import get_link
    from ..predictions import PredictionModel

    m = result.model
    groups = list(m.groups)
    lay = _Layout(
        result._post,
        ["coef", "loading", "cutpoints"]
        + [f"sd_{g.name}" for g in groups]
        + [f"re_{g.name}" for g in groups],
    )
    sel = _pick(m.items, item, "battery's items")
    dist = get_dist(m.link)
    kc = len(m.slope_names)

    def prepare(data: pd.DataFrame) -> Any:
        X = m.fixed.transform(data)
        codes = _group_codes(data, groups, m.group_levels, conditional)
        first, inv = unique_rows(X, *codes)  # see _distinct
        return X[first], [c[first] for c in codes], inv

    # one draw t (P,) or a block (D, P): see _col
    def _mean_var(
        p: Mapping[str, np.ndarray], d: Any, lead: tuple[int, ...]
    ) -> tuple[np.ndarray, np.ndarray]:
        X, codes, _ = d
        mu = _matvec(X, p["coef"]) if kc else np.zeros((*lead, len(X)))
        shift, var = _effects(p, groups, codes, (*lead, len(X)))
        return mu + shift, var

    def linear(t: np.ndarray, d: Any) -> np.ndarray:
        return expand_rows(_mean_var(lay.unpack(t), d, t.shape[:-1])[0], d[-1], -1)

    def prob(t: np.ndarray, d: Any) -> np.ndarray:
        p = lay.unpack(t)
        mu, var = _mean_var(p, d, t.shape[:-1])
        sd = np.sqrt(1.0 + var)  # the respondent residual, plus the integrated effects
        cut, lam = p["cutpoints"], p["loading"]
        probs = [
            _ordinal_probs(dist, cut[..., j, :], _col(lam[..., j]) * mu, _col(lam[..., j]) * sd)
            for j in sel
        ]
        return expand_rows(np.concatenate(probs, axis=-1), d[-1], -2)

    exclude = {g.name for g in groups}
    return PredictionModel.from_posterior(
        lay.draws,
        prepare=prepare,
        prob=prob,
        linear=linear,
        data=m.data,
        outcomes=[f"{m.items[j]}: {c}" for j in sel for c in m.categories],
        variables=_variables([m.parsed], exclude),
        link=get_link(m.link),
        prob_draws=prob,
        linear_draws=linear,
    )


def joint_prediction_model(result: Any, conditional: bool, item: Any = None) -> Any:
    """:class:`~civmodels.predictions.PredictionModel` of a fitted joint response model.

    Columns: the outcome's categories, then ``P(respond)``. The outcome part is the
    single-outcome ordinal model's; the response part is
    ``logit P(R = 1) = alpha + w'gamma + lambda u_m + v_m``, with ``lambda u_m + v_m``
    integrated over ``N(0, lambda^2 sd_u^2 + sd_v^2)`` for a municipality integrated over
    (every row when marginal, unseen levels when conditional). ``linear`` is the linear
    predictor of the selected outcome (with both selected, asking for it is an error that
    says to choose one with ``item=``). The rows averaged
    over by default are every position of the frame (respondents and nonrespondents).
    ``prob`` and ``linear`` take one draw or a block of draws (``prob_draws``,
    ``linear_draws``).

    Parameters
    ----------
    result : JointResult
    conditional : bool
        Use the posterior draws of the effects of the levels seen in the fit (True), or
        integrate every row over the group effects (False).
    item : str or list of str, optional
        The outcome's name or the response indicator's name (default: both).

    Returns
    -------
    civmodels.predictions.PredictionModel
    """
    from .._glmm import get_dist
    from .._links import get_link
    from ..predictions import PredictionModel

    m = result.model
    groups = list(m.groups)
    names = [m.outcome_name, m.response_name]
    sel = _pick(names, item, "joint model's outcomes")
    lay = _Layout(
        result._post,
        ["cutpoints", "coef", "response_Intercept", "response_coef", "lambda", "sd_response"]
        + ["re_response"]
        + [f"sd_{g.name}" for g in groups]
        + [f"re_{g.name}" for g in groups],
    )
    dist, rdist = get_dist(m.link), get_dist("logit")
    shared = next(i for i, g in enumerate(groups) if g.name == m.shared)
    kc, kr = len(m.slope_names), len(m.r_names)

    def prepare(data: pd.DataFrame) -> Any:
        # the response design only when asked for: the outcome's predictions need no
        # response-only columns in newdata
        W = m.rfixed.transform(data)[:, m._r_idx] if 1 in sel else None
        X = m.fixed.transform(data)
        codes = _group_codes(data, groups, m.group_levels, conditional)
        first, inv = unique_rows(X, W, *codes)  # see _distinct
        return X[first], None if W is None else W[first], [c[first] for c in codes], inv

    # one draw t (P,) or a block (D, P): see _col
    def outcome_eta(
        p: Mapping[str, np.ndarray], d: Any, lead: tuple[int, ...]
    ) -> tuple[np.ndarray, np.ndarray]:
        X, _, codes, _ = d
        eta = _matvec(X, p["coef"]) if kc else np.zeros((*lead, len(X)))
        shift, var = _effects(p, groups, codes, (*lead, len(X)))
        return eta + shift, var

    def response_eta(p: Mapping[str, np.ndarray], d: Any) -> tuple[np.ndarray, np.ndarray]:
        _, W, codes, _ = d
        c = codes[shared]
        seen = c >= 0
        cc = np.clip(c, 0, None)
        lam = _col(p["lambda"])
        eff = lam * p[f"re_{m.shared}"][..., cc] + p["re_response"][..., cc]
        eta = _col(p["response_Intercept"]) + (_matvec(W, p["response_coef"]) if kr else 0.0)
        var = (lam * _col(p[f"sd_{m.shared}"])) ** 2 + _col(p["sd_response"]) ** 2
        return eta + np.where(seen, eff, 0.0), np.where(seen, 0.0, var)

    def prob(t: np.ndarray, d: Any) -> np.ndarray:
        p = lay.unpack(t)
        out = []
        if 0 in sel:
            eta, var = outcome_eta(p, d, t.shape[:-1])
            out.append(_ordinal_probs(dist, p["cutpoints"], eta, np.sqrt(var)))
        if 1 in sel:
            eta, var = response_eta(p, d)
            sd = np.sqrt(var)
            pr = _integrate(rdist, eta, sd) if np.any(sd) else rdist.cdf(eta)
            out.append(pr[..., None])
        return expand_rows(np.concatenate(out, axis=-1), d[-1], -2)

    def linear_outcome(t: np.ndarray, d: Any) -> np.ndarray:
        return expand_rows(outcome_eta(lay.unpack(t), d, t.shape[:-1])[0], d[-1], -1)

    def linear_response(t: np.ndarray, d: Any) -> np.ndarray:
        return expand_rows(response_eta(lay.unpack(t), d)[0], d[-1], -1)

    def linear_both(t: np.ndarray, d: Any) -> np.ndarray:
        raise SpecificationError(
            f"type='linear': the joint model has two linear predictors; choose one with "
            f"item={m.outcome_name!r} or item={m.response_name!r}"
        )

    linear = linear_both if len(sel) > 1 else (linear_outcome, linear_response)[sel[0]]
    outcomes = [f"{m.outcome_name}: {c}" for c in m.categories] if 0 in sel else []
    if 1 in sel:
        outcomes.append(f"{m.response_name}: True")
    exclude = {g.name for g in groups} | {m.outcome_name, m.response_name}
    return PredictionModel.from_posterior(
        lay.draws,
        prepare=prepare,
        prob=prob,
        linear=linear,
        data=m.data_all,
        outcomes=outcomes,
        variables=_variables([m.parsed, m.rparsed], exclude),
        link=get_link(m.link) if sel == [0] else get_link("logit") if sel == [1] else None,
        prob_draws=prob,
        linear_draws=linear,
    )


class _TermTable:
    """Stands in for a FixedDesign in :func:`civmodels.inference.term_parameters`."""

    def __init__(self, table: Mapping[str, list[str]]) -> None:
        self._table = dict(table)

    def term_columns(self) -> dict[str, list[str]]:
        return dict(self._table)


class MultiOutcomePostFit:
    """Post-fit API of the results with several outcomes (mixed into the result class).

    The host is a :class:`~civmodels.bayes.BayesResult` subclass that provides
    ``_term_table()`` (term -> parameter names of the tested coefficients) and
    ``_multi_model(conditional, item)`` (its prediction model).
    """

    params: pd.Series
    vcov: pd.DataFrame

    def _term_table(self) -> dict[str, list[str]]:  # pragma: no cover - the host's
        raise NotImplementedError

    def _multi_model(self, conditional: bool, item: Any) -> Any:  # pragma: no cover
        raise NotImplementedError

    def _term_view(self) -> Any:
        # what civmodels.inference reads of a result: the terms, the means and covariance
        frame = SimpleNamespace(fixed=_TermTable(self._term_table()))
        return SimpleNamespace(
            model=SimpleNamespace(frame=frame), params=self.params, vcov=self.vcov
        )

    def wald_test_terms(self) -> pd.DataFrame:
        """Joint test of each term of the regression from the posterior mean and covariance.

        The statistic is ``m' S^-1 m`` with ``m`` the posterior means of the term's
        coefficients and ``S`` their posterior covariance, referred to ``chi2(df)``; read it
        as in :meth:`civmodels.bayes.BayesResult.wald_test_terms`. The battery's terms are
        those of the latent trait's regression; the joint model's are the outcome model's
        terms, then the response model's (``"response: <term>"``, its intercept included).
        Thresholds and loadings are not terms.

        Returns
        -------
        pandas.DataFrame
            One row per term: ``df``, ``chi2``, ``p_value``.
        """
        from ..inference import wald_test_terms

        return wald_test_terms(self._term_view())

    def wald_test(self, terms: str | Sequence[str]) -> pd.DataFrame:
        """Joint test that the coefficients of ``terms`` are zero (see :meth:`wald_test_terms`).

        Parameters
        ----------
        terms : str or sequence of str
            Term names (as listed by :meth:`wald_test_terms`) or parameter names (e.g.
            ``"lambda"``); several are tested jointly. An unknown name is an error that lists
            the valid terms.

        Returns
        -------
        pandas.DataFrame
            One row: ``df``, ``chi2``, ``p_value``.
        """
        from ..inference import wald_test

        return wald_test(self._term_view(), terms)

    def _prediction_model(self, **options: Any) -> Any:
        """The posterior as a prediction model over every outcome column.

        Options: ``conditional`` (default False: integrate every row over the group effects;
        True: the posterior draws of the effects of the levels seen in the fit, unseen
        levels integrated over) and ``item`` (one item's, or a list of items', columns only;
        default all).
        """
        allowed = {"conditional", "item"}
        bad = sorted(set(options) - allowed)
        if bad:
            raise SpecificationError(
                f"unexpected options {bad} for {type(self).__name__}; allowed: {sorted(allowed)}"
            )
        return self._multi_model(bool(options.get("conditional", False)), options.get("item"))

    def _posterior_mean_probs(self, data: pd.DataFrame, item: Any) -> np.ndarray:
        """Posterior mean (n, K) of the probabilities of the selected outcomes, conditional
        on the seen levels' effects (unseen levels integrated over)."""
        from ..predictions import _DRAW_BLOCK_DOUBLES

        pm = self._multi_model(True, item)
        d = pm.prepare(data)
        draws = pm.uncertainty.draws
        total = np.zeros((len(data), len(pm.outcomes)))
        step = max(1, _DRAW_BLOCK_DOUBLES // max(1, total.size))
        for i in range(0, len(draws), step):
            total += pm.prob_draws(draws[i : i + step], d).sum(axis=0)
        return total / len(draws)
