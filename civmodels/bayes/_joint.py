"""Shared-parameter selection model: unit response and an ordinal outcome over the full frame."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from .._links import LINKS
from .._validation import check_columns, check_dataframe, drop_incomplete
from ..exceptions import DataError, SpecificationError
from ..formula import FixedDesign, _ordinal_codes, parse_formula, refuse_interaction_groups
from ..results import Summary
from . import _backend
from . import _numeric as num
from ._graph import GroupSpec
from ._models import (
    INTERCEPT_SCALE,
    check_fit_args,
    default_coef_prior,
    new_group_effects,
    sample_posterior,
)
from ._multi import MultiOutcomePostFit, joint_prediction_model
from ._priors import Prior, check_cutpoint_prior, resolve_priors
from ._results import _SUMMARY_COLUMNS, BayesResult, _interval

__all__ = ["JointResponse"]


class JointResponse:
    r"""Joint model of unit response and an ordinal outcome (MNAR at municipality level).

    Over every position ``i`` of the frame (respondents and nonrespondents), in municipality
    ``m[i]``:

    .. math::

        P(Y_i \le k) &= F(\theta_k - x_i'\beta - u_{m[i]} - \dots), \quad
            u_m = \sigma_u z_m \\
        \operatorname{logit} P(R_i = 1) &= \alpha + w_i'\gamma + \lambda\, u_{m[i]} + v_{m[i]},
            \quad v_m = \sigma_v z^{(r)}_m

    The outcome enters the likelihood only for respondents; the response indicator for all
    positions. The loading :math:`\lambda` ties response to the *outcome's* municipality
    effect: :math:`\lambda > 0` means municipalities whose departments lean towards the higher
    categories also answer more often, so respondent-only estimates (and plain MRP, which
    assumes response ignorable given covariates) are biased upwards. :math:`\lambda = 0`
    recovers MRP. :math:`v_m` absorbs municipality response differences unrelated to the
    outcome. Identification of :math:`\lambda` rests on the model's assumptions (normal
    municipality effects, the covariates entering as specified); report it as a sensitivity
    analysis, not as a test of MNAR.

    Default priors: outcome part as :class:`Ordinal`; ``"response_Intercept"`` Normal(0, 2.5);
    response coefficients ``"response: <name>"`` Normal(0, 1 / sd); ``"lambda"`` Normal(0, 1);
    ``"sd_response"`` HalfNormal(1).

    Parameters
    ----------
    formula : str
        Outcome formula with the shared random term, e.g.
        ``"y ~ size + pressure + (1 | municipality)"``.
    response_formula : str
        Fixed part of the response model, e.g. ``"~ size + pressure + region"``.
    data : pandas.DataFrame
        The full frame: one row per position, the outcome missing for nonrespondents.
    response : str
        Boolean column: did the position respond.
    shared : str, optional
        Grouping factor whose effect is shared (default: the first random term).
    priors : dict, optional
    link : str, default "logit"
    """

    _outcome = "ordinal"

    def __init__(
        self,
        formula: str,
        response_formula: str,
        data: pd.DataFrame,
        *,
        response: str = "responded",
        shared: str | None = None,
        priors: Mapping[str, Any] | None = None,
        link: str = "logit",
    ) -> None:
        check_dataframe(data)
        if link not in LINKS:
            raise SpecificationError(f"link must be one of {sorted(LINKS)}, got {link!r}")
        self.link, self.formula = link, formula
        parsed = parse_formula(formula)
        rparsed = parse_formula(response_formula, require_outcome=False)
        if rparsed.random:
            raise SpecificationError(
                "response_formula takes fixed terms only; the shared municipality effect and "
                "a response-only municipality effect are added automatically"
            )
        if not parsed.random:
            raise SpecificationError(
                f"formula {formula!r} needs a random term such as (1 | municipality) to share"
            )
        if parsed.outcome is None:  # parse_formula guarantees one; keeps the type checker informed
            raise SpecificationError(f"formula {formula!r} has no outcome")
        outcome: str = parsed.outcome
        self.shared = shared or parsed.random[0].group
        if self.shared not in {t.group for t in parsed.random}:
            raise SpecificationError(
                f"shared={self.shared!r} is not a random term of the formula "
                f"({[str(t) for t in parsed.random]})"
            )
        check_columns(data, [response], what="the response indicator")
        preds = [c for c in parsed.variables() if c != parsed.outcome]
        preds += [c for c in rparsed.variables() if c not in preds]
        check_columns(data, [outcome, *preds])
        kept, self.missing = drop_incomplete(data, [*preds, response])
        r = kept[response]
        if not (pd.api.types.is_bool_dtype(r) or set(pd.unique(r)) <= {0, 1}):
            raise DataError(f"response column {response!r} must be boolean or 0/1")
        self.data_all = kept
        self.r = r.astype(bool).to_numpy()
        yraw = kept[outcome]
        has_y = self.r & yraw.notna().to_numpy()
        self.n_item_missing = int((self.r & ~has_y).sum())
        if (~self.r & yraw.notna().to_numpy()).any():
            raise DataError(
                f"{int((~self.r & yraw.notna().to_numpy()).sum())} rows have an outcome but "
                f"{response!r} is False; fix the response indicator"
            )
        self.obs_rows = np.flatnonzero(has_y)
        y, cats = _ordinal_codes(yraw.iloc[self.obs_rows], outcome)
        self.y, self.categories = y, list(cats)
        self.fixed = FixedDesign(parsed.fixed, kept, intercept=False)
        self.rfixed = FixedDesign(rparsed.fixed, kept, intercept=True)
        X = self.fixed.X
        self.x_mean = X.mean(0) if X.shape[1] else np.zeros(0)
        self.Xc = X - self.x_mean
        self.slope_names = list(self.fixed.names)
        ri = [i for i, n in enumerate(self.rfixed.names) if n != "Intercept"]
        self._r_idx = ri
        W = self.rfixed.X[:, ri]
        self.w_mean = W.mean(0) if W.shape[1] else np.zeros(0)
        self.Wc = W - self.w_mean
        self.r_names = [self.rfixed.names[i] for i in ri]
        self.groups, self.group_levels = [], {}
        refuse_interaction_groups(parsed.random, "the Bayesian joint model")
        for t in parsed.random:
            if not t.is_intercept:
                raise SpecificationError(f"only random intercepts are supported, got {t}")
            codes, levels = pd.factorize(kept[t.group], sort=True)
            self.groups.append(GroupSpec(t.group, codes.astype(np.int64), len(levels)))
            self.group_levels[t.group] = pd.Index(levels)
        self.outcome_name, self.response_name = outcome, response
        self.parsed, self.rparsed = parsed, rparsed
        # the contract pieces BayesResult reads
        self.frame = SimpleNamespace(data=kept.iloc[self.obs_rows], missing=self.missing)
        defaults: dict[str, Prior] = {"cutpoints": Prior("dirichlet", alpha=1.0)}
        kinds = {"cutpoints": "cutpoints"}
        for j, n in enumerate(self.slope_names):
            defaults[n], kinds[n] = default_coef_prior(self.Xc[:, j]), "real"
        for g in self.groups:
            defaults[f"sd_{g.name}"], kinds[f"sd_{g.name}"] = Prior("halfnormal"), "positive"
        defaults["response_Intercept"] = Prior("normal", sigma=INTERCEPT_SCALE)
        kinds["response_Intercept"] = "real"
        for j, n in enumerate(self.r_names):
            defaults[f"response: {n}"] = default_coef_prior(self.Wc[:, j])
            kinds[f"response: {n}"] = "real"
        defaults["lambda"], kinds["lambda"] = Prior("normal", sigma=1.0), "real"
        defaults["sd_response"], kinds["sd_response"] = Prior("halfnormal"), "positive"
        aliases = {
            "coef": list(self.slope_names),
            "sd": [f"sd_{g.name}" for g in self.groups] + ["sd_response"],
        }
        self.priors = resolve_priors(defaults, priors, kinds=kinds, aliases=aliases)
        check_cutpoint_prior(self.priors["cutpoints"], len(self.categories))
        self._compiled: Any = None

    @property
    def nobs(self) -> int:
        """Positions in the frame (respondents and nonrespondents)."""
        return len(self.r)

    @property
    def n_dropped(self) -> int:
        return int(self.missing.n_dropped)

    @property
    def n_categories(self) -> int:
        return len(self.categories)

    @property
    def has_intercept(self) -> bool:
        return False

    def threshold_names(self) -> list[str]:
        """Names of the thresholds, after the categories they separate."""
        c = [str(x) for x in self.categories]
        return [f"{a}|{b}" for a, b in itertools.pairwise(c)]

    def coords(self) -> dict[str, list]:
        """ArviZ coordinates of the model's parameters (dimension name to labels)."""
        out = {
            "term": list(self.slope_names),
            "threshold": self.threshold_names(),
            "response_term": list(self.r_names),
        }
        for g in self.groups:
            out[f"level_{g.name}"] = [str(v) for v in self.group_levels[g.name]]
        return out

    def _idata_layout(self):
        coords = self.coords()
        coords["obs"] = [str(i) for i in self.frame.data.index]
        dims = {
            "coef": ["term"],
            "cutpoints": ["threshold"],
            "y": ["obs"],
            "response_coef": ["response_term"],
            "re_response": [f"level_{self.shared}"],
        }
        for g in self.groups:
            dims[f"re_{g.name}"] = [f"level_{g.name}"]
        return coords, dims

    def build_model(self) -> Any:
        """Build the PyMC model (the reference graph the fast log density is checked against)."""
        pm = _backend.import_pymc()
        pt = _backend.import_pytensor_tensor()

        from . import _graph as gr

        with pm.Model(coords=self.coords()) as model:
            eta: Any = 0.0
            if self.slope_names:
                X = pm.Data("X", self.Xc)
                coef = gr.coef_vector("coef", [self.priors[n] for n in self.slope_names], "term")
                eta = (X * coef[None, :]).sum(axis=1)
            sg = next(g for g in self.groups if g.name == self.shared)
            shared_u = None
            for g in self.groups:
                sd = gr.positive(f"sd_{g.name}", self.priors[f"sd_{g.name}"])
                z = pm.Normal(f"z_{g.name}", 0.0, 1.0, dims=f"level_{g.name}")
                codes = pm.Data(f"codes_{g.name}", g.codes)
                eta = eta + (sd * z)[codes]
                if g.name == self.shared:
                    shared_u = sd * z
            cut = gr.cutpoints(
                "cutpoints",
                self.n_categories - 1,
                self.priors["cutpoints"],
                self.link,
                dims="threshold",
            )
            obs = pm.Data("obs_rows", self.obs_rows.astype(np.int64))
            y = pm.Data("y", self.y.astype(np.int64))
            ext = pt.concatenate([pt.as_tensor([-gr.BIG]), cut, pt.as_tensor([gr.BIG])])
            e = eta[obs]
            ll_y = gr.log_cdf_diff(ext[y + 1] - e, ext[y] - e, self.link)
            # response part
            a = gr.real("response_Intercept_c", self.priors["response_Intercept"])
            r_eta = a
            if self.r_names:
                W = pm.Data("W", self.Wc)
                g_ = gr.coef_vector(
                    "rcoef",
                    [self.priors[f"response: {n}"] for n in self.r_names],
                    "response_term",
                )
                r_eta = r_eta + (W * g_[None, :]).sum(axis=1)
            lam = gr.real("lambda", self.priors["lambda"])
            sd_v = gr.positive("sd_response", self.priors["sd_response"])
            zv = pm.Normal("z_response", 0.0, 1.0, dims=f"level_{self.shared}")
            scodes = pm.Data("codes_shared", sg.codes)
            r_eta = r_eta + (lam * shared_u + sd_v * zv)[scodes]
            r = pm.Data("r", self.r.astype(np.float64))
            ll_r = -pm.math.log1pexp(-(2.0 * r - 1.0) * r_eta)
            pm.Potential("loglik", ll_y.sum() + ll_r.sum())
        return model

    def _compile(self, sampler: str = "pymc"):
        from . import _fastlogp

        if sampler == "nutpie" and _fastlogp.FastJoint.supports(self):
            if getattr(self, "_compiled_fast", None) is None:
                self._compiled_fast = _fastlogp.compile_fast_joint(self)
            return self._compiled_fast
        if self._compiled is None:
            from . import _backend

            self._compiled = _backend.compile_model(self.build_model())
        return self._compiled

    def _vec(self, raw, prefix, names, slot) -> np.ndarray:
        return num.coef_from_raw(raw, [self.priors[slot(n)] for n in names], prefix)

    def derived(self, raw: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Derived quantities computed from the raw (unconstrained) posterior draws."""
        coef = self._vec(raw, "coef", self.slope_names, lambda n: n)
        rcoef = self._vec(raw, "rcoef", self.r_names, lambda n: f"response: {n}")
        shift = coef @ self.x_mean if coef.shape[1] else 0.0
        rshift = rcoef @ self.w_mean if rcoef.shape[1] else 0.0
        out = {
            "cutpoints": num.cut_from_raw(raw["cutpoints_raw"]) + np.reshape(shift, (-1, 1)),
            "coef": coef,
            "response_Intercept": raw["response_Intercept_c"] - rshift,
            "response_coef": rcoef,
            "lambda": raw["lambda"],
            "sd_response": raw["sd_response"],
            "re_response": raw["sd_response"][:, None] * raw["z_response"],
        }
        for g in self.groups:
            out[f"sd_{g.name}"] = raw[f"sd_{g.name}"]
            out[f"re_{g.name}"] = raw[f"sd_{g.name}"][:, None] * raw[f"z_{g.name}"]
        return out

    def _eta_all(self, post) -> np.ndarray:
        eta = post["coef"] @ self.fixed.X.T
        for g in self.groups:
            eta = eta + post[f"re_{g.name}"][:, g.codes]
        return eta

    def linear_predictor(self, post) -> np.ndarray:
        """Linear predictor per draw and fitted row."""
        return self._eta_all(post)[:, self.obs_rows]

    def linear_predictor_new(self, post, newdata: pd.DataFrame, rng) -> np.ndarray:
        """Linear predictor per draw for the rows of ``newdata`` (new groups from the prior)."""
        X = self.fixed.transform(newdata)
        return post["coef"] @ X.T + new_group_effects(
            post, self.groups, self.group_levels, newdata, rng
        )

    def pointwise_loglik(self, post) -> np.ndarray:
        """Pointwise log-likelihood per draw and observation (for LOO)."""
        return num.ordinal_loglik(post["cutpoints"], self.linear_predictor(post), self.y, self.link)

    def _simulate_y(self, post, rng):
        eta = self.linear_predictor(post)
        probs = num.catprobs(post["cutpoints"], eta, self.link)
        u = rng.random(eta.shape)[..., None]
        return (np.cumsum(probs, axis=-1) < u).sum(axis=-1).clip(0, self.n_categories - 1)

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
    ) -> JointResult:
        """Sample the posterior; see :meth:`civmodels.bayes.Ordinal.fit`."""
        check_fit_args(draws, tune, chains, sampler)  # before compiling: fail fast
        return sample_posterior(
            self,
            self._compile("pymc" if sampler == "nutpie-pytensor" else sampler),
            JointResult,
            draws=draws,
            tune=tune,
            chains=chains,
            sampler=sampler,
            random_seed=random_seed,
            cores=cores,
            target_accept=target_accept,
        )


class JointResult(MultiOutcomePostFit, BayesResult):
    """Fitted :class:`JointResponse`; ``lambda_`` is the response-outcome loading.

    The post-fit API (``wald_test_terms``, ``wald_test``, ``predictions``, ``comparisons``,
    ``slopes``, ``predict(se=True)``) covers both outcomes: the probability columns are
    ``"<outcome>: <category>"`` for the ordinal outcome and ``"<response>: True"`` for the
    probability of responding; ``item=`` keeps one of the two. Averages run over every
    position of the frame by default. Wald tests cover the outcome model's terms and the
    response model's (``"response: <term>"``).
    """

    def _term_table(self) -> dict[str, list[str]]:
        m = self.model
        table = dict(m.fixed.term_columns())
        for t, cols in m.rfixed.term_columns().items():
            table[f"response: {t}"] = [f"response: {c}" for c in cols]
        return table

    def _multi_model(self, conditional: bool, item: Any) -> Any:
        return joint_prediction_model(self, conditional, item)

    def predict(
        self,
        newdata: pd.DataFrame | None = None,
        kind: str = "prob",
        *,
        item: str | None = None,
        random_seed: Any = None,
        se: bool = False,
        interval: str | None = None,
        level: float = 0.95,
    ) -> pd.DataFrame | pd.Series:
        """Posterior-mean predictions of the outcome (default) or of responding.

        Parameters
        ----------
        newdata : pandas.DataFrame, optional
            Rows to predict (not modified); the respondents with the outcome when omitted.
        kind : {"prob", "cumprob", "linear"}
            As :meth:`civmodels.bayes.BayesResult.predict`.
        item : str, optional
            The outcome's name (default) or the response indicator's name (``kind="prob"``:
            ``P(respond)``, one column ``"<response>: True"``; ``kind="linear"``: the response
            model's linear predictor).
        random_seed : int, optional
            For the draws of unseen group levels (the outcome's ``kind="prob"`` without
            ``se``).
        se : bool, default False
            Long table with the posterior median ``estimate`` and posterior SD
            ``std_error`` of each row's prediction, outcome ``"<item>: <category>"`` (levels
            seen in the fit use their effects, unseen ones are integrated over).
        interval : {"confidence"}, optional
            With the table, also the equal-tailed ``level`` credible interval.
        level : float, default 0.95

        Returns
        -------
        pandas.DataFrame or pandas.Series
        """
        m = self.model
        item = m.outcome_name if item is None else item
        if item not in (m.outcome_name, m.response_name):
            raise SpecificationError(
                f"item={item!r}: choose the outcome {m.outcome_name!r} or the response "
                f"indicator {m.response_name!r}"
            )
        if se or interval is not None:
            rows = m.frame.data if newdata is None else newdata  # the rows predict() uses
            return self._predict_interval(rows, kind, level, interval, conditional=True, item=item)
        if item == m.outcome_name:
            return super().predict(newdata, kind, random_seed=random_seed)
        data = m.frame.data if newdata is None else newdata
        check_dataframe(data, "newdata")
        if kind == "prob":
            p = self._posterior_mean_probs(data, item)[:, 0]
            return pd.Series(p, index=data.index, name=f"{m.response_name}: True")
        if kind == "linear":
            pm = self._multi_model(True, item)
            d = pm.prepare(data)
            eta = np.mean([pm.linear(t, d) for t in pm.uncertainty.draws], axis=0)
            return pd.Series(eta, index=data.index, name="linear")
        raise ValueError(f"kind must be 'prob' or 'linear' for the response, got {kind!r}")

    def _param_draws(self) -> pd.DataFrame:
        d = super()._param_draws()
        m = self.model
        d["response: Intercept"] = self._post["response_Intercept"]
        for j, n in enumerate(m.r_names):
            d[f"response: {n}"] = self._post["response_coef"][:, j]
        d["lambda"] = self._post["lambda"]
        return d

    @property
    def lambda_(self) -> pd.Series:
        """Posterior mean, SD, 90% interval and P(lambda > 0) of the loading."""
        d = self._post["lambda"]
        lo, hi = _interval(d, 0.9)
        return pd.Series(
            {
                "mean": d.mean(),
                "sd": d.std(ddof=1),
                "lower": lo,
                "upper": hi,
                "prob_positive": (d > 0).mean(),
            },
            name="lambda",
        )

    def summary(self, level: float = 0.95) -> Summary:
        """Posterior summary in the shared :class:`~civmodels.results.Summary` contract.

        The outcome model's blocks (``Thresholds``, ``Location``), then ``Response model``
        (``response: Intercept``, ``response: <term>`` and ``lambda``, the loading of the
        shared effect in the outcome model), and ``Random effects`` with the outcome model's
        group SDs and ``sd(response)``; every block has the columns ``estimate``, ``std_error``
        (posterior SD), ``ci_lower``, ``ci_upper``. ``stats["nobs"]`` counts the positions of
        the frame (respondents and nonrespondents: each enters the likelihood through its
        response indicator), as :attr:`nobs` does; ``info`` also gives the respondents with
        the outcome.
        """
        base = super().summary(level)
        tab = self.to_frame(level).rename(columns=_SUMMARY_COLUMNS)
        m = self.model
        rnames = ["response: Intercept", *[f"response: {n}" for n in m.r_names], "lambda"]
        blocks = {
            k: (v.drop(index=[r for r in rnames if r in v.index]) if k == "Coefficients" else v)
            for k, v in base.blocks.items()
        }
        blocks["Response model"] = tab.loc[rnames]
        re = blocks.pop("Random effects", None)
        extra = self._sd_table(
            [("sd(response)", self._post["sd_response"], len(m.group_levels[m.shared]))], level
        )
        blocks["Random effects"] = extra if re is None else pd.concat([re, extra])
        info = dict(base.info)
        info["Positions (frame)"] = m.nobs
        info["Respondents with outcome"] = len(m.y)
        info["Respondents without outcome"] = m.n_item_missing
        notes = (
            *base.notes,
            f"N counts the {m.nobs} positions of the frame (respondents and nonrespondents); "
            f"{len(m.y)} respondents have the outcome.",
        )
        return Summary(
            title="Joint response-outcome model (shared municipality effect)",
            info=info,
            blocks=blocks,
            notes=notes,
            stats=dict(base.stats),
        )

    def poststratify(self, frame=None, by=None, **kwargs):
        """MRP over the model's own frame by default (every position, respondents or not)."""
        return super().poststratify(self.model.data_all if frame is None else frame, by, **kwargs)
