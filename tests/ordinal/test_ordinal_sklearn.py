"""OrdinalClassifier: same estimates as Ordinal; works in pipelines and cross-validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import civmodels as cm


def test_matches_ordinal(wine):
    X = pd.get_dummies(wine[["temp", "contact"]], drop_first=True).astype(float).to_numpy()
    clf = cm.OrdinalClassifier().fit(X, wine["rating"].astype(int).to_numpy())
    res = cm.Ordinal("rating ~ temp + contact", data=wine).fit()
    np.testing.assert_allclose(clf.coef_, res.coef, rtol=1e-8)
    np.testing.assert_allclose(clf.thresholds_, res.thresholds, rtol=1e-8)
    np.testing.assert_allclose(clf.predict_proba(X), res.predict().to_numpy(), atol=1e-10)
    assert set(clf.predict(X)) <= {1, 2, 3, 4, 5}
    assert clf.get_params() == {"link": "logit", "thresholds": "flexible", "max_iter": 100}


def test_pipeline_cross_validation():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = np.digitize(X @ [1.0, -0.5, 0.0] + rng.logistic(size=300), [-1.0, 0.5, 2.0])
    pipe = make_pipeline(StandardScaler(), cm.OrdinalClassifier(link="probit"))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and (scores > 0.3).all()


def test_single_class_error():
    with pytest.raises(ValueError, match="1 class"):
        cm.OrdinalClassifier().fit(np.ones((5, 1)), np.zeros(5))
