"""What every reader returns: the canonical table plus data-quality notes."""

from __future__ import annotations

import functools
import gzip
import hashlib
import re
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


def refuse_truncated(files: list[Path]) -> None:
    """Refuse a ``.gz`` file whose compressed stream ends before its end marker (a cut download).

    DuckDB's CSV reader stops at the cut without an error, so a cut export would load as a part of its
    month. Every gzip member is inflated to its end and its CRC checked, output discarded (ISA-L's inflate,
    about 1 GB/s of text). A file of several members cut exactly between two members cannot be told from a
    whole one (gzip records no total length); only a manifest's sizes would show it."""
    for f in files:
        if f.name.lower().endswith(".gz"):
            st = f.stat()
            _check_gzip(str(f), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=4096)
def _check_gzip(path: str, size: int, mtime_ns: int) -> None:
    from isal import isal_zlib

    def cut(why: str) -> DataError:
        return DataError(f"the gzip file is {why}, so part of it would be missing", file=path,
                         hint="the download was probably cut short; download the file again")

    inflate, started = isal_zlib.decompressobj(31), False
    try:
        with open(path, "rb") as fh:
            for data in iter(lambda: fh.read(1 << 20), b""):
                while data:
                    if inflate.eof:  # the next member of a multi-member file
                        inflate = isal_zlib.decompressobj(31)
                    inflate.decompress(data, 1 << 24)
                    started = True
                    data = inflate.unused_data if inflate.eof else inflate.unconsumed_tail
    except isal_zlib.error as exc:
        raise cut(f"damaged ({exc})") from exc
    if not started or not inflate.eof:
        raise cut("cut short (it ends before its end marker)")


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


