"""The analyses give identical results on DuckDB and on PySpark (local mode), and the hand-worked figures of
../shared/cases hold on Spark too.

Identical means: the same Ibis schema, the same columns, and after sorting on the key columns the same rows,
decimals compared exactly (``Decimal`` against ``Decimal``), floats and timestamps (with their zone) equal.
One Spark context serves the whole run (``conftest.spark``); each test loads into a Spark session of its own.
"""

from __future__ import annotations

from decimal import Decimal

import duckdb
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pandas as pd
import pytest
from conftest import SAMPLE, case

from finops_nb import connect, load_charges
from finops_nb.analyses.commitments import hourly_eligible_spend, observed_discount, summarize_utilization
from finops_nb.analyses.overview import (
    charge_breakdown,
    cost_by,
    daily_trend,
    savings_breakdown,
    summarize_totals,
    top_resources,
)
from finops_nb.analyses.rightsizing import list_compute_instances
from finops_nb.analyses.savings import build_ledger
from finops_nb.errors import ConfigError

pytestmark = pytest.mark.spark
D = Decimal
TOTALS_KEYS = ["billing_period", "currency"]


def q2(v) -> Decimal:
    return D(str(v)).quantize(D("0.01"))


# --- comparing results ------------------------------------------------------------------------------------------

def plain(v):
    """A cell as a plain Python value: NULL/NaN/NaT as None, numpy scalars as int/float/bool."""
    if v is None or (not isinstance(v, str | Decimal | list | dict) and pd.isna(v)):
        return None
    if hasattr(v, "item") and not isinstance(v, pd.Timestamp):
        return v.item()
    return v


def sorted_rows(df: pd.DataFrame, keys: list[str]) -> list[tuple]:
    rows = [tuple(plain(v) for v in r) for r in df.itertuples(index=False, name=None)]
    idx = [list(df.columns).index(k) for k in keys]
    key_of = [tuple("" if r[i] is None else str(r[i]) for i in idx) for r in rows]
    assert len(set(key_of)) == len(rows), f"keys {keys} do not identify the rows"
    return [r for _, r in sorted(zip(key_of, rows, strict=True), key=lambda kr: kr[0])]


def assert_same(on_duckdb, on_spark, keys: list[str]) -> pd.DataFrame:
    """Both results equal (Ibis schema too when given expressions); returns the DuckDB frame."""
    if isinstance(on_duckdb, ir.Table):
        assert on_duckdb.schema() == on_spark.schema()
        on_duckdb, on_spark = on_duckdb.execute(), on_spark.execute()
    assert list(on_duckdb.columns) == list(on_spark.columns)
    a, b = sorted_rows(on_duckdb, keys), sorted_rows(on_spark, keys)
    assert len(a) == len(b), f"{len(a)} rows on DuckDB, {len(b)} on Spark"
    cols = list(on_duckdb.columns)
    for ra, rb in zip(a, b, strict=True):
        for col, x, y in zip(cols, ra, rb, strict=True):
            assert type(x) is type(y) and x == y, f"{col}: DuckDB {x!r} != Spark {y!r} in row {ra}"
    return on_duckdb


def test_assert_same_sees_differences():
    base = pd.DataFrame({"k": ["a", "b"], "v": [D("1.50"), None]})
    assert_same(base, base.iloc[::-1].assign(v=[None, D("1.5")]), ["k"])  # order and scale do not matter
    for other in (base.assign(v=[1.5, None]), base.assign(v=[D("1.500000000001"), None]),
                  base.assign(v=[D("1.50"), D(0)]), base.iloc[:1]):
        with pytest.raises(AssertionError):
            assert_same(base, other, ["k"])
    utc = pd.DataFrame({"k": ["a"], "t": [pd.Timestamp("2024-09-01", tz="UTC")]})
    with pytest.raises(AssertionError):
        assert_same(utc, utc.assign(t=[pd.Timestamp("2024-09-01")]), ["k"])


def both(path, con, spark_con) -> tuple[ir.Table, ir.Table]:
    return load_charges(path, con=con).table, load_charges(path, con=spark_con).table


