"""The 838-position survey frame with response information (:func:`load_frame`).

The municipality frame (:func:`load_municipalities`), the covariates and the allocation of
positions live in :mod:`civmodels.data._positions` and are re-exported here; their sources
and derivations are documented there, in ``data/README.md`` and in ``docs/data.md``. This
module sits above :mod:`.loaders` because its default survey is the bundled one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..exceptions import DataError
from ._positions import (
    COVARIATES,
    DEFAULT_SIZE_CUTS,
    N_POSITIONS,
    REGIONS,
    _positions,
    allocate_positions,
    join_municipality,
    load_municipalities,
    over_capacity_cells,
)
from .loaders import load_survey

__all__ = [
    "COVARIATES",
    "DEFAULT_SIZE_CUTS",
    "N_POSITIONS",
    "REGIONS",
    "allocate_positions",
    "join_municipality",
    "load_frame",
    "load_municipalities",
]


def load_frame(survey: pd.DataFrame | None = None) -> pd.DataFrame:
    """The survey frame: one row per invited department head (838 rows).

    Parameters
    ----------
    survey : pandas.DataFrame, optional
        Respondent data (as returned by :func:`load_survey` or :func:`read_survey`) that
        sets ``responded``. Matched on ``position_id`` when the survey has it; otherwise
        each respondent fills one position of its municipality and area (a real export has
        no position ids). Default: the bundled synthetic survey.

    Returns
    -------
    pandas.DataFrame
        Columns ``position_id``, ``municipality_code``, ``municipality``, ``area``
        (categorical of the codebook's area codes), ``seat`` (1 for the first head of an
        area, 2 for a second one), ``responded`` (int 0/1) and the municipality covariates
        ``region``, ``population``, ``log_population``, ``size_group``,
        ``spending_pressure``, ``pressure_high``, ``bloc``.

    Raises
    ------
    DataError
        If the survey has position ids not in the frame, or more respondents in a
        municipality-area cell than the frame has positions there.

    Notes
    -----
    Allocation rule (an assumption; the report gives only the total of 838): each
    municipality has one head per policy area (98 x 8 = 784); the remaining 54 positions go
    to municipalities in proportion to population (largest remainder), and a municipality's
    extra heads are added to areas in the order social, health, schools, technical, employment,
    culture, citizen services, management.
    """
    frame = _positions()
    if survey is None:
        survey = load_survey()
    frame["responded"] = _responded(frame, survey)
    cols = ["position_id", "municipality_code", "municipality", "area", "seat", "responded"]
    return frame[cols + list(COVARIATES)]


def _responded(frame: pd.DataFrame, survey: pd.DataFrame) -> np.ndarray:
    if not isinstance(survey, pd.DataFrame):
        raise DataError(f"survey must be a pandas DataFrame, got {type(survey).__name__}")
    # read_survey leaves position_id missing for respondents it could not place in the
    # assumed frame; such a survey is matched by municipality and area, whose check names
    # the cells (the user's file may never have had a position_id column)
    if "position_id" in survey.columns and survey["position_id"].notna().all():
        ids = pd.to_numeric(survey["position_id"], errors="coerce")
        unknown = sorted(set(ids.dropna().astype(int)) - set(frame["position_id"]))
        if ids.isna().any() or unknown:
            raise DataError(
                f"survey column 'position_id' has values not in the 838-position frame: "
                f"{unknown[:10] or 'missing values'}; drop the column to match respondents "
                "by municipality_code and area instead"
            )
        if ids.duplicated().any():
            dup = sorted(set(ids[ids.duplicated()].astype(int)))[:10]
            raise DataError(f"survey column 'position_id' has duplicated values: {dup}")
        return frame["position_id"].isin(ids).to_numpy().astype("int64")
    for col in ("municipality_code", "area"):
        if col not in survey.columns:
            raise DataError(
                f"survey lacks column {col!r}; load it with civmodels.data.read_survey, "
                "which adds municipality_code and area"
            )
    cells = over_capacity_cells(survey, frame)
    if cells:
        raise DataError(
            f"the survey has more respondents than the frame has positions in {len(cells)} "
            f"municipality x area cell(s): {'; '.join(cells[:5])}"
            + (f"; ... ({len(cells)} in all)" if len(cells) > 5 else "")
            + ". The allocation of the 838 positions to municipalities and areas is an "
            "assumption (docs/data.md); check these respondents' municipality and area, or "
            "give the invited positions explicitly as a frame (municipality, area, responded)"
        )
    seat_no = frame.groupby(["municipality_code", "area"], observed=True).cumcount() + 1
    need = survey.groupby(
        [survey["municipality_code"].to_numpy(), survey["area"].astype(str).to_numpy()]
    ).size()
    key_f = pd.MultiIndex.from_arrays(
        [frame["municipality_code"].to_numpy(), frame["area"].astype(str).to_numpy()]
    )
    needed = need.reindex(key_f, fill_value=0).to_numpy()
    return (seat_no.to_numpy() <= needed).astype("int64")
