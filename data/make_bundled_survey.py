"""Regenerate the bundled synthetic survey ``civmodels/data/_files/survey.csv``.

Run from the repository root::

    python data/make_bundled_survey.py

The file is the respondents' data of ``simulate_survey(random_seed=BUNDLED_SEED)`` written as a
CSV export (Danish labels, 'Ved ikke' as a label) by ``write_survey``. The test
``tests/data/test_loaders.py::test_bundled_survey_regenerates_from_seed`` checks that the seed
reproduces the file exactly. Rerun this script whenever the calibration or the simulator
changes, and commit the new file.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from civmodels.data import BUNDLED_SEED, simulate_survey, write_survey  # noqa: E402


def main() -> None:
    sim = simulate_survey(random_seed=BUNDLED_SEED)
    target = ROOT / "civmodels" / "data" / "_files" / "survey.csv"
    write_survey(sim.data, target)
    print(f"wrote {len(sim.data)} respondents to {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
