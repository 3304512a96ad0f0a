"""The municipality frame (98 municipalities) and the allocation of the 838 positions.

This is the part of the survey frame that everything else builds on: :mod:`.loaders` places
respondents in positions and joins covariates with it, and :mod:`.frame` adds response
information from a survey. It imports nothing above :mod:`.codebook`, so the import graph
stays one-way (``_positions`` <- ``loaders`` <- ``frame``).

Sources and derivations are documented in ``data/README.md``, ``data/municipalities.md`` and
``docs/data.md``. In short:

* ``size_group``: population bands; the report's cut-points are unknown, the default bands
  (< 30,000; 30,000-49,999; 50,000-99,999; >= 100,000) are round numbers common in Danish
  municipal statistics that give every band at least seven municipalities;
* ``spending_pressure``: the standardised mean of three standardised 2015 indicators —
  socio-economic expenditure need (+), income-tax rate (+) and average disposable income (-);
* ``pressure_high``: 1 for the 49 municipalities above the median of ``spending_pressure``;
* ``bloc``: the mayor's bloc in 2015 (the survey year); the one local list (Guldborgsund) is
  classed ``local_bloc`` (default ``"blue"``: only the parties of the red bloc are red);
* positions: 8 per municipality (one per policy area) = 784, plus 54 extra positions allotted
  to municipalities in proportion to population by the largest-remainder method.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from io import StringIO

import numpy as np
import pandas as pd

from ..exceptions import DataError
from ._resources import resource_text
from .codebook import AREAS

__all__ = [
    "COVARIATES",
    "DEFAULT_SIZE_CUTS",
    "N_POSITIONS",
    "REGIONS",
    "allocate_positions",
    "join_municipality",
    "load_municipalities",
    "over_capacity_cells",
]

#: Default population cut-points of ``size_group`` (upper bounds, exclusive, of the bands).
DEFAULT_SIZE_CUTS: tuple[int, ...] = (30_000, 50_000, 100_000)
#: Number of invited department heads (report p. 6).
N_POSITIONS = 838
#: The five regions, Hovedstaden first (the reference level).
REGIONS: tuple[str, ...] = ("Hovedstaden", "Sjælland", "Syddanmark", "Midtjylland", "Nordjylland")
#: Municipality covariates joined onto the position frame and the survey.
COVARIATES: tuple[str, ...] = (
    "region",
    "population",
    "log_population",
    "size_group",
    "spending_pressure",
    "pressure_high",
    "bloc",
)
# Areas in the order in which a large administration gets a second head: the social and
# health areas are the ones most often split (adults / children, health / elderly care).
_SPLIT_ORDER: tuple[str, ...] = (
    "social",
    "sundhed_forebyggelse",
    "skole_uddannelse",
    "teknik_miljo",
    "beskaeftigelse",
    "kultur_fritid",
    "borgerservice",
    "ledelse_strategi",
)
_PRESSURE_INDICATORS = {
    "socioek_indeks_2015": 1.0,
    "udskrivningsprocent_2015": 1.0,
    "disp_indkomst_gns_2015": -1.0,
}
_RED = {"A", "B", "F", "Ø", "Å"}


def _fmt(x: float) -> str:
    return f"{x / 1000:g}k" if x % 1000 == 0 else f"{x:g}"


def _size_labels(cuts: Sequence[float]) -> list[str]:
    labels = [f"<{_fmt(cuts[0])}"]
    labels += [f"{_fmt(a)}–{_fmt(b)}" for a, b in itertools.pairwise(cuts)]
    labels.append(f"≥{_fmt(cuts[-1])}")
    return labels


def _check_cuts(size_cuts: object, population: np.ndarray) -> tuple[float, ...]:
    try:
        cuts = tuple(float(c) for c in size_cuts)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        raise DataError(
            f"size_cuts must be a sequence of populations, got {size_cuts!r}; "
            f"e.g. size_cuts={DEFAULT_SIZE_CUTS}"
        ) from None
    if not cuts or any(not np.isfinite(c) or c <= 0 for c in cuts):
        raise DataError(f"size_cuts must be positive, finite populations; got {size_cuts!r}")
    if any(b <= a for a, b in itertools.pairwise(cuts)):
        raise DataError(f"size_cuts must be strictly increasing; got {size_cuts!r}")
    counts = np.histogram(population, bins=[-np.inf, *cuts, np.inf])[0]
    if (counts == 0).any():
        empty = [lab for lab, n in zip(_size_labels(cuts), counts, strict=True) if n == 0]
        raise DataError(
            f"size_cuts={size_cuts!r} leave band(s) {empty} without municipalities "
            f"(populations range {population.min():,} to {population.max():,})"
        )
    return cuts


def _zscore(x: pd.Series) -> pd.Series:
    return (x - x.mean()) / x.std(ddof=1)


def load_municipalities(
    size_cuts: Sequence[float] = DEFAULT_SIZE_CUTS, *, local_bloc: str = "blue"
) -> pd.DataFrame:
    """The 98 Danish municipalities with the covariates used in the report.

    Parameters
    ----------
    size_cuts : sequence of float, default ``(30_000, 50_000, 100_000)``
        Population cut-points of ``size_group``; a municipality with population ``p`` falls
        in the band ``cuts[i-1] <= p < cuts[i]``. The report's bands are unknown.
    local_bloc : {"blue", "red"}, default "blue"
        Bloc of a mayor from a local list (Guldborgsund in 2015).

    Returns
    -------
    pandas.DataFrame
        98 rows sorted by ``code``: every column of ``data/municipalities.csv`` (the source's
        2014 bloc column, which has a third value ``local``, is renamed ``bloc_2014``) plus

        - ``log_population``: natural log of the 1 January 2015 population;
        - ``size_group``: ordered categorical of population bands;
        - ``spending_pressure``: standardised index (mean 0, SD 1) — the mean of the
          z-scores of ``socioek_indeks_2015``, ``udskrivningsprocent_2015`` and minus
          ``disp_indkomst_gns_2015``, re-standardised;
        - ``pressure_high``: int, 1 for the half above the median of ``spending_pressure``;
        - ``bloc``: categorical ``["red", "blue"]``, the 2015 mayor's bloc;
        - ``region``: categorical of the five regions, Hovedstaden first.

    Raises
    ------
    DataError
        If ``size_cuts`` is not increasing, not positive, or leaves a band empty, or
        ``local_bloc`` is not ``"red"`` or ``"blue"``.

    Examples
    --------
    >>> from civmodels.data import load_municipalities
    >>> m = load_municipalities()
    >>> m["size_group"].value_counts().sort_index().tolist()
    [25, 36, 30, 7]
    """
    if local_bloc not in ("red", "blue"):
        raise DataError(f"local_bloc must be 'red' or 'blue', got {local_bloc!r}")
    raw = pd.read_csv(StringIO(resource_text("municipalities.csv")), dtype={"mayor_note": "str"})
    pop = raw["population"].to_numpy()
    cuts = _check_cuts(size_cuts, pop)
    m = raw.rename(columns={"bloc": "bloc_2014"})
    m["log_population"] = np.log(m["population"].astype(float))
    codes = np.searchsorted(np.asarray(cuts), pop, side="right")
    m["size_group"] = pd.Categorical.from_codes(codes, categories=_size_labels(cuts), ordered=True)
    index = sum(sign * _zscore(m[col]) for col, sign in _PRESSURE_INDICATORS.items())
    m["spending_pressure"] = _zscore(index)
    # Strictly above the median: 98 is even and the index has no ties, so 49 / 49.
    m["pressure_high"] = (m["spending_pressure"] > m["spending_pressure"].median()).astype("int64")
    party = m["mayor_party_2015"].astype(str)
    bloc = np.where(party.isin(_RED), "red", "blue")
    bloc = np.where(m["bloc_2015"] == "local", local_bloc, bloc)
    m["bloc"] = pd.Categorical(bloc, categories=["red", "blue"])
    m["region"] = pd.Categorical(m["region"], categories=list(REGIONS))
    if m["region"].isna().any():  # pragma: no cover - guards a changed source file
        raise DataError("municipalities.csv has a region outside the five Danish regions")
    return m.sort_values("code").reset_index(drop=True)


def allocate_positions(
    population: Sequence[float] | np.ndarray, n_total: int = N_POSITIONS, n_base: int = 8
) -> np.ndarray:
    """Positions per municipality: ``n_base`` each, the rest in proportion to population.

    The ``n_total - n_base * len(population)`` extra positions are allotted by the
    largest-remainder (Hamilton) method on population shares; ties go to the earlier row.

    Parameters
    ----------
    population : array-like of float
        Population of each municipality.
    n_total : int, default 838
        Total number of positions.
    n_base : int, default 8
        Positions every municipality has (one per policy area).

    Returns
    -------
    numpy.ndarray of int
        Positions per municipality, summing to ``n_total``.
    """
    pop = np.asarray(population, dtype=float)
    n_extra = n_total - n_base * len(pop)
    if n_extra < 0:
        raise DataError(
            f"n_total={n_total} is smaller than n_base * n_municipalities = {n_base * len(pop)}"
        )
    quota = n_extra * pop / pop.sum()
    extra = np.floor(quota).astype(int)
    remainder = quota - extra
    left = n_extra - int(extra.sum())
    # stable sort on -remainder keeps the earlier row first among equal remainders
    extra[np.argsort(-remainder, kind="stable")[:left]] += 1
    return n_base + extra


def _positions(municipalities: pd.DataFrame | None = None) -> pd.DataFrame:
    """The 838 positions without response information (a fresh copy)."""
    if municipalities is None:
        if not _DEFAULT_POSITIONS:
            _DEFAULT_POSITIONS.append(_build_positions(load_municipalities()))
        return _DEFAULT_POSITIONS[0].copy()
    return _build_positions(municipalities)


_DEFAULT_POSITIONS: list[pd.DataFrame] = []


def _build_positions(m: pd.DataFrame) -> pd.DataFrame:
    n_pos = allocate_positions(m["population"].to_numpy())
    codes, areas, seats = [], [], []
    for code, n in zip(m["code"].to_numpy(), n_pos, strict=True):
        counter = dict.fromkeys(AREAS, 0)
        order = list(AREAS) + [_SPLIT_ORDER[i % len(_SPLIT_ORDER)] for i in range(n - len(AREAS))]
        for a in order:
            counter[a] += 1
            codes.append(int(code))
            areas.append(a)
            seats.append(counter[a])
    frame = pd.DataFrame(
        {
            "position_id": np.arange(1, len(codes) + 1, dtype="int64"),
            "municipality_code": np.asarray(codes, dtype="int64"),
            "area": pd.Categorical(areas, categories=list(AREAS)),
            "seat": np.asarray(seats, dtype="int64"),
        }
    )
    frame = frame.sort_values(["municipality_code", "area", "seat"], kind="stable")
    frame["position_id"] = np.arange(1, len(frame) + 1, dtype="int64")
    return join_municipality(frame.reset_index(drop=True), m)


def join_municipality(data: pd.DataFrame, municipalities: pd.DataFrame) -> pd.DataFrame:
    """Add ``municipality`` (name) and the covariates by ``municipality_code``.

    Existing covariate columns in ``data`` are replaced by the frame's values.
    """
    cols = ["code", "name", *COVARIATES]
    right = municipalities[cols].rename(
        columns={"code": "municipality_code", "name": "municipality"}
    )
    left = data.drop(columns=[c for c in ("municipality", *COVARIATES) if c in data.columns])
    out = left.merge(right, on="municipality_code", how="left", validate="many_to_one")
    front = [
        c for c in ("position_id", "municipality_code", "municipality", "area") if c in out.columns
    ]
    return out[front + [c for c in out.columns if c not in front]]


def over_capacity_cells(survey: pd.DataFrame, frame: pd.DataFrame) -> list[str]:
    """The municipality x area cells where ``survey`` has more respondents than ``frame`` has
    positions, described for an error message ("København (101) / social: 9 respondents,
    4 positions"), largest excess first.

    Both tables need ``municipality_code`` and ``area``; ``frame`` also ``municipality``.
    """
    need = survey.groupby(
        [survey["municipality_code"].to_numpy(), survey["area"].astype(str).to_numpy()]
    ).size()
    have = frame.groupby(
        [frame["municipality_code"].to_numpy(), frame["area"].astype(str).to_numpy()]
    ).size()
    have = have.reindex(need.index, fill_value=0)
    over = need[need > have]
    names = dict(zip(frame["municipality_code"], frame["municipality"], strict=False))
    order = (over - have[over.index]).sort_values(ascending=False, kind="stable").index
    cells = []
    for code, area in order:
        n, a = int(need[(code, area)]), int(have[(code, area)])
        name = names.get(code, "unknown municipality")
        cells.append(
            f"{name} ({code}) / {area}: {n} respondent{'s' if n != 1 else ''}, "
            f"{a} position{'s' if a != 1 else ''}"
        )
    return cells
