"""Savings checks priced at the resource's effective cost; the total counts each resource once."""

from __future__ import annotations

import pandas as pd
import pytest

from finops_nb import load_charges
from finops_nb.analyses.savings import (
    build_ledger,
    find_gp2_volumes,
    find_low_cost_sprawl,
    find_uncovered_compute,
    summarize_ledger,
)

HEADER = ("BillingCurrency,BillingPeriodStart,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,ServiceName,"
          "ServiceCategory,PricingCategory,PricingUnit,ResourceId,SubAccountId,ChargeDescription,ListCost,"
          "EffectiveCost,BilledCost,Tags,ConsumedQuantity\n")


def bill(tmp_path, rows):
    f = tmp_path / "bill.csv"
    f.write_text(HEADER + "\n".join(rows) + "\n")
    return f


GP2 = ('USD,2025-03-01,2025-03-01,2025-04-01,Usage,Amazon EC2,Storage,Standard,GB-Mo,vol-1,acct-1,'
       '"$0.10 per GB-month of General Purpose SSD (gp2) provisioned storage - US East",12.50,10.00,10.00,'
       '"{""Owner"": ""team-a""}",125')
GP3 = ('USD,2025-03-01,2025-03-01,2025-04-01,Usage,Amazon EC2,Storage,Standard,GB-Mo,vol-2,acct-1,'
       '"$0.08 per GB-month of General Purpose (gp3) provisioned storage - US East",8,8,8,,100')


def test_gp2_saving_is_priced_at_the_effective_cost(tmp_path, con):
    # by hand: 125 GB all March, list 12.50 but effective 10.00 (a negotiated discount). gp3 matching gp2's
    # 128 MB/s: 125 * 0.08 + 3 * 0.04 = 10.12 vs 12.50 -> saves 1 - 10.12 / 12.5 = 19.04 % of 10.00 = 1.904
    t = load_charges(bill(tmp_path, [GP2, GP3]), con=con).table
    led = find_gp2_volumes(t, month="2025-03")
    assert list(led.ResourceId) == ["vol-1"]
    assert led.monthly_savings.iloc[0] == pytest.approx(1.904)
    assert led.owner.iloc[0] == "team-a"  # tag key 'Owner' matched by owner_tag='owner'
    assert {"basis", "effort", "risk", "SubAccountId"} <= set(led.columns)


def test_low_cost_sprawl_needs_enough_cheap_resources(tmp_path, con):
    rows = [f"USD,2025-03-01,2025-03-02,2025-03-03,Usage,Amazon SQS,Integration,Standard,Requests,q-{i},acct-1,,"
            f"0.10,0.10,0.10,," for i in range(10)]
    rows.append("USD,2025-03-01,2025-03-02,2025-03-03,Usage,Amazon SQS,Integration,Standard,Requests,q-big,acct-1,,"
                "5,5,5,,")
    t = load_charges(bill(tmp_path, rows), con=con).table
    led = find_low_cost_sprawl(t, month="2025-03", max_cost=1.0, min_resources=10)
    assert len(led) == 10 and led.monthly_savings.sum() == pytest.approx(1.0)
    assert find_low_cost_sprawl(t, month="2025-03", max_cost=1.0, min_resources=11).empty


def test_a_resource_in_two_checks_is_counted_once(tmp_path, con):
    rows = [GP2] + [f"USD,2025-03-01,2025-03-02,2025-03-03,Usage,Amazon EC2,Storage,Standard,GB-Mo,vol-s{i},acct-1,,"
                    f"0.5,0.5,0.5,," for i in range(9)]
    t = load_charges(bill(tmp_path, rows), con=con).table
    ledger = build_ledger(t, month="2025-03", discount=0.28, discount_source="test", owner_tag="owner")
    # vol-1 (10.00) is not cheap by default; a sprawl threshold of 20 flags it in a second check too
    sprawl = find_low_cost_sprawl(t, month="2025-03", max_cost=20, min_resources=10)
    union = pd.concat([ledger, sprawl], ignore_index=True)
    s = summarize_ledger(union).set_index("check")
    # by hand: gp2 saves 1.904 on vol-1; sprawl "saves" (deletes) 10.00 on vol-1 and 0.5 on each of 9 others.
    # Summing checks gives 1.904 + 14.5 = 16.404; counting vol-1 once (delete supersedes) gives 10 + 4.5 = 14.5.
    assert s.loc["EBS gp2 -> gp3", "monthly_savings"] == pytest.approx(1.904)
    assert s.loc["low-cost, high-count resources", "monthly_savings"] == pytest.approx(14.5)
    assert s.loc["all checks (each resource once)", "monthly_savings"] == pytest.approx(14.5)
    assert s.loc["all checks (each resource once)", "findings"] == 10


def hourly_rows(hours: range, resource: str, cost: float) -> list[str]:
    start = pd.Timestamp("2025-03-01T00:00Z")
    return [f"USD,2025-03-01,{(start + pd.Timedelta(hours=h)).isoformat()},"
            f"{(start + pd.Timedelta(hours=h + 1)).isoformat()},Usage,Amazon EC2,Compute,Standard,Hours,"
            f"{resource},acct-1,,{cost},{cost},{cost},," for h in hours]


def test_uncovered_compute_is_sized_on_hourly_spend(tmp_path, con):
    # vm-1 runs 72 of March's 744 hours at 1.00/h, vm-2 one hour at 10.00. With d = 0.3 every commitment
    # C > 0 loses: S(C) = sum_h min(E_h, C / 0.7) - 744 C <= 73 C / 0.7 - 744 C < 0. No row.
    t = load_charges(bill(tmp_path, hourly_rows(range(72), "vm-1", 1) + hourly_rows(range(100, 101), "vm-2", 10)),
                     con=con).table
    assert find_uncovered_compute(t, month="2025-03", discount=0.3, discount_source="test").empty
    # vm-1 every hour of March at 1.00/h: C = 0.70/h covers it all and saves 744 * (1 - 0.7) = 223.2
    t = load_charges(bill(tmp_path, hourly_rows(range(744), "vm-1", 1)), con=con).table
    row = find_uncovered_compute(t, month="2025-03", discount=0.3, discount_source="test").iloc[0]
    assert row.commitment_per_hour == pytest.approx(0.7) and row.monthly_savings == pytest.approx(223.2)
    assert row.utilization_pct == pytest.approx(100.0) and row.monthly_cost == pytest.approx(744.0)
