"""Named validation studies: frequentist interval coverage and simulation-based calibration.

``coverage_study`` fits a model to data simulated with known parameters, many times, and
records whether each interval covers the truth: a correct 95% interval covers in 95% of
replicates, within Monte Carlo error ``sqrt(0.95 * 0.05 / n_sims)``.

``sbc`` is simulation-based calibration (Talts, Betancourt, Simpson, Vehtari & Gelman 2018):
draw parameters from the prior, simulate data, draw from the posterior, and record the rank of
the true value among the posterior draws. If the posterior computation is correct the ranks
are uniform on ``0..n_draws``; U shapes mean too-narrow posteriors, humps too-wide ones, and
slopes bias.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .._validation import check_positive_int
from ..results import Summary
from ._runner import SimulationResult, Study, recorded_warnings, run, warning_text

__all__ = [
    "COVERAGE_MODELS",
    "SBC_MODELS",
    "CoverageModel",
    "CoverageResult",
    "SBCModel",
    "SBCResult",
    "coverage_study",
    "sbc",
]


# --------------------------------------------------------------------------------------
# coverage
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CoverageModel:
    """A data-generating process with known parameters and the fit whose intervals are checked.

    Parameters
    ----------
    name : str
        Identity of the model (stored in checkpoints).
    simulate : callable
        ``simulate(rng) -> (data, truth)``: a DataFrame and a Series of true parameter values,
        named as the fitted result names them.
    fit : callable
        ``fit(data)`` returning a result with ``params`` and ``conf_int(level)`` (the civmodels
        result contract).
    settings : mapping
        Parameters of the process (part of the study's identity).
    """

    name: str
    simulate: Callable[[np.random.Generator], tuple[pd.DataFrame, pd.Series]]
    fit: Callable[[pd.DataFrame], Any]
    settings: Mapping[str, Any] = field(default_factory=dict)


_CATEGORIES = ["1", "2", "3", "4"]
_THRESHOLDS = np.array([-1.0, 0.5, 2.0])


def _survey_shaped(
    rng: np.random.Generator, n_obs: int, n_groups: int, re_sd: float, beta: tuple[float, float]
) -> tuple[pd.DataFrame, np.ndarray]:
    """Respondent covariate x1 ~ N(0, 1), group-level binary x2 (like high spending
    pressure), and the linear predictor with a group random intercept of SD ``re_sd``."""
    group = np.sort(rng.integers(0, n_groups, size=n_obs))
    x2_group = (np.arange(n_groups) % 2).astype(float)
    x1 = rng.normal(size=n_obs)
    x2 = x2_group[group]
    eta = beta[0] * x1 + beta[1] * x2
    if re_sd > 0:
        eta = eta + rng.normal(0, re_sd, n_groups)[group]
    data = pd.DataFrame({"x1": x1, "x2": x2, "municipality_code": 101 + group})
    return data, eta


def _ordinal_model(
    n_obs: int, n_groups: int, re_sd: float, cov_type: str, method: str | None
) -> CoverageModel:
    beta = (0.5, -0.4)
    mixed = re_sd > 0 and method is not None

    def simulate(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.Series]:
        data, eta = _survey_shaped(rng, n_obs, n_groups, re_sd, beta)
        # P(Y <= j) = F(theta_j - eta): latent eta + logistic noise cut at the thresholds
        y = np.searchsorted(_THRESHOLDS, eta + rng.logistic(size=n_obs))
        data["y"] = pd.Categorical.from_codes(y, categories=_CATEGORIES, ordered=True)
        names = [f"{a}|{b}" for a, b in itertools.pairwise(_CATEGORIES)]
        truth = pd.Series([*_THRESHOLDS, *beta], index=[*names, "x1", "x2"])
        return data, truth

    def fit(data: pd.DataFrame) -> Any:
        from ..ordinal import Ordinal

        if mixed:
            return Ordinal("y ~ x1 + x2 + (1 | municipality_code)", data=data).fit(method=method)
        kw: dict[str, Any] = {"cov_type": cov_type}
        if cov_type == "cluster":
            kw["cluster"] = "municipality_code"
        return Ordinal("y ~ x1 + x2", data=data).fit(**kw)

    name = "ordinal-mixed" if mixed else "ordinal"
    settings = {"n_obs": n_obs, "n_groups": n_groups, "re_sd": re_sd, "cov_type": cov_type}
    if mixed:
        settings["method"] = method
    return CoverageModel(name, simulate, fit, settings)


def _logistic_model(
    n_obs: int, n_groups: int, re_sd: float, cov_type: str, method: str | None
) -> CoverageModel:
    beta, intercept = (0.5, -0.4), -0.3
    mixed = re_sd > 0 and method is not None

    def simulate(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.Series]:
        data, eta = _survey_shaped(rng, n_obs, n_groups, re_sd, beta)
        p = 1 / (1 + np.exp(-(intercept + eta)))
        data["y"] = (rng.random(n_obs) < p).astype(int)
        truth = pd.Series([intercept, *beta], index=["Intercept", "x1", "x2"])
        return data, truth

    def fit(data: pd.DataFrame) -> Any:
        from ..logistic import Logistic

        if mixed:
            return Logistic("y ~ x1 + x2 + (1 | municipality_code)", data=data).fit(method=method)
        kw: dict[str, Any] = {"cov_type": cov_type}
        if cov_type == "cluster":
            kw["cluster"] = "municipality_code"
        return Logistic("y ~ x1 + x2", data=data).fit(**kw)

    name = "logistic-mixed" if mixed else "logistic"
    settings = {"n_obs": n_obs, "n_groups": n_groups, "re_sd": re_sd, "cov_type": cov_type}
    if mixed:
        settings["method"] = method
    return CoverageModel(name, simulate, fit, settings)


#: Built-in coverage models: name -> (factory, default settings). Fixed-effect models simulate
#: without a random intercept (their parameters are then the true ones); the mixed models
#: simulate with one (SD 0.7) and fit it.
COVERAGE_MODELS: dict[str, tuple[Callable[..., CoverageModel], dict[str, Any]]] = {
    "ordinal": (_ordinal_model, {"re_sd": 0.0, "cov_type": "nonrobust", "method": None}),
    "ordinal-robust": (_ordinal_model, {"re_sd": 0.0, "cov_type": "robust", "method": None}),
    "ordinal-mixed": (_ordinal_model, {"re_sd": 0.7, "cov_type": "nonrobust", "method": "agq"}),
    "logistic": (_logistic_model, {"re_sd": 0.0, "cov_type": "nonrobust", "method": None}),
    "logistic-mixed": (
        _logistic_model,
        {"re_sd": 0.7, "cov_type": "nonrobust", "method": "agq"},
    ),
}

_MODEL_NEEDS = {
    "ordinal": "civmodels.ordinal",
    "ordinal-robust": "civmodels.ordinal",
    "ordinal-mixed": "civmodels.ordinal.mixed",
    "logistic": "civmodels.logistic",
    "logistic-mixed": "civmodels.logistic.mixed",
}


def _require(module: str, what: str) -> None:
    import importlib

    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{what} needs {module}, which is not available in this installation ({exc})"
        ) from exc


class CoverageStudy(Study):
    """One replicate of :func:`coverage_study`: simulate, fit, check every interval."""

    def __init__(self, model: CoverageModel, level: float) -> None:
        super().__init__(
            name=f"coverage:{model.name}",
            parameters={"model": model.name, "level": float(level), **dict(model.settings)},
        )
        self.model = model
        self.level = float(level)

    def __call__(self, rng: np.random.Generator) -> list[dict[str, Any]]:
        """Simulate one data set, fit, and return one row per true parameter."""
        data, truth = self.model.simulate(rng)
        with recorded_warnings() as caught:
            res = self.model.fit(data)
        warned = warning_text(caught)
        ci = res.conf_int(level=self.level)
        missing = [p for p in truth.index if p not in ci.index]
        if missing:
            raise KeyError(
                f"the fitted result has no interval for {missing}; it has {list(ci.index)}"
            )
        converged = bool(getattr(res, "converged", True))
        rows = []
        for p, true in truth.items():
            lo, hi = float(ci.loc[p].iloc[0]), float(ci.loc[p].iloc[1])
            est = float(res.params[p])
            se = float(res.std_errors[p]) if hasattr(res, "std_errors") else np.nan
            rows.append(
                {
                    "parameter": str(p),
                    "truth": float(true),
                    "estimate": est,
                    "std_error": se,
                    "lower": lo,
                    "upper": hi,
                    "covers": bool(lo <= true <= hi),
                    "converged": converged,
                    "warnings": warned,
                }
            )
        return rows


@dataclass(frozen=True)
class CoverageResult:
    """Result of :func:`coverage_study`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per parameter: ``truth``, ``coverage`` (share of replicates whose interval
        covers the truth), ``mc_se`` (its Monte Carlo SE), ``bias`` (mean estimate minus
        truth), ``se_ratio`` (mean standard error over the SD of the estimates; 1 when the
        standard errors are right), ``n_sims``, ``n_not_converged`` and ``n_warned`` (fits
        that did not converge or warned; kept in the table, messages in ``replicates``).
    replicates : pandas.DataFrame
        One row per replicate and parameter.
    level : float
        Nominal level of the intervals.
    run : SimulationResult
        The runner's result (seed, failures, timing).
    """

    table: pd.DataFrame
    replicates: pd.DataFrame
    level: float
    model: str
    run: SimulationResult = field(repr=False)

    @property
    def overall(self) -> float:
        """Coverage pooled over all parameters and replicates."""
        return float(self.replicates["covers"].mean())

    def summary(self) -> Summary:
        """The coverage table as a :class:`~civmodels.results.Summary`."""
        return Summary(
            title=f"Coverage of {self.level:.0%} intervals: {self.model}",
            info={
                "replicates": self.run.n_sims,
                "failed": self.run.n_failed,
                "random_seed": self.run.random_seed,
                "overall coverage": round(self.overall, 4),
            },
            blocks={"by parameter": self.table},
            notes=(
                f"Monte Carlo SE of a coverage near {self.level:.0%}: "
                f"{math.sqrt(self.level * (1 - self.level) / max(self.run.n_succeeded, 1)):.4f}",
            ),
        )

    def plot(self, ax: Any = None) -> Any:
        """Coverage per parameter with 95% Monte Carlo intervals and the nominal level.

        The shaded band is where a correct interval's coverage falls in 95% of studies of
        this size (binomial, nominal level).

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        if ax is None:
            fig, ax = plt.subplots(figsize=(6, 0.4 * len(self.table) + 1.5))
        else:
            fig = ax.figure
        t = self.table
        y = np.arange(len(t))
        n = t["n_sims"].to_numpy()
        band = 1.96 * np.sqrt(self.level * (1 - self.level) / n.min())
        ax.axvspan(self.level - band, self.level + band, color="grey", alpha=0.2, lw=0)
        ax.axvline(self.level, color="grey", lw=1)
        ax.errorbar(t["coverage"], y, xerr=1.96 * t["mc_se"], fmt="o", color="C0")
        ax.set_yticks(y, t["parameter"])
        ax.invert_yaxis()
        ax.set_xlabel(f"coverage of nominal {self.level:.0%} intervals")
        ax.set_title(self.model)
        return fig


def coverage_study(
    model: str | CoverageModel = "ordinal",
    n_sims: int = 500,
    *,
    level: float = 0.95,
    n_obs: int = 444,
    n_groups: int = 98,
    random_seed: int | None = None,
    n_jobs: int = -1,
    backend: str = "loky",
    client: Any = None,
    checkpoint: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> CoverageResult:
    """Coverage of a model's confidence intervals on simulated data with known truth.

    Parameters
    ----------
    model : str or CoverageModel
        A built-in model (see :data:`COVERAGE_MODELS`): ``"ordinal"`` (cumulative logit, 4
        categories, model-based errors), ``"ordinal-robust"`` (sandwich errors),
        ``"ordinal-mixed"`` (random intercept per group, AGQ), ``"logistic"``,
        ``"logistic-mixed"``; each simulates survey-shaped data (``n_obs`` respondents in
        ``n_groups`` municipalities, a respondent covariate and a municipality-level binary
        one). Or a :class:`CoverageModel` of your own.
    n_sims : int
        Number of simulated data sets.
    level : float
        Interval level.
    n_obs, n_groups : int
        Size of each built-in data set (ignored for a custom model).
    random_seed, n_jobs, backend, client, checkpoint, progress
        As in :func:`run`.

    Returns
    -------
    CoverageResult
        ``.table``, ``.replicates``, ``.overall``, ``.plot()``.

    Notes
    -----
    Replicates whose fit raised are counted in ``result.run.failures``; replicates whose fit
    did not converge or warned are kept and flagged (``converged``, ``warnings``) in
    ``replicates`` and counted in ``table``.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    n_sims = check_positive_int(n_sims, "n_sims")
    if isinstance(model, str):
        if model not in COVERAGE_MODELS:
            raise ValueError(
                f"unknown coverage model {model!r}; choose from {list(COVERAGE_MODELS)} or "
                "pass a CoverageModel"
            )
        _require(_MODEL_NEEDS[model], f"coverage model {model!r}")
        factory, defaults = COVERAGE_MODELS[model]
        spec = factory(
            n_obs=check_positive_int(n_obs, "n_obs"),
            n_groups=check_positive_int(n_groups, "n_groups"),
            **defaults,
        )
        spec = CoverageModel(model, spec.simulate, spec.fit, spec.settings)
    elif isinstance(model, CoverageModel):
        spec = model
    else:
        raise TypeError(f"model must be a name or a CoverageModel, got {type(model).__name__}")
    study = CoverageStudy(spec, level)
    res = run(
        study,
        n_sims,
        n_jobs=n_jobs,
        backend=backend,
        client=client,
        random_seed=random_seed,
        checkpoint=checkpoint,
        progress=progress,
    )
    reps = res.table
    rows = []
    for p, sub in reps.groupby("parameter", sort=False):
        n = len(sub)
        cov = float(sub["covers"].mean())
        sd = float(sub["estimate"].std(ddof=1)) if n > 1 else np.nan
        rows.append(
            {
                "parameter": p,
                "truth": float(sub["truth"].iloc[0]),
                "coverage": cov,
                "mc_se": math.sqrt(cov * (1 - cov) / n),
                "bias": float((sub["estimate"] - sub["truth"]).mean()),
                "se_ratio": float(sub["std_error"].mean()) / sd if sd and sd > 0 else np.nan,
                "n_sims": n,
                "n_not_converged": int((~sub["converged"].astype(bool)).sum()),
                "n_warned": int(sub["warnings"].notna().sum()),
            }
        )
    return CoverageResult(
        table=pd.DataFrame(rows), replicates=reps, level=level, model=spec.name, run=res
    )


# --------------------------------------------------------------------------------------
# simulation-based calibration
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SBCModel:
    """A Bayesian model for simulation-based calibration.

    Parameters
    ----------
    name : str
        Identity (stored in checkpoints).
    prior : callable
        ``prior(rng) -> dict`` of scalar parameter values drawn from the model's prior (keys
        starting with ``_`` may carry extra draws for ``simulate`` and are not ranked).
    simulate : callable
        ``simulate(rng, params) -> data`` from the likelihood.
    posterior : callable
        ``posterior(data, rng, n_draws) -> dict`` of parameter name -> 1-d array of
        ``n_draws`` (roughly independent) posterior draws. MCMC draws should be thinned to
        about the effective sample size, or the ranks are not uniform even for a correct
        sampler.
    settings : mapping
        Parameters of the model (part of the study's identity).
    """

    name: str
    prior: Callable[[np.random.Generator], dict[str, float]]
    simulate: Callable[[np.random.Generator, dict[str, float]], Any]
    posterior: Callable[[Any, np.random.Generator, int], dict[str, np.ndarray]]
    settings: Mapping[str, Any] = field(default_factory=dict)


def _normal_mean_model(
    n_obs: int = 10, prior_sd: float = 1.0, sigma: float = 1.0, width: float = 1.0
) -> SBCModel:
    """Conjugate normal mean, mu ~ N(0, prior_sd^2), y_i ~ N(mu, sigma^2): the exact posterior
    is normal; ``width`` scales its SD (1 = correct; other values give a miscalibrated
    posterior, used to check that SBC detects it)."""

    def prior(rng: np.random.Generator) -> dict[str, float]:
        return {"mu": float(rng.normal(0, prior_sd))}

    def simulate(rng: np.random.Generator, params: dict[str, float]) -> np.ndarray:
        return rng.normal(params["mu"], sigma, size=n_obs)

    def posterior(y: np.ndarray, rng: np.random.Generator, n_draws: int) -> dict:
        prec = 1 / prior_sd**2 + len(y) / sigma**2
        mean = (y.sum() / sigma**2) / prec
        return {"mu": rng.normal(mean, width / math.sqrt(prec), size=n_draws)}

    return SBCModel(
        "normal-mean",
        prior,
        simulate,
        posterior,
        {"n_obs": n_obs, "prior_sd": prior_sd, "sigma": sigma, "width": width},
    )


_SBC_CATEGORIES = ["c1", "c2", "c3", "c4"]


def _bayes_ordinal_model(
    n_obs: int = 120,
    n_groups: int = 12,
    draws: int = 500,
    tune: int = 500,
    sampler: str = "nutpie",
) -> SBCModel:
    """Hierarchical cumulative logit of :mod:`civmodels.bayes`, ``y ~ x1 + x2 + (1 | g)``, with
    its default priors, on a fixed design of ``n_obs`` rows in ``n_groups`` groups (the design
    is fixed so that the prior, which is centred on the data's covariate means, is the same in
    every replicate). Parameters are drawn with the model's own prior sampler, so prior and
    fit cannot disagree."""
    design_rng = np.random.default_rng(0)
    design = pd.DataFrame(
        {
            "x1": design_rng.normal(size=n_obs),
            "x2": design_rng.choice(["a", "b"], n_obs),
            "g": [f"g{j:02d}" for j in design_rng.integers(0, n_groups, n_obs)],
        }
    )
    formula = "y ~ x1 + x2 + (1 | g)"

    def template() -> Any:
        from .. import bayes

        y = pd.Categorical(np.resize(_SBC_CATEGORIES, n_obs), _SBC_CATEGORIES, ordered=True)
        return bayes.Ordinal(formula, design.assign(y=y))

    def prior(rng: np.random.Generator) -> dict[str, Any]:
        m = template()
        truth = m._prior_draws(1, rng)
        names = [*m.threshold_names(), *m.slope_names]
        values = [*truth["cutpoints"][0], *truth["coef"][0]]
        out: dict[str, Any] = dict(zip(names, map(float, values), strict=True))
        out["sd_g"] = float(truth["sd_g"][0])
        # the full draw (random effects included) is needed to simulate; it is not ranked
        out["_draw"] = truth
        return out

    def simulate(rng: np.random.Generator, params: dict[str, Any]) -> pd.DataFrame:
        m = template()
        y = m._simulate_y(params.pop("_draw"), rng)[0]
        return design.assign(y=pd.Categorical.from_codes(y, _SBC_CATEGORIES, ordered=True))

    def posterior(data: pd.DataFrame, rng: np.random.Generator, n_draws: int) -> dict:
        from .. import bayes

        if n_draws > draws:
            raise ValueError(f"n_draws={n_draws} exceeds the posterior draws ({draws})")
        res = bayes.Ordinal(formula, data).fit(
            draws=draws, tune=tune, chains=1, sampler=sampler, random_seed=int(rng.integers(2**31))
        )
        post = res._param_draws()
        post["sd_g"] = res._post["sd_g"]
        # thin evenly to n_draws: roughly independent draws, as SBC needs
        idx = np.linspace(0, len(post) - 1, n_draws).astype(int)
        return {c: post[c].to_numpy()[idx] for c in post.columns}

    return SBCModel(
        "bayes-ordinal",
        prior,
        simulate,
        posterior,
        {"n_obs": n_obs, "n_groups": n_groups, "draws": draws, "tune": tune, "sampler": sampler},
    )


#: Built-in SBC models. ``"normal-mean"`` has an exact posterior and serves as a reference
#: for the machinery; ``"bayes-ordinal"`` is the hierarchical cumulative logit of
#: :mod:`civmodels.bayes` (seconds per replicate). Other models are passed as
#: :class:`SBCModel`.
SBC_MODELS: dict[str, Callable[..., SBCModel]] = {
    "normal-mean": _normal_mean_model,
    "bayes-ordinal": _bayes_ordinal_model,
}


class SBCStudy(Study):
    """One replicate of :func:`sbc`: prior draw, data, posterior draws, ranks."""

    def __init__(self, model: SBCModel, n_draws: int) -> None:
        super().__init__(
            name=f"sbc:{model.name}",
            parameters={"model": model.name, "n_draws": n_draws, **dict(model.settings)},
        )
        self.model = model
        self.n_draws = n_draws

    def __call__(self, rng: np.random.Generator) -> list[dict[str, Any]]:
        """One SBC replicate: a row per parameter with the rank of the truth."""
        truth = self.model.prior(rng)
        data = self.model.simulate(rng, truth)
        with recorded_warnings() as caught:
            draws = self.model.posterior(data, rng, self.n_draws)
        warned = warning_text(caught)
        rows = []
        for p, true in truth.items():
            if p.startswith("_"):
                continue
            d = np.asarray(draws[p], dtype=float).ravel()
            if d.size != self.n_draws:
                raise ValueError(
                    f"posterior returned {d.size} draws of {p!r}; expected n_draws={self.n_draws}"
                )
            rows.append(
                {
                    "parameter": str(p),
                    "truth": float(true),
                    "rank": int((d < true).sum()),
                    "posterior_mean": float(d.mean()),
                    "posterior_sd": float(d.std(ddof=1)),
                    "warnings": warned,
                }
            )
        return rows


@dataclass(frozen=True)
class SBCResult:
    """Result of :func:`sbc`.

    Attributes
    ----------
    ranks : pandas.DataFrame
        One row per replicate and parameter: ``truth``, ``rank`` (number of posterior draws
        below the truth, ``0..n_draws``), posterior mean and SD.
    table : pandas.DataFrame
        Per parameter: chi-square test of uniform ranks over ``n_bins`` bins (``statistic``,
        ``df``, ``p_value``) and the share of truths in the central 90% of the posterior.
    n_draws, n_bins : int
    run : SimulationResult
    """

    ranks: pd.DataFrame
    table: pd.DataFrame
    n_draws: int
    n_bins: int
    model: str
    run: SimulationResult = field(repr=False)

    def summary(self) -> Summary:
        """The uniformity tests as a :class:`~civmodels.results.Summary`."""
        return Summary(
            title=f"Simulation-based calibration: {self.model}",
            info={
                "replicates": self.run.n_sims,
                "failed": self.run.n_failed,
                "posterior draws": self.n_draws,
                "bins": self.n_bins,
                "random_seed": self.run.random_seed,
            },
            blocks={"rank uniformity": self.table},
            notes=("small p-values mean non-uniform ranks: the posterior is miscalibrated",),
        )

    def plot(self, *, band: float = 0.99) -> Any:
        """Rank histograms, one panel per parameter, with the ``band`` interval of the bin
        counts expected under uniform ranks (binomial).

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        params = list(dict.fromkeys(self.ranks["parameter"]))
        ncol = min(3, len(params))
        nrow = math.ceil(len(params) / ncol)
        fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol, 2.6 * nrow), squeeze=False)
        for ax, p in zip(axes.flat, params, strict=False):
            r = self.ranks.loc[self.ranks["parameter"] == p, "rank"].to_numpy()
            counts = _bin_counts(r, self.n_draws, self.n_bins)
            n = len(r)
            lo, hi = stats.binom.interval(band, n, 1 / self.n_bins)
            ax.axhspan(lo, hi, color="grey", alpha=0.25, lw=0)
            ax.axhline(n / self.n_bins, color="grey", lw=1)
            ax.bar(np.arange(self.n_bins), counts, width=0.9, color="C0")
            ax.set_title(p)
            ax.set_xlabel("rank bin")
        for ax in list(axes.flat)[len(params) :]:
            ax.set_visible(False)
        axes[0, 0].set_ylabel("replicates")
        fig.tight_layout()
        return fig


