"""Prior specifications for the Bayesian models: defaults, user overrides and NumPy draws.

A prior is a :class:`Prior` (a distribution name and its parameters). Each model has a table
of named prior slots (``"coef"``, one slot per coefficient name, ``"cutpoints"``,
``"sd[municipality]"``, ...). Users override any slot by name; an unknown name is an error that
lists the valid ones. The same object is turned into a PyMC variable (``_backend``) and drawn
from with NumPy (prior predictive checks, simulation-based calibration), so the two can never
disagree about what the prior is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..exceptions import SpecificationError

__all__ = ["Prior"]

# distribution -> (allowed parameters, defaults)
_FAMILIES: dict[str, tuple[frozenset[str], dict[str, float]]] = {
    "normal": (frozenset({"mu", "sigma"}), {"mu": 0.0, "sigma": 1.0}),
    "studentt": (frozenset({"nu", "mu", "sigma"}), {"nu": 3.0, "mu": 0.0, "sigma": 1.0}),
    "laplace": (frozenset({"mu", "sigma"}), {"mu": 0.0, "sigma": 1.0}),
    "halfnormal": (frozenset({"sigma"}), {"sigma": 1.0}),
    "halfstudentt": (frozenset({"nu", "sigma"}), {"nu": 3.0, "sigma": 1.0}),
    "exponential": (frozenset({"lam"}), {"lam": 1.0}),
    "lognormal": (frozenset({"mu", "sigma"}), {"mu": 0.0, "sigma": 1.0}),
    "dirichlet": (frozenset({"alpha"}), {"alpha": 1.0}),
}
_POSITIVE = frozenset({"halfnormal", "halfstudentt", "exponential", "lognormal"})
_REAL = frozenset({"normal", "studentt", "laplace"})
_CUTPOINTS = frozenset({"dirichlet", "normal", "studentt"})
# parameter class -> allowed families (what the error message lists)
ALLOWED: dict[str, frozenset[str]] = {
    "real": _REAL,
    "positive": _POSITIVE,
    "simplex": frozenset({"dirichlet"}),
    "cutpoints": _CUTPOINTS,
}
_CLASS_NAMES = {
    "real": "a coefficient or intercept",
    "positive": "a standard deviation or scale",
    "simplex": "these thresholds",
    "cutpoints": "the thresholds",
}


@dataclass(frozen=True)
class Prior:
    """A prior distribution for one slot of a model.

    Parameters
    ----------
    dist : str
        Distribution family. Coefficients and intercepts: ``"normal"``, ``"studentt"``,
        ``"laplace"`` (double exponential; ``sigma`` is the scale *b*, SD ``sqrt(2) * b``).
        Standard deviations and other positive scales: ``"halfnormal"``,
        ``"halfstudentt"``, ``"exponential"``, ``"lognormal"``. Thresholds (slot
        ``"cutpoints"``): ``"dirichlet"`` (the induced-Dirichlet prior on the category
        probabilities at the centre of the data), or ``"normal"`` / ``"studentt"`` on each
        ordered cutpoint (as brms's ``class = Intercept`` prior; ``mu`` and ``sigma`` may be
        one value or one per threshold, a ``mu`` vector must be strictly increasing).
    **params : float
        Parameters of the family (``mu``, ``sigma``, ``nu``, ``lam``, ``alpha``); omitted ones
        take the family's default.

    Examples
    --------
    >>> Prior("halfnormal", sigma=0.5)
    Prior('halfnormal', sigma=0.5)
    """

    dist: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __init__(self, dist: str, **params: Any) -> None:
        if dist not in _FAMILIES:
            raise SpecificationError(
                f"unknown prior distribution {dist!r}; use one of {sorted(_FAMILIES)}"
            )
        allowed, defaults = _FAMILIES[dist]
        bad = sorted(set(params) - allowed)
        if bad:
            raise SpecificationError(
                f"prior {dist!r} takes parameters {sorted(allowed)}, got unknown {bad}"
            )
        full = {**defaults, **params}
        for k, v in full.items():
            arr = np.asarray(v, dtype=float)
            if not np.all(np.isfinite(arr)):
                raise SpecificationError(f"prior {dist!r} parameter {k}={v!r} is not finite")
            if k in {"sigma", "lam", "nu", "alpha"} and np.any(arr <= 0):
                raise SpecificationError(f"prior {dist!r} parameter {k}={v!r} must be > 0")
        object.__setattr__(self, "dist", dist)
        object.__setattr__(self, "params", full)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"Prior({self.dist!r}, {inner})"

    def describe(self) -> str:
        """Short text such as ``"halfnormal(sigma=1)"`` for summaries."""
        inner = ", ".join(f"{k}={_short(v)}" for k, v in self.params.items())
        return f"{self.dist}({inner})"

    def draw(self, rng: np.random.Generator, size: tuple[int, ...]) -> np.ndarray:
        """Draw from the prior with NumPy (not valid for ``"dirichlet"``)."""
        p = self.params
        if self.dist == "normal":
            return rng.normal(p["mu"], p["sigma"], size)
        if self.dist == "studentt":
            return p["mu"] + p["sigma"] * rng.standard_t(p["nu"], size)
        if self.dist == "laplace":
            return rng.laplace(p["mu"], p["sigma"], size)
        if self.dist == "halfnormal":
            return np.abs(rng.normal(0.0, p["sigma"], size))
        if self.dist == "halfstudentt":
            return np.abs(p["sigma"] * rng.standard_t(p["nu"], size))
        if self.dist == "exponential":
            return rng.exponential(1.0 / p["lam"], size)
        if self.dist == "lognormal":
            return rng.lognormal(p["mu"], p["sigma"], size)
        raise SpecificationError(f"cannot draw a {self.dist!r} prior for a scalar slot")


def _short(v: Any) -> str:
    arr = np.asarray(v)
    if arr.ndim == 0:
        return f"{float(arr):.3g}"
    return "[" + ", ".join(f"{x:.3g}" for x in arr.ravel()) + "]"


def as_prior(value: Any, name: str) -> Prior:
    """Read a user prior: a :class:`Prior`, a dict with ``dist`` and parameters, or a tuple."""
    if isinstance(value, Prior):
        return value
    if isinstance(value, Mapping):
        value = dict(value)
        dist = value.pop("dist", None)
        if dist is None:
            raise SpecificationError(
                f"prior for {name!r} is a dict without 'dist'; write e.g. "
                "{'dist': 'normal', 'sigma': 1.0} or Prior('normal', sigma=1.0)"
            )
        return Prior(dist, **value)
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
        return Prior(value[0], **dict(value[1]))
    raise SpecificationError(
        f"prior for {name!r} must be a civmodels.bayes.Prior, a dict like "
        f"{{'dist': 'normal', 'sigma': 1.0}} or a tuple ('normal', {{'sigma': 1.0}}); "
        f"got {value!r}"
    )


def resolve_priors(
    defaults: Mapping[str, Prior],
    user: Mapping[str, Any] | None,
    *,
    kinds: Mapping[str, str],
    aliases: Mapping[str, list[str]] | None = None,
) -> dict[str, Prior]:
    """Merge user priors into the defaults, checking names and support.

    Parameters
    ----------
    defaults : mapping
        Slot name -> default prior (every slot listed).
    user : mapping, optional
        User overrides. Keys are slot names or aliases (``"coef"`` sets every coefficient,
        ``"sd"`` every group SD); a specific slot wins over its alias.
    kinds : mapping
        Slot name -> ``"real"``, ``"positive"`` or ``"simplex"``: which families are allowed.
    aliases : mapping, optional
        Alias -> slot names it expands to.
    """
    out = dict(defaults)
    if not user:
        return out
    if not isinstance(user, Mapping):
        raise SpecificationError(
            f"priors must be a dict of slot name -> prior, got {type(user).__name__}"
        )
    aliases = dict(aliases or {})
    valid = list(defaults) + [a for a in aliases if a not in defaults]
    unknown = [k for k in user if k not in defaults and k not in aliases]
    if unknown:
        raise SpecificationError(
            f"priors given for unknown names {unknown}; valid names are {valid}"
        )
    # aliases first, then specific slots, so the specific one wins
    ordered = [k for k in user if k in aliases and k not in defaults] + [
        k for k in user if k in defaults
    ]
    for key in ordered:
        prior = as_prior(user[key], key)
        for slot in aliases.get(key, [key]) if key not in defaults else [key]:
            _check_support(prior, slot, kinds[slot])
            out[slot] = prior
    return out


def _check_support(prior: Prior, slot: str, kind: str) -> None:
    ok = ALLOWED[kind]
    if prior.dist not in ok:
        raise SpecificationError(
            f"prior {prior.dist!r} is not allowed for {slot!r} ({_CLASS_NAMES[kind]}); "
            f"allowed families: {sorted(ok)}"
        )


def check_cutpoint_prior(prior: Prior, n_categories: int) -> None:
    """Check a threshold prior's shape against the number of outcome categories.

    Dirichlet: ``alpha`` scalar or one value per category. Normal / Student-t: ``mu`` and
    ``sigma`` scalar or one value per threshold, and a ``mu`` vector strictly increasing
    (the cutpoints are ordered, so a prior centred on a non-increasing sequence is a typo).
    """
    n_cut = n_categories - 1
    if prior.dist == "dirichlet":
        alpha = np.asarray(prior.params["alpha"], float)
        if alpha.ndim > 1 or (alpha.ndim == 1 and alpha.size != n_categories):
            raise SpecificationError(
                f"cutpoints prior alpha has {alpha.size} values; give a scalar or one value per "
                f"outcome category ({n_categories})"
            )
        return
    for key in ("mu", "sigma"):
        v = np.asarray(prior.params[key], float)
        if v.ndim > 1 or (v.ndim == 1 and v.size != n_cut):
            raise SpecificationError(
                f"cutpoints prior {prior.dist}({key}=...) has {v.size} values; give a scalar or "
                f"one value per threshold ({n_cut})"
            )
    mu = np.asarray(prior.params["mu"], float)
    if mu.ndim == 1 and mu.size > 1 and np.any(np.diff(mu) <= 0):
        raise SpecificationError(
            f"cutpoints prior {prior.dist}(mu={mu.tolist()}) is not strictly increasing; the "
            "thresholds are ordered, so give their prior means in increasing order (or one "
            "scalar mu for all)"
        )


def cut_params(prior: Prior, n_cut: int) -> tuple[np.ndarray, np.ndarray, float]:
    """``mu``, ``sigma`` (each broadcast to ``n_cut``) and ``nu`` of a Normal/Student-t
    threshold prior (``nu`` is infinite for the normal)."""
    mu = np.broadcast_to(np.asarray(prior.params["mu"], float), (n_cut,)).copy()
    sigma = np.broadcast_to(np.asarray(prior.params["sigma"], float), (n_cut,)).copy()
    nu = float(prior.params["nu"]) if prior.dist == "studentt" else np.inf
    return mu, sigma, nu


def draw_ordered(prior: Prior, n_cut: int, rng: np.random.Generator, size: int) -> np.ndarray:
    """Draws ``(size, n_cut)`` from a Normal/Student-t threshold prior restricted to ordered
    vectors (the density the sampler uses), by rejection of unordered draws; with equal
    parameters for every threshold this is the sorted independent draw."""
    mu, sigma, nu = cut_params(prior, n_cut)

    def raw(m: int) -> np.ndarray:
        z = rng.standard_normal((m, n_cut)) if np.isinf(nu) else rng.standard_t(nu, (m, n_cut))
        return mu + sigma * z

    if np.all(mu == mu[0]) and np.all(sigma == sigma[0]):
        return np.sort(raw(size), axis=1)
    out: list[np.ndarray] = []
    got, tries = 0, 0
    while got < size:
        d = raw(4 * size)
        d = d[np.all(np.diff(d, axis=1) > 0, axis=1)]
        out.append(d)
        got += len(d)
        tries += 1
        if tries > 200:
            raise SpecificationError(
                f"the cutpoints prior {prior.describe()} puts almost no mass on ordered "
                "thresholds; space the mu values further apart or shrink sigma"
            )
    return np.concatenate(out)[:size]
