"""``finops-nb commitments`` through finops_nb.cli.main on the shipped sample and a hand-worked case."""

from __future__ import annotations

import json

import pytest
from conftest import case

from finops_nb.cli import main


def run_json(capsys, *argv):
    assert main(["commitments", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_sp_negation_case(capsys):
    path, exp = case("sp-negation")
    doc = run_json(capsys, "--data", str(path), "--month", "2025-03")
    (c,) = doc["commitments"]
    assert c["utilization_pct"] == pytest.approx(exp["savings_plan_utilization_pct"])  # 9 / 10
    assert c["net_savings"] == pytest.approx(exp["savings_plan_net_savings"])  # 13.50 - 10
    assert c["hourly_commitment"] == pytest.approx(10.0) and c["unused_cost"] == pytest.approx(1.0)
    assert c["term_end"] is None and c["term_end_source"].startswith("not available")
    # ESR: list 6 + 7.5 + 3 = 16.5, effective 13 -> 3.5 / 16.5 = 21.21 %, all of it commitment savings
    (s,) = doc["savings"]
    assert s["effective_savings_rate_pct"] == pytest.approx(100 * 3.5 / 16.5) and s["negotiated_savings"] == 0
    # no eligible on-demand hours: commit nothing; the bill's own rate 1 - (4 + 5 + unused 1) / 13.5 = 25.9 %
    (r,) = doc["recommendation"]
    assert r["currency"] == "USD" and r["commitment_per_hour"] == 0 and r["hours"] == 720
    assert r["discount"] == pytest.approx(1 - 10 / 13.5) and r["discount_source"].startswith("observed")


def test_sample_with_term_and_payment(capsys):
    doc = run_json(capsys, "--data", "sample", "--month", "2024-09", "--lookback", "30", "--term", "3y",
                   "--payment", "all-upfront")
    assert len(doc["commitments"]) == 2 and all("utilization_pct" in c for c in doc["commitments"])
    (r,) = doc["recommendation"]
    # the sample's covered rows carry EffectiveCost 0 (no usable rate): the table's 3y all upfront,
    # 1 - 0.044 / 0.096 = 54.17 %; the window is September's 720 hours
    assert r["discount"] == pytest.approx(1 - 0.044 / 0.096) and r["discount_source"].startswith("shipped table")
    assert (r["term"], r["payment"], r["hours"]) == ("3y", "all-upfront", 720)
    assert r["eligible_on_demand"] == pytest.approx(17.58088)  # the notebook's eligible on-demand


def test_tables_and_bad_input(capsys):
    assert main(["commitments", "--data", "sample", "--month", "2024-09"]) == 0
    out = capsys.readouterr().out
    assert "recommendation (2024-09)" in out and "utilization_pct" in out
    assert main(["commitments", "--data", "sample", "--month", "2024-13"]) == 2
    assert "YYYY-MM" in capsys.readouterr().err


def test_focus_cases_through_the_command(capsys):
    path, exp = case("focus-purchase-double-count")
    doc = run_json(capsys, "--data", str(path), "--month", "2025-06")
    assert doc["commitments"][0]["utilization_pct"] == pytest.approx(exp["commitment_utilization_pct"], abs=0.005)
    path, exp = case("savings-breakdown")
    (s,) = run_json(capsys, "--data", str(path), "--month", "2025-06")["savings"]
    assert s["effective_savings_rate_pct"] == pytest.approx(exp["effective_savings_rate_pct"], abs=0.005)  # 68 / 278
    assert (s["negotiated_savings"], s["commitment_savings"]) == (pytest.approx(8.0), pytest.approx(60.0))
