"""Simulator additions: terms and payment options, expiring commitments netted out, ladder, sensitivity."""

from __future__ import annotations

import pandas as pd
import pytest

from finops_nb import load_charges
from finops_nb.analyses.commitments import (
    DEFAULT_DISCOUNT,
    DEFAULT_DISCOUNT_SOURCE,
    compare_terms,
    discount_for,
    hourly_eligible_spend_lookback,
    hourly_spend_after_expiry,
    load_commitment_rates,
    observed_discount,
    optimal_commitment,
    plan_ladder,
    sensitivity_to_growth,
    sensitivity_to_lookback,
    summarize_commitments,
)
from finops_nb.errors import ConfigError

DAY = [10.0] * 12 + [4.0] * 12  # the series: 12 h at $10, 12 h at $4


def test_rate_table_is_dated_sourced_and_agrees_with_the_default():
    r = load_commitment_rates()
    assert len(r) == 18 and r.source.str.startswith("https://aws.amazon.com/").all() and (r.as_of == "2024-09").all()
    one = r[(r.plan == "compute_sp") & (r.term == "1y") & (r.payment == "no-upfront")].iloc[0]
    assert one.discount == pytest.approx(1 - 0.069 / 0.096)  # 28.125 %
    assert round(one.discount, 2) == DEFAULT_DISCOUNT
    # more upfront and a longer term never cost more per hour
    for _, g in r.groupby(["plan", "term"]):
        by_payment = g.set_index("payment").loc[["no-upfront", "partial-upfront", "all-upfront"]]
        assert by_payment.discount.is_monotonic_increasing
    assert (r[r.term == "3y"].discount.values > r[r.term == "1y"].discount.values).all()


def test_discount_for_prefers_the_bill():
    d, source = discount_for("3y", "all-upfront")
    assert d == pytest.approx(1 - 0.044 / 0.096) and source.startswith("shipped table")
    d, source = discount_for("3y", "all-upfront", observed=(0.4, "observed on this bill's committed usage"))
    assert d == 0.4 and "observed" in source and "shipped table: 54.2%" in source
    # the default (no committed usage on the bill) is not the bill's rate: the table's option is used
    d, _ = discount_for("3y", "no-upfront", observed=(DEFAULT_DISCOUNT, DEFAULT_DISCOUNT_SOURCE))
    assert d == pytest.approx(0.5)
    with pytest.raises(ConfigError, match="term '2y'"):
        discount_for("2y")
    with pytest.raises(ConfigError, match="payment option 'upfront'"):
        discount_for("1y", "upfront")


def test_compare_terms_hand_worked():
    df = compare_terms(DAY).set_index("option")
    assert list(df.index[:2]) == ["1y no-upfront", "1y partial-upfront"] and len(df) == 6
    # 1y no upfront, d = 1 - 0.069/0.096 = 0.28125: best C covers the $4 floor, C = 4 * 0.71875 = 2.875,
    # savings = 24 * 4 - 24 * 2.875 = 27.00
    a = df.loc["1y no-upfront"]
    assert a.commitment_per_hour == pytest.approx(2.875) and a.savings == pytest.approx(27.0)
    # 3y all upfront, d = 1 - 0.044/0.096 = 54.17 %, 1 - d = 0.4583 < 0.5: covering the $10 hours too pays
    # (each $ of cover above $4 saves 12 on-demand $ and costs 24 * 0.4583 = 11). C = 10 * 0.4583 = 4.5833,
    # cost = 24 * 4.5833 = 110, savings = 168 - 110 = 58.00 (covering only $4: 168 - (44 + 72) = 52.00)
    b = df.loc["3y all-upfront"]
    assert b.commitment_per_hour == pytest.approx(10 * 0.044 / 0.096) and b.savings == pytest.approx(58.0)
    assert b.utilization_pct == pytest.approx(100 * 168 / 240)  # covered 168 of 240 on-demand $
    with_bill = compare_terms(DAY, observed=(0.3, "observed on this bill's committed usage"))
    assert with_bill.option.iloc[0] == "this bill" and with_bill.commitment_per_hour.iloc[0] == pytest.approx(2.8)


