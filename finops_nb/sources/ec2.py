"""EC2 prices from the AWS Price List API (boto3 ``pricing`` client), cached on disk.

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
from botocore.config import Config

from finops_nb.config import cache_dir
from finops_nb.sources.aws import RETRIES

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
