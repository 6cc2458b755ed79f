"""Exports on S3 through a real (moto) S3 endpoint, ETag cache, and CUR manifests."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal

import boto3
import pytest
from conftest import SAMPLE, case

from finops_nb import load_charges
from finops_nb.analyses.overview import summarize_totals
from finops_nb.errors import DataError
from finops_nb.sources.s3 import sync_prefix


def test_focus_export_on_s3_loads_and_is_cached_by_etag(aws_env, con, tmp_path):
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="billing")
    s3.upload_file(str(SAMPLE), "billing", "focus/BILLING_PERIOD=2024-09/part-0.csv")
    s3.put_object(Bucket="billing", Key="focus/README.txt", Body=b"not billing data")

    first = sync_prefix("s3://billing/focus/", cache=tmp_path)
    assert (first.downloaded, first.reused) == (1, 0)
    again = sync_prefix("s3://billing/focus/", cache=tmp_path)
    assert (again.downloaded, again.reused) == (0, 1)  # same ETag: read from the cache

    t = load_charges("s3://billing/focus/", con=con).table
    got = summarize_totals(t).execute()
    assert [(r.billing_period, r.rows, Decimal(r.billed_cost).quantize(Decimal("0.0001"))) for r in got.itertuples()] \
        == [("2024-09", 999, Decimal("20.2802")), ("2024-10", 1, Decimal("0.2400"))]

    # a changed object is downloaded again; a deleted one leaves the mirror
    s3.put_object(Bucket="billing", Key="focus/BILLING_PERIOD=2024-09/part-0.csv", Body=SAMPLE.read_bytes()[:-1])
    s3.upload_file(str(SAMPLE), "billing", "focus/BILLING_PERIOD=2024-09/part-1.csv")
    s3.delete_object(Bucket="billing", Key="focus/BILLING_PERIOD=2024-09/part-1.csv")
    changed = sync_prefix("s3://billing/focus/", cache=tmp_path)
    assert changed.downloaded == 1 and changed.removed == 0
    assert not (tmp_path / "billing" / "focus/BILLING_PERIOD=2024-09/part-1.csv").exists()


def test_missing_bucket_is_a_clear_error(aws_env):
    with pytest.raises(DataError, match="cannot list s3://no-such-bucket/x"):
        load_charges("s3://no-such-bucket/x")


def _legacy_layout(tmp_path, current_rows_path):
    """report/20250201-20250301/ with an old assembly and the current one named by the manifest."""
    period = tmp_path / "cur" / "report" / "20250201-20250301"
    old, new = period / "aaaa-old", period / "bbbb-new"
    old.mkdir(parents=True)
    new.mkdir()
    shutil.copy(current_rows_path, old / "report-00001.csv")
    shutil.copy(current_rows_path, new / "report-00001.csv")
    manifest = {"assemblyId": "bbbb-new", "reportKeys": ["report/20250201-20250301/bbbb-new/report-00001.csv"]}
    (period / "report-Manifest.json").write_text(json.dumps(manifest))
    return tmp_path / "cur", new


def test_legacy_manifest_loads_only_the_current_assembly(tmp_path, con):
    src, exp = case("credits-hide-usage")
    root, new = _legacy_layout(tmp_path, src)
    ch = load_charges(root, con=con)
    assert [str(f) for f in ch.files] == [str(new / "report-00001.csv")]
    assert any(n.code == "superseded-files" for n in ch.notes)
    tot = summarize_totals(ch.table).execute().iloc[0]
    assert Decimal(tot.usage_cost) == Decimal(str(exp["usage_cost"]))  # counted once, not twice


def test_manifest_listing_a_missing_file_loads_nothing(tmp_path, con):
    src, _ = case("credits-hide-usage")
    root, new = _legacy_layout(tmp_path, src)
    (new / "report-00001.csv").unlink()
    with pytest.raises(DataError, match="incomplete download"):
        load_charges(root, con=con)