# --- the engine itself --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["pyspark://", "pyspark", "spark://local", "pyspark://local[2]", "SPARK://local/"])
def test_spark_urls(url, spark):
    con = connect(url)
    assert con.name == "pyspark"
    conf = con._session.conf
    assert conf.get("spark.sql.session.timeZone") == "UTC"
    assert conf.get("spark.sql.ansi.enabled") == "true"
    assert conf.get("spark.sql.decimalOperations.allowPrecisionLoss") == "false"
    assert conf.get("spark.sql.shuffle.partitions") == "2"
    sc = con._session.sparkContext
    assert sc.master == "local[2]" and sc.getConf().get("spark.driver.host") == "127.0.0.1"
    assert sc.getConf().get("spark.ui.enabled") == "false"


@pytest.mark.parametrize("url", ["spark://cluster.example:7077", "pyspark://yarn", "pyspark://local[4]"])
def test_spark_urls_refused(url, spark):
    with pytest.raises(ConfigError):
        connect(url)


def test_each_connection_has_its_own_charges(spark_con, con, spark):
    # one Spark context, sessions of their own: loading into one leaves another's ``charges`` alone
    other = connect("pyspark://")
    path, _ = case("mixed-currencies")
    a = load_charges(SAMPLE, con=spark_con).table
    b = load_charges(path, con=other).table
    assert a.count().execute() == load_charges(SAMPLE, con=con).table.count().execute()
    assert b.count().execute() < a.count().execute()


def test_hand_over_keeps_types_and_utc(sample):
    duck, spark = sample
    assert spark.schema() == duck.schema()
    assert spark.schema()["BilledCost"] == dt.Decimal(38, 12)
    assert spark.schema()["ChargePeriodStart"] == dt.Timestamp(timezone="UTC", scale=6)
    assert spark.schema()["Tags"] == dt.Map(dt.string, dt.string)
    for col in ("BillingPeriodStart", "ChargePeriodStart", "ChargePeriodEnd"):
        lo = [t[col].min().execute() for t in (duck, spark)]
        hi = [t[col].max().execute() for t in (duck, spark)]
        assert lo[0] == lo[1] and hi[0] == hi[1] and lo[1].tzname() == "UTC"
    # every row, every column the same (Tags as a map, money as exact decimals)
    assert_same(duck.mutate(Tags=duck.Tags.keys().join(",")), spark.mutate(Tags=spark.Tags.keys().join(",")),
                keys=["x_Id"])


def test_spark_keeps_twelve_decimals(sample):
    # Spark's own result types (Ibis computes its schema itself): sums and differences of DECIMAL(38, 12) stay
    # DECIMAL(38, 12); with Spark's default precision loss, savings would come back rounded to 11 or 10 places
    spark = sample[1]
    con = spark._find_backend()
    for expr in (savings_breakdown(spark), summarize_utilization(spark), summarize_totals(spark)):
        fields = con._session.sql(con.compile(expr)).schema.fields
        decimals = {f.name: f.dataType.simpleString() for f in fields if f.dataType.typeName() == "decimal"}
        assert decimals and set(decimals.values()) == {"decimal(38,12)"}, decimals


# --- the analyses on the real sample -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sample(spark):
    """The shipped real FOCUS sample on both engines (loaded once for this module)."""
    return load_charges(SAMPLE, con=connect()).table, load_charges(SAMPLE, con=connect("pyspark://")).table


