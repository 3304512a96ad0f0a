"""Benchmarks of civmodels.bayes: against bambi on the same data in one run, and against the
stored brms / rstanarm timings (docs/bayes.md, /work/shared/PEERS.md) on the same cases.

Cases (``--case``):

* ``sim444`` (default): y ~ x1 + region + size + pressure + bloc + area + (1 | municipality)
  on the seeded 444-row data set in tests/reference/bayes/sim444.csv (98 municipalities, 15
  fixed effects, 4 categories), cumulative logit;
* ``sim444-binary``: the same right-hand side for the binary ``yes`` (bayes.Logistic);
* ``sim444-probit``: the ordinal model with the probit link and brms-style priors
  (Normal(0, 5) thresholds, half-Student-t(3, 0, 2.5) SD);
* ``wine``: rating ~ temp + contact + (1 | judge) on ordinal's wine data (brms: 7.7 s sampling
  after about 80 s compilation);
* ``wine-polr``: rating ~ temp + contact (rstanarm ``stan_polr``: 9.4 s);
* ``cbpp``: cbind(incidence, size - incidence) ~ period + (1 | herd), binomial
  (rstanarm ``stan_glmer``: 4.2 s);
* ``battery``: the motivation battery of the bundled survey, all nine items and all
  respondents, ~ size_group + pressure_high + bloc + (1 | municipality) + (1 | area)
  (target: at most 60 s for 4 x 1000 draws; bambi has no such model).

All: 4 chains x 1000 draws after 1000 tuning steps (Stan's defaults). Each configuration runs
in a fresh subprocess that fits twice: the first fit includes imports, graph construction and
compilation ("cold"); the second is a repeat fit on the same model object ("warm").
Reported: wall seconds and the minimum bulk ESS over thresholds / intercept, coefficients
and the group SD, per wall second. The machine is shared, so compare the ratios printed by
one run rather than absolute seconds.

``--gradient`` instead times one log-density-and-gradient evaluation of the Numba kernel and
of the PyTensor C-compiled graph of the same model in one process (the choice the issue asks
to measure).

bambi is not a project dependency: its configurations (``bambi``: PyMC's NUTS with its
default parallel chains; ``bambi-serial``: chains one after another, as civmodels runs them;
``bambi-nutpie``) run in the interpreter given by ``--bambi-python`` (default
``/work/bambienv/bin/python`` when it exists), a separate virtual environment with bambi
installed (``python3 -m venv /work/bambienv && /work/bambienv/bin/pip install bambi``). The
data, draws, tuning steps and chains are the same; the priors are each package's defaults.
bambi covers the cases with a cumulative-logit, Bernoulli or binomial family (``sim444``,
``sim444-binary``, ``wine``, ``wine-polr``, ``cbpp``); it has no battery model.

Run:  /work/devenv/bin/python benchmarks/bench_bayes.py [--case sim444] \
          [--configs civmodels-nutpie,bambi-serial] [--bambi-python PATH]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "reference" / "bayes" / "sim444.csv"
MIXED = ROOT / "tests" / "reference" / "mixed"
CATS = ["Slet ikke vigtigt", "Mindre vigtigt", "Vigtigt", "Meget vigtigt"]
RHS = "x1 + region + size + pressure + bloc + area"
CONFIGS = [
    "civmodels-nutpie",
    "bambi",
    "civmodels-nutpie-pytensor",
    "civmodels-pymc",
    "bambi-nutpie",
]
DRAWS, TUNE, CHAINS = 1000, 1000, 4
BAMBI_PYTHON = Path("/work/bambienv/bin/python")
# cases bambi can fit with the same likelihood (cumulative logit, Bernoulli, binomial)
BAMBI_CASES = ("sim444", "sim444-binary", "wine", "wine-polr", "cbpp")
# stored timings of the R peers on the same case (seconds of sampling, warm), PEERS.md
STORED = {
    "wine": ("brms 2.18 (warm; about 80 s compilation on top)", 7.7),
    "wine-polr": ("rstanarm 2.21 stan_polr", 9.4),
    "cbpp": ("rstanarm 2.21 stan_glmer", 4.2),
}


def _case(case: str):
    """(data, civmodels class name, formula, kwargs, bambi formula, bambi family, names)."""
    import pandas as pd

    if case.startswith("sim444"):
        df = pd.read_csv(DATA)
        df["y"] = pd.Categorical(df["y"], categories=CATS, ordered=True)
        names = ["cutpoints", "coef", "sd_municipality"]
        f = f"y ~ {RHS} + (1 | municipality)"
        if case == "sim444-binary":
            f = f.replace("y ~", "yes ~")
            return df, "Logistic", f, {}, f, "bernoulli", ["Intercept", "coef", "sd_municipality"]
        if case == "sim444-probit":
            from civmodels.bayes import Prior

            kw = {
                "link": "probit",
                "priors": {
                    "cutpoints": Prior("normal", sigma=5.0),
                    "sd": Prior("halfstudentt", nu=3.0, sigma=2.5),
                },
            }
            return df, "Ordinal", f, kw, f, "cumulative", names
        return df, "Ordinal", f, {}, f, "cumulative", names
    if case.startswith("wine"):
        df = pd.read_csv(MIXED / "wine.csv")
        df["rating"] = pd.Categorical(df["rating"], categories=[1, 2, 3, 4, 5], ordered=True)
        df["judge"] = df["judge"].astype(str)
        if case == "wine-polr":
            f = "rating ~ temp + contact"
            return df, "Ordinal", f, {}, f, "cumulative", ["cutpoints", "coef"]
        f = "rating ~ temp + contact + (1 | judge)"
        return df, "Ordinal", f, {}, f, "cumulative", ["cutpoints", "coef", "sd_judge"]
    if case == "battery":
        import civmodels as cm

        survey = cm.data.load_survey()
        items = [c for c in survey.columns if c.startswith("mot_") and not c.endswith("_dk")]
        rhs = "~ size_group + pressure_high + bloc + (1 | municipality) + (1 | area)"
        names = ["cutpoints", "coef", "loading", "sd_municipality", "sd_area"]
        return survey, "Battery", (items, rhs), {}, None, None, names
    if case == "cbpp":
        df = pd.read_csv(MIXED / "cbpp.csv")
        df["herd"] = df["herd"].astype(str)
        df["period"] = df["period"].astype(str)
        f = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
        bf = "p(incidence, size) ~ period + (1 | herd)"
        return df, "Logistic", f, {}, bf, "binomial", ["Intercept", "coef", "sd_herd"]
    raise SystemExit(f"unknown case {case!r}")


def _min_ess(idata, var_names):
    import arviz as az
    import numpy as np

    ess = az.ess(idata, var_names=var_names, method="bulk")
    return float(min(np.min(v.values) for v in ess.data_vars.values()))


def worker(config: str, case: str) -> dict:
    t0 = time.perf_counter()
    import warnings

    warnings.simplefilter("ignore")
    sys.path.insert(0, str(ROOT))
    df, cls_name, formula, kw, bformula, bfamily, names = _case(case)
    out: dict = {"config": config, "case": case}
    if config.startswith("civmodels"):
        from civmodels import bayes

        sampler = config.split("-", 1)[1]
        cls = getattr(bayes, cls_name)
        model = cls(*formula, df, **kw) if isinstance(formula, tuple) else cls(formula, df, **kw)

        def fit(seed):
            return model.fit(
                draws=DRAWS, tune=TUNE, chains=CHAINS, sampler=sampler, random_seed=seed
            ).idata

    else:
        import bambi as bmb

        model = bmb.Model(bformula, df, family=bfamily)
        bkw = {"nuts_sampler": "nutpie"} if config == "bambi-nutpie" else {}
        if config == "bambi-serial":
            # chains one after another in one process, as civmodels runs them
            bkw = {"cores": 1}
        names = None

        def fit(seed):
            return model.fit(
                draws=DRAWS, tune=TUNE, chains=CHAINS, random_seed=seed, progressbar=False, **bkw
            )

    idata = fit(1)
    t1 = time.perf_counter()
    if names is None:
        # bambi: thresholds, fixed effects and the group SD (not the group effects)
        names = [
            v for v in idata.posterior.data_vars if not v.startswith("1|") or v.endswith("sigma")
        ]
    out["cold_s"] = t1 - t0
    out["cold_min_ess"] = _min_ess(idata, names)
    idata = fit(2)
    t2 = time.perf_counter()
    out["warm_s"] = t2 - t1
    out["warm_min_ess"] = _min_ess(idata, names)
    out["warm_ess_per_s"] = out["warm_min_ess"] / out["warm_s"]
    out["cold_ess_per_s"] = out["cold_min_ess"] / out["cold_s"]
    return out


def gradient_cost(case: str, repeats: int = 300) -> dict:
    """Microseconds per log-density-and-gradient evaluation, Numba kernel vs the PyTensor
    C-compiled graph, in one process at the same random points (load affects both alike)."""
    import warnings

    import numpy as np

    warnings.simplefilter("ignore")
    sys.path.insert(0, str(ROOT))
    from civmodels import bayes
    from civmodels.bayes import _backend

    df, cls_name, formula, kw, _, _, _ = _case(case)
    cls = getattr(bayes, cls_name)
    model = cls(*formula, df, **kw) if isinstance(formula, tuple) else cls(formula, df, **kw)
    fast = model._compile("nutpie")
    graph = _backend.compile_model(model.build_model())
    assert fast.n_dim == graph.n_dim
    rng = np.random.default_rng(0)
    xs = rng.normal(0, 0.3, (repeats, fast.n_dim))
    out = {"case": case, "n_dim": fast.n_dim}
    for name, comp in (("numba_us", fast), ("pytensor_us", graph)):
        comp.logp_dlogp(xs[0])  # warm-up
        t0 = time.perf_counter()
        for x in xs:
            comp.logp_dlogp(x)
        out[name] = (time.perf_counter() - t0) / repeats * 1e6
    out["ratio"] = out["pytensor_us"] / out["numba_us"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker")
    ap.add_argument("--case", default="sim444")
    ap.add_argument("--configs", default=",".join(CONFIGS[:2]))
    ap.add_argument(
        "--gradient", action="store_true", help="cost per gradient, Numba vs PyTensor graph"
    )
    ap.add_argument(
        "--bambi-python",
        default=str(BAMBI_PYTHON) if BAMBI_PYTHON.exists() else sys.executable,
        help="interpreter with bambi installed (for the bambi configurations)",
    )
    args = ap.parse_args()
    if args.gradient:
        print(json.dumps(gradient_cost(args.case)))
        return
    if args.worker:
        print(json.dumps(worker(args.worker, args.case)))
        return
    rows = []
    for cfg in args.configs.split(","):
        is_bambi = cfg.startswith("bambi")
        if is_bambi and args.case not in BAMBI_CASES:
            print(f"{cfg}: bambi has no model for case {args.case!r}; skipped", file=sys.stderr)
            continue
        python = args.bambi_python if is_bambi else sys.executable
        proc = subprocess.run(
            [python, __file__, "--worker", cfg, "--case", args.case],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        if proc.returncode != 0:
            print(f"{cfg} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
            continue
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    base = next((r for r in rows if r["config"].startswith("bambi")), None)
    print(f"\ncase {args.case}; ratios against {base['config'] if base else 'n/a (no bambi run)'}")
    print(f"{'config':<28}{'cold s':>8}{'warm s':>8}{'min ESS':>9}{'ESS/s':>8}{'vs bambi':>10}")
    for r in rows:
        ratio = r["warm_ess_per_s"] / base["warm_ess_per_s"] if base else float("nan")
        print(
            f"{r['config']:<28}{r['cold_s']:>8.1f}{r['warm_s']:>8.1f}{r['warm_min_ess']:>9.0f}"
            f"{r['warm_ess_per_s']:>8.1f}{ratio:>9.2f}x"
        )
    if args.case in STORED:
        peer, secs = STORED[args.case]
        for r in rows:
            if r["config"].startswith("civmodels"):
                print(
                    f"{r['config']}: warm {r['warm_s']:.1f} s vs {peer} {secs:.1f} s "
                    f"(stored): {secs / r['warm_s']:.2f}x"
                )


if __name__ == "__main__":
    main()
