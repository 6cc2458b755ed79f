"""Money read from text: the fast DECIMAL(18, 12) parse and the wide one give the same exact amounts."""

from decimal import Decimal

import duckdb
import pytest

from finops_nb.sources.base import money_sql

CASES = [
    ("1234567.123456789012345", Decimal("1234567.123456789012")),  # wide cast, 12 decimals kept
    ("999999.9999999999995", Decimal("1000000.000000000000")),  # rounds up past the narrow range
    ("12345678901234567890.5", Decimal("12345678901234567890.5")),
    ("-0.0000000000005", Decimal("-0.000000000001")),  # half away from zero at scale 12
    ("0.07263", Decimal("0.07263")),
    ("1.5E3", Decimal("1500")),
    ("+3.25", Decimal("3.25")),
    (".5", Decimal("0.5")),
    ("twelve", None),
    ("1,5", None),
    (None, None),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_money_from_text(text, expected):
    fast = duckdb.sql(f"SELECT {money_sql('x')} FROM (SELECT CAST(? AS VARCHAR) AS x)", params=[text]).fetchone()[0]
    wide = duckdb.sql("SELECT TRY_CAST(CAST(? AS VARCHAR) AS DECIMAL(38, 12))", params=[text]).fetchone()[0]
    assert fast == expected and fast == wide
