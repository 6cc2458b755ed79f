"""CloudWatch metrics for rightsizing, read over HTTP from moto's server: several metrics, batches of 500
queries, pages, the on-disk Parquet cache (a rerun sends no request), lookback windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from finops_nb.analyses.rightsizing import summarize_metrics
from finops_nb.errors import ConfigError
from finops_nb.sources.cloudwatch import fetch_metrics, lookback_window, read_metrics

START = datetime(2024, 9, 1, tzinfo=UTC)


def put_series(instance: str, namespace: str, metric: str, values: list[float], start: datetime = START,
               step: timedelta = timedelta(minutes=5), region: str = "us-east-1") -> None:
    cw = boto3.client("cloudwatch", region_name=region)
    data = [{"MetricName": metric, "Dimensions": [{"Name": "InstanceId", "Value": instance}],
             "Timestamp": start + step * k, "Value": float(v)} for k, v in enumerate(values)]
    for i in range(0, len(data), 20):
        cw.put_metric_data(Namespace=namespace, MetricData=data[i:i + 20])


def counting_session(region: str = "us-east-1") -> tuple[boto3.Session, list[str]]:
    """A session that records every HTTP request botocore is about to send (an event hook, not a mock)."""
    session = boto3.Session(region_name=region)
    sent: list[str] = []
    session.events.register("before-send", lambda request, **kw: sent.append(request.url))
    return session, sent


def test_percentiles_daily_network_and_the_cache(aws_env):
    iid = "i-0aaaaaaaaaaaaaa01"
    # CPU 1..100 % -> p50 50.5, p95 95.05, p99 99.01, max 100 (linear interpolation)
    put_series(iid, "AWS/EC2", "CPUUtilization", list(range(1, 101)))
    # memory from the CloudWatch agent: 101 values, 99 at 30 %, then 40 %, 60 %: p99 = value at rank 99 = 40
    put_series(iid, "CWAgent", "mem_used_percent", [30.0] * 99 + [40.0, 60.0])
    # network: day 1 three hourly sums of 1 MB in + 0.5 MB out, day 2 one sum of 2 MB in -> max 4.5 MB/day
    put_series(iid, "AWS/EC2", "NetworkIn", [1e6, 1e6, 1e6], step=timedelta(hours=1))
    put_series(iid, "AWS/EC2", "NetworkOut", [5e5, 5e5, 5e5], step=timedelta(hours=1))
    put_series(iid, "AWS/EC2", "NetworkIn", [2e6], start=START + timedelta(days=1))
    end = START + timedelta(days=14)

    session, sent = counting_session()
    samples = fetch_metrics([iid, "i-0bbbbbbbbbbbbbb02"], START, end, session=session)
    assert len(sent) == 1  # 12 queries (2 instances x 6 metrics) in one GetMetricData call
    s = summarize_metrics(samples).set_index("instance_id")
    assert list(s.index) == [iid]  # the instance without datapoints has no row
    r = s.loc[iid]
    assert (r.datapoints, r.cpu_p50_pct, r.cpu_p95_pct, r.cpu_p99_pct, r.cpu_max_pct) == (
        100, pytest.approx(50.5), pytest.approx(95.05), pytest.approx(99.01), 100.0)
    assert (r.mem_p99_pct, r.mem_max_pct, r.mem_measured) == (pytest.approx(40.0), 60.0, True)
    assert r.network_mb_per_day_max == pytest.approx(4.5) and r.network_measured
    # 100 CPU points over 500 minutes all on 2024-09-01: daily mean = 50.5
    assert (r.days, r.cpu_daily_mean_max_pct) == (1, pytest.approx(50.5))

    again_session, again_sent = counting_session()
    again = fetch_metrics([iid, "i-0bbbbbbbbbbbbbb02"], START, end, session=again_session)
    assert again_sent == []  # every (instance, metric, window, period) came from the Parquet cache
    assert again.equals(samples)
    # another window is another key: it is fetched
    fetch_metrics([iid], START, end + timedelta(days=1), metrics=["cpu"], session=again_session)
    assert len(again_sent) == 1


def test_batches_of_500_queries(aws_env):
    ids = [f"i-0{k:016x}" for k in range(501)]
    # a region of its own: moto scans its whole regional store for each of the 501 queries
    put_series(ids[0], "AWS/EC2", "CPUUtilization", [5.0, 7.0], region="ca-central-1")
    put_series(ids[-1], "AWS/EC2", "CPUUtilization", [9.0], region="ca-central-1")
    session, sent = counting_session("ca-central-1")
    samples = fetch_metrics(ids, START, START + timedelta(days=14), metrics=["cpu"], session=session,
                            progress=False, use_cache=False)
    assert len(sent) == 2  # 501 queries: 500 + 1
    assert samples.groupby("instance_id").value.max().to_dict() == {ids[0]: 7.0, ids[-1]: 9.0}


def test_each_region_is_read_on_its_own_endpoint(aws_env):
    put_series("i-0eeeeeeeeeeeeee05", "AWS/EC2", "CPUUtilization", [11.0], region="eu-west-2")
    put_series("i-0fffffffffffffff6", "AWS/EC2", "CPUUtilization", [12.0], region="us-east-1")
    samples, status = read_metrics(["i-0eeeeeeeeeeeeee05", "i-0fffffffffffffff6"], START,
                                   START + timedelta(days=14),
                                   regions={"i-0eeeeeeeeeeeeee05": "eu-west-2", "i-0fffffffffffffff6": "us-east-1"})
    assert status == "CloudWatch read."
    cpu = samples[samples.metric == "cpu"].set_index("instance_id").value.to_dict()
    assert cpu == {"i-0eeeeeeeeeeeeee05": 11.0, "i-0fffffffffffffff6": 12.0}


def test_lookback_windows_and_periods():
    end = datetime(2024, 10, 1, tzinfo=UTC)
    assert lookback_window(end, 14) == (datetime(2024, 9, 17, tzinfo=UTC), end, 300)
    assert lookback_window(end, 32)[2] == 300
    # 93 days is beyond the 63 days CloudWatch keeps 5-minute data: hourly by default
    assert lookback_window(end, 93) == (end - timedelta(days=93), end, 3600)
    with pytest.raises(ConfigError, match="14, 32 or 93"):
        lookback_window(end, 30)
    with pytest.raises(ConfigError, match="300"):
        lookback_window(end, 14, 60)


def test_without_credentials_every_needed_metric_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    samples, status = read_metrics(["i-0aaaaaaaaaaaaaa01"], START, START + timedelta(days=14))
    assert samples is None
    for needed in ("CPUUtilization", "NetworkIn", "EBSReadOps", "mem_used_percent", "cloudwatch:GetMetricData"):
        assert needed in status