ON_SAMPLE = {
    "totals": (lambda t: summarize_totals(t), TOTALS_KEYS),
    "totals by ServiceName": (lambda t: summarize_totals(t, by=["ServiceName"]), [*TOTALS_KEYS, "ServiceName"]),
    "totals by tag:environment": (lambda t: summarize_totals(t, by=["tag:environment"]),
                                  [*TOTALS_KEYS, "tag:environment"]),
    "totals by exact tag, amortized, one month": (
        lambda t: summarize_totals(t, by=["tag:environment"], case_sensitive_tags=True, basis="amortized",
                                   month="2024-09"), [*TOTALS_KEYS, "tag:environment"]),
    "cost_by ServiceName, top 5": (lambda t: cost_by(t, "ServiceName", top=5), ["currency", "ServiceName"]),
    "cost_by region and tag": (lambda t: cost_by(t, ["RegionId", "tag:environment"], basis="billed"),
                               ["currency", "RegionId", "tag:environment"]),
    "daily_trend": (lambda t: daily_trend(t), ["day", "currency"]),
    "top_resources": (lambda t: top_resources(t, n=15), ["currency", "ResourceId"]),
    "charge_breakdown": (lambda t: charge_breakdown(t), ["currency", "ChargeCategory"]),
    "savings_breakdown by provider": (lambda t: savings_breakdown(t, by=["ProviderName"]),
                                      ["currency", "ProviderName"]),
    "summarize_utilization": (lambda t: summarize_utilization(t), ["currency", "CommitmentDiscountId"]),
    "list_compute_instances": (lambda t: list_compute_instances(t), ["currency", "ResourceId"]),
    "hourly_eligible_spend": (lambda t: hourly_eligible_spend(t, month="2024-09"), ["hour", "currency"]),
    "build_ledger": (lambda t: build_ledger(t, month="2024-09", discount=0.28, discount_source="test",
                                            owner_tag="environment"), ["check", "currency", "ResourceId"]),
    "observed_discount": (lambda t: pd.DataFrame([observed_discount(t)], columns=["discount", "source"]),
                          ["source"]),
}


@pytest.mark.parametrize("name", list(ON_SAMPLE))
def test_sample_analysis_is_identical(name, sample):
    analysis, keys = ON_SAMPLE[name]
    duck, spark = sample
    result = assert_same(analysis(duck), analysis(spark), keys)
    assert len(result), f"{name} returned no rows on the sample: the comparison proves nothing"


def test_sample_months_are_utc_billing_periods(sample):
    # the Oracle row charged 2024-09-30 22:00 UTC is invoiced in billing period 2024-10, on Spark too
    df = summarize_totals(sample[1]).execute()
    assert list(df.billing_period) == ["2024-09", "2024-10"] and list(df.rows) == [999, 1]


# --- the hand-worked cases on both engines -------------------------------------------------------------------------

def test_savings_breakdown_case(con, spark_con):
    path, exp = case("savings-breakdown")
    duck, spark = both(path, con, spark_con)
    assert_same(savings_breakdown(duck), savings_breakdown(spark), ["currency"])
    s = savings_breakdown(spark).execute().iloc[0]
    for col, key in [("list_cost", "list_cost_total"), ("contracted_cost", "contracted_cost_total"),
                     ("effective_cost", "effective_cost_total"), ("negotiated_savings", "negotiated_savings"),
                     ("commitment_savings", "commitment_savings"), ("total_savings", "total_savings")]:
        assert isinstance(s[col], Decimal) and q2(s[col]) == q2(exp[key]), col
    assert s.negotiated_savings + s.commitment_savings == s.total_savings
    assert s.effective_savings_rate_pct == pytest.approx(exp["effective_savings_rate_pct"], abs=0.005)


def test_purchase_double_count_case(con, spark_con):
    path, exp = case("focus-purchase-double-count")
    duck, spark = both(path, con, spark_con)
    assert_same(summarize_utilization(duck), summarize_utilization(spark), ["currency", "CommitmentDiscountId"])
    assert_same(summarize_totals(duck), summarize_totals(spark), TOTALS_KEYS)
    util = summarize_utilization(spark).execute().iloc[0]
    assert util.utilization_pct == pytest.approx(exp["commitment_utilization_pct"], abs=0.005)
    assert util.basis == "effective cost"
    tot = summarize_totals(spark).execute().iloc[0]
    assert q2(tot.effective_cost) == q2(exp["effective_cost_total"])  # 820, not 1540
    assert q2(tot.billed_cost) == q2(exp["billed_cost_total"])


def test_sp_negation_case(con, spark_con):
    path, exp = case("sp-negation")
    duck, spark = both(path, con, spark_con)
    assert_same(summarize_utilization(duck), summarize_utilization(spark), ["currency", "CommitmentDiscountId"])
    assert_same(summarize_totals(duck, basis="amortized"), summarize_totals(spark, basis="amortized"), TOTALS_KEYS)
    util = summarize_utilization(spark).execute().iloc[0]
    assert util.utilization_pct == pytest.approx(exp["savings_plan_utilization_pct"])
    assert q2(util.net_savings) == q2(exp["savings_plan_net_savings"])
    tot = summarize_totals(spark, basis="amortized").execute().iloc[0]
    assert q2(tot.billed_cost) == q2(exp["billed_cost_total"])  # 13.00, not 26.50
    assert q2(tot.effective_cost) == q2(exp["amortized_cost_total"])


