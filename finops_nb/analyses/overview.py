"""Where the money went: totals, cost by dimension, daily trend, top resources, savings breakdown.

All sums are exact decimals, per billing currency: amounts in different currencies are never added
unless ``convert_currency`` is given rates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

import ibis
import ibis.expr.types as ir
import pandas as pd

from finops_nb.analyses.common import billing_period, charge_kind, for_month, group_keys, one_of, zero_of
from finops_nb.errors import ConfigError, MixedCurrencyError

BASIS = {"billed": "BilledCost", "effective": "EffectiveCost", "amortized": "EffectiveCost"}
KINDS = {"usage": "usage_cost", "purchase": "purchase_cost", "credit": "credits", "discount": "discounts",
         "tax": "tax", "adjustment": "adjustments"}


def cost_column(basis: str) -> str:
    """``billed`` -> BilledCost (the invoice view); ``effective``/``amortized`` -> EffectiveCost."""
    try:
        return BASIS[basis]
    except KeyError:
        raise ConfigError(f"basis {basis!r} is not one of billed, effective, amortized") from None


def summarize_totals(t: ir.Table, *, by: Sequence[str] = (), month: str | None = None,
                     case_sensitive_tags: bool = False, basis: str = "billed") -> ir.Table:
    """Per billing period, currency and ``by`` keys: rows, the four cost sums, and the cost split by kind.

    ``billed_cost = sum(BilledCost)``, ``effective_cost = sum(EffectiveCost)``, ``list_cost = sum(ListCost)``,
    ``contracted_cost = sum(ContractedCost)`` (FOCUS 1.2 cost columns; empty values are left out of a sum
    and reported by the loader). ``by`` takes column names or ``tag:KEY``; untagged rows form their own
    group (key NULL), so no cost is dropped.

    Then, on ``basis`` (``billed``: BilledCost, ``amortized``/``effective``: EffectiveCost), the sum per kind
    of charge (``common.charge_kind``): ``usage_cost``, ``purchase_cost``, ``credits``, ``discounts``, ``tax``,
    ``adjustments``, and ``net_cost``, their sum. Credits never hide usage: each is shown apart.
    For AWS CUR input, ``provisional`` is true when the period's invoice is not final (no invoice id yet).
    """
    t = for_month(t, month)
    keys = [billing_period(t).name("billing_period"), t.BillingCurrency.name("currency"),
            *group_keys(t, by, case_sensitive_tags=case_sensitive_tags)]
    cost = t[cost_column(basis)]
    kind = charge_kind(t)
    zero = zero_of(cost)
    by_kind = {name: ibis.ifelse(kind == k, cost, zero).sum() for k, name in KINDS.items()}
    out = t.group_by(keys).aggregate(
        rows=t.count(),
        billed_cost=t.BilledCost.sum(),
        effective_cost=t.EffectiveCost.sum(),
        list_cost=t.ListCost.sum(),
        contracted_cost=t.ContractedCost.sum(),
        **by_kind,
        net_cost=cost.sum(),
        **({"provisional": t.x_Provisional.any()} if "x_Provisional" in t.columns else {}),
    )
    return out.order_by([k.get_name() for k in keys])


def cost_by(t: ir.Table, by: str | Sequence[str], *, basis: str = "effective", month: str | None = None,
            top: int | None = None) -> ir.Table:
    """Cost per currency and ``by`` keys, largest first (ties by key, so ``top`` is the same on every engine);
    ``cost = sum(<basis column>)``."""
    by = [by] if isinstance(by, str) else list(by)
    t = for_month(t, month)
    col = cost_column(basis)
    keys = [t.BillingCurrency.name("currency"), *group_keys(t, by)]
    out = (t.group_by(keys)
           .aggregate(cost=t[col].sum(), rows=t.count())
           .order_by([ibis.desc("cost"), *(k.get_name() for k in keys)]))
    return out.limit(top) if top else out


def cost_by_each(t: ir.Table, dims: Sequence[str], *, basis: str = "effective", month: str | None = None,
                 ) -> dict[str, pd.DataFrame]:
    """``cost_by(t, dim, ...)`` for each of ``dims``, from one read of ``t``: the cost and rows per currency
    and every dimension at once (a few thousand rows), then per dimension the sums of those sums (exact:
    DECIMAL sums of DECIMAL sums). Each frame equals ``cost_by(t, dim, basis=basis, month=month).execute()``.
    The cube is cached on DuckDB only; on other engines each dimension reads the bill again."""
    t = for_month(t, month)
    col = cost_column(basis)
    dim_keys = group_keys(t, dims)
    keys = {"currency": t.BillingCurrency, **{f"_d{i}": k for i, k in enumerate(dim_keys)}}
    cube = t.group_by(**keys).aggregate(cost=t[col].sum(), rows=t.count())
    if t._find_backend().name == "duckdb":  # PySpark's cache does not register every relation (ibis 12)
        cube = cube.cache()
    out = {}
    for i, (dim, key) in enumerate(zip(dims, dim_keys, strict=True)):
        name = key.get_name()
        by = cube.group_by(["currency", cube[f"_d{i}"].name(name)]).aggregate(cost=cube.cost.sum(),
                                                                             rows=cube.rows.sum())
        out[dim] = by.order_by([ibis.desc("cost"), "currency", name]).execute()
    return out


def daily_trend(t: ir.Table, *, month: str | None = None) -> ir.Table:
    """Billed and effective cost per UTC day of ``ChargePeriodStart`` and currency."""
    t = for_month(t, month)
    day = t.ChargePeriodStart.truncate("D").name("day")
    return (t.group_by([day, t.BillingCurrency.name("currency")])
            .aggregate(billed_cost=t.BilledCost.sum(), effective_cost=t.EffectiveCost.sum())
            .order_by(["day", "currency"]))


def top_resources(t: ir.Table, *, month: str | None = None, n: int = 10, basis: str = "effective") -> ir.Table:
    """The ``n`` resources with the highest cost, with their service, sub-account and region."""
    t = for_month(t, month).filter(lambda r: r.ResourceId.notnull())
    col = cost_column(basis)
    return (t.group_by([t.BillingCurrency.name("currency"), "ResourceId"])
            .aggregate(cost=t[col].sum(), ServiceName=one_of(t.ServiceName),
                       SubAccountName=one_of(t.SubAccountName), RegionId=one_of(t.RegionId),
                       ProviderName=one_of(t.ProviderName))
            .order_by([ibis.desc("cost"), "ResourceId"])
            .limit(n))


def charge_breakdown(t: ir.Table, *, month: str | None = None) -> ir.Table:
    """Billed and effective cost per currency and ChargeCategory (Usage, Purchase, Credit, Tax, Adjustment).

    Credits and adjustments stay apart from usage so a credit never hides the usage it pays for:
    ``net = usage + purchase + credit + tax + adjustment`` per currency.
    """
    t = for_month(t, month)
    return (t.group_by([t.BillingCurrency.name("currency"), "ChargeCategory"])
            .aggregate(rows=t.count(), billed_cost=t.BilledCost.sum(), effective_cost=t.EffectiveCost.sum())
            .order_by(["currency", "ChargeCategory"]))


def savings_breakdown(t: ir.Table, *, month: str | None = None, by: Sequence[str] = ()) -> ir.Table:
    """Negotiated and commitment savings and the effective savings rate (ESR), per currency.

    FinOps Foundation / FOCUS savings use case, over rows that are not Purchase rows (a purchase's cost
    reaches usage rows through amortization, so counting it would double it):

    - ``negotiated_savings = sum(ListCost) - sum(ContractedCost)``
    - ``commitment_savings = sum(ContractedCost) - sum(EffectiveCost)``
    - ``total_savings = sum(ListCost) - sum(EffectiveCost)`` (= negotiated + commitment)
    - ``effective_savings_rate_pct = 100 * total_savings / sum(ListCost)``

    Negative savings (a contracted price above list) are kept, never clipped, so the parts add up.
    Only rows that carry all three of ListCost, ContractedCost and EffectiveCost are counted; how many
    rows lacked one is returned as ``rows_without_prices``.
    """
    t = for_month(t, month).filter(lambda r: r.ChargeCategory != "Purchase")
    complete = t.ListCost.notnull() & t.ContractedCost.notnull() & t.EffectiveCost.notnull()
    zero = zero_of(t.ListCost)
    out = t.group_by([t.BillingCurrency.name("currency"), *group_keys(t, by)]).aggregate(
        list_cost=ibis.ifelse(complete, t.ListCost, zero).sum(),
        contracted_cost=ibis.ifelse(complete, t.ContractedCost, zero).sum(),
        effective_cost=ibis.ifelse(complete, t.EffectiveCost, zero).sum(),
        rows_without_prices=(~complete).cast("int64").sum(),
    )
    out = out.mutate(
        negotiated_savings=out.list_cost - out.contracted_cost,
        commitment_savings=out.contracted_cost - out.effective_cost,
        total_savings=out.list_cost - out.effective_cost,
    )
    rate = ibis.ifelse(out.list_cost != 0, out.total_savings.cast("float64") / out.list_cost.cast("float64") * 100,
                       ibis.null("float64"))
    return out.mutate(effective_savings_rate_pct=rate).order_by("currency")


def convert_currency(frame: pd.DataFrame, rates: Mapping[str, float | str | Decimal], *, to: str = "USD",
                     columns: Sequence[str] = ("billed_cost",), currency_column: str = "currency") -> pd.DataFrame:
    """Convert money columns of a per-currency frame into ``to``: ``amount_to = amount * rates[currency]``.

    ``rates`` maps a currency code to units of ``to`` per unit (``{"EUR": 1.10}`` means 1 EUR = 1.10 USD).
    A currency without a rate is an error, never a silent 1.0. Arithmetic is decimal.
    """
    rates = {k.upper(): Decimal(str(v)) for k, v in rates.items()}
    rates.setdefault(to.upper(), Decimal(1))
    missing = sorted({str(c) for c in frame[currency_column].unique() if str(c).upper() not in rates})
    if missing:
        raise ConfigError(f"no exchange rate to {to} for {', '.join(missing)}; add it to the rates file")
    out = frame.copy()
    factor = out[currency_column].map(lambda c: rates[str(c).upper()])
    for col in columns:
        out[col] = [None if v is None or pd.isna(v) else Decimal(str(v)) * f
                    for v, f in zip(out[col], factor, strict=True)]
    out[currency_column] = to.upper()
    return out


def single_total(frame: pd.DataFrame, column: str = "billed_cost", currency_column: str = "currency") -> Decimal:
    """The sum of ``column`` when every row is in one currency; otherwise a MixedCurrencyError."""
    currencies = sorted({str(c) for c in frame[currency_column].unique()})
    if len(currencies) > 1:
        raise MixedCurrencyError(
            f"amounts are in {len(currencies)} currencies ({', '.join(currencies)}): give one total per currency, "
            "or pass exchange rates (finops-nb totals --rates FILE) to convert them first")
    return sum((Decimal(str(v)) for v in frame[column] if v is not None), Decimal(0))
