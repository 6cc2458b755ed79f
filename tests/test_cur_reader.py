"""AWS CUR (legacy CSV, legacy Parquet, CUR 2.0) into the canonical table: the hand-worked cases in every
flavour give the same numbers, tags land in one map, amortization follows AWS's rules."""

from __future__ import annotations

import csv
import gzip
import shutil
from decimal import Decimal

import duckdb
import pandas as pd
import pytest
from conftest import case

from finops_nb import load_charges
from finops_nb.analyses.commitments import summarize_utilization
from finops_nb.analyses.overview import summarize_totals
from finops_nb.errors import DataError
from finops_nb.sources.cur import snake, tag_key

D = Decimal
LEGACY = {
    "bill_billing_period_start_date": "bill/BillingPeriodStartDate",
    "line_item_usage_account_id": "lineItem/UsageAccountId",
    "line_item_usage_start_date": "lineItem/UsageStartDate",
    "line_item_usage_end_date": "lineItem/UsageEndDate",
    "line_item_line_item_type": "lineItem/LineItemType",
    "line_item_product_code": "lineItem/ProductCode",
    "line_item_resource_id": "lineItem/ResourceId",
    "line_item_unblended_cost": "lineItem/UnblendedCost",
    "line_item_currency_code": "lineItem/CurrencyCode",
    "line_item_line_item_description": "lineItem/LineItemDescription",
    "line_item_usage_amount": "lineItem/UsageAmount",
    "savings_plan_savings_plan_a_r_n": "savingsPlan/SavingsPlanARN",
    "savings_plan_savings_plan_effective_cost": "savingsPlan/SavingsPlanEffectiveCost",
    "savings_plan_total_commitment_to_date": "savingsPlan/TotalCommitmentToDate",
    "savings_plan_used_commitment": "savingsPlan/UsedCommitment",
}
FLAVOURS = ["cur2-csv", "legacy-csv", "legacy-csv-gz", "parquet"]


def q2(v) -> Decimal:
    return D(v).quantize(D("0.01"))


def as_q2(mapping) -> dict:
    return {k: q2(str(v)) for k, v in dict(mapping).items()}


def test_snake_is_awss_header_conversion():
    for snake_name, legacy in LEGACY.items():
        assert snake(legacy) == snake_name
    assert snake("reservation/UnusedAmortizedUpfrontFeeForBillingPeriod") == \
        "reservation_unused_amortized_upfront_fee_for_billing_period"
    assert tag_key("resourceTags/user:Cost-Center") == "Cost-Center"
    assert tag_key("resource_tags_user_cost_center") == "cost_center"
    assert tag_key("resourceTags/aws:createdBy") == "aws:createdBy"
    assert tag_key("lineItem/ResourceId") is None


def flavour(src, kind, tmp_path):
    """The same case rows written as another CUR flavour."""
    if kind == "cur2-csv":
        return src
    if kind == "parquet":
        out = tmp_path / "cur.parquet"
        duckdb.sql(f"COPY (SELECT * FROM read_csv('{src}', all_varchar=true)) TO '{out}' (FORMAT parquet)")
        return out
    rows = list(csv.reader(src.open()))
    rows[0] = [LEGACY[h] for h in rows[0]]
    out = tmp_path / "cur.csv"
    with out.open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    if kind == "legacy-csv-gz":
        gz = tmp_path / "cur.csv.gz"
        with out.open("rb") as a, gzip.open(gz, "wb") as b:
            shutil.copyfileobj(a, b)
        out.unlink()
        return gz
    return out


def totals(path, con, **kw):
    return summarize_totals(load_charges(path, con=con).table, **kw).execute()


@pytest.mark.parametrize("kind", FLAVOURS)
def test_sp_negation(kind, tmp_path, con):
    src, exp = case("sp-negation")
    ch = load_charges(flavour(src, kind, tmp_path), con=con)
    assert ch.format == "cur"
    tot = summarize_totals(ch.table, basis="amortized").execute().iloc[0]
    assert q2(tot.billed_cost) == q2(str(exp["billed_cost_total"]))  # 13.00, not 26.50
    assert tot.provisional  # no bill_invoice_id: the month is not invoiced yet
    assert q2(tot.effective_cost) == q2(str(exp["amortized_cost_total"]))
    util = summarize_utilization(ch.table).execute().iloc[0]
    assert util.utilization_pct == pytest.approx(exp["savings_plan_utilization_pct"])
    assert q2(util.net_savings) == q2(str(exp["savings_plan_net_savings"]))


