"""Multiple imputation of ordinal and binary survey items by chained equations, and Rubin's
rules for pooling any results that have ``params`` and ``vcov``.

Each item with missing values gets a conditional model given the (fully observed)
predictors and the other items: a cumulative-logit model for an ordinal item, a logit for a
binary one, fitted with the civmodels engines' Newton cores. An imputation is *proper*
(Rubin 1987): for every item and iteration, the parameters are drawn from their approximate
posterior ``N(θ̂, V̂)`` before categories are drawn from the predicted probabilities, so the
between-imputation variance reflects the uncertainty of the imputation model. ``m``
independent chains of ``n_iter`` sweeps give ``m`` completed data sets (van Buuren 2018).

A δ-adjustment (``delta=``) shifts the latent linear predictor of the imputed values, turning
the MAR imputation into a pattern-mixture MNAR model for sensitivity analysis (see
:func:`civmodels.nonresponse.sensitivity.tipping_point`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .. import _binary as binary
from .._links import get_link
from .._mle import newton
from .._validation import check_columns, check_dataframe
from ..exceptions import DataError
from ..missing import DontKnowPolicy, apply_dont_know
from ..ordinal import _core as clm
from ..results import Summary

__all__ = ["MultipleImputation", "PooledResult", "impute", "pool"]


# ----------------------------------------------------------------------------- pooling
@dataclass(frozen=True, eq=False)
class PooledResult:
    """Estimates combined over imputations by Rubin's rules.

    Attributes
    ----------
    params : pandas.Series
        Mean of the ``m`` estimates.
    vcov : pandas.DataFrame
        Total covariance ``T = Ū + (1 + 1/m) B``.
    within, between : pandas.Series
        Diagonals of the mean within-imputation covariance ``Ū`` and of ``B``.
    df : pandas.Series
        Degrees of freedom (Barnard & Rubin 1999 when the complete-data df is finite).
    riv : pandas.Series
        Relative increase in variance ``(1 + 1/m) B / Ū``.
    lambda_ : pandas.Series
        Proportion of variance due to missingness ``(1 + 1/m) B / T``.
    fmi : pandas.Series
        Fraction of missing information ``(riv + 2/(df + 3)) / (1 + riv)``.
    m : int
    df_complete : float
    """

    params: pd.Series
    vcov: pd.DataFrame
    within: pd.Series
    between: pd.Series
    df: pd.Series
    riv: pd.Series
    lambda_: pd.Series
    fmi: pd.Series
    m: int
    df_complete: float

    @property
    def std_errors(self) -> pd.Series:
        """Square roots of the diagonal of the total covariance."""
        return pd.Series(
            np.sqrt(np.diag(self.vcov.to_numpy())), index=self.params.index, name="std_error"
        )

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided p-values from t with the pooled df."""
        t = self.params / self.std_errors
        return pd.Series(
            2 * stats.t.sf(np.abs(t), self.df), index=self.params.index, name="p_value"
        )

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Intervals ``estimate ± t_{df} · SE``."""
        q = stats.t.ppf(0.5 + level / 2, self.df)
        se = self.std_errors
        return pd.DataFrame({"ci_lower": self.params - q * se, "ci_upper": self.params + q * se})

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """Estimates, SEs, t, df, p, interval, FMI per parameter."""
        ci = self.conf_int(level)
        return pd.DataFrame(
            {
                "estimate": self.params,
                "std_error": self.std_errors,
                "statistic": self.params / self.std_errors,
                "df": self.df,
                "p_value": self.pvalues,
                "ci_lower": ci["ci_lower"],
                "ci_upper": ci["ci_upper"],
                "fmi": self.fmi,
            }
        )

    def summary(self) -> Summary:
        """A :class:`~civmodels.results.Summary` of the pooled estimates."""
        return Summary(
            title="Multiple imputation: estimates pooled by Rubin's rules",
            info={"Imputations": self.m, "Complete-data df": self.df_complete},
            blocks={"Estimates": self.to_frame()},
            notes=("df by Barnard & Rubin (1999); fmi = fraction of missing information.",),
        )

    def __repr__(self) -> str:
        return f"PooledResult(m={self.m})\n{self.to_frame().to_string()}"


def _complete_df(res: Any) -> float:
    df = getattr(res, "df_resid", None)
    if df is not None and np.isfinite(df):
        return float(df)
    nobs = getattr(res, "nobs", None)
    if nobs is not None:
        return float(nobs - len(res.params))
    return float("inf")


def pool(results: Sequence[Any], *, df_complete: float | None = None) -> PooledResult:
    """Combine analyses of ``m`` imputed data sets by Rubin's rules.

    Parameters
    ----------
    results : sequence
        At least two results, each with ``params`` (Series or array) and ``vcov``
        (DataFrame or array), with the same parameters in the same order — e.g. civmodels
        model results fitted to each imputed data set.
    df_complete : float, optional
        Degrees of freedom of the complete-data analysis, for the Barnard–Rubin small-sample
        df. Defaults to the first result's ``df_resid`` (design df) or ``nobs - k``; use
        ``numpy.inf`` for the large-sample df ``(m - 1) / λ²``.

    Returns
    -------
    PooledResult

    Raises
    ------
    DataError
        Fewer than two results, results without ``params``/``vcov``, or results whose
        parameters differ (names or number).

    Notes
    -----
    With estimates ``Q_l`` and covariances ``U_l``: ``Q̄ = mean Q_l``, ``Ū = mean U_l``,
    ``B = cov(Q_l)``, ``T = Ū + (1 + 1/m) B``. Per parameter ``λ = (1 + 1/m) B / T``,
    ``ν_old = (m - 1) / λ²``, ``ν_obs = (ν_com + 1)/(ν_com + 3) ν_com (1 - λ)`` and
    ``ν = ν_old ν_obs / (ν_old + ν_obs)`` (Barnard & Rubin 1999; as R ``mice::pool``).
    With ``ν_com = ∞`` this is Rubin's ``ν_old``, as R ``mitools::MIcombine``.
    """
    results = list(results)
    if len(results) < 2:
        raise DataError(
            f"pooling needs at least 2 results (one per imputation), got {len(results)}"
        )
    for i, r in enumerate(results):
        if not (hasattr(r, "params") and hasattr(r, "vcov")):
            raise DataError(
                f"result {i} ({type(r).__name__}) has no params/vcov; pool() combines results "
                "that have both"
            )
    first = results[0]
    names = (
        list(first.params.index)
        if isinstance(first.params, pd.Series)
        else [f"x{j}" for j in range(len(np.asarray(first.params)))]
    )
    Q, U = [], []
    for i, r in enumerate(results):
        p = r.params
        if isinstance(p, pd.Series) and list(p.index) != names:
            extra = sorted(set(p.index) - set(names))
            lost = sorted(set(names) - set(p.index))
            raise DataError(
                f"result {i} has different parameters from result 0 (extra: {extra}, missing: "
                f"{lost}); every imputed data set must be analysed with the same model — "
                "categories absent from one imputation change the design"
            )
        q = np.asarray(p, dtype=float)
        if len(q) != len(names):
            raise DataError(f"result {i} has {len(q)} parameters, result 0 has {len(names)}")
        Q.append(q)
        U.append(np.asarray(r.vcov, dtype=float))
    Qa = np.array(Q)
    m = len(Qa)
    qbar = Qa.mean(axis=0)
    ubar = np.mean(U, axis=0)
    B = np.cov(Qa, rowvar=False, ddof=1).reshape(len(names), len(names))
    T = ubar + (1 + 1 / m) * B
    dfc = _complete_df(first) if df_complete is None else float(df_complete)
    b, u, t = np.diag(B), np.diag(ubar), np.diag(T)
    with np.errstate(divide="ignore", invalid="ignore"):
        riv = (1 + 1 / m) * b / u
        lam = (1 + 1 / m) * b / t
        df_old = np.where(lam > 0, (m - 1) / lam**2, np.inf)
        if np.isfinite(dfc):
            df_obs = (dfc + 1) / (dfc + 3) * dfc * (1 - lam)
            df = np.where(np.isinf(df_old), df_obs, df_old * df_obs / (df_old + df_obs))
        else:
            df = df_old
        fmi = (riv + 2 / (df + 3)) / (1 + riv)
    s = lambda x, n: pd.Series(x, index=names, name=n)  # noqa: E731
    return PooledResult(
        params=s(qbar, "estimate"),
        vcov=pd.DataFrame(T, index=names, columns=names),
        within=s(u, "within"),
        between=s(b, "between"),
        df=s(df, "df"),
        riv=s(riv, "riv"),
        lambda_=s(lam, "lambda"),
        fmi=s(fmi, "fmi"),
        m=m,
        df_complete=dfc,
    )


# ----------------------------------------------------------------------------- imputation
@dataclass(eq=False)
class _Item:
    name: str
    levels: list[Any]
    codes: np.ndarray  # float codes 0..J-1, NaN where missing
    missing: np.ndarray  # bool
    kind: str  # "ordinal" | "logistic"
    dtype: Any


@dataclass(frozen=True, eq=False)
class MultipleImputation:
    """``m`` completed data sets (made by :func:`impute`).

    Attributes
    ----------
    datasets : list of pandas.DataFrame
        Completed copies of the data (observed values untouched, dtypes kept).
    items : tuple of str
    methods : dict of str to str
        ``"ordinal"`` or ``"logistic"`` per item.
    n_missing : dict of str to int
        Imputed values per item.
    delta : dict of str to float
        δ-shift of the latent predictor applied to imputed values (0 = MAR).
    chain_means : numpy.ndarray
        Mean code of each item after each sweep, shape ``(m, n_iter, n_items)``, to check
        that the chains have mixed.
    dont_know : DontKnowReport or None
    """

    datasets: list[pd.DataFrame]
    items: tuple[str, ...]
    methods: dict[str, str]
    n_missing: dict[str, int]
    delta: dict[str, float]
    n_iter: int
    chain_means: np.ndarray = field(repr=False)
    dont_know: Any = None

    @property
    def m(self) -> int:
        """Number of imputations."""
        return len(self.datasets)

    def analyze(self, fn: Callable[[pd.DataFrame], Any]) -> list[Any]:
        """Apply ``fn`` to every completed data set."""
        return [fn(d) for d in self.datasets]

    def pool(self, fn: Callable[[pd.DataFrame], Any], **kwargs: Any) -> PooledResult:
        """``pool(self.analyze(fn))``, e.g. ``mi.pool(lambda d: cm.Ordinal(f, d).fit())``."""
        return pool(self.analyze(fn), **kwargs)

    def summary(self) -> Summary:
        """Items, models, numbers imputed, observed vs imputed distributions."""
        rows = {}
        for it in self.items:
            rows[it] = {
                "model": self.methods[it],
                "n_imputed": self.n_missing[it],
                "delta": self.delta.get(it, 0.0),
            }
        return Summary(
            title="Multiple imputation by chained equations",
            info={"Imputations": self.m, "Sweeps per chain": self.n_iter},
            blocks={"Items": pd.DataFrame(rows).T},
            notes=(
                "Proper imputation: parameters drawn from N(estimate, vcov) before each draw "
                "of categories." + (f" {self.dont_know.describe()}" if self.dont_know else ""),
            ),
        )


def _encode_item(data: pd.DataFrame, name: str) -> _Item:
    col = data[name]
    missing = col.isna().to_numpy()
    if not missing.any():
        raise DataError(
            f"item {name!r} has no missing values, so there is nothing to impute; leave it out "
            "of items= (it can still be a predictor)"
        )
    if missing.all():
        raise DataError(f"item {name!r} has no observed values to build an imputation model")
    if isinstance(col.dtype, pd.CategoricalDtype):
        levels = list(col.cat.categories)
        if len(levels) > 2 and not col.cat.ordered:
            raise DataError(
                f"item {name!r} is an unordered categorical with {len(levels)} levels; ordinal "
                "imputation needs an order: data[item] = data[item].cat.as_ordered()"
            )
        codes = col.cat.codes.to_numpy().astype(float)
        codes[missing] = np.nan
    else:
        levels = sorted(pd.unique(col.dropna()).tolist())
        lookup = {v: i for i, v in enumerate(levels)}
        codes = np.array([np.nan if m else lookup[v] for v, m in zip(col, missing, strict=True)])
    if len(levels) < 2:
        raise DataError(f"item {name!r} has a single observed level; it cannot be modelled")
    kind = "logistic" if len(levels) == 2 else "ordinal"
    return _Item(name, levels, codes, missing, kind, col.dtype)


def _predictor_matrix(data: pd.DataFrame, predictors: Sequence[str]) -> np.ndarray:
    if not predictors:
        return np.zeros((len(data), 0))
    check_columns(data, predictors, what="predictors=", error=DataError)
    na = data[list(predictors)].isna().sum()
    if na.any():
        raise DataError(
            f"predictors must be complete; missing values in {na[na > 0].to_dict()} (add the "
            "column to items= to impute it, or drop those rows and report them)"
        )
    parts = []
    for p in predictors:
        col = data[p]
        if pd.api.types.is_bool_dtype(col) or (
            pd.api.types.is_numeric_dtype(col) and not isinstance(col.dtype, pd.CategoricalDtype)
        ):
            v = col.to_numpy(float)
            parts.append(((v - v.mean()) / (v.std() or 1.0))[:, None])
        else:
            d = pd.get_dummies(col.astype(object), drop_first=True, dtype=float)
            parts.append(d.to_numpy())
    return np.hstack(parts)


def _fit_ordinal(y: np.ndarray, X: np.ndarray, ridge: float) -> tuple[np.ndarray, np.ndarray]:
    J = int(y.max()) + 1
    link = get_link("logit")
    d = clm.CLMData(y=y.astype(int), X=X, tjac=np.eye(J - 1))
    k_alpha = J - 1

    def fun(par: np.ndarray) -> dict:
        out = clm.clm_derivatives(par, d, link)
        if not np.isfinite(out["loglik"]):
            return out
        pen = np.r_[np.zeros(k_alpha), np.full(len(par) - k_alpha, ridge)]
        return {
            "loglik": out["loglik"] - 0.5 * float(pen @ par**2),
            "grad": out["grad"] - pen * par,
            "hess": out["hess"] - np.diag(pen),
        }

    opt = newton(fun, clm.start_values(d, link), gtol=1e-8, max_iter=100)
    return opt.params, np.linalg.pinv(-opt.hess)


def _fit_binary(y: np.ndarray, X: np.ndarray, ridge: float) -> tuple[np.ndarray, np.ndarray]:
    link = get_link("logit")
    X1 = np.column_stack([np.ones(len(y)), X])
    w = np.ones(len(y))

    def fun(b: np.ndarray) -> dict:
        out = binary.binary_derivatives(b, X1, y, w, link)
        if not np.isfinite(out["loglik"]):
            return out
        pen = np.r_[0.0, np.full(len(b) - 1, ridge)]
        return {
            "loglik": out["loglik"] - 0.5 * float(pen @ b**2),
            "grad": out["grad"] - pen * b,
            "hess": out["hess"] - np.diag(pen),
        }

    opt = newton(fun, binary.start_values(X1, y, w, link, True), gtol=1e-8, max_iter=100)
    return opt.params, np.linalg.pinv(-opt.hess)


def _draw_params(par: np.ndarray, V: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    V = (V + V.T) / 2
    vals, vecs = np.linalg.eigh(V)
    return par + vecs @ (np.sqrt(np.clip(vals, 0, None)) * rng.standard_normal(len(par)))


def _impute_item(
    item: _Item, X: np.ndarray, delta: np.ndarray, ridge: float, rng: np.random.Generator
) -> np.ndarray:
    obs = ~item.missing
    y = item.codes[obs]
    logistic = get_link("logit")
    if item.kind == "logistic":
        par, V = _fit_binary(y, X[obs], ridge)
        b = _draw_params(par, V, rng)
        eta = b[0] + X[item.missing] @ b[1:] + delta
        return (rng.random(int(item.missing.sum())) < logistic.cdf(eta)).astype(float)
    # model only the observed categories (a level nobody chose cannot be imputed either)
    seen = np.unique(y)
    if len(seen) == 1:
        return np.full(int(item.missing.sum()), seen[0])
    yc = np.searchsorted(seen, y)
    if len(seen) == 2:
        par, V = _fit_binary(yc.astype(float), X[obs], ridge)
        b = _draw_params(par, V, rng)
        eta = b[0] + X[item.missing] @ b[1:] + delta
        hit = rng.random(int(item.missing.sum())) < logistic.cdf(eta)
        return seen[hit.astype(int)]
    par, V = _fit_ordinal(yc.astype(float), X[obs], ridge)
    p = _draw_params(par, V, rng)
    k_alpha = len(seen) - 1
    theta = np.sort(p[:k_alpha])
    eta = X[item.missing] @ p[k_alpha:] + delta
    cum = logistic.cdf(theta[None, :] - eta[:, None])
    u = rng.random(len(eta))
    return seen[(u[:, None] > cum).sum(axis=1)]


def impute(
    data: pd.DataFrame,
    items: Sequence[str],
    *,
    predictors: Sequence[str] = (),
    m: int = 5,
    n_iter: int = 10,
    delta: float | Mapping[str, float] = 0.0,
    delta_rows: str | np.ndarray | pd.Series | None = None,
    dont_know: DontKnowPolicy = "missing",
    ridge: float = 1e-2,
    random_seed: int | np.random.SeedSequence | None = None,
) -> MultipleImputation:
    """Multiple imputation of ordinal and binary items by chained equations.

    Parameters
    ----------
    data : pandas.DataFrame
        Survey data. Rows can include unit nonrespondents of the frame (all items missing),
        which are then imputed from the predictors.
    items : sequence of str
        Items to impute; each must have missing values. Two levels → logit model; more →
        proportional-odds (cumulative logit) model (ordered categorical or numeric codes).
        The other items enter each item's model as numeric codes.
    predictors : sequence of str, optional
        Fully observed covariates (numeric are standardised, categorical dummy-coded).
    m : int, default 5
        Number of imputations (independent chains).
    n_iter : int, default 10
        Sweeps over the items per chain.
    delta : float or mapping of item to float, default 0
        Shift of the latent linear predictor for imputed values (δ > 0 moves them to higher
        categories; on the logit scale). 0 is MAR; other values give the pattern-mixture
        MNAR models of a tipping-point analysis.
    delta_rows : str or boolean array, optional
        Which rows' imputations are shifted: a :meth:`pandas.DataFrame.query` string (e.g.
        ``"pressure_high == 1"``) or a mask aligned with ``data``. Default: every imputed
        value. Shifting one group only tests a finding that compares groups.
    dont_know : {"missing", "category", "drop"}, default "missing"
        'Ved ikke' policy for items with a ``<item>_dk`` column (see
        :func:`civmodels.missing.apply_dont_know`); "missing" imputes them, "drop" removes
        those rows first. "category" cannot be imputed by an ordinal model and is an error.
    ridge : float, default 0.01
        Small ridge penalty on the slopes of the imputation models, which keeps them finite
        under (quasi-)separation — frequent with sparse Likert categories.
    random_seed : int or numpy.random.SeedSequence, optional
        Seed; each chain gets an independent child stream.

    Returns
    -------
    MultipleImputation
        ``datasets``, ``analyze(fn)``, ``pool(fn)``, ``summary()``.

    Raises
    ------
    DataError
        An item without missing values, an unordered multi-level item, missing predictors.
    """
    data = check_dataframe(data)
    items = [items] if isinstance(items, str) else list(items)
    if not items:
        raise DataError("items= names no columns to impute")
    check_columns(data, list(items) + list(predictors), what="impute()", error=DataError)
    if not isinstance(m, int) or m < 2:
        raise DataError(f"m must be an integer >= 2 (imputations), got {m!r}")
    if not isinstance(n_iter, int) or n_iter < 1:
        raise DataError(f"n_iter must be a positive integer, got {n_iter!r}")
    if dont_know == "category":
        raise DataError(
            "dont_know='category' makes 'Ved ikke' a level, which an ordinal imputation model "
            "cannot place; use 'missing' (impute them) or 'drop'"
        )
    dk_items = [it for it in items if f"{it}_dk" in data.columns]
    dk_report = None
    if dk_items:
        data, dk_report = apply_dont_know(data, dont_know, items=dk_items)
    enc = [_encode_item(data, it) for it in items]
    deltas = (
        {it: float(delta) for it in items}
        if not isinstance(delta, Mapping)
        else {it: float(delta.get(it, 0.0)) for it in items}
    )
    if isinstance(delta, Mapping) and set(delta) - set(items):
        unknown = set(delta) - set(items)
        raise DataError(f"delta names items {sorted(unknown)} that are not in items=")
    P = _predictor_matrix(data, predictors)
    if delta_rows is None:
        shift_mask = np.ones(len(data), bool)
    elif isinstance(delta_rows, str):
        try:
            shift_mask = data.index.isin(data.query(delta_rows).index)
        except Exception as exc:  # pandas raises many types for a bad expression
            raise DataError(f"delta_rows={delta_rows!r} failed: {exc}") from exc
    else:
        shift_mask = np.asarray(
            delta_rows.reindex(data.index) if isinstance(delta_rows, pd.Series) else delta_rows
        )
        if shift_mask.shape != (len(data),) or shift_mask.dtype != bool:
            raise DataError(
                f"delta_rows must be a query string or a boolean mask of length {len(data)}"
            )
    seeds = (
        random_seed
        if isinstance(random_seed, np.random.SeedSequence)
        else np.random.SeedSequence(random_seed)
    ).spawn(m)
    datasets, means = [], np.zeros((m, n_iter, len(items)))
    for c, ss in enumerate(seeds):
        rng = np.random.default_rng(ss)
        cur = np.column_stack([it.codes for it in enc])
        for j, it in enumerate(enc):
            obs_codes = it.codes[~it.missing]
            cur[it.missing, j] = rng.choice(obs_codes, size=int(it.missing.sum()))
        for sweep in range(n_iter):
            for j, it in enumerate(enc):
                others = np.delete(cur, j, axis=1)
                others = (others - others.mean(axis=0)) / np.where(
                    others.std(axis=0) > 0, others.std(axis=0), 1.0
                )
                X = np.hstack([P, others])
                shift = deltas[it.name] * shift_mask[it.missing]
                cur[it.missing, j] = _impute_item(it, X, shift, ridge, rng)
            means[c, sweep] = cur.mean(axis=0)
        out = data.copy()
        for j, it in enumerate(enc):
            vals = [it.levels[int(k)] for k in cur[:, j]]
            if isinstance(it.dtype, pd.CategoricalDtype):
                out[it.name] = pd.Categorical(vals, dtype=it.dtype)
            else:
                out[it.name] = pd.Series(vals, index=out.index).astype(it.dtype)
        datasets.append(out)
    return MultipleImputation(
        datasets=datasets,
        items=tuple(items),
        methods={it.name: it.kind for it in enc},
        n_missing={it.name: int(it.missing.sum()) for it in enc},
        delta=deltas,
        n_iter=n_iter,
        chain_means=means,
        dont_know=dk_report,
    )
