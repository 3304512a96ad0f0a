r"""A calibrated generative model of the survey (the real microdata are not public).

The model, for position :math:`i` (a department head of area :math:`a` in municipality
:math:`m`) and item :math:`k` on latent dimension :math:`d = d(k)` (``engagement`` for the
chapter 3-5 questions, ``motivations``, ``realised_value`` or ``barriers`` for the chapter 6
batteries):

.. math::

    \eta_{ik} = x_m^\top \beta_k + \alpha_{k,a} + \lambda_k (u_{md} + \theta_{id}),
    \qquad u_{md} \sim N(0, \sigma^2_{u,d}),\ \theta_{id} \sim N(0, \sigma^2_{\theta,d})

* ordinal, binary, multiple-choice and nominal items (the latter through a latent order given
  in the calibration): :math:`P(Y_{ik} \le j) = F(\kappa_{kj} - \eta_{ik})` with the logistic
  :math:`F` — the cumulative-logit convention of R ``ordinal`` and ``MASS::polr``;
* the count item: negative binomial with mean :math:`\exp(\mu_k + \eta_{ik})` and size
  :math:`r`;
* unit response: :math:`\mathrm{logit}\,P(R_i = 1) = \rho_0 + \gamma_a + x_m^\top\gamma +
  v_m + \sum_d \delta_d\, u_{md}/\sigma_{u,d}`, :math:`v_m \sim N(0, \sigma_v^2)`; the
  :math:`\delta_d` are the ``mnar`` coefficients (0 = missing at random given area and
  municipality covariates);
* among respondents: breakoff after questionnaire section 1, 2 or 3; 'Ved ikke' and item
  skips at fixed rates, independent of the answer.

The thresholds :math:`\kappa_k` (and the count intercept :math:`\mu_k`, the response
intercept :math:`\rho_0`) are solved so that the expected distribution among respondents
matches the calibration targets (``data/calibration.yaml``) — integrating the normal random
parts exactly by Gauss-Hermite quadrature over the actual frame. Overriding an effect with
``effects=`` re-solves that item's thresholds, so the item keeps the report's marginal
distribution and the effect is a conditional log odds ratio.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from ..exceptions import DataError
from .calibration import COVARIATE_TERMS, DIMENSIONS, Calibration, load_calibration
from .codebook import AREAS, Question, load_codebook
from .frame import COVARIATES, REGIONS, _positions

__all__ = ["BUNDLED_SEED", "SimulatedSurvey", "SurveyTruth", "simulate_survey"]

#: Seed of the bundled synthetic survey (October 2015, the fieldwork month).
BUNDLED_SEED = 20151001

_GH_X, _GH_W = np.polynomial.hermite_e.hermegauss(32)
_GH_W = _GH_W / _GH_W.sum()


# ------------------------------------------------------------------------------------------
# Result objects
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SurveyTruth:
    """The true parameters of one simulated survey.

    Parametrisation: the item's linear predictor uses the *uncentred* covariates
    (``COVARIATE_TERMS``: ``log_population``, ``pressure_high``, ``spending_pressure``,
    ``bloc[T.blue]``, ``region[T.<region>]``) and area effects relative to the first area
    (``sundhed_forebyggelse`` = 0), so a fit of
    ``item ~ log_population + pressure_high + area + ... + (1 | municipality)`` estimates
    ``thresholds``, ``coefficients`` and ``municipality_sd * loading`` directly — provided
    ``respondent_sd`` is 0 (the respondent trait is otherwise an omitted individual-level
    effect that attenuates item-level estimates).

    Attributes
    ----------
    coefficients : pandas.DataFrame
        Items x covariate terms: :math:`\\beta_k` (logit scale; log-mean scale for counts).
    area_effects : pandas.DataFrame
        Items x areas: :math:`\\alpha_{k,a}`, first area 0.
    thresholds : dict of str to pandas.Series
        Per categorical item, :math:`\\kappa_{kj}` named ``"lower|upper"`` after the Danish
        labels they separate (latent order for nominal items; for yes/no items
        ``"Nej|Ja"``, and the intercept of a logistic model is minus that threshold).
    count : dict of str to dict
        Per count item: ``intercept`` :math:`\\mu_k` and negative-binomial ``dispersion``.
    loadings : pandas.Series
        :math:`\\lambda_k` per item.
    dimension : pandas.Series
        Latent dimension of each item.
    latent_order : dict of str to list of str
        For nominal items, the category codes from lowest to highest latent value.
    municipality_sd, respondent_sd : pandas.Series
        :math:`\\sigma_{u,d}` and :math:`\\sigma_{\\theta,d}` per dimension.
    municipality_effects : pandas.DataFrame
        Municipality code x dimension: the drawn random parts :math:`u_{md}`.
    response : dict
        ``intercept`` :math:`\\rho_0`; ``area_log_odds`` (Series, :math:`\\gamma_a`);
        ``coefficients`` (Series over covariate terms); ``municipality_sd``
        :math:`\\sigma_v`; ``municipality_effects`` (Series of drawn :math:`v_m`); ``mnar``
        (Series :math:`\\delta_d`); ``probability`` (Series over ``position_id``: the
        response probability given all random parts); ``rate`` (target, fraction).
    """

    coefficients: pd.DataFrame
    area_effects: pd.DataFrame
    thresholds: dict[str, pd.Series]
    count: dict[str, dict[str, float]]
    loadings: pd.Series
    dimension: pd.Series
    latent_order: dict[str, list[str]]
    municipality_sd: pd.Series
    respondent_sd: pd.Series
    municipality_effects: pd.DataFrame
    response: dict[str, Any]


@dataclass(frozen=True)
class SimulatedSurvey:
    """One simulated survey.

    Attributes
    ----------
    data : pandas.DataFrame
        The respondents, with the structure of :func:`~civmodels.data.load_survey`.
    population : pandas.DataFrame
        All 838 positions with the answer every head *would* give (no breakoff, skips or
        'Ved ikke'), the covariates and ``responded`` (int 0/1) — for true population
        values in nonresponse studies.
    truth : SurveyTruth
        The true parameters, including the drawn random effects.
    random_seed : object
        The seed the survey was drawn with.
    calibration : Calibration
        The calibration used.
    """

    data: pd.DataFrame
    random_seed: Any
    calibration: Calibration = field(repr=False)
    _draw: _Drawn = field(repr=False, compare=False)

    @property
    def n_respondents(self) -> int:
        """Number of responding heads."""
        return len(self.data)

    # population and truth are built on first access: simulation studies that only analyse
    # .data then pay for the draws and the respondents' frame alone
    @cached_property
    def population(self) -> pd.DataFrame:
        """All positions with full answers and ``responded`` (built on first access)."""
        return self._draw.population()

    @cached_property
    def truth(self) -> SurveyTruth:
        """The true parameters and drawn random effects (built on first access)."""
        return _truth(self._draw.model, self._draw.u, self._draw.v, self._draw.p_resp)


# ------------------------------------------------------------------------------------------
# Model set-up (cached): covariates, solved thresholds
# ------------------------------------------------------------------------------------------
@dataclass
class _Item:
    q: Question
    kind: str  # "cat" or "count"
    dim: int
    loading: float
    beta: np.ndarray
    alpha: np.ndarray
    kappa: np.ndarray  # thresholds (cat) or [intercept] (count)
    perm: np.ndarray  # latent category -> codebook category index
    dispersion: float
    dk: float
    order: list[str]
    dtype: pd.CategoricalDtype | None = None


@dataclass
class _Model:
    positions: pd.DataFrame
    mi: np.ndarray
    ai: np.ndarray
    codes: np.ndarray
    X: np.ndarray
    items: list[_Item]
    sd_u: np.ndarray
    sd_theta: np.ndarray
    rho0: float
    resp_area: np.ndarray
    resp_gamma: np.ndarray
    sd_v: float
    mnar: np.ndarray
    breakoff: np.ndarray
    skip: float
    rate: float


_CACHE: dict[tuple[Any, ...], _Model] = {}
#: Area contrasts an ``effects`` override may set (treatment coding, first area reference).
_AREA_TERMS: tuple[str, ...] = tuple(f"area[T.{a}]" for a in AREAS[1:])
_CACHE_SIZE = 32


def _design(positions: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Municipality index, area index, municipality codes and covariate matrix."""
    codes, mi = np.unique(positions["municipality_code"].to_numpy(), return_inverse=True)
    area = pd.Categorical(positions["area"].astype(str), categories=list(AREAS))
    if area.isna().any():
        bad = sorted(set(positions["area"].astype(str)) - set(AREAS))
        raise DataError(f"frame column 'area' has codes not in the codebook: {bad}")
    ai = np.asarray(area.codes, dtype=np.intp)
    first = positions.iloc[np.unique(mi, return_index=True)[1]]
    region = first["region"].astype(str).to_numpy()
    bloc = first["bloc"].astype(str).to_numpy()
    cols = {
        "log_population": first["log_population"].to_numpy(float),
        "pressure_high": first["pressure_high"].to_numpy(float),
        "spending_pressure": first["spending_pressure"].to_numpy(float),
        "bloc[T.blue]": (bloc == "blue").astype(float),
    }
    for r in REGIONS[1:]:
        cols[f"region[T.{r}]"] = (region == r).astype(float)
    X = np.column_stack([cols[t] for t in COVARIATE_TERMS])
    return mi, ai, codes, X


