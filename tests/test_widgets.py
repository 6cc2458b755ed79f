"""The apps' widget logic in the kernel (the browser tests drive the same classes through Voila)."""

from __future__ import annotations

import pandas as pd
import pytest

from finops_nb import load_charges
from finops_nb.widgets import CommitmentSimulator, CostExplorer


def steady_bill(tmp_path):
    """Every hour of March 2025 at 1.00 on demand: the best commitment at 28 % off is 0.72/h."""
    start = pd.Timestamp("2025-03-01T00:00Z")
    rows = [f"USD,2025-03-01,{(start + pd.Timedelta(hours=h)).isoformat()},"
            f"{(start + pd.Timedelta(hours=h + 1)).isoformat()},Usage,Compute,Standard,Hours,1,1,1"
            for h in range(744)]
    f = tmp_path / "bill.csv"
    f.write_text("BillingCurrency,BillingPeriodStart,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,"
                 "ServiceCategory,PricingCategory,PricingUnit,ListCost,EffectiveCost,BilledCost\n" + "\n".join(rows))
    return load_charges(f)


def test_simulator_opens_on_a_positive_best_commitment(tmp_path):
    sim = CommitmentSimulator(steady_bill(tmp_path))
    assert sim.commitment.value == pytest.approx(0.72)
    assert "0.7200 USD/h" in sim.stats.value and "208.3200 USD" in sim.stats.value  # 744 * (1 - 0.72)


def test_a_tag_key_change_queries_once():
    app = CostExplorer(load_charges("sample"))
    calls = []
    original = app.frame
    app.frame = lambda: calls.append(1) or original()
    app.tag_key.value = "environment"
    app.tag_value.value = "dev"
    calls.clear()
    app.tag_key.value = "application"
    assert len(calls) == 1
