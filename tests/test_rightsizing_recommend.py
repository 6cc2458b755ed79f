"""The issue's worked rightsizing values, with CloudWatch series written by put_metric_data to moto's server
(so the percentiles are known) and read back over HTTP; prices from the bill, else the dated snapshot."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from finops_nb import load_charges
from finops_nb.analyses.rightsizing import label_risk, score_risk
from finops_nb.cli import main
from finops_nb.commands.rightsizing import collect_rightsizing

IID = "i-0123456789abcdef0"
HEADER = ("BillingCurrency,BillingPeriodStart,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,ServiceCategory,"
          "ServiceName,ResourceId,RegionId,PricingCategory,ConsumedQuantity,ConsumedUnit,ChargeDescription,"
          "ListUnitPrice,EffectiveCost,BilledCost\n")


def write_bill(path, effective: float, category: str = "Standard", iid: str = IID):
    """Ten hours of an m5.2xlarge in us-east-1 at $0.384/h on demand, at ``effective`` per hour."""
    rows = [f"USD,2024-09-01,2024-09-20T{h:02d}:00:00Z,2024-09-20T{h + 1:02d}:00:00Z,Usage,Compute,Amazon EC2,"
            f"{iid},us-east-1,{category},1,Hours,$0.384 per On Demand Linux m5.2xlarge Instance Hour,0.384,"
            f"{effective},{effective if category == 'Standard' else 0}" for h in range(10)]
    path.write_text(HEADER + "\n".join(rows) + "\n")
    return path


def put(iid: str, namespace: str, metric: str, values: list[float], step=timedelta(minutes=5)):
    cw = boto3.client("cloudwatch", region_name="us-east-1")
    start = datetime(2024, 9, 20, tzinfo=UTC)
    data = [{"MetricName": metric, "Dimensions": [{"Name": "InstanceId", "Value": iid}],
             "Timestamp": start + step * k, "Value": float(v)} for k, v in enumerate(values)]
    for i in range(0, len(data), 20):
        cw.put_metric_data(Namespace=namespace, MetricData=data[i:i + 20])


def put_worked_metrics(iid: str = IID, memory: bool = True):
    # 101 five-minute maxima; sorted, p99 sits exactly on rank 99 (0.99 x 100): CPU 99 x 10 %, 20 %, 25 %
    # -> p99 20 %, max 25 %; memory 100 x 30 %, 35 % -> p99 30 %, max 35 %
    put(iid, "AWS/EC2", "CPUUtilization", [10.0] * 99 + [20.0, 25.0])
    if memory:
        put(iid, "CWAgent", "mem_used_percent", [30.0] * 100 + [35.0])
    put(iid, "AWS/EC2", "NetworkIn", [50e6] * 24, step=timedelta(hours=1))  # 1.2 GB a day: not idle
    put(iid, "AWS/EC2", "NetworkOut", [10e6] * 24, step=timedelta(hours=1))


def recommend(tmp_path, con, effective=0.384, category="Standard", iid=IID):
    t = load_charges(write_bill(tmp_path / "bill.csv", effective, category, iid), con=con).table
    return collect_rightsizing(t, "2024-09", lookback_days=14, percentile=99, headroom_pct=20)


def test_worked_m5_2xlarge_to_m5_xlarge_and_graviton(tmp_path, con, aws_env):
    put_worked_metrics()
    r = recommend(tmp_path, con)
    assert r.missing_metrics == ["AWS/EC2 EBSReadOps", "AWS/EC2 EBSWriteOps"]
    rec = r.recommendations.set_index("instance_id").loc[IID]
    # need 8 x 0.20 x 1.2 = 1.92 vCPU and 32 x 0.30 x 1.2 = 11.52 GiB: m5.large (8 GiB) does not fit
    assert (rec.vcpu_needed, rec.memory_needed_gib) == (pytest.approx(1.92), pytest.approx(11.52))
    assert (rec.finding, rec.recommended_type, rec.family_type) == ("Over-provisioned", "m5.xlarge", "m5.xlarge")
    # (0.384 - 0.192) x 730 = 140.16; the current price is the bill's, the target's the snapshot's
    assert rec.savings_monthly == pytest.approx(140.16) and rec.price_source == "bill"
    assert rec.family_price_source.startswith("snapshot 2026-12-03")
    # Graviton m6g.xlarge at $0.154: (0.384 - 0.154) x 730 = 167.90
    assert (rec.graviton_type, rec.graviton_savings_monthly) == ("m6g.xlarge", pytest.approx(167.90))
    # on m5.xlarge: p99 1.6 of 4 vCPU (0.4), 9.6 of 16 GiB (0.6) -> 3 x 0.6 = 1.8; peaks 2 vCPU, 11.2 GiB fit
    assert (rec.risk_score, rec.risk) == (1.8, "low") and rec.memory_measured
    # across families (same architecture, not burstable): r5.large 2 vCPU 16 GiB at $0.126 is the cheapest fit
    assert (rec.across_type, rec.across_savings_monthly) == ("r5.large", pytest.approx((0.384 - 0.126) * 730))


def test_under_a_savings_plan_the_saving_is_at_its_rate(tmp_path, con, aws_env):
    iid = "i-0123456789abcdef1"
    put_worked_metrics(iid)
    # 30 % off: effective 0.2688/h; (0.384 - 0.192) x 730 x 0.2688 / 0.384 = 140.16 x 0.7 = 98.112
    rec = recommend(tmp_path, con, effective=0.2688, category="Committed", iid=iid).recommendations.iloc[0]
    assert rec.recommended_type == "m5.xlarge" and rec.savings_monthly == pytest.approx(98.11)


def test_without_memory_the_cpu_only_answer_is_m5_large_with_more_risk(tmp_path, con, aws_env):
    iid = "i-0123456789abcdef2"
    put_worked_metrics(iid, memory=False)
    r = recommend(tmp_path, con, iid=iid)
    rec = r.recommendations.iloc[0]
    assert "AWS/EC2 CWAgent mem_used_percent" not in r.missing_metrics
    assert "CWAgent mem_used_percent" in r.missing_metrics
    assert (rec.recommended_type, rec.savings_monthly) == ("m5.large", pytest.approx((0.384 - 0.096) * 730))
    # on m5.large: p99 1.6 of 2 vCPU -> 3 x 0.8 = 2.4; peak 2 vCPU = capacity (no +1); memory not measured +1
    assert (rec.risk_score, rec.risk) == (3.4, "high") and rec.risk_score > 1.8
    assert "memory not measured" in rec.note


def test_idle_needs_quiet_cpu_and_network_every_day(tmp_path, con, aws_env):
    iid = "i-0123456789abcdef3"
    put(iid, "AWS/EC2", "CPUUtilization", [2.0] * 288 + [3.0] * 288)  # two days, daily means 2 and 3 %
    put(iid, "AWS/EC2", "NetworkIn", [0.1e6] * 48, step=timedelta(hours=1))  # 2.4 MB a day
    rec = recommend(tmp_path, con, iid=iid).recommendations.iloc[0]
    # stopped: 0.384 x 730 = 280.32 a month
    assert (rec.finding, rec.savings_monthly) == ("Idle", pytest.approx(280.32))
    assert "Trusted Advisor" in rec.note


def test_risk_score_and_labels():
    # u = max(0.5, 0.9) = 0.9 -> 2.7; memory peak 1.2 > 1 -> +1; measured -> 3.7 "high"
    assert score_risk({"vcpu": 1, "memory_gib": 9}, {"vcpu": 1.5, "memory_gib": 12}, {"vcpu": 2, "memory_gib": 10},
                      True) == 3.7
    assert [label_risk(s) for s in (0.5, 1.8, 2.5, 3.4, 4.4)] == ["very low", "low", "medium", "high", "very high"]


def test_cli_json_on_moto(tmp_path, aws_env, capsys):
    iid = "i-0123456789abcdef4"
    put_worked_metrics(iid)
    bill = write_bill(tmp_path / "bill.csv", 0.384, iid=iid)
    assert main(["rightsizing", "--data", str(bill), "--month", "2024-09", "--lookback", "14", "--percentile", "99",
                 "--headroom", "20", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    rec = doc["recommendations"][0]
    assert (rec["recommended_type"], rec["savings_monthly"], rec["graviton_type"], rec["graviton_savings_monthly"]) \
        == ("m5.xlarge", 140.16, "m6g.xlarge", 167.9)
    assert doc["window_start"].startswith("2024-09-17") and doc["period_seconds"] == 300


def test_cli_on_the_shipped_sample_without_credentials(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert main(["rightsizing", "--month", "2024-09"]) == 0
    out = capsys.readouterr().out
    assert "CloudWatch was not read" in out and "CPUUtilization" in out and "mem_used_percent" in out
    assert "Metrics missing: all CloudWatch metrics" in out and "No metrics" in out
    assert main(["rightsizing", "--month", "2024-09", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["missing_metrics"] == ["all CloudWatch metrics"]
    assert {r["finding"] for r in doc["recommendations"]} <= {"No metrics", "Unknown type"}
    # cost side still there: the sample's c5.2xlarge in us-east-1 at its billed $0.34/h
    row = next(r for r in doc["recommendations"] if r["instance_id"] == "i-081360af1l266l589")
    assert (row["instance_type"], row["on_demand_hourly_usd"], row["price_source"]) == ("c5.2xlarge", 0.34, "bill")


def test_bad_parameters_exit_2(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert main(["rightsizing", "--month", "2024-09", "--percentile", "0"]) == 2


def test_utilization_chart_marks_the_percentile():
    import pandas as pd
    import vl_convert as vlc

    from finops_nb.charts import utilization_chart

    samples = pd.DataFrame({"instance_id": IID, "metric": ["cpu"] * 101 + ["mem"] * 101,
                            "value": [10.0] * 99 + [20.0, 25.0] + [30.0] * 100 + [35.0]})
    chart = utilization_chart(samples, instances=[IID], percentile=99)
    ticks = pd.DataFrame(chart.layer[1].data).set_index("metric").p
    assert ticks.to_dict() == {"CPU %": pytest.approx(20.0), "memory %": pytest.approx(30.0)}  # the worked p99s
    assert "<svg" in vlc.vegalite_to_svg(chart.to_json())


def test_only_the_smallest_fitting_size_of_each_family_is_priced():
    from finops_nb.analyses.rightsizing import list_candidate_types, size_need
    from finops_nb.catalog.instance_types import load_instance_types

    need = size_need(8, 32, 20, 30, 20)
    assert need == (pytest.approx(1.92), pytest.approx(11.52))
    cands = list_candidate_types(load_instance_types(), ["m5.2xlarge"], target_families=["m5", "r5"], needs=[need])
    # m5: xlarge (4 vCPU, 16 GiB) is the smallest that covers 1.92 vCPU / 11.52 GiB; r5.large (2, 16);
    # Graviton m-class: m6g.xlarge, m7g.xlarge ...; the current type is always priced
    assert {"m5.xlarge", "r5.large", "m6g.xlarge", "m7g.xlarge", "m5.2xlarge"} <= set(cands)
    assert not {"m5.large", "m5.4xlarge", "r5.xlarge", "m6g.large", "m6g.2xlarge"} & set(cands)
    assert size_need(8, 32, 20, None, 20)[1] == 0.0  # memory not measured: no memory constraint