@pytest.mark.parametrize("kind", FLAVOURS)
def test_sp_upfront_refund_counts_zero_amortized(kind, tmp_path, con):
    src, exp = case("sp-upfront-refund")
    tot = totals(flavour(src, kind, tmp_path), con).iloc[0]
    assert q2(tot.billed_cost) == q2(str(exp["billed_cost_total"]))
    assert q2(tot.effective_cost) == q2(str(exp["amortized_cost_total"]))  # not -801.00


@pytest.mark.parametrize("kind", FLAVOURS)
def test_credits_do_not_hide_usage(kind, tmp_path, con):
    src, exp = case("credits-hide-usage")
    path = flavour(src, kind, tmp_path)
    tot = totals(path, con).iloc[0]
    assert (q2(tot.usage_cost), q2(tot.credits), q2(tot.tax), q2(tot.net_cost)) == tuple(
        q2(str(exp[k])) for k in ("usage_cost", "credits", "tax", "net_cost"))
    by = totals(path, con, by=["ServiceName"]).set_index("ServiceName")
    assert as_q2(by.usage_cost) == as_q2(exp["usage_cost_by_service"])
    assert as_q2(by.net_cost) == as_q2(exp["net_cost_by_service"])


@pytest.mark.parametrize("kind", FLAVOURS)
def test_private_rate_and_edp_discounts_are_discounts(kind, tmp_path, con):
    src, exp = case("private-and-edp-discounts")
    path = flavour(src, kind, tmp_path)
    tot = totals(path, con).iloc[0]
    assert q2(tot.usage_cost) == q2(str(exp["gross_usage_cost"]))
    assert q2(tot.discounts) == q2(str(exp["discounts"]))
    assert q2(tot.net_cost) == q2(str(exp["net_cost"])) and q2(tot.credits) == 0
    by = totals(path, con, by=["ServiceName"]).set_index("ServiceName")
    assert as_q2(by.net_cost) == as_q2(exp["net_cost_by_service"])


HEAD = ("bill_billing_period_start_date,line_item_usage_start_date,line_item_line_item_type,line_item_product_code,"
        "line_item_unblended_cost,line_item_currency_code,line_item_usage_amount,reservation_reservation_a_r_n,"
        "reservation_effective_cost,reservation_unused_amortized_upfront_fee_for_billing_period,"
        "reservation_unused_recurring_fee\n")


def test_reserved_instance_amortization(tmp_path, con):
    # by hand: upfront Fee 1000 -> 0 amortized; RIFee 50 -> unused upfront 10 + unused recurring 5 = 15;
    # DiscountedUsage (unblended 0) -> reservation effective cost 40. Billed 1050, amortized 55.
    # As in FOCUS, the unused 15 is a Usage row of the reservation with status Unused: amortized usage
    # is 40 + 15 = 55 and the purchases count 0.
    f = tmp_path / "ri.csv"
    f.write_text(HEAD + "\n".join([
        "2025-01-01,2025-01-01,Fee,AmazonEC2,1000,USD,1,arn:ri-1,,,",
        "2025-01-01,2025-01-01,RIFee,AmazonEC2,50,USD,744,arn:ri-1,,10,5",
        "2025-01-01,2025-01-02,DiscountedUsage,AmazonEC2,0,USD,24,arn:ri-1,40,,",
    ]) + "\n")
    t = load_charges(f, con=con).table
    tot = summarize_totals(t, basis="amortized").execute().iloc[0]
    assert (q2(tot.billed_cost), q2(tot.effective_cost)) == (D("1050.00"), D("55.00"))
    assert q2(tot.purchase_cost) == D("0.00") and q2(tot.usage_cost) == D("55.00")
    unused = t.filter(t.CommitmentDiscountStatus == "Unused").execute()
    assert len(unused) == 1 and q2(unused.EffectiveCost.iloc[0]) == D("15.00") and unused.BilledCost.iloc[0] == 0
    # usage quantity sums over usage rows only, never fee rows
    assert t.ConsumedQuantity.sum().execute() == D(24)
    util = summarize_utilization(t).execute().iloc[0]
    assert util.CommitmentDiscountType == "Reserved Instance"
    assert util.utilization_pct == pytest.approx(100 * 40 / 55)


