"""Small-sample cluster-robust inference for one coefficient: CR2 and Bell-McCaffrey df.

A contrast between groups of municipalities rests on the clusters that contain those groups,
not on all 98: the municipalities of 100 000 inhabitants or more are 7. Linearisation (CR0/CR1)
variances are then biased downwards and a normal or t(G - 1) reference is far too light-tailed,
so a nominal 5 % test rejects a true null about twice as often. The remedy used here is the
standard one (Bell & McCaffrey 2002; Imbens & Kolesar 2016, Rev. Econ. Stat. 98:701;
Pustejovsky & Tipton 2018, J. Bus. Econ. Stat. 36:672), as R ``clubSandwich``
(``vcovCR(type = "CR2")``, ``coef_test(test = "Satterthwaite")``):

* **CR2** (bias-reduced linearisation): each cluster's residuals are premultiplied by
  ``A_c = B_c^{+1/2}``, ``B_c = [(I - H)(I - H)']_cc``, with ``H = X (X'WX)^{-1} X'W`` the hat
  matrix of the weighted least-squares fit - exactly unbiased when the errors are independent
  and homoscedastic (the working model);
* **Satterthwaite (Bell-McCaffrey) degrees of freedom** for the coefficient: under the same
  working model the CR2 variance is a quadratic form ``sum_c (g_c' e)^2`` in normal errors, and
  ``df = (sum_c g_c'g_c)^2 / sum_{c,d} (g_c'g_d)^2``. A coefficient identified by few clusters
  gets few degrees of freedom; one spread evenly over many clusters gets close to G - 1.

The df depend only on the design matrix, the weights and the clusters, not on the outcome.
Array-level code (NumPy only).
"""

from __future__ import annotations

import numpy as np

__all__ = ["cr2_coefficient", "satterthwaite_df"]


def _groups(cluster: np.ndarray) -> list[np.ndarray]:
    _, inv = np.unique(cluster, return_inverse=True)
    order = np.argsort(inv, kind="stable")
    bounds = np.flatnonzero(np.diff(inv[order])) + 1
    return np.split(order, bounds)


def _inv_sqrt_psd(b: np.ndarray) -> np.ndarray:
    """Symmetric Moore-Penrose inverse square root of a positive semi-definite matrix."""
    vals, vecs = np.linalg.eigh(b)
    tol = max(vals.max(initial=0.0), 0.0) * b.shape[0] * 1e-12
    inv = np.zeros_like(vals)
    keep = vals > tol
    inv[keep] = 1 / np.sqrt(vals[keep])
    return (vecs * inv) @ vecs.T


def _parts(
    x: np.ndarray, w: np.ndarray | None, cluster: np.ndarray, j: int
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """Bread row ``m_j``, the weighted design, clusters and the CR2 rows ``u_c`` of coefficient j.

    ``u_c = e_j' M X_c' W_c A_c``, so the CR2 variance is ``sum_c (u_c e_c)^2``.
    """
    x = np.asarray(x, float)
    n, p = x.shape
    if not 0 <= j < p:
        raise ValueError(f"coefficient index {j} outside 0..{p - 1}")
    w = np.ones(n) if w is None else np.asarray(w, float)
    if w.shape != (n,) or not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise ValueError("weights must be one finite positive number per row")
    cluster = np.asarray(cluster)
    if cluster.shape != (n,):
        raise ValueError("cluster must hold one label per row")
    xw = x * w[:, None]
    bread = np.linalg.pinv(x.T @ xw)
    ih = np.eye(n) - x @ bread @ xw.T  # I - H, H = X M X'W
    groups = _groups(cluster)
    rows = []
    m_j = bread[j]
    for idx in groups:
        ihc = ih[idx]
        a_c = _inv_sqrt_psd(ihc @ ihc.T)
        rows.append((m_j @ xw[idx].T) @ a_c)
    return ih, m_j, groups, rows


def satterthwaite_df(
    x: np.ndarray, cluster: np.ndarray, j: int, weights: np.ndarray | None = None
) -> float:
    """Bell-McCaffrey (Satterthwaite) degrees of freedom of coefficient ``j``'s CR2 variance.

    Parameters
    ----------
    x : array, shape (n, p)
        Design matrix of the (weighted) least-squares fit, intercept included.
    cluster : array, shape (n,)
        Cluster label of each row.
    j : int
        Column of the coefficient.
    weights : array, shape (n,), optional
        Positive weights of the fit (default 1).

    Returns
    -------
    float
        ``(sum_c g_c'g_c)^2 / sum_{c,d} (g_c'g_d)^2`` with ``g_c = (I - H)_c' u_c'``, under the
        working model of independent, homoscedastic errors (R ``clubSandwich::coef_test(...,
        test = "Satterthwaite")`` with ``target = 1``).
    """
    ih, _, groups, rows = _parts(x, weights, cluster, j)
    return _df(ih, groups, rows)


def _df(ih: np.ndarray, groups: list[np.ndarray], rows: list[np.ndarray]) -> float:
    g = np.column_stack([ih[idx].T @ u for idx, u in zip(groups, rows, strict=True)])
    gram = g.T @ g
    return float(np.trace(gram)) ** 2 / float((gram**2).sum())


def cr2_coefficient(
    x: np.ndarray,
    y: np.ndarray,
    cluster: np.ndarray,
    j: int,
    weights: np.ndarray | None = None,
) -> tuple[float, float, float]:
    """Weighted least-squares coefficient ``j`` with its CR2 standard error and BM df.

    Parameters
    ----------
    x, cluster, j, weights
        As in :func:`satterthwaite_df`.
    y : array, shape (n,)
        Outcome.

    Returns
    -------
    estimate, se, df : float
        The coefficient, the square root of its CR2 variance and its Satterthwaite df.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, float)
    ih, m_j, groups, rows = _parts(x, w, cluster, j)
    beta_j = float(m_j @ (x * w[:, None]).T @ y)
    resid = ih @ y
    var = sum(float(u @ resid[idx]) ** 2 for idx, u in zip(groups, rows, strict=True))
    return beta_j, float(np.sqrt(var)), _df(ih, groups, rows)
