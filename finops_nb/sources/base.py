"""What every reader returns: the canonical table plus data-quality notes."""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb
import ibis
import pandas as pd

from finops_nb.errors import ConservationError, DataError

SUFFIXES = (".csv", ".csv.gz", ".parquet")
NULL_STRINGS = ["NULL", "null", ""]


@dataclass
class Note:
    """One data-quality finding: kept data that deviates from the spec, or a fix applied on load."""

    level: str  # "info" or "warning"
    code: str  # short stable id, e.g. "null-strings"
    message: str
    rows: int = 0
    file: str | None = None


@dataclass
class Charges:
    """A loaded billing export: the canonical FOCUS-shaped table and what was noticed on the way."""

    table: ibis.Table
    con: ibis.BaseBackend
    files: list[Path]
    format: str
    notes: list[Note] = field(default_factory=list)
    parquet: Path | None = None  # the checked table kept as Parquet (``sources.store``), when it is

    def notes_frame(self) -> pd.DataFrame:
        return pd.DataFrame([n.__dict__ for n in self.notes], columns=["level", "code", "message", "rows", "file"])

    def show_notes(self):
        """The notes as a styled table with full messages (for notebooks)."""
        cols = ["level", "code", "message", "rows"]
        frame = self.notes_frame()[cols].assign(rows=lambda d: d["rows"].map(lambda n: f"{n:,}" if n else ""))
        return frame.style.hide(axis="index").set_properties(**{"text-align": "left"})


def list_files(path: str | Path) -> list[Path]:
    """The billing files under ``path`` (a file or a folder, searched recursively), sorted."""
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError("no such file or folder", file=str(p),
                        hint="pass a FOCUS export (.csv, .csv.gz, .parquet) or a folder of them")
    if p.is_file():
        files = [p]
    else:
        files = sorted(f for f in p.rglob("*") if f.is_file() and f.name.lower().endswith(SUFFIXES))
        if not files:
            raise DataError("the folder holds no .csv, .csv.gz or .parquet file", file=str(p))
    for f in files:
        if not f.name.lower().endswith(SUFFIXES):
            raise DataError("unsupported file type", file=str(f), hint="use .csv, .csv.gz or .parquet")
    return files


def sha256(path: Path) -> str:
    st = path.stat()
    return _sha256(str(path.resolve()), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=4096)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def head_text(path: Path, size: int = 65536) -> str:
    """The first bytes of a text file (gzip-aware), for sniffing quirks cheaply."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            return fh.read(size).decode("utf-8", errors="replace")
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read the file: {exc}", file=str(path),
                        hint="the file may be truncated or not gzip; download it again") from exc


def read_sql(name: str) -> str:
    """A hand-written query from ``finops_nb/sql/`` without its comment header."""
    from finops_nb.config import SQL_DIR

    text = (SQL_DIR / name).read_text()
    return "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("--")).strip().rstrip(";")


def q(name: str) -> str:
    """Quote an identifier (a column name read from a file header)."""
    return '"' + name.replace('"', '""') + '"'


def refuse_duplicates(files: list[Path]) -> None:
    """The same content given twice (two names, one export) would count its cost twice."""
    seen: dict[str, Path] = {}
    for f in files:
        digest = sha256(f)
        if digest in seen:
            raise DataError(f"has the same content as {seen[digest]}", file=str(f),
                            hint="the same export was given twice; remove one copy so no cost is counted twice")
        seen[digest] = f


def read_raw(db: duckdb.DuckDBPyConnection, f: Path, table: str) -> None:
    """Create the temp table ``table``: the file as stored (CSV as text), with a 1-based ``__row``."""
    name = f.name.lower()
    try:
        if name.endswith(".parquet"):
            db.execute(
                f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * EXCLUDE (file_row_number), "
                "file_row_number + 1 AS __row FROM read_parquet(?, file_row_number = true)", [str(f)])
        else:
            db.execute(
                f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT row_number() OVER () AS __row, * "
                "FROM read_csv(?, all_varchar = true, header = true, nullstr = ?)", [str(f), NULL_STRINGS])
    except duckdb.OutOfMemoryException as exc:
        raise DataError("ran out of memory while reading it (nothing was loaded)", file=str(f),
                        hint="raise FINOPS_READER_MEMORY (e.g. 8GB) or free memory; DuckDB spills to "
                        "FINOPS_CACHE_DIR past the limit, so also check that folder has free disk") from exc
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        raise DataError(f"cannot be parsed: {first}", file=str(f),
                        hint="check that the file is complete (not truncated) and is CSV or Parquet") from exc


def raw_columns(db: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Column name -> DuckDB type of a raw table, without ``__row``."""
    return {name: typ for name, typ, *_ in db.execute(f"DESCRIBE {table}").fetchall() if name != "__row"}


