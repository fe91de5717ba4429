"""Per-opportunity values at an instant, computed once over columns, agree with the
pure-Python forecast they stand in for."""

from __future__ import annotations

import numpy as np
import pytest

from app.kpis.columns import DealColumns, epoch, fit_model_columns
from app.kpis.derived import FORECAST_MONTHS, derive
from app.kpis.forecast import Creation, OpenDeal, forecast, month_windows
from tests.app.kpis.test_columns import AS_OF, random_deals


@pytest.mark.parametrize("seed", [1, 2])
def test_monthly_and_new_pipeline_wins_equal_the_forecast(seed: int) -> None:
    deals = random_deals(300, seed)
    cols = DealColumns.from_histories(deals, 5)
    model = fit_model_columns(cols, epoch(AS_OF), min_sample=10)
    derived = derive(cols, model, AS_OF)
    windows = month_windows(AS_OF, FORECAST_MONTHS)
    for process in (1, 2):
        # One deal a day worth 1: the forecast's new-pipeline amount is the expected wins.
        rows = forecast([], model, windows, [Creation(process, 1.0, 1.0, 1.0)])
        want = [row.new_pipeline_amount for row in rows]
        assert derived.new_pipeline[process].tolist() == pytest.approx(want, rel=1e-12)
    for row in np.nonzero((cols.outcome == 0) & (cols.process >= 0))[0].tolist()[:40]:
        deal = OpenDeal(
            1.0,
            int(cols.process[row]),
            int(derived.position[row]),
            float(derived.days_at[row]),
        )
        want = [month.expected_amount for month in forecast([deal], model, windows)]
        assert derived.month_p[row].tolist() == pytest.approx(want, abs=1e-9)
