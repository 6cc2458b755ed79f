"""The FOCUS reader on the real sample and the FOCUS spec's scenarios: totals to the cent, quirks noted."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from conftest import SAMPLE, shared_path

from finops_nb import load_charges
from finops_nb.analyses.commitments import summarize_utilization
from finops_nb.analyses.overview import summarize_totals
from finops_nb.errors import DataError

D = Decimal


def q4(v) -> Decimal:
    return D(v).quantize(D("0.0001"))


def q2(v) -> Decimal:
    return D(v).quantize(D("0.01"))


def test_sample_totals_by_billing_period_match_the_data_readme(con):
    ch = load_charges(SAMPLE, con=con)
    df = summarize_totals(ch.table).execute()
    got = {r.billing_period: (r.currency, r.rows, q4(r.billed_cost), q4(r.effective_cost)) for r in df.itertuples()}
    assert got == {"2024-09": ("USD", 999, D("20.2802"), D("14.9765")), "2024-10": ("USD", 1, D("0.2400"), D("0.0000"))}


def test_sample_totals_by_provider_match_the_data_readme(con):
    t = load_charges(SAMPLE, con=con).table
    df = t.group_by("ProviderName").aggregate(n=t.count(), b=t.BilledCost.sum(), e=t.EffectiveCost.sum(),
                                              lc=t.ListCost.sum()).execute()
    got = {r.ProviderName: (r.n, q2(r.b), q2(r.e), q2(r.lc)) for r in df.itertuples()}
    assert got == {
        "AWS": (942, D("18.01"), D("13.00"), D("18.15")),
        "Microsoft": (51, D("1.98"), D("1.98"), D("1.98")),
        "Oracle": (7, D("0.54"), D("0.00"), D("0.27")),
    }


def test_money_is_decimal_and_timestamps_are_utc(con):
    t = load_charges(SAMPLE, con=con).table
    schema = t.schema()
    assert str(schema["BilledCost"]) == "decimal(38, 12)"
    assert schema["ChargePeriodStart"].timezone == "UTC"
    first = t.filter(t.x_Id == "11472").execute().iloc[0]
    assert first.ChargePeriodStart.isoformat() == "2024-09-18T22:00:00+00:00"  # zone-less text read as UTC
    assert first.BilledCost == D("0.000000800000")


def test_sample_quirks_are_reported_not_fatal(con):
    ch = load_charges(SAMPLE, con=con)
    codes = {n.code: n for n in ch.notes}
    assert {"null-strings", "zoneless-timestamps", "tags-json", "non-standard-column", "tag-key-spacing",
            "availability-zone-number", "allowed-value-spelling", "missing-cost"} <= set(codes)
    assert codes["availability-zone-number"].rows == 51
    assert codes["allowed-value-spelling"].rows == 7  # Oracle's 'Usage-based'
    assert codes["missing-cost"].rows == 7 and "Oracle" in codes["missing-cost"].message
    t = ch.table
    assert t.filter(t.ChargeFrequency == "Usage-based").count().execute() == 0
    assert "x_Id" in t.columns and "Id" not in t.columns


def _expected_scenarios():
    path = shared_path("data", "focus-spec-scenarios", "expected.json")
    return json.loads(path.read_text())["cases"]


@pytest.mark.parametrize("name", [
    "commitment_discount_usage_scenario_1.csv", "commitment_discount_usage_scenario_2.csv",
    "commitment_discount_usage_scenario_3.csv", "commitment_discount_usage_scenario_4.csv",
    "commitment_discount_purchase_scenario_1.csv",
    "one_hundred_percent_utilization_with_commitment_discount_flexibility_with_1_resource.csv",
    "one_hundred_percent_utilization_with_commitment_discount_flexibility_with_2_resources.csv",
    "one_hundred_percent_utilization_without_commitment_discount_flexibility.csv",
    "zero_percent_utilization_without_commitment_discount_flexibility.csv",
])
def test_focus_spec_scenarios(con, name):
    expected = _expected_scenarios()[name]
    t = load_charges(shared_path("data", "focus-spec-scenarios", name), con=con).table
    totals = t.aggregate(b=t.BilledCost.sum(), e=t.EffectiveCost.sum()).execute().iloc[0]
    assert q2(totals.b) == q2(str(expected["billed_cost_total"]))
    assert q2(totals.e) == q2(str(expected["effective_cost_total"]))
    if "commitment_utilization_pct" in expected:
        util = summarize_utilization(t).execute()
        assert len(util) == 1
        assert util.utilization_pct.iloc[0] == pytest.approx(expected["commitment_utilization_pct"], abs=0.005)


@pytest.mark.parametrize("name", ["commitment_discount_purchase_scenario_2.csv",
                                  "commitment_discount_purchase_scenario_3.csv"])
def test_impossible_timestamps_are_refused_with_file_row_and_column(con, name):
    path = shared_path("data", "focus-spec-scenarios", name)
    load_charges(shared_path("data", "focus-spec-scenarios", "commitment_discount_usage_scenario_1.csv"), con=con)
    with pytest.raises(DataError) as err:
        load_charges(path, con=con)
    e = err.value
    assert e.file == str(path) and e.column == "ChargePeriodEnd"
    assert e.row == (3 if name.endswith("_2.csv") else 4)
    assert "2023-02-01T30:00:00Z" in str(e)
    # nothing half-loaded: the table still holds the previous load, untouched
    assert con.table("charges").count().execute() == 1


def test_spec_scenario_spelling_and_blank_lines(con):
    name = "one_hundred_percent_utilization_with_commitment_discount_flexibility_with_1_resource.csv"
    ch = load_charges(shared_path("data", "focus-spec-scenarios", name), con=con)
    assert ch.table.count().execute() == 3  # blank lines between rows are not rows
    assert "SkuPriceId" in ch.table.columns
    assert any(n.code == "column-spelling" and "SkuPriceid" in n.message for n in ch.notes)
    assert "x_CommitmentDiscountUnitPrice" in ch.table.columns


def test_quirk_notes_of_a_folder_name_each_file_and_its_rows(tmp_path, con):
    """The notes of several files come from one grouped read, each with its own file and counts."""
    head = "BillingCurrency,BillingPeriodStart,ChargePeriodStart,ChargeCategory,ChargeFrequency,BilledCost\n"
    (tmp_path / "a.csv").write_text(head + "USD,2025-01-01,2025-01-02T00:00:00,Usage,usage-based,1\n"
                                    "USD,2025-01-01,2025-01-02T01:00:00,Usage,Usage-Based,2\n"
                                    "USD,2025-01-01,2025-01-02T02:00:00,Usage,Usage-based,3\n")
    (tmp_path / "b.csv").write_text(head + "USD,2025-01-01,2025-01-03T00:00:00Z,Usage,Usage-Based,4\n"
                                    "USD,2025-01-01,2025-01-03T00:00:00Z,Usage,Hourly,5\n")
    notes = {(n.code, n.file.rsplit("/", 1)[-1]): n for n in load_charges(tmp_path, con=con).notes if n.file}
    # a.csv: 3 zone-less timestamps, 2 values respelled; b.csv: zoned, 1 value FOCUS does not allow
    assert notes[("zoneless-timestamps", "a.csv")].rows == 3 and ("zoneless-timestamps", "b.csv") not in notes
    assert notes[("allowed-value-spelling", "a.csv")].rows == 2 and ("allowed-value-spelling", "b.csv") not in notes
    other = notes[("not-allowed-value", "b.csv")]
    assert other.rows == 1 and "Hourly" in other.message and ("not-allowed-value", "a.csv") not in notes
