"""Result objects shared by the random-intercept ordinal and binary models.

:class:`MixedResultBase` holds everything computed by :func:`civmodels._glmm.fit_glmm` and
implements the result contract (``params``, ``std_errors``, ``vcov``, ``conf_int``,
``pvalues``, ``loglik``, ``aic``, ``bic``, ``summary()``, ``to_frame()``, ``predict()``) plus
the mixed-model extras: ``re_sd`` with standard errors and intervals, ``icc``,
``conditional_modes()`` and conditional or marginal predictions. The ordinal and logistic
subclasses only add their outcome-specific views.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ._glmm import Dist, integrate_cdf, latent_variance
from ._postfit import MixedPostFitMixin
from .exceptions import DataError
from .formula import group_labels
from .results import Summary, SummaryDisplay, model_stats, wald_table

__all__ = ["MixedResultBase", "group_codes_for"]

_METHOD_LABEL = {
    "laplace": "Laplace approximation",
    "agq": "adaptive Gauss-Hermite quadrature",
}


def group_codes_for(levels: pd.Index, values: pd.Series | np.ndarray) -> np.ndarray:
    """Codes of ``values`` among the fitted ``levels``; -1 for levels not seen in the fit."""
    return levels.get_indexer(pd.Index(values))


@dataclass(frozen=True)
class MixedResultBase(MixedPostFitMixin, SummaryDisplay, ABC):
    """Fitted random-intercept model (frozen). See the subclasses for the public view.

    Attributes
    ----------
    model : Ordinal or Logistic
        The specification that was fitted.
    params : pandas.Series
        Fixed-effect parameters (thresholds, then location effects / coefficients).
    vcov : pandas.DataFrame
        Covariance of ``params``: the inverse observed information of the marginal
        likelihood (restricted to the fixed effects).
    loglik : float
        Maximised marginal log-likelihood (Laplace approximation or AGQ); with sampling
        weights the pseudo-log-likelihood (group weights normalised to mean 1).
    method : {"laplace", "agq"}
    n_quad : int
        Quadrature nodes (1 for Laplace).
    converged : bool
    cov_type : {"nonrobust", "cluster", "jackknife"}
        Inverse observed information, the sandwich by group, or the delete-one-group
        jackknife (one Newton step per group).
    n_clusters : int or None
        Groups in the sandwich or jackknife.
    pseudo : bool
        Whether the fit used sampling weights (a pseudo-likelihood: no AIC/BIC, no
        likelihood-ratio or profile intervals).
    re_corr : pandas.Series
        Correlations of the random effects within correlated blocks ``(1 + x | g)``,
        indexed ``"g, x|g"`` (empty without such blocks); ``re_corr_se`` their standard
        errors (delta method).
    singular : tuple of str
        Terms of a correlated block whose Cholesky diagonal was estimated at 0: the block's
        covariance matrix is singular (a correlation of +-1), as lme4's singular fits.
    """

    model: Any
    params: pd.Series
    vcov: pd.DataFrame
    loglik: float
    method: str
    n_quad: int
    converged: bool
    n_iter: int
    max_grad: float
    hessian_cond: float
    log_sd: pd.Series = field(repr=False)
    log_sd_se: pd.Series = field(repr=False)
    cov_full: np.ndarray = field(repr=False)
    modes: dict = field(repr=False)
    dist: Dist = field(repr=False)
    k_alpha: int = 0
    boundary: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()
    weights: np.ndarray | None = field(default=None, repr=False)
    engine_data: Any = field(default=None, repr=False)
    loglik_offset: float = 0.0
    cov_type: str = "nonrobust"
    n_clusters: int | None = None
    pseudo: bool = False
    singular: tuple[str, ...] = ()
    re_corr: pd.Series = field(default_factory=lambda: pd.Series(dtype=float), repr=False)
    re_corr_se: pd.Series = field(default_factory=lambda: pd.Series(dtype=float), repr=False)
    re_theta: np.ndarray | None = field(default=None, repr=False)

    # -- result contract --------------------------------------------------------------------
    @cached_property
    def std_errors(self) -> pd.Series:
        """Standard errors aligned with :attr:`params`."""
        return pd.Series(
            np.sqrt(np.clip(np.diag(self.vcov.to_numpy()), 0, None)),
            index=self.params.index,
            name="std_error",
        )

    @property
    def nobs(self) -> int:
        """Rows used in the fit (with weights: rows with a positive weight)."""
        if self.weights is None:
            return int(self.model.frame.nobs)
        return int((np.asarray(self.weights) > 0).sum())

    @property
    def n_zero_weight(self) -> int:
        """Rows in the data with weight 0 (they do not count in :attr:`nobs`)."""
        return int(self.model.frame.nobs) - self.nobs

    @property
    def n_dropped(self) -> int:
        """Rows dropped for missing values."""
        return int(self.model.frame.n_dropped)

    @property
    def k_params(self) -> int:
        """Estimated parameters: fixed effects, one SD per random term and the correlations
        of correlated blocks."""
        return len(self.params) + len(self.log_sd) + len(self.re_corr)

    @property
    def aic(self) -> float:
        """``-2 loglik + 2 k`` with ``k`` counting the random-effect SDs (NaN with sampling
        weights: a pseudo-likelihood has no AIC)."""
        if self.pseudo:
            return float("nan")
        return -2.0 * self.loglik + 2.0 * self.k_params

    @property
    def bic(self) -> float:
        """``-2 loglik + k log(n)`` with ``n`` the number of rows (NaN with sampling
        weights)."""
        if self.pseudo:
            return float("nan")
        return -2.0 * self.loglik + self.k_params * np.log(self.nobs)

    @property
    def df_resid(self) -> float | None:
        """Degrees of freedom of the t reference: ``G - 1`` with the sandwich by group (the
        small-sample choice of Cameron & Miller 2015 for the CR1 sandwich, and R survey's
        for a one-stage cluster design); None (normal reference) otherwise."""
        if self.cov_type in ("cluster", "jackknife") and self.n_clusters is not None:
            return float(self.n_clusters - 1)
        return None

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Wald confidence intervals of :attr:`params` (t with :attr:`df_resid` degrees of
        freedom for sandwich fits)."""
        t = wald_table(self.params, self.std_errors, level=level, df=self.df_resid)
        return t[["ci_lower", "ci_upper"]]

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided Wald p-values of :attr:`params`."""
        t = wald_table(self.params, self.std_errors, df=self.df_resid)
        return t["p_value"].rename("p_value")

    # -- random effects ---------------------------------------------------------------------
    @property
    def group_names(self) -> list[str]:
        """Grouping factors, in formula order."""
        return list(self.log_sd.index)

    @property
    def re_sd(self) -> pd.Series:
        """Random-intercept standard deviation per grouping factor (latent scale)."""
        return np.exp(self.log_sd).rename("re_sd")

    @property
    def re_sd_se(self) -> pd.Series:
        """Standard error of :attr:`re_sd` (delta method from the SE of ``log sd``)."""
        return (self.re_sd * self.log_sd_se).rename("std_error")

    def re_sd_conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Confidence interval of each SD, Wald on the log scale (always positive).

        The log scale makes the sampling distribution much closer to normal than the SD
        scale; see ``docs/mixed.md`` for its coverage by simulation. For an SD estimated at 0
        (boundary fit) no Wald interval exists and the interval is ``[0, u]`` with ``u`` the
        profile-likelihood upper limit (see :meth:`profile_re_sd`).
        """
        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1), got {level!r}")
        df = self.df_resid
        z = stats.norm.ppf(0.5 + level / 2) if df is None else stats.t.ppf(0.5 + level / 2, df)
        lo = (self.log_sd - z * self.log_sd_se).to_numpy()
        hi = (self.log_sd + z * self.log_sd_se).to_numpy()
        # an SD near 0 has a flat likelihood in log SD: a huge SE, an upper limit of inf
        with np.errstate(over="ignore"):
            lo, hi = np.exp(lo), np.exp(hi)
        for j, g in enumerate(self.group_names):
            if g in self.boundary and self.engine_data is not None:
                # SD estimated at 0: no Wald interval exists; use [0, profile upper limit]
                # (none for a pseudo-likelihood, whose profile has no chi-square calibration)
                if self.pseudo:
                    lo[j], hi[j] = 0.0, np.nan
                else:
                    lo[j], hi[j] = self._profile_limits(g, level, lower=False)
        return pd.DataFrame({"ci_lower": lo, "ci_upper": hi}, index=self.log_sd.index)

    def profile_re_sd(self, level: float = 0.95) -> pd.DataFrame:
        """Profile-likelihood confidence interval of each random-intercept SD.

        For each grouping factor the SD is held at trial values and the other parameters
        re-estimated; the interval is where twice the drop in the log-likelihood stays below
        the ``chi2(1)`` quantile. A lower limit of 0 means the likelihood at SD = 0 is within
        that range. Costs about ten refits per limit.

        Returns
        -------
        pandas.DataFrame
            Columns ``sd``, ``ci_lower``, ``ci_upper`` per grouping factor.
        """
        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1), got {level!r}")
        self._refuse_pseudo("profile_re_sd()")
        rows = {}
        for g in self.group_names:
            lower, upper = self._profile_limits(g, level, lower=True)
            rows[g] = {"sd": float(self.re_sd[g]), "ci_lower": lower, "ci_upper": upper}
        return pd.DataFrame(rows).T

    def _refuse_pseudo(self, what: str) -> None:
        if self.pseudo:
            raise ValueError(
                f"{what} compares likelihoods, but this fit maximised a pseudo-likelihood "
                "(sampling weights), whose differences do not follow a chi-square "
                "distribution; use the Wald intervals of re_sd_conf_int() (sandwich SEs)"
            )

    def _profile_limits(self, group: str, level: float, *, lower: bool) -> tuple[float, float]:
        """Profile limits of one SD (lower limit only if ``lower``; 0 on the boundary)."""
        from scipy import optimize

        from ._glmm import fit_glmm

        d = self.engine_data
        later = {blk[i] for blk in getattr(d, "blocks", []) for i in range(1, len(blk))}
        if self.group_names.index(group) in later:
            from .exceptions import SpecificationError

            raise SpecificationError(
                f"the SD of {group!r} is not a parameter of the fit: within a correlated "
                "block it combines the block's Cholesky factor, so no profile interval is "
                "computed; use the Wald interval of re_sd_conf_int() (or fit the block's "
                "terms separately)"
            )
        crit = stats.chi2.ppf(level, 1)
        idx = len(self.params) + self.group_names.index(group)
        phi_hat = np.r_[self.params.to_numpy(), self._variance_params()]
        ll_hat = self.loglik - self.loglik_offset
        hold = np.zeros(len(phi_hat), dtype=bool)
        hold[idx] = True

        def deviance(tau: float) -> float:
            start = phi_hat.copy()
            start[idx] = tau
            out = fit_glmm(
                d,
                start,
                method=self.method,
                n_quad=max(self.n_quad, 1),
                hold=hold,
                covariance=False,
            )
            return 2.0 * (ll_hat - out.loglik) - crit

        tau_hat = phi_hat[idx]
        low = float("nan")
        if group in self.boundary:
            low, tau_hat = 0.0, np.log(1e-3)
        elif lower:
            lo = tau_hat - 1.0
            dev = deviance(lo)
            while dev < 0 and lo > tau_hat - 12:
                lo -= 2.0
                dev = deviance(lo)
            low = (
                0.0 if dev < 0 else float(np.exp(optimize.brentq(deviance, lo, tau_hat, xtol=1e-6)))
            )
        hi = tau_hat + 1.0
        while deviance(hi) < 0 and hi < tau_hat + 12:
            hi += 1.0
        return low, float(np.exp(optimize.brentq(deviance, tau_hat, hi, xtol=1e-6)))

    @property
    def re_cov(self) -> dict[str, pd.DataFrame]:
        """Covariance matrix of the random effects per grouping factor (latent scale).

        Keyed by the grouping factor (``"g"``, ``"a:b"``); rows and columns are its terms
        (``"g"`` for the intercept, ``"x|g"`` for a slope of ``x``). Terms of one correlated
        block ``(1 + x | g)`` have their estimated covariance; separate terms on the same
        factor, ``(1 | g) + (0 + x | g)``, have 0 off the diagonal (as R ``VarCorr``).
        """
        sd = self.re_sd
        terms = self.model.frame.parsed.random
        out: dict[str, pd.DataFrame] = {}
        for t in terms:
            out.setdefault(t.group, pd.DataFrame())
        for grp in out:
            labels = [t.label for t in terms if t.group == grp]
            S = np.diag(sd[labels].to_numpy() ** 2)
            for pair, r in self.re_corr.items():
                a, b = str(pair).split(", ")
                if a in labels and b in labels:
                    i, j = labels.index(a), labels.index(b)
                    S[i, j] = S[j, i] = r * sd[a] * sd[b]
            out[grp] = pd.DataFrame(S, index=labels, columns=labels)
        return out

    def re_corr_conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Wald intervals of the random-effect correlations on Fisher's z scale
        (``atanh``), so they stay inside (-1, 1)."""
        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1), got {level!r}")
        df = self.df_resid
        z = stats.norm.ppf(0.5 + level / 2) if df is None else stats.t.ppf(0.5 + level / 2, df)
        r = self.re_corr.to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            zr = np.arctanh(r)
            se = self.re_corr_se.to_numpy(dtype=float) / (1.0 - r * r)
        return pd.DataFrame(
            {"ci_lower": np.tanh(zr - z * se), "ci_upper": np.tanh(zr + z * se)},
            index=self.re_corr.index,
        )

    def _variance_params(self) -> np.ndarray:
        """The engine's variance parameters (log SDs; with correlated blocks the log
        Cholesky diagonal and its off-diagonal entries), aligned with ``cov_full``."""
        if self.re_theta is not None:
            return np.asarray(self.re_theta, dtype=float)
        return self.log_sd.to_numpy(dtype=float)

    @property
    def re_variance(self) -> pd.Series:
        """Random-intercept variances."""
        return (self.re_sd**2).rename("variance")

    @property
    def icc(self) -> pd.Series:
        """Intra-class correlation per grouping factor on the latent scale.

        ``sigma_k^2 / (sum_l sigma_l^2 + v)`` with ``v`` the variance of the latent error
        (``pi^2/3`` for logit, 1 for probit, ``pi^2/6`` for cloglog/loglog); NaN for cauchit,
        whose latent error has no variance, and for every term of a model with a random
        slope (the share of variance then depends on the covariate).
        """
        v = latent_variance(self.model.link_name)
        var = self.re_variance
        total = var.sum() + v
        out = var / total if np.isfinite(v) else var * np.nan
        if getattr(self.model.frame, "re_values", {}):
            out = out * np.nan  # with a random slope the share depends on the covariate
        return out.rename("icc")

    def conditional_modes(self) -> pd.DataFrame:
        """Conditional modes of the random intercepts with their conditional variances.

        Returns
        -------
        pandas.DataFrame
            Index ``(group, level)``; columns ``mode`` (on the latent scale: the estimated
            shift of that level's linear predictor), ``cond_var`` and ``cond_sd`` (from the
            curvature of the log-posterior at the mode, as R ``ranef(condVar=TRUE)``).
        """
        frames = []
        for name in self.group_names:
            levels, mode, var = self.modes[name]
            frames.append(
                pd.DataFrame(
                    {"mode": mode, "cond_var": var, "cond_sd": np.sqrt(var)},
                    index=pd.MultiIndex.from_arrays(
                        [[name] * len(levels), levels], names=["group", "level"]
                    ),
                )
            )
        return pd.concat(frames)

    # -- tables -----------------------------------------------------------------------------
    def _random_block(self, level: float) -> pd.DataFrame:
        ci = self.re_sd_conf_int(level)
        # the columns and "sd(group)" rows of the shared Summary contract (as Bayesian fits)
        sds = pd.DataFrame(
            {
                "estimate": self.re_sd.to_numpy(),
                "std_error": self.re_sd_se.to_numpy(),
                "ci_lower": ci["ci_lower"].to_numpy(),
                "ci_upper": ci["ci_upper"].to_numpy(),
                "n_levels": [len(self.modes[g][0]) for g in self.group_names],
                "variance": self.re_variance.to_numpy(),
                "icc": self.icc.to_numpy(),
            },
            index=[f"sd({g})" for g in self.group_names],
        )
        if not len(self.re_corr):
            return sds
        return pd.concat([sds, self._corr_rows(level)])

    def _corr_rows(self, level: float) -> pd.DataFrame:
        """``cor(g, x|g)`` rows: correlation, its SE and the Fisher-z interval."""
        cci = self.re_corr_conf_int(level)
        first = [str(p).split(", ")[0] for p in self.re_corr.index]
        return pd.DataFrame(
            {
                "estimate": self.re_corr.to_numpy(),
                "std_error": self.re_corr_se.to_numpy(),
                "ci_lower": cci["ci_lower"].to_numpy(),
                "ci_upper": cci["ci_upper"].to_numpy(),
                "n_levels": [len(self.modes[g][0]) for g in first],
                "variance": np.nan,
                "icc": np.nan,
            },
            index=[f"cor({p})" for p in self.re_corr.index],
        )

    @abstractmethod
    def _blocks(self, level: float) -> dict[str, pd.DataFrame]:
        """Wald tables of the fixed effects, one per block (named by the subclass)."""
        raise NotImplementedError  # each subclass names its fixed-effect blocks

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """All estimates with a ``block`` column: fixed effects (Wald) and random-effect SDs.

        The SD rows carry the standard error of the SD and the log-scale interval; their
        statistic and p-value are NaN (a Wald test of an SD on its boundary is not valid).
        """
        blocks = self._blocks(level)
        rows = []
        for name, tab in blocks.items():
            rows.append(tab.assign(block=name))
        ci = self.re_sd_conf_int(level)
        rows.append(
            pd.DataFrame(
                {
                    "estimate": self.re_sd.to_numpy(),
                    "std_error": self.re_sd_se.to_numpy(),
                    "statistic": np.nan,
                    "p_value": np.nan,
                    "ci_lower": ci["ci_lower"].to_numpy(),
                    "ci_upper": ci["ci_upper"].to_numpy(),
                    "block": "Random effects",
                },
                index=[f"sd({g})" for g in self.group_names],
            )
        )
        if len(self.re_corr):
            cr = self._corr_rows(level)
            rows.append(
                cr[["estimate", "std_error", "ci_lower", "ci_upper"]].assign(
                    statistic=np.nan, p_value=np.nan, block="Random effects"
                )
            )
        out = pd.concat(rows)
        return out[["block", *[c for c in out.columns if c != "block"]]]

    def _info(self) -> dict[str, Any]:
        m = self.model
        method = _METHOD_LABEL[self.method]
        if self.method == "agq":
            method += f", {self.n_quad} nodes"
        # one entry per grouping factor (a slope term x|g shares the groups of g)
        factors: dict[str, int] = {}
        for term in m.frame.parsed.random:
            factors.setdefault(term.group, len(self.modes[term.label][0]))
        groups = ", ".join(f"{g} ({k})" for g, k in factors.items())
        info: dict[str, Any] = {
            "Formula": m.formula,
            "Link": m.link_name,
            "Estimation": f"{'pseudo-' if self.pseudo else ''}maximum likelihood, {method}",
            "Observations": self.nobs,
            "Rows dropped (missing)": self.n_dropped,
            "Groups": groups,
        }
        if self.pseudo:
            info["Pseudo-log-likelihood"] = self.loglik
        else:
            info.update({"Log-likelihood": self.loglik, "AIC": self.aic, "BIC": self.bic})
        info.update(
            {
                "Converged": f"{self.converged} ({self.n_iter} Newton iterations, max |grad| "
                f"{self.max_grad:.2g}, cond(H) {self.hessian_cond:.2g})",
            }
        )
        if getattr(m, "weights_name", None):
            kind = getattr(m, "weight_kind", None) or "case"
            info["Weights"] = f"{m.weights_name} ({kind} weights)"
        if getattr(m, "group_weights_name", None):
            info["Group weights"] = f"{m.group_weights_name} (sampling weights of {groups})"
        return info

    def _se_type(self) -> str:
        """The standard-error description of the summary (``Summary.stats["se_type"]``)."""
        if self.cov_type == "jackknife" and self.n_clusters is not None:
            kind = "sampling weights, " if self.pseudo else ""
            return (
                f"delete-one-group jackknife ({kind}{self.n_clusters} groups, one-step; "
                f"t with {self.n_clusters - 1} df)"
            )
        if self.cov_type == "cluster" and self.n_clusters is not None:
            kind = "sampling weights, " if self.pseudo else ""
            return (
                f"cluster-robust sandwich by group ({kind}{self.n_clusters} clusters, G/(G-1); "
                f"t with {self.n_clusters - 1} df)"
            )
        return "inverse observed information (marginal likelihood)"

    def _summary(
        self, title: str, blocks: dict[str, pd.DataFrame], level: float, notes: list[str]
    ) -> Summary:
        """The fixed-effect ``blocks``, the random effects, and ``notes`` after the common ones."""
        blocks["Random effects"] = self._random_block(level)
        return Summary(
            title=title,
            info=self._info(),
            blocks=blocks,
            notes=(*self._notes(), *notes),
            stats=model_stats(self, se_type=self._se_type()),
        )

    def __repr__(self) -> str:
        sds = ", ".join(f"{g}={v:.4g}" for g, v in self.re_sd.items())
        return (
            f"{type(self).__name__}(nobs={self.nobs}, loglik={self.loglik:.4f}, "
            f"method={self.method!r}, re_sd=({sds}), converged={self.converged})"
        )

    def _notes(self) -> list[str]:
        notes = [self.model.frame.missing.describe()]
        if self.n_zero_weight:
            notes.append(
                f"{self.n_zero_weight} rows have weight 0: they are not counted as "
                "observations and do not contribute to the fit."
            )
        if self.cov_type == "jackknife":
            notes.append(
                f"Standard errors: delete-one-group jackknife over {self.n_clusters} groups "
                "(one Newton step from the full fit per group, factor (G-1)/G); t reference "
                f"with {self.df_resid:g} degrees of freedom. SD intervals: Wald on the log-SD "
                "scale."
            )
        elif self.cov_type == "cluster":
            notes.append(
                f"Standard errors: sandwich with {self.n_clusters} groups as clusters "
                f"(factor G/(G-1)); t reference with {self.df_resid:g} degrees of freedom. "
                "SD intervals: Wald on the log-SD scale."
            )
        else:
            notes.append(
                "Standard errors: inverse observed information of the marginal likelihood. "
                "SD intervals: Wald on the log-SD scale."
            )
        if self.pseudo:
            notes.append(
                "Sampling weights: the fit maximises a pseudo-log-likelihood (Pfeffermann et "
                "al. 1998); AIC, BIC and likelihood-ratio tests do not apply."
            )
        if self.singular:
            notes.append(
                f"The random-effect covariance of {list(self.singular)} is singular (boundary): "
                "a correlation is estimated at +-1, so its standard errors are not available. "
                "Consider separate terms (1 | g) + (0 + x | g) or dropping the slope."
            )
        if len(self.re_corr):
            notes.append(
                "Random-effect correlations: Wald intervals on Fisher's z scale (delta-method "
                "standard errors from the Cholesky parametrisation)."
            )
        if self.boundary:
            notes.append(
                f"Random-effect SD of {list(self.boundary)} is estimated at 0 (boundary): its "
                "standard error is not available; the fit equals the model without that term."
            )
        notes.extend(self.messages)
        return notes

    # -- prediction helpers -----------------------------------------------------------------
    def _newdata_parts(
        self, newdata: pd.DataFrame | None, conditional: bool
    ) -> tuple[np.ndarray, np.ndarray, pd.Index]:
        """Fixed design, random shift ``u`` per row (0 if marginal or unknown), index."""
        frame = self.model.frame
        slopes = getattr(frame, "re_values", {})
        values: dict[str, np.ndarray] = {}
        if newdata is None:
            X = frame.X
            index = frame.data.index
            codes = {g: frame.groups[g][0] for g in self.group_names}
            values = dict(slopes)
        else:
            if not isinstance(newdata, pd.DataFrame):
                raise DataError(f"newdata must be a pandas DataFrame, got {type(newdata).__name__}")
            X = frame.fixed.transform(newdata)
            index = newdata.index
            codes = {}
            for term in frame.parsed.random:
                g = term.label
                if all(c in newdata.columns for c in term.factors):
                    codes[g] = group_codes_for(self.modes[g][0], group_labels(newdata, term.group))
                xname = term.slope_variable
                if xname is not None and conditional:
                    if xname not in newdata.columns:
                        raise DataError(
                            f"newdata has no column {xname!r}, needed by the random slope {term}"
                        )
                    values[g] = newdata[xname].to_numpy(dtype=float)
        u = np.zeros(len(X))
        if conditional:
            for g, c in codes.items():
                mode = self.modes[g][1]
                shift = np.where(c >= 0, mode[np.clip(c, 0, None)], 0.0)
                u += shift * values[g] if g in values else shift
        return X, u, index

    def _re_design(self, newdata: pd.DataFrame | None) -> np.ndarray:
        """``(n, K)``: per row the value multiplying each random term's effect (1 for an
        intercept, the column ``x`` for a slope ``x|g``)."""
        frame = self.model.frame
        terms = frame.parsed.random
        n = frame.nobs if newdata is None else len(newdata)
        Z = np.ones((n, len(terms)))
        for j, term in enumerate(terms):
            xname = term.slope_variable
            if xname is None:
                continue
            if newdata is None:
                Z[:, j] = frame.re_values[term.label]
                continue
            if xname not in newdata.columns:
                raise DataError(
                    f"newdata has no column {xname!r}, needed by the random slope {term}"
                )
            Z[:, j] = newdata[xname].to_numpy(dtype=float)
        return Z

    def _row_sd(self, theta: np.ndarray, Z: np.ndarray) -> np.ndarray:
        """SD of each row's random part ``sum_k z_k u_k`` over the random effects, from the
        engine's variance parameters ``theta`` (so the delta method can differentiate it):
        ``sum_k sigma_k^2 z_k^2`` for separate terms, ``|L' z|^2`` for a correlated block."""
        d = self.engine_data
        K = Z.shape[1]
        sigma = np.exp(np.asarray(theta[:K], dtype=float))
        blocks = getattr(d, "blocks", []) if d is not None else []
        in_block = {k for blk in blocks for k in blk}
        v = np.zeros(len(Z))
        for k in range(K):
            if k not in in_block:
                v = v + sigma[k] ** 2 * Z[:, k] ** 2
        for bi, blk in enumerate(blocks):
            L = d.block_chol(sigma, np.asarray(theta[K:], dtype=float), bi)
            W = Z[:, blk] @ L
            v = v + (W * W).sum(axis=1)
        return np.sqrt(v)

    def _integrate_cdf(
        self, t: np.ndarray, newdata: pd.DataFrame | None, n_nodes: int = 40
    ) -> np.ndarray:
        """``E_u F(t - r)`` with each row's random part ``r ~ N(0, v_i)``: the sum of the
        random-intercept variances, plus the slope terms' share at that row's ``x``."""
        sd = self._row_sd(self._variance_params(), self._re_design(newdata))
        return integrate_cdf(self.dist, t, sd, n_nodes)
