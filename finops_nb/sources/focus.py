"""FOCUS 1.0-1.2 exports (any provider) into the canonical table.

Each file is read as text (CSV) or as stored (Parquet), every FOCUS column is cast to its canonical type
with TRY_CAST, and any value that does not cast stops the load with the file, row and column. Only when
every file passed is the ``charges`` table created, so nothing is ever half-loaded.
Rows are numbered from 1 for the first data row (blank lines are not counted).
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import ibis

from finops_nb import schema
from finops_nb.engine import raw_duckdb
from finops_nb.errors import DataError
from finops_nb.sources.base import (
    Charges,
    Note,
    ParsePlan,
    check_conservation,
    check_inputs,
    drop_diagnostics,
    head_text,
    lit,
    money_sql,
    q,
    raw,
    read_files,
    source_columns,
    source_totals,
    table_notes,
    tags_map_sql,
    view_file,
)

ZONE_RE = r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)$"
TABLE = "charges"


def read_focus(files: list[Path], con: ibis.BaseBackend, dest: Path | None = None) -> Charges:
    """Load FOCUS files into the ``charges`` table of ``con`` and return it with its notes.

    The files are read once, in one streaming pass, into the canonical table: the Parquet file ``dest`` when
    given (``sources.store``), else a table in memory. Then the checks and notes read that table, and the
    source totals are summed from the files themselves for the conservation check.
    """
    db = raw_duckdb(con)
    check_inputs(files)
    header_notes: list[list[Note]] = [[] for _ in files]
    plans, headers = [], []
    for i, f in enumerate(files):
        plan, by_target, raw_types = _plan_file(db, f, header_notes[i])
        plans.append(plan)
        headers.append((by_target, raw_types))
    notes = read_files(db, files, plans, "SELECT * FROM __input", TABLE, dest)
    found = _quirk_counts(db, TABLE)  # one read of the table for every file's notes
    for i, f in enumerate(files):
        notes += header_notes[i] + _quirk_notes(f, found.get(i, {}), *headers[i])
        if "BillingCurrency" not in headers[i][0]:
            notes.append(Note("warning", "no-currency", "no BillingCurrency column: amounts are grouped under "
                              "an unknown currency and never added to another currency", file=str(f)))
    source = source_totals(db, files, plans, "BillingPeriodStart", "BillingCurrency", "BilledCost")
    notes += _fix_purchase_double_count(con, db, dest)
    check_conservation(db, source, TABLE, "files'")
    notes += table_notes(db, TABLE)
    if dest is None:
        drop_diagnostics(db, TABLE)
    return Charges(table=con.table(TABLE), con=con, files=list(files), format="focus", notes=notes)


def _map_headers(headers: list[str], f: Path, notes: list[Note]) -> dict[str, str]:
    """header -> output column: FOCUS names canonicalized, x_ kept, anything else prefixed with x_."""
    out: dict[str, str] = {}
    for h in headers:
        if h == "__row":
            continue
        canon = schema.canonical_name(h)
        if canon is None:
            target = h if h.startswith("x_") else f"x_{h.strip()}"
            if target != h:
                notes.append(Note("info", "non-standard-column",
                                  f"column {h!r} is not a FOCUS column; kept as {target!r}", file=str(f)))
        else:
            target = canon
            if canon != h:
                notes.append(Note("info", "column-spelling", f"column {h!r} read as {canon!r}", file=str(f)))
        if target in out.values():
            raise DataError(f"two headers map to the same column {target!r}", file=str(f), column=h,
                            hint="remove the duplicate column")
        out[h] = target
    return out


def _typed_expr(raw: str, target: str, raw_type: str) -> str:
    """SQL turning the raw column into its canonical type (NULL where it does not cast)."""
    kind = schema.COLUMNS[target]
    col = q(raw)
    if kind == schema.TAGS:
        return tags_map_sql(raw, raw_type)
    if kind == schema.MONEY and raw_type.upper() == "VARCHAR":
        return money_sql(col)
    if kind in (schema.MONEY, schema.TIMESTAMP):
        return f"TRY_CAST({col} AS {kind})"
    text = f"CAST({col} AS VARCHAR)"
    allowed = schema.ALLOWED.get(target)
    if not allowed:
        return text
    whens = " ".join(f"WHEN lower(trim({text})) = {lit(v.lower())} THEN {lit(v)}" for v in allowed)
    return f"CASE {whens} ELSE {text} END"


def _plan_file(db, f: Path, notes: list[Note]) -> tuple[ParsePlan, dict[str, str], dict[str, str]]:
    """How ``f`` is read (``ParsePlan``), from its header alone; header findings go to ``notes``."""
    raw_types = source_columns(db, f)
    mapping = _map_headers(list(raw_types), f, notes)
    by_target = {t: h for h, t in mapping.items() if t in schema.COLUMNS}
    missing_required = [c for c in schema.REQUIRED if c not in by_target]
    if missing_required:
        raise DataError(f"required FOCUS column(s) missing: {', '.join(missing_required)}", file=str(f),
                        column=missing_required[0], hint="is this a FOCUS export? pass --format to choose a reader")

    exprs: dict[str, str] = {}
    for target, typ in schema.COLUMNS.items():
        if target in by_target:
            exprs[target] = _typed_expr(by_target[target], target, raw_types[by_target[target]])
        else:
            exprs[target] = f"CAST(NULL AS {typ})"
    checks = [(header, target, schema.COLUMNS[target])
              for target, header in by_target.items() if schema.COLUMNS[target] != schema.STRING]
    for h, target in mapping.items():
        if target.startswith("x_"):
            exprs[target] = q(h)
            if schema.is_cost_categories(target):  # AWS's cost categories: a map, like Tags
                exprs[target] = tags_map_sql(h, raw_types[h])
                checks.append((h, target, schema.TAGS))
    extra, keep_raw = _diagnostics(by_target, raw_types)
    plan = ParsePlan(exprs, checks, required={c: c for c in schema.REQUIRED_VALUES if c in by_target},
                     required_why="FOCUS requires a value", extra=extra, keep_raw=keep_raw, params={"zone": ZONE_RE})
    return plan, by_target, raw_types


def _diagnostics(by_target: dict[str, str], raw_types: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Columns kept beside the typed rows for the notes (zoneless timestamps, values respelled to FOCUS), and
    the raw columns they read."""
    extra, keep = {}, []
    cps = by_target["ChargePeriodStart"]
    if raw_types[cps].upper() == "VARCHAR":
        extra["__zoneless"] = f"NOT regexp_matches(trim({raw(cps)}), $zone)"
        keep.append(cps)
    for col in schema.ALLOWED:
        if col in by_target:
            text = f"CAST({raw(by_target[col])} AS VARCHAR)"
            extra[f"__spelled_{col}"] = f"CASE WHEN {text} <> {q(col)} THEN {text} END"
            keep.append(by_target[col])
    return extra, keep


