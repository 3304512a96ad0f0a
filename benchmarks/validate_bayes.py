"""Statistical validation of civmodels.bayes.Ordinal: simulation-based calibration (SBC) and
parameter recovery. Results go to docs/bayes.md (numbers) and docs/_static/ (rank histograms).

SBC (Talts et al. 2018): draw parameters from the prior, simulate a data set from them, fit the
posterior, and record the rank of the true value among L thinned posterior draws. If the
sampler and the model code are right, ranks are uniform on 0..L for every parameter.

Recovery: simulate the KORA-shaped data (444 rows, 98 municipalities, 15 fixed effects) from
fixed true values, fit, and count how many true values fall inside the 90% intervals
(target: at least 85% of parameters, over several data sets).

SBC covers five families (``--family``): the ordinal model with the default priors (logit),
with Normal threshold, Student-t coefficient and half-Student-t SD priors (probit), and with
Student-t threshold, Laplace coefficient and log-normal SD priors (cloglog); the Bernoulli
logistic model; and the binomial model with trials (probit).

Run:  /work/venv/bin/python benchmarks/validate_bayes.py sbc --n 200 [--family NAME]
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
            "n": rng.integers(1, 9, n),  # binomial trials
        }
    )


def _priors():
    from civmodels.bayes import Prior

    return {
        # the defaults: induced Dirichlet, Normal(0, 1/sd) coefficients, HalfNormal(1) SD
        "ordinal-logit": {},
        "ordinal-probit-normal": {
            "cutpoints": Prior("normal", mu=[-1.0, 0.0, 1.0], sigma=1.0),
            "coef": Prior("studentt", nu=4.0, sigma=0.7),
            "sd": Prior("halfstudentt", nu=3.0, sigma=0.7),
        },
        "ordinal-cloglog-t": {
            "cutpoints": Prior("studentt", nu=5.0, mu=0.0, sigma=1.5),
            "coef": Prior("laplace", sigma=0.5),
            "sd": Prior("lognormal", mu=-0.7, sigma=0.5),
        },
        "logistic-logit": {"sd": Prior("exponential", lam=2.0)},
        "binomial-probit": {
            "Intercept": Prior("studentt", nu=4.0, sigma=1.0),
            "coef": Prior("normal", sigma=0.5),
        },
    }


FAMILIES = {
    "ordinal-logit": ("ordinal", "logit", "y ~ x1 + x2 + (1 | g)"),
    "ordinal-probit-normal": ("ordinal", "probit", "y ~ x1 + x2 + (1 | g)"),
    "ordinal-cloglog-t": ("ordinal", "cloglog", "y ~ x1 + x2 + (1 | g)"),
    "logistic-logit": ("binary", "logit", "y ~ x1 + x2 + (1 | g)"),
    "binomial-probit": ("binomial", "probit", "cbind(k, n - k) ~ x1 + x2 + (1 | g)"),
}


def run_sbc(
    n_datasets: int, family: str = "ordinal-logit", random_seed: int = 1, draws: int = 500
) -> dict:
    from civmodels import bayes
    from civmodels.exceptions import DataError

    kind, link, formula = FAMILIES[family]
    priors = _priors()[family]
    ss = np.random.SeedSequence([random_seed, list(FAMILIES).index(family)])
    design = sbc_design()
    cls = bayes.Ordinal if kind == "ordinal" else bayes.Logistic

    def with_y(y: np.ndarray) -> pd.DataFrame:
        if kind == "ordinal":
            return design.assign(y=pd.Categorical.from_codes(y, CATS, ordered=True))
        if kind == "binary":
            return design.assign(y=y)
        return design.assign(k=y)

    placeholder = np.resize(np.arange(len(CATS) if kind == "ordinal" else 2), len(design))
    template = cls(formula, with_y(placeholder), priors=priors, link=link)
    first = template.threshold_names() if kind == "ordinal" else ["Intercept"]
    names = [*first, *template.slope_names, "sd_g"]
    ranks = []
    n_div = 0
    t0 = time.time()
    for i, child in enumerate(ss.spawn(n_datasets)):
        rng = np.random.default_rng(child)
        truth = template._prior_draws(1, rng)
        y = template._simulate_y(truth, rng)[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                m = cls(formula, with_y(y), priors=priors, link=link)
            except DataError as e:  # a prior draw whose data hold one category only
                # (reported as n_skipped: conditioning on it can bend the ranks slightly)
                print(f"data set {i} skipped: {e}", flush=True)
                continue
            res = m.fit(draws=draws, tune=500, chains=1, random_seed=rng.integers(2**31))
        n_div += res.diagnostics.n_divergent
        post = res._param_draws()
        post["sd_g"] = res._post["sd_g"]
        thin = post.iloc[np.linspace(0, len(post) - 1, L).astype(int)]
        head = truth["cutpoints"][0] if kind == "ordinal" else [truth["Intercept"][0]]
        true_vec = [*head, *truth["coef"][0], truth["sd_g"][0]]
        ranks.append(
            [int((thin[c].to_numpy() < t).sum()) for c, t in zip(names, true_vec, strict=True)]
        )
        if (i + 1) % 20 == 0:
            print(f"{family}: {i + 1} data sets, {time.time() - t0:.0f} s", flush=True)
    ranks = np.array(ranks)
    # chi-square test of uniformity over 10 bins per parameter
    from scipy import stats

    pvals = {}
    for j, name in enumerate(names):
        counts = np.histogram(ranks[:, j], bins=10, range=(0, L + 1))[0]
        pvals[name] = float(stats.chisquare(counts).pvalue)
    return {
        "family": family,
        "link": link,
        "priors": {k: v.describe() for k, v in priors.items()},
        "n_datasets": len(ranks),
        "n_skipped": int(n_datasets - len(ranks)),
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
        f"SBC rank histograms, {result.get('family', 'ordinal-logit')} ({n} data sets; "
        "grey: 99% band for uniform ranks)",
        fontsize=8,
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
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--family", choices=[*FAMILIES, "all"], default="all")
    ap.add_argument("--out", default=str(ROOT / "docs" / "_static"))
    ap.add_argument(
        "--seed", type=int, default=1, help="SBC seed (default 1; other seeds name their files)"
    )
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.what == "sbc":
        for fam in FAMILIES if args.family == "all" else [args.family]:
            res = run_sbc(args.n, fam, random_seed=args.seed)
            stem = f"bayes_sbc_{fam}" + ("" if args.seed == 1 else f"_seed{args.seed}")
            plot_sbc(res, out / f"{stem}.png")
            (out / f"{stem}.json").write_text(json.dumps(res))
            print(json.dumps({k: v for k, v in res.items() if k != "ranks"}, indent=1))
    else:
        res = run_recovery(args.n)
        (out / "bayes_recovery.json").write_text(json.dumps(res, indent=1))
        print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
