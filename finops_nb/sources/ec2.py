"""EC2 through boto3: on-demand prices from the AWS Price List API (cached on disk) and DescribeInstances.

``GetProducts`` on service ``AmazonEC2`` with TERM_MATCH filters (instance type, region code, Linux, shared
tenancy, no pre-installed software, capacity status Used) returns price list items as JSON strings; the
on-demand hourly USD price is ``terms.OnDemand.*.priceDimensions.*.pricePerUnit.USD``
(https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_pricing_GetProducts.html,
https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/using-the-aws-price-list-query-api.html).
The Price List query API is served from us-east-1 (also eu-central-1, ap-south-1); moto does not implement it,
so the tests use botocore's Stubber with the documented response shape.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pandas as pd
from botocore.config import Config

from finops_nb.config import cache_dir
from finops_nb.sources.aws import RETRIES
from finops_nb.sources.aws import client as aws_client

# fewer attempts than aws.RETRIES: a price that cannot be read falls back to the snapshot, it does not stop the run
PRICING_RETRIES = RETRIES.merge(Config(retries={"max_attempts": 3, "mode": "adaptive"}))

PRICING_REGION = "us-east-1"
LINUX_FILTERS = {"operatingSystem": "Linux", "tenancy": "Shared", "preInstalledSw": "NA", "capacitystatus": "Used"}


def _cache_file(region: str) -> Path:
    return cache_dir() / "pricing" / f"ec2-{region}-linux.json"


def parse_on_demand_price(price_list_item: str) -> float | None:
    """The on-demand hourly USD price of one ``PriceList`` item (a JSON string), or None when it has none."""
    doc = json.loads(price_list_item)
    for term in doc.get("terms", {}).get("OnDemand", {}).values():
        for dim in term.get("priceDimensions", {}).values():
            usd = dim.get("pricePerUnit", {}).get("USD")
            if usd is not None and dim.get("unit", "Hrs") in ("Hrs", "Hours"):
                return float(usd)
    return None


def fetch_on_demand_price(instance_type: str, region: str, *, session: boto3.Session | None = None,
                          client=None, use_cache: bool = True) -> float | None:
    """On-demand hourly USD price of a Linux ``instance_type`` in ``region`` from the Price List API.

    Answers (including "no product": None) are cached in ``FINOPS_CACHE_DIR/pricing/`` so a rerun does not call
    the API again. ``client`` lets a caller pass a prepared ``pricing`` client (e.g. one under botocore's Stubber).
    Errors (no credentials, an endpoint without the API) propagate; ``resolve_on_demand_prices`` falls back.
    """
    path = _cache_file(region)
    cached = json.loads(path.read_text()) if use_cache and path.exists() else {}
    if instance_type in cached:
        return cached[instance_type]
    if client is None:
        client = (session or boto3.Session()).client("pricing", region_name=PRICING_REGION, config=PRICING_RETRIES)
    filters = [{"Type": "TERM_MATCH", "Field": k, "Value": v}
               for k, v in {"instanceType": instance_type, "regionCode": region, **LINUX_FILTERS}.items()]
    price = None
    for page in client.get_paginator("get_products").paginate(ServiceCode="AmazonEC2", Filters=filters,
                                                               FormatVersion="aws_v1"):
        for item in page.get("PriceList", []):
            price = parse_on_demand_price(item)
            if price is not None:
                break
        if price is not None:
            break
    if use_cache:
        cached[instance_type] = price
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(cached, indent=0, sort_keys=True))
    return price


class PriceFetcher:
    """``fetch(instance_type, region)`` for ``catalog.instance_types.resolve_on_demand_prices``.

    After the first error (no permission, an endpoint without the Price List API) it stops calling the API for
    the rest of the run and keeps the reason in ``error``: one failed call, not one per candidate type.
    """

    def __init__(self, *, session: boto3.Session | None = None, client=None):
        self.session, self.client, self.error = session, client, None

    def __call__(self, instance_type: str, region: str) -> float | None:
        if self.error is not None:
            return None
        try:
            return fetch_on_demand_price(instance_type, region, session=self.session, client=self.client)
        except Exception as exc:  # noqa: BLE001 - any failure means: use the next source
            self.error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            return None


INSTANCE_FILTER_VALUES = 200  # values per DescribeInstances filter (EC2 accepts up to 200)
INSTANCE_COLUMNS = ["instance_id", "state", "architecture", "live_instance_type", "auto_scaling_group", "tags"]


def describe_instances(instance_ids, *, region: str | None = None,
                       session: boto3.Session | None = None) -> pd.DataFrame:
    """State, architecture, current type, Auto Scaling group and tags of the instances that still exist.

    ``DescribeInstances`` with an ``instance-id`` filter (200 values a call, every page): ids that no longer
    exist are simply absent (an ``InstanceIds`` list would fail on the first terminated one). The Auto Scaling
    group is the ``aws:autoscaling:groupName`` tag EC2 Auto Scaling puts on its instances
    (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-tagging.html).
    """
    from finops_nb.sources.cloudwatch import regional_session

    ec2 = aws_client("ec2", regional_session(session, region))
    ids = list(dict.fromkeys(instance_ids))
    rows = []
    for i in range(0, len(ids), INSTANCE_FILTER_VALUES):
        pages = ec2.get_paginator("describe_instances").paginate(
            Filters=[{"Name": "instance-id", "Values": ids[i:i + INSTANCE_FILTER_VALUES]}])
        for page in pages:
            for reservation in page["Reservations"]:
                for inst in reservation["Instances"]:
                    tags = {t["Key"]: t["Value"] for t in inst.get("Tags", [])}
                    rows.append((inst["InstanceId"], inst.get("State", {}).get("Name"), inst.get("Architecture"),
                                 inst.get("InstanceType"), tags.get("aws:autoscaling:groupName"), tags))
    return pd.DataFrame(rows, columns=INSTANCE_COLUMNS)


def describe_volume_states(volume_ids, *, region: str | None = None,
                           session: boto3.Session | None = None) -> dict[str, str]:
    """Volume id -> state (``available`` = attached to nothing, ``in-use``, ...) of the volumes that still exist.

    ``DescribeVolumes`` with a ``volume-id`` filter (200 values a call, every page), so ids that no longer exist
    are absent instead of failing the call, as in ``describe_instances``.
    """
    from finops_nb.sources.cloudwatch import regional_session

    ec2 = aws_client("ec2", regional_session(session, region))
    ids = list(dict.fromkeys(volume_ids))
    states = {}
    for i in range(0, len(ids), INSTANCE_FILTER_VALUES):
        pages = ec2.get_paginator("describe_volumes").paginate(
            Filters=[{"Name": "volume-id", "Values": ids[i:i + INSTANCE_FILTER_VALUES]}])
        for page in pages:
            states.update({v["VolumeId"]: v["State"] for v in page["Volumes"]})
    return states


CO_COLUMNS = ["instance_id", "co_finding", "co_reasons", "co_current_type", "co_recommended_type",
              "co_savings_monthly", "co_currency", "co_performance_risk", "co_lookback_days", "co_memory_measured"]


def fetch_compute_optimizer_ec2(*, region: str | None = None, session: boto3.Session | None = None,
                                client=None) -> pd.DataFrame:
    """AWS Compute Optimizer's EC2 recommendations (``GetEC2InstanceRecommendations``, every ``nextToken`` page).

    One row per instance with its rank-1 option: ``co_finding`` (Overprovisioned, Underprovisioned, Optimized,
    NotOptimized), ``co_reasons`` (findingReasonCodes), ``co_recommended_type``, ``co_savings_monthly``
    (``savingsOpportunity.estimatedMonthlySavings``), ``co_performance_risk`` (0-4), ``co_lookback_days`` and
    ``co_memory_measured`` (a MEMORY utilization metric was reported). Response shape:
    https://docs.aws.amazon.com/compute-optimizer/latest/APIReference/API_GetEC2InstanceRecommendations.html
    moto does not implement Compute Optimizer: tests use botocore's Stubber.
    """
    from finops_nb.sources.cloudwatch import regional_session

    co = client or aws_client("compute-optimizer", regional_session(session, region))
    rows, token = [], None
    while True:
        page = co.get_ec2_instance_recommendations(**({"nextToken": token} if token else {}))
        for rec in page.get("instanceRecommendations", []):
            options = sorted(rec.get("recommendationOptions", []), key=lambda o: o.get("rank", 99))
            best = options[0] if options else {}
            saving = best.get("savingsOpportunity", {}).get("estimatedMonthlySavings", {})
            metrics = {m.get("name") for m in rec.get("utilizationMetrics", [])}
            rows.append((rec["instanceArn"].rsplit("/", 1)[-1], rec.get("finding"),
                         ", ".join(rec.get("findingReasonCodes", [])), rec.get("currentInstanceType"),
                         best.get("instanceType"), saving.get("value"), saving.get("currency"),
                         best.get("performanceRisk"), rec.get("lookBackPeriodInDays"), "MEMORY" in metrics))
        token = page.get("nextToken")
        if not token:
            break
    return pd.DataFrame(rows, columns=CO_COLUMNS)


def read_compute_optimizer(regions, *, mode: str = "auto",
                           session: boto3.Session | None = None) -> tuple[pd.DataFrame | None, str]:
    """Compute Optimizer's EC2 recommendations in each region, or ``None`` and what is needed."""
    from botocore.exceptions import BotoCoreError, ClientError

    from finops_nb.errors import ConfigError
    from finops_nb.sources.aws import credentials_configured

    if mode not in ("auto", "on", "off"):
        raise ConfigError(f"compute_optimizer mode must be auto, on or off, got {mode!r}")
    needed = ("Needed: opt in to AWS Compute Optimizer and the IAM permission "
              "compute-optimizer:GetEC2InstanceRecommendations")
    if mode == "off" or (mode == "auto" and not credentials_configured()):
        return None, "Compute Optimizer was not read (no AWS credentials configured, or off). " + needed
    try:
        frames = [fetch_compute_optimizer_ec2(region=r, session=session) for r in sorted(set(regions))]
    except (BotoCoreError, ClientError) as exc:
        return None, f"Compute Optimizer could not be read ({type(exc).__name__}: {str(exc)[:200]}). " + needed
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=CO_COLUMNS)
    return out, f"Compute Optimizer read: {len(out)} EC2 recommendations"