def test_credits_hide_usage_case(con, spark_con):
    path, exp = case("credits-hide-usage")
    duck, spark = both(path, con, spark_con)
    assert_same(charge_breakdown(duck), charge_breakdown(spark), ["currency", "ChargeCategory"])
    by = ["ServiceName"]
    assert_same(summarize_totals(duck, by=by), summarize_totals(spark, by=by), [*TOTALS_KEYS, "ServiceName"])
    cb = charge_breakdown(spark).execute().set_index("ChargeCategory").billed_cost
    assert (q2(cb["Usage"]), q2(cb["Credit"]), q2(cb["Tax"])) == (q2(exp["usage_cost"]), q2(exp["credits"]),
                                                                   q2(exp["tax"]))
    tot = summarize_totals(spark).execute().iloc[0]
    assert (q2(tot.usage_cost), q2(tot.credits), q2(tot.tax), q2(tot.net_cost)) == tuple(
        q2(exp[k]) for k in ("usage_cost", "credits", "tax", "net_cost"))
    svc = summarize_totals(spark, by=by).execute().set_index("ServiceName")
    assert {k: q2(v) for k, v in svc.usage_cost.items()} == {k: q2(v) for k, v in exp["usage_cost_by_service"].items()}
    assert {k: q2(v) for k, v in svc.net_cost.items()} == {k: q2(v) for k, v in exp["net_cost_by_service"].items()}


def test_mixed_currencies_case(con, spark_con):
    path, exp = case("mixed-currencies")
    duck, spark = both(path, con, spark_con)
    df = assert_same(summarize_totals(duck), summarize_totals(spark), TOTALS_KEYS)
    got = {r.currency: D(r.billed_cost) for r in summarize_totals(spark).execute().itertuples()}
    assert got == {k: D(str(v)) for k, v in exp["billed_cost_by_currency"].items()} and len(df) == 3


CUR_BASE = ("bill_billing_period_start_date,line_item_usage_start_date,line_item_line_item_type,"
            "line_item_unblended_cost,line_item_currency_code")


@pytest.mark.parametrize("flavour", ["legacy-csv", "cur2-parquet"])
def test_cur_tags_case(flavour, tmp_path, con, spark_con):
    # the tag Cost-Center as legacy CUR CSV spells it, and as CUR 2.0 Parquet (a map, key user_cost_center)
    if flavour == "legacy-csv":
        path = tmp_path / "cur.csv"
        path.write_text(CUR_BASE + ",resourceTags/user:Cost-Center\n"
                        "2025-01-01,2025-01-01,Usage,10,USD,CC-1\n2025-01-01,2025-01-01,Usage,5,USD,\n")
    else:
        path = tmp_path / "cur2.parquet"
        duckdb.sql(f"COPY (SELECT * FROM (VALUES ('2025-01-01','2025-01-01','Usage','10','USD', "
                   f"MAP {{'user_cost_center': 'CC-1'}}), ('2025-01-01','2025-01-01','Usage','5','USD', "
                   f"MAP {{}}::MAP(VARCHAR, VARCHAR))) t({CUR_BASE}, resource_tags)) TO '{path}' (FORMAT parquet)")
    duck, spark = both(path, con, spark_con)
    keys = [*TOTALS_KEYS, "tag:Cost-Center"]
    assert_same(summarize_totals(duck, by=["tag:Cost-Center"]), summarize_totals(spark, by=["tag:Cost-Center"]), keys)
    by = summarize_totals(spark, by=["tag:Cost-Center"]).execute()
    got = {(None if pd.isna(k) else k): q2(v) for k, v in zip(by["tag:Cost-Center"], by.billed_cost, strict=True)}
    assert got == {"CC-1": D("10.00"), None: D("5.00")}  # untagged kept as its own group
    exact = {"by": ["tag:Cost-Center"], "case_sensitive_tags": True}
    assert_same(summarize_totals(duck, **exact), summarize_totals(spark, **exact), keys)
