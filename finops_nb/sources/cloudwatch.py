"""CloudWatch metrics through boto3 ``GetMetricData``: batched, paginated, retried.

Percentile statistics are not requested from CloudWatch: we fetch the per-period Maximum (as AWS Compute
Optimizer does: the highest value in each 5-minute interval) and compute percentiles in the package.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import boto3
import pandas as pd

from finops_nb.sources.aws import client

BATCH = 500  # GetMetricData accepts at most 500 queries per call


def fetch_metric_maxima(instance_ids: Sequence[str], start: datetime, end: datetime, *,
                        metric: str = "CPUUtilization", namespace: str = "AWS/EC2", period: int = 300,
                        session: boto3.Session | None = None, progress: Iterable | None = None) -> pd.DataFrame:
    """Per-period Maximum of ``metric`` for each EC2 instance over ``[start, end)``.

    Returns columns ``instance_id``, ``timestamp`` (UTC), ``value``. Instances with no datapoints have no rows.
    """
    cw = client("cloudwatch", session)
    ids = list(dict.fromkeys(instance_ids))
    rows = []
    batches = [ids[i:i + BATCH] for i in range(0, len(ids), BATCH)]
    for batch in progress(batches) if progress else batches:
        queries = [{
            "Id": f"m{k}",
            "MetricStat": {
                "Metric": {"Namespace": namespace, "MetricName": metric,
                           "Dimensions": [{"Name": "InstanceId", "Value": iid}]},
                "Period": period,
                "Stat": "Maximum",
            },
            "ReturnData": True,
        } for k, iid in enumerate(batch)]
        pages = cw.get_paginator("get_metric_data").paginate(
            MetricDataQueries=queries, StartTime=start, EndTime=end, ScanBy="TimestampAscending")
        for page in pages:
            for result in page["MetricDataResults"]:
                iid = batch[int(result["Id"][1:])]
                rows += [(iid, ts, v) for ts, v in zip(result["Timestamps"], result["Values"], strict=True)]
    df = pd.DataFrame(rows, columns=["instance_id", "timestamp", "value"])
    df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True)
    return df


NEEDED = ("CloudWatch metric AWS/EC2 CPUUtilization (and CWAgent mem_used_percent for memory), read with "
          "the IAM permission cloudwatch:GetMetricData. Grant it to the role or user the report runs as, "
          "then set AWS_PROFILE (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and AWS_DEFAULT_REGION; "
          "AWS_ENDPOINT_URL points at another endpoint.")


def read_cpu_maxima(instance_ids: Sequence[str], start: datetime, end: datetime, *, mode: str = "auto",
                    session: boto3.Session | None = None) -> tuple[pd.DataFrame | None, str]:
    """CPU maxima per 5 minutes, or ``None`` and a message saying what is needed.

    ``mode``: ``auto`` reads CloudWatch only when credentials are configured explicitly (see
    ``aws.credentials_configured``); ``on`` always tries (instance roles); ``off`` never does.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from finops_nb.sources.aws import credentials_configured

    if mode not in ("auto", "on", "off"):
        raise ValueError(f"cloudwatch mode must be auto, on or off, got {mode!r}")
    if not instance_ids:
        return None, "No EC2 instances in this billing period, so no CloudWatch metrics are needed."
    if mode == "off" or (mode == "auto" and not credentials_configured()):
        return None, "CloudWatch was not read (no AWS credentials configured). Needed: " + NEEDED
    try:
        return fetch_metric_maxima(instance_ids, start, end, session=session), "CloudWatch read."
    except (BotoCoreError, ClientError) as exc:
        return None, f"CloudWatch could not be read ({type(exc).__name__}: {exc}). Needed: " + NEEDED
