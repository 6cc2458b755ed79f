"""The commitment planner widget in a kernel: term, payment and lookback selectors redraw the curve."""

from __future__ import annotations

import pytest
from conftest import steady_bill

from finops_nb.widgets import CommitmentPlanner


def test_planner_follows_term_payment_and_lookback(tmp_path):
    p = CommitmentPlanner(steady_bill(tmp_path))
    # 30 days [03-02, 04-01) = 720 hours at 1.00; 1y no upfront d = 1 - 0.069/0.096 = 28.125 %:
    # C = 0.71875 covers every hour, savings 720 * 0.28125 = 202.50
    assert p.month == "2025-03" and p.commitment.value == pytest.approx(0.71875)
    assert p.best.savings == pytest.approx(202.5) and "202.5000 USD" in p.stats.value
    # 3y all upfront: d = 1 - 0.044/0.096 = 54.1667 %: C = 0.458333, savings 720 * 0.541667 = 390.00
    p.term.value = "3y"
    p.payment.value = "all-upfront"
    assert p.commitment.value == pytest.approx(0.044 / 0.096, abs=1e-4) and p.best.savings == pytest.approx(390.0)
    # 7 days: 168 hours -> savings 168 * 0.541667 = 91.00
    p.lookback.value = 7
    assert p.best.savings == pytest.approx(91.0) and "over 168 hours" in p.stats.value
    # the slider at 0: nothing saved, utilization n/a
    p.commitment.value = 0
    assert "<b>0.0000 USD</b>" in p.stats.value and "n/a" in p.stats.value and "<svg" in p.chart.value


def test_planner_takes_the_callers_discount_and_commitments(tmp_path):
    """Notebook 30 hands the planner what it read already; the planner uses it instead of reading again."""
    from finops_nb.analyses import commitments as cm

    charges = steady_bill(tmp_path)
    state = cm.summarize_commitments(charges.table, month="2025-03")
    p = CommitmentPlanner(charges, month="2025-03", observed=(0.5, "caller rate"), state=state)
    # 720 hours at 1.00 with d = 50 %: C = 0.50 covers every hour, savings 720 * 0.5 = 360.00
    assert p.commitment.value == pytest.approx(0.5) and p.best.savings == pytest.approx(360.0)
    assert "caller rate" in p.stats.value and p.state is state
