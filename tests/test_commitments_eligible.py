"""Eligible on-demand spend per family/region (EC2 Instance SP) and type/region/platform (RI) over a
lookback window ending at the month end, against values worked out by hand."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from finops_nb import load_charges
from finops_nb.analyses.commitments import (
    eligible_spend_by,
    eligible_spend_tables,
    hourly_eligible_spend_lookback,
    lookback_window,
)
from finops_nb.errors import ConfigError

HEADER = ("BillingCurrency,BillingPeriodStart,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,ServiceCategory,"
          "PricingCategory,PricingUnit,CommitmentDiscountId,RegionId,x_InstanceType,x_OperatingSystem,"
          "ListCost,EffectiveCost,BilledCost\n")


def row(start: str, cost: float, itype: str = "m5.large", region: str = "us-east-1", os: str = "Linux",
        unit: str = "Hours", period: str | None = None) -> str:
    s = pd.Timestamp(start)
    period = period or f"{s:%Y-%m}-01"
    end = (s + pd.Timedelta(hours=1)).isoformat()
    return (f"USD,{period},{s.isoformat()},{end},Usage,Compute,Standard,{unit},,{region},{itype},{os},"
            f"{cost},{cost},{cost}")


@pytest.fixture
def bill(tmp_path, con):
    f = tmp_path / "bill.csv"
    f.write_text(HEADER + "\n".join([
        row("2025-03-31T10:00Z", 2),                           # in 7, 30, 60 days
        row("2025-03-25T00:00Z", 32),                          # first hour of the 7-day window
        row("2025-03-24T23:00Z", 16),                          # last hour before it: 30 days, not 7
        row("2025-03-20T10:00Z", 4, itype="m5.xlarge"),        # 30 days
        row("2025-03-30T10:00Z", 1, region="us-west-2"),       # 7 days, other region
        row("2025-02-15T10:00Z", 8, itype="c5.large", os="Windows"),  # 60 days only
        row("2025-03-31T12:00Z", 0.5, itype="", unit="Lambda-GB-Second"),  # Lambda: Compute SP only
        row("2025-04-01T00:00Z", 100),                         # the month end itself: out (half-open)
    ]) + "\n")
    return load_charges(f, con=con).table


def frame(expr, keys):
    df = expr.execute()
    return {tuple(r[k] for k in keys): Decimal(r.eligible_cost) for _, r in df.iterrows()}


def test_window_is_half_open_and_ends_at_the_month_end():
    assert lookback_window("2025-03", 7) == (pd.Timestamp("2025-03-25T00:00Z"), pd.Timestamp("2025-04-01T00:00Z"))
    with pytest.raises(ConfigError, match="lookback 14 days"):
        lookback_window("2025-03", 14)


def test_ec2_instance_sp_family_region(bill):
    keys = ["family", "RegionId"]
    # 7 days: m5/us-east-1 = 2 + 32 = 34, m5/us-west-2 = 1
    assert frame(eligible_spend_by(bill, month="2025-03", lookback_days=7), keys) == {
        ("m5", "us-east-1"): 34, ("m5", "us-west-2"): 1}
    # 30 days (from 2025-03-02): m5/us-east-1 = 2 + 32 + 16 + 4 = 54
    assert frame(eligible_spend_by(bill, month="2025-03", lookback_days=30), keys) == {
        ("m5", "us-east-1"): 54, ("m5", "us-west-2"): 1}
    # 60 days (from 2025-01-30): c5 too
    got = frame(eligible_spend_by(bill, month="2025-03", lookback_days=60), keys)
    assert got[("c5", "us-east-1")] == 8 and got[("m5", "us-east-1")] == 54


def test_ri_type_region_platform(bill):
    got = frame(eligible_spend_by(bill, month="2025-03", lookback_days=30, plan="ri"),
                ["x_InstanceType", "RegionId", "x_OperatingSystem"])
    # m5.large Linux us-east-1 = 2 + 32 + 16 = 50; m5.xlarge = 4; m5.large us-west-2 = 1
    assert got == {("m5.large", "us-east-1", "Linux"): 50, ("m5.xlarge", "us-east-1", "Linux"): 4,
                   ("m5.large", "us-west-2", "Linux"): 1}


def test_compute_sp_and_hourly_lookback(bill):
    df = eligible_spend_by(bill, month="2025-03", lookback_days=7, plan="compute_sp").execute().iloc[0]
    # 2 + 32 + 1 + Lambda 0.5 = 35.5 over 7 * 24 = 168 hours
    assert Decimal(df.eligible_cost) == Decimal("35.5") and df.per_hour == pytest.approx(35.5 / 168)
    h = hourly_eligible_spend_lookback(bill, month="2025-03", lookback_days=7)
    assert len(h) == 168 and h.eligible_cost.sum() == pytest.approx(35.5)
    assert h.set_index("hour").eligible_cost[pd.Timestamp("2025-03-25T00:00Z")] == pytest.approx(32)
    h30 = hourly_eligible_spend_lookback(bill, month="2025-03", lookback_days=30)
    assert len(h30) == 720 and h30.eligible_cost.sum() == pytest.approx(55.5)  # 35.5 + 16 + 4


def test_eligible_spend_tables_from_one_read_equal_each_plan(bill):
    for days in (7, 30, 60):
        got = eligible_spend_tables(bill, month="2025-03", lookback_days=days)
        assert list(got) == ["compute_sp", "ec2_instance_sp", "ri"]
        for plan, table in got.items():
            assert table.equals(eligible_spend_by(bill, month="2025-03", lookback_days=days, plan=plan).execute())
    got = eligible_spend_tables(bill, month="2025-03", lookback_days=7, plans=["compute_sp"])["compute_sp"]
    assert Decimal(got.eligible_cost.iloc[0]) == Decimal("35.5") and got.rows.iloc[0] == 4  # Lambda included
    with pytest.raises(ConfigError, match="plan 'savings'"):
        eligible_spend_tables(bill, month="2025-03", plans=["savings"])
