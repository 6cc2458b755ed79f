"""AWS Cost and Usage Reports into the canonical table: legacy CUR (CSV with ``lineItem/UnblendedCost``
headers, or the Parquet/Athena flavour with ``line_item_unblended_cost``) and CUR 2.0 (Data Exports, with
the map columns ``product`` and ``resource_tags``).

Every flavour is first brought to CUR 2.0's snake_case names and types (``__cur_all``), then one query,
``sql/cur_to_focus.sql``, maps it to FOCUS the way AWS does (BilledCost = unblended cost, EffectiveCost =
AWS's amortized cost per line item type). Bad values stop the load with file, row and column.
"""

from __future__ import annotations

import json
import re
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
    lit,
    money_sql,
    q,
    read_files,
    read_sql,
    source_columns,
    source_totals,
    table_notes,
    tags_map_sql,
)

M, T, S = schema.MONEY, schema.TIMESTAMP, schema.STRING

# CUR 2.0 / Athena column -> type. Columns a report lacks read as NULL (and views that need them say so).
FIELDS: dict[str, str] = {
    "bill_billing_period_start_date": T, "bill_billing_period_end_date": T, "bill_payer_account_id": S,
    "bill_payer_account_name": S, "bill_invoice_id": S, "bill_billing_entity": S, "bill_bill_type": S,
    "line_item_usage_account_id": S, "line_item_usage_account_name": S, "line_item_usage_start_date": T,
    "line_item_usage_end_date": T, "line_item_line_item_type": S, "line_item_product_code": S,
    "line_item_usage_type": S, "line_item_operation": S, "line_item_resource_id": S,
    "line_item_availability_zone": S, "line_item_usage_amount": M, "line_item_unblended_rate": M,
    "line_item_unblended_cost": M, "line_item_currency_code": S, "line_item_line_item_description": S,
    "line_item_legal_entity": S,
    "pricing_public_on_demand_cost": M, "pricing_public_on_demand_rate": M, "pricing_unit": S, "pricing_term": S,
    "product_product_name": S, "product_region_code": S, "product_region": S, "product_location": S,
    "product_instance_type": S, "product_operating_system": S, "product_sku": S, "product_product_family": S,
    "savings_plan_savings_plan_a_r_n": S, "savings_plan_savings_plan_effective_cost": M,
    "savings_plan_total_commitment_to_date": M, "savings_plan_used_commitment": M, "savings_plan_end_time": S,
    "reservation_reservation_a_r_n": S, "reservation_effective_cost": M,
    "reservation_unused_amortized_upfront_fee_for_billing_period": M, "reservation_unused_recurring_fee": M,
    "reservation_end_time": S,
}
# CUR 2.0 keeps legacy product columns that are not in its fixed schema inside the map column `product`.
PRODUCT_MAP_KEYS = {f: f.removeprefix("product_") for f in FIELDS if f.startswith("product_")}
REQUIRED = ["bill_billing_period_start_date", "line_item_usage_start_date", "line_item_line_item_type",
            "line_item_unblended_cost", "line_item_currency_code"]
OPTIONAL_GROUPS = {
    "Savings Plan columns (savings_plan_*)": "savings_plan_savings_plan_a_r_n",
    "reservation columns (reservation_*)": "reservation_reservation_a_r_n",
    "resource ids (line_item_resource_id)": "line_item_resource_id",
    "public on-demand prices (pricing_public_on_demand_*)": "pricing_public_on_demand_cost",
}
TAG_PREFIXES = ("resourcetags/", "resource_tags_")
TABLE = "charges"


def snake(header: str) -> str:
    """AWS's conversion of a legacy CUR header to its Athena/CUR 2.0 name.

    ``lineItem/UnblendedCost`` -> ``line_item_unblended_cost``; ``savingsPlan/SavingsPlanARN`` ->
    ``savings_plan_savings_plan_a_r_n`` (an underscore before every capital, lower case).
    """
    parts = []
    for part in header.strip().split("/"):
        part = re.sub(r"(?<!^)([A-Z])", r"_\1", part)
        parts.append(re.sub(r"[^a-z0-9]+", "_", part.lower()).strip("_"))
    return re.sub(r"_+", "_", "_".join(p for p in parts if p))


