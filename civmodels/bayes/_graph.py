"""PyMC log-density graphs for the Bayesian models (imported only when a model is fitted).

The graphs hold the *log density only*: free parameters with their priors and the
log-likelihood as a potential. Everything derived from the draws — thresholds on the original
covariate scale, group effects, pointwise log-likelihoods, predictions — is computed afterwards
with NumPy (:mod:`civmodels.bayes._numeric`), so the compiled graph stays small (cheap to compile
and to evaluate) and the prior predictive needs no compilation at all.

Parameterisation (all models)
-----------------------------
* Coefficients are non-centred: ``coef = mu + sigma * coef_raw`` with ``coef_raw`` standard
  normal (or standard Student-t, or standard Laplace).
* Group effects are non-centred: ``u_g = sd_g * z_g`` with ``z_g ~ N(0, 1)``.
* Cutpoints are sampled on an unconstrained scale ``cutpoints_raw``: the first is free and the
  later ones add ``exp(raw)`` increments; the log-Jacobian of that map is added, and the
  induced-Dirichlet prior (Betancourt 2019) is put on the implied category probabilities at
  the centre of the covariates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from . import _backend
from ._priors import Prior

# A large finite stand-in for +-infinity at the outer thresholds: F(+-BIG - eta) is exactly
# 1 or 0 in double precision for any realistic eta, and its gradient is exactly 0.
BIG = 1.0e4


@dataclass(frozen=True)
class GroupSpec:
    """One random intercept: its name, a code per row and the number of levels."""

    name: str
    codes: np.ndarray
    n_levels: int


def link_cdf(x, link: str):
    """The inverse link F as a PyTensor expression."""
    pt = _backend.import_pytensor_tensor()

    if link == "logit":
        return pt.sigmoid(x)
    if link == "probit":
        return 0.5 * pt.erfc(-x / np.sqrt(2.0))
    if link == "cloglog":
        return -pt.expm1(-pt.exp(pt.minimum(x, 700.0)))
    if link == "loglog":
        return pt.exp(-pt.exp(-pt.maximum(x, -700.0)))
    if link == "cauchit":
        return 0.5 + pt.arctan(x) / np.pi
    raise ValueError(f"unknown link {link!r}")


def link_logpdf(x, link: str):
    """log f(x) of the latent error density, as a PyTensor expression."""
    pt = _backend.import_pytensor_tensor()

    if link == "logit":
        return -pt.softplus(-x) - pt.softplus(x)
    if link == "probit":
        return -0.5 * x**2 - 0.5 * np.log(2 * np.pi)
    if link == "cloglog":
        x = pt.minimum(x, 700.0)
        return x - pt.exp(x)
    if link == "loglog":
        x = pt.maximum(x, -700.0)
        return -x - pt.exp(-x)
    if link == "cauchit":
        return -np.log(np.pi) - pt.log1p(x**2)
    raise ValueError(f"unknown link {link!r}")


def log_cdf_diff(upper, lower, link: str):
    """log(F(upper) - F(lower)) for upper >= lower, stable in the tails for the logit link."""
    pt = _backend.import_pytensor_tensor()

    if link == "logit":
        # sigmoid(a) - sigmoid(b) = sigmoid(a) * sigmoid(-b) * (1 - exp(b - a))
        return -pt.softplus(-upper) - pt.softplus(lower) + pt.log1mexp(lower - upper)
    # take the difference on the side where it does not cancel (both in the upper tail:
    # survival functions), as the Numba path does
    f_lo = link_cdf(lower, link)
    diff = pt.switch(
        f_lo > 0.5,
        link_sf(lower, link) - link_sf(upper, link),
        link_cdf(upper, link) - f_lo,
    )
    return pt.log(pt.maximum(diff, 1e-300))


def link_sf(x, link: str):
    """1 - F(x) as a PyTensor expression, accurate in the upper tail."""
    pt = _backend.import_pytensor_tensor()

    if link == "probit":
        return 0.5 * pt.erfc(x / np.sqrt(2.0))
    if link == "cloglog":
        return pt.exp(-pt.exp(pt.minimum(x, 700.0)))
    if link == "logit":
        return pt.sigmoid(-x)
    return 1.0 - link_cdf(x, link)


def coef_vector(name: str, priors: Sequence[Prior], dim: str):
    """Non-centred coefficient vector ``mu + sigma * raw`` with one prior per element.

    ``raw`` is standard normal, standard Student-t or standard Laplace per element; the three
    kinds are separate free variables ``<name>_raw``, ``<name>_raw_t`` and ``<name>_raw_l``
    (see :func:`civmodels.bayes._numeric.coef_groups`).
    """
    pm = _backend.import_pymc()
    pt = _backend.import_pytensor_tensor()

    from ._numeric import coef_groups

    k = len(priors)
    mu = np.array([float(p.params["mu"]) for p in priors])
    sigma = np.array([float(p.params["sigma"]) for p in priors])
    n_idx, t_idx, l_idx = coef_groups(priors)
    if len(n_idx) == k:
        raw = pm.Normal(f"{name}_raw", 0.0, 1.0, dims=dim)
        return mu + sigma * raw
    raw = pt.zeros(k)
    if t_idx:
        nu = np.array([float(priors[i].params["nu"]) for i in t_idx])
        raw_t = pm.StudentT(f"{name}_raw_t", nu=nu, mu=0.0, sigma=1.0, shape=len(t_idx))
        raw = pt.set_subtensor(raw[t_idx], raw_t)
    if l_idx:
        raw_l = pm.Laplace(f"{name}_raw_l", mu=0.0, b=1.0, shape=len(l_idx))
        raw = pt.set_subtensor(raw[l_idx], raw_l)
    if n_idx:
        raw_n = pm.Normal(f"{name}_raw", 0.0, 1.0, shape=len(n_idx))
        raw = pt.set_subtensor(raw[n_idx], raw_n)
    return mu + sigma * raw


def positive(name: str, prior: Prior, **kwargs):
    """A positive parameter (a standard deviation or a loading scale)."""
    pm = _backend.import_pymc()

    p = prior.params
    if prior.dist == "halfnormal":
        return pm.HalfNormal(name, sigma=p["sigma"], **kwargs)
    if prior.dist == "exponential":
        return pm.Exponential(name, lam=p["lam"], **kwargs)
    if prior.dist == "halfstudentt":
        return pm.HalfStudentT(name, nu=p["nu"], sigma=p["sigma"], **kwargs)
    if prior.dist == "lognormal":
        return pm.LogNormal(name, mu=p["mu"], sigma=p["sigma"], **kwargs)
    raise ValueError(f"prior {prior.dist!r} is not a positive distribution")


def real(name: str, prior: Prior, **kwargs):
    """A real-valued parameter (normal or Student-t)."""
    pm = _backend.import_pymc()

    p = prior.params
    if prior.dist == "normal":
        return pm.Normal(name, mu=p["mu"], sigma=p["sigma"], **kwargs)
    if prior.dist == "studentt":
        return pm.StudentT(name, nu=p["nu"], mu=p["mu"], sigma=p["sigma"], **kwargs)
    if prior.dist == "laplace":
        return pm.Laplace(name, mu=p["mu"], b=p["sigma"], **kwargs)
    raise ValueError(f"prior {prior.dist!r} is not a real-valued distribution")


def cutpoints(name: str, n_cut: int, prior: Prior, link: str, *, dims=None, shape=None):
    """Ordered cutpoints; returns a tensor (..., n_cut).

    The raw vector is unconstrained; ``c_1 = raw_1`` and ``c_k = c_{k-1} + exp(raw_k)``, and
    the log-Jacobian of that map is added. Prior on the ordered vector:

    * ``dirichlet``: with ``p_k = F(c_k) - F(c_{k-1})`` (anchor 0) and
      ``p ~ Dirichlet(alpha)``, the density of the cutpoints is ``Dirichlet(p | alpha) * |J|``
      where ``|J|`` is proportional to ``prod_k f(c_k)`` (the Jacobian determinant
      factorises for this map).
    * ``normal`` / ``studentt``: the product of the per-cutpoint densities, restricted to
      ordered vectors (brms's ``prior(normal(0, 5), class = Intercept)``).
    """
    pm = _backend.import_pymc()
    pt = _backend.import_pytensor_tensor()

    base_shape = (n_cut,) if shape is None else (*shape, n_cut)
    init = np.broadcast_to(_raw_init(n_cut, prior, link), base_shape).copy()
    raw = pm.Flat(f"{name}_raw", shape=base_shape, dims=dims, initval=init)
    if n_cut > 1:
        c = pt.cumsum(pt.concatenate([raw[..., :1], pt.exp(raw[..., 1:])], axis=-1), axis=-1)
        log_jac = raw[..., 1:].sum()
    else:
        c = raw
        log_jac = 0.0
    pm.Potential(f"{name}_prior", cutpoint_prior_logp(c, n_cut, prior, link) + log_jac)
    return c


def cutpoint_prior_logp(c, n_cut: int, prior: Prior, link: str):
    """Log prior density (summed) of ordered cutpoints ``c`` (..., n_cut); see
    :func:`cutpoints`. The Jacobian of the map from the sampled scale is not included."""
    pm = _backend.import_pymc()
    pt = _backend.import_pytensor_tensor()

    if prior.dist == "dirichlet":
        alpha = np.broadcast_to(np.asarray(prior.params["alpha"], float), (n_cut + 1,))
        lo = pt.concatenate([pt.full((*c.shape[:-1], 1), -BIG), c], axis=-1)
        hi = pt.concatenate([c, pt.full((*c.shape[:-1], 1), BIG)], axis=-1)
        logp_cat = log_cdf_diff(hi, lo, link)
        dens = ((alpha - 1.0) * logp_cat).sum() + link_logpdf(c, link).sum()
    else:
        from ._priors import cut_params

        mu, sigma, nu = cut_params(prior, n_cut)
        dist = (
            pm.Normal.dist(mu=mu, sigma=sigma)
            if np.isinf(nu)
            else pm.StudentT.dist(nu=nu, mu=mu, sigma=sigma)
        )
        dens = pm.logp(dist, c).sum()
    return dens


def _raw_init(n_cut: int, prior: Prior, link: str) -> np.ndarray:
    """Starting cutpoints on the raw scale: at the prior mean of the category probabilities
    (Dirichlet), at a strictly increasing ``mu`` vector, or at equal category probabilities."""
    from .._links import get_link

    if prior.dist == "dirichlet":
        alpha = np.broadcast_to(np.asarray(prior.params["alpha"], float), (n_cut + 1,))
    else:
        mu = np.asarray(prior.params["mu"], float)
        if mu.ndim == 1 and mu.size == n_cut and np.all(np.diff(mu) > 0):
            return np.concatenate([mu[:1], np.log(np.diff(mu))])
        alpha = np.ones(n_cut + 1)
    cum = np.cumsum(alpha / alpha.sum())[:-1]
    c = get_link(link).ppf(cum)
    return np.concatenate([c[:1], np.log(np.maximum(np.diff(c), 1e-3))])


def group_effects(groups: Sequence[GroupSpec], sd_priors: dict[str, Prior]):
    """Sum over random intercepts of ``sd_g * z_g[code]`` (non-centred)."""
    pm = _backend.import_pymc()

    total = 0.0
    for g in groups:
        sd = positive(f"sd_{g.name}", sd_priors[f"sd_{g.name}"])
        z = pm.Normal(f"z_{g.name}", 0.0, 1.0, dims=f"level_{g.name}")
        codes = pm.Data(f"codes_{g.name}", g.codes.astype(np.int64))
        total = total + sd * z[codes]
    return total