KIND_WORDS = {"money": "a number", "timestamp": "a valid timestamp", "tags": "a JSON object of tags"}


def check_values(db: duckdb.DuckDBPyConnection, f: Path, raw_table: str,
                 checks: list[tuple[str, str, str]]) -> None:
    """Every non-empty value must cast; the first that does not is the error, naming file, row and column.

    ``checks``: (raw column, SQL expression of its typed value, kind), kind one of ``KIND_WORDS`` or a SQL type.
    """
    if not checks:
        return
    parts = []
    for raw, typed, _kind in checks:
        bad = f"{q(raw)} IS NOT NULL AND ({typed}) IS NULL"
        parts.append(f"count(*) FILTER (WHERE {bad}), arg_min(CAST({q(raw)} AS VARCHAR), __row) FILTER (WHERE {bad}), "
                     f"min(__row) FILTER (WHERE {bad})")
    result = db.execute(f"SELECT {', '.join(parts)} FROM {raw_table}").fetchone()
    for k, (raw, _typed, kind) in enumerate(checks):
        count, value, row = result[3 * k: 3 * k + 3]
        if count:
            what = KIND_WORDS.get(_kind_word(kind), "of the expected type")
            raise DataError(f"{value!r} is not {what} ({count} such row(s) in this file; nothing was loaded)",
                            file=str(f), row=row, column=raw, hint="fix or remove the row and load again")


def _kind_word(kind: str) -> str:
    k = kind.upper()
    if k.startswith("DECIMAL") or k in ("DOUBLE", "MONEY"):
        return "money"
    if k.startswith("TIMESTAMP"):
        return "timestamp"
    if k.startswith("MAP") or k == "TAGS":
        return "tags"
    return kind


# the code that decides what a load produces (the AWS API adapters beside the readers do not)
READER_FILES = ("schema.py", "analyses/common.py", *(f"sources/{m}.py" for m in
                                                     ("__init__", "base", "focus", "cur", "manifest", "store")))


@functools.lru_cache(maxsize=1)
def reader_version() -> str:
    """A hash of the reading code and SQL: a cached parse is reused only by the code that made it."""
    from finops_nb.config import PACKAGE_DIR, SQL_DIR

    h = hashlib.sha256()
    for p in sorted([*(PACKAGE_DIR / f for f in READER_FILES), *SQL_DIR.glob("*.sql")]):
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def cached_load(db: duckdb.DuckDBPyConnection, f: Path, typed: str, notes: list[Note], load_file):
    """``load_file(db, f, typed, notes)``, or its result restored from the parse cache.

    A CSV or CSV.gz file is parsed and checked once: its typed rows are kept as Parquet under
    ``FINOPS_CACHE_DIR/parsed/<sha256 of the file>-<reader>-<reader_version>.parquet`` with its notes.
    Parquet input is read directly. ``FINOPS_CACHE=off`` disables the cache. A file without rows is noted.
    """
    from finops_nb.config import cache_dir, cache_enabled

    if f.name.lower().endswith(".parquet") or not cache_enabled():
        result = load_file(db, f, typed, notes)
    else:
        result = _through_cache(db, f, typed, notes, load_file, cache_dir() / "parsed")
    if not db.execute(f"SELECT count(*) FROM {typed}").fetchone()[0]:
        notes.append(Note("warning", "empty-file", "the file has a header but no rows", file=str(f)))
    return result


