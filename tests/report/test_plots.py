from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from civmodels.report import plots


def test_forest_plot_two_panels_for_two_scales():
    t = pd.DataFrame(
        {
            "finding_id": ["F12", "F12", "F13"],
            "outcome": ["mot_cost_effectiveness"] * 2 + ["mot_quality"],
            "method": ["crosstab", "ordinal", "crosstab"],
            "estimate": [0.2, 2.5, -0.1],
            "ci_lower": [0.1, 1.5, -0.2],
            "ci_upper": [0.3, 4.0, 0.0],
            "estimate_type": [
                "difference in proportions",
                "odds ratio",
                "difference in proportions",
            ],
        }
    )
    fig = plots.forest_plot(t)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2
    assert fig.axes[1].get_xscale() == "log"
    with pytest.raises(ValueError, match="no row"):
        plots.forest_plot(t.assign(ci_lower=np.nan))


def test_predicted_probabilities_stacked_bars():
    p = pd.DataFrame({"a": [0.2, 0.5], "b": [0.8, 0.5]}, index=["low", "high"])
    fig = plots.predicted_probabilities_plot(p)
    ax = fig.axes[0]
    assert len(ax.patches) == 4
    # second category's bars start where the first ends
    widths = sorted(round(b.get_x(), 6) for b in ax.patches)
    assert widths == [0.0, 0.0, 0.2, 0.5]
    with pytest.raises(ValueError, match="sum to 1"):
        plots.predicted_probabilities_plot(p * 2)


def test_posterior_difference_plot_annotates_probability():
    rng = np.random.default_rng(5)
    fig = plots.posterior_difference_plot({"high - low": rng.normal(0.1, 0.05, 2000)})
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any(t.startswith("P(> 0) = 0.9") for t in texts)


def test_weight_plot_reports_kish_ess():
    w = np.r_[np.ones(50), np.full(50, 3.0)]
    fig = plots.weight_plot(
        w, balance=pd.DataFrame({"before": [0.3], "after": [0.05]}, index=["area=social"])
    )
    n_eff = w.sum() ** 2 / (w**2).sum()
    assert f"Kish n_eff = {n_eff:.0f}" in fig.axes[0].get_title()
    assert len(fig.axes) == 2
    with pytest.raises(ValueError, match="positive"):
        plots.weight_plot([1.0, -1.0])


def test_coefficient_plot_across_models():
    class R:
        def __init__(self, b):
            self.params = pd.Series(b, index=["x", "z"])
            self.std_errors = pd.Series([0.1, 0.2], index=["x", "z"])

        def conf_int(self, level=0.95):
            return pd.DataFrame({"lower": self.params - 0.2, "upper": self.params + 0.2})

    fig = plots.coefficient_plot(R([0.5, 1.0]), R([0.4, 1.1]), names=["a", "b"], exponentiate=True)
    assert fig.axes[0].get_xscale() == "log"
    with pytest.raises(ValueError, match="in none of the models"):
        plots.coefficient_plot(R([0.5, 1.0]), terms=["w"])
