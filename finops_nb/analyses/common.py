"""Building blocks every analysis shares: month windows, tag lookup, group keys, money helpers."""

from __future__ import annotations

import re
import weakref
from collections.abc import Sequence
from datetime import date

import ibis
import ibis.expr.types as ir
import pandas as pd

from finops_nb import schema
from finops_nb.errors import ConfigError

MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def check_month(month: str) -> str:
    """``YYYY-MM`` or a clear error."""
    if not isinstance(month, str) or not MONTH_RE.match(month.strip()):
        raise ConfigError(f"month {month!r} is not of the form YYYY-MM (for example 2024-09)")
    return month.strip()


def resolve_month(month: str, *, today: date | None = None) -> str:
    """``last`` -> the previous full month in UTC (``YYYY-MM``); anything else is checked as ``YYYY-MM``."""
    if isinstance(month, str) and month.strip().lower() == "last":
        from datetime import UTC, datetime

        today = today or datetime.now(UTC).date()
        y, m = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
        return f"{y:04d}-{m:02d}"
    return check_month(month)


def month_bounds(month: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The half-open UTC window ``[first day, first day of next month)`` of ``month``."""
    y, m = map(int, check_month(month).split("-"))
    start = date(y, m, 1)
    end = date(y + (m == 12), m % 12 + 1, 1)
    return pd.Timestamp(start, tz="UTC"), pd.Timestamp(end, tz="UTC")


def billing_period(t: ir.Table) -> ir.StringValue:
    """The billing period ``YYYY-MM`` of each row: the UTC month of ``BillingPeriodStart`` (the invoice month)."""
    return t.BillingPeriodStart.strftime("%Y-%m")


def for_month(t: ir.Table, month: str | None) -> ir.Table:
    """Rows of billing period ``month`` (all rows when ``month`` is None or empty)."""
    if not month:
        return t
    return t.filter(billing_period(t) == check_month(month))


def tag_value(t: ir.Table, key: str | ir.StringValue, *, case_sensitive: bool = False) -> ir.StringValue:
    """The value of tag ``key`` per row, NULL when untagged.

    By default keys match on their lower-case letters and digits only, so one tag keeps one name however
    the export spelled it: ``Cost-Center`` (legacy CUR CSV), ``cost_center`` (CUR Parquet, CUR 2.0),
    ``CostCenter``, `` cost center``. ``case_sensitive=True`` matches the key exactly. ``key`` may be an
    Ibis parameter (``ibis.param("string")``), as the apps pass a widget's value.

    On DuckDB the table's distinct key lists are read once (``tag_key_lists``) and matched here; when no row
    has two keys of the same matching form, the value is a plain map lookup of the raw keys that match, the
    same value without normalizing every key of every row. Otherwise (and on other engines) each row's keys
    are normalized and the first match taken.
    """
    if case_sensitive:
        idx = t.Tags.keys().index(key)
        return ibis.ifelse(idx >= 0, t.Tags.values()[idx.cast("int32")], ibis.null("string"))
    if isinstance(key, str):
        lists = tag_key_lists(t)
        if lists is not None:
            wanted = tag_match_key(key)
            hits = [[k for k, c in zip(keys, clean, strict=True) if c == wanted] for keys, clean in lists]
            if all(len(h) <= 1 for h in hits):
                names = sorted({h[0] for h in hits if h})
                if not names:  # no row has the key: NULL without reading the tags
                    return ibis.null("string")
                return ibis.coalesce(*[t.Tags.get(n) for n in names]) if len(names) > 1 else t.Tags.get(names[0])
    return _tag_value_per_row(t, key)


def _tag_value_per_row(t: ir.Table, key: str | ir.StringValue) -> ir.StringValue:
    """``tag_value`` by normalizing each row's keys and taking the first whose form matches."""
    return map_value(t.Tags, key)


def map_value(m: ir.MapValue, key: str | ir.StringValue) -> ir.StringValue:
    """The value of the first key of the map ``m`` whose form (``tag_match_key``) is ``key``'s, NULL if none."""
    keys, values = m.keys(), m.values()
    wanted = tag_match_key(key) if isinstance(key, str) else _clean_key(key)
    idx = keys.map(_clean_key).index(wanted)
    # the position as int32: Spark's element_at takes an INT index (DuckDB takes any integer)
    return ibis.ifelse(idx >= 0, values[idx.cast("int32")], ibis.null("string"))


def _clean_key(k: ir.StringValue) -> ir.StringValue:
    return k.lower().re_replace("[^a-z0-9]", "")


# per DuckDB connection: file-backed table (its op and view SQL) -> its distinct (keys, normalized keys) lists
_KEY_LISTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def tag_key_lists(t: ir.Table) -> list[tuple[list[str], list[str]]] | None:
    """The distinct tag key lists of ``t``'s rows, each with its keys normalized by the engine (as
    ``tag_value`` compares them); ``None`` off DuckDB. A few lists however many rows.

    Read from the table ``t`` filters or selects from (its rows' key lists include ``t``'s), once per
    connection when that table is a view over a file or an in-memory table; else from ``t`` each time."""
    try:
        backend = t._find_backend(use_default=True)  # a memtable runs on the default (DuckDB)
    except Exception:  # an unbound table (SQL compiled without a connection)
        return None
    if getattr(backend, "name", None) != "duckdb":
        return None
    root = _tags_source(t.op())
    fingerprint = _fingerprint(backend, root)
    cache = _KEY_LISTS.setdefault(backend, {}) if fingerprint is not None else {}
    if fingerprint not in cache:
        base = root.to_expr() if fingerprint is not None else t
        q = base.select(k=base.Tags.keys()).distinct()
        df = q.mutate(c=q.k.map(_clean_key)).execute()
        cache[fingerprint] = [(list(k), list(c)) for k, c in zip(df.k, df.c, strict=True) if k is not None]
    return cache[fingerprint]


def _tags_source(op):
    """The relation ``op``'s rows and ``Tags`` come from unchanged through filters, sorts, limits and
    projections."""
    import ibis.expr.operations as ops

    while True:
        if isinstance(op, ops.Filter | ops.Sort | ops.Limit | ops.Distinct):
            op = op.parent
        elif isinstance(op, ops.Project) and isinstance(v := op.values.get("Tags"), ops.Field) and v.name == "Tags":
            op = op.parent
        else:
            return op


def _fingerprint(backend, op):
    """What identifies ``op``'s rows for the key-list cache, or ``None`` when they may change (a table)."""
    import ibis.expr.operations as ops

    if isinstance(op, ops.InMemoryTable):
        return op
    if isinstance(op, ops.DatabaseTable) and "Tags" in op.schema:
        rows = backend.raw_sql("SELECT sql FROM duckdb_views() WHERE view_name = ? AND NOT internal",
                               parameters=[op.name]).fetchall()
        if len(rows) == 1 and re.search(r"\bread_(parquet|csv)\b", rows[0][0] or ""):
            return op, rows[0][0]
    return None


def tag_match_key(key: str) -> str:
    """The form tag keys are compared in: lower-case letters and digits (``Cost-Center`` -> ``costcenter``)."""
    return re.sub(r"[^a-z0-9]", "", key.lower())


def one_of(col: ir.Column) -> ir.Scalar:
    """One value of ``col`` per group, for columns that describe the group (a resource's service or region):
    the greatest non-NULL one, so every engine picks the same when the rows disagree (``arbitrary`` does not:
    Spark's ``first`` follows the order rows reach it)."""
    return col.max()


def charge_kind(t: ir.Table) -> ir.StringValue:
    """usage, purchase, credit, discount, tax or adjustment: ChargeCategory in lower case, with AWS discount
    line items (``x_LineItemType`` ending in ``Discount``: EDP, private rate, bundled) as ``discount``."""
    kind = t.ChargeCategory.lower()
    if "x_LineItemType" in t.columns:
        kind = ibis.ifelse(t.x_LineItemType.fill_null("").endswith("Discount"), "discount", kind)
    return kind


def group_key(t: ir.Table, by: str, *, case_sensitive_tags: bool = False) -> ir.Value:
    """A grouping expression for a column name or ``tag:KEY``, named as given."""
    if by.startswith("tag:"):
        return tag_value(t, by[4:], case_sensitive=case_sensitive_tags).name(by)
    if by not in t.columns:
        canon = schema.canonical_name(by)
        if canon is None or canon not in t.columns:
            raise ConfigError(f"cannot group by {by!r}: no such column (use a FOCUS column or tag:KEY)")
        by = canon
    return t[by].name(by)


def group_keys(t: ir.Table, by: Sequence[str] = (), **kw) -> list[ir.Value]:
    return [group_key(t, b, **kw) for b in by]


def money_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Decimal columns as floats, for charts and display only (sums were done exactly in the engine)."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object and len(out) and out[col].map(lambda v: hasattr(v, "as_tuple")).any():
            out[col] = out[col].astype(float)
    return out


def zero_of(column: ir.NumericValue) -> ir.NumericValue:
    """0 in the type of ``column``, written ``CAST(0 AS ...)`` so every engine's SQL reads it (Athena does not
    take the ``'0E-12'`` text a Decimal zero literal compiles to)."""
    return ibis.literal(0).cast(column.type())


COMMITMENT_PERIOD = ["CommitmentDiscountId", "BillingPeriodStart"]


def double_counted_purchases(t: ir.Table) -> ir.Table:
    """Commitment Purchase rows whose EffectiveCost would be counted twice, per commitment and billing period.

    FOCUS 1.x: EffectiveCost MUST be 0 for the purchase of a commitment that covers future charges; its cost
    reaches the usage rows (Used and Unused) through amortization. Some exports copy BilledCost into the
    Purchase row's EffectiveCost. Flagged when ``purchase EffectiveCost != 0`` and
    ``purchase EffectiveCost + usage EffectiveCost > purchase BilledCost`` (counting both would exceed what
    the commitment cost). A Purchase row carrying only the unused part (AWS fee rows) passes.
    Columns: CommitmentDiscountId, BillingPeriodStart, purchase_effective_cost.
    """
    c = t.filter(t.CommitmentDiscountId.notnull())
    purchase = (c.filter(c.ChargeCategory == "Purchase").group_by(COMMITMENT_PERIOD)
                .aggregate(billed=c.BilledCost.sum(), purchase_effective_cost=c.EffectiveCost.sum()))
    usage = c.filter(c.ChargeCategory == "Usage").group_by(COMMITMENT_PERIOD).aggregate(used=c.EffectiveCost.sum())
    both = purchase.join(usage, COMMITMENT_PERIOD)
    return (both.filter((both.purchase_effective_cost != 0)
                        & (both.purchase_effective_cost + both.used > both.billed))
            .select(*COMMITMENT_PERIOD, "purchase_effective_cost"))


def without_double_counted_purchases(t: ir.Table) -> ir.Table:
    """``t`` with the EffectiveCost of ``double_counted_purchases`` set to 0 (for tables no reader loaded)."""
    flagged = double_counted_purchases(t).select(*COMMITMENT_PERIOD).mutate(double_counted=ibis.literal(True))
    j = t.left_join(flagged, COMMITMENT_PERIOD)
    hit = j.double_counted.fill_null(False) & (j.ChargeCategory == "Purchase")
    return j.mutate(EffectiveCost=ibis.ifelse(hit, zero_of(j.EffectiveCost), j.EffectiveCost)).select(*t.columns)