def _through_cache(db, f: Path, typed: str, notes: list[Note], load_file, folder: Path):
    reader = load_file.__module__.rsplit(".", 1)[-1]
    stem = folder / f"{sha256(f)}-{reader}-{reader_version()}"
    data, meta = stem.with_suffix(".parquet"), stem.with_suffix(".json")
    if data.exists() and meta.exists():
        db.execute(f"CREATE OR REPLACE TEMP TABLE {typed} AS SELECT * FROM read_parquet(?)", [str(data)])
        saved = json.loads(meta.read_text())
        notes += [Note(**{**n, "file": str(f)}) for n in saved["notes"]]
        return saved["result"]
    before = len(notes)
    result = load_file(db, f, typed, notes)
    folder.mkdir(parents=True, exist_ok=True)
    part = data.with_suffix(".parquet.part")
    db.table(typed).write_parquet(str(part))
    part.replace(data)
    meta.write_text(json.dumps({"notes": [n.__dict__ for n in notes[before:]], "result": result}))
    return result


def table_notes(db: duckdb.DuckDBPyConnection, table: str) -> list[Note]:
    """Notes about the loaded table as a whole (several currencies, several billing periods)."""
    currencies = [r[0] for r in db.execute(
        f"SELECT DISTINCT BillingCurrency FROM {table} ORDER BY 1 NULLS LAST").fetchall()]
    if len(currencies) > 1:
        shown = ", ".join("(none)" if c is None else c for c in currencies)
        return [Note("info", "several-currencies", f"amounts in {len(currencies)} currencies ({shown}): totals "
                     "are given per currency and never added without exchange rates")]
    return []


def period_totals(db: duckdb.DuckDBPyConnection, table: str, *, period: str = "BillingPeriodStart",
                  currency: str = "BillingCurrency", cost: str = "BilledCost") -> dict[tuple, Decimal]:
    """Exact sum of ``cost`` per (billing period ``YYYY-MM``, currency) of ``table``."""
    rows = db.execute(f"SELECT strftime({q(period)}, '%Y-%m'), {q(currency)}, sum({q(cost)}) "
                      f"FROM {table} GROUP BY ALL").fetchall()
    return {(p, c): (v or Decimal(0)) for p, c, v in rows}


def check_conservation(db: duckdb.DuckDBPyConnection, source: dict[tuple, Decimal], table: str,
                       source_name: str) -> None:
    """Per billing period and currency, BilledCost of ``table`` must equal ``source`` exactly; otherwise the
    table is dropped (nothing half-loaded) and the error names the period."""
    out = period_totals(db, table)
    for key in sorted(set(out) | set(source), key=str):
        if out.get(key, Decimal(0)) != source.get(key, Decimal(0)):
            db.execute(f"DROP TABLE IF EXISTS {table}")
            raise ConservationError(f"billing period {key[0]} {key[1]}: loaded BilledCost {out.get(key)} differs "
                                    f"from the {source_name} {source.get(key)}; nothing was loaded",
                                    hint="this is a bug in the reader; please report it")


def tags_map_sql(column: str, raw_type: str) -> str:
    """SQL reading a tags column as the canonical map: a MAP as stored, or JSON text parsed (NULL if not an
    object of tags, which ``check_values`` then reports with file, row and column)."""
    from finops_nb.schema import TAGS

    if raw_type.upper().startswith("MAP"):
        return f"TRY_CAST({q(column)} AS {TAGS})"
    return f"json_transform(TRY_CAST({q(column)} AS JSON), '\"{TAGS}\"')"


def require_values(db: duckdb.DuckDBPyConnection, f: Path, typed: str, columns: dict[str, str], why: str) -> None:
    """Every row of ``typed`` needs a value in each column (``{column: header to name in the error}``)."""
    for col, header in columns.items():
        row, n = db.execute(f"SELECT min(__row), count(*) FROM {typed} WHERE {q(col)} IS NULL").fetchone()
        if n:
            raise DataError(f"is empty in {n} row(s); {why} (nothing was loaded)", file=str(f), row=row,
                            column=header, hint="fix the export and load again")
