"""Commitment simulator and hourly eligible spend, against values worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from finops_nb import load_charges
from finops_nb.analyses.commitments import (
    best_commitment,
    commitment_grid,
    hourly_eligible_spend,
    observed_discount,
    optimal_commitment,
    simulate_commitment,
)

# Four hours of on-demand spend and a 30 % discount. By hand, C = 2.8/h covers up to 2.8 / 0.7 = 4 per hour:
# covered = 4 + 4 + 0 + 4 = 12, cost = 2.8 * 4 + (10-4) + (10-4) + 0 + 0 = 23.2, savings = 24 - 23.2 = 0.8,
# utilization = 12 * 0.7 / (2.8 * 4) = 75 %, coverage = 12 / 24 = 50 %.
# C = 3.5 covers 5/h: cost = 14 + 5 + 5 = 24, savings 0. C = 7 covers 10/h: cost 28, savings -4.
SPEND = [10.0, 10.0, 0.0, 4.0]


def test_simulate_commitment_hand_worked():
    curve = simulate_commitment(SPEND, [0.0, 2.8, 3.5, 7.0], discount=0.3).set_index("commitment_per_hour")
    assert curve.loc[2.8, "cost_with_commitment"] == pytest.approx(23.2)
    assert curve.loc[2.8, "savings"] == pytest.approx(0.8)
    assert curve.loc[2.8, "utilization_pct"] == pytest.approx(75.0)
    assert curve.loc[2.8, "coverage_pct"] == pytest.approx(50.0)
    assert curve.loc[3.5, "savings"] == pytest.approx(0.0)
    assert curve.loc[7.0, "savings"] == pytest.approx(-4.0)
    assert curve.loc[0.0, "savings"] == 0 and pd.isna(curve.loc[0.0, "utilization_pct"])
    assert curve.loc[2.8, "break_even_utilization_pct"] == pytest.approx(70.0)
    assert best_commitment(curve.reset_index()).commitment_per_hour == 2.8


def test_simulate_rejects_a_discount_of_one():
    with pytest.raises(ValueError):
        simulate_commitment(SPEND, [1.0], discount=1.0)


HEADER = ("BillingCurrency,BillingPeriodStart,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,ServiceCategory,"
          "PricingCategory,PricingUnit,CommitmentDiscountId,ListCost,EffectiveCost,BilledCost\n")


def test_hourly_eligible_spend_spreads_daily_rows_and_keeps_only_on_demand_compute(tmp_path, con):
    f = tmp_path / "bill.csv"
    f.write_text(HEADER + "\n".join([
        # hourly on-demand compute: counted in its hour
        "USD,2025-02-01,2025-02-03T05:00:00Z,2025-02-03T06:00:00Z,Usage,Compute,Standard,Hours,,2,2,2",
        # a daily row of 24 spread evenly: 1 per hour on 2025-02-04
        "USD,2025-02-01,2025-02-04T00:00:00Z,2025-02-05T00:00:00Z,Usage,Compute,Standard,Hours,,24,24,24",
        # not eligible: spot, covered, data transfer, storage
        "USD,2025-02-01,2025-02-03T05:00:00Z,2025-02-03T06:00:00Z,Usage,Compute,Dynamic,Hours,,9,9,9",
        "USD,2025-02-01,2025-02-03T05:00:00Z,2025-02-03T06:00:00Z,Usage,Compute,Committed,Hours,sp-1,9,6,0",
        "USD,2025-02-01,2025-02-03T05:00:00Z,2025-02-03T06:00:00Z,Usage,Compute,Standard,GB,,9,9,9",
        "USD,2025-02-01,2025-02-03T05:00:00Z,2025-02-03T06:00:00Z,Usage,Storage,Standard,GB-Mo,,9,9,9",
    ]) + "\n")
    t = load_charges(f, con=con).table
    h = hourly_eligible_spend(t, month="2025-02").set_index("hour")
    assert len(h) == 28 * 24  # every hour of February, zeros included
    assert h.eligible_cost.sum() == pytest.approx(26.0)
    assert h.loc[pd.Timestamp("2025-02-03T05:00Z"), "eligible_cost"] == pytest.approx(2.0)
    assert h.loc[pd.Timestamp("2025-02-04T13:00Z"), "eligible_cost"] == pytest.approx(1.0)
    # the bill's own committed usage: 1 - 6 / 9 = 33.3 %
    d, source = observed_discount(t, month="2025-02")
    assert d == pytest.approx(1 / 3) and "observed" in source


def test_optimal_commitment_is_exact_not_on_a_grid():
    # 672 hours at 1.0 and one more hour at 11.0, d = 0.3. S(C) grows by 672 * C * (1/0.7 - 1) up to
    # C = 0.7 (covering 1.0 per hour), then falls: the best is C = 0.7, S = 672 * 1.0 + ... by hand:
    # covered = 673 * 1.0 = 673, cost of C = 0.7 * 673 = 471.1, savings = 673 - 471.1 = 201.9.
    spend = [1.0] * 672 + [11.0]
    best = optimal_commitment(spend, discount=0.3)
    assert best.commitment_per_hour == pytest.approx(0.7)
    assert best.savings == pytest.approx(201.9)
    grid = simulate_commitment(spend, commitment_grid(spend, discount=0.3, steps=50), discount=0.3)
    assert grid.savings.max() < best.savings  # a 50-step grid misses the optimum
    assert optimal_commitment([0.0, 0.0], discount=0.3).commitment_per_hour == 0
    assert optimal_commitment([5.0], discount=0.3).savings == pytest.approx(1.5)  # one hour fully covered
