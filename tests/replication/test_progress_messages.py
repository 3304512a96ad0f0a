"""The progress bar's weighting and engine messages in the user's names (issue 10)."""

from __future__ import annotations

import io
import types

import pytest

from civmodels.replication._methods import Task, _readable_names
from civmodels.replication._progress import COST, Progress


def test_progress_bar_is_weighted_by_expected_cost(monkeypatch):
    import tqdm.auto

    bars = []

    class Bar:
        def __init__(self, total, **kwargs):
            self.total, self.n, self.desc = total, 0.0, kwargs.get("desc")
            bars.append(self)

        def update(self, n):
            self.n += n

        def set_description_str(self, text, refresh=True):
            self.desc = text

        def close(self):
            pass

    monkeypatch.setattr(tqdm.auto, "tqdm", Bar)
    planned = ["crosstab"] * 100 + ["bayes"] * 2
    p = Progress(planned, True)
    bar = bars[0]
    assert bar.total == pytest.approx(100 * COST["crosstab"] + 2 * COST["bayes"])
    for _ in range(100):
        p.tick("crosstab")
    # 100 of 102 tests done, but the two Bayesian fits are most of the work still to come:
    # a count-based bar would claim 98 % and an ETA of seconds
    crosstab_work = 100 * COST["crosstab"]
    assert bar.n == pytest.approx(crosstab_work)
    assert bar.n / bar.total < 0.2
    assert bar.desc == "replicate 100/102 tests"
    p.tick("bayes")
    assert bar.n / bar.total == pytest.approx((100 * COST["crosstab"] + COST["bayes"]) / bar.total)


def test_progress_callable_counts_tests():
    seen = []

    def factory(total):
        seen.append(total)
        return types.SimpleNamespace(update=lambda n: seen.append(n), close=lambda: None)

    p = Progress(["crosstab", "mixed"], factory)
    p.tick("crosstab")
    p.tick("mixed")
    p.close()
    assert seen == [2, 1, 1]


def test_real_tqdm_bar_renders(monkeypatch):
    buf = io.StringIO()
    monkeypatch.setattr("sys.stderr", buf)
    p = Progress(["design", "mixed"], True)
    p.tick("design")
    p.close()
    assert "1/2 tests" in buf.getvalue()


def test_engine_messages_use_the_users_names():
    task = Task(
        finding=None,
        item="mot_quality",
        by="size_group",
        outcome=None,  # type: ignore[arg-type]
        contrast=None,
        adjust=("log_population", "bloc"),
    )
    formula = "y ~ g_1 + g_2 + log_population + bloc + (1 | municipality_code)"
    labels = {"g_1": "size_group = 30k–50k (vs <30k)", "g_2": "size_group = ≥100k (vs <30k)"}
    rewrite = _readable_names(task, formula, labels)
    text = rewrite(
        f"the agq fit of {formula!r} did not converge; predictors are perfectly collinear: "
        "['g_2', 'bloc[T.red]']"
    )
    assert "'y ~" not in text and "g_1" not in text and "'g_2'" not in text
    assert "mot_quality ~ size_group + log_population + bloc + (1 | municipality_code)" in text
    assert "size_group = ≥100k (vs <30k)" in text
