"""Sampler and ArviZ backend: the one place that knows PyMC's, nutpie's and ArviZ's APIs.

Everything version-specific lives here: how a PyMC model is compiled and sampled (PyMC's NUTS
or nutpie's Rust NUTS driving a PyTensor C-compiled log density), how draws become an
``arviz.InferenceData`` (ArviZ 0.2x; ArviZ 1.x returns a ``DataTree`` and takes nested
dicts — adapt :func:`to_inference_data` and :func:`posterior_arrays` only), and how
diagnostics and LOO are computed.

Why nutpie with the C backend
-----------------------------
nutpie's own ``compile_pymc_model`` compiles the graph with Numba, which costs about a minute in
every fresh process. PyTensor's C backend caches compiled modules on disk across processes,
so a new process only re-links the graph. Driving nutpie's sampler (better mass-matrix
adaptation than PyMC's NUTS, no per-chain process start-up) with the C-compiled
log-density-and-gradient gives most of nutpie's speed without the cold-start cost. The
choice is measured in ``benchmarks/bench_bayes.py``.

The models with a hand-written Numba log density (:mod:`civmodels.bayes._fastlogp`) skip
PyTensor altogether, and nutpie calls their cached C entry points directly
(:func:`_nutpie_c_model`) instead of a Python function per gradient.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..exceptions import SamplingWarning, SpecificationError

# Notices the backends print on import that say nothing about the user's model: ArviZ 0.2x
# announces its 1.0 refactor once a day, and PyTensor warns when it finds no BLAS to link
# (at its first compilation; _quiet_import triggers that check while the notice is silenced).
_IMPORT_NOTICES = (
    (FutureWarning, r"(?s).*ArviZ is undergoing a major refactor"),
    (UserWarning, r"(?s).*PyTensor could not link to a BLAS"),
)


def _quiet_import(name: str) -> Any:
    """Import ``name`` with the backends' import-time notices silenced; return the module."""
    import importlib

    with warnings.catch_warnings():
        for category, pattern in _IMPORT_NOTICES:
            warnings.filterwarnings("ignore", message=pattern, category=category)
        module = importlib.import_module(name)
        if name.startswith(("pytensor", "pymc")):
            # PyTensor looks for a BLAS lazily, at the first C compilation, and warns then;
            # resolve the setting here, where the notice is silenced (the result is cached)
            import pytensor

            _ = pytensor.config.blas__ldflags
        return module


def import_pymc() -> Any:
    """Return the ``pymc`` module, imported without its backends' import-time notices."""
    return _quiet_import("pymc")


def import_arviz() -> Any:
    """Return the ``arviz`` module, imported without its import-time refactor notice."""
    return _quiet_import("arviz")


def import_pytensor_tensor() -> Any:
    """Return ``pytensor.tensor``, imported without PyTensor's missing-BLAS notice."""
    return _quiet_import("pytensor.tensor")


SAMPLERS = ("nutpie", "pymc", "nutpie-pytensor")

# Thresholds of the post-sampling checks (Vehtari et al. 2021 recommendations).
RHAT_MAX = 1.01
ESS_MIN = 400


@dataclass
class Compiled:
    """A PyMC model compiled to a flat log-density-and-gradient function."""

    model: Any
    n_dim: int
    logp_dlogp: Any
    expand: Any
    names: list[str]
    shapes: list[tuple[int, ...]]
    point0: np.ndarray
    # (cfunc, meta, keep, expand) of a Numba kernel nutpie can call without Python (built
    # by _fastlogp, which imports this module: the functions come in here, not the module)
    c_logp: Any = None


