"""Formula parsing and the shared model frame."""

import numpy as np
import pandas as pd
import pytest

from civmodels.exceptions import DataError, FormulaError, SpecificationError
from civmodels.formula import FixedDesign, ModelFrame, parse_formula


@pytest.fixture
def df():
    rng = np.random.default_rng(3)
    n = 60
    return pd.DataFrame(
        {
            "y": pd.Categorical(
                rng.choice(["lav", "mellem", "høj"], n),
                categories=["lav", "mellem", "høj"],
                ordered=True,
            ),
            "x": rng.normal(size=n),
            "area": rng.choice(["social", "health", "schools"], n),
            "municipality": rng.choice([101, 147, 151, 153], n),
            "w": rng.uniform(0.5, 2, n),
        }
    )


def test_random_terms_are_split_from_fixed_part():
    p = parse_formula("y ~ x + C(area) + (1 | municipality) + (1|area)")
    assert p.outcome == "y"
    assert p.fixed == "x + C(area)"
    assert [(t.expr, t.group) for t in p.random] == [("1", "municipality"), ("1", "area")]
    assert set(p.variables()) == {"y", "x", "area", "municipality"}


def test_random_only_formula_has_intercept_fixed_part():
    p = parse_formula("y ~ (1 | g)")
    assert p.fixed == "1"
    assert p.random[0].is_intercept


@pytest.mark.parametrize("bad", ["", "  ", "~ x", "log(y) ~ x"])
def test_bad_formulas_raise(bad):
    with pytest.raises(FormulaError):
        parse_formula(bad)


def test_grouping_by_expression_is_rejected():
    # a:b (interaction) and a/b (nesting) are groupings; an expression is not
    with pytest.raises(FormulaError, match="must be a column name"):
        parse_formula("y ~ x + (1 | a*b)")


def test_missing_column_suggests_close_match(df):
    with pytest.raises(FormulaError, match="did you mean 'area'"):
        ModelFrame("y ~ x + aera", df)


def test_model_frame_counts_dropped_rows(df):
    df = df.copy()
    df.loc[[0, 5], "x"] = np.nan
    df.loc[[5, 7], "area"] = None
    m = ModelFrame("y ~ x + area + (1 | municipality)", df, intercept=False)
    assert m.n_dropped == 3
    assert m.missing.by_column["x"] == 2
    assert m.missing.by_column["area"] == 2
    assert "3 of 60 rows dropped" in m.missing.describe()
    assert m.nobs == 57
    assert "Intercept" not in m.x_names
    assert m.x_names == ["x", "area[T.schools]", "area[T.social]"]
    codes, levels = m.groups["municipality"]
    assert list(levels) == [101, 147, 151, 153]
    assert codes.max() == 3


def test_ordinal_outcome_codes_and_threshold_names(df):
    m = ModelFrame("y ~ x", df, intercept=False)
    assert m.categories == ["lav", "mellem", "høj"]
    assert m.threshold_names() == ["lav|mellem", "mellem|høj"]
    np.testing.assert_array_equal(m.y, df["y"].cat.codes.to_numpy())


def test_unordered_outcome_error_shows_fix(df):
    df = df.assign(y=df["y"].astype(str))
    with pytest.raises(DataError, match="ordered=True"):
        ModelFrame("y ~ x", df)
    df = df.assign(y=pd.Categorical(df["y"]))
    with pytest.raises(DataError, match="unordered categorical"):
        ModelFrame("y ~ x", df)


def test_unused_category_warns_and_is_dropped(df):
    df = df.assign(
        y=pd.Categorical(
            df["y"].astype(str), categories=["lav", "mellem", "høj", "top"], ordered=True
        )
    )
    with pytest.warns(UserWarning, match="'top'"):
        m = ModelFrame("y ~ x", df)
    assert m.categories == ["lav", "mellem", "høj"]


