"""Fast tests of the Battery and JointResponse models (small seeded fits shared per session,
in conftest.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from civmodels import bayes
from civmodels.exceptions import DataError, SpecificationError
from civmodels.results import MODEL_BLOCKS, MODEL_COLUMNS, STAT_KEYS

sys.path.insert(0, str(Path(__file__).parent))
from tests.bayes._sim import CATS
from tests.bayes.conftest import BATTERY_ITEMS as ITEMS
from tests.bayes.conftest import BATTERY_RHS as RHS

pytestmark = pytest.mark.bayes


def test_battery_bookkeeping(battery_data):
    df, _ = battery_data
    m = bayes.Battery(ITEMS, RHS, df)
    assert m.n_no_answer == 1 and m.n_dropped == 1 and m.nobs == 199
    assert m.dont_know["mot_0"] == int(df.loc[1:, "mot_0_dk"].sum())
    n_answers = int(df.loc[1:, ITEMS].notna().to_numpy().sum())
    assert len(m.y) == n_answers
    # people who broke off after item 1 are kept (their first answer counts)
    broke = df.loc[1:, "mot_0"].notna() & df.loc[1:, ["mot_1", "mot_2"]].isna().all(axis=1)
    assert broke.any()
    assert set(df.index[1:][broke]) <= set(m.data.index)


def test_battery_fit_contract_and_recovery(battery_fit, battery_data):
    res = battery_fit
    _, truth = battery_data
    names = res.params.index
    assert names[0] == "mot_0: Ikke vigtigt|Mindre vigtigt"
    assert {"x1", "pressure[T.low]", "loading[mot_2]"} <= set(names)
    assert list(res.loadings.index) == [f"loading[{i}]" for i in ITEMS]
    ci = res.conf_int(0.95)
    # seeded simulation: the true covariate effects lie inside the 95% intervals
    for name in ("x1", "pressure[T.low]"):
        assert ci.loc[name, "lower"] < truth[name] < ci.loc[name, "upper"], name
    assert set(res.re_sd.index) == {"municipality", "area"}
    post = res.idata.posterior
    assert list(post["loading"].coords["item"].values) == ITEMS
    assert post["cutpoints"].dims[-2:] == ("item", "threshold")
    _check_summary(res, res.summary())
    p = res.predict(battery_data[0].head(5), item="mot_1", random_seed=1)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)


def _check_summary(res, s, level=0.95):
    """The shared Summary contract: contract blocks and columns, values equal to the
    result's own (posterior means, SDs, equal-tailed limits), fit facts in ``stats``."""
    model_blocks = {k: v for k, v in s.blocks.items() if k in MODEL_BLOCKS}
    assert set(s.blocks) - set(model_blocks) <= {"Items"}, list(s.blocks)
    assert set(s.stats) <= set(STAT_KEYS), set(s.stats) - set(STAT_KEYS)
    assert s.stats["estimator"] == "bayes" and s.stats["nobs"] == res.nobs
    assert s.stats["n_dropped"] == res.n_dropped
    assert s.stats["se_type"] == f"posterior SD; {level:.0%} equal-tailed credible intervals"
    ci = res.conf_int(level)
    for name, block in model_blocks.items():
        assert set(MODEL_COLUMNS) <= set(block.columns), (name, list(block.columns))
        if name == "Random effects":
            continue
        idx = block.index
        np.testing.assert_array_equal(block["estimate"], res.params[idx])
        np.testing.assert_array_equal(block["std_error"], res.std_errors[idx])
        np.testing.assert_array_equal(block["ci_lower"], ci.loc[idx, "lower"])
        np.testing.assert_array_equal(block["ci_upper"], ci.loc[idx, "upper"])
    re = s.blocks["Random effects"]
    assert re["n_levels"].dtype == np.int64 and "levels" not in re
    for g in res.model.groups:
        row = re.loc[f"sd({g.name})"]
        assert row["n_levels"] == g.n_levels == s.stats["n_groups"][g.name]
        assert row["estimate"] == pytest.approx(res.re_sd[g.name], rel=1e-12)