def compile_model(model: Any, mode: str = "FAST_RUN") -> Compiled:
    """Compile ``model`` to ``x -> (logp, dlogp)`` and ``x -> constrained values``.

    ``x`` is the flat vector of unconstrained free parameters.
    """
    import pytensor
    from pymc.pytensorf import compile as pm_compile

    pt = import_pytensor_tensor()

    ip = model.initial_point()
    value_vars = [model.rvs_to_values[rv] for rv in model.free_RVs]
    shapes = [tuple(np.shape(ip[v.name])) for v in value_vars]
    sizes = [int(np.prod(s)) for s in shapes]
    n_dim = int(sum(sizes))
    joined = pt.TensorType("float64", shape=(n_dim,))("_x")
    pieces, start = [], 0
    for v, shp, size in zip(value_vars, shapes, sizes, strict=True):
        pieces.append(joined[start : start + size].reshape(shp).astype(v.dtype))
        start += size
    replace = dict(zip(value_vars, pieces, strict=True))
    logp = model.logp()
    grads: Any = pytensor.gradient.grad(logp, value_vars)
    grad = pt.concatenate([g.ravel() for g in grads])
    logp_r, grad_r = pytensor.clone_replace([logp, grad], replace)
    with model:
        f_logp = pm_compile([joined], [logp_r, grad_r], mode=mode)
    outs = [v for v in model.unobserved_value_vars if not v.name.endswith("__")]
    with model:
        f_expand = pm_compile([joined], outs, givens=list(replace.items()), mode=mode)
    # nutpie always passes a contiguous float64 vector: skip PyTensor's per-call input checks
    f_logp.trust_input = True
    names = [v.name for v in outs]
    out_shapes = [tuple(np.shape(a)) for a in f_expand(_flat(ip, value_vars))]
    return Compiled(
        model=model,
        n_dim=n_dim,
        logp_dlogp=f_logp,
        expand=f_expand,
        names=names,
        shapes=out_shapes,
        point0=_flat(ip, value_vars),
    )


def _flat(point: Mapping[str, np.ndarray], value_vars: Sequence[Any]) -> np.ndarray:
    return np.concatenate([np.asarray(point[v.name], float).ravel() for v in value_vars])


