"""AWS Cost Anomaly Detection through boto3 (``ce.get_anomalies``), to compare with our own detection.

API: https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_GetAnomalies.html
``DateInterval`` (StartDate inclusive, EndDate as given, ``YYYY-MM-DD``), optional ``MonitorArn``; pages
follow ``NextPageToken``. Each anomaly has an id, start/end dates, the monitored dimension value, its
impact (MaxImpact, TotalImpact, TotalActualSpend, TotalExpectedSpend) and root causes (service, region,
linked account, usage type, each with its contribution).
"""

from __future__ import annotations

from datetime import date

import boto3
import pandas as pd

from finops_nb.sources.aws import client

COLUMNS = ["anomaly_id", "start_date", "end_date", "dimension_value", "max_impact", "total_impact",
           "total_actual_spend", "total_expected_spend", "max_score", "root_causes", "monitor_arn", "feedback"]


def fetch_anomalies(start: date | str, end: date | str, *, monitor_arn: str | None = None,
                    session: boto3.Session | None = None, ce_client=None) -> pd.DataFrame:
    """Every anomaly AWS detected between ``start`` and ``end``, one row each (all pages).

    ``ce_client`` lets a caller pass a prepared ``ce`` client (e.g. one under botocore's Stubber).
    ``root_causes`` is text ``service / account / usage type (+contribution)``, largest contribution first.
    """
    ce = ce_client or client("ce", session)
    request = {"DateInterval": {"StartDate": str(start), "EndDate": str(end)}}
    if monitor_arn:
        request["MonitorArn"] = monitor_arn
    rows, token = [], None
    while True:
        page = ce.get_anomalies(**request, **({"NextPageToken": token} if token else {}))
        for a in page.get("Anomalies", []):
            impact = a.get("Impact", {})
            causes = sorted(a.get("RootCauses", []),
                            key=lambda c: -float(c.get("Impact", {}).get("Contribution", 0.0)))
            rows.append({
                "anomaly_id": a["AnomalyId"], "start_date": a.get("AnomalyStartDate"),
                "end_date": a.get("AnomalyEndDate"), "dimension_value": a.get("DimensionValue"),
                "max_impact": impact.get("MaxImpact"), "total_impact": impact.get("TotalImpact"),
                "total_actual_spend": impact.get("TotalActualSpend"),
                "total_expected_spend": impact.get("TotalExpectedSpend"),
                "max_score": a.get("AnomalyScore", {}).get("MaxScore"),
                "root_causes": "; ".join(
                    " / ".join(str(c[k]) for k in ("Service", "LinkedAccount", "UsageType") if c.get(k))
                    + f" (+{float(c.get('Impact', {}).get('Contribution', 0.0)):,.2f})" for c in causes),
                "monitor_arn": a.get("MonitorArn"), "feedback": a.get("Feedback"),
            })
        token = page.get("NextPageToken")
        if not token:
            break
    return pd.DataFrame(rows, columns=COLUMNS)