def _bin_counts(ranks: np.ndarray, n_draws: int, n_bins: int) -> np.ndarray:
    # ranks take n_draws + 1 values; bin edges split them as evenly as possible
    edges = np.linspace(0, n_draws + 1, n_bins + 1)
    return np.histogram(ranks, bins=edges)[0]


def sbc(
    model: str | SBCModel = "normal-mean",
    n_sims: int = 200,
    *,
    n_draws: int = 99,
    n_bins: int = 20,
    random_seed: int | None = None,
    n_jobs: int = -1,
    backend: str = "loky",
    client: Any = None,
    checkpoint: str | os.PathLike[str] | None = None,
    progress: bool = True,
    **model_options: Any,
) -> SBCResult:
    """Simulation-based calibration of a Bayesian model (Talts et al. 2018).

    Parameters
    ----------
    model : str or SBCModel
        A built-in model name (see :data:`SBC_MODELS`; options go in ``**model_options``) or an
        :class:`SBCModel`.
    n_sims : int
        Number of prior draws / simulated data sets.
    n_draws : int
        Posterior draws per replicate (ranks take ``n_draws + 1`` values). ``n_bins`` should
        divide ``n_draws + 1`` for equal-width bins.
    n_bins : int
        Bins of the rank histogram and of the chi-square uniformity test.
    random_seed, n_jobs, backend, client, checkpoint, progress
        As in :func:`run`.

    Returns
    -------
    SBCResult
        ``.ranks``, ``.table`` (uniformity tests), ``.plot()`` (rank histograms).
    """
    n_sims = check_positive_int(n_sims, "n_sims")
    n_draws = check_positive_int(n_draws, "n_draws")
    n_bins = check_positive_int(n_bins, "n_bins")
    if n_bins > n_draws + 1 or n_bins < 2:
        raise ValueError(f"n_bins must be in [2, n_draws + 1 = {n_draws + 1}], got {n_bins}")
    if isinstance(model, str):
        if model not in SBC_MODELS:
            raise ValueError(
                f"unknown SBC model {model!r}; choose from {list(SBC_MODELS)} or pass an SBCModel"
            )
        spec = SBC_MODELS[model](**model_options)
    elif isinstance(model, SBCModel):
        if model_options:
            raise TypeError(f"options {sorted(model_options)} are only for built-in models")
        spec = model
    else:
        raise TypeError(f"model must be a name or an SBCModel, got {type(model).__name__}")
    res = run(
        SBCStudy(spec, n_draws),
        n_sims,
        n_jobs=n_jobs,
        backend=backend,
        client=client,
        random_seed=random_seed,
        checkpoint=checkpoint,
        progress=progress,
    )
    ranks = res.table
    rows = []
    for p, sub in ranks.groupby("parameter", sort=False):
        counts = _bin_counts(sub["rank"].to_numpy(), n_draws, n_bins)
        # number of integer ranks in each histogram bin [e_k, e_k+1)
        expected_share = np.diff(np.ceil(np.linspace(0, n_draws + 1, n_bins + 1))) / (n_draws + 1)
        chi = stats.chisquare(counts, counts.sum() * expected_share)
        q = sub["rank"] / n_draws
        rows.append(
            {
                "parameter": p,
                "n_sims": len(sub),
                "statistic": float(chi.statistic),
                "df": n_bins - 1,
                "p_value": float(chi.pvalue),
                "central_90": float(((q > 0.05) & (q < 0.95)).mean()),
            }
        )
    return SBCResult(
        ranks=ranks,
        table=pd.DataFrame(rows),
        n_draws=n_draws,
        n_bins=n_bins,
        model=spec.name,
        run=res,
    )
