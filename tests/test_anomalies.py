"""Anomalies over a trailing 14-day median + MAD, their contributors, and AWS Cost Anomaly Detection (Stubber)."""

from __future__ import annotations

import pandas as pd
import pytest

from finops_nb import load_charges
from finops_nb.analyses.anomalies import daily_cost, describe_anomalies, detect_anomalies, top_contributors


def series(values, *, service="Amazon EC2", account="111"):
    days = pd.date_range("2025-03-01", periods=len(values), freq="D", tz="UTC")
    return pd.DataFrame({"day": days, "currency": "USD", "ServiceName": service, "SubAccountId": account,
                         "cost": values})


@pytest.mark.parametrize("base, last, anomaly, impact", [
    (100, 160, True, 60),    # median 100, MAD 0: threshold 100 + max(0, 20) = 120 < 160, impact 60 >= 10
    (100, 115, False, 15),   # 115 <= 120
    (10, 125, True, 115),    # threshold 10 + max(0, 2) = 12 < 125, impact 115
    (10, 19, False, 9),      # 19 > 12 but impact 9 < 10
])
def test_worked_values_of_the_issue(base, last, anomaly, impact):
    got = detect_anomalies(series([base] * 14 + [last]), all_days=True)
    assert len(got) == 1  # the first 14 days have no full window
    assert got.impact.iloc[0] == pytest.approx(impact)
    assert bool(got.is_anomaly.iloc[0]) is anomaly
    assert len(detect_anomalies(series([base] * 14 + [last]))) == int(anomaly)


def test_mad_widens_the_threshold_on_a_noisy_series():
    # by hand: window 90,110 x 7 -> median 100, |dev| all 10 -> MAD 10; 3 x 1.4826 x 10 = 44.478 > 20
    # threshold 144.478: 140 is not an anomaly, 150 is (impact 50)
    base = [90, 110] * 7
    got = detect_anomalies(series(base + [140]), all_days=True)
    assert got.threshold.iloc[0] == pytest.approx(144.478) and not got.is_anomaly.iloc[0]
    assert detect_anomalies(series(base + [150])).impact.tolist() == [pytest.approx(50)]
    # parameters: pct 0 and k 1 -> threshold 100 + 14.826; 140 is one
    assert len(detect_anomalies(series(base + [140]), mad_k=1, pct=0)) == 1


def test_missing_days_count_as_zero_and_groups_are_apart():
    # group B has cost only on day 15: its window is 14 zeros, median 0, threshold 0, impact 50 -> an anomaly
    a = series([100] * 15)
    b = series([50], account="222")
    b["day"] = a.day.iloc[14]
    got = detect_anomalies(pd.concat([a, b]))
    assert got.SubAccountId.tolist() == ["222"] and got.impact.tolist() == [50]


HEADER = ("BillingCurrency,BillingPeriodStart,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,ServiceName,"
          "ResourceId,SubAccountId,x_UsageType,EffectiveCost,BilledCost,Tags\n")


def test_contributors_of_a_spike(tmp_path, con):
    rows = []
    for d in range(1, 16):
        day = f"2025-03-{d:02d}"
        rows.append(f"USD,2025-03-01,{day},{day},Usage,Amazon EC2,i-1,111,BoxUsage:m5.large,100,100,"
                    '"{""team"": ""web""}"')
    # day 15 also has a NAT gateway spike of 60 in the same (service, account)
    rows.append("USD,2025-03-01,2025-03-15,2025-03-15,Usage,Amazon EC2,nat-1,111,NatGateway-Bytes,60,60,")
    f = tmp_path / "bill.csv"
    f.write_text(HEADER + "\n".join(rows) + "\n")
    t = load_charges(f, con=con).table
    found = detect_anomalies(daily_cost(t).execute())
    # by hand: 14 days at 100, then 160 -> impact 60
    assert found.impact.tolist() == [60] and found.day.iloc[0] == pd.Timestamp("2025-03-15", tz="UTC")
    described = describe_anomalies(t, found)
    # by hand: NatGateway-Bytes 60 on the day vs 0 before (+60); BoxUsage 100 vs 1400/14 = 100 (+0, not listed)
    assert described.top_usage_types.iloc[0] == "NatGateway-Bytes (+60.00)"
    assert described.top_resources.iloc[0] == "nat-1 (+60.00)"
    by_owner = detect_anomalies(daily_cost(t, ["owner"], rules=[{"tag": "team"}]).execute(), ["owner"])
    assert by_owner.owner.tolist() == ["unallocated"] and by_owner.impact.tolist() == [60]


