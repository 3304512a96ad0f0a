"""Formula handling: Wilkinson formulas (via formulaic) plus lme4-style random terms.

``"y ~ x1 + C(area) + (1 | municipality)"`` is split into the outcome ``y``, the fixed part
``x1 + C(area)`` (expanded by formulaic with treatment contrasts, so coefficient names look like
``"area[T.social]"``) and random terms ``(1 | municipality)``. The fixed-part specification
is kept so the same columns can be rebuilt on new data (:meth:`FixedDesign.transform`).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from formulaic import Formula, model_matrix

from ._validation import check_columns
from .exceptions import FormulaError

__all__ = [
    "FixedDesign",
    "ParsedFormula",
    "RandomTerm",
    "correlated_blocks",
    "group_codes",
    "group_labels",
    "parse_formula",
    "parse_rhs",
    "random_formula",
    "refuse_interaction_groups",
]

_RANDOM = re.compile(r"\(\s*([^()|]+?)\s*\|\s*([^()|]+?)\s*\)")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_GROUP = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*(?:\s*[:/]\s*[A-Za-z_][A-Za-z0-9_.]*)*$")


@dataclass(frozen=True)
class RandomTerm:
    """A random-effect term ``(expr | group)``; ``expr == "1"`` is a random intercept.

    ``group`` is a column name or an interaction of columns ``"a:b"`` (its levels are the
    observed combinations, labelled ``"a1:b1"``); the nested term ``(1 | a/b)`` is read as
    ``(1 | a) + (1 | a:b)``, as lme4 does.

    A correlated term ``(1 + x | g)`` (also written ``(x | g)``) is read as the terms
    ``(1 | g)`` and ``(0 + x | g)`` whose random effects share one unstructured covariance
    matrix; both carry the original expression as ``block`` (``"1 + x | g"``), which is
    empty for a term on its own.
    """

    expr: str
    group: str
    block: str = ""

    @property
    def factors(self) -> tuple[str, ...]:
        """The data columns whose combinations form the groups (one for a plain factor)."""
        return tuple(self.group.split(":"))

    @property
    def is_intercept(self) -> bool:
        """True for a random intercept ``(1 | group)``."""
        return self.expr.replace(" ", "") in {"1", "1+0", "0+1"}

    @property
    def slope_variable(self) -> str | None:
        """The column of an uncorrelated random slope ``(0 + x | g)``, else None."""
        expr = self.expr.replace(" ", "").replace("-1", "+0")
        parts = [p for p in expr.split("+") if p]
        rest = [p for p in parts if p != "0"]
        if "0" in parts and len(rest) == 1 and _NAME.match(rest[0]):
            return rest[0]
        return None

    @property
    def label(self) -> str:
        """Name of the term's variance component: ``g`` for an intercept, ``x|g`` for a
        slope (as lme4's ``sd(x|g)``)."""
        x = self.slope_variable
        return self.group if x is None else f"{x}|{self.group}"

    def __str__(self) -> str:
        return f"({self.expr} | {self.group})"


def random_formula(terms: tuple[RandomTerm, ...] | list[RandomTerm]) -> str:
    """The random part of a formula rebuilt from parsed terms, correlated blocks kept whole.

    ``(1 | g) + (0 + x | g)`` parsed from ``(1 + x | g)`` is written back as
    ``(1 + x | g)``, so a refit keeps the correlation.

    Parameters
    ----------
    terms : sequence of RandomTerm
        As in :attr:`ParsedFormula.random`.

    Returns
    -------
    str
        The terms joined by ``" + "`` (empty for no terms).

    Examples
    --------
    >>> random_formula(parse_formula("y ~ x + (x | g) + (1 | h)").random)
    '(1 + x | g) + (1 | h)'
    """
    out: list[str] = []
    seen: set[str] = set()
    for t in terms:
        if not t.block:
            out.append(str(t))
        elif t.block not in seen:
            seen.add(t.block)
            out.append(f"({t.block})")
    return " + ".join(out)


def correlated_blocks(terms: tuple[RandomTerm, ...] | list[RandomTerm]) -> list[list[int]]:
    """Positions (in ``terms``) of the terms of each correlated block ``(1 + x | g)``.

    Parameters
    ----------
    terms : sequence of RandomTerm
        As in :attr:`ParsedFormula.random`.

    Returns
    -------
    list of list of int
        One list per block, in formula order; terms on their own are in none.

    Examples
    --------
    >>> correlated_blocks(parse_formula("y ~ (1 | h) + (1 + x | g)").random)
    [[1, 2]]
    """
    blocks: dict[str, list[int]] = {}
    for i, t in enumerate(terms):
        if t.block:
            blocks.setdefault(t.block, []).append(i)
    return list(blocks.values())


@dataclass(frozen=True)
class ParsedFormula:
    """A formula split into outcome, fixed part and random terms."""

    formula: str
    outcome: str | None
    fixed: str
    random: tuple[RandomTerm, ...]

    def variables(self) -> list[str]:
        """Every data column the formula uses (outcome, fixed variables, grouping factors)."""
        out: list[str] = []
        if self.outcome is not None:
            out.append(self.outcome)
        out.extend(_rhs_variables(self.fixed))
        for term in self.random:
            out.extend(_rhs_variables(term.expr))
            out.extend(term.factors)
        return list(dict.fromkeys(out))


def _rhs_variables(rhs: str) -> list[str]:
    # plain "a + b + c" needs no parser (formulaic's costs milliseconds per call)
    plain = [t.strip() for t in rhs.replace("~", "").split("+")]
    if plain and all(_NAME.match(t) or t in ("0", "1") for t in plain):
        return sorted({t for t in plain if t not in ("0", "1")})
    try:
        names = Formula(rhs).required_variables
    except Exception as exc:  # formulaic raises several parser error types
        raise FormulaError(f"cannot parse formula part {rhs!r}: {exc}") from exc
    return sorted(str(v) for v in names)


def group_labels(data: pd.DataFrame, group: str) -> pd.Series:
    """Each row's group for the grouping factor ``group`` of a random term.

    A plain column name gives that column; an interaction ``"a:b"`` gives the combinations
    as strings ``"<a>:<b>"`` (missing if any part is missing), so that level ``b1`` of ``b``
    within ``a1`` and within ``a2`` are different groups.
    """
    parts = group.split(":")
    if len(parts) == 1:
        return data[group]
    codes, levels = _interaction_codes(data, parts)
    out = levels.astype(object)[np.maximum(codes, 0)]
    out[codes < 0] = np.nan
    return pd.Series(out, index=data.index, name=group)


def group_codes(
    data: pd.DataFrame, group: str, cache: dict | None = None
) -> tuple[np.ndarray, pd.Index]:
    """Codes (``-1`` where missing) and sorted levels of the grouping factor ``group``:
    ``pd.factorize(group_labels(data, group), sort=True)``, without building a label per
    row for an interaction. ``cache`` (a dict kept by the caller for one data frame) holds
    each column's factorization, so ``(1 | a/b)`` factorizes ``a`` once."""
    parts = group.split(":")
    if len(parts) == 1:
        codes, uniq, dtype = _column_codes(data, group, cache)
        if isinstance(dtype, pd.StringDtype):
            return codes, pd.Index(uniq, dtype=dtype)
        return codes, pd.Index(uniq)
    codes, levels = _interaction_codes(data, parts, cache)
    return codes, pd.Index(levels)


def _column_codes(data: pd.DataFrame, name: str, cache: dict | None) -> tuple:
    """``(codes, sorted uniques, dtype)`` of one column, from ``cache`` when there."""
    if cache is not None and name in cache:
        return cache[name]
    col = data[name]
    if isinstance(col.dtype, pd.StringDtype):
        # factorizing Python strings is faster than the Arrow array; the order is the same
        # (code-point order is UTF-8 byte order)
        codes, uniq = pd.factorize(col.to_numpy(dtype=object), sort=True)
    else:
        codes, uniq = pd.factorize(col, sort=True)
    out = (codes, uniq, col.dtype)
    if cache is not None:
        cache[name] = out
    return out


def _interaction_codes(
    data: pd.DataFrame, parts: list[str], cache: dict | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Codes and sorted text levels ``"<a>:<b>"`` of the combinations of ``parts``; the
    text of each distinct combination is built once."""
    codes, texts = [], []
    for c in parts:
        k, uniq, dtype = _column_codes(data, c, cache)
        if isinstance(dtype, pd.StringDtype):
            texts.append(np.asarray(uniq, dtype=object))  # already text
        else:
            texts.append(pd.Series(uniq).astype(str).to_numpy(dtype=object))
        codes.append(k)
    missing = np.zeros(len(data), dtype=bool)
    combo = np.zeros(len(data), dtype=np.int64)
    for k, t in zip(codes, texts, strict=True):
        missing |= k < 0
        combo = combo * (len(t) + 1) + (k + 1)  # 0: missing
    _, first, inverse = np.unique(combo, return_index=True, return_inverse=True)
    # object arrays of str: + joins elementwise (a part's -1 code only occurs in
    # combinations that are masked below)
    labels = texts[0][codes[0][first]]
    for k, t in zip(codes[1:], texts[1:], strict=True):
        labels = labels + ":" + t[k[first]]
    # different combinations can share a text (1 and "1"): they are one group (the labels
    # are all str, so NumPy's sort is the same order as pandas')
    levels, label_codes = np.unique(labels, return_inverse=True)
    out = label_codes.reshape(-1)[inverse.reshape(-1)]
    out[missing] = -1
    return out.astype(np.int64), np.asarray(levels, dtype=object)


def refuse_interaction_groups(random: tuple[RandomTerm, ...], what: str) -> None:
    """Raise for a nested or interaction grouping (``a/b``, ``a:b``) where ``what`` cannot
    fit one yet (the Bayesian models)."""
    from .exceptions import SpecificationError

    slopes = [str(t) for t in random if not t.is_intercept]
    if slopes:
        raise SpecificationError(
            f"{what} fit random intercepts only; random slopes {slopes} are not available"
        )
    bad = [str(t) for t in random if len(t.factors) > 1]
    if bad:
        raise SpecificationError(
            f"{what} cannot fit nested or interaction groupings {bad} yet; they are fitted by "
            "cm.Ordinal and cm.Logistic. Make a column holding the combination, e.g. "
            "data['a_b'] = data['a'].astype(str) + ':' + data['b'].astype(str), and use "
            "(1 | a) + (1 | a_b)"
        )


def _split_expr(expr: str, whole: str) -> list[str]:
    """The parts of a random term's expression: ``"1"`` for an intercept, then each slope's
    column (``"1 + x"`` and ``"x"`` give ``["1", "x"]``, ``"0 + x"`` gives ``["x"]``)."""
    e = expr.replace(" ", "").replace("-1", "+0")
    parts = [p for p in e.split("+") if p]
    if not parts:
        raise FormulaError(f"random term ({whole}) has an empty expression before '|'")
    no_intercept = "0" in parts
    if no_intercept and "1" in parts:
        raise FormulaError(f"random term ({whole}) both adds (1) and removes (0) the intercept")
    slopes = [p for p in parts if p not in ("0", "1")]
    bad = [p for p in slopes if not _NAME.match(p)]
    if bad:
        raise FormulaError(
            f"random term ({whole}): {bad} is not a column name; a random slope takes a "
            "numeric column as it is (make transformed or interacted columns first)"
        )
    if len(set(slopes)) != len(slopes):
        raise FormulaError(f"random term ({whole}) names a column twice")
    return ([] if no_intercept else ["1"]) + slopes


def _expand_group(expr: str, group: str, whole: str) -> list[RandomTerm]:
    """``(expr | a/b/c)`` -> ``(expr | a) + (expr | a:b) + (expr | a:b:c)``; ``a:b`` kept.

    An expression with several parts (``1 + x``, ``x``, ``0 + x + z``) becomes one term per
    part, marked as one correlated block per grouping."""
    if not _GROUP.match(group):
        raise FormulaError(
            f"random term ({whole}) groups by {group!r}; the grouping factor must be a column "
            "name, an interaction of columns 'a:b', or a nesting 'a/b' (b within a)"
        )
    pieces = [p.strip() for p in group.split("/")]
    levels = [[q.strip() for q in p.split(":")] for p in pieces]
    out: list[RandomTerm] = []
    acc: list[str] = []
    for names in levels:
        acc = [*acc, *names]
        if len(set(acc)) != len(acc):
            raise FormulaError(
                f"random term ({whole}) names a column twice in its grouping {group!r}"
            )
        grp = ":".join(acc)
        parts = _split_expr(expr, whole)
        if len(parts) == 1:
            out.append(RandomTerm(expr, grp))
            continue
        block = f"{' + '.join(parts)} | {grp}"
        out.extend(RandomTerm("1" if p == "1" else f"0 + {p}", grp, block) for p in parts)
    return out


def parse_rhs(rhs: str) -> tuple[str, tuple[RandomTerm, ...]]:
    """Split a right-hand side into its fixed part and random terms.

    Nested groupings are expanded as in lme4: ``(1 | a/b)`` becomes ``(1 | a) + (1 | a:b)``.
    """
    terms: list[RandomTerm] = []
    for m in _RANDOM.finditer(rhs):
        terms.extend(_expand_group(m.group(1), m.group(2), m.group(0)[1:-1].strip()))
    seen: set[tuple[str, str]] = set()
    for t in terms:
        key = (t.expr.replace(" ", ""), t.group)
        if key in seen:
            raise FormulaError(f"random term {t} appears twice in {rhs!r}")
        seen.add(key)
    fixed = _RANDOM.sub(" ", rhs)
    # tidy the '+' left behind by removed terms
    fixed = re.sub(r"\+\s*\+", "+", fixed)
    fixed = re.sub(r"^\s*\+|\+\s*$", "", fixed.strip()).strip()
    if "|" in fixed:
        raise FormulaError(
            f"could not read a random term in {rhs!r}; write them as (1 | group), "
            "each in its own parentheses"
        )
    return (fixed or "1"), tuple(terms)


def parse_formula(formula: str, *, require_outcome: bool = True) -> ParsedFormula:
    """Parse ``"y ~ fixed + (1 | g)"`` into its parts.

    Parameters
    ----------
    formula : str
        A Wilkinson formula, optionally with lme4-style random terms.
    require_outcome : bool, default True
        Whether a left-hand side is required.

    Returns
    -------
    ParsedFormula

    Raises
    ------
    FormulaError
        If the formula is not a string, has no ``~`` when an outcome is required, or the
        outcome is not a plain column name.
    """
    if not isinstance(formula, str) or not formula.strip():
        raise FormulaError(f"formula must be a non-empty string, got {formula!r}")
    lhs: str | None = None
    rhs = formula
    if "~" in formula:
        left, rhs = formula.split("~", 1)
        lhs = left.strip().strip("`") or None
    if require_outcome and lhs is None:
        raise FormulaError(f"formula {formula!r} has no outcome; write it as 'y ~ x1 + x2'")
    if lhs is not None and not re.match(r"^[^\s+*~()]+$", lhs):
        raise FormulaError(
            f"the outcome {lhs!r} must be a single column name; create the variable first"
        )
    fixed, random = parse_rhs(rhs.strip())
    return ParsedFormula(formula=formula, outcome=lhs, fixed=fixed, random=random)


class FixedDesign:
    """The fixed-effects design matrix of a formula's right-hand side.

    Parameters
    ----------
    rhs : str
        Fixed part of the formula (no outcome, no random terms).
    data : pandas.DataFrame
        Complete-case data (missing values must already be removed and counted).
    intercept : bool, default True
        Keep the intercept column. Cumulative-link models pass ``False``: their thresholds
        absorb it.

    Attributes
    ----------
    X : ndarray of shape (n, k)
    names : list of str
        Column names in formulaic's convention, e.g. ``"temp[T.warm]"``.
    """

    def __init__(self, rhs: str, data: pd.DataFrame, *, intercept: bool = True) -> None:
        check_columns(data, _rhs_variables(rhs))
        self.rhs = rhs
        self.intercept = intercept
        self._spec_cache = None
        # Fast path for sums of plain columns (the common case): formulaic's categorical
        # encoding dominates the cost of a whole fit on survey-sized data. Same columns,
        # names and level order as formulaic (tests/test_formula_fast_design.py checks it).
        self._fast = _fast_levels(rhs, data)
        if self._fast is not None:
            X, names = _fast_matrix(self._fast, data)
            keep = [i for i, c in enumerate(names) if intercept or c != "Intercept"]
            self._keep = keep
            self.names = [names[i] for i in keep]
            self.X = X[:, keep]
            self._data_for_spec = data
            return
        try:
            mm = model_matrix(rhs, data, na_action="raise")
        except Exception as exc:
            raise FormulaError(f"cannot build the design for {rhs!r}: {exc}") from exc
        self._spec_cache = mm.model_spec
        names = [str(c) for c in mm.columns]
        keep = [i for i, c in enumerate(names) if intercept or c != "Intercept"]
        self._keep = keep
        self.names = [names[i] for i in keep]
        self.X = np.asarray(mm, dtype=float)[:, keep]

    @property
    def _spec(self):  # formulaic ModelSpec, built on demand for fast-path designs
        if self._spec_cache is None:
            self._spec_cache = model_matrix(self.rhs, self._data_for_spec).model_spec
        return self._spec_cache

    @property
    def k(self) -> int:
        """Number of columns."""
        return self.X.shape[1]

    def transform(self, newdata: pd.DataFrame) -> np.ndarray:
        """Build the same columns for ``newdata`` (levels and encodings of the fit data)."""
        check_columns(newdata, _rhs_variables(self.rhs), what="the model (newdata)")
        if self._fast is not None:
            return _fast_matrix(self._fast, newdata, new=True)[0][:, self._keep]
        try:
            mm = self._spec.get_model_matrix(newdata, na_action="raise")
        except Exception as exc:
            raise FormulaError(f"cannot rebuild the design on new data: {exc}") from exc
        return np.asarray(mm, dtype=float)[:, self._keep]

    def term_columns(self) -> dict[str, list[str]]:
        """The design columns of each formula term, in formula order.

        Returns
        -------
        dict of str to list of str
            Term label (``"area"``, ``"C(area)"``, ``"x:z"``; the intercept is
            ``"Intercept"``) to the names of its columns in :attr:`names`.
        """
        if self._fast is not None:
            out = {"Intercept": ["Intercept"]} if "Intercept" in self.names else {}
            for t, levels in self._fast:
                out[t] = [t] if levels is None else [f"{t}[T.{lev}]" for lev in levels[1:]]
            return out
        pos = {j: i for i, j in enumerate(self._keep)}
        terms: dict[str, list[str]] = {}
        for term, idx in self._spec.term_indices.items():
            cols = [self.names[pos[j]] for j in idx if j in pos]
            if cols:
                terms["Intercept" if str(term) == "1" else str(term)] = cols
        return terms

    def collinear(self, tol: float = 1e-7, *, constant: bool = False) -> list[str]:
        """Names of columns that are linear combinations of earlier columns.

        Works on the k x k cross-product of the column-normalised design (a QR of the
        n x k matrix costs far more on large data): a column is collinear when its residual
        norm after projection on the earlier independent columns is below ``tol``. With
        ``constant=True`` a column of ones is put first (for designs without an intercept
        column whose model has one implicitly, as the thresholds of a cumulative-link model).
        """
        if self.k == 0:
            return []
        X = self.X
        if constant:
            X = np.column_stack([np.ones(len(X)), X])
        scale = np.sqrt((X * X).sum(axis=0))
        scale[scale == 0] = 1.0
        G = (X.T @ X) / np.outer(scale, scale)
        names = ["(constant)", *self.names] if constant else self.names
        kept: list[int] = []
        bad: list[str] = []
        for i in range(len(names)):
            resid = G[i, i]
            if kept:
                g = G[kept, i]
                resid = resid - g @ np.linalg.solve(G[np.ix_(kept, kept)], g)
            if resid < tol * tol or G[i, i] == 0:
                bad.append(names[i])
            else:
                kept.append(i)
        return bad


def _fast_levels(rhs: str, data: pd.DataFrame) -> list[tuple[str, list | None]] | None:
    """Terms of a plain ``a + b + c`` formula with their levels, or None (use formulaic)."""
    terms = [t.strip() for t in rhs.split("+")]
    if not terms or len(set(terms)) != len(terms):
        return None
    out: list[tuple[str, list | None]] = []
    for t in terms:
        if t == "1":
            continue
        if not _NAME.match(t) or t not in data.columns:
            return None
        col = data[t]
        if pd.api.types.is_bool_dtype(col):
            return None
        if pd.api.types.is_numeric_dtype(col) and not isinstance(col.dtype, pd.CategoricalDtype):
            if col.isna().any():
                return None
            out.append((t, None))
            continue
        if isinstance(col.dtype, pd.CategoricalDtype):
            levels = list(col.cat.categories)
            if col.isna().any() or (np.bincount(col.cat.codes, minlength=len(levels)) == 0).any():
                return None
        elif pd.api.types.is_string_dtype(col) or col.dtype == object:
            if col.isna().any():
                return None
            vals = pd.unique(col)
            if not all(isinstance(v, str) for v in vals):
                return None
            levels = sorted(vals)
        else:
            return None
        if len(levels) < 1:
            return None
        out.append((t, levels))
    return out


def _fast_matrix(
    spec: list[tuple[str, list | None]], data: pd.DataFrame, *, new: bool = False
) -> tuple[np.ndarray, list[str]]:
    """Intercept + numeric columns + treatment dummies (reference = first level)."""
    n = len(data)
    cols = [np.ones(n)]
    names = ["Intercept"]
    for t, levels in spec:
        col = data[t]
        if levels is None:
            v = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
            if new and np.isnan(v).any():
                raise FormulaError(f"column {t!r} of the new data has missing values")
            cols.append(v)
            names.append(t)
            continue
        if isinstance(col.dtype, pd.CategoricalDtype) and list(col.cat.categories) == levels:
            codes = col.cat.codes.to_numpy()
        elif not new:
            codes, _ = pd.factorize(col, sort=True)  # levels are the sorted unique values
        else:
            codes = pd.Index(levels).get_indexer(col)
        if (codes < 0).any():
            unseen = sorted({str(v) for v in col[codes < 0]})[:5]
            raise FormulaError(
                f"column {t!r} has values not seen when the model was fitted: {unseen} "
                f"(known levels: {[str(x) for x in levels]})"
            )
        for j, lev in enumerate(levels[1:], start=1):
            cols.append((codes == j).astype(float))
            names.append(f"{t}[T.{lev}]")
    return np.column_stack(cols), names


class ModelFrame:
    """Everything a model needs from ``formula`` and ``data``, validated once.

    Builds the complete-case data (counting what is dropped), the outcome codes, the fixed
    design matrix, the grouping factors of the random terms and the weights. Used by the
    frequentist engines and the Bayesian module alike.

    Parameters
    ----------
    formula : str
        ``"y ~ x1 + x2 + (1 | g)"``.
    data : pandas.DataFrame
        Input data; not modified.
    outcome : {"ordinal", "binary"}
        How to read the outcome. ``"ordinal"`` needs an ordered categorical or numeric codes;
        ``"binary"`` takes booleans, 0/1 numbers or a two-level categorical (the second level
        is the event). ``"proportion"`` takes numbers in [0, 1] (a share of successes, used
        with ``weights`` = number of trials, as R ``glm``); ``y`` is then float.
    weights : str, optional
        Column of non-negative case or sampling weights.
    extra : sequence of str, optional
        Further columns that must be complete (e.g. a cluster variable).
    intercept : bool, default True
        Keep an intercept column in the fixed design (``False`` for cumulative-link models).

    Attributes
    ----------
    data : pandas.DataFrame
        Complete-case rows (original index).
    missing : MissingReport
        Rows dropped for missing values, by column.
    rows : ndarray of int
        Positions of the complete-case rows in the input data (unambiguous even when the
        input's index has duplicate labels).
    y : ndarray of int
        Outcome codes ``0 .. n_categories - 1``.
    categories : list
        Outcome category labels, lowest first.
    fixed : FixedDesign
        The fixed-effects design.
    groups : dict of str to (ndarray of int, pandas.Index)
        For each random term (keyed by :attr:`RandomTerm.label`: ``"g"``, ``"a:b"`` or
        ``"x|g"`` for a slope): group codes per row and the level labels.
    re_values : dict of str to ndarray
        For each random slope ``(0 + x | g)`` (keyed ``"x|g"``): the values of ``x``.
    re_blocks : list of list of str
        The labels of the terms of each correlated block: ``(1 + x | g)`` gives
        ``["g", "x|g"]``.
    weights : ndarray or None
    """

    def __init__(
        self,
        formula: str,
        data: pd.DataFrame,
        *,
        outcome: str = "ordinal",
        weights: str | None = None,
        extra: tuple[str, ...] | list[str] = (),
        intercept: bool = True,
    ) -> None:
        import warnings

        from ._validation import check_dataframe, check_weights, drop_incomplete
        from .exceptions import DataError, SpecificationError

        check_dataframe(data)
        self.formula = formula
        self.parsed = parse_formula(formula)
        cols = self.parsed.variables()
        check_columns(data, cols)
        others = [c for c in [weights, *extra] if c is not None]
        check_columns(data, others, what="the model options")
        self.data, self.missing = drop_incomplete(data, [*cols, *others])
        assert self.missing.kept_positions is not None
        self.rows = self.missing.kept_positions
        if len(self.data) == 0:
            raise DataError(f"no complete rows remain: {self.missing.describe()}")
        name = self.parsed.outcome
        assert name is not None
        self.outcome_name = name
        raw = self.data[name]
        if outcome == "ordinal":
            self.y, self.categories = _ordinal_codes(raw, name)
        elif outcome == "binary":
            self.y, self.categories = _binary_codes(raw, name)
        elif outcome == "proportion":
            self.y, self.categories = _proportion_values(raw, name), [0, 1]
        else:
            raise ValueError(
                f"outcome must be 'ordinal', 'binary' or 'proportion', got {outcome!r}"
            )
        # proportions count as "observed" at 0 and 1 when strictly between (both outcomes)
        y_obs = (
            self.y
            if outcome != "proportion"
            else np.r_[np.ceil(self.y).astype(np.int64), np.floor(self.y).astype(np.int64)]
        )
        observed = np.bincount(y_obs, minlength=len(self.categories))
        if (observed > 0).sum() < 2:
            raise DataError(
                f"outcome {name!r} has only one observed category "
                f"({self.categories[int(np.argmax(observed))]!r}) in the {len(self.y)} rows "
                "used; a model needs at least two"
            )
        if outcome == "ordinal" and (observed == 0).any():
            empty = [c for c, k in zip(self.categories, observed, strict=True) if k == 0]
            warnings.warn(
                f"outcome {name!r} has categories with no observations: {empty}; they are "
                "dropped from the model (their thresholds are not identified)",
                UserWarning,
                stacklevel=3,
            )
            keep = np.flatnonzero(observed > 0)
            remap = -np.ones(len(self.categories), dtype=np.int64)
            remap[keep] = np.arange(len(keep))
            self.y = remap[self.y]
            self.categories = [self.categories[i] for i in keep]
        _refuse_constant_predictors(self.data, self.parsed.fixed)
        self.fixed = FixedDesign(self.parsed.fixed, self.data, intercept=intercept)
        finite = np.isfinite(self.fixed.X)
        if not finite.all():
            j = int(np.flatnonzero(~finite.all(axis=0))[0])
            raise DataError(
                f"design column {self.fixed.names[j]!r} has {int((~finite[:, j]).sum())} "
                "non-finite values (a transformation such as log(0) gives -inf); fix or drop "
                "those rows before fitting"
            )
        bad = self.fixed.collinear()
        if bad:
            raise SpecificationError(_collinear_message(self.fixed, bad))
        if not intercept:
            # the thresholds play the intercept's role: no predictors may add up to a constant
            bad = self.fixed.collinear(constant=True)
            if bad:
                raise SpecificationError(_collinear_message(self.fixed, bad, constant=True))
        self.groups: dict[str, tuple[np.ndarray, pd.Index]] = {}
        # row values of each random slope (0 + x | g), keyed by its label "x|g"
        self.re_values: dict[str, np.ndarray] = {}
        factorized: dict = {}  # each grouping column factorized once
        for term in self.parsed.random:
            xname = term.slope_variable
            if not term.is_intercept and xname is None:  # pragma: no cover - parse_rhs splits
                raise SpecificationError(f"random term {term} is not supported")
            codes, levels = group_codes(self.data, term.group, factorized)
            if len(levels) < 2:
                raise SpecificationError(
                    f"grouping factor {term.group!r} has a single level ({levels[0]!r}); a "
                    "random intercept needs at least two groups — drop the term"
                )
            if term.label in self.groups:
                raise SpecificationError(f"random term {term} appears twice")
            self.groups[term.label] = (codes.astype(np.int64), pd.Index(levels))
            if xname is not None:
                self.re_values[term.label] = _slope_values(self.data, xname, term, codes)
        # labels of the terms of each correlated block (1 + x | g), in formula order
        labels = [t.label for t in self.parsed.random]
        self.re_blocks: list[list[str]] = [
            [labels[i] for i in blk] for blk in correlated_blocks(self.parsed.random)
        ]
        self.weights_name = weights
        self.weights = (
            check_weights(self.data[weights].to_numpy(), f"weights column {weights!r}")
            if weights is not None
            else None
        )

    @property
    def X(self) -> np.ndarray:
        """Fixed design matrix."""
        return self.fixed.X

    @property
    def x_names(self) -> list[str]:
        """Fixed design column names."""
        return self.fixed.names

    @property
    def nobs(self) -> int:
        """Rows used."""
        return len(self.y)

    @property
    def n_dropped(self) -> int:
        """Rows dropped for missing values."""
        return self.missing.n_dropped

    @property
    def n_categories(self) -> int:
        """Number of outcome categories used."""
        return len(self.categories)

    def threshold_names(self) -> list[str]:
        """``"a|b"`` labels of the thresholds between adjacent categories."""
        c = [str(x) for x in self.categories]
        return [f"{a}|{b}" for a, b in itertools.pairwise(c)]


def _refuse_constant_predictors(data: pd.DataFrame, rhs: str) -> None:
    """A fixed-effect column with one value in the rows used carries no information: name it."""
    from .exceptions import SpecificationError

    for v in _rhs_variables(rhs):
        col = data[v]
        if isinstance(col.dtype, np.dtype) and col.dtype.kind in "biuf":
            # plain NumPy numbers: compare with the first non-missing value (no hashing)
            arr = col.to_numpy()
            if arr.dtype.kind == "f":
                arr = arr[~np.isnan(arr)]
            if len(arr) == 0 or not (arr == arr[0]).all():
                continue
        values = pd.unique(col.dropna())
        if len(values) == 1:
            value = values[0].item() if isinstance(values[0], np.generic) else values[0]
            raise SpecificationError(
                f"predictor column {v!r} is constant (every one of the {len(data)} rows used "
                f"has the value {value!r}), so its effect cannot be estimated; remove it "
                "from the formula"
            )


def _collinear_message(fixed: FixedDesign, bad: list[str], *, constant: bool = False) -> str:
    """Name the user's columns behind the collinear design columns ``bad``."""
    parts = []
    for term, cols in fixed.term_columns().items():
        hit = [c for c in cols if c in bad]
        if not hit:
            continue
        variables = [] if term == "Intercept" else _rhs_variables(term)
        who = (
            f"column {term!r}"
            if variables == [term]
            else f"term {term!r} (column{'s' if len(variables) > 1 else ''} "
            f"{', '.join(repr(v) for v in variables)})"
        )
        if len(hit) < len(cols):
            who += f", levels {hit}"
        parts.append(who)
    if constant:
        return (
            f"predictors add up to a constant: {'; '.join(parts)} can be written as a "
            "combination of a constant and the predictors before it in the formula (design "
            f"columns {bad}). The thresholds already play the intercept's role: remove it "
            "from the formula, and write the formula without '0 +' / '- 1'"
        )
    return (
        f"predictors are perfectly collinear: {'; '.join(parts)} can be written as a "
        f"combination of the predictors before it in the formula (design columns {bad}); "
        "remove it from the formula, or merge levels that always occur together"
    )


def _slope_values(data: pd.DataFrame, xname: str, term: RandomTerm, codes: np.ndarray):
    """The numeric column of a random slope; an error if it is not numeric or does not vary
    within any group (the slope is then not identified)."""
    from .exceptions import DataError

    shown = f"({term.block})" if term.block else str(term)

    col = data[xname]
    if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        raise DataError(
            f"random slope {shown}: column {xname!r} must be numeric (dtype {col.dtype}); a "
            "random slope of a factor is not available"
        )
    x = col.to_numpy(dtype=float)
    if not np.isfinite(x).all():
        raise DataError(f"random slope {shown}: column {xname!r} has infinite values")
    m = int(codes.max()) + 1
    lo = np.full(m, np.inf)
    hi = np.full(m, -np.inf)
    np.minimum.at(lo, codes, x)
    np.maximum.at(hi, codes, x)
    if not (hi - lo > 1e-12 * np.maximum(1.0, np.abs(hi))).any():
        raise DataError(
            f"random slope {shown}: {xname!r} is constant within every group of "
            f"{term.group!r}, so a slope per group is not identified; drop the term"
        )
    return x


def _ordinal_codes(raw: pd.Series, name: str) -> tuple[np.ndarray, list]:
    from .exceptions import DataError

    if isinstance(raw.dtype, pd.CategoricalDtype):
        if not raw.cat.ordered:
            cats = list(raw.cat.categories)
            raise DataError(
                f"outcome {name!r} is an unordered categorical; make it ordered, lowest first: "
                f"df[{name!r}] = pd.Categorical(df[{name!r}], categories={cats!r}, ordered=True)"
            )
        return raw.cat.codes.to_numpy(np.int64), list(raw.cat.categories)
    if pd.api.types.is_bool_dtype(raw):
        return raw.astype(np.int64).to_numpy(), [False, True]
    if pd.api.types.is_numeric_dtype(raw):
        vals = raw.to_numpy(float)
        if not np.allclose(vals, np.round(vals)):
            raise DataError(
                f"outcome {name!r} has non-integer values; an ordinal outcome needs ordered "
                "categories or integer codes"
            )
        levels = np.unique(vals.astype(np.int64))
        return np.searchsorted(levels, vals.astype(np.int64)), [int(v) for v in levels]
    examples = list(pd.unique(raw))[:5]
    raise DataError(
        f"outcome {name!r} holds text ({examples!r}) with no order; make it an ordered "
        f"categorical, lowest first: df[{name!r}] = pd.Categorical(df[{name!r}], "
        "categories=[...lowest to highest...], ordered=True)"
    )


def _proportion_values(raw: pd.Series, name: str) -> np.ndarray:
    from .exceptions import DataError

    if not pd.api.types.is_numeric_dtype(raw) or pd.api.types.is_bool_dtype(raw):
        raise DataError(f"proportion outcome {name!r} must be numeric in [0, 1]")
    vals = raw.to_numpy(float)
    bad = (vals < 0) | (vals > 1)
    if bad.any():
        raise DataError(
            f"proportion outcome {name!r} has {int(bad.sum())} values outside [0, 1] (e.g. "
            f"{vals[bad][0]:g}); give the share of successes and the trials as weights="
        )
    return vals


def _binary_codes(raw: pd.Series, name: str) -> tuple[np.ndarray, list]:
    from .exceptions import DataError

    if isinstance(raw.dtype, pd.CategoricalDtype):
        cats = list(raw.cat.categories)
        used = [c for c in cats if (raw == c).any()]
        if len(cats) != 2:
            if len(used) == 2:
                cats = used
            else:
                raise DataError(
                    f"binary outcome {name!r} has {len(used)} observed levels {used!r}; "
                    "recode it to two levels (the second is the event)"
                )
        return (raw.astype(object) == cats[1]).to_numpy(np.int64), cats
    if pd.api.types.is_bool_dtype(raw):
        return raw.astype(np.int64).to_numpy(), [False, True]
    if pd.api.types.is_numeric_dtype(raw):
        vals = raw.to_numpy(float)
        if not np.isin(vals, [0.0, 1.0]).all():
            bad = np.unique(vals[~np.isin(vals, [0.0, 1.0])])[:5]
            raise DataError(
                f"binary outcome {name!r} must be 0/1, True/False or a two-level categorical; "
                f"found values {bad.tolist()}"
            )
        return vals.astype(np.int64), [0, 1]
    levels = sorted(pd.unique(raw).tolist(), key=str)
    raise DataError(
        f"binary outcome {name!r} holds text {levels[:5]!r}; make it a categorical with the "
        f"event as second level: pd.Categorical(df[{name!r}], categories=[<no>, <yes>])"
    )
