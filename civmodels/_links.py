"""Inverse link functions for cumulative-link and binary models (NumPy/SciPy only).

Each link is described by the distribution function F of the latent error, its density
f = F' and the derivative of the density f'. All are vectorised; the extreme-value links
clip their argument where ``exp`` would overflow, which leaves the values exact to double
precision.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

__all__ = ["LINKS", "Link", "get_link"]

Array = np.ndarray


@dataclass(frozen=True)
class Link:
    """A latent-error distribution used as an inverse link."""

    name: str
    cdf: Callable[[Array], Array]
    pdf: Callable[[Array], Array]
    dpdf: Callable[[Array], Array]
    ppf: Callable[[Array], Array]


def _logit_pdf(x: Array) -> Array:
    p = special.expit(x)
    return p * (1.0 - p)


def _logit_dpdf(x: Array) -> Array:
    p = special.expit(x)
    return p * (1.0 - p) * (1.0 - 2.0 * p)


def _probit_dpdf(x: Array) -> Array:
    return -x * stats.norm.pdf(x)


# cloglog: F(x) = 1 - exp(-exp(x)) (Gumbel minimum / extreme-value)
def _cloglog_cdf(x: Array) -> Array:
    return -np.expm1(-np.exp(np.minimum(x, 700.0)))


def _cloglog_pdf(x: Array) -> Array:
    x = np.minimum(x, 700.0)
    return np.exp(x - np.exp(x))


def _cloglog_dpdf(x: Array) -> Array:
    x = np.minimum(x, 700.0)
    return np.exp(x - np.exp(x)) * (1.0 - np.exp(x))


def _cloglog_ppf(p: Array) -> Array:
    return np.log(-np.log1p(-p))


# loglog: F(x) = exp(-exp(-x)) (Gumbel maximum)
def _loglog_cdf(x: Array) -> Array:
    return np.exp(-np.exp(-np.maximum(x, -700.0)))


def _loglog_pdf(x: Array) -> Array:
    x = np.maximum(x, -700.0)
    return np.exp(-x - np.exp(-x))


def _loglog_dpdf(x: Array) -> Array:
    x = np.maximum(x, -700.0)
    return np.exp(-x - np.exp(-x)) * (np.exp(-x) - 1.0)


def _loglog_ppf(p: Array) -> Array:
    return -np.log(-np.log(p))


def _cauchit_dpdf(x: Array) -> Array:
    return -2.0 * x / (np.pi * (1.0 + x * x) ** 2)


LINKS: dict[str, Link] = {
    "logit": Link("logit", special.expit, _logit_pdf, _logit_dpdf, special.logit),
    "probit": Link("probit", special.ndtr, stats.norm.pdf, _probit_dpdf, special.ndtri),
    "cloglog": Link("cloglog", _cloglog_cdf, _cloglog_pdf, _cloglog_dpdf, _cloglog_ppf),
    "loglog": Link("loglog", _loglog_cdf, _loglog_pdf, _loglog_dpdf, _loglog_ppf),
    "cauchit": Link("cauchit", stats.cauchy.cdf, stats.cauchy.pdf, _cauchit_dpdf, stats.cauchy.ppf),
}


def get_link(name: str) -> Link:
    """Return the :class:`Link` called ``name``.

    Parameters
    ----------
    name : str
        One of ``"logit"``, ``"probit"``, ``"cloglog"``, ``"loglog"``, ``"cauchit"``.

    Returns
    -------
    Link
        The link's CDF, density, density derivative and quantile function.

    Raises
    ------
    ValueError
        If ``name`` is not a known link; the message lists the valid names.
    """
    try:
        return LINKS[name]
    except (KeyError, TypeError):
        raise ValueError(f"link={name!r} is not supported; choose one of {sorted(LINKS)}") from None
