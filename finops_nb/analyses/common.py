"""Building blocks every analysis shares: month windows, tag lookup, group keys, money helpers."""

from __future__ import annotations

import re
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
    """
    keys, values = t.Tags.keys(), t.Tags.values()
    if case_sensitive:
        idx = keys.index(key)
    else:
        wanted = tag_match_key(key) if isinstance(key, str) else key.lower().re_replace("[^a-z0-9]", "")
        idx = keys.map(lambda k: k.lower().re_replace("[^a-z0-9]", "")).index(wanted)
    # the position as int32: Spark's element_at takes an INT index (DuckDB takes any integer)
    return ibis.ifelse(idx >= 0, values[idx.cast("int32")], ibis.null("string"))


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
