"""Tables for people: rounded money, blanks for missing values, no index, a caption saying what is shown."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from finops_nb.analyses.common import money_frame


def money_table(df: pd.DataFrame, *, columns: Sequence[str] | None = None, money: Sequence[str] = (),
                decimals: int = 2, top: int | None = None, caption: str = ""):
    """A pandas Styler: ``money`` columns with ``decimals`` places and thousands separators, NaN shown blank.

    With ``top``, only the first ``top`` rows are shown and the caption says "showing top of total".
    """
    data = money_frame(df)
    if columns is not None:
        data = data[list(columns)]
    total = len(data)
    if top is not None and total > top:
        data = data.head(top)
        caption = f"{caption} (showing {top} of {total:,} rows)".strip()
    fmt = {c: f"{{:,.{decimals}f}}" for c in money if c in data.columns}
    styler = data.style.hide(axis="index").format(fmt, na_rep="")
    styler = styler.format(na_rep="", subset=[c for c in data.columns if c not in fmt])
    return styler.set_caption(caption) if caption else styler