def _solve_thresholds(eta: np.ndarray, w: np.ndarray, sd: float, cum: np.ndarray) -> np.ndarray:
    """Thresholds kappa_j with sum_i w_i E[F(kappa_j - eta_i - sd Z)] = cum_j (Newton)."""
    cum = np.clip(cum, 1e-9, 1 - 1e-9)
    w = w / w.sum()
    shift = eta[:, None] + sd * _GH_X[None, :]  # (n, q)
    kappa = np.log(cum / (1 - cum)) + float(w @ eta)
    for _ in range(100):
        p = expit(kappa[:, None, None] - shift[None])  # (j, n, q)
        g = np.einsum("jnq,n,q->j", p, w, _GH_W) - cum
        dg = np.einsum("jnq,n,q->j", p * (1 - p), w, _GH_W)
        step = np.clip(g / np.maximum(dg, 1e-12), -2.0, 2.0)
        kappa = kappa - step
        if np.max(np.abs(g)) < 1e-11:
            break
    return kappa


def _frame_key(positions: pd.DataFrame) -> str:
    cols = [
        "municipality_code",
        "area",
        "log_population",
        "pressure_high",
        "spending_pressure",
        "bloc",
        "region",
    ]
    h = pd.util.hash_pandas_object(positions[cols].astype(str), index=False).to_numpy()
    return hashlib.sha256(h.tobytes()).hexdigest()[:16]


