"""Multi-item model for a battery of Likert items (graded response model with covariates)."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._links import LINKS
from .._validation import check_columns, check_dataframe, drop_incomplete
from ..exceptions import DataError, SpecificationError
from ..formula import FixedDesign, parse_formula, refuse_interaction_groups
from ..results import Summary
from . import _backend
from . import _numeric as num
from ._graph import GroupSpec
from ._models import (
    check_fit_args,
    default_coef_prior,
    new_group_effects,
    sample_posterior,
)
from ._multi import MultiOutcomePostFit, battery_prediction_model
from ._priors import Prior, check_cutpoint_prior, resolve_priors
from ._results import _SUMMARY_COLUMNS, BayesResult, mrp_from_probs, ppc_figure

__all__ = ["Battery"]

# Respondents per level from which a group's effects are sampled centred (u_g ~ N(0, sd_g^2))
# rather than non-centred (u_g = sd_g z_g): with that many answers per level the data pin the
# effects down, and the non-centred form would tie every z_g to sd_g (a funnel).
CENTRE_MIN_PER_LEVEL = 25


def _item_codes(col: pd.Series, name: str) -> tuple[np.ndarray, list]:
    """Codes (-1 = not answered) and the category labels of one item."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        if not col.cat.ordered:
            raise DataError(
                f"item {name!r} is an unordered categorical; make it ordered, lowest first"
            )
        return col.cat.codes.to_numpy(np.int64), [str(c) for c in col.cat.categories]
    if pd.api.types.is_numeric_dtype(col):
        vals = col.to_numpy(float)
        ok = ~np.isnan(vals)
        if not np.allclose(vals[ok], np.round(vals[ok])):
            raise DataError(f"item {name!r} has non-integer values; use ordered categories")
        levels = np.unique(vals[ok]).astype(np.int64)
        codes = np.full(len(vals), -1, np.int64)
        codes[ok] = np.searchsorted(levels, vals[ok].astype(np.int64))
        return codes, [str(v) for v in levels]
    raise DataError(
        f"item {name!r} holds {col.dtype} values; make it an ordered categorical (lowest first)"
    )


def _items_label(items: Sequence[str]) -> str:
    """The battery's items as an outcome label: all of them when few, else first and last."""
    if len(items) <= 3:
        return ", ".join(items)
    return f"{items[0]} ... {items[-1]} ({len(items)} items)"


