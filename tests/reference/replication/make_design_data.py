"""Write design_diff_data.csv: a clustered, weighted sample for the design-difference fixture.

Run from the repository root: ``python tests/reference/replication/make_design_data.py``; then
``Rscript tests/reference/replication/make_design_diff.R``.
"""

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(20161)
n_mun = 60
mun = np.repeat(np.arange(1, n_mun + 1), rng.integers(2, 9, n_mun))
n = len(mun)
u = rng.normal(0, 0.6, n_mun)[mun - 1]
group = (rng.random(n_mun) < 0.5)[mun - 1].astype(int)  # municipality-level, like pressure_high
p = 1 / (1 + np.exp(-(-0.3 + 0.5 * group + u)))
event = (rng.random(n) < p).astype(float)
event[rng.random(n) < 0.08] = np.nan  # item nonresponse: domain rows without an answer
w = np.exp(rng.normal(0.6, 0.3, n))
pd.DataFrame({"municipality_code": mun, "group": group, "event": event, "w": w}).to_csv(
    Path(__file__).with_name("design_diff_data.csv"), index=False
)
