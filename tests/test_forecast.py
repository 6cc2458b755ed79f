"""Month-end forecast: run-rate baseline, weekly ETS with an interval, backtest on a series with a known answer."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from finops_nb.analyses.forecast import backtest, forecast_baseline, forecast_ets, forecast_owners, mape


def flat(start, days, cost):
    return pd.Series([cost] * days, index=pd.date_range(start, periods=days, freq="D", tz="UTC"))


def weekly(start, end):
    """Weekdays 100, Saturdays and Sundays 40."""
    days = pd.date_range(start, end, freq="D", tz="UTC")
    return pd.Series([40 if d.day_of_week >= 5 else 100 for d in days], index=days)


def test_baseline_worked_value_of_the_issue():
    # by hand: June 2025 has 30 days; days 1-20 at 100 -> actual 2,000; mean of days 14-20 = 100; 10 days left
    # -> 2,000 + 100 x 10 = 3,000
    f = forecast_baseline(flat("2025-06-01", 20, 100), "2025-06")
    assert f["actual_cost"] == Decimal(2000) and f["forecast_cost"] == Decimal(3000)
    assert (f["days_elapsed"], f["days_left"], f["rate_days"]) == (20, 10, 7)


def test_baseline_uses_the_last_seven_complete_days_and_as_of():
    # by hand: days 1-13 at 100, days 14-20 at 200 -> rate 200; actual 1,300 + 1,400 = 2,700; 2,700 + 200 x 10
    s = pd.concat([flat("2025-06-01", 13, 100), flat("2025-06-14", 7, 200)])
    assert forecast_baseline(s, "2025-06")["forecast_cost"] == Decimal(4700)
    # as of June 11 (days 1-10 complete): actual 1,000, rate 100, 20 days left -> 3,000
    assert forecast_baseline(s, "2025-06", as_of="2025-06-11")["forecast_cost"] == Decimal(3000)
    # only 3 days of data: the mean is over those 3 (rate_days 3): 300 + 100 x 27 = 3,000
    short = forecast_baseline(flat("2025-06-01", 3, 100), "2025-06")
    assert short["forecast_cost"] == Decimal(3000) and short["rate_days"] == 3


def test_ets_learns_the_weekly_season_and_says_when_it_cannot():
    s = weekly("2025-01-01", "2025-03-15")
    f = forecast_ets(s, "2025-03", as_of="2025-03-16")
    # by hand: March 2025 starts on a Saturday; 21 weekdays and 10 weekend days -> 2,100 + 400 = 2,500
    assert float(f["forecast_cost"]) == pytest.approx(2500, abs=5)
    assert f["lower"] <= f["forecast_cost"] <= f["upper"]
    assert f["actual_cost"] == Decimal(1200)  # days 1-15: 10 weekdays, 5 weekend days
    few = forecast_ets(flat("2025-06-01", 10, 100), "2025-06")
    assert few["forecast_cost"] is None and "needs 21" in few["note"]


def test_backtest_on_a_known_series():
    s = weekly("2025-01-01", "2025-03-31")
    res = backtest(s, as_of_day=16, months=["2025-02", "2025-03"])
    got = res.set_index(["month", "method"])
    # by hand, March as of the 16th: baseline = 1,200 + (40 + 5 x 100 + 40) / 7 x 16 = 2,525.714...;
    # actual 2,500 -> APE 1.0286 %. ETS recovers the season: APE ~0.
    assert float(got.loc[("2025-03", "baseline"), "forecast_cost"]) == pytest.approx(1200 + 580 / 7 * 16)
    assert got.loc[("2025-03", "baseline"), "ape_pct"] == pytest.approx((580 / 7 * 16 - 1300) / 2500 * 100)
    assert got.loc[("2025-03", "ets"), "ape_pct"] < 0.2
    # February as of the 16th: only 46 days of history, enough for ETS; a month not fully covered is skipped
    assert set(res.month) == {"2025-02", "2025-03"}
    assert backtest(s, months=["2025-04"]).empty
    m = mape(res)
    assert m["ets"] < m["baseline"]


def test_owner_forecast_scales_the_total_by_the_direct_run_rate():
    daily = pd.DataFrame({"day": pd.date_range("2025-06-01", periods=20, freq="D", tz="UTC"), "currency": "USD",
                          "owner": "A", "cost": 100})
    sb = pd.DataFrame({"billing_period": ["2025-06"], "currency": ["USD"], "owner": ["A"],
                       "total_cost": [Decimal(2600)]})
    # by hand: direct 2,000 -> 3,000 (ratio 1.5); total with shared 2,600 x 1.5 = 3,900
    assert forecast_owners(daily, sb, "2025-06").forecast_cost.tolist() == [Decimal(3900)]
