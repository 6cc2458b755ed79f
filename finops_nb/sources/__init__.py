"""Readers: every input kind into the one canonical FOCUS-shaped table."""

from __future__ import annotations

import os
from pathlib import Path

import ibis

from finops_nb import config, engine, schema
from finops_nb.errors import ConfigError, DataError
from finops_nb.sources import store
from finops_nb.sources.base import Charges, Note, head_text, list_files
from finops_nb.sources.cur import is_cur, read_cur
from finops_nb.sources.focus import read_focus
from finops_nb.sources.manifest import apply_manifests

FORMATS = ("auto", "focus", "cur")
READERS = {"focus": read_focus, "cur": read_cur}


def headers(path) -> list[str]:
    """The column names of one billing file, read cheaply (CSV header line or Parquet schema)."""
    if path.name.lower().endswith(".parquet"):
        import pyarrow.parquet as pq

        try:
            return pq.read_schema(path).names
        except Exception as exc:  # pyarrow raises several kinds for a damaged file
            raise DataError(f"cannot read the Parquet schema: {exc}", file=str(path)) from exc
    import csv

    first = head_text(path).splitlines()[:1]
    return next(csv.reader(first), []) if first else []


def detect_format(files) -> str:
    """``cur`` when the columns are a Cost and Usage Report's, ``focus`` when they are FOCUS; else an error."""
    kinds = {}
    for f in files:
        cols = headers(f)
        if is_cur(cols):
            kinds[f] = "cur"
        elif any(schema.canonical_name(c) == "BilledCost" for c in cols):
            kinds[f] = "focus"
        else:
            raise DataError("neither FOCUS (no BilledCost column) nor an AWS CUR (no line item unblended cost)",
                            file=str(f), column="BilledCost",
                            hint="pass --format focus or --format cur if the format is known")
    found = sorted(set(kinds.values()))
    if len(found) > 1:
        raise DataError(f"the folder mixes formats ({', '.join(found)}); load each format separately")
    return found[0]


def load_charges(data: str | os.PathLike | None = None, *, con: ibis.BaseBackend | None = None,
                 format: str = "auto", session=None, show_progress: bool = False) -> Charges:
    """Load a billing export (file or folder) into the canonical ``charges`` table.

    ``data``: a path or ``s3://bucket/prefix`` (mirrored into the local cache by ETag through boto3
    ``session``, honouring AWS_ENDPOINT_URL); ``"sample"`` or empty means FINOPS_DATA or the shipped sample.
    ``con``: an Ibis connection from ``finops_nb.engine.connect`` (default: embedded DuckDB).
    ``format``: ``auto`` detects the format from the columns; ``focus`` forces the FOCUS reader.
    """
    if format not in FORMATS:
        raise ConfigError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
    path = config.resolve_data(data)
    if path.startswith("s3://"):
        from finops_nb.sources.s3 import sync_prefix

        path = sync_prefix(path, session=session, show_progress=show_progress).folder
    files, notes = apply_manifests(list_files(path), Path(path))
    kind = detect_format(files) if format == "auto" else format
    con = con or engine.connect()
    duck = con if con.name == "duckdb" else engine.connect("duckdb://")
    charges = store.restore(files, kind, duck) or store.read_and_keep(READERS[kind], files, kind, duck)
    charges.notes[:0] = notes
    return charges if con.name == "duckdb" else hand_over(charges, con)


def hand_over(charges: Charges, con: ibis.BaseBackend) -> Charges:
    """The canonical table, read and checked by embedded DuckDB, registered in another engine as Parquet.

    Readers are written against DuckDB (they need its CSV sniffing and row numbers); other engines
    (Spark, ...) receive the finished, validated table, so every engine sees the same rows.
    Parquet keeps DECIMAL(38, 12), the map of tags and UTC instants; a column the other engine reads back
    with another Ibis type (Spark's TIMESTAMP has no zone in Ibis) is cast to the canonical type.
    """
    target = charges.parquet
    if target is None:  # the store is off: write the table where only this hand-over reads it
        target = store.canonical_path(charges.files, charges.format).with_suffix(".handover.parquet")
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_suffix(".part")
        charges.table.to_parquet(part)
        part.replace(target)
    table = store.view_parquet(con, target)
    canonical, got = charges.table.schema(), table.schema()
    differ = {c: typ for c, typ in canonical.items() if got[c] != typ}
    if differ:
        table = table.cast(differ)
    return Charges(table=table, con=con, files=charges.files, format=charges.format, notes=charges.notes)


def from_table(con: ibis.BaseBackend, name: str, *, database: str | None = None) -> Charges:
    """A FOCUS table that already lives in an engine (Athena, Spark, DuckDB) as the canonical table.

    For large users whose data stays where it is: e.g. the Athena table over an AWS Data Exports FOCUS 1.2
    export. Columns are matched to FOCUS names without regard to case and cast to the canonical types;
    FOCUS columns the table lacks are typed NULLs (views that need them say so); other columns are kept
    only when named ``x_*``. A commitment purchase whose EffectiveCost would be counted twice counts 0, as
    the readers do (``analyses.common.double_counted_purchases``). No row is read here: the analyses compile
    to the engine's SQL.
    """
    raw = con.table(name, database=database)
    by_canon = {schema.canonical_name(c): c for c in raw.columns if schema.canonical_name(c)}
    if "BilledCost" not in by_canon:
        raise DataError(f"table {name!r} has no BilledCost column: is it a FOCUS table?", column="BilledCost")
    if "Tags" in by_canon and not raw[by_canon["Tags"]].type().is_map():
        del by_canon["Tags"]  # tags stored as text cannot be cast portably; tag views say 'not available'
    exprs = []
    for col, sql_type in schema.COLUMNS.items():
        typ = schema.IBIS_TYPES[sql_type]
        exprs.append((raw[by_canon[col]].cast(typ) if col in by_canon else ibis.null(typ)).name(col))
    extras = [raw[c] for c in raw.columns if c.startswith("x_")]
    missing = [c for c in schema.COLUMNS if c not in by_canon]
    notes = []
    if missing:
        notes.append(Note("info", "missing-columns", f"FOCUS columns absent from {name}: {', '.join(missing)}"))
    from finops_nb.analyses.common import without_double_counted_purchases

    table = without_double_counted_purchases(raw.select(*exprs, *extras))
    return Charges(table=table, con=con, files=[], format="table", notes=notes)


__all__ = ["Charges", "Note", "load_charges", "from_table", "FORMATS"]
