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
    "halfnormal": (frozenset({"sigma"}), {"sigma": 1.0}),
    "halfstudentt": (frozenset({"nu", "sigma"}), {"nu": 3.0, "sigma": 1.0}),
    "exponential": (frozenset({"lam"}), {"lam": 1.0}),
    "lognormal": (frozenset({"mu", "sigma"}), {"mu": 0.0, "sigma": 1.0}),
    "dirichlet": (frozenset({"alpha"}), {"alpha": 1.0}),
}
_POSITIVE = frozenset({"halfnormal", "halfstudentt", "exponential", "lognormal"})
_REAL = frozenset({"normal", "studentt"})


@dataclass(frozen=True)
class Prior:
    """A prior distribution for one slot of a model.

    Parameters
    ----------
    dist : str
        Distribution family: ``"normal"``, ``"studentt"``, ``"halfnormal"``,
        ``"halfstudentt"``, ``"exponential"``, ``"lognormal"`` or ``"dirichlet"``.
        ``"dirichlet"`` is only valid for cutpoints, where it is the induced-Dirichlet prior
        on the category probabilities at the centre of the data.
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
    ok = {
        "real": _REAL,
        "positive": _POSITIVE,
        "simplex": frozenset({"dirichlet"}),
    }[kind]
    if prior.dist not in ok:
        raise SpecificationError(
            f"prior {prior.dist!r} is not allowed for {slot!r}; it needs one of {sorted(ok)}"
        )