def test_single_observed_category_is_an_error(df):
    df = df.assign(y=pd.Categorical(["lav"] * len(df), categories=["lav", "høj"], ordered=True))
    with pytest.raises(DataError, match="only one observed category"):
        ModelFrame("y ~ x", df)


def test_collinear_predictors_are_named(df):
    df = df.assign(x2=2 * df["x"])
    with pytest.raises(SpecificationError, match="x2"):
        ModelFrame("y ~ x + x2", df)


def test_single_level_group_is_an_error(df):
    df = df.assign(g="only")
    with pytest.raises(SpecificationError, match="single level"):
        ModelFrame("y ~ x + (1 | g)", df)


def test_binary_outcomes(df):
    yes = np.where(df["x"] > 0, "Ja", "Nej")
    df = df.assign(z=(df["x"] > 0).astype(int), t=pd.Categorical(yes, categories=["Nej", "Ja"]))
    m = ModelFrame("z ~ area", df, outcome="binary")
    assert m.x_names[0] == "Intercept"
    np.testing.assert_array_equal(m.y, df["z"].to_numpy())
    m2 = ModelFrame("t ~ area", df, outcome="binary")
    np.testing.assert_array_equal(m2.y, df["z"].to_numpy())
    with pytest.raises(DataError, match="0/1"):
        ModelFrame("x ~ area", df, outcome="binary")


def test_weights_are_validated(df):
    df = df.copy()
    df.loc[3, "w"] = -1.0
    with pytest.raises(DataError, match="negative"):
        ModelFrame("y ~ x", df, weights="w")


def test_fixed_design_transform_reuses_levels(df):
    fd = FixedDesign("x + area", df, intercept=False)
    new = pd.DataFrame({"x": [0.5], "area": ["social"]})
    np.testing.assert_allclose(fd.transform(new), [[0.5, 0.0, 1.0]])


def _row_labels(data: pd.DataFrame, group: str) -> pd.Series:
    """The interaction's text per row, built the slow obvious way."""
    cols = [data[c] for c in group.split(":")]
    out = cols[0].astype(str)
    for c in cols[1:]:
        out = out + ":" + c.astype(str)
    return out.mask(pd.concat([c.isna() for c in cols], axis=1).any(axis=1))


@pytest.mark.parametrize(
    "group", ["a:b", "b:a", "a:c", "a:f", "b:s", "a:b:c", "f:s", "o:b", "a", "b", "s", "o", "c"]
)
def test_group_codes_equal_factorized_row_labels(group):
    from civmodels.formula import group_codes, group_labels

    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame(
        {
            "a": rng.integers(0, 12, n),
            "b": rng.choice(["x", "y", "zz", "B"], n),
            "c": pd.Categorical(rng.choice(["p", "q"], n)),
            "f": rng.choice([1.0, 2.5, np.nan], n),
            # 1 and "1" have the same text, so they are one group
            "o": pd.Series(rng.choice(np.array([1, "1", 2], dtype=object), n), dtype=object),
            "s": pd.Series(rng.choice(["u", None, "v"], n), dtype="string"),
        },
        index=rng.permutation(n) * 3,
    )
    ref = _row_labels(df, group) if ":" in group else df[group]
    codes, levels = pd.factorize(ref, sort=True)
    got_codes, got_levels = group_codes(df, group)
    np.testing.assert_array_equal(got_codes, codes)
    assert list(got_levels) == list(levels)
    # with a cache shared by the terms of one model (every column factorized first, so the
    # interaction reuses them): the same codes and levels
    cache: dict = {}
    for c in df.columns:
        group_codes(df, c, cache)
    cached_codes, cached_levels = group_codes(df, group, cache)
    np.testing.assert_array_equal(cached_codes, codes)
    assert list(cached_levels) == list(levels)
    assert cached_levels.dtype == got_levels.dtype
    labels = group_labels(df, group)
    assert labels.index.equals(df.index)
    np.testing.assert_array_equal(labels.isna(), ref.isna())
    assert list(labels.dropna().astype(str)) == list(ref.dropna().astype(str))
