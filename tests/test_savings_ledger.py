"""The ledger counts each resource once: exclusive actions keep the larger, compatible ones apply in sequence."""

from __future__ import annotations

import pandas as pd
import pytest

from finops_nb.analyses.savings import LEDGER_COLUMNS, count_once, summarize_ledger
from finops_nb.errors import ConfigError


def finding(rid: str, check: str, kind: str, cost: float, saving: float, currency: str = "USD") -> dict:
    row = dict.fromkeys(LEDGER_COLUMNS, "")
    row.update(check=check, action=check, action_kind=kind, ResourceId=rid, currency=currency, owner="team-a",
               monthly_cost=cost, monthly_savings=saving)
    return row


def ledger(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=LEDGER_COLUMNS)


def test_issue_worked_values_idle_rightsize_graviton():
    led = ledger(
        # i-idle: $200/month, idle, also rightsizable ($100) and Graviton-eligible (20 % = $40)
        finding("i-idle", "idle instance", "terminate", 200, 200),
        finding("i-idle", "rightsize", "rightsize", 200, 100),
        finding("i-idle", "x86 -> Graviton", "modernize", 200, 40),
        # i-busy: not idle: rightsize $100, then Graviton 20 % of the remaining $100 = $20 -> $120
        finding("i-busy", "rightsize", "rightsize", 200, 100),
        finding("i-busy", "x86 -> Graviton", "modernize", 200, 40),
    )
    once = count_once(led).set_index("ResourceId")
    assert once.monthly_savings["i-idle"] == pytest.approx(200.0)  # terminate supersedes
    assert once.actions["i-idle"] == "idle instance (terminate)"
    assert once.monthly_savings["i-busy"] == pytest.approx(120.0)  # 100 + 0.2 * (200 - 100)
    assert once.naive_savings["i-busy"] == pytest.approx(140.0)
    assert once.actions["i-busy"] == "rightsize (rightsize) -> x86 -> Graviton (modernize)"
    total = summarize_ledger(led).set_index("check")
    # side by side: counted once 200 + 120 = 320; naive 340 + 140 = 480
    assert total.loc["all checks (each resource once)", "monthly_savings"] == pytest.approx(320.0)
    assert total.loc["all checks (each resource once)", "naive_monthly_savings"] == pytest.approx(480.0)
    assert total.loc["all checks (each resource once)", "findings"] == 2
    assert total.loc["rightsize", "monthly_savings"] == pytest.approx(200.0)


def test_alternatives_of_one_kind_keep_the_larger_and_the_sequence_runs_to_pricing():
    led = ledger(
        finding("i-1", "previous generation", "modernize", 100, 10),
        finding("i-1", "x86 -> Graviton", "modernize", 100, 20),  # alternative: the larger (20) counts
        finding("i-1", "Spot", "pricing", 100, 50),
    )
    # by hand: modernize 20 (left 80 %), then pricing 50 * 0.8 = 40 -> 60; naive 80
    row = count_once(led).iloc[0]
    assert row.monthly_savings == pytest.approx(60.0) and row.naive_savings == pytest.approx(80.0)


def test_a_resource_never_saves_more_than_it_costs_and_a_larger_sequence_beats_terminate():
    led = ledger(
        finding("snap-1", "old snapshot", "terminate", 30, 45),  # overstated finding: capped at the 30 cost
        finding("i-2", "low-cost sprawl", "terminate", 50, 5),  # a small delete vs a larger sequence
        finding("i-2", "rightsize", "rightsize", 50, 25),
        finding("i-2", "Spot", "pricing", 50, 30),  # 25 + 30 * 0.5 = 40 > 5
        finding("i-3", "rightsize", "rightsize", 10, 4, currency="EUR"),
    )
    once = count_once(led).set_index("ResourceId")
    assert once.monthly_savings["snap-1"] == pytest.approx(30.0)
    assert once.monthly_savings["i-2"] == pytest.approx(40.0)
    s = summarize_ledger(led)
    per_currency = s[s.check == "all checks (each resource once)"].set_index("currency").monthly_savings
    assert per_currency.to_dict() == pytest.approx({"USD": 70.0, "EUR": 4.0})  # never mixed


def test_an_unknown_action_kind_is_refused():
    with pytest.raises(ConfigError, match="action_kind"):
        count_once(ledger(finding("x", "c", "magic", 1, 1)))