def lit(text: str) -> str:
    """One of our own constants (an allowed value, a product key) as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def q(name: str) -> str:
    """Quote an identifier (a column name read from a file header)."""
    return '"' + name.replace('"', '""') + '"'


def check_inputs(files: list[Path]) -> None:
    """What every reader refuses before reading: the same content twice, a cut ``.gz``."""
    refuse_duplicates(files)
    refuse_truncated(files)


def refuse_duplicates(files: list[Path]) -> None:
    """The same content given twice (two names, one export) would count its cost twice."""
    seen: dict[str, Path] = {}
    for f in files:
        digest = sha256(f)
        if digest in seen:
            raise DataError(f"has the same content as {seen[digest]}", file=str(f),
                            hint="the same export was given twice; remove one copy so no cost is counted twice")
        seen[digest] = f


def source_sql(f: Path) -> tuple[str, dict]:
    """The file as stored (CSV as text, so every value is checked by our casts), as a FROM clause."""
    if f.name.lower().endswith(".parquet"):
        return "read_parquet($path)", {"path": str(f)}
    # 8 MB read buffers: DuckDB's default for a .gz held ~8 GB for a 10M-row file, these ~0.5 GB (and faster)
    return ("read_csv($path, all_varchar = true, header = true, nullstr = $nulls, buffer_size = 8388608)",
            {"path": str(f), "nulls": NULL_STRINGS})


def _parse_error(f: Path | None, exc: Exception) -> DataError:
    if isinstance(exc, duckdb.OutOfMemoryException):
        return DataError("ran out of memory while reading it (nothing was loaded)", file=f and str(f),
                         hint="raise FINOPS_READER_MEMORY (e.g. 8GB) or free memory; DuckDB spills to "
                         "FINOPS_CACHE_DIR past the limit, so also check that folder has free disk")
    first = str(exc).strip().splitlines()[0]
    return DataError(f"cannot be parsed: {first}", file=f and str(f),
                     hint="check that the file is complete (not truncated) and is CSV or Parquet")


def source_columns(db: duckdb.DuckDBPyConnection, f: Path) -> dict[str, str]:
    """Column name -> DuckDB type of the file as stored (CSV: all VARCHAR), read from its header only.

    ``DESCRIBE`` binds the query without running it (``db.sql`` with parameters runs it: the whole file
    was read into memory, 8 GB for a 10M-row CUR)."""
    source, params = source_sql(f)
    try:
        return {name: str(typ) for name, typ, *_ in db.execute(f"DESCRIBE SELECT * FROM {source}", params).fetchall()}
    except duckdb.Error as exc:
        raise _parse_error(f, exc) from exc


def money_sql(text: str) -> str:
    """SQL casting the text ``text`` to the canonical money type (NULL if it is not a number).

    Parsing text into DECIMAL(38, 12) is about ten times slower in DuckDB than into DECIMAL(18, 12), which
    holds every amount under a million at the same scale (rounded the same way); only larger amounts or
    values that do not parse take the wide cast."""
    from finops_nb.schema import MONEY

    return f"coalesce(CAST(TRY_CAST({text} AS DECIMAL(18, 12)) AS {MONEY}), TRY_CAST({text} AS {MONEY}))"


def raw(column: str) -> str:
    """The raw (as stored) value of ``column``, kept beside the typed rows for checks and notes."""
    return q(f"__raw_{column}")


@dataclass
class ParsePlan:
    """How one file becomes typed rows, in one streaming pass (``file_select``).

    ``pre``: columns computed once over the file's columns for ``exprs`` to share (e.g. a JSON map parsed
    once); ``exprs``: output column -> SQL over the file's columns and ``pre``; ``checks``: (raw column, output
    column, kind) — every non-empty raw value must give a typed value; ``required``: output column -> header,
    each row needs a value; ``extra``: diagnostic columns (named ``__*``) over the output columns and the raw
    values (``raw(column)``), kept beside the rows for the notes; ``keep_raw``: raw columns ``extra`` reads;
    ``params``: named parameters the SQL binds (``$name``).
    """

    exprs: dict[str, str]
    checks: list[tuple[str, str, str]] = field(default_factory=list)
    required: dict[str, str] = field(default_factory=dict)
    required_why: str = "it needs a value"
    extra: dict[str, str] = field(default_factory=dict)
    keep_raw: list[str] = field(default_factory=list)
    pre: dict[str, str] = field(default_factory=dict)
    params: dict[str, object] = field(default_factory=dict)

    def source(self, source: str) -> str:
        """``source`` with the ``pre`` columns added."""
        if not self.pre:
            return source
        return f"(SELECT *, {', '.join(f'{e} AS {q(n)}' for n, e in self.pre.items())} FROM {source})"

    def bad_sql(self) -> str:
        """The index of the first check a row fails (value checks, then required values), NULL if none."""
        whens = [f"WHEN {raw(column)} IS NOT NULL AND {q(out)} IS NULL THEN {k}"
                 for k, (column, out, _kind) in enumerate(self.checks)]
        whens += [f"WHEN {q(col)} IS NULL THEN {len(self.checks) + j}" for j, col in enumerate(self.required)]
        return f"CASE {' '.join(whens)} END" if whens else "CAST(NULL AS INTEGER)"


def file_select(f: Path, plan: ParsePlan, index: int) -> tuple[str, dict]:
    """SQL and parameters reading ``f`` typed by ``plan`` in one streaming pass, with ``__bad`` (the first
    check a row fails, NULL if none) and ``__file`` (``index``) beside the rows; parameter names carry the
    index so several files can be read in one query. Each typed value is computed once: the checks and the
    diagnostics read the typed columns, next to the raw values they need."""
    source, params = source_sql(f)
    kept = list(dict.fromkeys([c for c, _o, _k in plan.checks] + plan.keep_raw))
    typed = ", ".join([*(f"{e} AS {q(n)}" for n, e in plan.exprs.items()), *(f"{q(c)} AS {raw(c)}" for c in kept)])
    outer = ", ".join([*(f"{e} AS {q(n)}" for n, e in plan.extra.items()), f"{plan.bad_sql()} AS __bad",
                       f"{int(index)} AS __file"])
    dropped = f" EXCLUDE ({', '.join(raw(c) for c in kept)})" if kept else ""
    query = f"SELECT *{dropped}, {outer} FROM (SELECT {typed} FROM {plan.source(source)})"
    used = bound(query, {**params, **plan.params})
    query = re.sub(r"\$(\w+)\b", lambda m: f"${m.group(1)}_f{index}" if m.group(1) in used else m.group(0), query)
    return query, {f"{k}_f{index}": v for k, v in used.items()}


def read_files(db: duckdb.DuckDBPyConnection, files: list[Path], plans: list[ParsePlan], mapping: str,
               table: str, dest: Path | None) -> list[Note]:
    """Create ``table``: ``mapping`` (SQL over ``__input``, the typed rows of every file by column name) in
    one streaming pass over the files — into the Parquet file ``dest`` (out of core) and viewed, or in memory.

    Then every file's checks: a value that does not cast or a missing required value drops ``table`` and
    stops the load with file, row and column (``explain_bad``). Returns the notes on files without rows.
    """
    parts = [file_select(f, plan, i) for i, (f, plan) in enumerate(zip(files, plans, strict=True))]
    union = " UNION ALL BY NAME ".join(f"({sql})" for sql, _ in parts)
    params = {k: v for _, p in parts for k, v in p.items()}
    mapping = mapping.strip()
    query = (f"WITH __input AS ({union}), {mapping[5:]}" if mapping[:5].upper() == "WITH "
             else f"WITH __input AS ({union}) {mapping}")
    try:
        if dest is None:
            db.execute(f"CREATE OR REPLACE TABLE {table} AS {query}", params)
        else:
            db.execute(f"COPY ({query}) TO $dest (FORMAT parquet)", {**params, "dest": str(dest)})
            view_file(db, table, dest, temp=False)
        seen = {i: (bad, n) for i, bad, n in db.execute(
            f"SELECT __file, min(__bad), count(*) FROM {table} GROUP BY ALL").fetchall()}
    except duckdb.Error as exc:
        drop_relation(db, table)
        raise _parse_error(_unreadable(db, files) or (files[0] if len(files) == 1 else None), exc) from exc
    for i, (bad, _n) in sorted(seen.items()):
        if bad is not None:
            drop_relation(db, table)
            explain_bad(db, files[i], plans[i], bad)
    return [Note("warning", "empty-file", "the file has a header but no rows", file=str(f))
            for i, f in enumerate(files) if i not in seen]


def _unreadable(db: duckdb.DuckDBPyConnection, files: list[Path]) -> Path | None:
    """The first file that cannot be read through (to name it in the error), if one alone fails."""
    for f in files:
        source, params = source_sql(f)
        try:
            db.execute(f"SELECT count(*) FROM {source}", params).fetchone()
        except duckdb.Error:
            return f
    return None


def drop_diagnostics(db: duckdb.DuckDBPyConnection, table: str) -> None:
    """Remove the ``__*`` columns the readers keep for their checks from the in-memory ``table``."""
    for (name,) in db.execute("SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                              "AND starts_with(column_name, '__')", [table]).fetchall():
        db.execute(f"ALTER TABLE {table} DROP COLUMN {q(name)}")


def source_totals(db: duckdb.DuckDBPyConnection, files: list[Path], plans: list[ParsePlan], period: str,
                  currency: str, cost: str) -> dict[tuple, Decimal]:
    """Exact sum of the ``cost`` column per (billing period ``YYYY-MM``, currency), read from the files
    themselves (only those three columns), for ``check_conservation`` against the loaded table."""
    totals: dict[tuple, Decimal] = {}
    for f, plan in zip(files, plans, strict=True):
        source, params = source_sql(f)
        query = (f"SELECT strftime({plan.exprs[period]}, '%Y-%m'), {plan.exprs[currency]}, sum({plan.exprs[cost]}) "
                 f"FROM {plan.source(source)} GROUP BY ALL")
        for key_p, key_c, v in db.execute(query, bound(query, {**params, **plan.params})).fetchall():
            totals[(key_p, key_c)] = totals.get((key_p, key_c), Decimal(0)) + (v or Decimal(0))
    return totals


def view_file(db: duckdb.DuckDBPyConnection, name: str, path: Path, *, temp: bool = True) -> None:
    """A view ``name`` over the Parquet file ``path`` (a view cannot bind parameters: the path is quoted)."""
    literal = "'" + str(path).replace("'", "''") + "'"
    db.execute(f"CREATE OR REPLACE {'TEMP ' if temp else ''}VIEW {name} AS SELECT * FROM read_parquet({literal})")


def bound(query: str, params: dict) -> dict:
    """The named parameters ``query`` uses (DuckDB refuses unused ones)."""
    return {k: v for k, v in params.items() if re.search(rf"\${k}\b", query)}


def explain_bad(db: duckdb.DuckDBPyConnection, f: Path, plan: ParsePlan, k: int) -> None:
    """Raise the error for check ``k`` of ``plan``: its first row (1-based, blank lines not counted), the
    value and how many rows fail it. Numbering rows needs the file in order, so only this path does it."""
    source, params = source_sql(f)
    params = {**params, **plan.params}
    source = plan.source(source)
    if k < len(plan.checks):
        column, out, kind = plan.checks[k]
        query = (f"SELECT count(*), arg_min(__v, __r), min(__r) FROM (SELECT row_number() OVER () AS __r, "
                 f"CAST({q(column)} AS VARCHAR) AS __v, {q(column)} IS NOT NULL AND ({plan.exprs[out]}) IS NULL "
                 f"AS __b FROM {source}) WHERE __b")
        count, value, row = db.execute(query, bound(query, params)).fetchone()
        what = KIND_WORDS.get(_kind_word(kind), "of the expected type")
        raise DataError(f"{value!r} is not {what} ({count} such row(s) in this file; nothing was loaded)",
                        file=str(f), row=row, column=column, hint="fix or remove the row and load again")
    col = list(plan.required)[k - len(plan.checks)]
    query = (f"SELECT min(__r), count(*) FROM (SELECT row_number() OVER () AS __r, ({plan.exprs[col]}) IS NULL "
             f"AS __b FROM {source}) WHERE __b")
    row, n = db.execute(query, bound(query, params)).fetchone()
    raise DataError(f"is empty in {n} row(s); {plan.required_why} (nothing was loaded)", file=str(f), row=row,
                    column=plan.required[col], hint="fix the export and load again")


KIND_WORDS = {"money": "a number", "timestamp": "a valid timestamp", "tags": "a JSON object of tags"}


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
READER_FILES = ("schema.py", *(f"sources/{m}.py" for m in ("__init__", "base", "focus", "cur", "manifest", "store")))


@functools.lru_cache(maxsize=1)
def reader_version() -> str:
    """A hash of the reading code and SQL: a cached parse is reused only by the code that made it.

    Of ``analyses/common.py`` only the purchase double-counting rule the FOCUS reader applies counts, so an
    edit elsewhere in that module keeps the tables already loaded."""
    import inspect

    from finops_nb.analyses import common
    from finops_nb.config import PACKAGE_DIR, SQL_DIR

    h = hashlib.sha256()
    for p in sorted([*(PACKAGE_DIR / f for f in READER_FILES), *SQL_DIR.glob("*.sql")]):
        h.update(p.read_bytes())
    h.update(inspect.getsource(common.double_counted_purchases).encode())
    h.update(repr(common.COMMITMENT_PERIOD).encode())
    return h.hexdigest()[:16]


def drop_relation(db: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop ``name``, a table or a view."""
    for (kind,) in db.execute("SELECT table_type FROM information_schema.tables WHERE table_name = ?",
                              [name]).fetchall():
        db.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} {name}")


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
            drop_relation(db, table)
            raise ConservationError(f"billing period {key[0]} {key[1]}: loaded BilledCost {out.get(key)} differs "
                                    f"from the {source_name} {source.get(key)}; nothing was loaded",
                                    hint="this is a bug in the reader; please report it")


def tags_map_sql(column: str, raw_type: str) -> str:
    """SQL reading a tags column as the canonical map: a MAP as stored, or JSON text parsed (NULL if not an
    object of tags, which the parse check then reports with file, row and column)."""
    from finops_nb.schema import TAGS

    if raw_type.upper().startswith("MAP"):
        return f"TRY_CAST({q(column)} AS {TAGS})"
    return f"json_transform(TRY_CAST({q(column)} AS JSON), '\"{TAGS}\"')"