class Battery:
    r"""Bayesian multi-item model for a battery of ordinal items.

    A graded-response (ordinal factor) model whose latent trait is regressed on covariates
    with municipality and area effects:

    .. math::

        \zeta_i = x_i'\beta + \sum_g u_{g, j_g[i]} + \varepsilon_i,
        \quad \varepsilon_i \sim N(0, 1),\quad u_{g,j} = \sigma_g z_{g,j}

        P(Y_{ij} \le k) = F(\theta_{jk} - \lambda_j \zeta_i)

    Identification: the respondent residual has SD 1 (this sets the scale of
    :math:`\zeta`, so ``coef`` is in residual-SD units), ``x`` has no intercept (the item
    thresholds absorb it), and loadings :math:`\lambda_j > 0` (all items point the same
    way). The likelihood runs over the (respondent, item) pairs actually answered, so
    breakoff and 'Ved ikke' are treated as missing at random given the model, without dropping
    the respondent. Respondents who answered no item carry no information and are counted in
    ``n_dropped``.

    Default priors: ``"cutpoints"`` induced Dirichlet(1) per item; coefficients Normal(0,
    1 / sd(x)); ``"loading"`` LogNormal(0, 0.5); ``"sd_<group>"`` HalfNormal(1).

    Parameters
    ----------
    items : sequence of str
        Item columns (ordered categoricals on the same scale, NaN = not answered).
    formula : str
        Right-hand side, e.g. ``"~ size + pressure + (1 | municipality) + (1 | area)"``.
    data : pandas.DataFrame
        Not modified. A column ``<item>_dk`` (boolean) marks 'Ved ikke' answers; they are
        counted and treated as missing.
    priors : dict, optional
    link : str, default "logit"
    """

    def __init__(
        self,
        items: Sequence[str],
        formula: str,
        data: pd.DataFrame,
        *,
        priors: Mapping[str, Any] | None = None,
        link: str = "logit",
    ) -> None:
        check_dataframe(data)
        if link not in LINKS:
            raise SpecificationError(f"link must be one of {sorted(LINKS)}, got {link!r}")
        items = list(items)
        if len(items) < 2:
            raise SpecificationError("a battery needs at least two items; use Ordinal for one")
        check_columns(data, items, what="the battery items")
        self.items, self.link, self.formula = items, link, formula
        parsed = parse_formula(formula, require_outcome=False)
        if parsed.outcome is not None:
            raise SpecificationError(
                f"Battery formulas have no outcome (the items are the outcomes); write "
                f"'~ {formula.split('~', 1)[1].strip()}'"
            )
        self.parsed = parsed
        cols = [c for c in parsed.variables()]
        check_columns(data, cols)
        kept, self.missing = drop_incomplete(data, cols)
        codes: dict[str, np.ndarray] = {}
        cats: list[str] = []
        first = ""
        for it in items:
            c, labels = _item_codes(kept[it], it)
            if not first:
                cats, first = labels, it
            elif labels != cats:
                raise SpecificationError(
                    f"items use different scales: {first!r} has {cats}, {it!r} has {labels}; "
                    "model items with different response scales separately"
                )
            codes[it] = c
        self.categories = list(cats)
        Y = np.column_stack([codes[it] for it in items])
        answered = (Y >= 0).any(axis=1)
        self.n_no_answer = int((~answered).sum())
        self.data = kept.loc[answered]
        Y = Y[answered]
        self.dont_know = {
            it: int(kept.loc[answered, f"{it}_dk"].fillna(False).astype(bool).sum())
            if f"{it}_dk" in kept.columns
            else 0
            for it in items
        }
        self.n_answered = {it: int((Y[:, j] >= 0).sum()) for j, it in enumerate(items)}
        resp, item = np.nonzero(Y >= 0)
        self.resp, self.item, self.y = resp, item, Y[resp, item]
        counts = np.bincount(self.y, minlength=len(cats))
        if (counts == 0).any():
            warnings.warn(
                f"categories with no answers in any item: "
                f"{[c for c, k in zip(cats, counts, strict=True) if k == 0]}; kept, informed by "
                "the prior only",
                UserWarning,
                stacklevel=2,
            )
        self.fixed = FixedDesign(parsed.fixed, self.data, intercept=False)
        X = self.fixed.X
        self.x_mean = X.mean(axis=0) if X.shape[1] else np.zeros(0)
        self.Xc = X - self.x_mean
        self.slope_names = list(self.fixed.names)
        self.groups, self.group_levels = [], {}
        refuse_interaction_groups(parsed.random, "the Bayesian battery model")
        for term in parsed.random:
            if not term.is_intercept:
                raise SpecificationError(f"only random intercepts are supported, got {term}")
            gc, levels = pd.factorize(self.data[term.group], sort=True)
            self.groups.append(GroupSpec(term.group, gc.astype(np.int64), len(levels)))
            self.group_levels[term.group] = pd.Index(levels)
        defaults: dict[str, Prior] = {"cutpoints": Prior("dirichlet", alpha=1.0)}
        kinds = {"cutpoints": "cutpoints"}
        for j, name in enumerate(self.slope_names):
            defaults[name], kinds[name] = default_coef_prior(self.Xc[:, j]), "real"
        defaults["loading"], kinds["loading"] = Prior("lognormal", mu=0.0, sigma=0.5), "positive"
        for g in self.groups:
            defaults[f"sd_{g.name}"], kinds[f"sd_{g.name}"] = Prior("halfnormal"), "positive"
        aliases = {"coef": list(self.slope_names), "sd": [f"sd_{g.name}" for g in self.groups]}
        self.priors = resolve_priors(defaults, priors, kinds=kinds, aliases=aliases)
        check_cutpoint_prior(self.priors["cutpoints"], len(self.categories))
        # Sampling coordinates (the posterior is the same for any choice; see build_model):
        # each item's thresholds are anchored at the one nearest the item's median answer,
        # and groups with many respondents per level get centred effects.
        C = len(self.categories) - 1
        self.cut_anchor = np.array(
            [
                int(
                    np.argmin(
                        np.abs(
                            np.cumsum(np.bincount(self.y[self.item == j], minlength=C + 1))[:C]
                            / max(1, (self.item == j).sum())
                            - 0.5
                        )
                    )
                )
                for j in range(len(items))
            ],
            dtype=np.int64,
        )
        self.centred_groups = [self.nobs / g.n_levels >= CENTRE_MIN_PER_LEVEL for g in self.groups]
        self._compiled: Any = None
        self._outcome = "battery"

    # -- facts ------------------------------------------------------------------------
    @property
    def nobs(self) -> int:
        """Respondents used (each with at least one answered item)."""
        return len(self.data)

    @property
    def n_dropped(self) -> int:
        """Respondents dropped: missing predictors plus no answered item."""
        return int(self.missing.n_dropped + self.n_no_answer)

    @property
    def n_categories(self) -> int:
        return len(self.categories)

    def threshold_names(self) -> list[str]:
        """Names of the thresholds, after the categories they separate."""
        c = self.categories
        return [f"{it}: {a}|{b}" for it in self.items for a, b in itertools.pairwise(c)]

    def coords(self) -> dict[str, list]:
        """ArviZ coordinates of the model's parameters (dimension name to labels)."""
        c = self.categories
        out = {
            "term": list(self.slope_names),
            "item": list(self.items),
            "threshold": [f"{a}|{b}" for a, b in itertools.pairwise(c)],
        }
        for g in self.groups:
            out[f"level_{g.name}"] = [str(v) for v in self.group_levels[g.name]]
        return out

    def _idata_layout(self):
        coords = self.coords()
        coords["respondent"] = [str(i) for i in self.data.index]
        coords["answer"] = [
            f"{self.data.index[r]}:{self.items[j]}"
            for r, j in zip(self.resp, self.item, strict=True)
        ]
        dims = {
            "coef": ["term"],
            "loading": ["item"],
            "cutpoints": ["item", "threshold"],
            "trait": ["respondent"],
            "y": ["answer"],
        }
        for g in self.groups:
            dims[f"re_{g.name}"] = [f"level_{g.name}"]
        return coords, dims

    # -- graph ----------------------------------------------------------------------------
    def cut_init(self) -> np.ndarray:
        """Starting values (J, C) of the sampled thresholds ``cutpoints_free``."""
        from ._graph import _raw_init

        C = self.n_categories - 1
        raw = _raw_init(C, self.priors["cutpoints"], self.link)
        out = np.tile(raw, (len(self.items), 1))
        for j, a in enumerate(self.cut_anchor):
            out[j, 0] = raw[0] + np.exp(raw[1 : a + 1]).sum()
        return out

    def build_model(self) -> Any:
        """Build the PyMC model (the reference graph the fast log density is checked against).

        Sampling coordinates, all with unit Jacobian or an exact density, so the posterior is
        that of the model above:

        * ``cutpoints_free[j]``: threshold ``cut_anchor[j]`` of item j (the one nearest the
          item's median answer) minus ``loading_j * sum_g mean(u_g)``, then the log gaps
          between consecutive thresholds. The trait has no intercept, so its overall level
          and the thresholds trade off; this lets the sampler move them together.
        * Groups in ``centred_groups``: ``w_g ~ N(0, sd_g^2)`` and ``u_g = Q w_g`` with the
          orthonormal Helmert basis ``Q`` (the overall level of the effects in one
          coordinate); other groups non-centred, ``u_g = sd_g z_g``. ``z_g = u_g / sd_g`` is
          recorded for every group.
        """
        pm = _backend.import_pymc()
        pt = _backend.import_pytensor_tensor()

        from . import _graph as gr

        J, C = len(self.items), self.n_categories - 1
        with pm.Model(coords=self.coords()) as model:
            mu = 0.0
            if self.slope_names:
                X = pm.Data("X", self.Xc)
                coef = gr.coef_vector("coef", [self.priors[n] for n in self.slope_names], "term")
                mu = (X * coef[None, :]).sum(axis=1)
            level = 0.0
            for g, centred in zip(self.groups, self.centred_groups, strict=True):
                dim = f"level_{g.name}"
                sd = gr.positive(f"sd_{g.name}", self.priors[f"sd_{g.name}"])
                if centred:
                    w = pm.Normal(f"w_{g.name}", 0.0, sd, dims=dim)
                    u = pt.dot(num.helmert(g.n_levels), w)
                    pm.Deterministic(f"z_{g.name}", u / sd, dims=dim)
                else:
                    u = sd * pm.Normal(f"z_{g.name}", 0.0, 1.0, dims=dim)
                codes = pm.Data(f"codes_{g.name}", g.codes.astype(np.int64))
                mu = mu + u[codes]
                level = level + u.mean()
            eps = pm.Normal("trait_raw", 0.0, 1.0, shape=self.nobs)
            zeta = mu + eps
            loading = gr.positive("loading", self.priors["loading"], dims="item")
            free = pm.Flat("cutpoints_free", shape=(J, C), initval=self.cut_init())
            # thresholds relative to threshold 0, then re-anchored and shifted
            steps = pt.concatenate([pt.zeros((J, 1)), pt.cumsum(pt.exp(free[:, 1:]), axis=1)], 1)
            rel = steps - steps[np.arange(J), self.cut_anchor][:, None]
            cut = free[:, :1] + rel + (loading * level)[:, None]
            pm.Deterministic("cutpoints_raw", pt.concatenate([cut[:, :1], free[:, 1:]], axis=1))
            prior = gr.cutpoint_prior_logp(cut, C, self.priors["cutpoints"], self.link)
            pm.Potential("cutpoints_prior", prior + free[:, 1:].sum())
            big = pt.full((J, 1), gr.BIG)
            ext = pt.concatenate([-big, cut, big], axis=1)
            resp = pm.Data("resp", self.resp.astype(np.int64))
            item = pm.Data("item", self.item.astype(np.int64))
            y = pm.Data("y", self.y.astype(np.int64))
            eta = loading[item] * zeta[resp]
            ll = gr.log_cdf_diff(ext[item, y + 1] - eta, ext[item, y] - eta, self.link)
            pm.Potential("loglik", ll.sum())
        return model

    def _compile(self, sampler: str = "pymc"):
        from . import _fastlogp

        if sampler == "nutpie" and _fastlogp.FastBattery.supports(self):
            if getattr(self, "_compiled_fast", None) is None:
                self._compiled_fast = _fastlogp.compile_fast_battery(self)
            return self._compiled_fast
        if self._compiled is None:
            from . import _backend

            self._compiled = _backend.compile_model(self.build_model())
        return self._compiled

    def derived(self, raw: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Derived quantities computed from the raw (unconstrained) posterior draws."""
        S = raw["loading"].shape[0]
        k = len(self.slope_names)
        coef = num.coef_from_raw(raw, [self.priors[n] for n in self.slope_names])
        shift = coef @ self.x_mean if k else np.zeros(S)
        out = {"coef": coef, "loading": raw["loading"]}
        # thresholds for x = 0 (sampled ones refer to centred covariates)
        out["cutpoints"] = (
            num.cut_from_raw(raw["cutpoints_raw"]) + (raw["loading"] * shift[:, None])[..., None]
        )
        mu_c = self.Xc @ coef.T if k else np.zeros((self.nobs, S))
        re: Any = 0.0
        for g in self.groups:
            out[f"sd_{g.name}"] = raw[f"sd_{g.name}"]
            out[f"re_{g.name}"] = raw[f"sd_{g.name}"][:, None] * raw[f"z_{g.name}"]
            re = re + out[f"re_{g.name}"][:, g.codes]
        out["trait"] = mu_c.T + shift[:, None] + re + raw["trait_raw"]
        return out

    def pointwise_loglik(self, post: Mapping[str, np.ndarray]) -> np.ndarray:
        """Pointwise log-likelihood per draw and observation (for LOO)."""
        out = np.empty((post["loading"].shape[0], len(self.y)))
        for j in range(len(self.items)):
            # item by item: its thresholds are shared by its answers (no (S, n, C) copy)
            rows = np.flatnonzero(self.item == j)
            eta = post["loading"][:, j, None] * post["trait"][:, self.resp[rows]]
            out[:, rows] = num.ordinal_loglik(
                post["cutpoints"][:, j, :], eta, self.y[rows], self.link
            )
        return out

    def param_draws(self, post: Mapping[str, np.ndarray]) -> pd.DataFrame:
        """Posterior draws of the reported parameters, one column per parameter."""
        cols: dict[str, np.ndarray] = {}
        names = self.threshold_names()
        flat = post["cutpoints"].reshape(post["cutpoints"].shape[0], -1)
        for j, n in enumerate(names):
            cols[n] = flat[:, j]
        for j, n in enumerate(self.slope_names):
            cols[n] = post["coef"][:, j]
        for j, it in enumerate(self.items):
            cols[f"loading[{it}]"] = post["loading"][:, j]
        return pd.DataFrame(cols)

    def item_probs(
        self, post: Mapping[str, np.ndarray], newdata: pd.DataFrame, rng: np.random.Generator
    ) -> np.ndarray:
        """Category probabilities (S, n, J, K) for new rows, integrating the residual trait."""
        X = self.fixed.transform(newdata)
        mu = post["coef"] @ X.T + new_group_effects(
            post, self.groups, self.group_levels, newdata, rng
        )
        zeta = mu + rng.standard_normal(mu.shape)
        out = np.empty((*zeta.shape, len(self.items), self.n_categories))
        for j in range(len(self.items)):
            out[:, :, j, :] = num.catprobs(
                post["cutpoints"][:, j, :], post["loading"][:, j, None] * zeta, self.link
            )
        return out

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
    ) -> BatteryResult:
        """Sample the posterior; see :meth:`civmodels.bayes.Ordinal.fit`."""
        check_fit_args(draws, tune, chains, sampler)  # before compiling: fail fast
        return sample_posterior(
            self,
            self._compile("pymc" if sampler == "nutpie-pytensor" else sampler),
            BatteryResult,
            draws=draws,
            tune=tune,
            chains=chains,
            sampler=sampler,
            random_seed=random_seed,
            cores=cores,
            target_accept=target_accept,
        )


class BatteryResult(MultiOutcomePostFit, BayesResult):
    """Fitted :class:`Battery`: per-item thresholds and loadings, covariate effects on the
    latent trait, group SDs; predictions and MRP per item.

    The post-fit API (``wald_test_terms``, ``wald_test``, ``predictions``, ``comparisons``,
    ``slopes``, ``predict(se=True)``) covers every item: the probability columns are
    ``"<item>: <category>"`` for every item and category, and ``item=`` keeps one item's
    (or a list of items'). Probabilities integrate the respondent's latent residual and,
    unless ``conditional=True``, the group effects. Wald tests cover the terms of the latent
    trait's regression; ``type="linear"`` predicts the latent trait's mean.
    """

    def _term_table(self) -> dict[str, list[str]]:
        return dict(self.model.fixed.term_columns())

    def _multi_model(self, conditional: bool, item: Any) -> Any:
        return battery_prediction_model(self, conditional, item)

    _monitor = ("cutpoints", "coef", "loading")

    def _param_draws(self) -> pd.DataFrame:
        return self.model.param_draws(self._post)

    @property
    def thresholds(self) -> pd.Series:
        """Posterior means of the item thresholds (``"<item>: a|b"``)."""
        return self.params[self.model.threshold_names()]

    @property
    def loadings(self) -> pd.Series:
        """Posterior means of the item loadings."""
        return self.params[[f"loading[{it}]" for it in self.model.items]]

    def summary(self, level: float = 0.95) -> Summary:
        """Posterior summary in the shared :class:`~civmodels.results.Summary` contract.

        Blocks ``Location`` (covariate effects on the latent trait, in respondent
        residual-SD units), ``Loadings``, ``Thresholds`` (``"<item>: a|b"``) and ``Random
        effects`` (``sd(<group>)`` with ``n_levels``) have the columns ``estimate``
        (posterior mean), ``std_error`` (posterior SD), ``ci_lower``, ``ci_upper`` (equal-tailed
        ``level`` interval) and the chain diagnostics; ``Items`` counts the answers and 'Ved
        ikke' per item (no estimates). ``stats["nobs"]`` is the number of respondents who
        answered at least one item; ``stats["outcome"]`` names the items.
        """
        m = self.model
        # the column names of the shared Summary contract (posterior mean and SD, limits)
        tab = self.to_frame(level).rename(columns=_SUMMARY_COLUMNS)
        items = pd.DataFrame({"answered": m.n_answered, "ved_ikke": m.dont_know}, index=m.items)
        blocks = {
            "Location": tab.loc[m.slope_names],
            "Loadings": tab.loc[[f"loading[{it}]" for it in m.items]],
            "Thresholds": tab.loc[m.threshold_names()],
            "Random effects": self._sd_table(
                [(f"sd({g.name})", self._post[f"sd_{g.name}"], g.n_levels) for g in m.groups],
                level,
            ),
            "Items": items,
        }
        dg = self.diagnostics
        info = {
            "Items": len(m.items),
            "Respondents": m.nobs,
            "Answers used": len(m.y),
            "Respondents dropped": m.n_dropped,
            "Sampler": f"{self.sampler}, {self._shape[0]} chains x {self._shape[1]} draws",
            "Max R-hat": dg.max_rhat,
            "Divergences": dg.n_divergent,
        }
        notes = (
            f"Posterior means and SDs; {level:.0%} equal-tailed credible intervals.",
            "Latent trait in units of the respondent residual SD; 'Ved ikke' and unanswered "
            "items are missing (likelihood over answered items only).",
            *dg.problems(),
        )
        return Summary(
            title=f"Bayesian battery model ({m.link})",
            info=info,
            blocks=blocks,
            notes=notes,
            stats=self._summary_stats(level, outcome=_items_label(m.items)),
        )

    def predict(
        self,
        newdata: pd.DataFrame | None = None,
        kind: str = "prob",
        *,
        item: str | Sequence[str] | None = None,
        random_seed: Any = None,
        se: bool = False,
        interval: str | None = None,
        level: float = 0.95,
    ) -> pd.DataFrame:
        """Posterior-mean category probabilities for rows, integrating over the respondent
        residual.

        Parameters
        ----------
        newdata : pandas.DataFrame, optional
            Rows to predict (not modified); the fit's respondents when omitted. Group levels
            absent from the fit are drawn from the fitted group distribution.
        kind : {"prob", "linear"}
            Category probabilities, or (with ``se=True`` only) the latent trait's mean.
        item : str or list of str, optional
            One item: its categories as columns. None (default): every item, columns
            ``"<item>: <category>"`` (a list: those items).
        random_seed : int, optional
            Without ``se``: the residual and unseen-level draws (one per posterior draw).
        se : bool, default False
            Long table (index ``(rowid, outcome)``, outcome ``"<item>: <category>"``) with
            the posterior median ``estimate`` and posterior SD ``std_error``; the residual
            and unseen levels are integrated over by quadrature, seen levels use their
            effects.
        interval : {"confidence"}, optional
            With the table, also the equal-tailed ``level`` credible interval.
        level : float, default 0.95

        Returns
        -------
        pandas.DataFrame
        """
        m = self.model
        if item is not None:
            for it in [item] if isinstance(item, str) else list(item):
                self._item_index(it)
        if se or interval is not None:
            return self._predict_interval(
                newdata, kind, level, interval, conditional=True, item=item
            )
        if kind != "prob":
            raise ValueError(
                f"kind={kind!r}: Battery.predict gives kind='prob' (kind='linear' with se=True)"
            )
        rng = np.random.default_rng(random_seed)
        data = m.data if newdata is None else newdata
        check_dataframe(data, "newdata")
        probs = m.item_probs(self._post, data, rng).mean(0)  # (n, J, K)
        if isinstance(item, str):
            return pd.DataFrame(
                probs[:, self._item_index(item), :], index=data.index, columns=m.categories
            )
        items = list(m.items) if item is None else list(dict.fromkeys(item))
        cols = {
            f"{it}: {c}": probs[:, m.items.index(it), k]
            for it in items
            for k, c in enumerate(m.categories)
        }
        return pd.DataFrame(cols, index=data.index)

    def _item_index(self, item) -> int:
        if item is None or item not in self.model.items:
            raise ValueError(f"item must be one of {self.model.items}, got {item!r}")
        return self.model.items.index(item)

    def poststratify(
        self,
        frame,
        by=None,
        *,
        item=None,
        weights=None,
        categories=None,
        level=0.95,
        random_seed=None,
    ):
        """MRP for one item (``item=``), or a dict item -> Poststratified for all items.

        Arguments and result as :meth:`BayesResult.poststratify`.
        """
        m = self.model
        check_dataframe(frame, "frame")
        by_list = [by] if isinstance(by, str) else list(by or [])
        check_columns(frame, by_list, what="the poststratification 'by'")
        rng = np.random.default_rng(random_seed)
        probs = m.item_probs(self._post, frame, rng)
        items = list(m.items) if item is None else [m.items[self._item_index(item)]]
        out = {
            it: mrp_from_probs(
                probs[:, :, m.items.index(it), :],
                m.categories,
                frame,
                by_list,
                weights,
                categories,
                level,
            )
            for it in items
        }
        return out[items[0]] if item is not None else out

    def ppc_plot(
        self,
        by: str | None = None,
        *,
        n_rep: int = 200,
        level: float = 0.9,
        random_seed: Any = None,
        ax: Any = None,
    ) -> Any:
        """Observed vs replicated category shares per item (answered pairs only).

        ``by`` must be None: the panels are the items.
        """
        if by is not None:
            raise ValueError("Battery.ppc_plot groups by item; 'by' is not supported")
        m = self.model
        rng = np.random.default_rng(random_seed)
        S = self._post["loading"].shape[0]
        take = rng.choice(S, size=min(n_rep, S), replace=False)
        eta = self._post["loading"][take][:, m.item] * self._post["trait"][take][:, m.resp]
        cut = self._post["cutpoints"][take][:, m.item, :]
        full = np.concatenate(
            [
                np.zeros((*eta.shape, 1)),
                m_cdf(cut - eta[..., None], m.link),
                np.ones((*eta.shape, 1)),
            ],
            axis=-1,
        )
        u = rng.random(eta.shape)[..., None]
        yrep = (full[..., 1:] < u).sum(-1).clip(0, m.n_categories - 1)
        return ppc_figure(m.y, yrep, m.item, list(m.items), m.categories, level, ax)


def m_cdf(x, link):
    from .._links import get_link

    return get_link(link).cdf(x)
