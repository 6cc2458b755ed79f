"""Rightsizing: compute inventory from the bill, CPU percentiles from a real (moto) CloudWatch endpoint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pandas as pd
import pytest

from finops_nb import load_charges
from finops_nb.analyses.rightsizing import list_compute_instances, summarize_cpu
from finops_nb.sources.cloudwatch import read_cpu_maxima

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


def test_cpu_percentiles_hand_worked():
    # values 1..100: p50 = 50.5, p95 = 95 + 0.05 * (96 - 95) = 95.05, p99 = 99.01, max = 100 (linear interpolation)
    samples = pd.DataFrame({"instance_id": "i-1", "value": range(1, 101)})
    s = summarize_cpu(samples).iloc[0]
    assert (s.datapoints, s.cpu_p50_pct, s.cpu_p95_pct, s.cpu_p99_pct, s.cpu_max_pct) == (
        100, pytest.approx(50.5), pytest.approx(95.05), pytest.approx(99.01), 100)


def test_cpu_maxima_from_cloudwatch_on_moto(aws_env):
    start = datetime(2024, 9, 1, tzinfo=UTC)
    cw = boto3.client("cloudwatch", region_name="us-east-1")
    for instance, offset in (("i-0aaaaaaaaaaaaaaa1", 0), ("i-0bbbbbbbbbbbbbbb2", 1000)):
        data = [{"MetricName": "CPUUtilization", "Dimensions": [{"Name": "InstanceId", "Value": instance}],
                 "Timestamp": start + timedelta(minutes=5 * k), "Value": float(k + 1 + offset), "Unit": "Percent"}
                for k in range(100)]
        for i in range(0, 100, 20):
            cw.put_metric_data(Namespace="AWS/EC2", MetricData=data[i:i + 20])
    samples, status = read_cpu_maxima(["i-0aaaaaaaaaaaaaaa1", "i-0bbbbbbbbbbbbbbb2", "i-0cccccccccccccc3"],
                                      start, start + timedelta(days=30), mode="auto")
    assert status == "CloudWatch read."
    cpu = summarize_cpu(samples).set_index("instance_id")
    assert list(cpu.index) == ["i-0aaaaaaaaaaaaaaa1", "i-0bbbbbbbbbbbbbbb2"]  # no datapoints, no row
    assert cpu.loc["i-0aaaaaaaaaaaaaaa1", "datapoints"] == 100
    assert cpu.loc["i-0aaaaaaaaaaaaaaa1", "cpu_p95_pct"] == pytest.approx(95.05)
    assert cpu.loc["i-0bbbbbbbbbbbbbbb2", "cpu_max_pct"] == pytest.approx(1100.0)


def test_without_credentials_the_notebook_is_told_what_to_grant(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.aws files
    samples, status = read_cpu_maxima(["i-0aaaaaaaaaaaaaaa1"], datetime(2024, 9, 1, tzinfo=UTC),
                                      datetime(2024, 10, 1, tzinfo=UTC), mode="auto")
    assert samples is None
    assert "cloudwatch:GetMetricData" in status and "CPUUtilization" in status
