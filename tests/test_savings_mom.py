"""Month over month: new, persisting and resolved findings, and the savings actually realized."""

from __future__ import annotations

import pandas as pd
import pytest

from finops_nb import load_charges
from finops_nb.analyses import savings as sv

HEADER = ("BillingCurrency,BillingPeriodStart,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,ServiceName,"
          "ResourceId,SubAccountId,ChargeDescription,x_UsageType,ConsumedQuantity,ConsumedUnit,ListCost,"
          "EffectiveCost,BilledCost,Tags\n")
FEB = "USD,2025-02-01,2025-02-01,2025-03-01,Usage,Amazon EC2"  # all of February: 672 h
MAR = "USD,2025-03-01,2025-03-01,2025-04-01,Usage,Amazon EC2"  # all of March: 744 h
OWNER = '"{""owner"": ""team-a""}"'

ROWS = [
    # eip-1 idle both months: persisting
    f"{FEB},eip-1,acct-1,,USE1-ElasticIP:IdleAddress,672,Hours,3.36,3.36,3.36,{OWNER}",
    f"{MAR},eip-1,acct-1,,USE1-ElasticIP:IdleAddress,744,Hours,3.72,3.72,3.72,{OWNER}",
    # nat-1 idle in February, deleted in March: resolved, realized its whole 30.24 (672 h x 0.045)
    f"{FEB},nat-1,acct-1,,USE1-NatGateway-Hours,672,Hours,30.24,30.24,30.24,",
    # vol-1: 1000 GB gp2 in February (100.00, gp3 would save 15.00); gp3 in March (80 + 125 MB/s x 0.04 = 85.00)
    f"{FEB},vol-1,acct-1,,USE1-EBS:VolumeUsage.gp2,1000,GB-Mo,100,100,100,",
    f"{MAR},vol-1,acct-1,,USE1-EBS:VolumeUsage.gp3,1000,GB-Mo,80,80,80,",
    f"{MAR},vol-1,acct-1,,USE1-EBS:VolumeP-Throughput.gp3,125,MiBps-Mo,5,5,5,",
    # eip-2 idle in March only: new
    f"{MAR},eip-2,acct-1,,USE1-ElasticIP:IdleAddress,744,Hours,3.72,3.72,3.72,",
]


@pytest.fixture
def t(tmp_path, con):
    f = tmp_path / "two-months.csv"
    f.write_text(HEADER + "\n".join(ROWS) + "\n")
    return load_charges(f, con=con).table


def test_new_persisting_resolved_and_realized(t):
    diff = sv.month_over_month(t, month="2025-03", discount=0.28, discount_source="test")
    status = diff.set_index(["check", "ResourceId"]).status.to_dict()
    assert status == {("idle Elastic IP", "eip-1"): "persisting", ("idle Elastic IP", "eip-2"): "new",
                      ("idle NAT gateway", "nat-1"): "resolved", ("EBS gp2 -> gp3", "vol-1"): "resolved"}
    realized = diff.set_index("ResourceId").realized_savings
    assert realized["nat-1"] == pytest.approx(30.24)  # gone: its whole February cost
    assert realized["vol-1"] == pytest.approx(15.0)  # 100.00 as gp2 - 85.00 as gp3
    s = sv.summarize_month_over_month(diff).set_index("status")
    assert s.findings.to_dict() == {"new": 1, "persisting": 1, "resolved": 2}
    assert s.realized_savings["resolved"] == pytest.approx(45.24)
    assert s.monthly_savings["persisting"] == pytest.approx(3.72)  # March's saving of eip-1
    assert s.monthly_savings["resolved"] == pytest.approx(30.24 + 15.0)  # what February's ledger promised
    assert diff.set_index("ResourceId").owner["eip-1"] == "team-a"


def test_no_previous_month_gives_none(t):
    assert sv.month_over_month(t, month="2025-02", discount=0.28, discount_source="test") is None


def test_a_resolved_finding_whose_cost_rose_shows_a_negative_realized_saving():
    import pandas as pd

    cols = ["currency", "check", "ResourceId", "action_kind", "owner", "monthly_cost", "monthly_savings"]
    previous = pd.DataFrame([["USD", "idle load balancer", "lb-1", "terminate", None, 10.0, 10.0]], columns=cols)
    current = pd.DataFrame(columns=cols)
    costs = pd.DataFrame({"currency": ["USD"], "ResourceId": ["lb-1"], "cost_now": [12.0]})
    diff = sv.compare_ledgers(previous, current, costs)
    # traffic arrived: no longer idle, but it costs 12.00 now: realized 10 - 12 = -2.00
    assert diff.status.tolist() == ["resolved"] and diff.realized_savings.iloc[0] == pytest.approx(-2.0)


def test_one_scan_gives_the_same_ledgers_and_comparison(t):
    # the notebook reads the bill once (charges_scan) and hands its ledger of the month to month_over_month
    kw = {"discount": 0.28, "discount_source": "test"}
    scan = sv.charges_scan(t)
    ledger = sv.build_ledger(t, month="2025-03", scan=scan, **kw)
    pd.testing.assert_frame_equal(ledger, sv.build_ledger(t, month="2025-03", **kw))
    pd.testing.assert_frame_equal(sv.month_over_month(t, month="2025-03", current=ledger, scan=scan, **kw),
                                  sv.month_over_month(t, month="2025-03", **kw))
    assert set(scan.period.execute()) == {"2025-02", "2025-03"}  # every month of the table, read once