def test_described_in_one_scan_as_one_anomaly_at_a_time(con):
    # describe_anomalies joins every window at once; each anomaly's text must be what top_contributors gives it
    t = load_charges(con=con).table
    found = detect_anomalies(daily_cost(t).execute(), window=3, mad_k=0, pct=0, min_impact=0).head(6)
    assert len(found) == 6
    described = describe_anomalies(t, found, window=3)
    for (_, a), got in zip(found.iterrows(), described.itertuples(), strict=True):
        c = top_contributors(t, a, window=3)
        assert got.top_usage_types == "; ".join(f"{r.key} (+{r.delta:,.2f})" for r in c["usage_types"].itertuples()
                                                if r.delta > 0)
        assert got.top_resources == "; ".join(f"{r.key} (+{r.delta:,.2f})" for r in c["resources"].itertuples()
                                              if r.delta > 0 and pd.notna(r.key))
    assert any(described.top_usage_types)  # something was found to compare


def test_aws_cost_anomaly_detection_pages(aws_env):
    import boto3
    from botocore.stub import Stubber

    from finops_nb.sources.aws import client
    from finops_nb.sources.cost_anomalies import fetch_anomalies

    ce = client("ce", boto3.Session())
    stub = Stubber(ce)
    anomaly = {  # documented shape: API_GetAnomalies.html / API_Anomaly.html
        "AnomalyId": "a-1", "AnomalyStartDate": "2025-03-15", "AnomalyEndDate": "2025-03-15",
        "DimensionValue": "Amazon Elastic Compute Cloud - Compute",
        "RootCauses": [{"Service": "Amazon EC2", "Region": "us-east-1", "LinkedAccount": "111",
                        "UsageType": "NatGateway-Bytes", "Impact": {"Contribution": 55.0}},
                       {"Service": "Amazon EC2", "LinkedAccount": "111", "UsageType": "BoxUsage",
                        "Impact": {"Contribution": 5.0}}],
        "AnomalyScore": {"MaxScore": 0.9, "CurrentScore": 0.8},
        "Impact": {"MaxImpact": 60.0, "TotalImpact": 60.0, "TotalActualSpend": 160.0, "TotalExpectedSpend": 100.0},
        "MonitorArn": "arn:aws:ce::123456789012:anomalymonitor/m-1"}
    interval = {"StartDate": "2025-03-01", "EndDate": "2025-04-01"}
    stub.add_response("get_anomalies", {"Anomalies": [anomaly], "NextPageToken": "p2"}, {"DateInterval": interval})
    stub.add_response("get_anomalies", {"Anomalies": [dict(anomaly, AnomalyId="a-2")]},
                      {"DateInterval": interval, "NextPageToken": "p2"})
    with stub:
        got = fetch_anomalies("2025-03-01", "2025-04-01", ce_client=ce)
    stub.assert_no_pending_responses()
    assert got.anomaly_id.tolist() == ["a-1", "a-2"]
    assert got.total_impact.tolist() == [60.0, 60.0]
    assert got.root_causes.iloc[0] == ("Amazon EC2 / 111 / NatGateway-Bytes (+55.00); "
                                       "Amazon EC2 / 111 / BoxUsage (+5.00)")


def test_cli_anomalies_json(tmp_path, capsys):
    import json

    from finops_nb.cli import main

    rows = [f"USD,2025-03-01,2025-03-{d:02d},2025-03-{d:02d},Usage,Amazon EC2,i-1,111,BoxUsage,"
            f"{160 if d == 15 else 100},0," for d in range(1, 16)]
    f = tmp_path / "bill.csv"
    f.write_text(HEADER + "\n".join(rows) + "\n")
    assert main(["anomalies", "--data", str(f), "--month", "2025-03", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    # by hand: 14 days at 100, then 160 -> one anomaly on March 15, impact 60, driven by BoxUsage (+60)
    assert [(a["day"], a["impact"]) for a in got] == [("2025-03-15", 60.0)]
    assert got[0]["top_usage_types"] == "BoxUsage (+60.00)"
    assert main(["anomalies", "--data", str(f), "--month", "2025-03", "--json", "--min-impact", "61"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["anomalies", "--data", str(f), "--month", "2025-03", "--window", "1"]) == 2
