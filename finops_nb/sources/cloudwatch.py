"""CloudWatch metrics through boto3 ``GetMetricData``: batched, paginated, retried, cached on disk.

Percentile statistics are not requested from CloudWatch: we fetch the per-period Maximum (as AWS Compute
Optimizer does: the highest value in each 5-minute interval) and compute percentiles in the package.
Network and EBS metrics are fetched as per-period Sums (bytes, operations), so they add up to daily totals.
Retries with backoff come from ``aws.RETRIES`` (adaptive mode, 8 attempts: throttling is retried).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import boto3
import pandas as pd

from finops_nb.errors import ConfigError
from finops_nb.sources.aws import client

BATCH = 500  # GetMetricData accepts at most 500 queries per call
# name -> (namespace, metric name, statistic). Memory needs the CloudWatch agent publishing mem_used_percent
# with the dimension InstanceId (append_dimensions InstanceId in the agent's configuration).
METRICS = {
    "cpu": ("AWS/EC2", "CPUUtilization", "Maximum"),
    "mem": ("CWAgent", "mem_used_percent", "Maximum"),
    "network_in": ("AWS/EC2", "NetworkIn", "Sum"),
    "network_out": ("AWS/EC2", "NetworkOut", "Sum"),
    "ebs_read_ops": ("AWS/EC2", "EBSReadOps", "Sum"),
    "ebs_write_ops": ("AWS/EC2", "EBSWriteOps", "Sum"),
}
# Compute Optimizer's lookback choices: 14 days (default), 32 days, 93 days (enhanced infrastructure metrics)
# https://docs.aws.amazon.com/compute-optimizer/latest/ug/metrics.html
LOOKBACK_DAYS = (14, 32, 93)
PERIODS = (300, 3600)
FIVE_MINUTE_RETENTION_DAYS = 63  # CloudWatch keeps 5-minute datapoints for 63 days, hourly ones for 455 days


def lookback_window(month_end: datetime, lookback_days: int = 14, period: int | None = None
                    ) -> tuple[datetime, datetime, int]:
    """``(start, end, period)`` for ``lookback_days`` ending at ``month_end`` (exclusive).

    ``period`` defaults to 300 s, or 3600 s beyond the 63 days CloudWatch keeps 5-minute data
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#metrics-retention).
    """
    if lookback_days not in LOOKBACK_DAYS:
        raise ConfigError(f"lookback {lookback_days} days is not one of {LOOKBACK_DAYS} (Compute Optimizer's "
                          "lookback periods); choose 14, 32 or 93")
    if period is None:
        period = 300 if lookback_days <= FIVE_MINUTE_RETENTION_DAYS else 3600
    if period not in PERIODS:
        raise ConfigError(f"period {period} s is not 300 (5 minutes) or 3600 (1 hour)")
    return month_end - timedelta(days=lookback_days), month_end, period


def regional_session(session: boto3.Session | None, region: str | None) -> boto3.Session | None:
    """``session`` moved to ``region`` (CloudWatch is regional), keeping its profile; unchanged when no region."""
    if not region or (session is not None and session.region_name == region):
        return session
    return boto3.Session(profile_name=session.profile_name if session else None, region_name=region)


def _cache_path(instance_id: str, metric: str, start: datetime, end: datetime, period: int,
                region: str) -> Path:
    from finops_nb.config import cache_dir

    window = f"{pd.Timestamp(start).tz_convert('UTC'):%Y%m%dT%H%M}-{pd.Timestamp(end).tz_convert('UTC'):%Y%m%dT%H%M}"
    return cache_dir() / "cloudwatch" / region / metric / f"p{period}" / window / f"{instance_id}.parquet"


def _queries(pairs: list[tuple[str, str]], period: int) -> list[dict]:
    out = []
    for k, (iid, metric) in enumerate(pairs):
        namespace, name, stat = METRICS[metric]
        out.append({"Id": f"q{k}", "ReturnData": True, "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": name,
                       "Dimensions": [{"Name": "InstanceId", "Value": iid}]},
            "Period": period, "Stat": stat}})
    return out


def fetch_metrics(instance_ids: Sequence[str], start: datetime, end: datetime, *,
                  metrics: Sequence[str] = tuple(METRICS), period: int = 300,
                  session: boto3.Session | None = None, region: str | None = None,
                  progress: bool | None = None, use_cache: bool = True) -> pd.DataFrame:
    """Per-period values of ``metrics`` (keys of ``METRICS``) for each EC2 instance over ``[start, end)``.

    Returns long rows ``instance_id, metric, timestamp (UTC), value``. One ``GetMetricData`` query per
    (instance, metric), at most 500 queries per call, every page read, in ``region`` (default: the session's
    or AWS_DEFAULT_REGION). Each (region, instance, metric, window, period) is cached as Parquet under
    ``FINOPS_CACHE_DIR/cloudwatch/`` (an empty answer too), so a rerun
    reads the disk and makes no request; windows that end in the future are not cached (still filling).
    ``progress``: a rich progress bar over the batches (default: when there is more than one batch).
    """
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ConfigError(f"unknown metric {unknown[0]!r}; choose from {', '.join(METRICS)}")
    cols = ["instance_id", "metric", "timestamp", "value"]
    session = regional_session(session, region)
    where = (session.region_name if session else None) or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    cacheable = use_cache and pd.Timestamp(end) <= pd.Timestamp.now(tz="UTC")
    pairs = [(iid, m) for iid in dict.fromkeys(instance_ids) for m in metrics]
    frames, missing = [], []
    for iid, m in pairs:
        path = _cache_path(iid, m, start, end, period, where)
        if cacheable and path.exists():
            frames.append(pd.read_parquet(path))
        else:
            missing.append((iid, m))
    if missing:
        cw = client("cloudwatch", session)
        batches = [missing[i:i + BATCH] for i in range(0, len(missing), BATCH)]
        if progress or (progress is None and len(batches) > 1):
            from rich.progress import track

            batches = track(batches, description=f"CloudWatch: {len(missing)} queries")
        for batch in batches:
            got = {pair: [] for pair in batch}
            for page in cw.get_paginator("get_metric_data").paginate(
                    MetricDataQueries=_queries(batch, period), StartTime=start, EndTime=end,
                    ScanBy="TimestampAscending"):
                for result in page["MetricDataResults"]:
                    pair = batch[int(result["Id"][1:])]
                    got[pair] += list(zip(result["Timestamps"], result["Values"], strict=True))
            for (iid, m), points in got.items():
                df = pd.DataFrame([(iid, m, ts, float(v)) for ts, v in points], columns=cols)
                df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True)
                if cacheable:
                    path = _cache_path(iid, m, start, end, period, where)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    df.to_parquet(path, index=False)
                frames.append(df)
    frames = [f for f in frames if not f.empty]
    if not frames:
        out = pd.DataFrame(columns=cols)
        out["timestamp"] = pd.to_datetime(out["timestamp"], utc=True)
        return out
    return pd.concat(frames, ignore_index=True).sort_values(["instance_id", "metric", "timestamp"],
                                                            ignore_index=True)


def read_metrics(instance_ids: Sequence[str], start: datetime, end: datetime, *, period: int = 300,
                 regions: dict[str, str] | None = None, mode: str = "auto",
                 session: boto3.Session | None = None) -> tuple[pd.DataFrame | None, str]:
    """Every metric of ``METRICS`` for the instances, or ``None`` and a message saying what is needed.

    ``regions`` maps an instance id to its region (the bill's RegionId); each region is read on its own
    endpoint. ``mode``: ``auto`` reads only when credentials are configured, ``on`` always, ``off`` never.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from finops_nb.sources.aws import credentials_configured

    if mode not in ("auto", "on", "off"):
        raise ConfigError(f"cloudwatch mode must be auto, on or off, got {mode!r}")
    if not instance_ids:
        return None, "No EC2 instances in this billing period, so no CloudWatch metrics are needed."
    if mode == "off" or (mode == "auto" and not credentials_configured()):
        return None, "CloudWatch was not read (no AWS credentials configured). Needed: " + NEEDED_ALL
    try:
        by_region: dict[str | None, list[str]] = {}
        for iid in dict.fromkeys(instance_ids):
            by_region.setdefault((regions or {}).get(iid) or None, []).append(iid)
        frames = [fetch_metrics(ids, start, end, period=period, session=session, region=region)
                  for region, ids in by_region.items()]
        return pd.concat(frames, ignore_index=True), "CloudWatch read."
    except (BotoCoreError, ClientError) as exc:
        return None, f"CloudWatch could not be read ({type(exc).__name__}: {exc}). Needed: " + NEEDED_ALL


NEEDED_ALL = ("CloudWatch metrics AWS/EC2 CPUUtilization, NetworkIn, NetworkOut, EBSReadOps, EBSWriteOps and "
              "CWAgent mem_used_percent (dimension InstanceId, published by the CloudWatch agent), read with the "
              "IAM permission cloudwatch:GetMetricData. Grant it to the role or user the report runs as, then set "
              "AWS_PROFILE (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and AWS_DEFAULT_REGION; AWS_ENDPOINT_URL "
              "points at another endpoint.")