def test_ladder():
    lad = plan_ladder(2.8, months=4, start_month="2025-11")
    assert list(lad.month) == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert lad.purchase_per_hour.tolist() == pytest.approx([0.7] * 4)
    assert lad.cumulative_per_hour.tolist() == pytest.approx([0.7, 1.4, 2.1, 2.8])
    with pytest.raises(ConfigError):
        plan_ladder(1.0, months=0, start_month="2025-11")


def test_sensitivity_to_growth():
    s = sensitivity_to_growth(DAY, discount=0.3, growths=[-0.5, 0.0, 0.5]).set_index("growth")
    # spend x 1.5: floor 6 -> C = 4.2, savings 28.80 x 1.5 = 43.20; x 0.5: floor 2 -> C = 1.4, savings 14.40
    assert s.loc[0.5, "commitment_per_hour"] == pytest.approx(4.2) and s.loc[0.5, "savings"] == pytest.approx(43.2)
    assert s.loc[-0.5, "commitment_per_hour"] == pytest.approx(1.4) and s.loc[-0.5, "savings"] == pytest.approx(14.4)
    assert s.loc[0.0, "commitment_per_hour"] == pytest.approx(2.8)


HEADER = ("BillingCurrency,BillingPeriodStart,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,ServiceCategory,"
          "PricingCategory,PricingUnit,CommitmentDiscountId,ListCost,EffectiveCost,BilledCost\n")


def test_sensitivity_to_lookback(tmp_path, con):
    # 1.00 on demand every hour of the last 7 days of March 2025 (168 hours), nothing before.
    # 7 days: C = 0.7 covers every hour, savings 168 * 0.3 = 50.40. 30 days: 168 of 720 hours busy, any C
    # covers 168 * C / 0.7 and costs 720 * C: a loss, so C = 0.
    start = pd.Timestamp("2025-03-25T00:00Z")
    rows = [f"USD,2025-03-01,{(start + pd.Timedelta(hours=h)).isoformat()},"
            f"{(start + pd.Timedelta(hours=h + 1)).isoformat()},Usage,Compute,Standard,Hours,,1,1,1"
            for h in range(168)]
    f = tmp_path / "bill.csv"
    f.write_text(HEADER + "\n".join(rows) + "\n")
    s = sensitivity_to_lookback(load_charges(f, con=con).table, month="2025-03", discount=0.3,
                                lookbacks=[7, 30]).set_index("lookback_days")
    assert s.loc[7, "commitment_per_hour"] == pytest.approx(0.7) and s.loc[7, "savings"] == pytest.approx(50.4)
    assert s.loc[30, "commitment_per_hour"] == 0 and s.loc[30, "hours"] == 720


def test_sensitivity_to_lookback_reads_once_as_each_window_would(tmp_path, con):
    # a daily row of 24.00 from 2025-03-24T12:00 to 03-25T12:00 straddles the 7-day window's start: 12 of its
    # hours are in [03-25, 04-01) and take its whole cost (2.00 each; a row's cost stays in its window), all 24
    # hours are in the 30-day window; plus 0.50 at 2025-03-10T05:00, in the 30- and 60-day windows only
    rows = ["USD,2025-03-01,2025-03-24T12:00:00Z,2025-03-25T12:00:00Z,Usage,Compute,Standard,Hours,,24,24,24",
            "USD,2025-03-01,2025-03-10T05:00:00Z,2025-03-10T06:00:00Z,Usage,Compute,Standard,Hours,,0.5,0.5,0.5"]
    f = tmp_path / "bill.csv"
    f.write_text(HEADER + "\n".join(rows) + "\n")
    t = load_charges(f, con=con).table
    s = sensitivity_to_lookback(t, month="2025-03", discount=0.3, lookbacks=[7, 30, 60]).set_index("lookback_days")
    assert s.eligible_cost.to_dict() == {7: pytest.approx(24.0), 30: pytest.approx(24.5), 60: pytest.approx(24.5)}
    for days in (7, 30, 60):
        h = hourly_eligible_spend_lookback(t, month="2025-03", lookback_days=days)
        best = optimal_commitment(h.eligible_cost, discount=0.3)
        assert (s.loc[days, "hours"], s.loc[days, "eligible_cost"]) == (len(h), float(h.eligible_cost.sum()))
        assert s.loc[days, "commitment_per_hour"] == best.commitment_per_hour