def tag_key(header: str) -> str | None:
    """The tag key of a legacy tag column, or None when ``header`` is not one.

    ``resourceTags/user:Cost-Center`` -> ``Cost-Center``; ``resource_tags_user_cost_center`` -> ``cost_center``;
    AWS-generated tags keep their prefix (``resourceTags/aws:createdBy`` -> ``aws:createdBy``).
    """
    low = header.lower()
    for prefix in TAG_PREFIXES:
        if low.startswith(prefix) and len(header) > len(prefix):
            key = header[len(prefix):]
            for user in ("user:", "user_"):
                if key.lower().startswith(user):
                    return key[len(user):]
            return key
    return None


def is_cur(headers: list[str]) -> bool:
    return any(snake(h) == "line_item_unblended_cost" for h in headers)


def read_cur(files: list[Path], con: ibis.BaseBackend, dest: Path | None = None) -> Charges:
    """Load CUR files (any flavour, mixed flavours allowed) into the ``charges`` table of ``con``.

    The files are read once, in one streaming pass through ``sql/cur_to_focus.sql``, into the canonical
    table: the Parquet file ``dest`` when given (``sources.store``), else a table in memory. The report's
    unblended cost is then summed from the files themselves for the conservation check.
    """
    db = raw_duckdb(con)
    check_inputs(files)
    notes: list[Note] = []
    plans: list[ParsePlan] = []
    present: set[str] = set()
    for f in files:
        plan, fields = _plan_file(db, f, notes)
        plans.append(plan)
        present |= fields
    notes += read_files(db, files, plans, read_sql("cur_to_focus.sql"), TABLE, dest)
    source = source_totals(db, files, plans, "bill_billing_period_start_date", "line_item_currency_code",
                           "line_item_unblended_cost")
    check_conservation(db, source, TABLE, "report's unblended cost")
    for group, column in OPTIONAL_GROUPS.items():
        if column not in present:
            notes.append(Note("info", "not-available", f"the report has no {group}; views that need them say "
                              "'not available'"))
    notes += _amortization_notes(db) + table_notes(db, TABLE)
    if dest is None:
        drop_diagnostics(db, TABLE)
    return Charges(table=con.table(TABLE), con=con, files=list(files), format="cur", notes=notes)


def _plan_file(db, f: Path, notes: list[Note]) -> tuple[ParsePlan, set[str]]:
    """How one CUR file is read into every FIELDS column (typed) and Tags, from its header; and the
    fields it has."""
    raw_types = source_columns(db, f)
    by_field: dict[str, str] = {}
    tags: list[tuple[str, str]] = []
    for header in raw_types:
        key = tag_key(header)
        if key is not None:
            tags.append((key, header))
            continue
        name = snake(header)
        if name in FIELDS and name not in by_field:
            by_field[name] = header
    product = next((h for h in raw_types if snake(h) == "product"), None)
    resource_tags = next((h for h in raw_types if snake(h) == "resource_tags"), None)
    missing = [c for c in REQUIRED if c not in by_field]
    if missing:
        raise DataError(f"required CUR column(s) missing: {', '.join(missing)}", file=str(f), column=missing[0],
                        hint="is this a Cost and Usage Report? pass --format to choose a reader")

    exprs: dict[str, str] = {}
    checks: list[tuple[str, str, str]] = []
    pre: dict[str, str] = {}
    wanted = [f for f in FIELDS if f not in by_field and f in PRODUCT_MAP_KEYS]
    if product and wanted and not raw_types[product].upper().startswith("MAP"):
        # the JSON text of `product` parsed once per row, into the keys we read
        shape = json.dumps({PRODUCT_MAP_KEYS[f]: "VARCHAR" for f in wanted})
        pre["__product"] = f"json_transform(TRY_CAST({q(product)} AS JSON), $product_shape)"
    for field, typ in FIELDS.items():
        if field in by_field:
            exprs[field] = _cast(q(by_field[field]), typ)
            if typ != S:
                checks.append((by_field[field], field, typ))
        elif product and field in PRODUCT_MAP_KEYS:
            got = (f"struct_extract(__product, {lit(PRODUCT_MAP_KEYS[field])})" if pre
                   else _map_get(product, raw_types[product], PRODUCT_MAP_KEYS[field]))
            exprs[field] = _cast(got, typ)
        else:
            exprs[field] = f"CAST(NULL AS {typ})"
    tags_sql, params = _tags_expr(tags, resource_tags, raw_types)
    if resource_tags and not raw_types[resource_tags].upper().startswith("MAP"):
        checks.append((resource_tags, "Tags", "tags"))
    exprs["Tags"] = tags_sql
    # cost categories (legacy columns, CUR 2.0's map) as one map, as AWS's FOCUS export carries them
    cc_map = next((h for h in raw_types if snake(h) == "cost_category"), None)
    categories = [(key, h) for h in raw_types if (key := cost_category_key(h)) is not None]
    exprs[schema.COST_CATEGORIES], cc_params = _map_expr(categories, cc_map, raw_types, param="cc")
    params.update(cc_params)
    if cc_map and not raw_types[cc_map].upper().startswith("MAP"):
        checks.append((cc_map, schema.COST_CATEGORIES, "tags"))
    if pre:
        params["product_shape"] = shape
    plan = ParsePlan(exprs, checks, required={c: by_field[c] for c in REQUIRED},
                     required_why="a CUR line item needs it", pre=pre, params=params)
    if tags:
        notes.append(Note("info", "tag-columns", f"{len(tags)} tag column(s) read into Tags", file=str(f)))
    return plan, set(by_field) | (set(PRODUCT_MAP_KEYS) if product else set())


