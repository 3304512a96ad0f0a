"""The inverse links: CDFs against SciPy, densities and their derivatives by finite differences."""

import numpy as np
import pytest
from scipy import stats

from civmodels._links import LINKS, get_link

X = np.linspace(-6, 6, 121)


@pytest.mark.parametrize("name", sorted(LINKS))
def test_pdf_is_derivative_of_cdf(name):
    link = get_link(name)
    h = 1e-6
    numeric = (link.cdf(X + h) - link.cdf(X - h)) / (2 * h)
    np.testing.assert_allclose(link.pdf(X), numeric, rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize("name", sorted(LINKS))
def test_dpdf_is_derivative_of_pdf(name):
    link = get_link(name)
    h = 1e-5
    numeric = (link.pdf(X + h) - link.pdf(X - h)) / (2 * h)
    np.testing.assert_allclose(link.dpdf(X), numeric, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("name", sorted(LINKS))
def test_ppf_inverts_cdf(name):
    link = get_link(name)
    p = np.linspace(0.01, 0.99, 50)
    np.testing.assert_allclose(link.cdf(link.ppf(p)), p, rtol=1e-10)


def test_cdfs_match_scipy_distributions():
    np.testing.assert_allclose(get_link("logit").cdf(X), stats.logistic.cdf(X))
    np.testing.assert_allclose(get_link("probit").cdf(X), stats.norm.cdf(X))
    np.testing.assert_allclose(get_link("cauchit").cdf(X), stats.cauchy.cdf(X))
    # cloglog is the minimum extreme-value (Gumbel-left) distribution, loglog the maximum one
    np.testing.assert_allclose(get_link("cloglog").cdf(X), stats.gumbel_l.cdf(X), rtol=1e-12)
    np.testing.assert_allclose(get_link("loglog").cdf(X), stats.gumbel_r.cdf(X), rtol=1e-12)


def test_unknown_link_lists_valid_names():
    with pytest.raises(ValueError, match="cauchit"):
        get_link("logistic")