def _check_frame(frame: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    need = [
        "municipality_code",
        "area",
        "region",
        "log_population",
        "pressure_high",
        "spending_pressure",
        "bloc",
    ]
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise DataError(
            f"frame lacks column(s) {missing}; start from civmodels.data.load_frame() and "
            "edit or concatenate its rows"
        )
    out = frame.reset_index(drop=True).copy()
    if "position_id" not in out.columns:
        out["position_id"] = np.arange(1, len(out) + 1, dtype="int64")
    if out["position_id"].duplicated().any():
        raise DataError("frame column 'position_id' has duplicated values")
    if out[need].isna().any().any():
        bad = [c for c in need if out[c].isna().any()]
        raise DataError(f"frame has missing values in {bad}")
    return out


def _effects_key(effects: Mapping[str, Mapping[str, float]] | None) -> tuple[Any, ...]:
    if effects is None:
        return ()
    if not isinstance(effects, Mapping):
        raise DataError(
            "effects must be a mapping item -> {covariate: log odds ratio}, e.g. "
            "{'mot_cost_effectiveness': {'pressure_high': 0.5}}"
        )
    out = []
    cb = load_codebook()
    simulated = [q.id for q in cb.items(simulated=True)]
    for item, eff in effects.items():
        if item not in simulated:
            close = difflib.get_close_matches(str(item), simulated, n=2)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise DataError(
                f"effects names item {item!r}, which is not a simulated survey item{hint} "
                "(see civmodels.data.codebook.survey_columns())"
            )
        if not isinstance(eff, Mapping):
            raise DataError(f"effects[{item!r}] must be a mapping covariate -> value")
        for cov, val in eff.items():
            if cov not in COVARIATE_TERMS and cov not in _AREA_TERMS:
                raise DataError(
                    f"effects[{item!r}] names covariate {cov!r}; allowed: "
                    f"{list(COVARIATE_TERMS)} and area contrasts such as {_AREA_TERMS[4]!r}"
                )
            try:
                v = float(val)
            except (TypeError, ValueError):
                raise DataError(
                    f"effects[{item!r}][{cov!r}] must be a number, got {val!r}"
                ) from None
            if not np.isfinite(v):
                raise DataError(f"effects[{item!r}][{cov!r}] must be finite, got {val!r}")
            out.append((item, cov, v))
    return tuple(sorted(out))


def _mnar_vector(mnar: float | Mapping[str, float]) -> np.ndarray:
    if isinstance(mnar, Mapping):
        bad = [k for k in mnar if k not in DIMENSIONS]
        if bad:
            raise DataError(f"mnar names unknown dimension(s) {bad}; allowed: {list(DIMENSIONS)}")
        vec = np.array([float(mnar.get(d, 0.0)) for d in DIMENSIONS])
    else:
        try:
            m = float(mnar)
        except (TypeError, ValueError):
            raise DataError(f"mnar must be a number or a mapping, got {mnar!r}") from None
        # spread over the dimensions so that the MNAR term has SD |mnar| on the logit scale
        vec = np.full(len(DIMENSIONS), m / np.sqrt(len(DIMENSIONS)))
    if not np.isfinite(vec).all():
        raise DataError(f"mnar must be finite, got {mnar!r}")
    return vec


def _build(
    cal: Calibration,
    effects: tuple[Any, ...],
    rate: float,
    mnar: np.ndarray,
    positions: pd.DataFrame,
    base: _Model | None = None,
) -> _Model:
    """Set up the model; items not named in ``effects`` are taken from ``base`` if given."""
    mi, ai, codes, X = _design(positions)
    resp = cal.raw["response"]
    sd_v = float(resp["municipality_sd"]["value"])
    resp_area = np.array([float(resp["area_log_odds"]["value"].get(a, 0.0)) for a in AREAS])
    resp_gamma = np.array(
        [float(resp["covariate_log_odds"]["value"].get(t, 0.0)) for t in COVARIATE_TERMS]
    )
    sd_r = float(np.sqrt(sd_v**2 + np.sum(mnar**2)))
    lp_r = resp_area[ai] + (X @ resp_gamma)[mi]
    # Solve rho0 for the expected response rate (a one-threshold problem in reverse).
    rho0 = -_solve_thresholds(lp_r, np.ones(len(lp_r)), sd_r, np.array([1 - rate]))[0]
    w = expit(rho0 + lp_r[:, None] + sd_r * _GH_X[None, :]) @ _GH_W

    dims = cal.raw["dimensions"]
    sd_u = np.array([float(dims[d]["municipality_sd"]["value"]) for d in DIMENSIONS])
    sd_theta = np.array([float(dims[d]["respondent_sd"]["value"]) for d in DIMENSIONS])
    default_effect = float(cal.raw["covariate_effects_default"]["value"])
    overrides: dict[str, dict[str, float]] = {}
    for item, cov, v in effects:
        overrides.setdefault(item, {})[cov] = v
    dk_cfg = cal.raw["dont_know_pct"]

    items = []
    for k, q in enumerate(load_codebook().items(simulated=True)):
        if base is not None and q.id not in overrides:
            items.append(base.items[k])
            continue
        node = cal.raw["items"][q.id]
        d = DIMENSIONS.index(node["dimension"])
        loading = float(node["loading"]["value"]) if "loading" in node else 1.0
        eff = {t: default_effect for t in COVARIATE_TERMS}
        if "effects" in node:
            eff.update({t: float(v) for t, v in node["effects"]["value"].items()})
        item_over = overrides.get(q.id, {})
        eff.update({t: v for t, v in item_over.items() if t in COVARIATE_TERMS})
        beta = np.array([eff[t] for t in COVARIATE_TERMS])
        area_src = (
            node["area_effects"]["value"]
            if "area_effects" in node
            else dims[node["dimension"]]["area_effects"]["value"]
        )
        alpha = np.array([float(area_src.get(a, 0.0)) for a in AREAS])
        # an area contrast override is relative to the first area and replaces any area
        # target of the calibration for that area
        area_over = {t[7:-1]: v for t, v in item_over.items() if t in _AREA_TERMS}
        for a, v in area_over.items():
            alpha[AREAS.index(a)] = alpha[0] + v
        sd = loading * float(np.sqrt(sd_u[d] ** 2 + sd_theta[d] ** 2))
        dk_node = dk_cfg.get(q.id, dk_cfg.get(q.battery or "", None))
        dk = float(dk_node["value"]) / 100 if (q.dont_know and dk_node) else 0.0
        eta = (X @ beta)[mi] + alpha[ai]
        if q.type == "count":
            mean = float(node["mean"]["value"])
            mu0 = np.log(mean) - np.log(float(w @ np.exp(eta)) / w.sum()) - sd**2 / 2
            # first area as reference, as for the thresholds below
            mu0, alpha = mu0 + alpha[0], alpha - alpha[0]
            items.append(
                _Item(
                    q,
                    "count",
                    d,
                    loading,
                    beta,
                    alpha,
                    np.array([mu0]),
                    np.arange(0),
                    float(node["dispersion"]["value"]),
                    dk,
                    [],
                )
            )
            continue
        target = node["target_pct"]["value"]
        if q.type in ("binary", "multiple"):
            probs = np.array([100.0 - float(target), float(target)]) / 100
            order = q.codes
        else:
            probs = np.asarray(target, dtype=float) / 100
            order = list(node.get("latent_order", q.codes))
        perm = np.array([q.codes.index(c) for c in order])
        area_targets = {
            a: pct
            for a, pct in (node["by_area_pct"]["value"] if "by_area_pct" in node else {}).items()
            if a not in area_over
        }
        special = np.zeros(len(ai), dtype=bool)
        by_area: dict[str, np.ndarray] = {}
        for a, pct in area_targets.items():
            # the area gets its own threshold matching its target; the difference to the
            # common threshold becomes its area effect below
            sel = ai == AREAS.index(a)
            special |= sel
            by_area[a] = _solve_thresholds(eta[sel], w[sel], sd, np.array([1 - pct / 100]))
        cum = np.cumsum(probs)[:-1]
        if special.any():
            rest = ~special
            total = w.sum()
            fixed = sum(
                float(
                    w[ai == AREAS.index(a)]
                    @ (
                        expit(kap[0] - eta[ai == AREAS.index(a)][:, None] - sd * _GH_X[None, :])
                        @ _GH_W
                    )
                )
                for a, kap in by_area.items()
            )
            target_rest = (cum * total - fixed) / w[rest].sum()
            kappa = _solve_thresholds(eta[rest], w[rest], sd, target_rest)
            for a, kap in by_area.items():
                alpha[AREAS.index(a)] += float(kappa[0] - kap[0])
        else:
            kappa = _solve_thresholds(eta, w, sd, cum)
        # Re-express with the first area as reference (alpha_1 = 0).
        kappa = kappa - alpha[0]
        alpha = alpha - alpha[0]
        items.append(
            _Item(q, "cat", d, loading, beta, alpha, kappa, perm, 0.0, dk, order, q.dtype())
        )

    return _Model(
        positions=positions,
        mi=mi,
        ai=ai,
        codes=codes,
        X=X,
        items=items,
        sd_u=sd_u,
        sd_theta=sd_theta,
        rho0=float(rho0),
        resp_area=resp_area,
        resp_gamma=resp_gamma,
        sd_v=sd_v,
        mnar=mnar,
        breakoff=np.asarray(resp["breakoff_pct"]["value"], float) / 100,
        skip=float(resp["item_skip_pct"]["value"]) / 100,
        rate=rate,
    )


def _model(
    cal: Calibration,
    effects: tuple[Any, ...],
    rate: float | None,
    mnar: np.ndarray,
    frame: pd.DataFrame | None,
) -> _Model:
    positions = _positions() if frame is None else _check_frame(frame)
    fkey = "default" if frame is None else _frame_key(positions)
    r = float(cal.raw["response"]["rate_pct"]["value"]) / 100 if rate is None else rate
    key = (cal.key, effects, r, tuple(mnar.tolist()), fkey)
    if key not in _CACHE:
        # a power curve varies one item's effect: solve only that item, reuse the rest
        base = _model(cal, (), rate, mnar, frame) if effects else None
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = _build(cal, effects, r, mnar, positions, base)
    return _CACHE[key]


# ------------------------------------------------------------------------------------------
# Drawing one survey
# ------------------------------------------------------------------------------------------
def _threshold_names(q: Question, order: list[str]) -> list[str]:
    labels = [q.categories[q.codes.index(c)].label_da for c in order]
    return [f"{a}|{b}" for a, b in itertools.pairwise(labels)]


def _truth(model: _Model, u: np.ndarray, v: np.ndarray, p_resp: np.ndarray) -> SurveyTruth:
    ids = [it.q.id for it in model.items]
    cat = [it for it in model.items if it.kind == "cat"]
    return SurveyTruth(
        coefficients=pd.DataFrame(
            [it.beta for it in model.items], index=ids, columns=list(COVARIATE_TERMS)
        ),
        area_effects=pd.DataFrame([it.alpha for it in model.items], index=ids, columns=list(AREAS)),
        thresholds={
            it.q.id: pd.Series(it.kappa, index=_threshold_names(it.q, it.order), name=it.q.id)
            for it in cat
        },
        count={
            it.q.id: {"intercept": float(it.kappa[0]), "dispersion": it.dispersion}
            for it in model.items
            if it.kind == "count"
        },
        loadings=pd.Series([it.loading for it in model.items], index=ids, name="loading"),
        dimension=pd.Series(
            [DIMENSIONS[it.dim] for it in model.items], index=ids, name="dimension"
        ),
        latent_order={it.q.id: it.order for it in cat if it.q.type == "nominal"},
        municipality_sd=pd.Series(model.sd_u, index=list(DIMENSIONS), name="municipality_sd"),
        respondent_sd=pd.Series(model.sd_theta, index=list(DIMENSIONS), name="respondent_sd"),
        municipality_effects=pd.DataFrame(
            u, index=pd.Index(model.codes, name="municipality_code"), columns=list(DIMENSIONS)
        ),
        response={
            "intercept": model.rho0,
            "area_log_odds": pd.Series(model.resp_area, index=list(AREAS)),
            "coefficients": pd.Series(model.resp_gamma, index=list(COVARIATE_TERMS)),
            "municipality_sd": model.sd_v,
            "municipality_effects": pd.Series(
                v, index=pd.Index(model.codes, name="municipality_code")
            ),
            "mnar": pd.Series(model.mnar, index=list(DIMENSIONS)),
            "probability": pd.Series(
                p_resp,
                index=pd.Index(model.positions["position_id"].to_numpy(), name="position_id"),
            ),
            "rate": model.rate,
        },
    )


def _draw(model: _Model, rng: np.random.Generator) -> tuple[pd.DataFrame, _Drawn]:
    n = len(model.mi)
    n_mun = len(model.codes)
    n_dim = len(DIMENSIONS)
    mi, ai = model.mi, model.ai
    # fixed order of draws: the stream is part of the bundled data's reproducibility
    zu = rng.standard_normal((n_mun, n_dim))
    u = zu * model.sd_u
    v = rng.standard_normal(n_mun) * model.sd_v
    lp = (
        model.rho0
        + model.resp_area[ai]
        + (model.X @ model.resp_gamma)[mi]
        + v[mi]
        + (zu @ model.mnar)[mi]
    )
    p_resp = expit(lp)
    responded = rng.random(n) < p_resp
    latent = u[mi] + rng.standard_normal((n, n_dim)) * model.sd_theta
    noise = rng.logistic(size=(n, len(model.items)))

    answers: dict[str, np.ndarray] = {}
    for k, it in enumerate(model.items):
        eta = (model.X @ it.beta)[mi] + it.alpha[ai] + it.loading * latent[:, it.dim]
        if it.kind == "count":
            mu = np.exp(it.kappa[0] + eta)
            answers[it.q.id] = rng.poisson(rng.gamma(it.dispersion, mu / it.dispersion))
        else:
            latent_cat = np.sum((eta + noise[:, k])[:, None] > it.kappa[None, :], axis=1)
            answers[it.q.id] = it.perm[latent_cat]

    # respondents: breakoff, 'Ved ikke', item skips
    ridx = np.flatnonzero(responded)
    n_r = len(ridx)
    probs = np.append(model.breakoff, 1 - model.breakoff.sum())
    last_section = rng.choice(np.arange(1, 5), size=n_r, p=probs)
    draws = rng.random((n_r, len(model.items)))

    pos = model.positions
    base = pos[[c for c in _BASE_COLS if c in pos.columns]]
    resp_items: dict[str, Any] = {}
    dk = np.zeros((n_r, len(model.items)), dtype=bool)
    for k, it in enumerate(model.items):
        q = it.q
        full = answers[q.id]
        reached = last_section >= q.section
        dk[:, k] = reached & (draws[:, k] < it.dk)
        skipped = reached & ~dk[:, k] & (draws[:, k] < it.dk + model.skip)
        missing = ~reached | dk[:, k] | skipped
        if it.kind == "count":
            vals = full[ridx].astype(float)
            vals[missing] = np.nan
            resp_items[q.id] = vals
        else:
            codes = full[ridx].copy()
            codes[missing] = -1
            resp_items[q.id] = pd.Categorical.from_codes(codes, dtype=it.dtype)
    data = base.iloc[ridx].reset_index(drop=True)
    data.insert(0, "respondent_id", np.arange(1, n_r + 1, dtype="int64"))
    dk_frame = pd.DataFrame(dk, columns=[f"{it.q.id}_dk" for it in model.items])
    data = pd.concat([data, pd.DataFrame(resp_items), dk_frame], axis=1)
    return data, _Drawn(model, answers, responded, u, v, p_resp)


_BASE_COLS = ("position_id", "municipality_code", "municipality", "area", *COVARIATES)


@dataclass(frozen=True)
class _Drawn:
    """What one draw produced beyond the respondents' frame (for the lazy attributes)."""

    model: _Model
    answers: dict[str, np.ndarray]
    responded: np.ndarray
    u: np.ndarray
    v: np.ndarray
    p_resp: np.ndarray

    def population(self) -> pd.DataFrame:
        pos = self.model.positions
        pop = pos[[c for c in _BASE_COLS if c in pos.columns]].reset_index(drop=True)
        items: dict[str, Any] = {}
        for it in self.model.items:
            full = self.answers[it.q.id]
            items[it.q.id] = (
                full.astype("int64")
                if it.kind == "count"
                else pd.Categorical.from_codes(full, dtype=it.dtype)
            )
        out = pd.concat([pop, pd.DataFrame(items)], axis=1)
        out["responded"] = self.responded.astype("int64")
        return out


def simulate_survey(
    random_seed: int | np.random.SeedSequence | np.random.Generator | None = BUNDLED_SEED,
    calibration: Any = None,
    *,
    frame: pd.DataFrame | None = None,
    response_rate: float | None = None,
    effects: Mapping[str, Mapping[str, float]] | None = None,
    mnar: float | Mapping[str, float] = 0.0,
) -> SimulatedSurvey:
    """Draw one synthetic survey from the calibrated generative model.

    Parameters
    ----------
    random_seed : int, SeedSequence or Generator, default 20151001
        Seed of every random step (the default reproduces the bundled survey).
    calibration : path, mapping or Calibration, optional
        The calibration (see :func:`~civmodels.data.load_calibration`); default the packaged
        ``calibration.yaml``.
    frame : pandas.DataFrame, optional
        Positions to simulate, with the columns of :func:`~civmodels.data.load_frame`
        (``municipality_code``, ``area``, ``region``, ``log_population``,
        ``pressure_high``, ``spending_pressure``, ``bloc``); default the 838-position frame.
    response_rate : float, optional
        Expected overall response rate as a fraction in (0, 1); default the calibration's
        53 %.
    effects : mapping, optional
        Overrides of covariate effects on an item's latent (logit) scale, e.g.
        ``{"mot_cost_effectiveness": {"pressure_high": 0.5}}`` (a log odds ratio). Keys are
        the covariate terms (``log_population``, ``pressure_high``, ``spending_pressure``,
        ``bloc[T.blue]``, ``region[T.<region>]``) or area contrasts against the first area
        (``area[T.teknik_miljo]``; this replaces an area target of the calibration). The
        item's thresholds are re-solved so its overall distribution still matches the
        calibration target.
    mnar : float or mapping, default 0.0
        Dependence of response on the municipality's latent outcome effects: a mapping
        dimension -> coefficient per standardised random effect, or a number spread evenly
        over the four dimensions so that the total term has SD ``|mnar|`` (logit scale).
        0 means missing at random given area and covariates.

    Returns
    -------
    SimulatedSurvey
        ``.data`` (respondents), ``.population`` (all positions with full answers and
        ``responded``) and ``.truth`` (parameters and drawn random effects).

    Raises
    ------
    DataError
        For an invalid calibration, an unknown item or covariate in ``effects``, a
        ``response_rate`` outside (0, 1) or a frame without the needed columns.

    Examples
    --------
    >>> from civmodels.data import simulate_survey
    >>> sim = simulate_survey(random_seed=1)
    >>> sim.population.shape[0]
    838
    """
    cal = load_calibration(calibration)
    if response_rate is not None:
        try:
            rate = float(response_rate)
        except (TypeError, ValueError):
            raise DataError(f"response_rate must be a number, got {response_rate!r}") from None
        if not 0 < rate < 1:
            raise DataError(
                f"response_rate must be a fraction in (0, 1), got {response_rate!r}; "
                "e.g. 0.53 for 53 %"
            )
        response_rate = rate
    model = _model(cal, _effects_key(effects), response_rate, _mnar_vector(mnar), frame)
    rng = np.random.default_rng(random_seed)
    data, drawn = _draw(model, rng)
    return SimulatedSurvey(data=data, random_seed=random_seed, calibration=cal, _draw=drawn)
