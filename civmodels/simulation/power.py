"""Power analysis by simulation: how often would a survey like the 2015 one detect a given
group difference, with each analysis method?

Each replicate simulates one survey (by default with :func:`civmodels.data.simulate_survey`,
with the group effect set to ``log(effect)``), runs every method on the same data set, and
records the p-value (or posterior probability of direction), the estimate and whether the
difference was detected. Power is the share of replicates that detect it; its Monte Carlo
standard error is ``sqrt(p (1 - p) / n_sims)``.
"""

from __future__ import annotations

import importlib
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .._validation import check_positive_int
from ..results import Summary
from ._runner import SimulationResult, Study, recorded_warnings, run, warning_text

__all__ = [
    "METHODS",
    "PowerCurve",
    "PowerResult",
    "PowerStudy",
    "pearson_chi2",
    "power",
    "power_curve",
    "synthetic_frame",
]

CLUSTER = "municipality_code"

#: The analysis methods :func:`power` knows, with the module each needs.
METHODS: dict[str, str] = {
    "chi2": "scipy (always available)",
    "rao-scott": "civmodels.nonresponse.crosstab (Rao-Scott corrected chi-square)",
    "ordinal-cluster": "civmodels.Ordinal(...).fit(cov_type='cluster')",
    "mixed": "civmodels.Ordinal('y ~ x + (1 | municipality_code)').fit(method='agq')",
    "bayes": "civmodels.bayes.Ordinal (PyMC; slow: seconds per replicate)",
}
_DEFAULT_METHODS = ("chi2", "rao-scott", "ordinal-cluster", "mixed")


# --------------------------------------------------------------------------------------
# analysis methods: each takes (data, outcome, by, rng, options) and returns
# (p_value or posterior probability, estimate, detected)
# --------------------------------------------------------------------------------------


