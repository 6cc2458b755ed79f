"""Tables for people: rounded money, blanks for missing values, no index, a caption saying what is shown."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from finops_nb.analyses.common import money_frame

ID_WIDTH = 48  # resource ids (ARNs, Azure paths) are cut to their last characters, where the name is


def short_id(value, width: int = ID_WIDTH) -> str:
    """``…`` + the last ``width - 1`` characters of a long id; blank for a missing one."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    text = str(value)
    return text if len(text) <= width else "…" + text[-(width - 1):]


def money_table(df: pd.DataFrame, *, columns: Sequence[str] | None = None, money: Sequence[str] = (),
                decimals: int = 2, top: int | None = None, caption: str = ""):
    """A pandas Styler: ``money`` columns with ``decimals`` places and thousands separators, NaN shown blank,
    text left-aligned and long resource ids cut to their last characters (``short_id``).

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
    fmt.update({c: short_id for c in ("ResourceId", "CommitmentDiscountId") if c in data.columns})
    styler = data.style.hide(axis="index").format(fmt, na_rep="")
    text = [c for c in data.columns if c not in fmt]
    styler = styler.format(na_rep="", subset=text)
    left = [c for c in data.columns if c not in money]
    if left:
        styler = styler.set_properties(subset=left, **{"text-align": "left"})
    return styler.set_caption(caption) if caption else styler
