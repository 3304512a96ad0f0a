"""Hierarchical cumulative-link (:class:`Ordinal`) and binary (:class:`Logistic`) models."""

from __future__ import annotations

import itertools
import re
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .._links import LINKS
from .._validation import check_positive_int
from ..exceptions import DataError, SpecificationError
from ..formula import ModelFrame, refuse_interaction_groups
from . import _backend
from . import _numeric as num
from ._graph import GroupSpec
from ._priors import Prior, check_cutpoint_prior, draw_ordered, resolve_priors

__all__ = ["Logistic", "Ordinal"]

# Prior SD of a coefficient per SD of its predictor: a one-SD change moves the log-odds by
# less than 2 with 95% prior probability. rstanarm's 2.5 is wider; with the ~15 columns of the
# KORA models it puts most prior predictive mass on the two extreme categories.
COEF_SCALE = 1.0
INTERCEPT_SCALE = 2.5


def default_coef_prior(x: np.ndarray) -> Prior:
    """Normal(0, 1 / sd(x)), i.e. Normal(0, 1) per standard deviation of the predictor.

    Scaling by the predictor's SD (as Gelman et al. 2008 and rstanarm do) makes the prior
    comparable across predictors measured in different units.
    """
    sd = float(np.std(x))
    return Prior("normal", mu=0.0, sigma=COEF_SCALE / sd if sd > 0 else COEF_SCALE)


def check_fit_args(draws: Any, tune: Any, chains: Any, sampler: Any) -> tuple[int, int, int]:
    """Validate the sampler settings shared by every model."""
    from ._backend import SAMPLERS

    d = check_positive_int(draws, "draws")
    t = check_positive_int(tune, "tune")
    c = check_positive_int(chains, "chains")
    if sampler not in SAMPLERS:
        raise SpecificationError(f"sampler must be one of {list(SAMPLERS)}, got {sampler!r}")
    return d, t, c


def sample_posterior(
    model: Any,
    compiled: Any,
    result_cls: Any,
    *,
    draws: Any,
    tune: Any,
    chains: Any,
    sampler: Any,
    random_seed: Any,
    cores: int | None,
    target_accept: float,
) -> Any:
    """Validate the sampling arguments, run NUTS on ``compiled`` and wrap the draws.

    Shared by every Bayesian model's ``fit``; ``result_cls._from_raw`` builds the result
    (and issues the diagnostics warnings).
    """
    from . import _backend

    d, t, c = check_fit_args(draws, tune, chains, sampler)
    raw, stats = _backend.sample(
        compiled,
        sampler=sampler,
        draws=d,
        tune=t,
        chains=c,
        random_seed=random_seed,
        cores=cores,
        target_accept=target_accept,
    )
    return result_cls._from_raw(model, raw, stats, sampler=sampler, seed=random_seed)


def new_group_effects(
    post: Mapping[str, np.ndarray],
    groups: list[GroupSpec],
    group_levels: Mapping[str, pd.Index],
    newdata: pd.DataFrame,
    rng: np.random.Generator,
) -> np.ndarray:
    """Sum of group effects (S, n) for the rows of ``newdata``.

    Levels seen in the fit data use their posterior draws; a level absent from the fit data
    (a municipality without respondents) gets, per posterior draw, a new draw from the
    fitted hyper-distribution N(0, sd_g) — shared by all rows of that level.
    """
    from .._validation import check_columns
    from ..exceptions import DataError

    check_columns(newdata, [g.name for g in groups], what="the model's grouping factors")
    S = next(iter(post.values())).shape[0]
    total = np.zeros((S, len(newdata)))
    for g in groups:
        col = newdata[g.name]
        if col.isna().any():
            raise DataError(
                f"column {g.name!r} has {int(col.isna().sum())} missing values; every row "
                "needs a group level (a level absent from the fit data is fine)"
            )
        idx = group_levels[g.name].get_indexer(col)
        re = post[f"re_{g.name}"]
        known = idx >= 0
        eff = np.empty((S, len(idx)))
        eff[:, known] = re[:, idx[known]]
        if (~known).any():
            labels = col[~known].astype(str).to_numpy()
            new_levels, inv = np.unique(labels, return_inverse=True)
            z = rng.standard_normal((S, len(new_levels)))
            eff[:, ~known] = (post[f"sd_{g.name}"][:, None] * z)[:, inv]
        total += eff
    return total


