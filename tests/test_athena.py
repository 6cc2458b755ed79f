"""The path for data that stays in its engine: a FOCUS table wrapped as the canonical table, and the SQL the
analyses compile to for Amazon Athena, checked against snapshots (no AWS is reached)."""

from __future__ import annotations

import os
from decimal import Decimal

import ibis
import pytest
import sqlglot
from conftest import ROOT, SAMPLE

from finops_nb import connect, load_charges, schema
from finops_nb.analyses import commitments, overview, rightsizing
from finops_nb.engine import athena_params
from finops_nb.errors import ConfigError
from finops_nb.export import to_focus_parquet
from finops_nb.sources import from_table

SNAPSHOTS = ROOT / "tests" / "snapshots" / "athena"


def canonical_unbound() -> ibis.Table:
    return ibis.table({c: schema.IBIS_TYPES[t] for c, t in schema.COLUMNS.items()}, name="focus_export")


def analyses(t: ibis.Table) -> dict[str, ibis.Table]:
    return {
        "totals": overview.summarize_totals(t, month="2024-09"),
        "totals_by_service_and_tag": overview.summarize_totals(t, by=["ServiceName", "tag:team"],
                                                               case_sensitive_tags=True),
        "cost_by_service": overview.cost_by(t, "ServiceName", month="2024-09", top=10),
        "daily_trend": overview.daily_trend(t, month="2024-09"),
        "top_resources": overview.top_resources(t, month="2024-09"),
        "savings_breakdown": overview.savings_breakdown(t, month="2024-09"),
        "commitment_utilization": commitments.summarize_utilization(t, month="2024-09"),
        "compute_instances": rightsizing.list_compute_instances(t, month="2024-09"),
    }


@pytest.mark.parametrize("name", list(analyses(canonical_unbound())))
def test_athena_sql_matches_snapshot(name):
    sql = ibis.to_sql(analyses(canonical_unbound())[name], dialect="athena")
    sqlglot.parse_one(sql, read="athena")  # well-formed Athena (Trino) SQL
    path = SNAPSHOTS / f"{name}.sql"
    if os.environ.get("FINOPS_UPDATE_SNAPSHOTS") == "1":
        path.write_text(sql + "\n")
    assert path.exists(), f"no snapshot {path}; run with FINOPS_UPDATE_SNAPSHOTS=1 and review the SQL"
    assert sql + "\n" == path.read_text(), f"{name}: compiled SQL changed; review and refresh the snapshot"


def test_a_focus_table_in_an_engine_is_the_canonical_table(tmp_path):
    export = to_focus_parquet(load_charges(SAMPLE), tmp_path / "focus.parquet")
    con = connect()
    con.raw_sql(f"CREATE TABLE focus_export AS SELECT * REPLACE (CAST(Tags AS JSON)::MAP(VARCHAR, VARCHAR) AS Tags,"
                f" CAST(BilledCost AS DOUBLE) AS BilledCost) FROM read_parquet('{export}')")
    ch = from_table(con, "focus_export")
    got = overview.summarize_totals(ch.table, month="2024-09", by=["tag:environment"]).execute()
    assert Decimal(got.billed_cost.sum()).quantize(Decimal("0.0001")) == Decimal("20.2802")
    assert set(got["tag:environment"].dropna()) == {"dev", "prod"}
    assert ch.table.schema()["BilledCost"] == ibis.dtype("decimal(38, 12)")


def test_athena_url_parameters():
    assert athena_params("?s3_staging_dir=s3://b/p/&region_name=eu-west-1") == {
        "s3_staging_dir": "s3://b/p/", "region_name": "eu-west-1"}
    with pytest.raises(ConfigError, match="unknown Athena parameter"):
        athena_params("?bucket=x")
    with pytest.raises(ConfigError, match="needs s3_staging_dir"):
        athena_params("?region_name=eu-west-1")


def test_from_table_applies_the_purchase_rule(con):
    from conftest import case

    from finops_nb.analyses.commitments import summarize_utilization

    path, exp = case("focus-purchase-double-count")
    con.raw_sql(f"CREATE TABLE raw_focus AS SELECT * FROM read_csv('{path}')")
    t = from_table(con, "raw_focus").table
    assert Decimal(t.EffectiveCost.sum().execute()).quantize(Decimal("0.01")) == Decimal("820.00")  # not 1540
    util = summarize_utilization(t).execute().iloc[0]
    assert util.utilization_pct == pytest.approx(exp["commitment_utilization_pct"], abs=0.005)