def _codes(s: pd.Series) -> np.ndarray:
    """Integer codes of a column, -1 for missing (categories in order, else sorted values)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.cat.codes.to_numpy()
    values = s.to_numpy()
    if values.dtype.kind in "biu":
        return np.unique(values, return_inverse=True)[1]
    return pd.factorize(s, sort=True)[0]


def _direction(y: np.ndarray, g: np.ndarray) -> float:
    """Mean outcome code of the higher group minus the lower group (the sign a chi-square
    test lacks)."""
    levels = np.unique(g)
    return float(y[g == levels[-1]].mean() - y[g == levels[0]].mean())


def pearson_chi2(table: np.ndarray) -> tuple[float, int, float]:
    """Pearson's chi-square test of independence on a contingency table.

    No continuity correction (as the report's tests); rows and columns that are empty are
    dropped first, as they carry no information. Equal to
    ``scipy.stats.chi2_contingency(table, correction=False)`` on the reduced table, at a
    fraction of its overhead (it runs once per replicate and method).

    Returns
    -------
    statistic, df, p_value
    """
    table = np.asarray(table, dtype=float)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    if min(table.shape) < 2:
        raise ValueError("the cross-table has fewer than two non-empty rows or columns")
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    statistic = float(((table - expected) ** 2 / expected).sum())
    df = (table.shape[0] - 1) * (table.shape[1] - 1)
    return statistic, df, float(stats.chi2.sf(statistic, df))


def _chi2(df: pd.DataFrame, outcome: str, by: str, alpha: float, **_: Any) -> dict[str, Any]:
    y, g = _codes(df[outcome]), _codes(df[by])
    ok = (y >= 0) & (g >= 0)
    y, g = y[ok], g[ok]
    table = np.zeros((g.max() + 1, y.max() + 1))
    np.add.at(table, (g, y), 1)
    p = pearson_chi2(table)[2]
    return {"p_value": p, "estimate": _direction(y, g), "detected": p < alpha}


def _need(module: str, attr: str | None, method: str) -> Any:
    try:
        mod = importlib.import_module(module)
        return mod if attr is None else getattr(mod, attr)
    except (ImportError, AttributeError) as exc:
        raise ImportError(
            f"power method {method!r} needs {module}{'.' + attr if attr else ''}, which is "
            f"not available in this installation ({exc}); choose from the methods available "
            f"or install a civmodels that includes it"
        ) from exc


def _rao_scott(df: pd.DataFrame, outcome: str, by: str, alpha: float, **_: Any) -> dict:
    nr = _need("civmodels.nonresponse", None, "rao-scott")
    # The full data go into the design: rows missing an item are a domain, and the variance
    # keeps every municipality (as R survey's svychisq on a subset design).
    design = nr.SurveyDesign(df.reset_index(drop=True), cluster=CLUSTER)
    test = nr.crosstab(design, by, outcome).test("rao-scott")
    y, g = _codes(df[outcome]), _codes(df[by])
    ok = (y >= 0) & (g >= 0)
    y, g = y[ok], g[ok]
    p = float(test.p_value)
    return {"p_value": p, "estimate": _direction(y, g), "detected": p < alpha}


def _model_class(df: pd.DataFrame, outcome: str, namespace: Any) -> Any:
    s = df[outcome]
    if isinstance(s.dtype, pd.CategoricalDtype) and s.cat.ordered and len(s.cat.categories) > 2:
        return namespace.Ordinal
    if s.dropna().nunique() == 2:
        return namespace.Logistic
    return namespace.Ordinal


def _coef_of(params: pd.Series, by: str) -> str:
    names = [n for n in params.index if n == by or str(n).startswith(f"{by}[")]
    if len(names) != 1:
        raise ValueError(f"expected one coefficient for {by!r}, found {names}")
    return names[0]


def _wald(res: Any, by: str, alpha: float) -> dict[str, Any]:
    name = _coef_of(res.params, by)
    est, se = float(res.params[name]), float(res.std_errors[name])
    p = float(2 * stats.norm.sf(abs(est / se)))
    return {"p_value": p, "estimate": est, "detected": p < alpha}


def _ordinal_cluster(df: pd.DataFrame, outcome: str, by: str, alpha: float, **_: Any) -> dict:
    cm = _need("civmodels", None, "ordinal-cluster")
    cls = _model_class(df, outcome, cm)
    res = cls(f"{outcome} ~ {by}", data=df).fit(cov_type="cluster", cluster=CLUSTER)
    return _wald(res, by, alpha)


def _mixed(df: pd.DataFrame, outcome: str, by: str, alpha: float, **_: Any) -> dict:
    cm = _need("civmodels", None, "mixed")
    cls = _model_class(df, outcome, cm)
    res = cls(f"{outcome} ~ {by} + (1 | {CLUSTER})", data=df).fit(method="agq")
    return _wald(res, by, alpha)


def _bayes(
    df: pd.DataFrame,
    outcome: str,
    by: str,
    alpha: float,
    rng: np.random.Generator,
    bayes_options: Mapping[str, Any] | None = None,
    **_: Any,
) -> dict:
    bayes = _need("civmodels.bayes", None, "bayes")
    cls = _model_class(df, outcome, bayes)
    opts: dict[str, Any] = {"draws": 500, "tune": 500, "chains": 2}
    opts.update(bayes_options or {})
    res = cls(f"{outcome} ~ {by} + (1 | {CLUSTER})", data=df).fit(
        random_seed=int(rng.integers(2**31)), **opts
    )
    name = _coef_of(res.params, by)
    draws = _posterior_draws(res, name)
    # The replication runner's rule (civmodels.replication): the two-sided posterior tail
    # probability 2 min(P(d <= 0), P(d >= 0)) below alpha, i.e. P(direction) > 1 - alpha/2.
    below, above = float(np.mean(draws <= 0)), float(np.mean(draws >= 0))
    p_tail = min(1.0, 2 * min(below, above))
    return {"p_value": p_tail, "estimate": float(np.mean(draws)), "detected": p_tail < alpha}


def _posterior_draws(res: Any, name: str) -> np.ndarray:
    # civmodels.bayes results keep the draws under the frequentist names
    if hasattr(res, "_param_draws"):
        draws = res._param_draws()
        if name in draws.columns:
            return draws[name].to_numpy(dtype=float)
    post = res.idata.posterior
    for var in post.data_vars:
        da = post[var]
        for dim in da.dims[2:]:
            labels = [str(v) for v in da.coords[dim].values]
            if name in labels:
                return da.sel({dim: name}).values.ravel()
    raise ValueError(f"cannot find posterior draws of {name!r} in the result")


_IMPLEMENTATIONS: dict[str, Callable[..., dict[str, Any]]] = {
    "chi2": _chi2,
    "rao-scott": _rao_scott,
    "ordinal-cluster": _ordinal_cluster,
    "mixed": _mixed,
    "bayes": _bayes,
}

_REQUIREMENTS: dict[str, tuple[str, str | None]] = {
    "rao-scott": ("civmodels.nonresponse", "crosstab"),
    "ordinal-cluster": ("civmodels.ordinal", "Ordinal"),
    # the random-intercept engine is a separate module of the ordinal package
    "mixed": ("civmodels.ordinal.mixed", None),
    "bayes": ("civmodels.bayes", "Ordinal"),
}


def _check_methods(methods: Sequence[str] | str) -> tuple[str, ...]:
    if isinstance(methods, str):
        methods = (methods,)
    methods = tuple(methods)
    if not methods:
        raise ValueError(f"methods must name at least one of {list(METHODS)}")
    for m in methods:
        if m not in _IMPLEMENTATIONS:
            raise ValueError(f"unknown power method {m!r}; choose from {list(METHODS)}")
        if m in _REQUIREMENTS:
            _need(*_REQUIREMENTS[m], m)
    if len(set(methods)) != len(methods):
        raise ValueError(f"methods has duplicates: {list(methods)}")
    return methods


# --------------------------------------------------------------------------------------
# data: the foundation simulator over the real or a resampled frame
# --------------------------------------------------------------------------------------


def _survey_simulator() -> Callable[..., Any]:
    return _need("civmodels.data", "simulate_survey", "the default survey simulator")


def synthetic_frame(
    frame: pd.DataFrame,
    *,
    n_municipalities: int,
    positions: int | None = None,
    random_seed: int | np.random.Generator | None = None,
    municipality: str = CLUSTER,
) -> pd.DataFrame:
    """A survey frame with another number of municipalities or positions, by resampling.

    Municipalities are drawn (with replacement when more are asked for than exist, without
    otherwise) with all their positions; each copy gets a new code so that clusters stay
    distinct (and, if the frame has a ``municipality`` name column, a distinct name). If
    ``positions`` is given, positions are then drawn within the resampled municipalities
    (each keeps at least one) until the total matches. ``position_id`` is renumbered.

    Parameters
    ----------
    frame : pandas.DataFrame
        The real frame (``civmodels.data.load_frame()``): one row per position.
    n_municipalities : int
        Number of municipalities in the new frame.
    positions : int, optional
        Total number of positions (default: whatever the resampled municipalities have).
    random_seed : int or numpy.random.Generator, optional
        Seed of the resampling.
    municipality : str
        Column holding the municipality code.

    Returns
    -------
    pandas.DataFrame
        A frame with the same columns.
    """
    n_municipalities = check_positive_int(n_municipalities, "n_municipalities")
    rng = np.random.default_rng(random_seed)
    codes = frame[municipality].unique()
    replace = n_municipalities > len(codes)
    chosen = rng.choice(codes, size=n_municipalities, replace=replace)
    parts = []
    base = int(pd.to_numeric(pd.Series(codes)).max()) + 1 if replace else 0
    for k, code in enumerate(chosen):
        part = frame.loc[frame[municipality] == code].copy()
        if replace:
            # a fresh code per copy keeps resampled copies separate clusters
            part[municipality] = base + k
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    if positions is not None:
        positions = check_positive_int(positions, "positions")
        if positions < n_municipalities:
            raise ValueError(
                f"positions={positions} is fewer than n_municipalities={n_municipalities}; "
                "every municipality needs at least one position"
            )
        first = out.groupby(municipality, sort=False).head(1).index
        rest = out.index.difference(first)
        extra = positions - len(first)
        if extra <= len(rest):
            keep = rng.choice(rest, size=extra, replace=False)
            out = out.loc[first.union(pd.Index(keep))]
        else:
            add = rng.choice(out.index, size=positions - len(out), replace=True)
            out = pd.concat([out, out.loc[add]])
        out = out.sort_values(municipality, kind="stable").reset_index(drop=True)
    if replace and "municipality" in out.columns:
        # copies of a municipality are new municipalities: give them distinct names too
        copy = out.groupby(municipality, sort=False).ngroup()
        dup = out.drop_duplicates(municipality).duplicated("municipality")
        renamed = set(out.drop_duplicates(municipality).loc[dup, municipality])
        mask = out[municipality].isin(renamed)
        out.loc[mask, "municipality"] = (
            out.loc[mask, "municipality"].astype(str) + " (copy " + copy[mask].astype(str) + ")"
        )
    if "position_id" in out.columns:
        # positions are units of the frame: one id each
        out["position_id"] = np.arange(1, len(out) + 1)
    return out


class PowerStudy(Study):
    """One replicate of :func:`power`: simulate a survey, run every method on it.

    Each method's failure (e.g. a fit that does not converge) is recorded in that method's
    row (``error``) without losing the other methods' results of the replicate.
    """

    def __init__(
        self,
        *,
        effect: float,
        outcome: str,
        by: str,
        response_rate: float,
        methods: tuple[str, ...],
        alpha: float,
        frame: pd.DataFrame | None,
        frame_spec: Mapping[str, Any],
        simulate: Callable[..., pd.DataFrame] | None,
        bayes_options: Mapping[str, Any] | None,
    ) -> None:
        sim_name = (
            "civmodels.data.simulate_survey"
            if simulate is None
            else f"{getattr(simulate, '__module__', '?')}."
            f"{getattr(simulate, '__qualname__', repr(simulate))}"
        )
        super().__init__(
            name="power",
            parameters={
                "effect": float(effect),
                "outcome": outcome,
                "by": by,
                "response_rate": float(response_rate),
                "methods": list(methods),
                "alpha": float(alpha),
                "simulate": sim_name,
                "frame": dict(frame_spec),
                "bayes_options": dict(bayes_options or {}),
            },
        )
        self.frame = frame
        self.simulate = simulate

    def data(self, rng: np.random.Generator) -> pd.DataFrame:
        """Simulate the respondents' data of one replicate."""
        p = self.parameters
        if self.simulate is not None:
            return self.simulate(
                rng,
                effect=p["effect"],
                outcome=p["outcome"],
                by=p["by"],
                response_rate=p["response_rate"],
            )
        simulate_survey = _survey_simulator()
        kwargs: dict[str, Any] = {
            "random_seed": rng,
            "response_rate": p["response_rate"],
            "effects": {p["outcome"]: {p["by"]: math.log(p["effect"])}},
        }
        if self.frame is not None:
            kwargs["frame"] = self.frame
        return simulate_survey(**kwargs).data

    def __call__(self, rng: np.random.Generator) -> list[dict[str, Any]]:
        """Simulate one survey and analyse it with every method."""
        p = self.parameters
        df = self.data(rng)
        n = int(((_codes(df[p["outcome"]]) >= 0) & (_codes(df[p["by"]]) >= 0)).sum())
        rows = []
        for m in p["methods"]:
            row: dict[str, Any] = {"method": m, "n": n}
            try:
                with recorded_warnings() as caught:
                    out = _IMPLEMENTATIONS[m](
                        df,
                        p["outcome"],
                        p["by"],
                        p["alpha"],
                        rng=rng,
                        bayes_options=p["bayes_options"],
                    )
                row.update(out, error=None)
            except Exception as exc:
                row.update(
                    p_value=np.nan,
                    estimate=np.nan,
                    detected=None,
                    error=f"{type(exc).__name__}: {exc}",
                )
            row["warnings"] = warning_text(caught)
            rows.append(row)
        return rows


def _wilson(k: float, n: int, level: float = 0.95) -> tuple[float, float]:
    if n == 0:
        return (np.nan, np.nan)
    z = stats.norm.ppf(0.5 + level / 2)
    phat = k / n
    denom = 1 + z**2 / n
    centre = (phat + z**2 / (2 * n)) / denom
    half = z * math.sqrt(phat * (1 - phat) / n + z**2 / (4 * n**2)) / denom
    return centre - half, centre + half


def _summarise(replicates: pd.DataFrame, methods: Sequence[str]) -> pd.DataFrame:
    rows = []
    for m in methods:
        sub = replicates.loc[replicates["method"] == m]
        ok = sub.loc[sub["error"].isna()]
        n_ok = len(ok)
        k = float(ok["detected"].astype(bool).sum()) if n_ok else np.nan
        pw = k / n_ok if n_ok else np.nan
        lo, hi = _wilson(k, n_ok)
        rows.append(
            {
                "method": m,
                "power": pw,
                "mc_se": math.sqrt(pw * (1 - pw) / n_ok) if n_ok else np.nan,
                "ci_low": lo,
                "ci_high": hi,
                "n_sims": n_ok,
                "n_failed": len(sub) - n_ok,
                "n_warned": int(sub["warnings"].notna().sum()),
                "mean_n": float(sub["n"].mean()) if len(sub) else np.nan,
                "mean_estimate": float(ok["estimate"].mean()) if n_ok else np.nan,
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class PowerResult:
    """Result of :func:`power`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per method: ``power`` (share of replicates detecting the difference),
        ``mc_se`` (its Monte Carlo standard error), ``ci_low``/``ci_high`` (95% Wilson interval),
        ``n_sims`` (replicates analysed), ``n_failed`` (replicates where the method raised;
        excluded from its power and listed in ``replicates``), ``n_warned`` (replicates where
        it warned, e.g. an empty category or a convergence warning; the messages are in
        ``replicates["warnings"]``), ``mean_n`` (respondents with
        both variables) and ``mean_estimate``.
    replicates : pandas.DataFrame
        One row per replicate and method: ``p_value``, ``estimate``, ``detected``, ``error``,
        ``warnings``. ``estimate`` is the log odds ratio for the model-based methods and the
        difference in mean category code (group 1 minus group 0) for the chi-square tests.
    settings : dict
        The study's parameters.
    run : SimulationResult
        The runner's result (seed, failures of whole replicates, timing).
    """

    table: pd.DataFrame
    replicates: pd.DataFrame
    settings: dict[str, Any]
    run: SimulationResult = field(repr=False)

    def summary(self) -> Summary:
        """Settings and the power table as a :class:`~civmodels.results.Summary`."""
        info = {k: v for k, v in self.settings.items() if k not in ("methods", "frame")}
        info["replicates"] = self.run.n_sims
        info["random_seed"] = self.run.random_seed
        notes = [
            "power = share of replicates with p < alpha "
            "(bayes: P(direction) > 1 - alpha/2, the replication's rule)"
        ]
        if self.run.n_failed:
            notes.append(f"{self.run.n_failed} replicates failed entirely (see .run.failures)")
        return Summary(
            title="Power by simulation",
            info=info,
            blocks={"power": self.table},
            notes=tuple(notes),
        )


def power(
    effect: float,
    outcome: str = "mot_cost_effectiveness",
    by: str = "pressure_high",
    *,
    n_municipalities: int = 98,
    positions: int = 838,
    response_rate: float = 0.53,
    methods: Sequence[str] | str = _DEFAULT_METHODS,
    n_sims: int = 500,
    alpha: float = 0.05,
    random_seed: int | None = None,
    simulate: Callable[..., pd.DataFrame] | None = None,
    frame: pd.DataFrame | None = None,
    bayes_options: Mapping[str, Any] | None = None,
    n_jobs: int = -1,
    backend: str = "loky",
    client: Any = None,
    checkpoint: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> PowerResult:
    """Power to detect a group difference on a survey item, with each analysis method.

    Parameters
    ----------
    effect : float
        The true group difference as an odds ratio (> 0), on the cumulative-logit scale for an
        ordinal item: ``effect=1.5`` means the ``by`` group (e.g. high spending pressure) has
        1.5 times the odds of answering in a higher category. ``effect=1`` gives the
        false-positive rate (should be close to ``alpha``).
    outcome : str
        Codebook id of the item (ordinal or binary).
    by : str
        The binary grouping variable, e.g. ``"pressure_high"``.
    n_municipalities, positions : int
        Size of the survey frame. The defaults are the real frame (98 municipalities, 838
        positions); other values resample municipalities from it (:func:`synthetic_frame`,
        resampled once per call with ``random_seed``).
    response_rate : float
        Target unit response rate in (0, 1].
    methods : sequence of str
        Any of ``"chi2"`` (Pearson, as the report), ``"rao-scott"``, ``"ordinal-cluster"``,
        ``"mixed"`` (random-intercept model, AGQ) and ``"bayes"`` (P(direction) > 1 - alpha/2,
        the replication runner's rule; slow, not a default).
    n_sims : int
        Number of simulated surveys.
    alpha : float
        Significance level.
    random_seed : int, optional
        Root seed (see :func:`run`); the same seed gives the same simulated surveys for every
        effect and response rate (common random numbers), which smooths power curves.
    simulate : callable, optional
        Replace the survey simulator: ``simulate(rng, effect=, outcome=, by=, response_rate=)``
        returning the respondents' DataFrame (with ``municipality_code`` for the cluster-aware
        methods).
    frame : pandas.DataFrame, optional
        Survey frame to simulate from (default: ``civmodels.data.load_frame()``, resampled when
        ``n_municipalities``/``positions`` differ from it).
    bayes_options : mapping, optional
        Keyword arguments of the Bayesian fit (default draws=500, tune=500, chains=2).
    n_jobs, backend, client, checkpoint, progress
        Passed to :func:`run`.

    Returns
    -------
    PowerResult
        ``.table`` (power per method with Monte Carlo error) and ``.replicates``.

    Raises
    ------
    ImportError
        A method's module is not available (the message names it).
    ValueError
        Bad ``effect``, ``alpha``, ``response_rate``, ``methods`` or ``n_sims``.
    """
    if not (isinstance(effect, (int, float, np.floating, np.integer)) and effect > 0):
        raise ValueError(f"effect must be an odds ratio > 0, got {effect!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    if not 0 < response_rate <= 1:
        raise ValueError(f"response_rate must be in (0, 1], got {response_rate!r}")
    n_sims = check_positive_int(n_sims, "n_sims")
    methods = _check_methods(methods)
    n_municipalities = check_positive_int(n_municipalities, "n_municipalities")
    positions = check_positive_int(positions, "positions")
    frame_spec: dict[str, Any] = {}
    if simulate is None:
        _survey_simulator()
        frame, frame_spec = _frame_for(frame, n_municipalities, positions, random_seed)
    study = PowerStudy(
        effect=effect,
        outcome=outcome,
        by=by,
        response_rate=response_rate,
        methods=methods,
        alpha=alpha,
        frame=frame,
        frame_spec=frame_spec,
        simulate=simulate,
        bayes_options=bayes_options,
    )
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
    return PowerResult(
        table=_summarise(reps, methods),
        replicates=reps,
        settings=dict(study.parameters),
        run=res,
    )


def _frame_for(
    frame: pd.DataFrame | None, n_municipalities: int, positions: int, seed: int | None
) -> tuple[pd.DataFrame | None, dict[str, Any]]:
    if frame is None:
        load_frame = _need("civmodels.data", "load_frame", "the default survey frame")
        frame = load_frame()
        spec: dict[str, Any] = {"source": "civmodels.data.load_frame"}
    else:
        spec = {"source": "user", "n_rows": len(frame)}
    n_mun = frame[CLUSTER].nunique()
    if n_mun == n_municipalities and len(frame) == positions:
        return frame, spec
    frame = synthetic_frame(
        frame,
        n_municipalities=n_municipalities,
        positions=positions,
        random_seed=np.random.default_rng(np.random.SeedSequence(seed or 0, spawn_key=(2**31,))),
    )
    spec.update(n_municipalities=n_municipalities, positions=positions, resampled_seed=seed)
    return frame, spec


@dataclass(frozen=True)
class PowerCurve:
    """Power over a grid of response rates or effects (:func:`power_curve`).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per grid value and method (columns of :attr:`PowerResult.table` plus the
        varied setting).
    over : str
        The varied setting (``"response_rate"`` or ``"effect"``, ...).
    results : list of PowerResult
        The underlying results, one per grid value.
    """

    table: pd.DataFrame
    over: str
    results: list[PowerResult] = field(repr=False)

    def plot(self, ax: Any = None, *, target: float | None = 0.8) -> Any:
        """Power against the varied setting, one line per method with 95% Monte Carlo bands.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Axes to draw on (a new figure otherwise).
        target : float, optional
            Draw a horizontal reference line at this power (None: no line).

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        if ax is None:
            fig, ax = plt.subplots(figsize=(6, 4))
        else:
            fig = ax.figure
        for m, sub in self.table.groupby("method", sort=False):
            sub = sub.sort_values(self.over)
            line = ax.plot(sub[self.over], sub["power"], marker="o", label=str(m))[0]
            ax.fill_between(
                sub[self.over], sub["ci_low"], sub["ci_high"], color=line.get_color(), alpha=0.15
            )
        if target is not None:
            ax.axhline(target, color="grey", linestyle="--", linewidth=0.8)
        ax.set_xlabel(self.over.replace("_", " "))
        ax.set_ylabel("power")
        ax.set_ylim(0, 1)
        ax.legend(title="method", frameon=False)
        return fig


def power_curve(
    over: str = "response_rate",
    values: Sequence[float] = (0.3, 0.4, 0.53, 0.7, 0.9),
    **kwargs: Any,
) -> PowerCurve:
    """Power of each method over a grid of one setting of :func:`power`.

    Parameters
    ----------
    over : str
        The :func:`power` argument to vary, e.g. ``"response_rate"`` or ``"effect"``.
    values : sequence
        Its values.
    **kwargs
        Every other :func:`power` argument (``effect=`` is required unless ``over="effect"``).
        The same ``random_seed`` is used at every grid point (common random numbers).
        ``checkpoint`` is not supported here (one study per grid point).

    Returns
    -------
    PowerCurve
        ``.table`` and ``.plot()``.
    """
    allowed = {"effect", "response_rate", "n_municipalities", "positions", "alpha"}
    if over not in allowed:
        raise ValueError(f"over must be one of {sorted(allowed)}, got {over!r}")
    if over in kwargs:
        raise ValueError(f"{over}= is varied by power_curve; pass the grid as values=")
    if "checkpoint" in kwargs:
        raise ValueError("power_curve does not take checkpoint=; run power() per value instead")
    values = list(values)
    if not values:
        raise ValueError("values must hold at least one value")
    results, tables = [], []
    for v in values:
        point: dict[str, Any] = {over: v, **kwargs}
        r = power(**point)
        results.append(r)
        t = r.table.copy()
        t.insert(0, over, v)
        tables.append(t)
    return PowerCurve(table=pd.concat(tables, ignore_index=True), over=over, results=results)
