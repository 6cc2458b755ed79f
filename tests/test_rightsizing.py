"""Rightsizing: compute inventory from the bill (CloudWatch percentiles: tests/test_rightsizing_metrics.py)."""

from __future__ import annotations

import pytest

from finops_nb import load_charges
from finops_nb.analyses.rightsizing import list_compute_instances

HEADER = ("BillingCurrency,BillingPeriodStart,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,ServiceCategory,"
          "ServiceName,ResourceId,ConsumedQuantity,ConsumedUnit,ChargeDescription,EffectiveCost,BilledCost\n")


def test_compute_inventory_hours_and_effective_rate(tmp_path, con):
    f = tmp_path / "bill.csv"
    rows = [f"USD,2024-09-01,2024-09-02T{h:02d}:00:00Z,2024-09-02T{h + 1:02d}:00:00Z,Usage,Compute,Amazon EC2,"
            f"i-0123456789abcdef0,1,Hours,$0.34 per On Demand Linux c5.2xlarge Instance Hour,0.30,0.34"
            for h in range(10)]
    # data transfer billed to the same instance is not instance hours
    rows.append("USD,2024-09-01,2024-09-02T00:00:00Z,2024-09-02T01:00:00Z,Usage,Compute,Amazon EC2,"
                "i-0123456789abcdef0,5,GB,$0.01 per GB data transfer,0.05,0.05")
    f.write_text(HEADER + "\n".join(rows) + "\n")
    inv = list_compute_instances(load_charges(f, con=con).table, month="2024-09").execute()
    assert len(inv) == 1
    r = inv.iloc[0]
    assert (r.instance_id, r.instance_type, float(r.hours)) == ("i-0123456789abcdef0", "c5.2xlarge", 10.0)
    assert float(r.effective_cost) == pytest.approx(3.0) and r.effective_hourly_rate == pytest.approx(0.30)
