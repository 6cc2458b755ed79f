"""The scale generator is deterministic and money is conserved through the readers on its data."""

from __future__ import annotations

import gzip
import importlib.util
from decimal import Decimal

import duckdb
import pytest
from conftest import ROOT

from finops_nb import connect, load_charges
from finops_nb.analyses.overview import summarize_totals

spec = importlib.util.spec_from_file_location("generate", ROOT / "benchmarks" / "generate.py")
generate = importlib.util.module_from_spec(spec)
spec.loader.exec_module(generate)


@pytest.mark.parametrize("fmt,file_format,column", [("cur2", "csv.gz", "line_item_unblended_cost"),
                                                     ("cur2", "parquet", "line_item_unblended_cost"),
                                                     ("focus", "csv.gz", "BilledCost")])
def test_generated_month_loads_with_money_conserved(tmp_path, fmt, file_format, column):
    path = generate.generate(20_000, tmp_path / fmt, fmt=fmt, file_format=file_format, accounts=50, resources=400)
    expected = duckdb.sql(f"SELECT sum(CAST({column} AS DECIMAL(38, 12))) FROM '{path}'").fetchone()[0]
    ch = load_charges(path.parent.parent, con=connect())
    tot = summarize_totals(ch.table).execute()
    source_rows = duckdb.sql(f"SELECT count(*) FROM '{path}'").fetchone()[0]
    t = ch.table
    # CUR fee rows with an unused part gain a FOCUS 'Unused' usage row each (BilledCost 0)
    synthetic = t.filter(t.CommitmentDiscountStatus == "Unused").count().execute() if fmt == "cur2" else 0
    assert list(tot.rows) == [source_rows + synthetic] and source_rows == 20_000
    assert Decimal(tot.billed_cost.iloc[0]) == expected
    assert tot.net_cost.iloc[0] == tot.billed_cost.iloc[0]
    if fmt == "cur2":  # the mix has every kind of charge
        row = tot.iloc[0]
        assert row.usage_cost > 0 and row.purchase_cost > 0 and row.credits < 0 and row.discounts < 0 and row.tax > 0
        teams = summarize_totals(ch.table, by=["tag:team"]).execute()["tag:team"]
        assert teams.isna().any() and teams.nunique() == 20


def test_generator_is_deterministic(tmp_path):
    a = generate.generate(5_000, tmp_path / "a", fmt="cur2", file_format="csv.gz")
    b = generate.generate(5_000, tmp_path / "b", fmt="cur2", file_format="csv.gz")
    assert gzip.decompress(a.read_bytes()) == gzip.decompress(b.read_bytes())


def test_month_over_month_on_two_generated_months(tmp_path):
    """January with 400 resources, February with the first 300 only: what the other 100 were flagged for in
    January is resolved in February, and each saves its whole January cost (the resource is gone, cost_now 0)."""
    from finops_nb.analyses import savings

    generate.generate(20_000, tmp_path, fmt="cur2", month="2025-01", accounts=50, resources=400)
    generate.generate(15_000, tmp_path, fmt="cur2", month="2025-02", accounts=50, resources=300)
    t = load_charges(tmp_path, con=connect()).table
    diff = savings.month_over_month(t, month="2025-02", discount=0.3, discount_source="test")
    assert set(diff.status) == {"resolved", "persisting"}
    now = set(savings.resource_costs(t, month="2025-02").ResourceId)
    resolved = diff[diff.status == "resolved"]
    assert len(resolved) and not (set(resolved.ResourceId) & now)  # every resolved resource is gone in February
    assert resolved.realized_savings.tolist() == pytest.approx(resolved.previous_cost.tolist())
    persisting = diff[(diff.status == "persisting") & (diff.check != "on-demand compute not covered by commitments")]
    assert len(persisting) and set(persisting.ResourceId) <= now  # (the commitment finding is the organization's)
    summary = savings.summarize_month_over_month(diff).set_index("status")
    once = resolved.groupby("ResourceId").realized_savings.max().sum()  # a resource counted once
    assert summary.loc["resolved", "realized_savings"] == pytest.approx(once)
