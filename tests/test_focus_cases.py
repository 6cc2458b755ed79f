"""The hand-worked FOCUS cases in ../shared/cases."""

from __future__ import annotations

from decimal import Decimal

import pytest
from conftest import case

from finops_nb import load_charges
from finops_nb.analyses.commitments import summarize_utilization
from finops_nb.analyses.overview import convert_currency, savings_breakdown, single_total, summarize_totals
from finops_nb.errors import MixedCurrencyError

D = Decimal


def q2(v) -> Decimal:
    return D(v).quantize(D("0.01"))


def test_purchase_effective_cost_is_not_counted_twice(con):
    path, exp = case("focus-purchase-double-count")
    ch = load_charges(path, con=con)
    t = ch.table
    tot = t.aggregate(b=t.BilledCost.sum(), e=t.EffectiveCost.sum()).execute().iloc[0]
    assert q2(tot.e) == q2(str(exp["effective_cost_total"]))  # 820, not 1540 and not 100
    assert q2(tot.b) == q2(str(exp["billed_cost_total"]))
    warning = [n for n in ch.notes if n.code == "purchase-double-count"]
    assert warning and warning[0].level == "warning" and "sp-0001" in warning[0].message and "720" in warning[0].message
    util = summarize_utilization(t).execute()
    assert util.utilization_pct.iloc[0] == pytest.approx(exp["commitment_utilization_pct"], abs=0.005)
    assert util.basis.iloc[0] == "effective cost"


def test_savings_breakdown(con):
    path, exp = case("savings-breakdown")
    s = savings_breakdown(load_charges(path, con=con).table).execute().iloc[0]
    assert q2(s.list_cost) == q2(str(exp["list_cost_total"]))
    assert q2(s.contracted_cost) == q2(str(exp["contracted_cost_total"]))
    assert q2(s.effective_cost) == q2(str(exp["effective_cost_total"]))
    assert q2(s.negotiated_savings) == q2(str(exp["negotiated_savings"]))  # 8, not the clipped 10
    assert q2(s.commitment_savings) == q2(str(exp["commitment_savings"]))
    assert q2(s.total_savings) == q2(str(exp["total_savings"]))
    assert s.negotiated_savings + s.commitment_savings == s.total_savings
    assert s.effective_savings_rate_pct == pytest.approx(exp["effective_savings_rate_pct"], abs=0.005)


def test_mixed_currencies_are_never_added(con):
    path, exp = case("mixed-currencies")
    df = summarize_totals(load_charges(path, con=con).table).execute()
    got = {r.currency: D(r.billed_cost) for r in df.itertuples()}
    assert got == {k: D(str(v)) for k, v in exp["billed_cost_by_currency"].items()}
    with pytest.raises(MixedCurrencyError, match="3 currencies"):
        single_total(df)
    converted = convert_currency(df, exp["with_rates"]["rates_to_USD"], to="USD")
    assert single_total(converted) == D(str(exp["with_rates"]["billed_cost_total_USD"]))
    assert single_total(converted) != exp["must_never_show"]


def test_conversion_refuses_a_currency_without_rate(con):
    path, _ = case("mixed-currencies")
    df = summarize_totals(load_charges(path, con=con).table).execute()
    with pytest.raises(Exception, match="no exchange rate to USD for JPY"):
        convert_currency(df, {"EUR": 1.1}, to="USD")
