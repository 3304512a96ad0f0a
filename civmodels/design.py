"""Survey designs and sandwich covariance estimators.

This module sits at the bottom of civmodels (next to ``data``): the models' covariance code,
the tables and ``civmodels.nonresponse`` all build on it.

* :class:`SurveyDesign` holds weights, primary sampling units (clusters), strata and a finite
  population correction — or, for a Poisson sample (``pps="poisson"``), each unit's inclusion
  probability — and computes the Taylor-linearisation variance of estimated totals.
  For an M-estimator with weighted estimating equations ``sum_i w_i s_i(b) = 0`` and
  ``A = -d/db sum_i w_i s_i``, the design-based covariance is
  ``A^-1 Var_design(sum_i w_i s_i) A^-1`` — what R's ``survey::svyglm`` and ``svyolr`` report.
  It also gives design-based means, proportions and totals with standard errors and
  design effects, overall, by domain (``by=``) and for subpopulations (:meth:`subset`).
* :func:`sandwich` gives the heteroskedasticity-robust (HC0) and cluster-robust covariance of
  an M-estimator, with the usual small-sample correction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from ._validation import check_columns
from .exceptions import DesignError
from .results import Summary, SummaryDisplay, wald_table

__all__ = [
    "DesignEstimate",
    "ReplicateDesign",
    "SurveyDesign",
    "not_estimable",
    "replicate_factors",
    "replicate_fit_vcov",
    "sandwich",
]

LonelyPSU = Literal["fail", "certainty", "adjust", "remove"]
PPS = Literal["poisson"]


def _column_or_array(data: pd.DataFrame, value: object, name: str) -> pd.Series | None:
    if value is None:
        return None
    if isinstance(value, str):
        if value not in data.columns:
            raise DesignError(
                f"{name}={value!r} is not a column of the data; available columns include "
                f"{list(data.columns)[:12]}"
            )
        return data[value]
    if isinstance(value, pd.Series):
        # a Series is matched by label, never by position
        if value.index.equals(data.index):
            return value
        missing = data.index.difference(value.index)
        if value.index.is_unique and not len(missing):
            return value.reindex(data.index)
        problem = (
            "its index has duplicate labels"
            if not value.index.is_unique
            else f"{len(missing)} of {len(data)} data rows have no value (first: {missing[0]!r})"
        )
        raise DesignError(
            f"{name} is a Series whose index does not match the data's rows: {problem}. A "
            "Series is matched to the rows by label."
            + (
                " Propensity weights are indexed by position_id: attach them with "
                "pw.attach(survey), which matches each respondent's position_id — never by "
                "dropping or reordering rows"
                if name == "weights"
                else ""
            )
        )
    arr = np.asarray(value)
    if arr.ndim != 1 or len(arr) != len(data):
        raise DesignError(
            f"{name} has shape {arr.shape} but the data have {len(data)} rows; pass a column "
            "name, or a Series indexed like the data (matched by label)"
        )
    return pd.Series(arr, index=data.index)


def check_weight_values(
    values: object, index: pd.Index, name: str = "weights", *, allow_zero: bool = True
) -> np.ndarray:
    """Weights as floats, validated.

    Parameters
    ----------
    values : array_like
        The weights (numbers, or text that parses as numbers).
    index : pandas.Index
        Row labels, used to name the first offending row.
    name : str, default "weights"
        How the weights are named in messages (e.g. ``"weights column 'w'"``).
    allow_zero : bool, default True
        Zero is allowed: a zero-weight row keeps its PSU but contributes nothing, as in
        R ``survey``.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    DesignError
        Missing, non-numeric, infinite or negative values (zero too if not
        ``allow_zero``), naming the column, the count and the first offending row and value.
    """
    raw = pd.Series(np.asarray(values, dtype=object), index=index)
    w = pd.to_numeric(raw, errors="coerce").to_numpy(float)
    kinds = {
        "missing or non-numeric": np.isnan(w),
        "infinite": np.isinf(w),
        "negative": w < 0,
    }
    if not allow_zero:
        kinds["zero"] = w == 0
    for what, bad in kinds.items():
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DesignError(
                f"{name} has {int(bad.sum())} {what} value(s) (first at row {index[i]!r}: "
                f"{raw.iloc[i]!r}); weights must be finite and "
                + ("non-negative" if allow_zero else "positive")
                + " — fix them, or drop those rows before building the design and report how "
                "many"
            )
    return w


def _check_pps_arguments(
    pps: object, probs: object, *, cluster: object, strata: object, fpc: object
) -> None:
    """Refuse ``pps``/``probs`` combinations the Poisson-sampling variance does not cover."""
    if pps is None:
        if probs is not None:
            raise DesignError(
                "probs= gives the inclusion probabilities of a Poisson sample and is used only "
                "with pps='poisson'; pass pps='poisson' too, or weights=1/probs for a design "
                "without the per-unit finite population correction"
            )
        return
    if pps != "poisson":
        raise DesignError(
            f"pps={pps!r}; the only unequal-probability design offered is pps='poisson' "
            "(Poisson sampling, R's poisson_sampling)"
        )
    given = [
        name
        for name, v in (("cluster", cluster), ("strata", strata), ("fpc", fpc))
        if v is not None
    ]
    if given:
        raise DesignError(
            f"pps='poisson' with {', '.join(f'{g}=' for g in given)}: Poisson sampling here is a "
            "one-stage design of units, each included independently, whose finite population "
            "correction is 1 - π_i per unit (from probs= or 1/weights). Drop "
            + " and ".join(f"{g}=" for g in given)
            + ", or drop pps='poisson' to use the clustered/stratified design with one "
            "sampling fraction per stratum"
        )


def _inclusion_probabilities(
    values: pd.Series | None, index: pd.Index, name: str | None
) -> np.ndarray:
    """Inclusion probabilities of a Poisson sample, validated: finite, in (0, 1]."""
    assert values is not None
    label = f"probs column {name!r}" if name else "probs"
    raw = pd.Series(np.asarray(values, dtype=object), index=index)
    pi = pd.to_numeric(raw, errors="coerce").to_numpy(float)
    kinds = {
        "missing or non-numeric": np.isnan(pi),
        "infinite": np.isinf(pi),
        "zero or negative": pi <= 0,
        "above 1": pi > 1,
    }
    for what, bad in kinds.items():
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DesignError(
                f"{label} has {int(bad.sum())} {what} value(s) (first at row {index[i]!r}: "
                f"{raw.iloc[i]!r}); inclusion probabilities must be in (0, 1] for every row — "
                "fix them (a unit sampled with certainty has probability 1), or drop those rows "
                "before building the design and report how many"
            )
    return pi


def _probs_from_weights(w: pd.Series, name: str | None) -> np.ndarray:
    """π_i = 1 / w_i for a Poisson design built from weights alone (rows with weight 0 add
    nothing to any estimate, so their π is set to 1)."""
    wv = w.to_numpy(float)
    low = (wv > 0) & (wv < 1)
    if low.any():
        i = int(np.flatnonzero(low)[0])
        label = f"weights column {name!r}" if name else "weights"
        raise DesignError(
            f"pps='poisson' takes the inclusion probabilities as 1/weights, but {label} has "
            f"{int(low.sum())} value(s) below 1 (first at row {w.index[i]!r}: {wv[i]!r}), "
            "i.e. probabilities above 1. Weights normalised to the sample (mean 1) or rescaled "
            "must be inverse probabilities scaled to the population (summing to about N); "
            "or pass the inclusion probabilities themselves with probs="
        )
    with np.errstate(divide="ignore"):
        return np.where(wv > 0, 1.0 / np.where(wv > 0, wv, 1.0), 1.0)


class SurveyDesign:
    """A (possibly stratified, clustered, weighted) sample design.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per sampled unit. The index must be unique (rows are addressed by label).
    weights : str or array_like, optional
        Sampling (probability or nonresponse) weights: a column name, an array aligned with
        ``data``, or a Series matched to ``data`` by index label. All must be finite and
        non-negative; a row with weight 0 keeps its PSU but contributes nothing (it is left
        out of the estimates' ``n`` and counted in ``n_zero_weight``). Defaults to 1.
    cluster : str, array_like or list of two str, optional
        Primary sampling unit of each row (e.g. ``"municipality_code"``). Defaults to each row
        being its own PSU. A list of two column names, e.g.
        ``["municipality_code", "position_id"]``, gives a two-stage design; the second stage
        enters the variance only when ``fpc`` has a second element (as in R ``svydesign``;
        otherwise the first stage is the "ultimate cluster").
    strata : str or array_like, optional
        Stratum of each row. Defaults to a single stratum.
    fpc : str, array_like or list of two str, optional
        Finite population correction, constant within a stratum: either the number of PSUs in
        the population stratum (values > 1) or the sampling fraction of PSUs (values in (0, 1]),
        as in R ``survey::svydesign``. For a two-stage design, a list: the stage-one fpc and
        the number (or fraction) of second-stage units in each PSU's population, constant
        within a PSU. With every municipality in the frame (a census of PSUs) only the second
        stage contributes variance.
    lonely_psu : {"fail", "certainty", "adjust", "remove"}, default "fail"
        What to do with a stratum that has a single PSU, as R's ``survey.lonely.psu`` option:
        ``"fail"`` raises; ``"certainty"`` and ``"remove"`` let the stratum contribute no
        variance; ``"adjust"`` centres its PSU total at the grand mean of PSU totals.
    calibrated_on : sequence of str, optional
        Columns the ``weights`` were calibrated to (by :func:`~civmodels.nonresponse.rake`,
        post-stratification or :func:`~civmodels.nonresponse.calibrate`). The variance then
        uses residuals from the calibration model, which is smaller for variables the
        margins predict — what R ``survey`` does for a calibrated design. Without it the
        calibrated weights are treated as fixed (conservative).
    calibration : {"raking", "linear"}, default "raking"
        ``"raking"`` (also post-stratification): the linearised values are centred within
        each category of each margin in turn (R's 10 sweeps). ``"linear"``: GREG residuals
        from a regression on the calibration variables (intercept, treatment-coded
        categoricals, numerics), for any :func:`~civmodels.nonresponse.calibrate` distance.
    base_weights : str or array_like, optional
        The weights *before* calibration; required with ``calibration="linear"``.
    pps : {"poisson"}, optional
        ``"poisson"``: the rows are a Poisson sample of the population's units — each unit
        was included independently with its own probability ``π_i`` (for example
        respondents, when every unit of a known frame responds independently with its own
        response probability). The variance then has a per-unit finite population
        correction, ``Σ_i (1 − π_i) z_i²`` for weighted linearised values ``z_i``, as R
        ``svydesign(ids = ~1, probs = ~p, pps = poisson_sampling(p))``. Each row is its own
        PSU; ``cluster=``, ``strata=`` and ``fpc=`` are refused with it (Poisson sampling is
        a one-stage design of units; its fpc is ``1 − π_i``). Default: no Poisson sampling.
    probs : str or array_like, optional
        With ``pps="poisson"``: the inclusion probabilities ``π_i``, in (0, 1], as a column
        name, an aligned array or a Series matched by index label. Without ``probs`` they
        are ``1 / weights`` (so the weights must be at least 1: inverse probabilities scaled
        to the population, not normalised to the sample). Without ``weights`` the weights
        are ``1 / probs`` (R's ``probs=``). With both, ``weights`` give the estimates and
        ``probs`` the fpc factors ``1 − π_i`` — for calibrated weights, say, with the
        probabilities before calibration (R keeps the design's ``π_i`` after ``calibrate``).

    Attributes
    ----------
    data : pandas.DataFrame
        The rows of the design (of the domain, for a design made by :meth:`subset`).
    weights : pandas.Series
        Sampling weights aligned with ``data``.
    n_obs : int
        Number of rows (zero-weight rows included).
    n_zero_weight : int
        Rows with weight 0.
    weights_kind : str
        What the weights are ("sampling weights", or a description of replicate weights).
    n_psu : int
        Number of primary sampling units with at least one row in ``data``.
    n_strata : int
        Number of strata with at least one row in ``data``.
    degf : int
        Design degrees of freedom, ``n_psu - n_strata`` (as R's ``degf``); ``n - 1`` for a
        Poisson sample, as R.
    pps : str or None
        ``"poisson"`` for a Poisson-sampling design, else None.
    probs : pandas.Series or None
        Inclusion probabilities ``π_i`` of a Poisson-sampling design (aligned with ``data``).

    Notes
    -----
    The variance of an estimated total ``t = sum_i z_i`` (``z_i`` already weighted) is the
    with-replacement, first-stage linearisation estimator

    .. math:: \\hat V(t) = \\sum_h (1 - f_h) \\frac{n_h}{n_h - 1}
              \\sum_{i \\in h} (z_{hi} - \\bar z_h)(z_{hi} - \\bar z_h)^\\top,

    where ``z_hi`` is the total of PSU ``i`` in stratum ``h``, ``n_h`` the number of PSUs in the
    stratum and ``f_h`` its sampling fraction (0 without ``fpc``). This matches
    ``survey::svyrecvar`` for one-stage designs. A two-stage design adds, for each PSU,
    ``f_h (1 - f_2) m/(m-1) Σ_j (z_j - z̄)(z_j - z̄)'`` over its ``m`` sampled second-stage
    units (R's ``multistage``).

    With ``pps="poisson"`` the variance is instead the Horvitz–Thompson variance of a Poisson
    sample, whose joint inclusion probabilities are ``π_i π_j``:

    .. math:: \\hat V(t) = \\sum_i (1 - \\pi_i)\\, z_i z_i^\\top,

    with ``z_i`` weighted (``z_i = w_i u_i``; ``= u_i / π_i`` when ``w_i = 1/π_i``). There is
    no centring and no ``n/(n-1)``: this is R's ``poisson_sampling`` (``ppsvar`` with the
    diagonal ``Δ̌ = diag(1 − π)``), to rounding. A unit with ``π_i = 1`` (a certainty unit)
    contributes no variance. Domains (``by=``, :meth:`subset`) give zero contributions
    outside the domain, which for a Poisson sample is the same as dropping those rows.

    Means and proportions (:meth:`mean`, :meth:`proportion`) are ratio estimators
    ``sum w y / sum w`` linearised as ``z_i = w_i (y_i - ybar) / sum w``. Domain estimates
    (``by=``, :meth:`subset`, rows with missing values) keep every PSU of the full design, with
    zero contributions outside the domain, which is the correct domain variance (Lumley 2010,
    ch. 2.3) and what R ``svyby`` / ``subset.survey.design`` do.

    References
    ----------
    Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley.
    """

    def __init__(
        self,
        data: pd.DataFrame,
        *,
        weights: str | np.ndarray | pd.Series | None = None,
        cluster: str | np.ndarray | pd.Series | None = None,
        strata: str | np.ndarray | pd.Series | None = None,
        fpc: str | np.ndarray | pd.Series | None = None,
        lonely_psu: LonelyPSU = "fail",
        calibrated_on: Sequence[str] | None = None,
        calibration: Literal["raking", "linear"] = "raking",
        base_weights: str | np.ndarray | pd.Series | None = None,
        pps: PPS | None = None,
        probs: str | np.ndarray | pd.Series | None = None,
    ) -> None:
        if not isinstance(data, pd.DataFrame):
            raise DesignError(f"data must be a pandas DataFrame, got {type(data).__name__}")
        if lonely_psu not in ("fail", "certainty", "adjust", "remove"):
            raise DesignError(
                f"lonely_psu={lonely_psu!r}; choose 'fail', 'certainty', 'adjust' or 'remove'"
            )
        if not data.index.is_unique:
            raise DesignError(
                "data has a non-unique index; rows are addressed by label, so call "
                "data.reset_index(drop=True) before building the design"
            )
        self.data = data
        self.lonely_psu = lonely_psu
        self.weights_name = weights if isinstance(weights, str) else None
        _check_pps_arguments(pps, probs, cluster=cluster, strata=strata, fpc=fpc)
        self.pps = pps
        self.probs_name = probs if isinstance(probs, str) else None
        pi_given = None
        if pps == "poisson" and probs is not None:
            pi_given = _inclusion_probabilities(
                _column_or_array(data, probs, "probs"), data.index, self.probs_name
            )
            if weights is None:  # R: weights = 1 / probs
                weights = pd.Series(1.0 / pi_given, index=data.index)
        stage2 = None
        fpc2 = None
        if isinstance(cluster, (list, tuple)):
            if len(cluster) == 1:
                cluster = cluster[0]
            elif len(cluster) == 2:
                cluster, stage2 = cluster
            else:
                raise DesignError(
                    f"cluster={cluster!r}: give one PSU column or two (PSU, second-stage unit)"
                )
        if isinstance(fpc, (list, tuple)):
            if len(fpc) == 1:
                fpc = fpc[0]
            elif len(fpc) == 2:
                fpc, fpc2 = fpc
                if stage2 is None:
                    raise DesignError(
                        "fpc has two stages but cluster names one; pass cluster=[psu, ssu]"
                    )
            else:
                raise DesignError(f"fpc={fpc!r}: give one column or two (one per stage)")
        self.cluster_name = cluster if isinstance(cluster, str) else None
        self.strata_name = strata if isinstance(strata, str) else None
        self.fpc_name = fpc if isinstance(fpc, str) else None

        w = _column_or_array(data, weights, "weights")
        if w is None:
            w = pd.Series(1.0, index=data.index)
        w = pd.Series(
            check_weight_values(
                w.to_numpy(),
                data.index,
                f"weights column {self.weights_name!r}" if self.weights_name else "weights",
            ),
            index=data.index,
        )
        if not (w > 0).any():
            raise DesignError("every weight is zero; at least one row needs a positive weight")
        self.weights = w
        self.weights_kind = "sampling weights"
        self.probs: pd.Series | None = None
        self._pi_full: np.ndarray | None = None
        if pps == "poisson":
            pi = pi_given if pi_given is not None else _probs_from_weights(w, self.weights_name)
            self._pi_full = pi
            self.probs = pd.Series(pi, index=data.index, name="probs")

        c = _column_or_array(data, cluster, "cluster")
        if c is not None and c.isna().any():
            raise DesignError(
                f"cluster has {int(c.isna().sum())} missing values; every row needs a PSU "
                "(fill them or drop those rows and report how many)"
            )
        s = _column_or_array(data, strata, "strata")
        if s is not None and s.isna().any():
            raise DesignError(f"strata has {int(s.isna().sum())} missing values")
        psu = pd.factorize(c)[0] if c is not None else np.arange(len(data), dtype=np.int64)
        self._stratum = pd.factorize(s)[0] if s is not None else np.zeros(len(data), np.int64)
        # PSUs are nested in strata: label a PSU by its (stratum, psu) pair.
        pairs = pd.MultiIndex.from_arrays([self._stratum, psu])
        self._psu = pd.factorize(pairs)[0]
        self._psu_stratum = pd.Series(self._stratum).groupby(self._psu).first().to_numpy()
        self._full_n = len(data)
        self._full_n_psu = int(self._psu.max() + 1) if len(data) else 0
        self._full_n_strata = int(self._stratum.max() + 1) if len(data) else 0
        self._rows = np.arange(len(data))
        self._n_h = np.bincount(self._psu_stratum, minlength=self._full_n_strata)

        f = _column_or_array(data, fpc, "fpc")
        self._frac = np.zeros(self._full_n_strata)
        if f is not None:
            fv = pd.to_numeric(f, errors="coerce").to_numpy(float)
            if np.isnan(fv).any() or (fv <= 0).any():
                raise DesignError("fpc must be positive and non-missing in every row")
            for h in range(self._full_n_strata):
                vals = np.unique(fv[self._stratum == h])
                if len(vals) != 1:
                    raise DesignError(
                        f"fpc must be constant within a stratum; stratum {h} has values "
                        f"{vals[:5].tolist()}"
                    )
                v = vals[0]
                if v > 1:
                    if v < self._n_h[h]:
                        raise DesignError(
                            f"fpc={v:g} population PSUs is smaller than the {self._n_h[h]} "
                            f"PSUs sampled in stratum {h}"
                        )
                    self._frac[h] = self._n_h[h] / v
                else:
                    self._frac[h] = v
        lonely = np.flatnonzero(self._n_h == 1)
        if len(lonely) and lonely_psu == "fail":
            raise DesignError(
                f"{len(lonely)} stratum/strata have a single PSU, so their variance cannot be "
                "estimated; pass lonely_psu='certainty' (no contribution), 'remove', or "
                "'adjust' (centre at the grand mean), as R's survey.lonely.psu option"
            )
        self._ssu: np.ndarray | None = None
        if stage2 is not None and fpc2 is not None:
            self._setup_stage2(data, stage2, fpc2, f)
        self._w_full = w.to_numpy(float)
        self._cal: tuple[str, Any] | None = None
        self.calibrated_on = None if calibrated_on is None else list(calibrated_on)
        if calibrated_on is not None:
            self._setup_calibration(data, list(calibrated_on), calibration, base_weights)
        self._set_counts()

    def _setup_calibration(
        self, data: pd.DataFrame, cols: list[str], kind: str, base: object
    ) -> None:
        check_columns(data, cols, what="calibrated_on=", error=DesignError)
        if data[cols].isna().any().any():
            raise DesignError(f"calibration variables {cols} have missing values")
        if kind == "raking":
            codes = []
            for c in cols:
                if pd.api.types.is_numeric_dtype(data[c]) and data[c].nunique() > 20:
                    raise DesignError(
                        f"calibrated_on column {c!r} looks continuous; raking margins are "
                        "categorical — use calibration='linear' for numeric totals"
                    )
                codes.append(pd.factorize(data[c])[0])
            self._cal = ("raking", codes)
        elif kind == "linear":
            b = _column_or_array(data, base, "base_weights")
            if b is None:
                raise DesignError(
                    "calibration='linear' needs base_weights= (the weights before calibration)"
                )
            d0 = pd.to_numeric(b, errors="coerce").to_numpy(float)
            if not np.isfinite(d0).all() or (d0 <= 0).any():
                raise DesignError("base_weights must be finite and positive")
            parts = [np.ones((len(data), 1))]
            for c in cols:
                col = data[c]
                if pd.api.types.is_numeric_dtype(col) and not isinstance(
                    col.dtype, pd.CategoricalDtype
                ):
                    parts.append(col.to_numpy(float)[:, None])
                else:
                    parts.append(
                        pd.get_dummies(col.astype(object), drop_first=True, dtype=float).to_numpy()
                    )
            mm = np.hstack(parts)
            whalf = np.sqrt(d0)
            q, r = np.linalg.qr(mm * whalf[:, None])
            keep = np.abs(np.diag(r)) > 1e-10 * np.abs(np.diag(r)).max()
            g = self._w_full / d0
            self._cal = ("linear", (q[:, keep], g * whalf))
        else:
            raise DesignError(f"calibration={kind!r}; choose 'raking' or 'linear'")

    def _calibration_residuals(self, z: np.ndarray) -> np.ndarray:
        """Residuals of the linearised values from the calibration model (R svyrecvar)."""
        assert self._cal is not None
        kind, spec = self._cal
        if kind == "linear":
            q, w = spec
            e = z / w[:, None]
            return (e - q @ (q.T @ e)) * w[:, None]
        psw = self._w_full[:, None]
        x = z.copy()
        for _ in range(10):  # R: 10 sweeps of centring within every margin
            for codes in spec:
                u = x / psw
                k = codes.max() + 1
                sums = np.zeros((k, x.shape[1]))
                np.add.at(sums, codes, u)
                x = x - psw * (sums / np.bincount(codes, minlength=k)[:, None])[codes]
        return x

    def _setup_stage2(
        self, data: pd.DataFrame, stage2: object, fpc2: object, fpc1: pd.Series | None
    ) -> None:
        u = _column_or_array(data, stage2, "cluster[1]")
        if u is None or u.isna().any():
            raise DesignError("the second-stage cluster column has missing values")
        if fpc1 is None:
            raise DesignError(
                "a two-stage variance needs the stage-one fpc too (fpc=[stage1, stage2]); "
                "without it the first stage is the ultimate cluster — pass cluster=<psu> only"
            )
        pairs = pd.MultiIndex.from_arrays([self._psu, pd.factorize(u)[0]])
        self._ssu = pd.factorize(pairs)[0]
        n_ssu = int(self._ssu.max() + 1)
        self._ssu_psu = pd.Series(self._psu).groupby(self._ssu).first().to_numpy()
        m = np.bincount(self._ssu_psu, minlength=self._full_n_psu)
        fv = pd.to_numeric(_column_or_array(data, fpc2, "fpc[1]"), errors="coerce").to_numpy(float)
        if np.isnan(fv).any() or (fv <= 0).any():
            raise DesignError("the second-stage fpc must be positive and non-missing in every row")
        per_psu = pd.Series(fv).groupby(self._psu)
        varying = np.flatnonzero(per_psu.nunique().to_numpy() != 1)
        if len(varying):
            p = int(varying[0])
            raise DesignError(
                f"the second-stage fpc must be constant within a PSU; PSU {p} has "
                f"{np.unique(fv[self._psu == p])[:5].tolist()}"
            )
        v = per_psu.first().to_numpy()
        small = (v > 1) & (v < m)
        if small.any():
            p = int(np.flatnonzero(small)[0])
            raise DesignError(
                f"second-stage fpc={v[p]:g} is smaller than the {m[p]} units sampled in a PSU"
            )
        f2 = np.where(v > 1, m / np.where(v > 1, v, 1.0), v)
        lonely = (m == 1) & (f2 < 1 - 1e-9)
        if lonely.any() and self.lonely_psu == "fail":
            raise DesignError(
                f"{int(lonely.sum())} PSU(s) have a single second-stage unit (and it is not a "
                "census), so their second-stage variance cannot be estimated; pass "
                "lonely_psu='certainty', 'remove' or 'adjust' (each then contributes 0)"
            )
        self._m2 = m
        self._f2 = f2
        self._n_ssu = n_ssu

    def _set_counts(self) -> None:
        self.n_obs = len(self._rows)
        self.n_zero_weight = int((self.weights.to_numpy() == 0).sum())
        self.n_psu = len(np.unique(self._psu[self._rows]))
        self.n_strata = len(np.unique(self._stratum[self._rows]))
        self.degf = self.n_psu - self.n_strata

    def __repr__(self) -> str:
        parts = [f"n_obs={self.n_obs}", f"n_psu={self.n_psu}", f"n_strata={self.n_strata}"]
        if self.weights_name:
            parts.append(f"weights={self.weights_name!r}")
        if self.pps:
            parts.append(f"pps={self.pps!r}")
        if self.n_obs < self._full_n:
            parts.append(f"domain of {self._full_n} rows")
        if self.n_zero_weight:
            parts.append(f"{self.n_zero_weight} rows with weight 0")
        return f"SurveyDesign({', '.join(parts)})"

    # ------------------------------------------------------------------ domains
    def subset(self, condition: str | np.ndarray | pd.Series) -> SurveyDesign:
        """The design restricted to a domain (subpopulation).

        Parameters
        ----------
        condition : str, boolean array or boolean Series
            Which rows belong to the domain: a :meth:`pandas.DataFrame.query` string (e.g.
            ``"area == 'social'"``), or a boolean mask aligned with ``data``. Missing values in
            a mask count as outside the domain.

        Returns
        -------
        SurveyDesign
            A design whose ``data`` and ``weights`` hold the domain rows only but whose
            variance estimates keep every PSU of the full design (zero contributions outside
            the domain), as R's ``subset.survey.design``. Its ``degf`` counts the domain's PSUs
            and strata, as R does.
        """
        if isinstance(condition, str):
            try:
                keep_index = self.data.query(condition).index
            except Exception as exc:  # pandas raises many types for a bad expression
                raise DesignError(f"subset condition {condition!r} failed: {exc}") from exc
            mask = self.data.index.isin(keep_index)
        else:
            arr = condition
            if isinstance(arr, pd.Series):
                if not arr.index.equals(self.data.index):
                    arr = arr.reindex(self.data.index)
                arr = arr.fillna(False).to_numpy()
            mask = np.asarray(arr)
            if mask.shape != (self.n_obs,) or mask.dtype != bool:
                raise DesignError(
                    f"subset condition must be a boolean mask of length {self.n_obs} or a query "
                    f"string; got dtype {mask.dtype} and shape {mask.shape}"
                )
        if not mask.any():
            raise DesignError(f"subset condition {condition!r} selects no rows")
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.data = self.data.loc[mask]
        new.weights = self.weights.loc[mask]
        if self.probs is not None:
            new.probs = self.probs.loc[mask]
        new._rows = self._rows[mask]
        new._set_counts()
        return new

    # ------------------------------------------------------------------ variances
    def _scatter(self, z: np.ndarray, index: pd.Index | None) -> np.ndarray:
        """Rows of ``z`` (labelled by ``index`` within ``data``) placed in the full design."""
        z = np.asarray(z, dtype=float)
        if z.ndim == 1:
            z = z[:, None]
        if index is not None:
            pos = self.data.index.get_indexer(index)
            if (pos < 0).any():
                raise DesignError("some rows of z are not rows of the design's data")
            rows = self._rows[pos]
        else:
            if len(z) != self.n_obs:
                raise DesignError(f"z has {len(z)} rows but the design has {self.n_obs}")
            rows = self._rows
        if len(rows) == self._full_n and np.array_equal(rows, np.arange(self._full_n)):
            return z
        full = np.zeros((self._full_n, z.shape[1]))
        full[rows] = z
        return full

    def total_vcov(self, z: np.ndarray, index: pd.Index | None = None) -> np.ndarray:
        """Linearisation covariance of the total ``sum_i z_i``.

        Parameters
        ----------
        z : ndarray of shape (n, p) or (n,)
            Per-row contributions, *already multiplied by the weights*.
        index : pandas.Index, optional
            Labels of the rows of ``z`` within ``data``. Rows of the design that are absent
            (e.g. dropped for missing values, or outside a domain) contribute zero but keep
            their PSU, which is how domain estimation must be done.

        Returns
        -------
        ndarray of shape (p, p)
            Estimated covariance matrix.
        """
        z = self._scatter(z, index)
        if self._cal is not None:
            z = self._calibration_residuals(z)
        if self._pi_full is not None:  # Poisson sampling: Σ (1 − π_i) z_i z_i'
            return (z * (1.0 - self._pi_full)[:, None]).T @ z
        p = z.shape[1]
        totals = np.zeros((self._full_n_psu, p))
        np.add.at(totals, self._psu, z)
        out = np.zeros((p, p))
        grand = totals.mean(axis=0) if self.lonely_psu == "adjust" else None
        for h in range(self._full_n_strata):
            t = totals[self._psu_stratum == h]
            n_h = len(t)
            if n_h == 1:
                if self.lonely_psu == "adjust" and grand is not None:
                    d = t - grand
                    out += (1 - self._frac[h]) * d.T @ d
                continue
            d = t - t.mean(axis=0)
            out += (1 - self._frac[h]) * n_h / (n_h - 1) * d.T @ d
        if self._ssu is not None:
            out += self._stage2_vcov(z)
        return out

    def _stage2_vcov(self, z: np.ndarray) -> np.ndarray:
        """Second-stage term: within each PSU, the variance of its sampled units' totals,
        scaled by the stage-one sampling fraction (R ``survey:::multistage``)."""
        assert self._ssu is not None
        p = z.shape[1]
        tot = np.zeros((self._n_ssu, p))
        np.add.at(tot, self._ssu, z)
        m = self._m2[self._ssu_psu]
        sums = np.zeros((self._full_n_psu, p))
        np.add.at(sums, self._ssu_psu, tot)
        d = tot - (sums / np.maximum(self._m2, 1)[:, None])[self._ssu_psu]
        f1 = self._frac[self._psu_stratum][self._ssu_psu]
        scale = np.where(m > 1, f1 * (1 - self._f2[self._ssu_psu]) * m / np.maximum(m - 1, 1), 0.0)
        return (d * scale[:, None]).T @ d

    @property
    def variance_method(self) -> str:
        """How standard errors are computed (shown in summaries)."""
        if self.pps == "poisson":
            return "Taylor linearisation, Poisson sampling (fpc 1 - π_i per unit)"
        return "Taylor linearisation"

    def estimate_vcov(
        self,
        z: np.ndarray,
        replicate_estimates: Callable[[np.ndarray], np.ndarray],
        estimate: np.ndarray,
    ) -> np.ndarray:
        """Covariance of an estimator given both ways a design can compute it.

        Parameters
        ----------
        z : ndarray of shape (n, p)
            Linearised (influence) values of the estimator for the rows of ``data``, already
            weighted — used by a linearisation design (:meth:`total_vcov`).
        replicate_estimates : callable
            ``f(W) -> ndarray (R, p)``: the estimates recomputed with each column of the
            ``(n, R)`` weight matrix ``W`` (rows of ``data``) — used by a
            :class:`ReplicateDesign`.
        estimate : ndarray of shape (p,)
            The full-sample estimate (the centre for ``mse=True``).

        Returns
        -------
        ndarray of shape (p, p)
        """
        return self.total_vcov(z)

    def replicate(
        self,
        method: Literal["jk1", "jkn", "bootstrap"] = "jk1",
        *,
        replicates: int = 200,
        random_seed: int | np.random.SeedSequence | np.random.Generator | None = None,
        mse: bool = False,
    ) -> ReplicateDesign:
        """Replicate weights for this design: jackknife or Rao–Wu rescaling bootstrap.

        Parameters
        ----------
        method : {"jk1", "jkn", "bootstrap"}, default "jk1"
            ``"jk1"``: delete-one-PSU jackknife for an unstratified design (R
            ``as.svrepdesign(type="JK1")``); replicate ``r`` drops PSU ``r`` and multiplies
            the other weights by ``n/(n-1)``; scale ``(1-f)(n-1)/n``. ``"jkn"``: the stratified
            jackknife, deleting one PSU at a time within its stratum and rescaling the rest of
            that stratum by ``n_h/(n_h-1)``; ``rscales = (1-f_h)(n_h-1)/n_h`` (R
            ``type="JKn"``). ``"bootstrap"``: the Rao–Wu rescaling bootstrap (R
            ``type="subbootstrap"``): in each stratum draw ``n_h - 1`` PSUs with replacement
            and multiply their weights by ``n_h/(n_h-1)`` times the number of draws; scale
            ``1/(R-1)``.
        replicates : int, default 200
            Number of bootstrap replicates (ignored by the jackknives, which have one
            replicate per PSU).
        random_seed : int, SeedSequence or Generator, optional
            Seed of the bootstrap draws; required for ``"bootstrap"``.
        mse : bool, default False
            Centre the replicate estimates at the full-sample estimate (``True``) rather
            than at their mean (R's ``survey.replicates.mse`` option).

        Returns
        -------
        ReplicateDesign
            With the full-sample weights of this design and one column of replicate weights
            per replicate; its ``degf`` is the rank of the replicate weights minus 1, as R's
            ``degf.svyrep.design``.

        Raises
        ------
        DesignError
            ``"jk1"`` on a stratified design, ``"jkn"`` without strata, a jackknife with a
            single PSU (no replicate can be formed), fewer than 2 bootstrap replicates, a
            bootstrap without a seed or with ``fpc``, a two-stage or calibrated design (build
            the replicates from the base weights and call :meth:`ReplicateDesign.reweight`
            to re-calibrate in every replicate), or a domain from :meth:`subset`.

        Notes
        -----
        Replicate weights are built at the first stage only: every row of a PSU gets the
        PSU's factor. With an ``fpc`` the jackknife scales shrink by ``1 - f``; a stratum
        sampled completely (``f = 1``) contributes nothing.
        """
        if self.n_obs < self._full_n:
            raise DesignError(
                "replicate() on a domain (from subset()); build the replicate design on the "
                "full design and call subset() on the ReplicateDesign instead"
            )
        if self._ssu is not None:
            raise DesignError(
                "replicate() builds first-stage replicates only; drop the second stage "
                "(cluster=<psu>, fpc=<stage-one fpc>) before replicating"
            )
        if self.pps is not None:
            raise DesignError(
                "replicate() on a Poisson-sampling design (pps='poisson'): the jackknife and "
                "bootstrap here have no per-unit finite population correction. Use the "
                "design's linearisation variance, or build the replicates from a design "
                "without pps= (with-replacement variance, conservative)"
            )
        if self._cal is not None:
            raise DesignError(
                "the design's weights are calibrated; build the replicate design from the "
                "weights before calibration and call .reweight(...) with the raking or "
                "calibration, so it is redone in every replicate"
            )
        factors, scale, rscales, label = replicate_factors(
            self._psu,
            self._psu_stratum,
            self._frac,
            method,
            replicates=replicates,
            random_seed=random_seed,
            lonely_psu=self.lonely_psu,
        )
        return ReplicateDesign(
            self.data,
            weights=self.weights,
            replicate_weights=self._w_full[:, None] * factors[self._psu],
            scale=scale,
            rscales=rscales,
            mse=mse,
            kind=label,
            degf=int(np.linalg.matrix_rank(factors)) - 1,
        )

    def vcov(
        self, scores: np.ndarray, bread_inv: np.ndarray, index: pd.Index | None = None
    ) -> np.ndarray:
        """Design-based (linearisation) covariance of an M-estimator.

        Parameters
        ----------
        scores : ndarray of shape (n, k)
            Per-row score contributions *multiplied by the weights*.
        bread_inv : ndarray of shape (k, k)
            Inverse of minus the Hessian of the weighted objective.
        index : pandas.Index, optional
            Labels of the rows of ``scores`` in the design's data (see :meth:`total_vcov`).

        Returns
        -------
        ndarray of shape (k, k)
        """
        meat = self.total_vcov(scores, index=index)
        return bread_inv @ meat @ bread_inv.T

    # ------------------------------------------------------------------ estimates
    def mean(
        self,
        y: str | Sequence[str],
        *,
        by: str | Sequence[str] | None = None,
        na_rm: bool = True,
    ) -> DesignEstimate:
        """Design-based means (proportions of each level for categorical columns).

        Parameters
        ----------
        y : str or sequence of str
            Columns. A numeric or boolean column gives its mean; a categorical, string or
            object column gives the proportion of each level (named ``"col[level]"``).
        by : str or sequence of str, optional
            Domain columns: one estimate per combination of their levels (R ``svyby``).
        na_rm : bool, default True
            Leave out rows with a missing value in ``y`` or ``by`` (as a domain, so the
            variance stays correct) and count them in ``n_dropped``; with ``False`` missing
            values raise.

        Returns
        -------
        DesignEstimate
            Estimates, linearisation covariance, standard errors, design effects.

        Examples
        --------
        >>> d = SurveyDesign(df, weights="w", cluster="municipality")  # doctest: +SKIP
        >>> d.mean("pressure_high", by="area").to_frame()  # doctest: +SKIP
        """
        return self._estimate(y, by, na_rm, kind="mean")

    def total(
        self,
        y: str | Sequence[str],
        *,
        by: str | Sequence[str] | None = None,
        na_rm: bool = True,
    ) -> DesignEstimate:
        """Design-based totals (weighted counts of each level for categorical columns).

        Parameters are as for :meth:`mean`.

        Returns
        -------
        DesignEstimate
        """
        return self._estimate(y, by, na_rm, kind="total")

    def proportion(
        self,
        y: str,
        *,
        by: str | Sequence[str] | None = None,
        na_rm: bool = True,
    ) -> DesignEstimate:
        """Design-based proportions of every level of one column.

        Unlike :meth:`mean`, a numeric column (e.g. 0/1 or Likert codes 1–4) is treated as
        categorical, and the estimates are indexed by the levels themselves.

        Parameters
        ----------
        y : str
            The column.
        by, na_rm
            As for :meth:`mean`.

        Returns
        -------
        DesignEstimate
        """
        if not isinstance(y, str):
            raise DesignError(f"proportion() takes one column name, got {y!r}")
        return self._estimate([y], by, na_rm, kind="proportion")

    def _estimate(
        self,
        y: str | Sequence[str],
        by: str | Sequence[str] | None,
        na_rm: bool,
        kind: str,
    ) -> DesignEstimate:
        cols = [y] if isinstance(y, str) else list(y)
        bys = [] if by is None else ([by] if isinstance(by, str) else list(by))
        if not cols:
            raise DesignError("y names no columns")
        check_columns(self.data, cols + bys, what=f"{kind}()", error=DesignError)
        na = self.data[cols + bys].isna().any(axis=1).to_numpy()
        if na.any() and not na_rm:
            counts = self.data[cols + bys].isna().sum()
            raise DesignError(
                f"missing values in {counts[counts > 0].to_dict()}; pass na_rm=True to leave "
                "those rows out of the estimate (they are counted in n_dropped)"
            )
        keep = ~na
        mats: list[np.ndarray] = []
        names: list[Any] = []
        for c in cols:
            m, labels = _term_matrix(self.data[c], keep, categorical=kind == "proportion")
            mats.append(m)
            names += (
                labels
                if kind == "proportion"
                else [c if lab is None else f"{c}[{lab}]" for lab in labels]
            )
        Y = np.hstack(mats)
        w = self.weights.to_numpy() * keep
        if bys:
            key = self.data[bys].loc[keep]
            groups = key.drop_duplicates().sort_values(bys)
            dom_labels = [tuple(r) for r in groups.itertuples(index=False)]
            code_of = {lab: i for i, lab in enumerate(dom_labels)}
            dom = np.full(self.n_obs, -1)
            dom[keep] = [code_of[tuple(r)] for r in key.itertuples(index=False)]
        else:
            dom_labels = [()]
            dom = np.where(keep, 0, -1)
        n_dom, p = len(dom_labels), Y.shape[1]
        est = np.empty((n_dom, p))
        deff_srs = np.empty((n_dom, p))
        n_rows = np.empty(n_dom, dtype=int)
        Z = np.zeros((self.n_obs, n_dom * p))
        for d in range(n_dom):
            ind = dom == d
            wd = w * ind
            wsum = wd.sum()
            n_d = int((ind & (w > 0)).sum())
            n_rows[d] = n_d
            m = wd @ Y / wsum
            resid = (Y - m) * ind[:, None]
            # svyvar: weighted variance with the n/(n-1) correction (R's svyvar)
            s2 = (wd @ resid**2) / wsum * (n_d / (n_d - 1) if n_d > 1 else np.nan)
            if kind == "total":
                est[d] = wd @ Y
                Z[:, d * p : (d + 1) * p] = wd[:, None] * Y
                deff_srs[d] = s2 * wsum**2 / n_d
            else:
                est[d] = m
                Z[:, d * p : (d + 1) * p] = wd[:, None] * resid / wsum
                deff_srs[d] = s2 / n_d

        def replicate_estimates(W: np.ndarray) -> np.ndarray:
            """The same estimates under each column of weights ``W`` (rows of ``data``)."""
            out = np.empty((W.shape[1], n_dom * p))
            for d in range(n_dom):
                Wd = W * (dom == d)[:, None]
                tot = Wd.T @ Y
                if kind == "total":
                    out[:, d * p : (d + 1) * p] = tot
                else:
                    with np.errstate(divide="ignore", invalid="ignore"):
                        out[:, d * p : (d + 1) * p] = tot / Wd.sum(axis=0)[:, None]
            return out

        V = self.estimate_vcov(Z, replicate_estimates, est.ravel())
        if bys:
            tuples = [(*lab, t) for lab in dom_labels for t in names]
            index = pd.MultiIndex.from_tuples(tuples, names=[*bys, "term"])
        else:
            index = pd.Index(names, name="term" if kind != "proportion" else cols[0])
        with np.errstate(divide="ignore", invalid="ignore"):
            deff = np.diag(V) / deff_srs.ravel()
        n_series = pd.Series(np.repeat(n_rows, p), index=index, name="n")
        return DesignEstimate(
            kind=kind,
            estimate=pd.Series(est.ravel(), index=index, name="estimate"),
            vcov=pd.DataFrame(V, index=index, columns=index),
            deff=pd.Series(deff, index=index, name="deff"),
            n=n_series,
            df=self.degf,
            n_dropped=int(na.sum()),
            variables=tuple(cols),
            by=tuple(bys),
            variance=self.variance_method,
            weights_kind=self.weights_kind,
            n_zero_weight=int(((w == 0) & keep).sum()),
        )


# ---------------------------------------------------------------------- replicate weights
ReplicateMethod = Literal["jk1", "jkn", "bootstrap"]


def replicate_factors(
    psu: np.ndarray,
    psu_stratum: np.ndarray,
    frac: np.ndarray,
    method: str,
    *,
    replicates: int = 200,
    random_seed: int | np.random.SeedSequence | np.random.Generator | None = None,
    lonely_psu: str = "fail",
) -> tuple[np.ndarray, float, np.ndarray, str]:
    """Replicate factors per PSU (array core of :meth:`SurveyDesign.replicate`).

    Parameters
    ----------
    psu : ndarray of int
        PSU code (0..n_psu-1) of each row; only ``psu.max()`` is used here.
    psu_stratum : ndarray of int
        Stratum code of each PSU.
    frac : ndarray of float
        First-stage sampling fraction of each stratum (0 without fpc).
    method, replicates, random_seed, lonely_psu
        As :meth:`SurveyDesign.replicate`.

    Returns
    -------
    factors : ndarray of shape (n_psu, R)
        Multipliers of the full-sample weights.
    scale : float
    rscales : ndarray of shape (R,)
    label : str
        A description such as ``"JK1 jackknife (98 replicates)"``.
    """
    n_psu = int(psu.max()) + 1 if len(psu) else 0
    strata = np.unique(psu_stratum)
    if method == "jk1":
        if len(strata) > 1:
            raise DesignError(
                f"method='jk1' is for an unstratified design, but this one has {len(strata)} "
                "strata; use method='jkn' (delete one PSU within its stratum)"
            )
        if n_psu < 2:
            raise DesignError(
                f"a jackknife needs at least 2 clusters (PSUs) to delete one at a time; the "
                f"design has {n_psu}. Replicate variance is impossible with one cluster — "
                "use a design with more PSUs or a model-based analysis"
            )
        f = np.full((n_psu, n_psu), n_psu / (n_psu - 1))
        np.fill_diagonal(f, 0.0)
        scale = (1 - frac[strata[0]]) * (n_psu - 1) / n_psu
        return f, float(scale), np.ones(n_psu), f"JK1 jackknife ({n_psu} replicates)"
    if method == "jkn":
        if len(strata) < 2:
            raise DesignError(
                "method='jkn' is the stratified jackknife, but the design has no strata; "
                "use method='jk1'"
            )
        cols, rsc = [], []
        for h in strata:
            members = np.flatnonzero(psu_stratum == h)
            nh = len(members)
            if nh == 1:
                if lonely_psu in ("certainty", "remove"):
                    continue
                raise DesignError(
                    f"stratum {h} has a single PSU, so deleting it leaves nothing to rescale; "
                    "pass lonely_psu='certainty' or 'remove' to the design (no contribution)"
                )
            for m in members:
                col = np.ones(n_psu)
                col[members] = nh / (nh - 1)
                col[m] = 0.0
                cols.append(col)
                rsc.append((1 - frac[h]) * (nh - 1) / nh)
        if len(cols) < 2:
            raise DesignError(
                f"the stratified jackknife formed {len(cols)} replicate(s); replicate variance "
                "needs at least 2"
            )
        return (
            np.column_stack(cols),
            1.0,
            np.array(rsc),
            f"JKn stratified jackknife ({len(cols)} replicates)",
        )
    if method == "bootstrap":
        if not isinstance(replicates, (int, np.integer)) or isinstance(replicates, bool):
            raise DesignError(f"replicates must be an integer, got {replicates!r}")
        if replicates < 2:
            raise DesignError(
                f"replicates={replicates}: replicate variance needs at least 2 replicates "
                "(a few hundred for a stable bootstrap)"
            )
        if random_seed is None:
            raise DesignError(
                "the bootstrap draws PSUs at random; pass random_seed= so the replicate "
                "weights can be reproduced"
            )
        if (frac > 0).any():
            raise DesignError(
                "the Rao–Wu bootstrap here has no finite population correction; use "
                "method='jk1' or 'jkn' (which apply the fpc), or drop fpc="
            )
        rng = np.random.default_rng(random_seed)
        f = np.ones((n_psu, replicates))
        for h in strata:
            members = np.flatnonzero(psu_stratum == h)
            nh = len(members)
            if nh == 1:
                if lonely_psu in ("certainty", "remove"):
                    continue
                raise DesignError(
                    f"stratum {h} has a single PSU, which the bootstrap cannot resample; "
                    "pass lonely_psu='certainty' or 'remove' to the design"
                )
            draws = rng.integers(0, nh, size=(replicates, nh - 1))
            counts = np.zeros((nh, replicates))
            for r in range(replicates):
                counts[:, r] = np.bincount(draws[r], minlength=nh)
            f[members] = counts * nh / (nh - 1)
        return (
            f,
            1.0 / (replicates - 1),
            np.ones(replicates),
            f"Rao–Wu bootstrap ({replicates} replicates)",
        )
    raise DesignError(f"method={method!r}; choose 'jk1', 'jkn' or 'bootstrap'")


class ReplicateDesign(SurveyDesign):
    """A survey design whose variances come from replicate weights.

    Made by :meth:`SurveyDesign.replicate`, or directly from replicate weights supplied with
    a data set (as R ``survey::svrepdesign``). Means, totals, proportions
    (:meth:`~SurveyDesign.mean`, ...), :func:`~civmodels.crosstab.crosstab` tests and
    ``Ordinal(...).fit(design=rep)`` / ``Logistic(...).fit(design=rep)`` accept it: every
    estimate is recomputed with each replicate's weights and the covariance is

    ``V = s · Σ_r c_r (θ_r − θ̄)(θ_r − θ̄)'``,

    with ``s = scale``, ``c_r = rscales[r]`` and ``θ̄`` the mean of the replicate estimates
    (or the full-sample estimate with ``mse=True``) — R ``survey:::svrVar``.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit; unique index.
    weights : str or array_like or Series, optional
        Full-sample weights (default 1).
    replicate_weights : ndarray of shape (n, R), DataFrame, or list of column names
        Replicate weights, already combined with the full-sample weights (R's
        ``combined.weights=TRUE``). At least 2 columns; finite and non-negative.
    scale : float
        Overall multiplier ``s``.
    rscales : array_like of length R, optional
        Per-replicate multipliers ``c_r`` (default 1).
    mse : bool, default False
        Centre at the full-sample estimate instead of the replicates' mean.
    kind : str, optional
        Description of the replicate weights shown in summaries.
    degf : int, optional
        Design degrees of freedom; default the rank of the replicate weights minus 1 (R).

    Attributes
    ----------
    replicate_weights : pandas.DataFrame
        The replicate weights of the rows of ``data``.
    n_replicates : int
    scale : float
    rscales : numpy.ndarray
    mse : bool
    weights_kind : str
        E.g. ``"JK1 jackknife (98 replicates)"``, with ``"; re-raked in each replicate"``
        after :meth:`reweight`.
    """

    def __init__(
        self,
        data: pd.DataFrame,
        *,
        weights: str | np.ndarray | pd.Series | None = None,
        replicate_weights: np.ndarray | pd.DataFrame | Sequence[str],
        scale: float,
        rscales: np.ndarray | Sequence[float] | None = None,
        mse: bool = False,
        kind: str = "replicate weights",
        degf: int | None = None,
    ) -> None:
        if isinstance(data, pd.DataFrame) and isinstance(replicate_weights, (list, tuple)):
            check_columns(
                data, list(replicate_weights), what="replicate_weights=", error=DesignError
            )
            replicate_weights = data[list(replicate_weights)]
        rw = np.asarray(replicate_weights, dtype=float) if replicate_weights is not None else None
        if rw is None or rw.ndim != 2:
            raise DesignError(
                "replicate_weights must be a 2-d array (rows x replicates), a DataFrame or a "
                f"list of column names; got {type(replicate_weights).__name__}"
            )
        n_rep = rw.shape[1]
        if n_rep < 2:
            raise DesignError(
                f"replicate_weights has {n_rep} replicate(s); replicate variance needs at least 2"
            )
        self._rep_degf = 0  # set properly below, once the base design is built
        super().__init__(data, weights=weights)
        if rw.shape[0] != len(data):
            raise DesignError(
                f"replicate_weights has {rw.shape[0]} rows but the data have {len(data)}"
            )
        bad = ~np.isfinite(rw) | (rw < 0)
        if bad.any():
            i, r = (int(v[0]) for v in np.nonzero(bad))
            raise DesignError(
                f"replicate_weights has {int(bad.sum())} missing, infinite or negative values "
                f"(first at row {data.index[i]!r}, replicate {r + 1}: {rw[i, r]!r}); replicate "
                "weights must be finite and non-negative"
            )
        if not np.isfinite(scale) or scale < 0:
            raise DesignError(f"scale must be finite and non-negative, got {scale!r}")
        rsc = np.ones(n_rep) if rscales is None else np.asarray(rscales, dtype=float)
        if rsc.shape != (n_rep,) or not np.isfinite(rsc).all() or (rsc < 0).any():
            raise DesignError(
                f"rscales must be {n_rep} finite non-negative numbers (one per replicate)"
            )
        self._repw = rw
        self.scale = float(scale)
        self.rscales = rsc
        self.mse = bool(mse)
        self.n_replicates = n_rep
        self.weights_kind = kind
        if degf is None:
            degf = int(np.linalg.matrix_rank(rw)) - 1
        self._rep_degf = int(degf)
        self._set_counts()

    def _set_counts(self) -> None:
        super()._set_counts()
        self.degf = self._rep_degf  # as R: a domain keeps the design's degrees of freedom

    @property
    def variance_method(self) -> str:
        """How standard errors are computed (shown in summaries)."""
        return f"replicate weights: {self.weights_kind}"

    @property
    def replicate_weights(self) -> pd.DataFrame:
        """Replicate weights of the rows of ``data`` (one column per replicate)."""
        return pd.DataFrame(
            self._repw[self._rows],
            index=self.data.index,
            columns=[f"rep{r + 1}" for r in range(self.n_replicates)],
        )

    def __repr__(self) -> str:
        return (
            super().__repr__().replace("SurveyDesign(", f"ReplicateDesign({self.weights_kind}, ", 1)
        )

    def replicate(self, *args: Any, **kwargs: Any) -> ReplicateDesign:
        """Not available: the design already has replicate weights."""
        raise DesignError("this design already has replicate weights")

    def replicate_variance(self, estimate: np.ndarray, thetas: np.ndarray) -> np.ndarray:
        """Covariance from replicate estimates (R ``survey:::svrVar``).

        Parameters
        ----------
        estimate : ndarray of shape (p,)
            Full-sample estimate.
        thetas : ndarray of shape (R, p)
            The estimate under each replicate's weights.

        Returns
        -------
        ndarray of shape (p, p)
        """
        thetas = np.asarray(thetas, dtype=float)
        if thetas.ndim == 1:
            thetas = thetas[:, None]
        bad = ~np.isfinite(thetas).all(axis=1)
        if bad.any():
            raise DesignError(
                f"{int(bad.sum())} of {len(thetas)} replicates gave no finite estimate (first: "
                f"replicate {int(np.flatnonzero(bad)[0]) + 1}); this happens when a replicate "
                "deletes every row of a domain or category — collapse small domains or use a "
                "linearisation design"
            )
        centre = np.asarray(estimate, float) if self.mse else thetas[self.rscales > 0].mean(axis=0)
        d = (thetas - centre) * np.sqrt(self.rscales)[:, None]
        return self.scale * d.T @ d

    def estimate_vcov(
        self,
        z: np.ndarray,
        replicate_estimates: Callable[[np.ndarray], np.ndarray],
        estimate: np.ndarray,
    ) -> np.ndarray:
        """Replicate covariance of an estimator: ``replicate_estimates`` under every
        replicate's weights (``z`` is not used); see :meth:`SurveyDesign.estimate_vcov`."""
        return self.replicate_variance(estimate, replicate_estimates(self._repw[self._rows]))

    def total_vcov(self, z: np.ndarray, index: pd.Index | None = None) -> np.ndarray:
        """Replicate covariance of the total ``sum_i z_i`` (``z`` already weighted): each
        replicate's total reweights ``z_i`` by ``replicate weight / full weight``."""
        z = self._scatter(z, index)
        w = self._w_full
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(w[:, None] > 0, self._repw / w[:, None], 0.0)
        return self.replicate_variance(z.sum(axis=0), ratio.T @ z)

    def vcov(
        self, scores: np.ndarray, bread_inv: np.ndarray, index: pd.Index | None = None
    ) -> np.ndarray:
        """Not available: a replicate design re-fits the model in every replicate, which the
        model's fit must do (see :func:`replicate_fit_vcov`)."""
        raise DesignError(
            "a replicate-weight design re-fits the model with each replicate's weights, and "
            "this model's fit does not support that; Ordinal and Logistic without random "
            "terms do. Use a linearisation SurveyDesign here"
        )

    def reweight(
        self, adjust: Callable[[pd.DataFrame, np.ndarray], Any], *, label: str = "reweighted"
    ) -> ReplicateDesign:
        """Redo a weighting step (raking, calibration, ...) in every replicate.

        Parameters
        ----------
        adjust : callable
            ``adjust(data, w) -> new weights`` (array or Series aligned with ``data``),
            called once with the full-sample weights and once with each replicate's
            weights, e.g. ``lambda d, w: rake(d, margins, weights=w)``. Rows with weight 0
            in a replicate (a deleted PSU) must stay 0, which raking and calibration do.
        label : str, default "reweighted"
            Added to :attr:`weights_kind` (e.g. ``"raked to area, size_group"``).

        Returns
        -------
        ReplicateDesign
            Whose variances include the variability of the weighting step.
        """
        if self.n_obs < self._full_n:
            raise DesignError("reweight() on a domain; reweight the full design, then subset()")

        def run(w: np.ndarray, what: str) -> np.ndarray:
            out = adjust(self.data, w.copy())
            if isinstance(out, pd.Series):
                if not out.index.equals(self.data.index):
                    raise DesignError(
                        f"adjust returned weights for {what} whose index does not match the data"
                    )
                out = out.to_numpy()
            arr = np.asarray(out, dtype=float)
            if arr.shape != (self._full_n,) or not np.isfinite(arr).all() or (arr < 0).any():
                raise DesignError(
                    f"adjust returned {what} weights that are not {self._full_n} finite "
                    "non-negative numbers"
                )
            return arr

        main = run(self._w_full, "the full-sample")
        reps = np.column_stack(
            [run(self._repw[:, r], f"replicate {r + 1}") for r in range(self.n_replicates)]
        )
        return ReplicateDesign(
            self.data,
            weights=pd.Series(main, index=self.data.index),
            replicate_weights=reps,
            scale=self.scale,
            rscales=self.rscales,
            mse=self.mse,
            kind=f"{self.weights_kind}; {label} in each replicate",
            degf=self._rep_degf,
        )


def replicate_fit_vcov(
    design: ReplicateDesign,
    refit: Callable[[np.ndarray], np.ndarray],
    params: np.ndarray,
    index: pd.Index,
) -> tuple[np.ndarray, str]:
    """Covariance of a model fit by re-fitting it with each replicate's weights.

    The hook a model engine calls when ``fit(design=rep)`` is given a
    :class:`ReplicateDesign`.

    Parameters
    ----------
    design : ReplicateDesign
    refit : callable
        ``refit(w) -> params``: the estimator re-fitted with weights ``w`` (aligned with the
        model's rows, zero for rows a replicate deletes). It should start from the
        full-sample estimate and raise if it fails.
    params : ndarray
        The full-sample estimate.
    index : pandas.Index
        Labels of the model's rows in ``design.data``.

    Returns
    -------
    vcov : ndarray
    label : str
        A description of the covariance for the result's summary.
    """
    pos = design.data.index.get_indexer(index)
    if (pos < 0).any():
        raise DesignError(
            "the design's data do not contain all rows used by the model; build the "
            "ReplicateDesign on the same DataFrame as the model"
        )
    W = design._repw[design._rows[pos]]
    thetas = np.empty((design.n_replicates, len(params)))
    for r in range(design.n_replicates):
        try:
            thetas[r] = refit(W[:, r])
        except Exception as exc:  # report which replicate failed, and why
            raise DesignError(
                f"re-fitting the model in replicate {r + 1} of {design.n_replicates} failed: {exc}"
            ) from exc
    vc = design.replicate_variance(np.asarray(params, float), thetas)
    return vc, f"design-based ({design.variance_method}; df {design.degf})"


def _levels(col: pd.Series, kept: pd.Series) -> list[Any]:
    if isinstance(col.dtype, pd.CategoricalDtype):
        return list(col.cat.categories)
    return sorted(pd.unique(kept.dropna()).tolist(), key=lambda v: (str(type(v)), v))


def _term_matrix(
    col: pd.Series, keep: np.ndarray, *, categorical: bool
) -> tuple[np.ndarray, list[Any]]:
    """Numeric column -> one column; categorical -> one indicator column per level."""
    is_num = pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)
    if is_num and not isinstance(col.dtype, pd.CategoricalDtype) and not categorical:
        v = pd.to_numeric(col, errors="coerce").astype(float).to_numpy()
        return np.where(keep, v, 0.0)[:, None], [None]
    levels = _levels(col, col[keep])
    vals = col.to_numpy(dtype=object)
    m = np.zeros((len(col), len(levels)))
    for j, lev in enumerate(levels):
        m[:, j] = (vals == lev) & keep
    return m, levels


@dataclass(frozen=True)
class DesignEstimate(SummaryDisplay):
    """Design-based estimates of means, proportions or totals.

    Attributes
    ----------
    kind : {"mean", "proportion", "total"}
    estimate : pandas.Series
        Point estimates; the index is the term (``"api00"``, ``"stype[E]"``) or level, with
        the ``by`` columns as outer index levels for domain estimates.
    vcov : pandas.DataFrame
        Linearisation covariance of all estimates (domains included, so contrasts between
        domains get the right standard error).
    deff : pandas.Series
        Design effect: design variance over the variance under simple random sampling *with
        replacement* of the same number of rows (R ``deff="replace"``).
    n : pandas.Series
        Unweighted number of rows behind each estimate.
    df : int
        Design degrees of freedom used for confidence intervals.
    n_dropped : int
        Rows left out for missing values in ``y`` or ``by``.
    variance : str
        How the covariance was computed (linearisation or the kind of replicate weights).
    weights_kind : str
        The kind of weights used.
    n_zero_weight : int
        Rows with weight 0 (left out of ``n``).
    """

    kind: str
    estimate: pd.Series
    vcov: pd.DataFrame
    deff: pd.Series
    n: pd.Series
    df: int
    n_dropped: int
    variables: tuple[str, ...] = ()
    by: tuple[str, ...] = ()
    variance: str = "Taylor linearisation"
    weights_kind: str = "sampling weights"
    n_zero_weight: int = 0

    @property
    def params(self) -> pd.Series:
        """Alias of ``estimate`` (the result contract; lets :func:`pool` combine estimates)."""
        return self.estimate.rename("estimate")

    @property
    def df_resid(self) -> float:
        """Design degrees of freedom (complete-data df for pooling)."""
        return float(self.df)

    @property
    def std_error(self) -> pd.Series:
        """Standard errors (square roots of the diagonal of ``vcov``)."""
        return pd.Series(
            np.sqrt(np.clip(np.diag(self.vcov.to_numpy()), 0, None)),
            index=self.estimate.index,
            name="std_error",
        )

    def conf_int(self, level: float = 0.95, method: str = "wald") -> pd.DataFrame:
        """Confidence intervals on the t distribution with the design's degrees of freedom.

        Parameters
        ----------
        level : float, default 0.95
        method : {"wald", "logit"}, default "wald"
            ``"wald"``: estimate ± t·SE. ``"logit"``: for proportions, the Wald interval on
            the logit scale transformed back, which stays inside (0, 1) and is better for
            small proportions (R ``svyciprop(method = "logit")``).
        """
        if method == "wald":
            tab = wald_table(self.estimate, self.std_error, level=level, df=max(self.df, 1))
            return tab[["ci_lower", "ci_upper"]]
        if method != "logit":
            raise DesignError(f"method={method!r}; choose 'wald' or 'logit'")
        p = self.estimate.to_numpy(float)
        if self.kind == "total" or ((p < 0) | (p > 1)).any():
            raise DesignError(
                "method='logit' is for proportions (estimates in [0, 1]); use 'wald' for "
                "means and totals"
            )
        q = stats.t.ppf(0.5 + level / 2, max(self.df, 1))
        with np.errstate(divide="ignore", invalid="ignore"):
            half = q * self.std_error.to_numpy() / (p * (1 - p))
            lg = np.log(p / (1 - p))
            lo = 1 / (1 + np.exp(-(lg - half)))
            hi = 1 / (1 + np.exp(-(lg + half)))
        lo = np.where(p == 0, 0.0, lo)
        hi = np.where(p == 1, 1.0, hi)
        return pd.DataFrame({"ci_lower": lo, "ci_upper": hi}, index=self.estimate.index)

    def difference(self, a: Any, b: Any, *, level: float = 0.95) -> pd.Series:
        """Estimate ``a - b`` of two rows (e.g. two domains) with its design-based SE.

        Parameters
        ----------
        a, b : index labels of :attr:`estimate` (tuples for domain estimates, e.g.
            ``(1, "Meget vigtigt")`` and ``(0, "Meget vigtigt")``).
        level : float, default 0.95

        Returns
        -------
        pandas.Series
            ``estimate, std_error, statistic, p_value, ci_lower, ci_upper`` (t with the
            design df), using the joint covariance of the two estimates.
        """
        labels = list(self.estimate.index)
        for lab in (a, b):
            if lab not in labels:  # exact labels only (a MultiIndex matches prefixes)
                raise DesignError(f"{lab!r} is not an estimate label; available: {labels}")
        ia, ib = labels.index(a), labels.index(b)
        V = self.vcov.to_numpy()
        diff = float(self.estimate.iloc[ia] - self.estimate.iloc[ib])
        se = float(np.sqrt(max(V[ia, ia] + V[ib, ib] - 2 * V[ia, ib], 0.0)))
        tab = wald_table(
            pd.Series([diff], index=["difference"]),
            pd.Series([se], index=["difference"]),
            level=level,
            df=max(self.df, 1),
        )
        return tab.iloc[0]

    def to_frame(self, level: float = 0.95, method: str = "wald") -> pd.DataFrame:
        """Estimate, standard error, confidence limits, design effect and n per row."""
        ci = self.conf_int(level, method=method)
        return pd.DataFrame(
            {
                "estimate": self.estimate,
                "std_error": self.std_error,
                "ci_lower": ci["ci_lower"],
                "ci_upper": ci["ci_upper"],
                "deff": self.deff,
                "n": self.n,
            }
        )

    def summary(self, level: float = 0.95) -> Summary:
        """A :class:`~civmodels.results.Summary` of the estimates."""
        info = {
            "Estimate": self.kind,
            "Variables": ", ".join(self.variables),
            "Weights": self.weights_kind,
            "Design df": self.df,
            "Rows dropped (missing)": self.n_dropped,
        }
        if self.n_zero_weight:
            info["Rows with weight 0 (not in n)"] = self.n_zero_weight
        if self.by:
            info["Domains"] = ", ".join(self.by)
        notes = (
            f"Standard errors by {self.variance}; design effects against simple random "
            "sampling with replacement; intervals on t with the design df.",
        )
        frame = self.to_frame(level)
        if isinstance(frame.index, pd.MultiIndex):
            frame.index = [" | ".join(map(str, ix)) for ix in frame.index]
        return Summary(
            title=f"Design-based {self.kind}s",
            info=info,
            blocks={"Estimates": frame},
            notes=notes,
            stats={
                "estimator": "design",
                "n_dropped": self.n_dropped,
                "se_type": "Taylor linearisation",
            },
        )

    def __repr__(self) -> str:
        return f"DesignEstimate({self.kind})\n{self.to_frame().to_string()}"


def not_estimable(
    vc: np.ndarray, reference: np.ndarray, names: Sequence[str], label: str = "sandwich"
) -> np.ndarray:
    """Mark the parameters whose sandwich variance is zero as not estimable.

    A robust, cluster-robust or design-based variance that comes out 0 (to rounding: a
    standard error below 1e-8 of the model-based one, ``reference``) does not mean the
    estimate is certain; the data cannot measure its variability (separation, or a cluster
    holding all of a category). Those rows and columns become NaN, with a warning naming the
    parameters.

    Parameters
    ----------
    vc : ndarray of shape (k, k)
        The sandwich-type covariance.
    reference : ndarray of shape (k, k)
        The model-based covariance (inverse information) of the same fit.
    names : sequence of str
        Parameter names, in order.
    label : str, default "sandwich"
        What ``vc`` is, for the warning.

    Returns
    -------
    ndarray of shape (k, k)
        ``vc``, or a copy with NaN rows and columns for the parameters not estimable.
    """
    import warnings

    var = np.diag(vc)
    with np.errstate(invalid="ignore"):
        zero = (var <= 0) | (var <= 1e-16 * np.abs(np.diag(reference)))
    if not zero.any():
        return vc
    out = np.array(vc, dtype=float, copy=True)
    out[zero, :] = np.nan
    out[:, zero] = np.nan
    terms = [str(n) for n, z in zip(names, zero, strict=True) if z]
    warnings.warn(
        f"the {label} standard error of {terms} is 0, so it is not estimable and is reported "
        "as NaN (as are their tests and intervals). This happens with separation, or when one "
        "cluster holds all rows of a category; see the model-based standard errors, merge "
        "sparse categories or use fewer, larger clusters",
        UserWarning,
        stacklevel=4,
    )
    return out


def sandwich(
    bread_inv: np.ndarray,
    scores: np.ndarray,
    groups: np.ndarray | pd.Series | None = None,
    *,
    small_sample: bool = True,
) -> np.ndarray:
    """Robust (HC0/HC1) or cluster-robust (CR1) sandwich covariance.

    Parameters
    ----------
    bread_inv : ndarray of shape (k, k)
        Inverse of minus the Hessian of the (weighted) log-likelihood.
    scores : ndarray of shape (n, k)
        Per-observation score contributions (weighted if the fit was weighted).
    groups : array_like of length n, optional
        Cluster labels. Without them each row is its own cluster.
    small_sample : bool, default True
        Multiply by ``n/(n-k)`` (no clusters, HC1) or ``G/(G-1) * (n-1)/(n-k)`` (clusters,
        CR1, the Stata convention).

    Returns
    -------
    ndarray of shape (k, k)
    """
    scores = np.asarray(scores, dtype=float)
    n, k = scores.shape
    if groups is None:
        meat = scores.T @ scores
        c = n / (n - k) if small_sample and n > k else 1.0
    else:
        codes, uniques = pd.factorize(np.asarray(groups))
        if (codes < 0).any():
            raise DesignError("cluster has missing values; every row needs a cluster label")
        g = len(uniques)
        if g < 2:
            raise DesignError("cluster-robust errors need at least 2 clusters; got 1")
        tot = np.zeros((g, k))
        np.add.at(tot, codes, scores)
        meat = tot.T @ tot
        c = (g / (g - 1)) * ((n - 1) / (n - k)) if small_sample and n > k else 1.0
    return c * (bread_inv @ meat @ bread_inv.T)
