"""Binary (and binomial-proportion) mixed models: random intercepts by Laplace or AGQ.

``Logistic("y ~ x + (1 | herd)", data, weights="n").fit(method="agq", n_quad=25)`` lands
here. The model is

.. math::

    P(Y_i = 1 \\mid x_i, u) = F\\bigl(x_i^\\top\\beta + \\textstyle\\sum_k u_{k, g_k(i)}\\bigr),
    \\qquad u_{k,l} \\sim N(0, \\sigma_k^2),

as R ``lme4::glmer(family=binomial)``. A proportion outcome with ``weights=`` the number of
trials is the binomial model of ``glmer(cbind(k, n - k) ~ ...)``; each such row enters as a
success row with weight ``n y`` and a failure row with weight ``n (1 - y)`` sharing its
group, which gives the same likelihood. The log-likelihood includes the binomial
coefficients ``log C(n, k)`` as R's ``logLik`` for ``nAGQ = 1``.

The numerics are those of the ordinal mixed model (:mod:`civmodels._glmm`) with two
categories, the threshold fixed at 0 and the reflected link ``1 - F(-t)``.

References
----------
Pinheiro, J. C. & Bates, D. M. (1995). Approximations to the log-likelihood function in the
nonlinear mixed-effects model. *J. Comput. Graph. Statist.* 4, 12–35.
Bates, D., Mächler, M., Bolker, B. & Walker, S. (2015). Fitting linear mixed-effects models
using lme4. *J. Stat. Softw.* 67(1).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from .. import _glmm
from .._binary import binomial_constant
from .._mixed_fit import (
    check_mixed_options,
    correlated_terms,
    fit_options,
    group_arrays,
    mixed_weights,
    result_fields,
    run_glmm,
    slope_values,
    start_log_sd,
)
from .._mixed_results import MixedResultBase
from ..results import Summary, wald_table, with_odds_ratios

__all__ = ["MixedLogisticResult", "fit_mixed"]


def fit_mixed(
    model: Any,
    *,
    method: str = "laplace",
    n_quad: int | None = 10,
    cov_type: str | None = None,
    cluster: Any = None,
    design: Any = None,
    weight_scaling: str = "size",
    **options: Any,
) -> MixedLogisticResult:
    """Fit a binary or binomial model with random intercepts by maximum likelihood.

    Called by :meth:`civmodels.Logistic.fit` when the formula has ``(1 | g)`` terms.

    Parameters
    ----------
    model : Logistic
    method : {"laplace", "agq"}, default "laplace"
        Laplace approximation (any number of random intercepts) or adaptive Gauss–Hermite
        quadrature (one random intercept), as ``glmer(nAGQ=1)`` and ``glmer(nAGQ=n_quad)``.
    n_quad : int, default 10
        Quadrature nodes for ``method="agq"``.
    cov_type : {"nonrobust", "cluster", "jackknife"}, optional
        As :func:`civmodels.ordinal.mixed.fit_mixed`: the sandwich by group is the default
        with sampling weights; ``"jackknife"`` the one-step delete-one-group jackknife.
    cluster : str, optional
    weight_scaling : {"size", "effective", "none"}, default "size"
        Scaling of sampling weights within groups (see :mod:`civmodels._mixed_fit`).
    **options
        ``max_iter``, ``gtol``, ``start`` (coefficients then log SDs).

    Returns
    -------
    MixedLogisticResult
    """
    n_nodes, cov_type = check_mixed_options(
        model, method=method, n_quad=n_quad, cov_type=cov_type, cluster=cluster, design=design
    )
    opts = fit_options(options)
    frame = model.frame
    names, codes, levels = group_arrays(model)
    w1, w2 = mixed_weights(model, codes, levels, names, weight_scaling)
    y = np.asarray(frame.y, dtype=float)
    w = np.ones(len(y)) if w1 is None else np.asarray(w1, dtype=float)
    frac = (y > 0) & (y < 1)
    if frac.any():
        # binomial rows: a success part and a failure part with the same group
        rows = np.concatenate([np.arange(len(y)), np.flatnonzero(frac)])
        ycode = np.concatenate([(y > 0).astype(np.int64), np.zeros(int(frac.sum()), np.int64)])
        wrow = np.concatenate([np.where(frac, w * y, w), (w * (1 - y))[frac]])
    else:
        rows = np.arange(len(y))
        ycode = y.astype(np.int64)
        wrow = w
    const = binomial_constant(y, w) if model.proportion else 0.0
    d = _glmm.GLMMData(
        y=ycode,
        X=frame.X[rows],
        tjac=np.zeros((1, 0)),
        toff=np.zeros(1),
        groups=[c[rows] for c in codes],
        dist=_glmm.get_dist(model.link_name, reflect=True),
        w=wrow,
        w2=w2,
        zvals=[None if z is None else z[rows] for z in slope_values(model)],
        corr=correlated_terms(model),
    )
    out = run_glmm(
        d,
        options.get("start"),
        lambda: _start_values(d, model, y, w),
        order="coefficients, log SDs, then correlation parameters",
        method=method,
        n_nodes=n_nodes,
        opts=opts,
    )
    _glmm.warn_convergence(out, f"the {method} fit of {model.formula!r}")
    _glmm.warn_boundary(out, names, d)
    out = replace(out, loglik=out.loglik + const)
    fields = result_fields(
        model, d, out, list(frame.x_names), names, levels, method, n_nodes, cov_type
    )
    return MixedLogisticResult(**fields, loglik_offset=const)


def _start_values(d: _glmm.GLMMData, model: Any, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Intercept at the link of the weighted mean outcome, zero slopes."""
    beta = np.zeros(d.p)
    names = list(model.frame.x_names)
    if "Intercept" in names:
        p = float(np.clip((w @ y) / w.sum(), 1e-4, 1 - 1e-4)) if w.sum() > 0 else 0.5
        beta[names.index("Intercept")] = float(model.link.ppf(np.array([p]))[0])
    return np.concatenate([_glmm.fixed_start(d, beta), start_log_sd(d.K), np.zeros(d.n_off)])


