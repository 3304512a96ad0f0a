"""Results of the Bayesian models: the shared result contract on top of ArviZ InferenceData."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Self

import numpy as np
import pandas as pd

from .._postfit import PostFitMixin, _predictors
from .._validation import check_columns, check_dataframe
from ..exceptions import DataError, SpecificationError
from ..nonresponse.poststratification import Poststratified
from ..results import Summary, SummaryDisplay, model_stats
from . import _backend
from . import _numeric as num

_SUMMARY_COLUMNS = {"mean": "estimate", "sd": "std_error", "lower": "ci_lower", "upper": "ci_upper"}

__all__ = ["BayesResult"]


def _flatten(a: np.ndarray) -> np.ndarray:
    return a.reshape(a.shape[0] * a.shape[1], *a.shape[2:])


def _interval(draws: np.ndarray, level: float, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    a = (1 - level) / 2
    return np.quantile(draws, a, axis=axis), np.quantile(draws, 1 - a, axis=axis)


def _posterior_prediction_model(result: BayesResult, conditional: bool) -> Any:
    """:class:`civmodels.predictions.PredictionModel` of a single-outcome Bayesian fit.

    The parameter vector of a draw is ``(cutpoints or intercept, coefficients, group SDs,
    group effects)``; ``prepare`` builds the fixed design and each row's group codes (-1 for
    a level not seen in the fit, or for every row when marginal). ``prob_draws`` and
    ``linear_draws`` compute a block of draws ``(D, P)`` at once.
    """
    from .._glmm import get_dist, integrate_cdf
    from .._links import get_link
    from ..predictions import PredictionModel

    m = result.model
    post = result._post
    ordinal = m._outcome == "ordinal"
    blocks: list[np.ndarray] = []
    if ordinal:
        blocks.append(post["cutpoints"])
    elif m.has_intercept:
        blocks.append(post["Intercept"][:, None])
    blocks.append(post["coef"])
    ka = post["cutpoints"].shape[1] if ordinal else int(m.has_intercept)
    kc = post["coef"].shape[1]
    groups = list(m.groups)
    blocks.extend(post[f"sd_{g.name}"][:, None] for g in groups)
    sizes = [g.n_levels for g in groups]
    blocks.extend(post[f"re_{g.name}"] for g in groups)
    draws = np.hstack(blocks)
    off_sd = ka + kc
    off_re = np.r_[0, np.cumsum(sizes)] + off_sd + len(groups)
    dist = get_dist(m.link)
    link = get_link(m.link)

    def prepare(data: pd.DataFrame) -> Any:
        X = m.frame.fixed.transform(data)[:, m._slope_idx]
        codes = []
        for g in groups:
            if conditional:
                check_columns(data, [g.name], what="the model's grouping factors")
                codes.append(m.group_levels[g.name].get_indexer(data[g.name]))
            else:
                codes.append(np.full(len(data), -1))
        # rows with the same design and group codes have the same predictions: compute
        # them once per distinct row (d[2] maps the rows to them, or is None)
        first, inv = num.unique_rows(X, *codes)
        return X[first], [c[first] for c in codes], inv

    # on the distinct rows of a design (below: expanded to every row)
    def _linear(t: np.ndarray, d: Any) -> np.ndarray:
        X, codes, _ = d
        eta = X @ t[ka : ka + kc] if kc else np.zeros(len(X))
        if not ordinal and m.has_intercept:
            eta = eta + t[0]
        for j, c in enumerate(codes):
            re = t[off_re[j] : off_re[j + 1]]
            eta = eta + np.where(c >= 0, re[np.clip(c, 0, None)], 0.0)
        return eta

    def _prob(t: np.ndarray, d: Any) -> np.ndarray:
        _, codes, _ = d
        eta = _linear(t, d)
        var = np.zeros(len(eta))
        for j, c in enumerate(codes):
            var = var + np.where(c < 0, t[off_sd + j] ** 2, 0.0)
        sd = np.sqrt(var)
        if ordinal:
            tt = t[:ka][None, :] - eta[:, None]
            cum = integrate_cdf(dist, tt, sd) if sd.any() else dist.cdf(tt)
            full = np.hstack([np.zeros((len(cum), 1)), cum, np.ones((len(cum), 1))])
            return np.diff(full, axis=1)
        p = integrate_cdf(dist, eta, sd) if sd.any() else dist.cdf(eta)
        return p[:, None]

    # the same, for a block of draws T (D, P): the draws axis first
    def _linear_draws(T: np.ndarray, d: Any) -> np.ndarray:
        X, codes, _ = d
        eta = T[:, ka : ka + kc] @ X.T if kc else np.zeros((len(T), len(X)))
        if not ordinal and m.has_intercept:
            eta = eta + T[:, :1]
        for j, c in enumerate(codes):
            re = T[:, off_re[j] : off_re[j + 1]]
            eta = eta + np.where(c >= 0, re[:, np.clip(c, 0, None)], 0.0)
        return eta

    def _prob_draws(T: np.ndarray, d: Any) -> np.ndarray:
        _, codes, _ = d
        eta = _linear_draws(T, d)
        var = np.zeros(eta.shape)
        for j, c in enumerate(codes):
            var = var + np.where(c < 0, T[:, off_sd + j, None] ** 2, 0.0)
        sd = np.sqrt(var)
        if ordinal:
            tt = T[:, None, :ka] - eta[:, :, None]
            cum = num.integrate_cdf_draws(dist, tt, sd) if sd.any() else dist.cdf(tt)
            edge = np.zeros((*cum.shape[:2], 1))
            return np.diff(np.concatenate([edge, cum, edge + 1.0], axis=-1), axis=-1)
        p = num.integrate_cdf_draws(dist, eta, sd) if sd.any() else dist.cdf(eta)
        return p[:, :, None]

    def linear(t: np.ndarray, d: Any) -> np.ndarray:
        return num.expand_rows(_linear(t, d), d[2], 0)

    def prob(t: np.ndarray, d: Any) -> np.ndarray:
        return num.expand_rows(_prob(t, d), d[2], 0)

    def linear_draws(T: np.ndarray, d: Any) -> np.ndarray:
        return num.expand_rows(_linear_draws(T, d), d[2], 1)

    def prob_draws(T: np.ndarray, d: Any) -> np.ndarray:
        return num.expand_rows(_prob_draws(T, d), d[2], 1)

    outcomes = [str(c) for c in m.categories] if ordinal else [str(m.categories[-1])]
    return PredictionModel.from_posterior(
        draws,
        prepare=prepare,
        prob=prob,
        linear=linear,
        data=m.frame.data,
        outcomes=outcomes,
        variables=_predictors(result),
        link=link,
        prob_draws=prob_draws,
        linear_draws=linear_draws,
    )


class BayesResult(PostFitMixin, SummaryDisplay):
    """A fitted Bayesian model (frozen): posterior summaries, predictions, checks, MRP.

    The post-fit API of the maximum-likelihood results works on the posterior:
    ``predictions``, ``comparisons`` and ``slopes`` evaluate their quantity at every
    posterior draw (estimate = posterior median, ``std_error`` = posterior SD, equal-tailed
    credible interval; no p-values), and ``wald_test``/``wald_test_terms`` use the posterior
    mean and covariance (see :meth:`wald_test_terms`).

    Built by ``fit()``; do not construct directly.

    Attributes
    ----------
    idata : arviz.InferenceData
        Posterior (labelled: ``threshold``, ``term``, ``level_<group>``), ``log_likelihood``
        (for LOO), ``sample_stats`` and ``observed_data``.
    diagnostics : Diagnostics
        Worst R-hat, bulk/tail ESS and the number of divergences.
    """

    model: Any
    sampler: str
    idata: Any
    diagnostics: _backend.Diagnostics
    _post: dict[str, np.ndarray]
    _shape: tuple[int, int]

    def __init__(self) -> None:  # pragma: no cover - use _from_raw
        raise TypeError("BayesResult is created by a model's fit()")

    @classmethod
    def _from_raw(
        cls,
        model: Any,
        raw: Mapping[str, np.ndarray],
        stats: Mapping[str, np.ndarray],
        *,
        sampler: str,
        seed: Any,
    ) -> Self:
        self = object.__new__(cls)
        self.model = model
        self.sampler = sampler
        n_chain, n_draw = next(iter(raw.values())).shape[:2]
        self._shape = (n_chain, n_draw)
        flat = {k: _flatten(np.asarray(v)) for k, v in raw.items()}
        post = model.derived(flat)
        self._post = post
        ll = model.pointwise_loglik(post)
        coords, dims = model._idata_layout()
        posterior = {k: v.reshape(n_chain, n_draw, *v.shape[1:]) for k, v in post.items()}
        self.idata = _backend.to_inference_data(
            posterior,
            log_likelihood={"y": ll.reshape(n_chain, n_draw, -1)},
            observed_data={"y": model.y},
            sample_stats={k: np.asarray(v) for k, v in stats.items()},
            coords=coords,
            dims=dims,
            attrs={"sampler": sampler, "formula": model.formula, "link": model.link},
        )
        self.diagnostics = _backend.diagnose(
            self.idata, list(posterior), np.asarray(stats["diverging"])
        )
        _backend.warn_diagnostics(self.diagnostics, stacklevel=4)
        return self

    # -- contract -------------------------------------------------------------------------
    def _param_draws(self) -> pd.DataFrame:
        m = self.model
        cols: dict[str, np.ndarray] = {}
        if m._outcome == "ordinal":
            for j, name in enumerate(m.threshold_names()):
                cols[name] = self._post["cutpoints"][:, j]
        elif m.has_intercept:
            cols["Intercept"] = self._post["Intercept"]
        for j, name in enumerate(m.slope_names):
            cols[name] = self._post["coef"][:, j]
        return pd.DataFrame(cols)

    @property
    def params(self) -> pd.Series:
        """Posterior means; thresholds first (ordinal), names as the frequentist engines."""
        return self._param_draws().mean().rename("estimate")

    @property
    def std_errors(self) -> pd.Series:
        """Posterior standard deviations."""
        return self._param_draws().std(ddof=1).rename("std_error")

    @property
    def vcov(self) -> pd.DataFrame:
        """Posterior covariance matrix of :attr:`params`."""
        return self._param_draws().cov()

    # -- post-fit API on the posterior ------------------------------------------------------
    def wald_test_terms(self) -> pd.DataFrame:
        """Joint test of each model term from the posterior mean and covariance.

        The statistic is ``m' S^-1 m`` with ``m`` the posterior means of the term's
        coefficients and ``S`` their posterior covariance, referred to ``chi2(df)``. With a
        weakly informative prior and enough data the posterior is close to the sampling
        distribution of the maximum-likelihood estimate (Bernstein-von Mises), so this is
        the Wald test's large-sample analogue and agrees closely with the
        maximum-likelihood ``wald_test_terms``; with strong priors or little data read it
        as a description of the posterior (how far zero lies in its tails), not as a
        frequentist test. ``tests/test_predictions.py`` compares both on the same data.

        Returns
        -------
        pandas.DataFrame
            One row per term: ``df``, ``chi2``, ``p_value``.
        """
        return super().wald_test_terms()

    def wald_test(self, terms: str | Sequence[str]) -> pd.DataFrame:
        """Joint test that the coefficients of ``terms`` are zero, from the posterior mean
        and covariance (see :meth:`wald_test_terms`).

        Parameters
        ----------
        terms : str or sequence of str
            Term names as in the formula, or parameter names.

        Returns
        -------
        pandas.DataFrame
            One row: ``df``, ``chi2``, ``p_value``.
        """
        return super().wald_test(terms)

    def drop1(self) -> pd.DataFrame:
        """Not available: refits need a likelihood; compare Bayesian fits by LOO.

        Raises
        ------
        SpecificationError
            Always, with what to use instead.
        """
        raise SpecificationError(
            "drop1() refits the model by maximum likelihood for likelihood-ratio tests; a "
            "Bayesian fit has no such test. Use wald_test_terms() (posterior mean and "
            "covariance), or fit the smaller model too and compare both by LOO with "
            "civmodels.bayes.compare(...)"
        )

    def _prediction_model(self, **options: Any) -> Any:
        """The posterior as a prediction model: one row of parameters per draw.

        ``conditional`` (models with random intercepts): False (default) integrates every
        row over its groups' effects, per draw, by Gauss-Hermite quadrature; True uses the
        posterior draws of the effects of the levels seen in the fit (levels not seen are
        integrated over, as in :meth:`predict`).
        """
        m = self.model
        allowed = {"conditional"} if m.groups else set()
        bad = sorted(set(options) - allowed)
        if bad:
            where = "" if m.groups else " (conditional= applies to models with random terms)"
            raise SpecificationError(
                f"unexpected options {bad} for {type(self).__name__}; allowed: "
                f"{sorted(allowed) or 'none'}{where}"
            )
        return _posterior_prediction_model(self, bool(options.get("conditional", False)))

    @property
    def thresholds(self) -> pd.Series:
        """Posterior means of the thresholds (ordinal models)."""
        if self.model._outcome != "ordinal":
            raise AttributeError("a binary model has no thresholds; see params['Intercept']")
        return self.params[self.model.threshold_names()]

    @property
    def coef(self) -> pd.Series:
        """Posterior means of the regression coefficients."""
        return self.params[self.model.slope_names]

    @property
    def re_sd(self) -> pd.Series:
        """Posterior mean of each group's standard deviation, indexed by grouping factor."""
        return pd.Series(
            {g.name: float(self._post[f"sd_{g.name}"].mean()) for g in self.model.groups},
            name="re_sd",
            dtype=float,
        )

    def random_effects(self, group: str, level: float = 0.95) -> pd.DataFrame:
        """Posterior mean, SD, equal-tailed interval, R-hat and bulk/tail ESS of each
        group's effect."""
        if group not in {g.name for g in self.model.groups}:
            raise KeyError(
                f"no random term for {group!r}; groups are {[g.name for g in self.model.groups]}"
            )
        d = self._post[f"re_{group}"]
        lo, hi = _interval(d, level)
        out = pd.DataFrame(
            {"mean": d.mean(0), "sd": d.std(0, ddof=1), "lower": lo, "upper": hi},
            index=pd.Index(self.model.group_levels[group], name=group),
        )
        diag = self._chain_diagnostics(d)
        for col in diag.columns:
            out[col] = diag[col].to_numpy()
        return out

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Equal-tailed credible intervals (columns ``lower``, ``upper``)."""
        d = self._param_draws()
        lo, hi = _interval(d.to_numpy(), level)
        return pd.DataFrame({"lower": lo, "upper": hi}, index=d.columns)

    @property
    def nobs(self) -> int:
        """Rows used."""
        return self.model.nobs

    @property
    def n_dropped(self) -> int:
        """Rows dropped for missing values."""
        return self.model.n_dropped

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """Mean, SD, interval, R-hat and bulk/tail ESS per parameter."""
        ci = self.conf_int(level)
        out = pd.DataFrame({"mean": self.params, "sd": self.std_errors})
        out["lower"], out["upper"] = ci["lower"], ci["upper"]
        d = self._param_draws()
        diag = self._chain_diagnostics(d.to_numpy())
        for col in diag.columns:
            out[col] = diag[col].to_numpy()
        return out

    def _chain_diagnostics(self, flat: np.ndarray) -> pd.DataFrame:
        """R-hat and bulk/tail ESS of each column of flattened draws ``(S, m)``."""
        arr = np.asarray(flat, float).reshape(*self._shape, -1)
        return pd.DataFrame(
            _backend.chain_diagnostics(arr), columns=["r_hat", "ess_bulk", "ess_tail"]
        )

    def _sd_table(
        self, entries: Sequence[tuple[str, np.ndarray, int]], level: float
    ) -> pd.DataFrame:
        """The "Random effects" block: one row per group SD (label, flat draws, number of
        levels) with its interval and diagnostics, plus the worst R-hat and smallest bulk ESS
        over that group's effects; counts are integers."""
        rows = []
        for label, d, n_levels in entries:
            lo, hi = _interval(d, level)
            diag = self._chain_diagnostics(d[:, None]).iloc[0]
            re_name = "re_" + label[3:-1]
            worst_rhat, min_ess = np.nan, np.nan
            if re_name in self._post:
                re_diag = self._chain_diagnostics(self._post[re_name])
                worst_rhat = float(re_diag["r_hat"].max())
                min_ess = float(re_diag["ess_bulk"].min())
            rows.append(
                {
                    # the shared Summary contract's names (posterior mean and SD, limits)
                    "estimate": float(d.mean()),
                    "std_error": float(d.std(ddof=1)),
                    "ci_lower": float(lo),
                    "ci_upper": float(hi),
                    "r_hat": diag["r_hat"],
                    "ess_bulk": diag["ess_bulk"],
                    "ess_tail": diag["ess_tail"],
                    "n_levels": int(n_levels),
                    "max r_hat (effects)": worst_rhat,
                    "min ess_bulk (effects)": min_ess,
                }
            )
        out = pd.DataFrame(rows, index=[e[0] for e in entries])
        return out.astype({"n_levels": "int64"}) if len(out) else out

    def summary(self, level: float = 0.95) -> Summary:
        """Posterior summary: thresholds, coefficients, group SDs, diagnostics and priors."""
        m = self.model
        # the column names of the shared Summary contract (posterior mean and SD, limits)
        tab = self.to_frame(level).rename(columns=_SUMMARY_COLUMNS)
        blocks: dict[str, pd.DataFrame] = {}
        if m._outcome == "ordinal":
            blocks["Thresholds"] = tab.loc[m.threshold_names()]
            blocks["Location"] = tab.loc[m.slope_names]
        else:
            blocks["Coefficients"] = tab
        if m.groups:
            blocks["Random effects"] = self._sd_table(
                [(f"sd({g.name})", self._post[f"sd_{g.name}"], g.n_levels) for g in m.groups],
                level,
            )
        dg = self.diagnostics
        info = {
            "Formula": m.formula,
            "Link": m.link,
            "Observations": m.nobs,
            "Rows dropped (missing)": m.n_dropped,
            "Sampler": f"{self.sampler}, {self._shape[0]} chains x {self._shape[1]} draws",
            "Max R-hat": dg.max_rhat,
            "Min bulk / tail ESS": f"{dg.min_ess_bulk:.0f} / {dg.min_ess_tail:.0f}",
            "Divergences": dg.n_divergent,
        }
        notes = [
            f"Posterior means and SDs; {level:.0%} equal-tailed credible intervals.",
            "Priors: " + "; ".join(f"{k}: {p.describe()}" for k, p in m.priors.items()),
        ]
        if m.n_dropped:
            notes.append(f"Dropped rows: {m.frame.missing.describe()}")
        notes += dg.problems()
        kind = "cumulative-link" if m._outcome == "ordinal" else "binary"
        return Summary(
            title=f"Bayesian hierarchical {kind} model ({m.link})",
            info=info,
            blocks=blocks,
            notes=tuple(notes),
            stats=self._summary_stats(level),
        )

    def _summary_stats(self, level: float, **facts: Any) -> dict[str, Any]:
        """:attr:`Summary.stats` of this posterior (estimator, N, groups, the meaning of its
        "standard errors"); ``facts`` add or override entries."""
        groups = {g.name: int(g.n_levels) for g in self.model.groups}
        base = {
            "estimator": "bayes",
            "se_type": f"posterior SD; {level:.0%} equal-tailed credible intervals",
            "n_groups": groups or None,
        }
        return model_stats(self, **(base | facts))

    # -- predictions ------------------------------------------------------------------------
    def _eta_new(
        self, newdata: pd.DataFrame, rng: np.random.Generator, post: Mapping[str, np.ndarray]
    ) -> np.ndarray:
        check_dataframe(newdata, "newdata")
        return self.model.linear_predictor_new(post, newdata, rng)

    def predict(
        self,
        newdata: pd.DataFrame | None = None,
        kind: str = "prob",
        *,
        random_seed: Any = None,
        se: bool = False,
        interval: str | None = None,
        level: float = 0.95,
    ) -> pd.DataFrame | pd.Series:
        """Posterior-mean predictions.

        Parameters
        ----------
        newdata : pandas.DataFrame, optional
            Rows to predict (not modified); the fit data when omitted. Group levels absent
            from the fit data are integrated over the fitted group distribution.
        kind : {"prob", "cumprob", "linear"}
            Category probabilities (ordinal: one column per category; binary: P(event)),
            cumulative probabilities P(Y <= k) (ordinal), or the linear predictor.
        random_seed : int, optional
            For the draws of unseen group levels.
        se : bool, default False
            Return a long table (index ``(rowid, outcome)``) with the posterior median
            ``estimate`` and posterior SD ``std_error`` of each row's prediction instead
            (``kind="prob"`` or ``"linear"``; levels seen in the fit use their effects,
            unseen levels are integrated over by quadrature), as the maximum-likelihood
            results' ``predict(se=True)``.
        interval : {"confidence"}, optional
            With the table, also ``ci_lower``/``ci_upper``: the equal-tailed ``level``
            credible interval.
        level : float, default 0.95
        """
        if se or interval is not None:
            opts = {"conditional": True} if self.model.groups else {}
            return self._predict_interval(newdata, kind, level, interval, **opts)
        if kind not in {"prob", "cumprob", "linear"}:
            raise ValueError(f"kind must be 'prob', 'cumprob' or 'linear', got {kind!r}")
        m = self.model
        rng = np.random.default_rng(random_seed)
        if newdata is None:
            eta = m.linear_predictor(self._post)
            index = m.frame.data.index
        else:
            eta = self._eta_new(newdata, rng, self._post)
            index = newdata.index
        if kind == "linear":
            return pd.Series(eta.mean(0), index=index, name="linear")
        if m._outcome == "binary":
            if kind == "cumprob":
                raise ValueError("kind='cumprob' is for ordinal models")
            from .._links import get_link

            p = get_link(m.link).cdf(eta).mean(0)
            return pd.Series(p, index=index, name=f"P({m.frame.outcome_name}={m.categories[1]})")
        cols = [str(c) for c in m.categories]
        if kind == "cumprob":
            cp = num.cumprobs(self._post["cutpoints"], eta, m.link).mean(0)
            return pd.DataFrame(cp, index=index, columns=[f"<= {c}" for c in cols[:-1]])
        p = num.catprobs(self._post["cutpoints"], eta, m.link).mean(0)
        return pd.DataFrame(p, index=index, columns=cols)

    # -- model checking ---------------------------------------------------------------------
    def loo(self) -> Any:
        """PSIS-LOO estimate of out-of-sample predictive fit (``arviz.ELPDData``)."""
        return _backend.loo(self.idata)

    def ppc_plot(
        self,
        by: str | None = None,
        *,
        n_rep: int = 200,
        level: float = 0.9,
        random_seed: Any = None,
        ax: Any = None,
    ) -> Any:
        """Posterior predictive check: observed vs replicated category frequencies by group.

        For each group (of the column ``by`` in the fit data; all rows when omitted) and
        category, the observed share is drawn as a point and the replicated shares' median and
        ``level`` interval as a bar.

        Returns
        -------
        matplotlib.figure.Figure
        """
        m = self.model
        rng = np.random.default_rng(random_seed)
        S = self._post["coef"].shape[0]
        take = rng.choice(S, size=min(n_rep, S), replace=False)
        sub = {k: v[take] for k, v in self._post.items()}
        yrep = m._simulate_y(sub, rng)
        if by is None:
            gcodes, glevels = np.zeros(len(m.y), int), ["all"]
        else:
            check_columns(m.frame.data, [by], what="the fit data")
            gcodes, glevels = pd.factorize(m.frame.data[by], sort=True)
            glevels = [str(v) for v in glevels]
        return ppc_figure(m.y, yrep, gcodes, glevels, [str(c) for c in m.categories], level, ax)

    # -- MRP ------------------------------------------------------------------------------------
    def poststratify(
        self,
        frame: pd.DataFrame,
        by: str | Sequence[str] | None = None,
        *,
        weights: str | None = None,
        categories: Sequence[Any] | None = None,
        level: float = 0.95,
        random_seed: Any = None,
    ) -> Poststratified:
        """Multilevel regression and poststratification over a population frame.

        Predicts the outcome distribution of every row of ``frame`` (e.g. all 838 positions,
        respondents and nonrespondents alike) for every posterior draw and averages over rows,
        overall and within the groups of ``by``. Group levels in the frame but not in the data
        (a municipality with no respondent) get draws from the fitted group distribution.
        Same arguments and result as the frequentist
        :func:`civmodels.nonresponse.poststratify`.

        Parameters
        ----------
        frame : pandas.DataFrame
            One row per population unit, with every predictor and grouping column of the
            model (missing ones are an error). Not modified.
        by : str or list of str, optional
            Frame columns defining the groups (several columns: their cross-classification);
            an ``"overall"`` estimate is always included.
        weights : str, optional
            Column of population weights or cell sizes (default: each row counts once).
        categories : sequence, optional
            Sum these outcome categories into one quantity (e.g. the top-two share).
        level : float, default 0.95
            Credible interval level.
        random_seed : int, optional
            For the draws of unseen group levels.

        Returns
        -------
        civmodels.nonresponse.Poststratified
            ``table`` (``estimate``, ``std_error`` = posterior SD, ``lower``, ``upper``,
            ``level``, ``n_frame``), posterior ``draws``, ``difference(a, b, quantity)`` with
            ``prob_greater``, ``overall`` and ``unit_estimates`` (posterior-mean outcome
            distribution of every frame row).
        """
        check_dataframe(frame, "frame")
        by_list = [by] if isinstance(by, str) else list(by or [])
        check_columns(frame, by_list, what="the poststratification 'by'")
        rng = np.random.default_rng(random_seed)
        probs = self._unit_probs(frame, rng)
        return mrp_from_probs(
            probs, self.model.categories, frame, by_list, weights, categories, level
        )

    def _unit_probs(self, frame: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        """Outcome distribution (S, n, K) of every frame row for every draw."""
        m = self.model
        eta = self._eta_new(frame, rng, self._post)
        if m._outcome == "ordinal":
            S = eta.shape[0]
            probs = np.empty((S, eta.shape[1], m.n_categories))
            for s0 in range(0, S, 500):  # chunks bound the memory of the (S, n, K) array
                sl = slice(s0, s0 + 500)
                probs[sl] = num.catprobs(self._post["cutpoints"][sl], eta[sl], m.link)
            return probs
        from .._links import get_link

        p1 = get_link(m.link).cdf(eta)
        return np.stack([1 - p1, p1], axis=-1)


def ppc_figure(
    y: np.ndarray,
    yrep: np.ndarray,
    gcodes: np.ndarray,
    glevels: list[str],
    cats: list[str],
    level: float,
    ax: Any = None,
) -> Any:
    """Observed category shares (dots) vs replicated shares (median and interval) by group."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    K, G = len(cats), len(glevels)
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(5.0, 0.6 * G * K / 2 + 2), 3.5))
    else:
        fig = ax.figure
    width = 0.8 / K
    for g in range(G):
        mask = gcodes == g
        n = max(int(mask.sum()), 1)
        obs = np.bincount(y[mask], minlength=K) / n
        rep = np.stack([np.bincount(r[mask], minlength=K) for r in yrep]) / n
        lo, hi = _interval(rep, level)
        med = np.median(rep, axis=0)
        for k in range(K):
            x = g + (k - (K - 1) / 2) * width
            ax.vlines(x, lo[k], hi[k], color=f"C{k}", lw=4, alpha=0.4)
            ax.plot(x, med[k], "_", color=f"C{k}", ms=10)
            ax.plot(x, obs[k], "o", color="black", ms=3)
    rot = G > 4
    ax.set_xticks(range(G), glevels, rotation=30 if rot else 0, ha="right" if rot else "center")
    ax.set_ylabel("share of responses")
    ax.set_title(f"Posterior predictive check ({level:.0%} intervals; dots = observed)")
    handles = [Patch(color=f"C{k}", alpha=0.4) for k in range(K)]
    ax.legend(handles, cats, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return fig


def mrp_from_probs(
    probs: np.ndarray,
    categories: Sequence[Any],
    frame: pd.DataFrame,
    by: list[str],
    weights: str | None,
    combine: Sequence[Any] | None,
    level: float,
) -> Poststratified:
    """Poststratify posterior draws of unit outcome distributions ``(S, n, K)``."""
    from dataclasses import replace

    from ..nonresponse.poststratification import poststratify

    cats = [str(c) for c in categories]
    ps = poststratify(
        np.moveaxis(probs, 0, 1),
        frame,
        by=by or None,
        weights=weights,
        categories=combine,
        level=level,
        quantities=cats,
        posterior=True,
    )
    unit = pd.DataFrame(probs.mean(0), index=frame.index, columns=cats)
    return replace(ps, unit_estimates=unit)


def compare(results: Mapping[str, BayesResult]) -> pd.DataFrame:
    """Compare fitted models by PSIS-LOO (``arviz.compare``).

    Parameters
    ----------
    results : dict of str to BayesResult
        Fits of the *same outcome rows* (LOO compares predictions of identical data).

    Returns
    -------
    pandas.DataFrame
        ArviZ's comparison table: ``elpd_loo``, ``p_loo``, ``elpd_diff``, ``weight``, ``se``,
        ``dse``, ``warning``, ranked best first.
    """
    if len(results) < 2:
        raise ValueError("compare needs at least two fitted models")
    n = {k: r.idata.log_likelihood["y"].shape[-1] for k, r in results.items()}
    if len(set(n.values())) != 1:
        raise DataError(
            f"models were fitted to different numbers of rows {n}; LOO needs the same rows"
        )
    return _backend.compare({k: r.idata for k, r in results.items()})
