"""Statistical validation of civmodels.bayes.Ordinal: simulation-based calibration (SBC) and
parameter recovery. Results go to docs/bayes.md (numbers) and docs/_static/ (rank histograms).

SBC (Talts et al. 2018): draw parameters from the prior, simulate a data set from them, fit the
posterior, and record the rank of the true value among L thinned posterior draws. If the
sampler and the model code are right, ranks are uniform on 0..L for every parameter.

Recovery: simulate the KORA-shaped data (444 rows, 98 municipalities, 15 fixed effects) from
fixed true values, fit, and count how many true values fall inside the 90% intervals
(target: at least 85% of parameters, over several data sets).

Run:  /work/venv/bin/python benchmarks/validate_bayes.py sbc --n 100
      /work/venv/bin/python benchmarks/validate_bayes.py recovery --n 5
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "reference" / "bayes"))

CATS = ["c1", "c2", "c3", "c4"]
L = 99  # thinned posterior draws per data set: ranks in 0..99


def sbc_design(n: int = 120, n_groups: int = 12, random_seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(random_seed)
    return pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.choice(["a", "b"], n),
            "g": [f"g{j:02d}" for j in rng.integers(0, n_groups, n)],
        }
    )


def run_sbc(n_datasets: int, random_seed: int = 1, draws: int = 500) -> dict:
    from civmodels import bayes

    ss = np.random.SeedSequence(random_seed)
    design = sbc_design()
    design["y"] = pd.Categorical(np.resize(CATS, len(design)), CATS, ordered=True)
    template = bayes.Ordinal("y ~ x1 + x2 + (1 | g)", design)
    names = [*template.threshold_names(), *template.slope_names, "sd_g"]
    ranks = []
    n_div = 0
    t0 = time.time()
    for i, child in enumerate(ss.spawn(n_datasets)):
        rng = np.random.default_rng(child)
        truth = template._prior_draws(1, rng)
        y = template._simulate_y(truth, rng)[0]
        df = design.assign(y=pd.Categorical.from_codes(y, CATS, ordered=True))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = bayes.Ordinal("y ~ x1 + x2 + (1 | g)", df)
            res = m.fit(draws=draws, tune=500, chains=1, random_seed=rng.integers(2**31))
        n_div += res.diagnostics.n_divergent
        post = res._param_draws()
        post["sd_g"] = res._post["sd_g"]
        thin = post.iloc[np.linspace(0, len(post) - 1, L).astype(int)]
        true_vec = [*truth["cutpoints"][0], *truth["coef"][0], truth["sd_g"][0]]
        ranks.append(
            [int((thin[c].to_numpy() < t).sum()) for c, t in zip(names, true_vec, strict=True)]
        )
        if (i + 1) % 10 == 0:
            print(f"{i + 1} data sets, {time.time() - t0:.0f} s", flush=True)
    ranks = np.array(ranks)
    # chi-square test of uniformity over 10 bins per parameter
    from scipy import stats

    pvals = {}
    for j, name in enumerate(names):
        counts = np.histogram(ranks[:, j], bins=10, range=(0, L + 1))[0]
        pvals[name] = float(stats.chisquare(counts).pvalue)
    return {
        "n_datasets": n_datasets,
        "L": L,
        "names": names,
        "ranks": ranks.tolist(),
        "chisq_pvalues": pvals,
        "divergences": n_div,
        "seconds": time.time() - t0,
    }


def plot_sbc(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ranks = np.array(result["ranks"])
    names = result["names"]
    fig, axes = plt.subplots(1, len(names), figsize=(2.2 * len(names), 2.2), sharey=True)
    n = len(ranks)
    for ax, j in zip(axes, range(len(names)), strict=True):
        ax.hist(ranks[:, j], bins=10, range=(0, result["L"] + 1), color="C0", alpha=0.7)
        lo, hi = np.percentile(np.random.default_rng(0).binomial(n, 0.1, 10000), [0.5, 99.5])
        ax.axhspan(lo, hi, color="grey", alpha=0.25)
        ax.set_title(names[j], fontsize=7)
        ax.set_xticks([])
    fig.suptitle(
        f"SBC rank histograms ({n} data sets; grey: 99% band for uniform ranks)", fontsize=8
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def run_recovery(n_datasets: int, random_seed: int = 7) -> dict:
    from make_sim444 import simulate

    from civmodels import bayes

    f = "y ~ x1 + region + size + pressure + bloc + area + (1 | municipality)"
    # the data-generating values of make_sim444.simulate, named as civmodels names them
    true = {
        "x1": 0.6,
        "region[T.Midtjylland]": 0.2 - 0.0,
        "region[T.Nordjylland]": -0.1,
        "region[T.Sjælland]": 0.3,
        "region[T.Syddanmark]": 0.0,
        "size[T.medium]": 0.2 - 0.4,
        "size[T.small]": -0.4,
        "pressure[T.low]": -0.5,
        "bloc[T.red]": -0.2,
        "area[T.employment]": 0.0 - 0.6,
        "area[T.health]": 0.3 - 0.6,
        "area[T.management]": 0.2 - 0.6,
        "area[T.school]": -0.2 - 0.6,
        "area[T.social]": 0.0 - 0.6,
        "area[T.technical]": -0.4 - 0.6,
    }
    # reference levels (alphabetical): region Hovedstaden (0), size large (+0.4),
    # pressure high (+0.5), bloc blue (0), area culture (+0.6); thresholds shift accordingly
    shift = 0.4 + 0.5 + 0.6
    true_thr = {
        "Slet ikke vigtigt|Mindre vigtigt": -1.0 - shift,
        "Mindre vigtigt|Vigtigt": 0.3 - shift,
        "Vigtigt|Meget vigtigt": 1.8 - shift,
    }
    true_all = {**true_thr, **true, "sd_municipality": 0.5}
    rows = []
    t0 = time.time()
    for i in range(n_datasets):
        df = simulate(random_seed + i)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = bayes.Ordinal(f, df).fit(draws=1000, tune=1000, chains=4, random_seed=i)
        ci = res.conf_int(0.9)
        d = res._post["sd_municipality"]
        ci.loc["sd_municipality"] = np.quantile(d, [0.05, 0.95])
        inside = {
            k: bool(ci.loc[k, "lower"] <= v <= ci.loc[k, "upper"]) for k, v in true_all.items()
        }
        rows.append(inside)
        print(
            f"data set {i}: {np.mean(list(inside.values())):.0%} inside, {time.time() - t0:.0f} s",
            flush=True,
        )
    cover = pd.DataFrame(rows).mean()
    return {
        "n_datasets": n_datasets,
        "share_inside_per_dataset": [float(np.mean(list(r.values()))) for r in rows],
        "share_inside_overall": float(pd.DataFrame(rows).to_numpy().mean()),
        "per_parameter": cover.to_dict(),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["sbc", "recovery"])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--out", default=str(ROOT / "docs" / "_static"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.what == "sbc":
        res = run_sbc(args.n)
        plot_sbc(res, out / "bayes_sbc.png")
        (out / "bayes_sbc.json").write_text(json.dumps(res))
        print(json.dumps({k: v for k, v in res.items() if k != "ranks"}, indent=1))
    else:
        res = run_recovery(args.n)
        (out / "bayes_recovery.json").write_text(json.dumps(res, indent=1))
        print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