@dataclass(frozen=True, repr=False)  # the base's __repr__
class MixedLogisticResult(MixedResultBase):
    """A fitted binary/binomial mixed model (frozen).

    ``params`` holds the coefficients (intercept first); the random-effect SDs are in
    :attr:`re_sd`. Standard errors come from the observed information of the marginal
    likelihood over all parameters (as ``vcov`` of ``glmer``).
    """

    @cached_property
    def coef(self) -> pd.Series:
        """Coefficients (formulaic names; ``"Intercept"`` first)."""
        return self.params.rename("coef")

    def _blocks(self, level: float) -> dict[str, pd.DataFrame]:
        return {
            "Coefficients": wald_table(self.params, self.std_errors, level=level, df=self.df_resid)
        }

    def summary(self, *, odds_ratios: bool = False, level: float = 0.95) -> Summary:
        """Summary with blocks Coefficients and Random effects.

        Parameters
        ----------
        odds_ratios : bool, default False
            Add ``exp(estimate)`` with its interval (conditional odds ratios for the logit
            link).
        level : float, default 0.95
        """
        blocks = self._blocks(level)
        if odds_ratios:
            blocks["Coefficients"] = with_odds_ratios(blocks["Coefficients"])
        notes = [
            "P(Y = 1 | x, u) = F(x'beta + u); effects are conditional on the random intercepts."
        ]
        if getattr(self.model, "proportion", False):
            notes.append(
                "Proportion outcome with weights = trials: log-likelihood includes log C(n, k)."
            )
        return self._summary(f"Binary mixed model ({self.model.link_name})", blocks, level, notes)

    def predict(
        self,
        newdata: pd.DataFrame | None = None,
        kind: str = "prob",
        *,
        conditional: bool = True,
        se: bool = False,
        interval: str | None = None,
        level: float = 0.95,
    ) -> pd.Series | pd.DataFrame:
        """``P(Y = 1)`` (``kind="prob"``) or the linear predictor (``"linear"``).

        Parameters
        ----------
        newdata : pandas.DataFrame, optional
            Never modified.
        kind : {"prob", "linear"}
        conditional : bool, default True
            ``True``: given the random intercepts (conditional modes for levels seen in the
            fit, 0 for new levels or an absent grouping column; a nested term ``a:b`` needs
            both columns). ``False``: marginal
            probability, integrating the random intercepts over their normal distribution.
        se : bool, default False
            Return a table with delta-method standard errors instead (index ``(rowid,
            outcome)``, columns ``estimate``, ``std_error``); marginal predictions include
            the uncertainty of the random-effect SDs, conditional ones hold the modes fixed.
        interval : {"confidence"}, optional
            Also return ``ci_lower``, ``ci_upper`` (link scale, inside [0, 1]).
        level : float, default 0.95
        """
        if se or interval is not None:
            return self._predict_interval(newdata, kind, level, interval, conditional=conditional)
        if kind not in ("prob", "linear"):
            raise ValueError(
                f"kind={kind!r}; a binary model supports 'prob' (P(Y = 1)) and 'linear'"
            )
        X, u, index = self._newdata_parts(newdata, conditional)
        eta = X @ self.params.to_numpy() + u
        if kind == "linear":
            return pd.Series(eta, index=index, name="linear")
        # the engine's distribution is the reflected link: P(Y = 1) = 1 - F*(-eta)
        if conditional:
            prob = self.dist.sf(-eta)
        else:
            prob = 1.0 - self._integrate_cdf(-eta, newdata)
        return pd.Series(prob, index=index, name="prob")
