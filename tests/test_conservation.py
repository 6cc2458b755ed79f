"""The conservation check itself: it fails on a mismatch, names the period, and leaves nothing loaded."""

from __future__ import annotations

from decimal import Decimal

import pytest

from finops_nb.engine import raw_duckdb
from finops_nb.errors import ConservationError
from finops_nb.sources.base import check_conservation, period_totals


def test_a_cent_missing_is_an_error_and_the_table_is_dropped(con):
    db = raw_duckdb(con)
    db.execute("CREATE TABLE charges AS SELECT TIMESTAMPTZ '2025-01-01 00:00:00+00' AS BillingPeriodStart, "
               "'USD' AS BillingCurrency, CAST(10.00 AS DECIMAL(38, 12)) AS BilledCost")
    assert period_totals(db, "charges") == {("2025-01", "USD"): Decimal("10")}
    check_conservation(db, {("2025-01", "USD"): Decimal("10.00")}, "charges", "source's")  # equal: no error
    with pytest.raises(ConservationError, match="billing period 2025-01 USD"):
        check_conservation(db, {("2025-01", "USD"): Decimal("10.01")}, "charges", "source's")
    assert "charges" not in con.list_tables()