COST_COLUMNS = ("EffectiveCost", "ListCost", "ContractedCost")


def _quirk_counts(db, table: str) -> dict[int, dict]:
    """Per file (``__file``), in one grouped read of ``table``: the counts and distinct values the quirk notes
    report (``_quirk_notes``)."""
    have = {r[0] for r in db.execute("SELECT column_name FROM information_schema.columns WHERE table_name = ?",
                                     [table]).fetchall()}
    az = "regexp_matches(AvailabilityZone, '^[0-9.eE+-]+$')"
    aggs = {"az_n": f"count(*) FILTER (WHERE {az})",
            "az_who": f"string_agg(DISTINCT ProviderName, ', ') FILTER (WHERE {az})"}
    if "__zoneless" in have:
        aggs["zoneless"] = "count(*) FILTER (WHERE __zoneless)"
    for col, allowed in schema.ALLOWED.items():
        spelled = f"__spelled_{col}"
        if spelled in have:
            aggs[f"fixed_n_{col}"] = f"count({q(spelled)})"
            aggs[f"fixed_v_{col}"] = f"string_agg(DISTINCT {q(spelled)}, ', ')"
        other = f"{q(col)} IS NOT NULL AND {q(col)} NOT IN ({', '.join(lit(v) for v in allowed)})"
        aggs[f"other_n_{col}"] = f"count(*) FILTER (WHERE {other})"
        aggs[f"other_v_{col}"] = f"string_agg(DISTINCT {q(col)}, ', ') FILTER (WHERE {other})"
    for col in COST_COLUMNS:
        aggs[f"empty_n_{col}"] = f"count(*) FILTER (WHERE {q(col)} IS NULL)"
        aggs[f"empty_who_{col}"] = f"string_agg(DISTINCT ProviderName, ', ') FILTER (WHERE {q(col)} IS NULL)"
    zero = ("ChargeCategory = 'Usage' AND EffectiveCost = 0 AND BilledCost > 0 AND CommitmentDiscountId IS NULL")
    aggs["zero_n"] = f"count(*) FILTER (WHERE {zero})"
    aggs["zero_who"] = f"string_agg(DISTINCT ProviderName, ', ') FILTER (WHERE {zero})"
    names = list(aggs)
    rows = db.execute(f"SELECT __file, {', '.join(f'{e} AS {q(n)}' for n, e in aggs.items())} "
                      f"FROM {table} GROUP BY __file").fetchall()
    out = {r[0]: dict(zip(names, r[1:], strict=True)) for r in rows}
    for i, keys in db.execute(
            f"SELECT __file, list(DISTINCT k ORDER BY k) FROM (SELECT __file, unnest(map_keys(Tags)) AS k "
            f"FROM {table}) WHERE k <> trim(k) GROUP BY __file").fetchall():
        out.setdefault(i, {})["spaced_keys"] = keys
    return out


