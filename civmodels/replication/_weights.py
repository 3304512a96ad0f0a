"""Nonresponse weights for the respondents, from the 838-position frame."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DataError

__all__ = ["respondent_weights"]

_KEYS = ("municipality_code", "area")


def _weights_of(result: Any) -> pd.Series:
    for attr in ("weights", "w"):
        value = getattr(result, attr, None)
        if isinstance(value, pd.Series):
            return value
    if isinstance(result, pd.Series):
        return result
    raise DataError(
        f"propensity_weights returned a {type(result).__name__} without a 'weights' Series"
    )


def respondent_weights(
    data: pd.DataFrame, frame: pd.DataFrame, propensity_weights: Callable[..., Any]
) -> pd.Series:
    """Inverse response-propensity weights for the rows of ``data``.

    The response propensity is estimated on the frame of all invited positions (default
    formula of :func:`civmodels.nonresponse.propensity_weights`); each respondent gets the
    weight of its position, matched on ``respondent_id`` or ``position_id`` when both tables
    have it, otherwise on (municipality, area).

    Returns
    -------
    pandas.Series
        Aligned with ``data.index``; NaN for a respondent with no matching position (the
        design method then counts it as dropped).
    """
    result = propensity_weights(frame)
    w = _weights_of(result)
    # propensity_weights indexes the weights by the frame's key column (position_id)
    key = getattr(result, "key", None)
    rows = pd.Index(frame[key]).get_indexer(w.index) if key is not None else w.index
    fr = (frame.iloc[rows] if key is not None else frame.loc[rows]).copy()
    fr["_w"] = w.to_numpy(float)
    if "responded" in fr.columns:
        fr = fr[fr["responded"].astype(bool)]
    if "respondent_id" in data.columns and "respondent_id" in fr.columns:
        keys = ["respondent_id"]
    elif "position_id" in data.columns and "position_id" in fr.columns:
        keys = ["position_id"]
    else:
        keys = list(_KEYS)
        missing = [k for k in keys if k not in data.columns or k not in fr.columns]
        if missing:
            raise DataError(f"cannot match respondents to the frame: columns {missing} missing")
    if fr.duplicated(keys).any():
        raise DataError(f"the frame has duplicated positions on {keys}; cannot match weights")
    merged = data[keys].merge(fr[[*keys, "_w"]], on=keys, how="left")
    out = pd.Series(merged["_w"].to_numpy(float), index=data.index, name="weight")
    return out.where(np.isfinite(out))
