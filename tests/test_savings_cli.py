"""``finops-nb savings`` through cli.main: totals counted once beside the naive sum, JSON, CSV, per-owner lists."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from finops_nb.cli import main

HEADER = ("BillingCurrency,BillingPeriodStart,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,ServiceName,"
          "ResourceId,SubAccountId,ChargeDescription,x_UsageType,ConsumedQuantity,ConsumedUnit,ListCost,"
          "EffectiveCost,BilledCost,PricingCategory,Tags\n")
MAR = "USD,2025-03-01,2025-03-01,2025-04-01,Usage,Amazon EC2"
A = '"{""owner"": ""team-a""}"'
B = '"{""owner"": ""team b"", ""aws:autoscaling:groupName"": ""web""}"'
ROWS = [
    f"{MAR},eip-1,acct-1,,USE1-ElasticIP:IdleAddress,744,Hours,3.72,3.72,3.72,Standard,{A}",  # idle: 3.72
    f"{MAR},nat-1,acct-1,,USE1-NatGateway-Hours,744,Hours,33.48,33.48,33.48,Standard,",  # idle, no owner: 33.48
    f"{MAR},vol-1,acct-1,,USE1-EBS:VolumeUsage.gp2,1000,GB-Mo,100,100,100,Standard,{A}",  # gp3 saves 15.00
    # m5.large in an Auto Scaling group: Graviton 1.90, then Spot 70 % (the bill's own) of the remaining 7.70
    f'{MAR},i-asg,acct-1,"$0.096 per On Demand Linux m5.large Instance Hour",,100,Hours,9.6,9.6,9.6,Standard,{B}',
    f"{MAR},i-spot,acct-1,,USE1-SpotUsage:m5.large,100,Hours,9.6,2.88,2.88,Dynamic,",
]


@pytest.fixture
def data(tmp_path):
    f = tmp_path / "bill.csv"
    f.write_text(HEADER + "\n".join(ROWS) + "\n")
    return str(f)


def test_json_totals_once_beside_naive(data, capsys):
    assert main(["savings", "--data", data, "--month", "2025-03", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    once = next(r for r in doc["totals"] if r["check"] == "all checks (each resource once)")
    # by hand: 3.72 + 33.48 + 15.00 + (1.90 + 6.72 x 7.70 / 9.60 = 7.29) = 59.49; naive 3.72 + 33.48 + 15 + 1.9
    # + 6.72 = 60.82
    assert once["monthly_savings"] == pytest.approx(59.49) and once["naive_monthly_savings"] == pytest.approx(60.82)
    assert once["findings"] == 4  # resources
    assert len(doc["findings"]) == 5 and doc["billing_period"] == "2025-03"
    assert {f["check"] for f in doc["findings"]} >= {"idle Elastic IP", "idle NAT gateway", "EBS gp2 -> gp3"}


def test_csv_and_one_action_list_per_owner(data, tmp_path, capsys):
    out, owners = tmp_path / "ledger.csv", tmp_path / "owners"
    assert main(["savings", "--data", data, "--month", "2025-03", "--csv", str(out), "--owner-dir", str(owners)]) == 0
    text = capsys.readouterr().out
    assert "5 findings written" in text and "naive sum 60.8200" in text
    ledger = pd.read_csv(out)
    assert len(ledger) == 5 and ledger.monthly_savings.sum() == pytest.approx(60.82)
    files = sorted(p.name for p in owners.iterdir())
    assert files == ["savings-2025-03-no-owner.csv", "savings-2025-03-team-a.csv", "savings-2025-03-team_b.csv"]
    assert pd.read_csv(owners / "savings-2025-03-team-a.csv").monthly_savings.sum() == pytest.approx(18.72)


def test_bad_input_exits_2(data, capsys):
    assert main(["savings", "--data", data, "--month", "2025-13"]) == 2
    assert main(["savings", "--data", data, "--month", "2025-05"]) == 2
    assert "no charges in billing period 2025-05" in capsys.readouterr().err
    assert main(["savings", "--data", data, "--month", "2025-03", "--spot-discount", "1.5"]) == 2


def test_sample_runs(capsys):
    assert main(["savings", "--month", "2024-09"]) == 0
    assert "all checks (each resource once)" in capsys.readouterr().out