def _quirk_notes(f: Path, found: dict, by_target: dict[str, str], raw_types: dict[str, str]) -> list[Note]:
    """Real exports' known deviations in file ``f``, kept as they are (or fixed as stated) and reported;
    ``found``: that file's counts from ``_quirk_counts``."""
    notes: list[Note] = []
    file = str(f)

    def add(level, code, message, rows=0):
        notes.append(Note(level, code, message, rows=rows, file=file))

    if not f.name.lower().endswith(".parquet"):
        head = head_text(f)
        for token in ("NULL", "null"):
            if re.search(rf'(^|,)"?{token}"?(,|\r?\n)', head, re.M):
                add("info", "null-strings", f"missing values are written as the string {token!r}; read as missing")
    if raw_types[by_target["ChargePeriodStart"]].upper() == "VARCHAR" and found.get("zoneless"):
        add("info", "zoneless-timestamps", "timestamps carry no time zone; read as UTC", rows=found["zoneless"])
    if "Tags" in by_target:
        if raw_types[by_target["Tags"]].upper() == "VARCHAR":
            add("info", "tags-json", "Tags stored as JSON text; parsed into a key/value map")
        if found.get("spaced_keys"):
            add("warning", "tag-key-spacing", "tag keys with surrounding spaces: "
                + ", ".join(repr(k) for k in found["spaced_keys"])
                + "; tag keys match on their letters and digits, so they still match")
    if "AvailabilityZone" in by_target and found.get("az_n"):
        add("warning", "availability-zone-number",
            f"AvailabilityZone holds a number instead of a zone (provider: {found['az_who']}); kept as is",
            rows=found["az_n"])
    for col in schema.ALLOWED:
        if col not in by_target:
            continue
        if found.get(f"fixed_n_{col}"):
            add("warning", "allowed-value-spelling", f"{col} value(s) {found[f'fixed_v_{col}']} rewritten to the "
                "FOCUS spelling", rows=found[f"fixed_n_{col}"])
        if found.get(f"other_n_{col}"):
            add("warning", "not-allowed-value", f"{col} value(s) not allowed by FOCUS, kept: "
                f"{found[f'other_v_{col}']}", rows=found[f"other_n_{col}"])
    for col in COST_COLUMNS:
        if col not in by_target:
            add("warning", "missing-column", f"no {col} column: views that need it say 'not available'")
        elif found.get(f"empty_n_{col}"):
            add("warning", "missing-cost", f"{col} is empty (provider: {found[f'empty_who_{col}']}); sums of {col} "
                "leave these rows out", rows=found[f"empty_n_{col}"])
    if found.get("zero_n"):
        add("warning", "effective-zero", f"usage rows with BilledCost > 0 but EffectiveCost 0 (provider: "
            f"{found['zero_who']}); kept as exported", rows=found["zero_n"])
    return notes


def _fix_purchase_double_count(con, db, dest: Path | None) -> list[Note]:
    """Set the EffectiveCost of double-counted commitment purchases to 0 and say how much
    (rule: ``analyses.common.double_counted_purchases``). A table kept as Parquet is rewritten (rare)."""
    from finops_nb.analyses.common import double_counted_purchases

    rows = double_counted_purchases(con.table(TABLE)).execute()
    if rows.empty:
        return []
    db.execute("CREATE OR REPLACE TEMP TABLE __double_counted (id VARCHAR, period TIMESTAMPTZ)")
    db.executemany("INSERT INTO __double_counted VALUES (?, ?)",
                   [[r.CommitmentDiscountId, r.BillingPeriodStart] for r in rows.itertuples()])
    hit = ("ChargeCategory = 'Purchase' AND EXISTS (SELECT 1 FROM __double_counted d "
           "WHERE d.id = CommitmentDiscountId AND d.period = BillingPeriodStart)")
    if dest is None:
        db.execute(f"UPDATE {TABLE} SET EffectiveCost = 0 WHERE {hit}")
    else:
        fixed = dest.with_suffix(".fixed")
        db.execute(f"COPY (SELECT * REPLACE (CASE WHEN {hit} THEN 0 ELSE EffectiveCost END AS EffectiveCost) "
                   f"FROM {TABLE}) TO $out (FORMAT parquet)", {"out": str(fixed)})
        fixed.replace(dest)
        view_file(db, TABLE, dest, temp=False)
    db.execute("DROP TABLE __double_counted")
    amount = sum((Decimal(v) for v in rows.purchase_effective_cost), Decimal(0))
    ids = ", ".join(sorted(set(rows.CommitmentDiscountId)))
    return [Note("warning", "purchase-double-count",
                 f"Purchase rows of commitment(s) {ids} carried EffectiveCost {amount.normalize():f} while their "
                 "usage rows carry the amortized amount; counted as 0 in effective cost (FOCUS: EffectiveCost "
                 "of a commitment purchase is 0)", rows=len(rows))]