def sample(
    compiled: Compiled,
    *,
    sampler: str,
    draws: int,
    tune: int,
    chains: int,
    random_seed: int | None,
    cores: int | None = None,
    target_accept: float = 0.8,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Run NUTS; return ``(draws, stats)`` as dicts of arrays shaped ``(chain, draw, ...)``.

    ``stats`` holds ArviZ's names of the NUTS statistics the sampler provides (nutpie and
    PyMC give all of ``lp``, ``energy``, ``energy_error``, ``diverging``, ``tree_depth``,
    ``reached_max_treedepth``, ``step_size``, ``step_size_bar``, ``n_steps`` and
    ``acceptance_rate``).
    """
    if not 0 < float(target_accept) < 1:
        raise SpecificationError(f"target_accept must be in (0, 1), got {target_accept!r}")
    if sampler in ("nutpie", "nutpie-pytensor"):
        return _sample_nutpie(compiled, draws, tune, chains, random_seed, cores, target_accept)
    if sampler == "pymc":
        return _sample_pymc(compiled, draws, tune, chains, random_seed, cores, target_accept)
    raise SpecificationError(f"sampler must be one of {list(SAMPLERS)}, got {sampler!r}")


def _nutpie_c_model(compiled, init):
    """A nutpie model that calls the C entry point of a Numba kernel directly (no Python per
    gradient); the draws are stored unconstrained as ``"_x"`` and expanded afterwards.

    Uses nutpie 0.16's model class for PyMC's Numba backend (``CompiledPyMCModel``), whose
    fields are the addresses of a log-density and an "expand" C function.
    """
    from nutpie.compile_pymc import CompiledPyMCModel

    cf, meta, keep, expand = compiled.c_logp
    n = compiled.n_dim
    return CompiledPyMCModel(
        dims={},
        compiled_logp_func=cf,
        compiled_expand_func=expand,
        initial_point_func=init,
        shared_data={"_keep": keep},
        user_data=meta,
        n_expanded=n,
        shape_info=(["_x"], [slice(0, n)], [(n,)]),
        logp_func=None,
        expand_func=None,
        _n_dim=n,
        _shapes={"_x": (n,)},
        _coords={},
    )


def _sample_nutpie(compiled, draws, tune, chains, random_seed, cores, target_accept):
    import nutpie
    from nutpie.compiled_pyfunc import from_pyfunc

    f_logp, f_expand = compiled.logp_dlogp, compiled.expand
    point0 = compiled.point0

    def make_logp():
        def logp(x):
            # far-out trial points during warm-up overflow exp(); NUTS rejects them anyway
            with np.errstate(all="ignore"):
                lp, g = f_logp(x)
            return float(lp), np.asarray(g, dtype=np.float64)

        return logp

    def make_expand(seed1, seed2, chain):
        def expand(x):
            return {
                n: np.asarray(v, dtype=np.float64)
                for n, v in zip(compiled.names, f_expand(x), strict=True)
            }

        return expand

    def init(seed):
        # PyMC's default: the initial point jittered uniformly by +-1 on the unconstrained scale
        rng = np.random.default_rng(seed)
        return point0 + rng.uniform(-1.0, 1.0, size=point0.shape)

    model = None
    if compiled.c_logp is not None:
        try:
            model = _nutpie_c_model(compiled, init)
        except (ImportError, TypeError, AttributeError):  # pragma: no cover - other nutpie
            model = None  # a nutpie without that model class: use the Python bridge
    direct = model is not None
    if not direct:
        model = from_pyfunc(
            compiled.n_dim,
            make_logp,
            make_expand,
            [np.dtype("float64")] * len(compiled.names),
            compiled.shapes,
            compiled.names,
            make_initial_point_fn=init,
        )
    seed = int(np.random.SeedSequence(random_seed).generate_state(1)[0])
    # A Python log density holds the GIL, so extra threads add contention, not speed.
    trace = nutpie.sample(
        model,
        draws=draws,
        tune=tune,
        chains=chains,
        cores=1 if cores is None else cores,
        seed=seed,
        progress_bar=False,
        save_warmup=False,
        target_accept=float(target_accept),
    )
    if direct:
        xs = np.asarray(trace.posterior["_x"].values)
        per_draw = [f_expand(x) for x in xs.reshape(-1, xs.shape[-1])]
        out = {
            n: np.stack([np.asarray(d[i], dtype=np.float64) for d in per_draw]).reshape(
                *xs.shape[:2], *shp
            )
            for i, (n, shp) in enumerate(zip(compiled.names, compiled.shapes, strict=True))
        }
    else:
        out = {n: np.asarray(trace.posterior[n].values) for n in compiled.names}
    return out, _stats(trace.sample_stats, _NUTPIE_STATS)


def _sample_pymc(compiled, draws, tune, chains, random_seed, cores, target_accept):
    pm = import_pymc()

    seed = int(np.random.SeedSequence(random_seed).generate_state(1)[0])
    with compiled.model, np.errstate(all="ignore"), warnings.catch_warnings():
        # PyMC repeats our diagnostics in its own words; ours are checked after sampling
        warnings.simplefilter("ignore", RuntimeWarning)
        idata = pm.sample(
            draws=draws,
            tune=tune,
            chains=chains,
            cores=1 if cores is None else cores,
            random_seed=seed,
            progressbar=False,
            compute_convergence_checks=False,
            target_accept=float(target_accept),
            return_inferencedata=True,
            idata_kwargs={"log_likelihood": False},
        )
    out = {n: np.asarray(idata.posterior[n].values) for n in compiled.names}
    return out, _stats(idata.sample_stats, {n: n for n in _STAT_NAMES})


# ArviZ's names of the NUTS statistics (what az.bfmi, az.plot_energy and az.summary read)
_STAT_NAMES = (
    "lp",
    "energy",
    "energy_error",
    "diverging",
    "tree_depth",
    "reached_max_treedepth",
    "step_size",
    "step_size_bar",
    "n_steps",
    "acceptance_rate",
)
# nutpie 0.16's names for them
_NUTPIE_STATS = {
    "lp": "logp",
    "energy": "energy",
    "energy_error": "energy_error",
    "diverging": "diverging",
    "tree_depth": "depth",
    "reached_max_treedepth": "maxdepth_reached",
    "step_size": "step_size",
    "step_size_bar": "step_size_bar",
    "n_steps": "n_steps",
    "acceptance_rate": "mean_tree_accept",
}


def _stats(ds: Any, names: Mapping[str, str]) -> dict[str, np.ndarray]:
    """The sampler's statistics under ArviZ's names; ``diverging`` is required."""
    out: dict[str, np.ndarray] = {}
    for ours, theirs in names.items():
        if theirs in ds:
            out[ours] = np.asarray(ds[theirs].values)
    if "diverging" not in out:
        raise RuntimeError("the sampler returned no 'diverging' statistic")
    out["diverging"] = out["diverging"].astype(bool)
    for flag in ("reached_max_treedepth",):
        if flag in out:
            out[flag] = out[flag].astype(bool)
    return out


def to_inference_data(
    posterior: Mapping[str, np.ndarray] | None,
    *,
    coords: Mapping[str, Sequence[Any]],
    dims: Mapping[str, Sequence[str]],
    log_likelihood: Mapping[str, np.ndarray] | None = None,
    observed_data: Mapping[str, np.ndarray] | None = None,
    sample_stats: Mapping[str, np.ndarray] | None = None,
    prior: Mapping[str, np.ndarray] | None = None,
    prior_predictive: Mapping[str, np.ndarray] | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> Any:
    """Build an ``arviz.InferenceData`` with labelled coordinates (ArviZ 0.2x API)."""
    az = import_arviz()

    with warnings.catch_warnings():
        # ArviZ warns when a dimension has more entries than draws; irrelevant here
        warnings.simplefilter("ignore", UserWarning)
        return az.from_dict(
            posterior=dict(posterior) if posterior is not None else None,
            log_likelihood=dict(log_likelihood) if log_likelihood else None,
            observed_data=dict(observed_data) if observed_data else None,
            sample_stats=dict(sample_stats) if sample_stats else None,
            prior=dict(prior) if prior else None,
            prior_predictive=dict(prior_predictive) if prior_predictive else None,
            coords={k: list(v) for k, v in coords.items()},
            dims={k: list(v) for k, v in dims.items()},
            attrs=dict(attrs or {}),
        )


def posterior_arrays(idata: Any, group: str = "posterior") -> dict[str, np.ndarray]:
    """Arrays ``(chain, draw, ...)`` of every variable in a group."""
    ds = getattr(idata, group)
    return {str(k): np.asarray(v.values) for k, v in ds.data_vars.items()}


@dataclass(frozen=True)
class Diagnostics:
    """Worst-case MCMC diagnostics over the monitored parameters."""

    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    n_divergent: int
    n_draws: int
    worst_rhat: str
    worst_ess: str

    def problems(self) -> list[str]:
        out = []
        if self.n_divergent > 0:
            out.append(
                f"{self.n_divergent} divergent transitions (of {self.n_draws} draws): the "
                "posterior has regions the sampler cannot explore; try fit(target_accept=0.95), "
                "tighter priors on the group SDs, or check for separation"
            )
        if not np.isfinite(self.max_rhat) or self.max_rhat > RHAT_MAX:
            out.append(
                f"R-hat up to {self.max_rhat:.3f} (> {RHAT_MAX}) for {self.worst_rhat}: chains "
                "disagree; run more tuning and draws (tune=2000, draws=2000) and more chains"
            )
        if min(self.min_ess_bulk, self.min_ess_tail) < ESS_MIN:
            out.append(
                f"effective sample size bulk {self.min_ess_bulk:.0f} / tail "
                f"{self.min_ess_tail:.0f} (< {ESS_MIN}) for {self.worst_ess}: estimates and "
                "intervals are noisy; increase draws or chains"
            )
        return out


def _split(a: np.ndarray) -> np.ndarray:
    """Split chains ``(m, chain, draw)`` -> ``(m, 2 chain, draw // 2)`` (ArviZ's order)."""
    half = a.shape[-1] // 2
    return np.concatenate([a[..., :half], a[..., a.shape[-1] - half :]], axis=1)


def _z_scale(a: np.ndarray) -> np.ndarray:
    """Rank-normalise each column over all its draws (average ranks, Blom's offset 3/8)."""
    from scipy import stats

    m = a.shape[0]
    flat = a.reshape(m, -1)
    r = stats.rankdata(flat, method="average", axis=1)
    return stats.norm.ppf((r - 0.375) / (flat.shape[1] + 0.25)).reshape(a.shape)


def _rhat_split(a: np.ndarray) -> np.ndarray:
    """Potential scale reduction of already split chains ``(m, chain, draw)``."""
    n = a.shape[-1]
    between = n * np.var(a.mean(axis=-1), axis=-1, ddof=1)
    within = np.var(a, axis=-1, ddof=1).mean(axis=-1)
    return np.sqrt((between / within + n - 1) / n)


def _ess_split(a: np.ndarray) -> np.ndarray:
    """Effective sample size of already split chains ``(m, chain, draw)``: autocovariances
    by FFT, Geyer's initial positive and monotone sequences (as ArviZ 0.2x's ``_ess``)."""
    from scipy.fft import next_fast_len

    m, n_chain, n = a.shape
    size = n_chain * n
    centred = a - a.mean(axis=-1, keepdims=True)
    nfft = next_fast_len(2 * n)
    f = np.fft.rfft(centred, n=nfft, axis=-1)
    acov = np.fft.irfft(f * np.conjugate(f), n=nfft, axis=-1)[..., :n] / n
    mean_var = acov[..., 0].mean(axis=-1) * n / (n - 1.0)
    var_plus = mean_var * (n - 1.0) / n
    if n_chain > 1:
        var_plus = var_plus + np.var(a.mean(axis=-1), axis=-1, ddof=1)
    acov_mean = acov.mean(axis=1)
    out = np.empty(m)
    for j in range(m):
        if np.max(a[j]) - np.min(a[j]) < np.finfo(float).resolution:
            out[j] = size
            continue
        rho = 1.0 - (mean_var[j] - acov_mean[j]) / var_plus[j]
        rho_t = np.zeros(n)
        rho_t[0] = rho_even = 1.0
        rho_t[1] = rho_odd = rho[1]
        t = 1
        while t < n - 3 and rho_even + rho_odd > 0.0:
            rho_even, rho_odd = rho[t + 1], rho[t + 2]
            if rho_even + rho_odd >= 0:
                rho_t[t + 1], rho_t[t + 2] = rho_even, rho_odd
            t += 2
        max_t = t - 2
        if rho_even > 0:
            rho_t[max_t + 1] = rho_even
        t = 1
        while t <= max_t - 2:
            if rho_t[t + 1] + rho_t[t + 2] > rho_t[t - 1] + rho_t[t]:
                rho_t[t + 1] = rho_t[t + 2] = (rho_t[t - 1] + rho_t[t]) / 2.0
            t += 2
        tau = -1.0 + 2.0 * rho_t[: max_t + 1].sum() + rho_t[max_t + 1 : max_t + 2].sum()
        tau = max(tau, 1 / np.log10(size))
        out[j] = np.nan if np.isnan(rho_t).any() else size / tau
    return out


def rhat_ess(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rank-normalised split R-hat, bulk ESS and tail ESS of each column of ``(chain, draw,
    m)``, all columns at once.

    The definitions and edge cases of ArviZ 0.2x (``az.rhat``, ``az.ess(method="bulk")``,
    ``az.ess(method="tail")``; Vehtari et al. 2021), which loops over the columns through
    xarray at about 4 ms per column; ``tests/bayes/test_arviz_output.py`` checks the two
    agree. Columns with a NaN get NaN; R-hat needs two chains and four draws.
    """
    a = np.moveaxis(np.asarray(arr, dtype=float), -1, 0)  # (m, chain, draw)
    m, n_chain, n_draw = a.shape
    nan = np.full(m, np.nan)
    if m == 0 or n_draw < 4:
        return nan, nan.copy(), nan.copy()
    bad = np.isnan(a).reshape(m, -1).any(axis=1)
    a_ok = np.where(bad[:, None, None], 0.0, a)
    split = _split(a_ok)
    bulk = _ess_split(_z_scale(split))
    q05, q95 = np.quantile(a_ok.reshape(m, -1), [0.05, 0.95], axis=1)
    tail = np.minimum(
        _ess_split(_split((a_ok <= q05[:, None, None]).astype(float))),
        _ess_split(_split((a_ok <= q95[:, None, None]).astype(float))),
    )
    if n_chain >= 2:
        folded = np.abs(split - np.median(split.reshape(m, -1), axis=1)[:, None, None])
        with np.errstate(invalid="ignore", divide="ignore"):
            rhat = np.maximum(_rhat_split(_z_scale(split)), _rhat_split(_z_scale(folded)))
    else:
        rhat = nan.copy()
    for v in (rhat, bulk, tail):
        v[bad] = np.nan
    return rhat, bulk, tail


def chain_diagnostics(arr: np.ndarray) -> list[tuple[float, float, float]]:
    """R-hat, bulk ESS and tail ESS of each column of draws ``(chain, draw, m)``."""
    rhat, bulk, tail = rhat_ess(arr)
    return [(float(r), float(b), float(t)) for r, b, t in zip(rhat, bulk, tail, strict=True)]


def diagnose(idata: Any, var_names: Sequence[str], diverging: np.ndarray) -> Diagnostics:
    """R-hat (rank-normalised, split), bulk and tail ESS, and divergences."""
    post = idata.posterior
    per_var = {}
    for name in var_names:
        vals = np.asarray(post[name].values, float)
        per_var[name] = rhat_ess(vals.reshape(*vals.shape[:2], -1))

    def worst(which, fn):
        best_val, best_name = None, ""
        for name, stats in per_var.items():
            vals = stats[which]
            if vals.size == 0:
                continue
            vals = np.where(np.isnan(vals), np.inf if fn is np.max else -np.inf, vals)
            i = int(np.argmax(vals) if fn is np.max else np.argmin(vals))
            v = float(vals[i])
            if best_val is None or (v > best_val if fn is np.max else v < best_val):
                best_val = v
                best_name = str(name) if vals.size == 1 else f"{name}[{i}]"
        return (np.nan if best_val is None else best_val), best_name

    max_rhat, w_r = worst(0, np.max)
    min_bulk, w_b = worst(1, np.min)
    min_tail, w_t = worst(2, np.min)
    return Diagnostics(
        max_rhat=max_rhat,
        min_ess_bulk=min_bulk,
        min_ess_tail=min_tail,
        n_divergent=int(np.asarray(diverging).sum()),
        n_draws=int(np.asarray(diverging).size),
        worst_rhat=w_r,
        worst_ess=w_b if min_bulk <= min_tail else w_t,
    )


def warn_diagnostics(diag: Diagnostics, stacklevel: int = 3) -> None:
    """Emit one SamplingWarning listing every failed check and what to try."""
    problems = diag.problems()
    if problems:
        warnings.warn(
            "MCMC diagnostics flag an unreliable posterior:\n  - " + "\n  - ".join(problems),
            SamplingWarning,
            stacklevel=stacklevel,
        )


def loo(idata: Any, var_name: str | None = None) -> Any:
    """PSIS-LOO (``arviz.loo``) from the stored pointwise log-likelihood."""
    az = import_arviz()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return az.loo(idata, var_name=var_name, pointwise=True)


def compare(idatas: Mapping[str, Any], var_name: str | None = None) -> Any:
    """``arviz.compare`` of several fits by PSIS-LOO."""
    az = import_arviz()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        # ArviZ 0.23 sorts with inplace=True, which pandas 3.1 deprecates (PDEP-8); harmless
        warnings.filterwarnings("ignore", message="The inplace keyword", category=Warning)
        return az.compare(dict(idatas), ic="loo", var_name=var_name)
