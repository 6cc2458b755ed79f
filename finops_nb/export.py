"""Exports of the canonical table: FOCUS 1.2 Parquet (for conformance checks and other FOCUS tools)."""

from __future__ import annotations

from pathlib import Path

from finops_nb import schema
from finops_nb.sources import Charges


def to_focus_parquet(charges: Charges, path: str | Path) -> Path:
    """Write the canonical table as a FOCUS 1.2 Parquet file: FOCUS columns in spec order, then ``x_`` columns.

    ``Tags`` is written as a JSON object in text (FOCUS: key-value format in JSON); money keeps its exact
    decimal type; timestamps are UTC.
    """
    t = charges.table
    extras = [c for c in t.columns if c.startswith("x_")]
    out = t.select([*(c for c in schema.COLUMNS if c != "Tags"), "Tags", *extras])
    out = out.mutate(Tags=out.Tags.cast("json").cast("string"))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_parquet(path)
    return path
