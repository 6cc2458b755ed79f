"""Instance catalog (built by a script from DescribeInstanceTypes data) and on-demand prices with their source:
the bill first, then the AWS Price List API (botocore Stubber: moto does not implement it), then the snapshot."""

from __future__ import annotations

import importlib.util
import json

import boto3
import pandas as pd
import pytest
from botocore.stub import Stubber
from conftest import ROOT, SAMPLE

from finops_nb import load_charges
from finops_nb.analyses.rightsizing import list_bill_prices
from finops_nb.catalog.instance_types import (
    catalog_source,
    family_class,
    load_instance_types,
    load_price_snapshot,
    resolve_on_demand_prices,
)
from finops_nb.sources.ec2 import PriceFetcher, fetch_on_demand_price


def build_script():
    path = ROOT / "scripts" / "build_instance_catalog.py"
    spec = importlib.util.spec_from_file_location("build_instance_catalog", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_catalog_has_the_worked_types_and_records_its_source():
    cat = load_instance_types()
    # AWS: m5.2xlarge 8 vCPU 32 GiB, m5.xlarge 4/16, m5.large 2/8 (Intel); m6g.xlarge 4/16 Graviton (arm64)
    assert tuple(cat.loc["m5.2xlarge", ["vcpu", "memory_gib", "architecture"]]) == (8, 32.0, "x86_64")
    assert tuple(cat.loc["m5.xlarge", ["vcpu", "memory_gib"]]) == (4, 16.0)
    assert tuple(cat.loc["m5.large", ["vcpu", "memory_gib"]]) == (2, 8.0)
    assert tuple(cat.loc["m6g.xlarge", ["vcpu", "memory_gib", "architecture", "family"]]) == (4, 16.0, "arm64", "m6g")
    assert cat.loc["t3.large", "burstable"] and not cat.loc["m5.large", "burstable"]
    assert set(cat.generation) == {"current", "previous"}
    assert cat.loc["g5.4xlarge", "gpus"] == 1
    meta = catalog_source()
    assert "DescribeInstanceTypes" in meta["source"] and meta["built"][:4].isdigit()
    assert (ROOT / "finops_nb" / "catalog" / "instance_types.csv").stat().st_size < 300_000


def test_the_script_rebuilds_the_shipped_catalog(tmp_path):
    out = tmp_path / "types.csv"
    mod = build_script()
    assert mod.main(["--out", str(out), "--date", "2026-12-03"]) == 0
    shipped = pd.read_csv(ROOT / "finops_nb" / "catalog" / "instance_types.csv", comment="#")
    rebuilt = pd.read_csv(out, comment="#")
    pd.testing.assert_frame_equal(shipped, rebuilt)  # the shipped file is what the script makes
    assert "built: 2026-12-03" in out.read_text().splitlines()[1]


def test_the_script_reads_describe_instance_types_through_boto3(tmp_path, aws_env):
    out = tmp_path / "types.csv"
    assert build_script().main(["--endpoint", aws_env, "--out", str(out), "--date", "2026-12-03"]) == 0
    df = pd.read_csv(out, comment="#").set_index("instance_type")
    assert tuple(df.loc["m5.xlarge", ["vcpu", "memory_gib"]]) == (4, 16.0)
    assert "describe_instance_types" in out.read_text().splitlines()[0]


def test_family_class():
    families = ("m5", "m6g", "m7i-flex", "c5n", "u-6tb1", "x2gd")
    assert [family_class(f) for f in families] == ["m", "m", "m", "c", "u", "x"]


def test_snapshot_prices_are_dated_and_agree_with_the_sample_bill(con):
    snap = load_price_snapshot().set_index("instance_type")
    # the prices (us-east-1 Linux on-demand)
    for itype, usd in {"m5.large": 0.096, "m5.xlarge": 0.192, "m5.2xlarge": 0.384, "m6g.large": 0.077,
                       "m6g.xlarge": 0.154, "m6g.2xlarge": 0.308}.items():
        assert snap.loc[itype, "on_demand_hourly_usd"] == pytest.approx(usd)
    assert snap.source_url.str.startswith("https://aws.amazon.com/ec2/pricing/").all() and snap.as_of.notna().all()
    bill = list_bill_prices(load_charges(SAMPLE, con=con).table).execute()
    east = bill[bill.RegionId == "us-east-1"].set_index("instance_type").on_demand_hourly
    common = sorted(set(east.index) & set(snap.index))
    assert common == ["c5.2xlarge", "c5.4xlarge", "c5.large"]  # 0.34, 0.68, 0.085 on the sample's invoice
    assert [east[c] for c in common] == pytest.approx([snap.loc[c, "on_demand_hourly_usd"] for c in common])


def test_price_sources_bill_then_api_then_snapshot():
    bill = pd.DataFrame({"currency": ["USD", "EUR"], "RegionId": ["us-east-1", "us-east-1"],
                         "instance_type": ["m5.2xlarge", "m5.xlarge"], "on_demand_hourly": [0.40, 0.17]})
    asked = []

    def api(itype, region):
        asked.append(itype)
        return 0.1540 if itype == "m6g.xlarge" else None

    got = resolve_on_demand_prices(["m5.2xlarge", "m6g.xlarge", "m5.xlarge", "zz9.nano"], "us-east-1",
                                   bill=bill, fetch=api).set_index("instance_type")
    assert (got.loc["m5.2xlarge", "on_demand_hourly_usd"], got.loc["m5.2xlarge", "price_source"]) == (0.40, "bill")
    assert got.loc["m6g.xlarge", "price_source"] == "AWS Price List API"
    # a EUR bill price is not mixed in: the API has none, so the dated snapshot answers
    assert got.loc["m5.xlarge", "on_demand_hourly_usd"] == 0.192
    assert got.loc["m5.xlarge", "price_source"].startswith("snapshot 2026-12-03 https://aws.amazon.com/")
    assert got.loc["zz9.nano", "price_source"] == "unpriced" and pd.isna(got.loc["zz9.nano", "on_demand_hourly_usd"])
    assert "m5.2xlarge" not in asked  # the bill answered first


def price_item(itype: str, usd: str) -> str:
    """One PriceList entry in the documented GetProducts shape (product + terms.OnDemand.priceDimensions)."""
    return json.dumps({
        "product": {"productFamily": "Compute Instance", "sku": "SKU1",
                    "attributes": {"instanceType": itype, "regionCode": "us-east-1", "operatingSystem": "Linux",
                                   "tenancy": "Shared", "preInstalledSw": "NA", "capacitystatus": "Used"}},
        "serviceCode": "AmazonEC2",
        "terms": {"OnDemand": {"SKU1.JRTCKXETXF": {
            "offerTermCode": "JRTCKXETXF", "sku": "SKU1", "effectiveDate": "2026-11-01T00:00:00Z",
            "priceDimensions": {"SKU1.JRTCKXETXF.6YS6EN2CT7": {
                "unit": "Hrs", "endRange": "Inf", "beginRange": "0", "rateCode": "SKU1.JRTCKXETXF.6YS6EN2CT7",
                "description": f"$0.154 per On Demand Linux {itype} Instance Hour",
                "pricePerUnit": {"USD": usd}}},
            "termAttributes": {}}}},
        "version": "20261101000000", "publicationDate": "2026-11-01T00:00:00Z"})


def test_price_list_api_adapter_with_stubber_and_its_cache():
    pricing = boto3.client("pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    stub = Stubber(pricing)
    filters = [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in {
        "instanceType": "m6g.xlarge", "regionCode": "us-east-1", "operatingSystem": "Linux", "tenancy": "Shared",
        "preInstalledSw": "NA", "capacitystatus": "Used"}.items()]
    answer = {"FormatVersion": "aws_v1", "PriceList": [price_item("m6g.xlarge", "0.1540000000")]}
    expected = {"ServiceCode": "AmazonEC2", "Filters": filters, "FormatVersion": "aws_v1"}
    stub.add_response("get_products", answer, expected)
    with stub:
        assert fetch_on_demand_price("m6g.xlarge", "us-east-1", client=pricing) == pytest.approx(0.154)
        # second time from the on-disk cache: the Stubber has no response left and would raise if called
        assert fetch_on_demand_price("m6g.xlarge", "us-east-1", client=pricing) == pytest.approx(0.154)
    stub.assert_no_pending_responses()


def test_an_unreachable_price_list_api_is_tried_once_then_the_snapshot_answers():
    pricing = boto3.client("pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    stub = Stubber(pricing)
    stub.add_client_error("get_products", service_error_code="AccessDeniedException", http_status_code=403)
    fetch = PriceFetcher(client=pricing)
    with stub:
        got = resolve_on_demand_prices(["m5.large", "m5.xlarge"], "us-east-1", fetch=fetch)
    assert list(got.on_demand_hourly_usd) == [0.096, 0.192] and got.price_source.str.startswith("snapshot").all()
    assert "AccessDeniedException" in fetch.error  # one call, then no more (the Stubber had one answer)
