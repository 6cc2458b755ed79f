"""Action lists and tables for people who work in spreadsheets: one CSV/XLSX file per owner, XLSX workbooks.

XLSX is written with openpyxl (https://openpyxl.readthedocs.io): money columns stay numbers (so they add up in
Excel) shown with the number format ``#,##0.00``; the header row is bold and frozen; column widths follow the
longest value (capped). Sheet names follow Excel's rules: at most 31 characters, none of ``[]:*?/\\``, unique.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd

NO_OWNER = "(no owner)"
MONEY_FORMAT = "#,##0.00"
MONEY_RE = re.compile(r"(cost|savings|credits|tax|budget|amount|total)", re.IGNORECASE)
FORMATS = ("csv", "xlsx")
MAX_WIDTH = 60


def owner_file_name(owner) -> str:
    """A file-name-safe form of an owner: runs of characters other than letters, digits, ``.``, ``_`` and ``-``
    become ``_`` (``team b`` -> ``team_b``, ``web/api`` -> ``web_api``); missing or empty -> ``no-owner``."""
    name = "no-owner" if owner is None or owner != owner or owner == NO_OWNER else str(owner)
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_.") or "no-owner"


def owner_file_names(owners: Iterable) -> dict:
    """``owner_file_name`` for each owner, made unique (``a/b`` and ``a_b`` -> ``a_b``, ``a_b-2``) in sorted
    order of the owners' text so that a run gives every owner the same name."""
    out, used = {}, set()
    for owner in sorted(set(owners), key=lambda o: (o is None or o != o, str(o))):
        base = name = owner_file_name(owner)
        n = 1
        while name.lower() in used:  # case-insensitive file systems (macOS, Windows) too
            n += 1
            name = f"{base}-{n}"
        used.add(name.lower())
        out[owner] = name
    return out


def money_columns(frame: pd.DataFrame) -> list[str]:
    """Columns shown as money: numeric (or Decimal) columns whose name says cost, savings, credits, tax, budget,
    amount or total."""
    out = []
    for c in frame.columns:
        values = frame[c].dropna()
        numeric = pd.api.types.is_numeric_dtype(frame[c]) or (
            len(values) > 0 and all(isinstance(v, (int, float, Decimal)) and not isinstance(v, bool) for v in values))
        if numeric and MONEY_RE.search(str(c)):
            out.append(c)
    return out


def sheet_title(name: str, used: set[str]) -> str:
    """An Excel sheet name for ``name``: forbidden characters replaced, at most 31 characters, unique in ``used``
    (compared without case, as Excel does)."""
    base = re.sub(r"[\[\]:*?/\\]", "_", str(name)).strip("'") or "sheet"
    title, n = base[:31], 1
    while title.lower() in used:
        n += 1
        suffix = f" ({n})"
        title = base[:31 - len(suffix)] + suffix
    used.add(title.lower())
    return title


def _cell(v):
    if v is None or (not isinstance(v, (list, dict, tuple)) and pd.isna(v)):
        return None
    if isinstance(v, pd.Timestamp):
        v = v.to_pydatetime()
    if isinstance(v, datetime) and v.tzinfo is not None:  # Excel has no time zones: UTC wall time
        from datetime import UTC

        return v.astimezone(UTC).replace(tzinfo=None)
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):  # numpy scalars
        return v.item()
    if isinstance(v, (str, int, float, Decimal, datetime, bool)):
        return v
    return str(v)


def write_xlsx(frames: Mapping[str, pd.DataFrame], path: str | Path) -> Path:
    """One workbook at ``path`` with one sheet per frame (in order, named by its key): header bold and frozen,
    money columns (``money_columns``) as numbers formatted ``#,##0.00``, column widths from the longest value."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for name, frame in frames.items():
        ws = wb.create_sheet(sheet_title(name, used))
        money = set(money_columns(frame))
        ws.append([str(c) for c in frame.columns])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in frame.itertuples(index=False):
            ws.append([_cell(v) for v in row])
        widths = [len(str(c)) for c in frame.columns]
        for j, c in enumerate(frame.columns, start=1):
            for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                if c in money and cell.value is not None:
                    cell.number_format = MONEY_FORMAT
                shown = f"{cell.value:,.2f}" if c in money and cell.value is not None else str(cell.value or "")
                widths[j - 1] = max(widths[j - 1], len(shown))
            ws.column_dimensions[get_column_letter(j)].width = min(widths[j - 1] + 2, MAX_WIDTH)
        ws.freeze_panes = "A2"
    if not frames:
        wb.create_sheet("empty")
    wb.save(path)
    return path


def write_action_lists(ledger: pd.DataFrame, folder: str | Path, *, owner_column: str = "owner",
                       formats: Iterable[str] = FORMATS, prefix: str = "", columns: list[str] | None = None,
                       sheet: str = "actions") -> list[Path]:
    """One action list per owner in ``folder`` (created): ``{prefix}{owner_file_name}.csv`` and/or ``.xlsx``
    (sheet ``sheet``), with ``columns`` (default: all) in that order; rows without an owner go to the list of
    ``(no owner)`` (file ``no-owner``). Every ledger row lands in exactly one owner's list. The paths written,
    sorted by owner."""
    formats = tuple(formats)
    if bad := [f for f in formats if f not in FORMATS]:
        from finops_nb.errors import ConfigError

        raise ConfigError(f"action list format {', '.join(bad)} is not one of {', '.join(FORMATS)}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = ledger.reindex(columns=columns) if columns is not None else ledger
    owners = ledger[owner_column].where(ledger[owner_column].notna(), NO_OWNER)
    names = owner_file_names(owners)
    written = []
    for owner, part in rows.groupby(owners.to_numpy(), sort=True):
        stem = f"{prefix}{names[owner]}"
        if "csv" in formats:
            part.to_csv(folder / f"{stem}.csv", index=False)
            written.append(folder / f"{stem}.csv")
        if "xlsx" in formats:
            written.append(write_xlsx({sheet: part}, folder / f"{stem}.xlsx"))
    return written