def expand_freq_weights(
    data: pd.DataFrame, weights: str | None, freq_weights: str | None, model: str
) -> pd.DataFrame:
    """The data with every row repeated ``freq_weights`` times (exactly the likelihood with
    counts); ``weights=`` (sampling weights) is refused with what to do instead."""
    from .._validation import check_columns, check_dataframe

    if weights is not None:
        raise SpecificationError(
            f"bayes.{model} takes no sampling weights (weights={weights!r}): a likelihood "
            "raised to sampling weights is not a posterior (its credible intervals have no "
            "calibrated meaning, and the weights' scale would act as the sample size). For "
            "nonresponse, model the variables that drive response and poststratify to the "
            "frame (res.poststratify(frame)), or fit cm.Ordinal / cm.Logistic with "
            "weights= (sandwich errors). Counts of identical rows go in freq_weights="
        )
    if freq_weights is None:
        return data
    check_dataframe(data)
    check_columns(data, [freq_weights], what="the model options")
    col = data[freq_weights]
    try:
        v = col.to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise DataError(
            f"freq_weights column {freq_weights!r} must be numeric counts (dtype {col.dtype})"
        ) from None
    bad = ~np.isfinite(v) | (v < 0) | (np.abs(v - np.round(v)) > 1e-9)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"freq_weights column {freq_weights!r} must hold whole numbers >= 0 (counts of "
            f"identical rows); {int(bad.sum())} rows do not, e.g. row {data.index[i]!r} with "
            f"{col.iloc[i]!r}. Sampling weights are not available in the Bayesian models"
        )
    counts = np.round(v).astype(np.int64)
    n_zero = int((counts == 0).sum())
    if n_zero == len(counts):
        raise DataError(f"freq_weights column {freq_weights!r} is 0 in every row")
    if n_zero:
        warnings.warn(
            f"{n_zero} rows have freq_weights 0 and are left out (a count of 0 rows)",
            UserWarning,
            stacklevel=4,
        )
    return data.iloc[np.repeat(np.arange(len(data)), counts)]