def test_expiring_commitments_become_on_demand(tmp_path, con):
    from test_commitments_state import HEAD, H

    f = tmp_path / "cur.csv"
    f.write_text(HEAD + "\n".join([
        # sp-1 (ends 2025-04-20, 19 days after the month end) covers 6.00 of on-demand at 10:00
        H.format(acct="A") + ",SavingsPlanCoveredUsage,AmazonEC2,6.00,USD,Hrs,6.00,m5.large,sp-1,4.00,,,"
                             "2025-04-20T00:00:00Z,,,",
        # ri-1 (ends 2025-05-15, 44 days) covers 3.00
        H.format(acct="B") + ",DiscountedUsage,AmazonEC2,0,USD,Hrs,3.00,c5.xlarge,,,,,,ri-1,2.00,"
                             "2025-05-15T00:00:00Z",
        # on demand 5.00 at 10:00
        H.format(acct="A") + ",Usage,AmazonEC2,5.00,USD,Hrs,5.00,m5.large,,,,,,,,",
    ]) + "\n")
    t = load_charges(f, con=con).table
    hour = pd.Timestamp("2025-03-04T10:00Z")
    after30 = hourly_spend_after_expiry(t, month="2025-03", within_days=30).set_index("hour")
    assert len(after30) == 744  # every hour of March
    # within 30 days only sp-1 expires: 5 + 6 = 11 at 10:00; within 60 days both: 5 + 6 + 3 = 14
    assert after30.loc[hour, "eligible_cost"] == 5 and after30.loc[hour, "eligible_after_expiry"] == 11
    after60 = hourly_spend_after_expiry(t, month="2025-03", within_days=60).set_index("hour")
    assert after60.loc[hour, "eligible_after_expiry"] == 14 and after60.eligible_after_expiry.sum() == 14
    none = hourly_spend_after_expiry(t, month="2025-03", within_days=7)
    assert none.eligible_after_expiry.sum() == 5
    state = summarize_commitments(t, month="2025-03")
    given = hourly_spend_after_expiry(t, month="2025-03", within_days=60, state=state).set_index("hour")
    assert given.equals(after60)

    from finops_nb.commands.commitments import collect_commitments

    read = collect_commitments(t, month="2025-03", expiring_within=60)
    passed = collect_commitments(t, month="2025-03", expiring_within=60, state=state,
                                 observed=observed_discount(t, month="2025-03"), coverage=read["coverage"],
                                 savings=read["savings"])
    assert passed["recommendation"].equals(read["recommendation"]) and passed["hourly"].equals(read["hourly"])
    assert passed["recommendation"].expiring_added_back.iloc[0] == 9  # sp-1 6.00 + ri-1 3.00 in the window


def test_expiring_netted_over_a_lookback(tmp_path, con):
    from test_commitments_state import HEAD, H

    f = tmp_path / "cur.csv"
    f.write_text(HEAD + H.format(acct="A") + ",SavingsPlanCoveredUsage,AmazonEC2,6.00,USD,Hrs,6.00,m5.large,"
                 "sp-1,4.00,,,2025-04-20T00:00:00Z,,,\n")
    # 7-day window [2025-03-25, 2025-04-01) misses the 2025-03-04 hour; 30 days [03-02, 04-01) holds it
    t = load_charges(f, con=con).table
    seven = hourly_spend_after_expiry(t, month="2025-03", within_days=30, lookback_days=7)
    thirty = hourly_spend_after_expiry(t, month="2025-03", within_days=30, lookback_days=30)
    assert len(seven) == 168 and seven.eligible_after_expiry.sum() == 0
    assert len(thirty) == 720 and thirty.eligible_after_expiry.sum() == 6
