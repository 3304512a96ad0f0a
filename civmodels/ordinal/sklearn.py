"""A scikit-learn compatible cumulative link classifier (for pipelines and cross-validation)."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .._links import get_link
from .._mle import newton
from ..exceptions import ConvergenceWarning
from . import _core

__all__ = ["OrdinalClassifier"]


class OrdinalClassifier(ClassifierMixin, BaseEstimator):
    """Cumulative link model as a scikit-learn classifier.

    The same model and optimiser as :class:`civmodels.Ordinal`,
    ``P(Y <= j | x) = F(theta_j - x' beta)``, on a numeric feature matrix. Classes are
    ordered by sorting ``y`` (use integer codes or sortable labels, lowest first).

    Parameters
    ----------
    link : {"logit", "probit", "cloglog", "loglog", "cauchit"}, default "logit"
    thresholds : {"flexible", "equidistant", "symmetric"}, default "flexible"
    max_iter : int, default 100

    Attributes
    ----------
    classes_ : ndarray
        Sorted class labels.
    coef_ : ndarray of shape (n_features,)
        Location effects ``beta``.
    thresholds_ : ndarray of shape (n_classes - 1,)
    n_features_in_ : int
    converged_ : bool
    n_iter_ : int

    Notes
    -----
    Unpenalised maximum likelihood: on separable training data the estimates diverge and a
    ``ConvergenceWarning`` is issued (standardise features, or merge classes).

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> clf = make_pipeline(StandardScaler(), OrdinalClassifier())  # doctest: +SKIP
    """

    def __init__(self, link: str = "logit", thresholds: str = "flexible", max_iter: int = 100):
        self.link = link
        self.thresholds = thresholds
        self.max_iter = max_iter

    def fit(self, X, y, sample_weight=None) -> OrdinalClassifier:
        """Fit by maximum likelihood (Newton, analytic derivatives).

        ``sample_weight`` are sampling weights (as ``weights=`` of
        :class:`civmodels.Ordinal`): non-negative and finite, and the fit does not depend on
        their scale.
        """
        X, y = validate_data(self, X, y, dtype=float)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"y has 1 class ({self.classes_[0]!r}); an ordinal model needs at least 2"
            )
        lk = get_link(self.link)
        tjac, _ = _core.threshold_jacobian(len(self.classes_) - 1, self.thresholds)
        w = None
        if sample_weight is not None:
            w = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
            if not (w > 0).any():
                raise ValueError("sample_weight are all zero; at least one must be positive")
        d = _core.CLMData(y=codes, X=X, tjac=tjac, w=w)
        opt = newton(
            lambda p: _core.clm_derivatives(p, d, lk),
            _core.start_values(d, lk),
            gtol=1e-12 * max(1.0, float(np.sum(d.w))),
            max_iter=self.max_iter,
        )
        if not opt.converged:
            warnings.warn(
                f"OrdinalClassifier did not converge ({opt.message}); standardise the "
                "features or raise max_iter",
                ConvergenceWarning,
                stacklevel=2,
            )
        sl = d.slices()
        self.thresholds_ = tjac @ opt.params[sl["alpha"]]
        self.coef_ = opt.params[sl["beta"]]
        self.converged_ = opt.converged
        self.n_iter_ = opt.n_iter
        self._link = lk
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, columns in :attr:`classes_` order."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=float, reset=False)
        cum = self._link.cdf(self.thresholds_[None, :] - (X @ self.coef_)[:, None])
        full = np.hstack([np.zeros((len(X), 1)), cum, np.ones((len(X), 1))])
        return np.diff(full, axis=1)

    def predict(self, X) -> np.ndarray:
        """The most probable class."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]