def test_tags_from_every_flavour_land_in_one_map(tmp_path, con):
    base = ("bill_billing_period_start_date,line_item_usage_start_date,line_item_line_item_type,"
            "line_item_unblended_cost,line_item_currency_code")
    rows = ["2025-01-01,2025-01-01,Usage,10,USD", "2025-01-01,2025-01-01,Usage,5,USD"]
    legacy = tmp_path / "legacy" / "cur.csv"
    legacy.parent.mkdir()
    legacy.write_text(base + ",resourceTags/user:Cost-Center\n" + f"{rows[0]},CC-1\n{rows[1]},\n")
    athena = tmp_path / "athena.parquet"
    duckdb.sql(f"COPY (SELECT * FROM (VALUES ('2025-01-01','2025-01-01','Usage','10','USD','CC-1'), "
               f"('2025-01-01','2025-01-01','Usage','5','USD',NULL)) t({base}, resource_tags_user_cost_center)) "
               f"TO '{athena}' (FORMAT parquet)")
    cur2 = tmp_path / "cur2.parquet"
    duckdb.sql(f"COPY (SELECT * FROM (VALUES ('2025-01-01','2025-01-01','Usage','10','USD', "
               f"MAP {{'user_cost_center': 'CC-1'}}), ('2025-01-01','2025-01-01','Usage','5','USD', "
               f"MAP {{}}::MAP(VARCHAR, VARCHAR))) t({base}, resource_tags)) TO '{cur2}' (FORMAT parquet)")
    for path in (legacy, athena, cur2):
        by = totals(path, con, by=["tag:Cost-Center"])
        got = {(None if pd.isna(k) else k): q2(v) for k, v in zip(by["tag:Cost-Center"], by.billed_cost, strict=True)}
        assert got == {"CC-1": D("10.00"), None: D("5.00")}, path  # untagged kept as its own group


def test_cur2_product_map_and_missing_optional_columns(tmp_path, con):
    f = tmp_path / "cur2.parquet"
    duckdb.sql(f"""COPY (SELECT '2025-01-01' AS bill_billing_period_start_date,
        '2025-01-01T05:00:00Z' AS line_item_usage_start_date, 'Usage' AS line_item_line_item_type,
        'AmazonEC2' AS line_item_product_code, 1.5 AS line_item_unblended_cost, 'USD' AS line_item_currency_code,
        'm5.large' AS product_instance_type,
        MAP {{'product_name': 'Amazon Elastic Compute Cloud', 'operating_system': 'Linux'}} AS product)
        TO '{f}' (FORMAT parquet)""")
    ch = load_charges(f, con=con)
    row = ch.table.execute().iloc[0]
    assert (row.ServiceName, row.x_InstanceType, row.x_OperatingSystem) == (
        "Amazon Elastic Compute Cloud", "m5.large", "Linux")
    assert row.ServiceCategory == "Compute" and row.PricingCategory == "Standard"
    missing = " ".join(n.message for n in ch.notes if n.code == "not-available")
    assert "savings_plan_" in missing and "reservation_" in missing and "resource ids" in missing


def test_bad_cur_value_names_file_row_and_legacy_column(tmp_path, con):
    src, _ = case("credits-hide-usage")
    path = flavour(src, "legacy-csv", tmp_path)
    text = path.read_text().replace(",13.86,", ",13,86.x,", 1)
    path.write_text(text)
    with pytest.raises(DataError):
        load_charges(path, con=con)
    rows = path.read_text().splitlines()
    rows[2] = rows[2].replace("13,86.x", "thirteen")
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(DataError) as err:
        load_charges(path, con=con)
    assert (err.value.row, err.value.column) == (2, "lineItem/UnblendedCost")


def test_format_can_be_forced_and_mixed_formats_are_refused(tmp_path, con):
    src, _ = case("sp-upfront-refund")
    with pytest.raises(DataError, match="required FOCUS column"):
        load_charges(src, con=con, format="focus")
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(src, folder / "cur.csv")
    focus_src, _ = case("mixed-currencies")
    shutil.copy(focus_src, folder / "focus.csv")
    with pytest.raises(DataError, match="mixes formats"):
        load_charges(folder, con=con)
