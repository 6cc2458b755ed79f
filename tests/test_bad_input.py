"""Bad input gets a clear error naming file, row and column, and nothing is half-loaded."""

from __future__ import annotations

import gzip
import shutil
from decimal import Decimal

import pytest
from conftest import SAMPLE

from finops_nb import connect, load_charges
from finops_nb.cli import main
from finops_nb.errors import DataError

HEADER = "BillingCurrency,BillingPeriodStart,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,ServiceName,BilledCost\n"
ROW = "USD,2025-01-01T00:00:00Z,2025-01-02T00:00:00Z,2025-01-03T00:00:00Z,Usage,Compute,{cost}\n"


def write(path, rows):
    path.write_text(HEADER + "".join(ROW.format(cost=c) for c in rows))
    return path


def test_text_in_a_money_column(tmp_path, con):
    f = write(tmp_path / "bad.csv", ["1.00", "2.00", "twelve", "oops"])
    with pytest.raises(DataError) as err:
        load_charges(f, con=con)
    assert (err.value.file, err.value.row, err.value.column) == (str(f), 3, "BilledCost")
    assert "'twelve' is not a number" in str(err.value) and "2 such row(s)" in str(err.value)


def test_empty_billed_cost_is_an_error_not_a_zero(tmp_path, con):
    f = write(tmp_path / "empty.csv", ["1.00", ""])
    with pytest.raises(DataError) as err:
        load_charges(f, con=con)
    assert (err.value.row, err.value.column) == (2, "BilledCost")


def test_a_bad_file_in_a_folder_loads_nothing(tmp_path, con):
    write(tmp_path / "a.csv", ["1.00"])
    write(tmp_path / "b.csv", ["x"])
    with pytest.raises(DataError, match="b.csv"):
        load_charges(tmp_path, con=con)
    assert "charges" not in con.list_tables()


def test_truncated_gzip(tmp_path, con):
    full = tmp_path / "full.csv.gz"
    with open(SAMPLE, "rb") as src, gzip.open(full, "wb") as dst:
        shutil.copyfileobj(src, dst)
    cut = tmp_path / "cut" / "focus.csv.gz"
    cut.parent.mkdir()
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(DataError) as err:
        load_charges(cut, con=con)
    assert err.value.file == str(cut)



def test_the_columns_of_a_file_come_from_its_header_alone(tmp_path):
    """Planning a read looks at the header only (reading the rows here once held a whole 10M-row CUR in
    memory, 8 GB): a file whose row 30,001 is broken still gives its columns; the load then names the file."""
    import duckdb

    from finops_nb.sources.base import source_columns

    f = tmp_path / "late.csv"
    f.write_text(HEADER + "".join(ROW.format(cost=f"{i}.00") for i in range(30_000)) + "USD,1,2,3,4,5,6,7,8,9\n")
    assert list(source_columns(duckdb.connect(), f)) == HEADER.strip().split(",")
    with pytest.raises(DataError) as err:
        load_charges(f, con=connect())
    assert err.value.file == str(f)


def test_a_cut_gzip_file_is_refused(tmp_path):
    """DuckDB reads a gzip file cut short up to the cut without an error (149,962 of these 300,000 rows)."""
    full = tmp_path / "full.csv.gz"
    with gzip.open(full, "wt") as out:
        out.write(HEADER + "".join(ROW.format(cost=f"{i}.00") for i in range(300_000)))
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(DataError, match="cut short") as err:
        load_charges(cut, con=connect())
    assert err.value.file == str(cut)


def test_a_gzip_file_of_several_members_loads_every_member(tmp_path, con):
    """gzip allows members one after another (``cat a.gz b.gz``, pigz, some exporters): all are read."""
    f = tmp_path / "two.csv.gz"
    f.write_bytes(gzip.compress((HEADER + ROW.format(cost="1.25")).encode())
                  + gzip.compress(ROW.format(cost="2.50").encode()))
    t = load_charges(f, con=con).table
    assert t.BilledCost.sum().execute() == Decimal("3.75")

def test_gzip_and_parquet_load_the_same_totals(tmp_path, con):
    gz = tmp_path / "focus.csv.gz"
    with open(SAMPLE, "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    t1 = load_charges(gz, con=con).table
    a = t1.aggregate(n=t1.count(), b=t1.BilledCost.sum(), e=t1.EffectiveCost.sum()).execute().iloc[0]
    pq = tmp_path / "focus.parquet"
    t1.to_parquet(pq)
    from finops_nb import connect

    t2 = load_charges(pq, con=connect()).table
    b = t2.aggregate(n=t2.count(), b=t2.BilledCost.sum(), e=t2.EffectiveCost.sum()).execute().iloc[0]
    assert (a.n, a.b, a.e) == (b.n, b.b, b.e) == (1000, a.b, a.e)
    assert str(a.b) == "20.520226728990"


def test_the_same_file_twice(tmp_path, con):
    write(tmp_path / "a.csv", ["1.00"])
    shutil.copy(tmp_path / "a.csv", tmp_path / "copy-of-a.csv")
    with pytest.raises(DataError, match="same content"):
        load_charges(tmp_path, con=con)


def test_missing_required_column(tmp_path, con):
    f = tmp_path / "nocost.csv"
    f.write_text("BillingCurrency,BillingPeriodStart,ChargePeriodStart,ChargeCategory\nUSD,2025-01-01,2025-01-01,Usage\n")
    with pytest.raises(DataError) as err:
        load_charges(f, con=con)
    assert err.value.column == "BilledCost"


def test_missing_path_and_unsupported_type(tmp_path, con):
    with pytest.raises(DataError, match="no such file"):
        load_charges(tmp_path / "nope.csv", con=con)
    other = tmp_path / "bill.xlsx"
    other.write_text("x")
    with pytest.raises(DataError, match="unsupported file type"):
        load_charges(other, con=con)


def test_cli_reports_bad_input_with_exit_code_2(tmp_path, capsys):
    f = write(tmp_path / "bad.csv", ["1.00", "abc"])
    assert main(["totals", str(f)]) == 2
    err = capsys.readouterr().err
    assert f"file {f}, row 2, column BilledCost" in err


def test_an_empty_month_and_columns_that_change_between_months(tmp_path, con):
    jan = tmp_path / "BILLING_PERIOD=2025-01" / "part.csv"
    jan.parent.mkdir()
    write(jan, ["1.00", "2.50"])
    feb = tmp_path / "BILLING_PERIOD=2025-02" / "part.csv"
    feb.parent.mkdir()
    feb.write_text(HEADER.strip() + ",EffectiveCost,x_Team\n"
                   + ROW.format(cost="4.00").strip().replace("2025-01-0", "2025-02-0") + ",3.00,blue\n")
    mar = tmp_path / "BILLING_PERIOD=2025-03" / "part.csv"
    mar.parent.mkdir()
    mar.write_text(HEADER)  # a month whose export has no rows
    ch = load_charges(tmp_path, con=con)
    t = ch.table
    got = t.group_by(p=t.BillingPeriodStart.strftime("%Y-%m")).aggregate(b=t.BilledCost.sum(), e=t.EffectiveCost.sum())
    rows = {r.p: (str(r.b), r.e) for r in got.execute().itertuples()}
    assert rows["2025-01"][0] == "3.500000000000" and rows["2025-02"] == ("4.000000000000", 3)
    assert "x_Team" in t.columns  # a column only February has is kept, NULL elsewhere
    empty = [n for n in ch.notes if n.code == "empty-file"]
    assert len(empty) == 1 and "2025-03" in empty[0].file