def test_battery_summary_blocks(battery_fit):
    res = battery_fit
    s = res.summary(level=0.9)
    _check_summary(res, s, level=0.9)
    assert list(s.blocks) == ["Location", "Loadings", "Thresholds", "Random effects", "Items"]
    assert list(s.blocks["Location"].index) == res.model.slope_names
    assert list(s.blocks["Loadings"].index) == [f"loading[{i}]" for i in ITEMS]
    assert s.stats["outcome"] == "mot_0, mot_1, mot_2"
    assert s.stats["nobs"] == 199 and s.stats["n_dropped"] == 1
    assert list(s.blocks["Items"].columns) == ["answered", "ved_ikke"]
    # every display of the summary shows the loadings (counts-only Items block included)
    from civmodels.report import summary_to_docx, summary_to_latex

    load = f"{s.blocks['Loadings'].loc['loading[mot_1]', 'estimate']:.{s.digits}f}"
    for text in (str(s), s.to_markdown(), s.to_html(), summary_to_latex(s)):
        assert "Loadings" in text and load in text and "ved" in text
    doc = summary_to_docx(s)
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    assert "loading[mot_1]" in cells and load in cells
    # to_frame keeps the posterior names
    assert list(res.to_frame().columns[:4]) == ["mean", "sd", "lower", "upper"]


def test_battery_poststratify_and_ppc(battery_fit, battery_data):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    df, _ = battery_data
    ps = battery_fit.poststratify(df, by="pressure", item="mot_0", random_seed=1)
    assert ps.n_units == len(df) and ps.level == 0.95 and ps.posterior
    np.testing.assert_allclose(ps.overall["estimate"].sum(), 1.0, atol=1e-10)
    allps = battery_fit.poststratify(df, by="pressure", random_seed=1)
    assert set(allps) == set(ITEMS)
    fig = battery_fit.ppc_plot(n_rep=30, random_seed=1)
    plt.close(fig)
    assert battery_fit.loo().elpd_loo < 0


def test_battery_bad_input(battery_data):
    df, _ = battery_data
    other = df.copy()
    other["mot_2"] = pd.Categorical(
        other["mot_2"].astype(object).replace({"Meget vigtigt": "Vigtigt"}),
        categories=CATS[:3],
        ordered=True,
    )
    with pytest.raises(SpecificationError, match="different scales"):
        bayes.Battery(ITEMS, RHS, other)
    with pytest.raises(SpecificationError, match="no outcome"):
        bayes.Battery(ITEMS, "mot_0" + RHS, df)
    with pytest.raises(SpecificationError, match="at least two"):
        bayes.Battery(["mot_0"], RHS, df)


def test_joint_contract(joint_fit, joint_frame):
    res = joint_fit
    assert res.nobs == len(joint_frame)
    assert {"lambda", "response: Intercept", "response: pressure[T.low]"} <= set(res.params.index)
    lam = res.lambda_
    assert set(lam.index) == {"mean", "sd", "lower", "upper", "prob_positive"}
    assert lam["lower"] < lam["mean"] < lam["upper"]
    s = res.summary()
    _check_summary(res, s)
    assert list(s.blocks) == ["Thresholds", "Location", "Response model", "Random effects"]
    response_terms = [f"response: {n}" for n in res.model.r_names]
    assert list(s.blocks["Response model"].index) == [
        "response: Intercept",
        *response_terms,
        "lambda",
    ]
    assert "response: pressure[T.low]" in response_terms
    assert s.blocks["Response model"].loc["lambda", "estimate"] == lam["mean"]
    # N counts the frame's positions, as res.nobs does; the outcome is the ordinal one
    assert s.stats["nobs"] == len(joint_frame) and s.stats["outcome"] == "y"
    sd_resp = s.blocks["Random effects"].loc["sd(response)"]
    n_muni = joint_frame["municipality"].nunique()
    assert sd_resp["n_levels"] == n_muni
    d = res._post["sd_response"]
    assert sd_resp["estimate"] == pytest.approx(d.mean(), rel=1e-12)
    assert sd_resp["std_error"] == pytest.approx(d.std(ddof=1), rel=1e-12)
    assert sd_resp["ci_lower"] < sd_resp["estimate"] < sd_resp["ci_upper"]
    ps = res.poststratify(by="pressure")
    assert ps.n_units == len(joint_frame)
    np.testing.assert_allclose(ps.overall["estimate"].sum(), 1.0, atol=1e-10)


def test_joint_bad_input(joint_frame):
    bad = joint_frame.copy()
    bad.loc[bad.index[-1], "y"] = "Vigtigt"
    with pytest.raises(DataError, match="is False"):
        bayes.JointResponse("y ~ x1 + (1 | municipality)", "~ pressure", bad)
    with pytest.raises(SpecificationError, match="fixed terms only"):
        bayes.JointResponse("y ~ x1 + (1 | municipality)", "~ pressure + (1 | area)", joint_frame)
    with pytest.raises(SpecificationError, match="random term"):
        bayes.JointResponse("y ~ x1", "~ pressure", joint_frame)
