"""Tables for people: rounded money, blanks for missing values, long ids cut, a caption saying what is shown."""

from __future__ import annotations

import pandas as pd

from finops_nb.tables import money_table, short_id


def test_money_table_formats_for_people():
    df = pd.DataFrame({"ResourceId": ["/subscriptions/x/" + "a" * 60, "i-1", None],
                       "owner": ["team-a", None, None], "monthly_savings": [1234.5678, None, 0.004]})
    page = money_table(df, money=["monthly_savings"], decimals=2, top=2, caption="Ledger").to_html()
    assert "Ledger (showing 2 of 3 rows)" in page
    assert "1,234.57" in page and "nan" not in page.lower() and "None" not in page
    assert "…" + "a" * 47 in page and "/subscriptions/x/" not in page
    assert "0.00" not in page  # the third row is not shown


def test_short_id_keeps_short_ids_whole():
    assert short_id("i-0abc") == "i-0abc" and short_id(None) == "" and len(short_id("x" * 100)) == 48