def _cast(src: str, typ: str) -> str:
    if typ == S:
        return f"NULLIF(trim(CAST({src} AS VARCHAR)), '')"
    return money_sql(f"NULLIF(trim(CAST({src} AS VARCHAR)), '')") if typ == M else f"TRY_CAST({src} AS {typ})"


def _map_get(column: str, raw_type: str, key: str) -> str:
    """One key of a CUR 2.0 map column (a MAP in Parquet, JSON text in CSV)."""
    safe = key.replace("'", "''")
    if raw_type.upper().startswith("MAP"):
        return f"element_at({q(column)}, '{safe}')[1]"
    return f"json_extract_string(TRY_CAST({q(column)} AS JSON), '$.\"{safe}\"')"


def _tags_expr(tags: list[tuple[str, str]], resource_tags: str | None, raw_types: dict[str, str]):
    """SQL for the Tags map: legacy tag columns and/or CUR 2.0's ``resource_tags`` (``user_`` prefix dropped).

    Tag keys taken from headers are bound as parameters. Empty values are no tag.
    """
    return _map_expr(tags, resource_tags, raw_types, param="tag", drop="^user_")


def cost_category_key(header: str) -> str | None:
    """The cost category of a legacy cost-category column, or None when ``header`` is not one.

    ``costCategory/Team`` -> ``Team`` (legacy CSV); ``cost_category_team`` -> ``team`` (legacy Parquet). CUR 2.0
    keeps them in the map column ``cost_category`` instead."""
    name = snake(header)
    if not name.startswith("cost_category_"):
        return None
    return header.split("/", 1)[1] if "/" in header else name.removeprefix("cost_category_")


def _map_expr(columns: list[tuple[str, str]], map_column: str | None, raw_types: dict[str, str], *, param: str,
              drop: str | None = None) -> tuple[str, dict]:
    """SQL for a key/value map from one column per key (``columns``: key, header; keys bound as parameters
    ``$<param><i>``) and/or a map column (a MAP, or JSON text; ``drop``: a pattern removed from its keys).
    Empty values are no entry; NULL when there are neither."""
    parts, params = [], {}
    if columns:
        entries = ", ".join(f"struct_pack(k := ${param}{i}, v := NULLIF(CAST({q(h)} AS VARCHAR), ''))"
                            for i, (_, h) in enumerate(columns))
        params = {f"{param}{i}": k for i, (k, _) in enumerate(columns)}
        parts.append(f"map_from_entries(list_filter([{entries}], e -> e.v IS NOT NULL))")
    if map_column:
        as_map = tags_map_sql(map_column, raw_types[map_column])
        key = f"regexp_replace(e.key, '{drop}', '')" if drop else "e.key"
        parts.append(f"map_from_entries(list_transform(list_filter(map_entries({as_map}), e -> e.value IS NOT NULL "
                     f"AND e.value <> ''), e -> struct_pack(k := {key}, v := e.value)))")
    if not parts:
        return f"CAST(NULL AS {schema.TAGS})", params
    if len(parts) == 1:
        return parts[0], params
    return f"map_concat({parts[0]}, {parts[1]})", params


def _amortization_notes(db) -> list[Note]:
    n, types = db.execute(
        f"SELECT count(*), string_agg(DISTINCT x_LineItemType, ', ') FROM {TABLE} WHERE EffectiveCost IS NULL"
    ).fetchone()
    if not n:
        return []
    return [Note("warning", "amortization-inputs-missing",
                 f"{types} rows lack the savings_plan_*/reservation_* values their amortized cost needs; "
                 "their EffectiveCost is empty and effective sums leave them out", rows=n)]
