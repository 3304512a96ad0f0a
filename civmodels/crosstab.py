"""Design-based two-way tables and the Rao–Scott tests of independence.

:func:`crosstab` builds the weighted table of two categorical columns of a
:class:`~civmodels.design.SurveyDesign` and its cell proportions with linearisation
covariance; :meth:`Crosstab.test` tests independence with

* ``"rao-scott"`` (default): the second-order Rao–Scott F test, R ``survey::svychisq``'s
  default ``statistic="F"``;
* ``"rao-scott-1"`` (alias ``"chisq"``): the first-order correction, ``X² / mean(δ)`` on
  ``(r-1)(c-1)`` degrees of freedom, R ``statistic="Chisq"``;
* ``"pearson"``: the unadjusted Pearson χ² on the weighted table rescaled to the number of
  rows, which ignores the design and is shown only for comparison.

This module sits on the bottom floor beside ``design`` and is re-exported from
``civmodels.nonresponse``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from ._validation import check_columns
from .design import SurveyDesign
from .exceptions import DesignError
from .missing import DontKnowPolicy, apply_dont_know
from .results import Summary, SummaryDisplay

__all__ = ["Crosstab", "CrosstabTest", "crosstab"]

TestMethod = Literal["rao-scott", "rao-scott-1", "chisq", "pearson"]


@dataclass(frozen=True, eq=False)
class CrosstabTest:
    """Result of a test of independence in a two-way survey table.

    Attributes
    ----------
    method : str
        ``"rao-scott"``, ``"rao-scott-1"`` or ``"pearson"``.
    statistic : float
        The F statistic (``"rao-scott"``), the first-order corrected χ² ``X²/mean(δ)``
        (``"rao-scott-1"``) or Pearson's X² (``"pearson"``).
    df : float or tuple of float
        ``(ndf, ddf)`` for the F test, else the χ² degrees of freedom.
    p_value : float
    pearson : float
        Pearson's X² of the weighted table rescaled to the number of rows used.
    design_effects : numpy.ndarray
        Eigenvalues δ of the generalised design-effect matrix; the F test divides X² by
        their sum, the first-order test by their mean.
    note : str
        Set when the requested test could not be done as asked, e.g. the second-order
        correction fell back to the first-order test because the estimated design effects
        are degenerate.
    """

    method: str
    statistic: float
    df: float | tuple[float, float]
    p_value: float
    pearson: float
    design_effects: np.ndarray
    note: str = ""

    @property
    def ndf(self) -> float:
        """Numerator degrees of freedom (the χ² df for the χ² tests)."""
        return self.df[0] if isinstance(self.df, tuple) else self.df

    @property
    def ddf(self) -> float:
        """Denominator degrees of freedom of the F test (infinite for χ² tests)."""
        return self.df[1] if isinstance(self.df, tuple) else float("inf")

    def __repr__(self) -> str:
        df = (
            f"ndf={self.df[0]:.4g}, ddf={self.df[1]:.4g}"
            if isinstance(self.df, tuple)
            else f"df={self.df:g}"
        )
        return (
            f"CrosstabTest({self.method}: statistic={self.statistic:.4f}, {df}, "
            f"p_value={self.p_value:.4g})"
        )


class Crosstab(SummaryDisplay):
    """A design-based two-way table (made by :func:`crosstab`).

    Attributes
    ----------
    table : pandas.DataFrame
        Weighted counts (estimated population totals), rows × columns.
    counts : pandas.DataFrame
        Unweighted counts.
    proportions : pandas.DataFrame
        Estimated cell proportions (summing to 1).
    std_errors : pandas.DataFrame
        Linearisation standard errors of ``proportions``.
    vcov : numpy.ndarray
        Covariance of the cell proportions, cells ordered with rows varying fastest (R's
        ``interaction`` order).
    nobs : int
        Rows with both variables observed.
    n_dropped : int
        Rows left out because ``row`` or ``col`` is missing.
    """

    def __init__(
        self,
        design: SurveyDesign,
        row: str,
        col: str,
        *,
        dont_know: DontKnowPolicy | None = None,
    ) -> None:
        if not isinstance(design, SurveyDesign):
            raise DesignError(
                f"design must be a SurveyDesign, got {type(design).__name__}; build one with "
                "SurveyDesign(data, weights=..., cluster=...)"
            )
        check_columns(design.data, [row, col], what="crosstab()", error=DesignError)
        if row == col:
            raise DesignError(f"row and col are both {row!r}; pass two different columns")
        self.row, self.col = row, col
        self.dont_know_report = None
        data = design.data
        if dont_know is not None:
            items = [c for c in (row, col) if f"{c}_dk" in data.columns]
            if items:
                data, self.dont_know_report = apply_dont_know(data, dont_know, items=items)
                if dont_know == "drop":
                    design = design.subset(design.data.index.isin(data.index))
                else:
                    # same rows; the relabelled columns replace the design's
                    design = design.subset(np.ones(design.n_obs, bool))
                    design.data = data
        self.design = design
        r = design.data[row]
        c = design.data[col]
        keep = (r.notna() & c.notna()).to_numpy()
        if not keep.any():
            raise DesignError(f"no row has both {row!r} and {col!r} observed")
        self.n_dropped = int((~keep).sum())
        self.nobs = int(keep.sum())
        r_levels = _observed_levels(r, keep)
        c_levels = _observed_levels(c, keep)
        if len(r_levels) < 2 or len(c_levels) < 2:
            raise DesignError(
                f"a two-way test needs at least 2 observed levels in each variable; {row!r} "
                f"has {len(r_levels)} and {col!r} has {len(c_levels)}"
            )
        nr, nc = len(r_levels), len(c_levels)
        rv = r.to_numpy(dtype=object)
        cv = c.to_numpy(dtype=object)
        ri = np.full(len(r), -1)
        ci = np.full(len(c), -1)
        for i, lev in enumerate(r_levels):
            ri[(rv == lev) & keep] = i
        for j, lev in enumerate(c_levels):
            ci[(cv == lev) & keep] = j
        cell = np.where(keep, ri + nr * ci, -1)  # rows vary fastest, as R's interaction()
        w = design.weights.to_numpy() * keep
        M = np.zeros((len(cell), nr * nc))
        M[np.flatnonzero(keep), cell[keep]] = 1.0
        wsum = w.sum()
        p = w @ M / wsum
        Z = w[:, None] * (M - p) * keep[:, None] / wsum

        def replicate_p(W: np.ndarray) -> np.ndarray:
            Wk = W * keep[:, None]
            with np.errstate(divide="ignore", invalid="ignore"):
                return (Wk.T @ M) / Wk.sum(axis=0)[:, None]

        self.vcov = design.estimate_vcov(Z, replicate_p, p)
        self._p = p
        self._nr, self._nc = nr, nc
        rix = pd.Index(r_levels, name=row)
        cix = pd.Index(c_levels, name=col)
        self.table = pd.DataFrame((w @ M).reshape(nc, nr).T, index=rix, columns=cix)
        self.counts = pd.DataFrame(
            M[keep].sum(axis=0).reshape(nc, nr).T.astype(int), index=rix, columns=cix
        )
        self.proportions = pd.DataFrame(p.reshape(nc, nr).T, index=rix, columns=cix)
        se = np.sqrt(np.clip(np.diag(self.vcov), 0, None))
        self.std_errors = pd.DataFrame(se.reshape(nc, nr).T, index=rix, columns=cix)

    def row_proportions(self) -> pd.DataFrame:
        """Proportions within each row (each row sums to 1)."""
        return self.table.div(self.table.sum(axis=1), axis=0)

    def col_proportions(self) -> pd.DataFrame:
        """Proportions within each column (each column sums to 1)."""
        return self.table.div(self.table.sum(axis=0), axis=1)

    def test(self, method: TestMethod = "rao-scott") -> CrosstabTest:
        """Test independence of the row and column variables.

        Parameters
        ----------
        method : {"rao-scott", "rao-scott-1", "chisq", "pearson"}, default "rao-scott"
            ``"rao-scott"`` is the second-order (Satterthwaite) Rao–Scott F test,
            ``F = X² / Σδ`` on ``(d0, d0 · df_design)`` degrees of freedom with
            ``d0 = (Σδ)² / Σδ²``; ``"rao-scott-1"`` (or ``"chisq"``) the first-order
            ``X² / mean(δ)`` on ``(r-1)(c-1)`` df; ``"pearson"`` the unadjusted test.

        Returns
        -------
        CrosstabTest

        Notes
        -----
        Follows R ``survey::svychisq`` (Rao & Scott 1984): with cell proportions ``p``, their
        design covariance ``V`` and a basis ``C`` of the interaction contrasts, the
        design-effect matrix is ``Δ = (C'D⁻¹C / N)⁻¹ (C'D⁻¹ V D⁻¹ C)`` with ``D = diag(p)``.
        F and the p-values do not depend on the row count ``N`` used to rescale the table.
        R rescales to *all* rows of the design, including rows with a missing value; here
        ``N`` is the number of rows with both variables observed, so ``pearson`` (and R's
        reported X² for ``statistic="Chisq"``) differ from R only when values are missing.

        References
        ----------
        Rao, J. N. K. & Scott, A. J. (1984). On chi-squared tests for multiway contingency
        tables with cell proportions estimated from survey data. *Annals of Statistics*,
        12(1), 46–60.
        """
        if method == "chisq":
            method = "rao-scott-1"
        if method not in ("rao-scott", "rao-scott-1", "pearson"):
            raise DesignError(
                f"method={method!r}; choose 'rao-scott' (second-order F), 'rao-scott-1' "
                "(first-order, alias 'chisq') or 'pearson'"
            )
        nr, nc = self._nr, self._nc
        N = float(self.nobs)
        tab = self.table.to_numpy() / self.table.to_numpy().sum() * N
        expected = np.outer(tab.sum(axis=1), tab.sum(axis=0)) / N
        with np.errstate(divide="ignore", invalid="ignore"):
            x2 = float(np.nansum((tab - expected) ** 2 / expected))
        k = (nr - 1) * (nc - 1)
        if method == "pearson":
            return CrosstabTest(
                "pearson", x2, float(k), float(stats.chi2.sf(x2, k)), x2, np.array([])
            )
        delta = self._delta(N)
        eig_c = np.linalg.eigvals(delta)
        eig = np.sort(np.real(eig_c))[::-1]
        tr = float(np.trace(delta))
        if not tr > 0:
            raise DesignError(self._zero_variance_message())
        note = ""
        if method == "rao-scott":
            tr2 = float(np.real(np.trace(delta @ delta)))
            d0 = tr**2 / tr2 if tr2 > 0 else np.nan
            scale = max(float(np.abs(eig_c).max()), 1e-300)
            degenerate = (
                not np.isfinite(d0)
                or d0 <= 0
                or (eig < -1e-8 * scale).any()
                or (np.abs(np.imag(eig_c)) > 1e-8 * scale).any()
            )
            if degenerate:
                note = (
                    "the estimated design effects are degenerate (eigenvalues "
                    + ", ".join(f"{e:.3g}" for e in eig_c[:6])
                    + "), so the second-order (Satterthwaite) degrees of freedom are not "
                    "defined; the first-order Rao–Scott test X²/mean(δ) is reported instead"
                )
                method = "rao-scott-1"
        if method == "rao-scott-1":
            stat = x2 / (tr / k)
            return CrosstabTest(
                "rao-scott-1", stat, float(k), float(stats.chi2.sf(stat, k)), x2, eig, note
            )
        nu = self.design.degf
        if nu < 1:
            raise DesignError(
                f"the design has {nu} degrees of freedom (PSUs minus strata); the Rao–Scott "
                "F test needs at least 1 — use test('rao-scott-1') (first-order, χ² reference)"
            )
        f = x2 / tr
        ddf = d0 * nu
        return CrosstabTest("rao-scott", f, (d0, ddf), float(stats.f.sf(f, d0, ddf)), x2, eig)

    def _zero_variance_message(self) -> str:
        d = self.design
        base = (
            "the design variance of the cell proportions is zero, so no design-based test is "
            "possible"
        )
        if getattr(d, "pps", None) == "poisson":
            return (
                f"{base}: in a Poisson-sampling design only rows with inclusion probability "
                "below 1 add variance, and here they add none (for example every row has "
                "probability 1, i.e. was sampled with certainty) — check probs= / weights="
            )
        strata = np.unique(d._stratum[d._rows])
        if np.all(d._frac[strata] >= 1 - 1e-12):  # fpc given, and a census of PSUs
            return (
                f"{base}: fpc says every PSU of the population was sampled (a census of "
                "clusters in a one-stage design) — add the second stage (cluster=[psu, "
                "unit], fpc=[n_psu, n_units]) or drop fpc= to treat the clusters as "
                "sampled with replacement"
            )
        return (
            f"{base}: every PSU has the same {self.row!r} × {self.col!r} cell shares (for "
            "example a single PSU holds all the rows, or the replicate weights never change "
            "the table); check the design's cluster= and the two variables"
        )

    def _delta(self, N: float) -> np.ndarray:
        nr, nc = self._nr, self._nc
        rows = np.tile(np.arange(nr), nc)
        cols = np.repeat(np.arange(nc), nr)
        X1 = np.column_stack(
            [np.ones(nr * nc)]
            + [(rows == i).astype(float) for i in range(1, nr)]
            + [(cols == j).astype(float) for j in range(1, nc)]
        )
        inter = np.column_stack(
            [((rows == i) & (cols == j)).astype(float) for j in range(1, nc) for i in range(1, nr)]
        )
        # residuals of the interaction columns on the main effects span the contrasts
        C = inter - X1 @ np.linalg.lstsq(X1, inter, rcond=None)[0]
        p = self._p
        idiag = np.where(p == 0, 0.0, 1.0 / np.where(p == 0, 1.0, p))
        CiD = C.T * idiag
        denom = CiD @ C / N
        numr = CiD @ self.vcov @ CiD.T
        return np.linalg.solve(denom, numr)

    def summary(self) -> Summary:
        """Weighted row percentages with the three tests in the header."""
        tests = {m: self.test(m) for m in ("rao-scott", "rao-scott-1", "pearson")}
        rs = tests["rao-scott"]
        info: dict[str, Any] = {
            "Rows": self.row,
            "Columns": self.col,
            "Rows used": self.nobs,
            "Rows dropped (missing)": self.n_dropped,
            "Weights": self.design.weights_kind,
            "Variance": self.design.variance_method,
            "Design df": self.design.degf,
        }
        if rs.method == "rao-scott":
            info["Rao–Scott F"] = rs.statistic
            info["ndf, ddf"] = f"{rs.ndf:.3f}, {rs.ddf:.2f}"
            info["p (Rao–Scott F)"] = rs.p_value
        info["p (first-order)"] = tests["rao-scott-1"].p_value
        info["p (Pearson, ignores design)"] = tests["pearson"].p_value
        notes = ["Second-order Rao–Scott F as R survey::svychisq(statistic='F')."]
        if rs.note:
            notes.append(rs.note)
        pct = 100 * self.row_proportions()
        pct.columns = pct.columns.map(str)
        pct.index = pct.index.map(str)
        return Summary(
            title=f"Weighted table: {self.row} × {self.col} (row %)",
            info=info,
            blocks={"Row percentages": pct},
            notes=tuple(notes),
        )

    def __repr__(self) -> str:
        return f"Crosstab({self.row} × {self.col}, nobs={self.nobs})\n{self.table.to_string()}"


def _observed_levels(s: pd.Series, keep: np.ndarray) -> list[Any]:
    kept = s[keep]
    present = set(pd.unique(kept).tolist())
    if isinstance(s.dtype, pd.CategoricalDtype):
        return [lev for lev in s.cat.categories if lev in present]
    return sorted(present, key=lambda v: (str(type(v)), v))


def crosstab(
    design: SurveyDesign,
    row: str,
    col: str,
    *,
    dont_know: DontKnowPolicy | None = None,
) -> Crosstab:
    """Design-based two-way table of ``row`` by ``col``.

    Parameters
    ----------
    design : SurveyDesign
        The survey design (weights, clusters, strata, fpc).
    row, col : str
        Categorical columns of ``design.data``. Rows missing either are left out (as a
        domain: the variance keeps every PSU) and counted in ``n_dropped``. Only observed
        levels form the table.
    dont_know : {"missing", "category", "drop"}, optional
        'Ved ikke' policy for items that have a ``<item>_dk`` companion column (see
        :func:`civmodels.missing.apply_dont_know`). By default the data are used as they are.

    Returns
    -------
    Crosstab
        With ``table``, ``proportions``, ``std_errors`` and ``test(method)``.

    Examples
    --------
    >>> d = SurveyDesign(df, weights="w", cluster="municipality")  # doctest: +SKIP
    >>> crosstab(d, "pressure_high", "mot_cost_effectiveness").test("rao-scott")  # doctest: +SKIP
    """
    return Crosstab(design, row, col, dont_know=dont_know)