class _Hierarchical:
    """Shared machinery: model frame, centring, group factors, priors, compile cache."""

    _outcome = "ordinal"
    _intercept = False

    def __init__(
        self,
        formula: str,
        data: pd.DataFrame,
        *,
        priors: Mapping[str, Any] | None = None,
        link: str = "logit",
        weights: str | None = None,
        freq_weights: str | None = None,
    ) -> None:
        data = expand_freq_weights(data, weights, freq_weights, type(self).__name__)
        if link not in LINKS:
            raise SpecificationError(f"link must be one of {sorted(LINKS)}, got {link!r}")
        self.link = link
        self.formula = formula
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            frame = self._model_frame(formula, data)
        self._empty_categories: list = []
        for w in caught:
            if "no observations" in str(w.message) and self._outcome == "ordinal":
                continue
            warnings.warn(w.message, w.category, stacklevel=2)
        self.frame = frame
        self.y = frame.y
        self.trials = np.ones(len(self.y))
        self.binomial = False
        self.categories = list(frame.categories)
        if self._outcome == "ordinal":
            self._restore_empty_categories(frame)
        X = frame.X
        self.x_names = list(frame.x_names)
        self._slope_idx = [i for i, n in enumerate(self.x_names) if n != "Intercept"]
        self.has_intercept = "Intercept" in self.x_names
        Xs = X[:, self._slope_idx]
        self.x_mean = Xs.mean(axis=0) if Xs.shape[1] else np.zeros(0)
        self.Xc = Xs - self.x_mean
        self.slope_names = [self.x_names[i] for i in self._slope_idx]
        refuse_interaction_groups(frame.parsed.random, "the Bayesian models")
        self.groups = [
            GroupSpec(name, codes, len(levels)) for name, (codes, levels) in frame.groups.items()
        ]
        self.group_levels = {name: levels for name, (_, levels) in frame.groups.items()}
        defaults, kinds, aliases = self._default_priors()
        self.priors = resolve_priors(defaults, priors, kinds=kinds, aliases=aliases)
        if "cutpoints" in self.priors:
            check_cutpoint_prior(self.priors["cutpoints"], self.n_categories)
        self._compiled: Any = None

    def _model_frame(self, formula: str, data: pd.DataFrame) -> ModelFrame:
        return ModelFrame(formula, data, outcome=self._outcome, intercept=self._intercept)

    # -- priors -----------------------------------------------------------------------
    def _default_priors(self):
        defaults: dict[str, Prior] = {}
        kinds: dict[str, str] = {}
        if self._outcome == "ordinal":
            defaults["cutpoints"] = Prior("dirichlet", alpha=1.0)
            kinds["cutpoints"] = "cutpoints"
        elif self.has_intercept:
            defaults["Intercept"] = Prior("normal", mu=0.0, sigma=INTERCEPT_SCALE)
            kinds["Intercept"] = "real"
        for j, name in enumerate(self.slope_names):
            defaults[name] = default_coef_prior(self.Xc[:, j])
            kinds[name] = "real"
        for g in self.groups:
            defaults[f"sd_{g.name}"] = Prior("halfnormal", sigma=1.0)
            kinds[f"sd_{g.name}"] = "positive"
        aliases = {
            "coef": list(self.slope_names),
            "sd": [f"sd_{g.name}" for g in self.groups],
        }
        return defaults, kinds, aliases

    def _restore_empty_categories(self, frame: ModelFrame) -> None:
        raw = frame.data[frame.outcome_name]
        if not isinstance(raw.dtype, pd.CategoricalDtype):
            return
        full = list(raw.cat.categories)
        if len(full) == len(self.categories):
            return
        self.categories = full
        self.y = raw.cat.codes.to_numpy(np.int64)
        counts = np.bincount(self.y, minlength=len(full))
        self._empty_categories = [c for c, k in zip(full, counts, strict=True) if k == 0]
        warnings.warn(
            f"outcome {frame.outcome_name!r} has categories with no observations: "
            f"{self._empty_categories}; they are kept, and their thresholds are informed by "
            "the induced-Dirichlet prior only",
            UserWarning,
            stacklevel=3,
        )

    # -- basic facts --------------------------------------------------------------------
    @property
    def nobs(self) -> int:
        """Rows used."""
        return len(self.y)

    @property
    def n_dropped(self) -> int:
        """Rows dropped for missing values."""
        return int(self.frame.n_dropped)

    @property
    def n_categories(self) -> int:
        """Number of outcome categories (including unobserved ones)."""
        return len(self.categories)

    def threshold_names(self) -> list[str]:
        """``"a|b"`` labels of the thresholds."""
        c = [str(x) for x in self.categories]
        return [f"{a}|{b}" for a, b in itertools.pairwise(c)]

    def coords(self) -> dict[str, list]:
        """Coordinates (labels) for the InferenceData."""
        out: dict[str, list] = {"term": list(self.slope_names)}
        if self._outcome == "ordinal":
            out["threshold"] = self.threshold_names()
        for g in self.groups:
            out[f"level_{g.name}"] = [str(v) for v in self.group_levels[g.name]]
        return out

    # -- graph ----------------------------------------------------------------------------
    def build_model(self) -> Any:
        """The PyMC model (log density only; see :mod:`civmodels.bayes._graph`)."""
        pm = _backend.import_pymc()

        from . import _graph as gr

        coords = self.coords()
        with pm.Model(coords=coords) as model:
            eta = 0.0
            if self.slope_names:
                X = pm.Data("X", self.Xc)
                coef = gr.coef_vector("coef", [self.priors[n] for n in self.slope_names], "term")
                # an elementwise product-sum instead of a dot: without a linked BLAS,
                # PyTensor's Gemv runs in Python and costs more than the whole likelihood
                eta = (X * coef[None, :]).sum(axis=1)
            eta = eta + gr.group_effects(self.groups, self.priors)
            y = pm.Data("y", self.y.astype(np.int64))
            if self._outcome == "ordinal":
                c = gr.cutpoints(
                    "cutpoints",
                    self.n_categories - 1,
                    self.priors["cutpoints"],
                    self.link,
                    dims="threshold",
                )
                pt = _backend.import_pytensor_tensor()

                ext = pt.concatenate([pt.as_tensor([-gr.BIG]), c, pt.as_tensor([gr.BIG])])
                ll = gr.log_cdf_diff(ext[y + 1] - eta, ext[y] - eta, self.link)
            else:
                if self.has_intercept:
                    eta = eta + gr.real("Intercept_c", self.priors["Intercept"])
                n_trials = pm.Data("trials", self.trials)
                fail = n_trials - y
                if self.link == "logit":
                    ll = -y * pm.math.log1pexp(-eta) - fail * pm.math.log1pexp(eta)
                else:
                    p = gr.link_cdf(eta, self.link)
                    ll = y * pm.math.log(pm.math.maximum(p, 1e-300)) + fail * pm.math.log(
                        pm.math.maximum(1.0 - p, 1e-300)
                    )
            pm.Potential("loglik", ll.sum())
        return model

    def _compile(self, sampler: str = "pymc") -> Any:
        from . import _backend, _fastlogp

        if sampler == "nutpie" and _fastlogp.FastModel.supports(self):
            if getattr(self, "_compiled_fast", None) is None:
                self._compiled_fast = _fastlogp.compile_fast(self)
            return self._compiled_fast
        if self._compiled is None:
            self._compiled = _backend.compile_model(self.build_model())
        return self._compiled

    # -- transforms of raw draws ------------------------------------------------------------
    def _coef_from_raw(self, raw: Mapping[str, np.ndarray]) -> np.ndarray:
        """Coefficients (S, k) from the non-centred raw draws."""
        return num.coef_from_raw(raw, [self.priors[n] for n in self.slope_names])

    def derived(self, raw: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Reported parameters from flattened raw draws ``(S, ...)``."""
        out: dict[str, np.ndarray] = {}
        coef = self._coef_from_raw(raw)
        shift = coef @ self.x_mean if coef.shape[1] else np.zeros(coef.shape[0])
        if self._outcome == "ordinal":
            # the sampled cutpoints refer to centred covariates; report them for x = 0
            out["cutpoints"] = num.cut_from_raw(raw["cutpoints_raw"]) + shift[:, None]
        elif self.has_intercept:
            out["Intercept"] = raw["Intercept_c"] - shift
        out["coef"] = coef
        for g in self.groups:
            out[f"sd_{g.name}"] = raw[f"sd_{g.name}"]
            out[f"re_{g.name}"] = raw[f"sd_{g.name}"][:, None] * raw[f"z_{g.name}"]
        return out

    def linear_predictor(self, post: Mapping[str, np.ndarray]) -> np.ndarray:
        """eta (S, n) on the fit data (uncentred X, including group effects)."""
        X = self.frame.X[:, self._slope_idx]
        eta = post["coef"] @ X.T
        if self._outcome == "binary" and self.has_intercept:
            eta = eta + post["Intercept"][:, None]
        for g in self.groups:
            eta = eta + post[f"re_{g.name}"][:, g.codes]
        return eta

    def linear_predictor_new(
        self, post: Mapping[str, np.ndarray], newdata: pd.DataFrame, rng: np.random.Generator
    ) -> np.ndarray:
        """eta (S, n) for new rows; unseen group levels get draws from N(0, sd_g)."""
        X = self.frame.fixed.transform(newdata)[:, self._slope_idx]
        eta = post["coef"] @ X.T
        if self._outcome == "binary" and self.has_intercept:
            eta = eta + post["Intercept"][:, None]
        return eta + new_group_effects(post, self.groups, self.group_levels, newdata, rng)

    def pointwise_loglik(self, post: Mapping[str, np.ndarray]) -> np.ndarray:
        """log p(y_i | draw) for every draw and row, (S, n)."""
        eta = self.linear_predictor(post)
        if self._outcome == "ordinal":
            return num.ordinal_loglik(post["cutpoints"], eta, self.y, self.link)
        return num.binary_loglik(eta, self.y, self.link, self.trials)

    # -- prior predictive ------------------------------------------------------------------
    def _prior_draws(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        k = len(self.slope_names)
        coef = np.zeros((n, k))
        for j, name in enumerate(self.slope_names):
            coef[:, j] = self.priors[name].draw(rng, (n,))
        out["coef"] = coef
        shift = coef @ self.x_mean if k else np.zeros(n)
        if self._outcome == "ordinal":
            cp = self.priors["cutpoints"]
            if cp.dist == "dirichlet":
                alpha = np.broadcast_to(np.asarray(cp.params["alpha"], float), (self.n_categories,))
                cut = num.draw_cutpoints_prior(alpha, self.link, rng, n)
            else:
                cut = draw_ordered(cp, self.n_categories - 1, rng, n)
            out["cutpoints"] = cut + shift[:, None]
        elif self.has_intercept:
            out["Intercept"] = self.priors["Intercept"].draw(rng, (n,)) - shift
        for g in self.groups:
            sd = self.priors[f"sd_{g.name}"].draw(rng, (n,))
            out[f"sd_{g.name}"] = sd
            out[f"re_{g.name}"] = sd[:, None] * rng.standard_normal((n, g.n_levels))
        return out

    def _simulate_y(self, post: Mapping[str, np.ndarray], rng: np.random.Generator):
        eta = self.linear_predictor(post)
        if self._outcome == "ordinal":
            probs = num.catprobs(post["cutpoints"], eta, self.link)
            u = rng.random(eta.shape)[..., None]
            return (np.cumsum(probs, axis=-1) < u).sum(axis=-1).clip(0, self.n_categories - 1)
        from .._links import get_link

        p = get_link(self.link).cdf(eta)
        if self.binomial:
            return rng.binomial(self.trials.astype(np.int64)[None, :], p)
        return (rng.random(eta.shape) < p).astype(np.int64)

    def prior_predictive(self, draws: int = 500, random_seed: Any = None) -> Any:
        """Draw parameters from the prior and outcomes given them (no compilation needed).

        Parameters
        ----------
        draws : int, default 500
            Number of prior draws.
        random_seed : int or SeedSequence, optional

        Returns
        -------
        arviz.InferenceData
            Groups ``prior`` (parameters, labelled) and ``prior_predictive`` (outcome codes
            per row), plus ``observed_data``.
        """
        from . import _backend

        n = check_positive_int(draws, "draws")
        rng = np.random.default_rng(random_seed)
        pri = self._prior_draws(n, rng)
        yrep = self._simulate_y(pri, rng)
        coords, dims = self._idata_layout()
        return _backend.to_inference_data(
            None,
            prior={k: v[None] for k, v in pri.items()},
            prior_predictive={"y": yrep[None]},
            observed_data={"y": self.y},
            coords=coords,
            dims=dims,
        )

    def _idata_layout(self) -> tuple[dict[str, list], dict[str, list[str]]]:
        coords = self.coords()
        coords["obs"] = [str(i) for i in self.frame.data.index]
        dims: dict[str, list[str]] = {"coef": ["term"], "y": ["obs"]}
        if self._outcome == "ordinal":
            dims["cutpoints"] = ["threshold"]
        for g in self.groups:
            dims[f"re_{g.name}"] = [f"level_{g.name}"]
        return coords, dims

    # -- fit ----------------------------------------------------------------------------------
    def fit(
        self,
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 4,
        sampler: str = "nutpie",
        random_seed: Any = None,
        *,
        cores: int | None = None,
        target_accept: float = 0.8,
    ) -> Any:
        """Sample the posterior with NUTS.

        Parameters
        ----------
        draws, tune, chains : int
            Posterior draws per chain, tuning steps per chain, number of chains.
        sampler : {"nutpie", "pymc", "nutpie-pytensor"}, default "nutpie"
            ``"nutpie"``: nutpie's NUTS on the hand-written Numba log density (logit,
            probit and cloglog links, every prior family), otherwise (loglog, cauchit) on
            the PyTensor C-compiled graph — the fastest choice here, see
            ``benchmarks/bench_bayes.py``; ``"nutpie-pytensor"``: always the
            PyTensor graph; ``"pymc"``: PyMC's own NUTS.
        random_seed : int or SeedSequence, optional
            Makes the fit reproducible.
        cores : int, optional
            Parallel chains (default 1: on a shared 2-core machine parallel chains mostly
            contend).
        target_accept : float, default 0.8
            NUTS target acceptance rate; raise it (0.9-0.99) when transitions diverge.

        Returns
        -------
        BayesResult
            Warns :class:`~civmodels.exceptions.SamplingWarning` when R-hat > 1.01, bulk or
            tail ESS < 400, or any transition diverged.
        """
        from ._results import BayesResult

        check_fit_args(draws, tune, chains, sampler)  # before compiling: fail fast
        compiled = self._compile("pymc" if sampler == "nutpie-pytensor" else sampler)
        return sample_posterior(
            self,
            compiled,
            BayesResult,
            draws=draws,
            tune=tune,
            chains=chains,
            sampler=sampler,
            random_seed=random_seed,
            cores=cores,
            target_accept=target_accept,
        )


class Ordinal(_Hierarchical):
    r"""Bayesian hierarchical cumulative-link model.

    .. math::

        P(Y_i \le k \mid x_i, u) = F(\theta_k - x_i'\beta - \sum_g u_{g, j_g[i]}),
        \qquad u_{g,j} = \sigma_g z_{g,j},\; z_{g,j} \sim N(0, 1)

    with F the inverse link (logistic by default), the sign convention of R ``ordinal`` and
    ``MASS::polr``. Municipality-level predictors (size, spending pressure, region, bloc) enter
    ``x``, so the municipality intercepts are pooled toward a regression on municipality
    characteristics.

    Identification: no intercept in ``x`` (the thresholds absorb it). Default priors (each
    overridable by name with ``priors=``):

    * ``"cutpoints"``: induced Dirichlet(1, ..., 1) on the category probabilities of an
      average respondent (covariates at their means, group effects 0) — Betancourt (2019).
    * each coefficient (alias ``"coef"``): Normal(0, 1 / sd(x_j)).
    * ``"sd_<group>"`` (alias ``"sd"``): HalfNormal(1).

    Parameters
    ----------
    formula : str
        E.g. ``"y ~ x1 + region + (1 | municipality)"``; same syntax and coefficient names
        as the frequentist engines.
    data : pandas.DataFrame
        Not modified. Rows with missing values in used columns are dropped and counted.
    priors : dict, optional
        Slot name -> :class:`Prior` (or ``{"dist": ..., **params}``).
    link : {"logit", "probit", "cloglog", "loglog", "cauchit"}, default "logit"
    freq_weights : str, optional
        Column of counts of identical rows (whole numbers >= 0): the likelihood counts each
        row that many times, exactly as repeating it (``nobs`` is the total count).
    weights : str, optional
        Refused with an explanation: sampling weights have no place in a Bayesian
        likelihood; poststratify to the frame (MRP) or use the frequentist weighted fit.

    References
    ----------
    Betancourt, M. (2019). Ordinal regression. https://betanalpha.github.io/assets/case_studies/ordinal_regression.html
    Gelman, A., Jakulin, A., Pittau, M. G., Su, Y.-S. (2008). A weakly informative default
    prior distribution for logistic and other regression models. Ann. Appl. Stat. 2(4).
    """

    _outcome = "ordinal"
    _intercept = False


class Logistic(_Hierarchical):
    r"""Bayesian hierarchical binary regression.

    .. math::

        P(Y_i = 1 \mid x_i, u) = F(\alpha + x_i'\beta + \sum_g u_{g, j_g[i]}),
        \qquad u_{g,j} = \sigma_g z_{g,j},\; z_{g,j} \sim N(0, 1)

    Default priors: ``"Intercept"`` Normal(0, 2.5) for the log-odds of an average respondent
    (covariates at their means); each coefficient Normal(0, 1 / sd(x_j)); ``"sd_<group>"``
    HalfNormal(1). The outcome is boolean, 0/1 or a two-level categorical whose second level
    is the event — or binomial counts (see ``trials``).

    Parameters
    ----------
    formula : str
        E.g. ``"yes ~ x1 + (1 | municipality)"``. For aggregated rows write the counts as
        ``"cbind(k, n - k) ~ ..."`` (successes, trials - successes) or
        ``"cbind(k, failures) ~ ..."``.
    data : pandas.DataFrame
        Not modified. Rows with missing values in used columns are dropped and counted.
    trials : str, optional
        Column of binomial trials; the outcome column then holds the successes (brms's
        ``y | trials(n)``). Trials must be whole numbers >= 1 and successes whole numbers
        between 0 and the trials.
    priors : dict, optional
        Slot name -> :class:`Prior`, as for :class:`Ordinal`.
    link : {"logit", "probit", "cloglog", "loglog", "cauchit"}, default "logit"
    freq_weights, weights : str, optional
        As for :class:`Ordinal`.
    """

    _outcome = "binary"
    _intercept = True

    def __init__(
        self,
        formula: str,
        data: pd.DataFrame,
        *,
        trials: str | None = None,
        priors: Mapping[str, Any] | None = None,
        link: str = "logit",
        weights: str | None = None,
        freq_weights: str | None = None,
    ) -> None:
        self._trials_arg = trials
        super().__init__(
            formula, data, priors=priors, link=link, weights=weights, freq_weights=freq_weights
        )
        if self._counts is not None:
            succ, n = self._counts
            self.trials = self.frame.data[n].to_numpy(float)
            self.y = self.frame.data[succ].to_numpy(float).round().astype(np.int64)
            self.binomial = True

    def _model_frame(self, formula: str, data: pd.DataFrame) -> ModelFrame:
        """Bernoulli rows, or binomial counts from ``trials=`` or ``cbind(y, n - y)``."""
        self._counts: tuple[str, str] | None = None
        lhs, _, rhs = formula.partition("~")
        m = re.fullmatch(r"\s*cbind\s*\((.*)\)\s*", lhs)
        if m is None and self._trials_arg is None:
            return super()._model_frame(formula, data)
        from .._validation import check_columns, check_dataframe

        check_dataframe(data)
        if m is not None:
            if self._trials_arg is not None:
                raise SpecificationError(
                    "give the trials either as cbind(successes, trials - successes) in the "
                    "formula or as trials=, not both"
                )
            succ, n_col, fail_col = _read_cbind(m.group(1), data)
        else:
            succ = lhs.strip().strip("`")
            n_col, fail_col = self._trials_arg, None
            if not isinstance(n_col, str):
                raise SpecificationError(f"trials must be a column name, got {n_col!r}")
        check_columns(data, [c for c in (succ, n_col, fail_col) if c], what="the binomial outcome")
        s_val = _count_column(data, succ, "successes")
        if fail_col is not None:
            n_val = s_val + _count_column(data, fail_col, "failures")
            n_col = f"{succ} + {fail_col}"
        else:
            assert n_col is not None
            n_val = _count_column(data, n_col, "trials")
        ok = np.isfinite(s_val) & np.isfinite(n_val)
        bad = ok & (n_val < 1)
        if bad.any():
            raise DataError(
                f"trials ({n_col}) must be at least 1; {int(bad.sum())} rows have "
                f"{n_val[bad][0]:g} (e.g. row {data.index[bad][0]!r}); drop those rows"
            )
        bad = ok & (s_val > n_val)
        if bad.any():
            raise DataError(
                f"successes {succ!r} exceed trials ({n_col}) in {int(bad.sum())} rows (e.g. "
                f"row {data.index[bad][0]!r}: {s_val[bad][0]:g} of {n_val[bad][0]:g})"
            )
        share, trials_name = "__civmodels_share__", "__civmodels_trials__"
        work = data.assign(**{share: s_val / n_val, trials_name: n_val, "__civ_succ__": s_val})
        try:
            frame = ModelFrame(
                f"{share} ~{rhs}",
                work,
                outcome="proportion",
                intercept=self._intercept,
                extra=[trials_name, "__civ_succ__"],
            )
        except DataError as e:  # name the user's columns, not the internal ones
            text = str(e).replace(share, succ).replace(trials_name, n_col)
            raise DataError(text.replace("__civ_succ__", succ)) from None
        frame.outcome_name = succ
        self._counts = ("__civ_succ__", trials_name)
        return frame


def _read_cbind(inner: str, data: pd.DataFrame) -> tuple[str, str | None, str | None]:
    """``cbind(s, n - s)`` -> (s, n, None); ``cbind(s, f)`` -> (s, None, f)."""
    parts = [p.strip().strip("`") for p in inner.split(",")]
    if len(parts) != 2 or not parts[0]:
        raise SpecificationError(
            f"cbind({inner}) must have two arguments: cbind(successes, trials - successes) or "
            "cbind(successes, failures)"
        )
    succ, second = parts
    m = re.fullmatch(r"`?([^`\s-]+)`?\s*-\s*`?([^`\s-]+)`?", second)
    if m is not None:
        if m.group(2) != succ:
            raise SpecificationError(
                f"cbind({inner}): the second argument must be trials - {succ}, got {second!r}"
            )
        return succ, m.group(1), None
    if not re.fullmatch(r"[^\s+*~()-]+", second):
        raise SpecificationError(
            f"cbind({inner}): the second argument must be a column of failures or "
            f"trials - {succ}, got {second!r}"
        )
    return succ, None, second


def _count_column(data: pd.DataFrame, col: str, what: str) -> np.ndarray:
    """A column of non-negative integer counts as floats (NaN kept for the missing report)."""
    raw = data[col]
    if not pd.api.types.is_numeric_dtype(raw) or pd.api.types.is_bool_dtype(raw):
        raise DataError(f"{what} column {col!r} must hold whole numbers, got dtype {raw.dtype}")
    v = raw.to_numpy(float)
    fin = np.isfinite(v)
    bad = fin & ((v < 0) | (v != np.round(v)))
    if bad.any():
        raise DataError(
            f"{what} column {col!r} must hold non-negative whole numbers; {int(bad.sum())} rows "
            f"do not (e.g. {v[bad][0]:g} in row {data.index[bad][0]!r})"
        )
    return v
