"""Commitments: the issue's worked values, current state (term end, hourly commitment, expiry) and coverage,
from FOCUS and from CUR input, against values worked out by hand."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from conftest import case, shared_path

from finops_nb import load_charges
from finops_nb.analyses.commitments import (
    best_commitment,
    commitment_grid,
    coverage_tables,
    expiring_commitments,
    optimal_commitment,
    simulate_commitment,
    summarize_commitments,
    summarize_coverage,
)
from finops_nb.analyses.common import billing_period
from finops_nb.errors import ConfigError
from finops_nb.export import to_focus_parquet

D = Decimal

# Issue 6: 12 hours at $10 and 12 hours at $4 (total 168), d = 30 %.
# C = 2.80 covers 2.80 / 0.7 = 4 per hour: cost = 12 * (2.80 + 6) + 12 * 2.80 = 139.20, savings 28.80,
# utilization 100 %, coverage 96 / 168 = 57.14 %. C = 7 covers 10 per hour: cost = 24 * 7 = 168, savings 0,
# utilization (12 * 7 + 12 * 2.8) / (24 * 7) = 70 %. Savings rise by 12 * C * (1/0.7 - 1) below 2.80 ... the
# best C is 2.80 (above it only 12 hours gain while 24 hours pay).
DAY = [10.0] * 12 + [4.0] * 12


def test_issue_series_worked_values():
    curve = simulate_commitment(DAY, [2.8, 7.0], discount=0.3).set_index("commitment_per_hour")
    a, b = curve.loc[2.8], curve.loc[7.0]
    assert (a.cost_with_commitment, a.savings) == (pytest.approx(139.20), pytest.approx(28.80))
    assert (a.utilization_pct, a.coverage_pct) == (pytest.approx(100.0), pytest.approx(100 * 96 / 168))
    assert round(a.coverage_pct, 2) == 57.14
    assert (b.cost_with_commitment, b.savings, b.utilization_pct) == (
        pytest.approx(168.0), pytest.approx(0.0, abs=1e-9), pytest.approx(70.0))
    assert optimal_commitment(DAY, discount=0.3).commitment_per_hour == pytest.approx(2.8)
    grid = simulate_commitment(DAY, [*commitment_grid(DAY, discount=0.3, steps=10), 2.8], discount=0.3)
    assert best_commitment(grid).commitment_per_hour == pytest.approx(2.8)


def _sp_negation_as(kind, tmp_path, con):
    """The sp-negation case (CUR 2.0), read as CUR or written out as FOCUS 1.2 Parquet and read back."""
    path, exp = case("sp-negation")
    charges = load_charges(path, con=con)
    if kind == "focus":
        out = to_focus_parquet(charges, tmp_path / "focus.parquet")
        charges = load_charges(out, con=con)
        assert charges.format == "focus"
    return charges.table, exp


@pytest.mark.parametrize("kind", ["cur", "focus"])
def test_sp_negation_state_from_cur_and_focus(kind, tmp_path, con):
    t, exp = _sp_negation_as(kind, tmp_path, con)
    s = summarize_commitments(t, month="2025-03").iloc[0]
    assert s.utilization_pct == pytest.approx(exp["savings_plan_utilization_pct"])  # 9 / 10
    assert D(s.net_savings).quantize(D("0.01")) == D("3.50")  # 6 + 7.5 - 10
    # committed 4 + 5 + unused 1 = 10 in the one hour 10:00-11:00: 10.00 per hour; unused cost 1.00
    assert s.hourly_commitment == pytest.approx(10.0) and D(s.unused_cost) == D(1)
    # the case has no savings_plan_end_time column: the term end is not available, nothing expires
    assert s.term_end_source.startswith("not available") and expiring_commitments(s.to_frame().T).empty
    # covered on-demand equivalent 6 + 7.5 = 13.5; the $3 Usage row has no pricing unit, so it is not
    # known to be time-based compute (not eligible): coverage 100 %
    c = summarize_coverage(t, month="2025-03").execute().iloc[0]
    assert D(c.covered_cost) == D("13.5") and D(c.on_demand_cost) == 0 and c.coverage_pct == 100


def test_focus_purchase_double_count_state(con):
    path, exp = case("focus-purchase-double-count")
    s = summarize_commitments(load_charges(path, con=con).table, month="2025-06").iloc[0]
    assert s.utilization_pct == pytest.approx(exp["commitment_utilization_pct"], abs=0.005)  # 700 / 720
    # 700 used + 20 unused over June's 720 hours: 1.00 per hour (the Purchase row's 720 counts 0)
    assert s.hourly_commitment == pytest.approx(1.0) and s.active_hours == 720


HEAD = ("bill_billing_period_start_date,line_item_usage_account_id,line_item_usage_start_date,"
        "line_item_usage_end_date,line_item_line_item_type,line_item_product_code,line_item_unblended_cost,"
        "line_item_currency_code,pricing_unit,pricing_public_on_demand_cost,product_instance_type,"
        "savings_plan_savings_plan_a_r_n,savings_plan_savings_plan_effective_cost,"
        "savings_plan_total_commitment_to_date,savings_plan_used_commitment,savings_plan_end_time,"
        "reservation_reservation_a_r_n,reservation_effective_cost,reservation_end_time\n")
H = "2025-03-01T00:00:00Z,{acct},2025-03-04T10:00:00Z,2025-03-04T11:00:00Z"


@pytest.fixture
def cur_bill(tmp_path, con):
    f = tmp_path / "cur.csv"
    f.write_text(HEAD + "\n".join([
        # sp-1: m5.large covered (on demand 6.00, SP rate 4.00); commitment 5.00 this hour, 4.00 used
        H.format(acct="A") + ",SavingsPlanCoveredUsage,AmazonEC2,6.00,USD,Hrs,6.00,m5.large,sp-1,4.00,,,"
                             "2025-04-20T00:00:00Z,,,",
        H.format(acct="A") + ",SavingsPlanNegation,AmazonEC2,-6.00,USD,,,m5.large,sp-1,,,,2025-04-20T00:00:00Z,,,",
        H.format(acct="A") + ",SavingsPlanRecurringFee,ComputeSavingsPlans,5.00,USD,,,,sp-1,,5.00,4.00,"
                             "2025-04-20T00:00:00Z,,,",
        # ri-1: c5.xlarge covered by a reservation (on demand 3.00, effective 2.00)
        H.format(acct="B") + ",DiscountedUsage,AmazonEC2,0,USD,Hrs,3.00,c5.xlarge,,,,,,ri-1,2.00,"
                             "2025-05-15T00:00:00Z",
        # on demand: m5.large 2.00 (account A), c5.xlarge 3.00 (account B)
        H.format(acct="A") + ",Usage,AmazonEC2,2.00,USD,Hrs,2.00,m5.large,,,,,,,,",
        H.format(acct="B") + ",Usage,AmazonEC2,3.00,USD,Hrs,3.00,c5.xlarge,,,,,,,,",
    ]) + "\n")
    return load_charges(f, con=con).table


def test_term_end_and_expiry_from_cur(cur_bill):
    s = summarize_commitments(cur_bill, month="2025-03").set_index("CommitmentDiscountId")
    # month end 2025-04-01: sp-1 ends 2025-04-20 (19 days: within 30), ri-1 2025-05-15 (44 days: within 60)
    assert s.loc["sp-1", "days_left"] == 19 and s.loc["sp-1", "expires_within_days"] == 30
    assert s.loc["ri-1", "days_left"] == 44 and s.loc["ri-1", "expires_within_days"] == 60
    assert s.loc["sp-1", "term_end_source"] == "x_SavingsPlanEndTime"
    assert s.loc["ri-1", "term_end_source"] == "x_ReservationEndTime"
    # sp-1: used 4 / committed 5 = 80 %, 5.00 per hour, unused 1.00; ri-1: 2.00 used of 2.00
    assert s.loc["sp-1", "utilization_pct"] == pytest.approx(80.0) and s.loc["sp-1", "hourly_commitment"] == 5
    assert s.loc["ri-1", "utilization_pct"] == pytest.approx(100.0)
    assert s.loc["sp-1", "CommitmentDiscountType"] == "Savings Plan"
    assert s.loc["ri-1", "CommitmentDiscountType"] == "Reserved Instance"
    assert list(expiring_commitments(s.reset_index(), within_days=30).CommitmentDiscountId) == ["sp-1"]
    assert len(expiring_commitments(s.reset_index(), within_days=60)) == 2


def test_coverage_by_family_account_and_total(cur_bill):
    # covered (on-demand equivalent) m5 6.00 + c5 3.00 = 9; on demand m5 2.00 + c5 3.00 = 5
    # total 9 / 14 = 64.29 %; m5 6 / 8 = 75 %; c5 3 / 6 = 50 %; account A = m5, B = c5
    total = summarize_coverage(cur_bill, month="2025-03").execute().iloc[0]
    assert total.coverage_pct == pytest.approx(100 * 9 / 14)
    fam = summarize_coverage(cur_bill, month="2025-03", by="family").execute().set_index("family")
    assert fam.coverage_pct.to_dict() == {"c5": pytest.approx(50.0), "m5": pytest.approx(75.0)}
    acct = summarize_coverage(cur_bill, month="2025-03", by="account").execute().set_index("account")
    assert acct.coverage_pct.to_dict() == {"A": pytest.approx(75.0), "B": pytest.approx(50.0)}
    hour = summarize_coverage(cur_bill, month="2025-03", by="hour").execute()
    assert len(hour) == 1 and hour.coverage_pct.iloc[0] == pytest.approx(100 * 9 / 14)
    with pytest.raises(ConfigError, match="coverage by 'region'"):
        summarize_coverage(cur_bill, by="region")


def test_coverage_tables_from_one_read_equal_each_query(cur_bill):
    got = coverage_tables(cur_bill, month="2025-03")
    assert list(got) == [None, "service", "family", "account", "hour"]
    for by, table in got.items():
        alone = summarize_coverage(cur_bill, month="2025-03", by=by).execute()
        assert table.equals(alone), by
        assert [type(v) for v in table.covered_cost] == [D] * len(table)  # exact sums, not floats
    assert got["family"].set_index("family").covered_cost.to_dict() == {"c5": D(3), "m5": D(6)}
    with pytest.raises(ConfigError, match="coverage by 'region'"):
        coverage_tables(cur_bill, by=["region"])


def _scenarios():
    doc = json.loads(shared_path("data", "focus-spec-scenarios", "expected.json").read_text())["cases"]
    return {k: v["commitment_utilization_pct"] for k, v in doc.items() if "commitment_utilization_pct" in v}


@pytest.mark.parametrize(("name", "pct"), sorted(_scenarios().items()))
def test_spec_scenarios_state_utilization(con, name, pct):
    """FOCUS spec scenarios, flexibility across sizes included (expected.json, worked by hand)."""
    t = load_charges(shared_path("data", "focus-spec-scenarios", name), con=con).table
    month = billing_period(t).max().execute()
    s = summarize_commitments(t, month=month)
    assert len(s) == 1 and s.utilization_pct.iloc[0] == pytest.approx(pct, abs=0.005)
    assert s.hourly_commitment.iloc[0] > 0
