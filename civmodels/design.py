"""Survey designs and sandwich covariance estimators.

This module sits at the bottom of civmodels (next to ``data``): the models' covariance code,
the tables and ``civmodels.nonresponse`` all build on it.

* :class:`SurveyDesign` holds weights, primary sampling units (clusters), strata and a finite
  population correction, and computes the Taylor-linearisation variance of estimated totals.
  For an M-estimator with weighted estimating equations ``sum_i w_i s_i(b) = 0`` and
  ``A = -d/db sum_i w_i s_i``, the design-based covariance is
  ``A^-1 Var_design(sum_i w_i s_i) A^-1`` — what R's ``survey::svyglm`` and ``svyolr`` report.
* :func:`sandwich` gives the heteroskedasticity-robust (HC0) and cluster-robust covariance of
  an M-estimator, with the usual small-sample correction.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from .exceptions import DesignError

__all__ = ["SurveyDesign", "sandwich"]

LonelyPSU = Literal["fail", "certainty", "adjust", "remove"]


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
    arr = pd.Series(np.asarray(value), index=data.index)
    if len(arr) != len(data):
        raise DesignError(f"{name} has length {len(arr)} but the data have {len(data)} rows")
    return arr


class SurveyDesign:
    """A (possibly stratified, clustered, weighted) sample design.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per sampled unit.
    weights : str or array_like, optional
        Sampling (probability) weights, a column name or an array aligned with ``data``.
        All must be finite and positive. Defaults to 1 for every row.
    cluster : str or array_like, optional
        Primary sampling unit of each row (e.g. ``"municipality_code"``). Defaults to each row
        being its own PSU.
    strata : str or array_like, optional
        Stratum of each row. Defaults to a single stratum.
    fpc : str or array_like, optional
        Finite population correction, constant within a stratum: either the number of PSUs in
        the population stratum (values > 1) or the sampling fraction of PSUs (values in (0, 1]),
        as in R ``survey::svydesign``.
    lonely_psu : {"fail", "certainty", "adjust", "remove"}, default "fail"
        What to do with a stratum that has a single PSU, as R's ``survey.lonely.psu`` option:
        ``"fail"`` raises; ``"certainty"`` and ``"remove"`` let the stratum contribute no
        variance; ``"adjust"`` centres its PSU total at the grand mean of PSU totals.

    Attributes
    ----------
    n_obs : int
        Number of rows.
    n_psu : int
        Number of primary sampling units.
    n_strata : int
        Number of strata.
    degf : int
        Design degrees of freedom, ``n_psu - n_strata``.

    Notes
    -----
    The variance of an estimated total ``t = sum_i z_i`` (``z_i`` already weighted) is the
    with-replacement, first-stage linearisation estimator

    .. math:: \\hat V(t) = \\sum_h (1 - f_h) \\frac{n_h}{n_h - 1}
              \\sum_{i \\in h} (z_{hi} - \\bar z_h)(z_{hi} - \\bar z_h)^\\top,

    where ``z_hi`` is the total of PSU ``i`` in stratum ``h``, ``n_h`` the number of PSUs in the
    stratum and ``f_h`` its sampling fraction (0 without ``fpc``). This matches
    ``survey::svyrecvar`` for one-stage designs.
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
    ) -> None:
        if not isinstance(data, pd.DataFrame):
            raise DesignError(f"data must be a pandas DataFrame, got {type(data).__name__}")
        if lonely_psu not in ("fail", "certainty", "adjust", "remove"):
            raise DesignError(
                f"lonely_psu={lonely_psu!r}; choose 'fail', 'certainty', 'adjust' or 'remove'"
            )
        self.data = data
        self.lonely_psu = lonely_psu
        self.weights_name = weights if isinstance(weights, str) else None
        self.cluster_name = cluster if isinstance(cluster, str) else None
        self.strata_name = strata if isinstance(strata, str) else None

        w = _column_or_array(data, weights, "weights")
        if w is None:
            w = pd.Series(1.0, index=data.index)
        w = pd.to_numeric(w, errors="coerce").astype(float)
        bad = ~np.isfinite(w.to_numpy()) | (w.to_numpy() <= 0)
        if bad.any():
            first = data.index[np.flatnonzero(bad)[0]]
            raise DesignError(
                f"weights has {int(bad.sum())} missing, zero or negative values (first at index "
                f"{first!r}); sampling weights must be finite and positive — drop those rows "
                "before building the design or fix the weights"
            )
        self.weights = w

        c = _column_or_array(data, cluster, "cluster")
        if c is not None and c.isna().any():
            raise DesignError(
                f"cluster has {int(c.isna().sum())} missing values; every row needs a PSU "
                "(fill them or drop those rows and report how many)"
            )
        s = _column_or_array(data, strata, "strata")
        if s is not None and s.isna().any():
            raise DesignError(f"strata has {int(s.isna().sum())} missing values")
        self._psu = pd.factorize(c)[0] if c is not None else np.arange(len(data), dtype=np.int64)
        self._stratum = pd.factorize(s)[0] if s is not None else np.zeros(len(data), np.int64)
        # PSUs are nested in strata: label a PSU by its (stratum, psu) pair.
        pairs = pd.MultiIndex.from_arrays([self._stratum, self._psu])
        self._psu = pd.factorize(pairs)[0]
        psu_stratum = pd.Series(self._stratum).groupby(self._psu).first().to_numpy()
        self._psu_stratum = psu_stratum
        self.n_obs = len(data)
        self.n_psu = int(self._psu.max() + 1) if len(data) else 0
        self.n_strata = int(self._stratum.max() + 1) if len(data) else 0
        self._n_h = np.bincount(psu_stratum, minlength=self.n_strata)

        f = _column_or_array(data, fpc, "fpc")
        self._frac = np.zeros(self.n_strata)
        if f is not None:
            fv = pd.to_numeric(f, errors="coerce").to_numpy(float)
            if np.isnan(fv).any() or (fv <= 0).any():
                raise DesignError("fpc must be positive and non-missing in every row")
            for h in range(self.n_strata):
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
        self.degf = self.n_psu - self.n_strata

    def __repr__(self) -> str:
        parts = [f"n_obs={self.n_obs}", f"n_psu={self.n_psu}", f"n_strata={self.n_strata}"]
        if self.weights_name:
            parts.append(f"weights={self.weights_name!r}")
        return f"SurveyDesign({', '.join(parts)})"

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
        z = np.asarray(z, dtype=float)
        if z.ndim == 1:
            z = z[:, None]
        if index is not None:
            pos = self.data.index.get_indexer(index)
            if (pos < 0).any():
                raise DesignError("some rows of z are not rows of the design's data")
            full = np.zeros((self.n_obs, z.shape[1]))
            full[pos] = z
            z = full
        elif len(z) != self.n_obs:
            raise DesignError(f"z has {len(z)} rows but the design has {self.n_obs}")
        p = z.shape[1]
        totals = np.zeros((self.n_psu, p))
        np.add.at(totals, self._psu, z)
        out = np.zeros((p, p))
        grand = totals.mean(axis=0) if self.lonely_psu == "adjust" else None
        for h in range(self.n_strata):
            t = totals[self._psu_stratum == h]
            n_h = len(t)
            if n_h == 1:
                if self.lonely_psu == "adjust" and grand is not None:
                    d = t - grand
                    out += (1 - self._frac[h]) * d.T @ d
                continue
            d = t - t.mean(axis=0)
            out += (1 - self._frac[h]) * n_h / (n_h - 1) * d.T @ d
        return out

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
