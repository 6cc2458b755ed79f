"""Commitments (Savings Plans, Reserved Instances, their Azure/Google/Oracle peers in FOCUS).

- ``summarize_utilization``: how well each existing commitment is used.
- ``hourly_eligible_spend``: on-demand spend per hour that a commitment could cover.
- ``simulate_commitment``: savings, utilization and coverage of an hourly commitment C.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from finops_nb.analyses.common import for_month, month_bounds, one_of, zero_of
from finops_nb.errors import ConfigError

# Used when the bill has no commitment rows to learn a rate from. Dated default (2024-09): a 1-year
# No Upfront Compute Savings Plan for m5.large Linux in us-east-1 costs $0.069/h against $0.096/h
# on demand, 28 % off (aws.amazon.com/savingsplans/compute-pricing). Pass ``discount=`` to override.
DEFAULT_DISCOUNT = 0.28
DEFAULT_DISCOUNT_SOURCE = "default 28 %: 1-year No Upfront Compute Savings Plan, m5.large Linux us-east-1 (2024-09)"
TIME_UNITS = r"(?i)(hour|hrs|second)"


def summarize_utilization(t: ir.Table, *, month: str | None = None) -> ir.Table:
    """Per commitment: used, unused, ``utilization_pct = 100 * used / (used + unused)`` and net savings.

    Usage rows of a commitment carry ``CommitmentDiscountStatus`` Used or Unused (FOCUS). The amounts are
    ``CommitmentDiscountQuantity`` when every such row has it (FOCUS 1.1 "commitment discount
    utilization"), else ``EffectiveCost``; ``basis`` says which. On the cost basis the unused part may
    also sit on the commitment's Purchase rows (AWS CUR: a Savings Plan recurring fee's amortized cost is
    its unused commitment; an RI fee's, its unused upfront and recurring fee), so their EffectiveCost
    counts as unused; a Purchase row that copied the whole commitment was already set to 0 by the loader.

    ``net_savings = on_demand_equivalent - (used_cost + unused_cost)``, with ``on_demand_equivalent`` the
    ContractedCost of the Used rows (what that usage costs without the commitment), as in Cost Explorer's
    Savings Plans utilization report (net savings = on-demand cost equivalent - amortized commitment).
    """
    t = for_month(t, month).filter(lambda r: r.CommitmentDiscountId.notnull())
    status = t.CommitmentDiscountStatus
    usage = (t.ChargeCategory == "Usage") & status.isin(["Used", "Unused"])
    used, unused = usage & (status == "Used"), usage & (status == "Unused")
    purchase = t.ChargeCategory == "Purchase"
    t = t.filter(usage | purchase)
    zero = zero_of(t.EffectiveCost)

    def total(cond, col):
        return ibis.ifelse(cond, col, zero).sum()

    g = t.group_by([t.BillingCurrency.name("currency"), "CommitmentDiscountId"]).aggregate(
        CommitmentDiscountType=one_of(t.CommitmentDiscountType),
        CommitmentDiscountCategory=one_of(t.CommitmentDiscountCategory),
        rows=usage.cast("int64").sum(),
        rows_with_quantity=(usage & t.CommitmentDiscountQuantity.notnull()).cast("int64").sum(),
        used_quantity=total(used, t.CommitmentDiscountQuantity),
        unused_quantity=total(unused, t.CommitmentDiscountQuantity),
        used_cost=total(used, t.EffectiveCost),
        unused_cost=total(unused | purchase, t.EffectiveCost),
        on_demand_equivalent=total(used, t.ContractedCost),
        purchase_billed_cost=total(purchase, t.BilledCost),
    )
    by_qty = (g.rows > 0) & (g.rows_with_quantity == g.rows)
    used_amt = ibis.ifelse(by_qty, g.used_quantity, g.used_cost)
    unused_amt = ibis.ifelse(by_qty, g.unused_quantity, g.unused_cost)
    whole = used_amt + unused_amt
    pct = ibis.ifelse(whole != 0, used_amt.cast("float64") / whole.cast("float64") * 100, ibis.null("float64"))
    return g.mutate(basis=ibis.ifelse(by_qty, "quantity", "effective cost"), used=used_amt, unused=unused_amt,
                    utilization_pct=pct, net_savings=g.on_demand_equivalent - g.used_cost - g.unused_cost,
                    ).drop("rows_with_quantity").order_by("CommitmentDiscountId")


def eligible_usage(t: ir.Table) -> ir.Table:
    """On-demand usage a compute commitment could cover.

    Rows with ChargeCategory Usage, ServiceCategory Compute, PricingCategory Standard (on demand: not
    Dynamic/spot, not Committed), no CommitmentDiscountId, and a time-based unit (hours for instances and
    Fargate, seconds for Lambda): data transfer, requests and storage are not covered by Savings Plans.
    """
    unit = t.PricingUnit.fill_null(t.ConsumedUnit).fill_null("")
    return t.filter((t.ChargeCategory == "Usage") & (t.ServiceCategory == "Compute")
                    & (t.PricingCategory == "Standard") & t.CommitmentDiscountId.isnull()
                    & unit.re_search(TIME_UNITS))


def hourly_eligible_spend(t: ir.Table, *, month: str, currency: str | None = None) -> pd.DataFrame:
    """On-demand eligible spend (EffectiveCost) per UTC hour of ``month``, every hour present (0 if none).

    A row spanning several hours (daily exports) is spread evenly over the hours of
    ``[ChargePeriodStart, ChargePeriodEnd)``. Returns columns ``hour``, ``currency``, ``eligible_cost``.
    """
    start, end = month_bounds(month)
    e = eligible_usage(for_month(t, month))
    if currency:
        e = e.filter(e.BillingCurrency == currency)
    spans = (e.group_by([e.BillingCurrency.name("currency"), "ChargePeriodStart", "ChargePeriodEnd"])
             .aggregate(cost=e.EffectiveCost.sum()).execute())
    return _spread_over_hours(spans, start, end, currency)


def _spread_over_hours(spans: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp,
                       currency: str | None) -> pd.DataFrame:
    """Each span's ``cost`` spread evenly over its hours that fall in ``[start, end)``, per currency.

    A span covers the hours from its start (floored to the hour) up to its end, at least one hour. Its whole
    cost goes to its hours inside the window (a row belongs to the billing period it is billed in).
    Vectorized: each span adds ``cost / hours`` from its first hour and takes it off after its last
    (a difference array), so the cost is independent of the number of spans.
    """
    hours = pd.date_range(start, end, freq="h", inclusive="left")
    hour = pd.Timedelta(hours=1)
    frames = []
    for cur, part in spans.groupby("currency"):
        s = pd.to_datetime(part["ChargePeriodStart"], utc=True).dt.floor("h")
        f = pd.to_datetime(part["ChargePeriodEnd"], utc=True)
        f = f.where(f > s + hour, s + hour)
        first = ((s.clip(lower=start) - start) / hour).to_numpy()
        last = (np.ceil((f.clip(upper=end) - start) / hour)).to_numpy()
        keep = last > first
        first, last = first[keep].astype(int), last[keep].astype(int)
        per_hour = part["cost"].to_numpy(dtype=float)[keep] / (last - first)
        diff = np.zeros(len(hours) + 1)
        np.add.at(diff, first, per_hour)
        np.add.at(diff, last, -per_hour)
        frames.append(pd.DataFrame({"hour": hours, "currency": cur,
                                    "eligible_cost": np.cumsum(diff[:-1]).round(12)}))
    if not frames:
        return pd.DataFrame({"hour": hours, "currency": currency, "eligible_cost": 0.0})
    return pd.concat(frames, ignore_index=True)


def simulate_commitment(hourly_spend: Sequence[float] | pd.Series, commitments: Sequence[float], *,
                        discount: float) -> pd.DataFrame:
    """Outcome of each hourly commitment ``C`` (in commitment dollars per hour) against hourly spend ``E_h``.

    With discount ``d`` (commitment price = (1 - d) x on-demand), C covers up to ``C / (1 - d)`` of
    on-demand spend each hour (AWS Savings Plans: the commitment applies at the discounted rate and the
    rest is billed on demand):

    - ``covered_h = min(E_h, C / (1 - d))``; ``cost_h = C + (E_h - covered_h)``
    - ``savings = sum(E_h) - sum(cost_h)``
    - ``utilization_pct = 100 * sum(covered_h) * (1 - d) / (C * hours)``
    - ``coverage_pct = 100 * sum(covered_h) / sum(E_h)``
    - ``break_even_utilization_pct = 100 * (1 - d)``: below it the commitment costs more than it saves.
    """
    if not 0 <= discount < 1:
        raise ValueError(f"discount must be in [0, 1), got {discount}")
    e = np.asarray(hourly_spend, dtype=float)
    total, hours = e.sum(), len(e)
    rows = []
    for c in commitments:
        cap = c / (1 - discount)
        covered = np.minimum(e, cap)
        cost = c * hours + (e - covered).sum()
        rows.append({
            "commitment_per_hour": float(c),
            "on_demand_cost": total,
            "cost_with_commitment": cost,
            "savings": total - cost,
            "savings_pct": 100 * (total - cost) / total if total else np.nan,
            "utilization_pct": 100 * covered.sum() * (1 - discount) / (c * hours) if c and hours else np.nan,
            "coverage_pct": 100 * covered.sum() / total if total else np.nan,
            "break_even_utilization_pct": 100 * (1 - discount),
        })
    return pd.DataFrame(rows)


def commitment_grid(hourly_spend: Sequence[float] | pd.Series, *, discount: float, steps: int = 50) -> list[float]:
    """Commitments from 0 to the one covering the peak hour, ``steps`` + 1 points."""
    peak = float(np.max(hourly_spend)) if len(hourly_spend) else 0.0
    return list(np.linspace(0, peak * (1 - discount), steps + 1))


def best_commitment(curve: pd.DataFrame) -> pd.Series:
    """The row of ``simulate_commitment`` with the highest savings (the smallest C among ties)."""
    return curve.sort_values(["savings", "commitment_per_hour"], ascending=[False, True]).iloc[0]


def optimal_commitment(hourly_spend: Sequence[float] | pd.Series, *, discount: float) -> pd.Series:
    """The hourly commitment with the highest savings, found exactly (not on a grid).

    Savings ``S(C) = sum_h min(E_h, C / (1 - d)) - C * hours`` are concave and piecewise linear in C, with
    breaks where ``C / (1 - d)`` equals some hour's spend ``E_h``; the maximum is at one of those breaks
    (or at 0). Each candidate is evaluated through sorted spend and cumulative sums. Returns the
    ``simulate_commitment`` row of the best C (the smallest among ties).
    """
    e = np.sort(np.asarray(hourly_spend, dtype=float))
    hours = len(e)
    if not hours or e[-1] <= 0:
        return simulate_commitment(e, [0.0], discount=discount).iloc[0]
    caps = np.unique(e[e > 0])
    below = np.cumsum(e)  # sum of the k smallest values
    idx = np.searchsorted(e, caps, side="right")  # how many hours spend <= cap
    covered = below[idx - 1] + caps * (hours - idx)
    savings = covered - caps * (1 - discount) * hours
    k = int(np.argmax(savings))
    best = caps[k] * (1 - discount) if savings[k] > 0 else 0.0
    return simulate_commitment(e, [best], discount=discount).iloc[0]


def observed_discount(t: ir.Table, *, month: str | None = None) -> tuple[float, str]:
    """The discount the bill's own committed usage got: ``1 - sum(EffectiveCost) / sum(ListCost)``.

    Over Usage rows with PricingCategory Committed and both costs present; falls back to
    ``DEFAULT_DISCOUNT`` (with its source) when the bill has none.
    """
    t = for_month(t, month)
    c = t.filter((t.ChargeCategory == "Usage") & (t.PricingCategory == "Committed")
                 & t.ListCost.notnull() & t.EffectiveCost.notnull())
    row = c.aggregate(lst=c.ListCost.sum(), eff=c.EffectiveCost.sum()).execute().iloc[0]
    if row.lst is not None and not pd.isna(row.lst) and Decimal(row.lst) > 0:
        d = 1 - float(Decimal(row.eff) / Decimal(row.lst))
        if 0 < d < 1:
            return d, "observed on this bill's committed usage (1 - effective / list)"
    return DEFAULT_DISCOUNT, DEFAULT_DISCOUNT_SOURCE


# --- current state ---------------------------------------------------------------------------------------
# Term end: FOCUS 1.2 has no commitment end column. AWS CUR has savings_plan_end_time and
# reservation_end_time, which the CUR reader keeps as x_SavingsPlanEndTime and x_ReservationEndTime.
# Not available from either input (not mapped by finops_nb/sql/cur_to_focus.sql): the purchase term,
# the payment option, the Savings Plan offering type (Compute / EC2 Instance) and the start time.
TERM_END_COLUMNS = ("x_SavingsPlanEndTime", "x_ReservationEndTime")
EXPIRY_WINDOWS = (30, 60, 90)


def _hours_between(start, end) -> ir.NumericValue:
    return (end.epoch_seconds() - start.epoch_seconds()).cast("float64") / 3600


def summarize_commitments(t: ir.Table, *, month: str) -> pd.DataFrame:
    """Current state per commitment in ``month``: ``summarize_utilization`` plus term end, hourly commitment
    and expiry.

    - ``committed_cost = used_cost + unused_cost`` (amortized cost of the commitment in the month)
    - ``active_hours``: hours of ``[min ChargePeriodStart, max ChargePeriodEnd)`` of its usage rows
    - ``hourly_commitment = committed_cost / active_hours`` (AWS: the $/h commitment of a Savings Plan)
    - ``term_end``: the latest x_SavingsPlanEndTime / x_ReservationEndTime of its rows (CUR); NULL with
      ``term_end_source`` "not available" for FOCUS input, which has no end column
    - ``days_left = (term_end - month end)`` in days, month end being the first instant of the next month
      (UTC, half-open); ``expires_within_days`` is the smallest of 30 / 60 / 90 with ``days_left <= N``
      (0 when the term ended before the month end), else NULL.
    """
    _, month_end = month_bounds(month)
    util = summarize_utilization(t, month=month).execute()
    m = for_month(t, month).filter(lambda r: r.CommitmentDiscountId.notnull() & (r.ChargeCategory == "Usage"))
    ends = [c for c in TERM_END_COLUMNS if c in m.columns]
    aggs = {"period_start": m.ChargePeriodStart.min(), "period_end": m.ChargePeriodEnd.max()}
    for c in ends:
        aggs[c] = m[c].cast("string").max()
    span = m.group_by([m.BillingCurrency.name("currency"), "CommitmentDiscountId"]).aggregate(**aggs).execute()
    out = util.merge(span, on=["currency", "CommitmentDiscountId"], how="left")
    out["committed_cost"] = [Decimal(u) + Decimal(n) for u, n in zip(out.used_cost, out.unused_cost, strict=True)]
    hours = (pd.to_datetime(out.period_end, utc=True) - pd.to_datetime(out.period_start, utc=True)
             ).dt.total_seconds() / 3600
    out["active_hours"] = hours
    out["hourly_commitment"] = [float(c) / h if h and h > 0 else np.nan
                                for c, h in zip(out.committed_cost, hours, strict=True)]
    term_end = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns, UTC]")
    source = pd.Series("not available (FOCUS has no end column; CUR savings_plan_end_time / "
                       "reservation_end_time empty or absent)", index=out.index)
    for c in ends:
        got = pd.to_datetime(out[c], utc=True, errors="coerce")
        source = source.where(got.isna() | term_end.notna(), c)
        term_end = term_end.fillna(got)
        out = out.drop(columns=c)
    out["term_end"], out["term_end_source"] = term_end, source
    out["days_left"] = (term_end - month_end).dt.total_seconds() / 86400
    out["expires_within_days"] = [next((n for n in EXPIRY_WINDOWS if d <= n), None) if pd.notna(d) else None
                                  for d in out.days_left]
    out.loc[out.days_left < 0, "expires_within_days"] = 0
    return out.drop(columns=["period_start", "period_end"])


def expiring_commitments(state: pd.DataFrame, *, within_days: int = 90) -> pd.DataFrame:
    """Rows of ``summarize_commitments`` whose term ends within ``within_days`` of the month end."""
    return state[state.days_left.notna() & (state.days_left <= within_days)].sort_values("days_left")


def instance_family(t: ir.Table) -> ir.StringValue:
    """The instance family, ``x_InstanceType`` up to its first dot (``m5.large`` -> ``m5``); NULL without it.
    (A regular expression, not ``split``: Spark's ``split`` takes a pattern, so ``"."`` would match anything.)"""
    if "x_InstanceType" not in t.columns:
        return ibis.null("string")
    return t.x_InstanceType.re_extract(r"^([^.]*)", 1).nullif("")


COVERAGE_KEYS = {"hour": lambda t: t.ChargePeriodStart.truncate("h"), "service": lambda t: t.ServiceName,
                 "family": instance_family, "account": lambda t: t.SubAccountId}


def covered_on_demand_cost(t: ir.Table) -> ir.NumericValue:
    """On-demand equivalent of commitment-covered usage: ContractedCost, or ListCost where ContractedCost is
    empty or 0 (the shipped sample writes 0 in ContractedCost on covered rows)."""
    return ibis.coalesce(t.ContractedCost.nullif(zero_of(t.ContractedCost)), t.ListCost, zero_of(t.ListCost))


def summarize_coverage(t: ir.Table, *, month: str | None = None, by: str | None = None) -> ir.Table:
    """Coverage of eligible compute spend per currency (and ``by``: hour, service, family or account).

    ``coverage_pct = 100 * covered / (covered + on_demand)`` (AWS Cost Explorer "coverage": the share of
    eligible spend a commitment paid for, in on-demand-equivalent dollars), with ``covered`` the
    ``covered_on_demand_cost`` of Compute usage rows with CommitmentDiscountStatus Used and ``on_demand`` the
    EffectiveCost of ``eligible_usage`` (on-demand compute not covered).
    """
    return _coverage_by(_coverage_rows(t, month, [by] if by else []), by)


def coverage_tables(t: ir.Table, *, month: str | None = None,
                    by: Sequence[str | None] = (None, "service", "family", "account", "hour")) -> dict:
    """``summarize_coverage(t, month=month, by=b).execute()`` for each ``b`` of ``by``, from one read of the
    bill: its covered and on-demand sums per currency and every key of ``by`` (exact DECIMAL sums, so the
    coarser sums are those of the rows), kept by the engine while the tables are made from it."""
    keys = [b for b in by if b]
    for b in keys:
        _check_coverage_key(b)
    rows = _coverage_rows(t, month, keys)
    cube = rows.group_by(["currency", *keys]).aggregate(covered_cost=rows.covered_cost.sum(),
                                                        on_demand_cost=rows.on_demand_cost.sum()).cache()
    try:
        return {b: _coverage_by(cube, b).execute() for b in by}
    finally:
        cube.release()


def _check_coverage_key(by: str) -> None:
    if by not in COVERAGE_KEYS:
        raise ConfigError(f"coverage by {by!r}: use one of {', '.join(COVERAGE_KEYS)}")


def _coverage_rows(t: ir.Table, month: str | None, keys: Sequence[str]) -> ir.Table:
    """The rows ``summarize_coverage`` adds up: ``currency``, each of ``keys``, ``covered_cost`` and
    ``on_demand_cost`` (0 where the row is the other kind)."""
    for b in keys:
        _check_coverage_key(b)
    t = for_month(t, month).filter(lambda r: (r.ChargeCategory == "Usage") & (r.ServiceCategory == "Compute"))
    unit = t.PricingUnit.fill_null(t.ConsumedUnit).fill_null("")
    covered = t.CommitmentDiscountId.notnull() & (t.CommitmentDiscountStatus == "Used")
    on_demand = ((t.PricingCategory == "Standard") & t.CommitmentDiscountId.isnull() & unit.re_search(TIME_UNITS))
    t = t.filter(covered | on_demand)
    zero = zero_of(t.EffectiveCost)
    return t.select(t.BillingCurrency.name("currency"), *[COVERAGE_KEYS[b](t).name(b) for b in keys],
                    covered_cost=ibis.ifelse(covered, covered_on_demand_cost(t), zero),
                    on_demand_cost=ibis.ifelse(on_demand, t.EffectiveCost, zero))


def _coverage_by(rows: ir.Table, by: str | None) -> ir.Table:
    keys = ["currency"] + ([by] if by else [])
    g = rows.group_by(keys).aggregate(covered_cost=rows.covered_cost.sum(), on_demand_cost=rows.on_demand_cost.sum())
    whole = (g.covered_cost + g.on_demand_cost).cast("float64")
    pct = ibis.ifelse(whole != 0, g.covered_cost.cast("float64") / whole * 100, ibis.null("float64"))
    return g.mutate(coverage_pct=pct).order_by(keys)


# --- eligible spend over a lookback ------------------------------------------------------------------------
LOOKBACK_DAYS = (7, 30, 60, 90)  # Cost Explorer offers 7, 30 and 60 days; 90 is ours
ELIGIBLE_KEYS = {
    "compute_sp": (),  # Compute Savings Plan: any EC2 instance, Fargate, Lambda
    "ec2_instance_sp": ("family", "RegionId"),  # EC2 Instance Savings Plan: one family in one region
    "ri": ("x_InstanceType", "RegionId", "x_OperatingSystem"),  # Reserved Instance: type, region, platform
}


def lookback_window(month: str, lookback_days: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``[month end - lookback_days, month end)`` in UTC, month end being the first instant of the next month."""
    if lookback_days not in LOOKBACK_DAYS:
        raise ConfigError(f"lookback {lookback_days!r} days: use one of {', '.join(map(str, LOOKBACK_DAYS))}")
    _, end = month_bounds(month)
    return end - pd.Timedelta(days=lookback_days), end


def _in_window(t: ir.Table, start: pd.Timestamp, end: pd.Timestamp) -> ir.Table:
    """Rows whose charge period overlaps ``[start, end)``."""
    return t.filter((t.ChargePeriodStart < end.to_pydatetime()) & (t.ChargePeriodEnd > start.to_pydatetime()))


def hourly_eligible_spend_lookback(t: ir.Table, *, month: str, lookback_days: int = 30,
                                   currency: str | None = None) -> pd.DataFrame:
    """``hourly_eligible_spend`` over the lookback window ``[month end - lookback_days, month end)`` instead of
    the billing month: rows are picked by their charge period (any billing period), spread evenly over their
    hours and clipped to the window. Columns ``hour``, ``currency``, ``eligible_cost``."""
    start, end = lookback_window(month, lookback_days)
    return _spread_over_hours(_lookback_spans(t, start, end, currency), start, end, currency)


def _lookback_spans(t: ir.Table, start: pd.Timestamp, end: pd.Timestamp, currency: str | None) -> pd.DataFrame:
    """Eligible cost per (currency, ChargePeriodStart, ChargePeriodEnd) of the rows overlapping ``[start, end)``."""
    e = _in_window(eligible_usage(t), start, end)
    if currency:
        e = e.filter(e.BillingCurrency == currency)
    return (e.group_by([e.BillingCurrency.name("currency"), "ChargePeriodStart", "ChargePeriodEnd"])
            .aggregate(cost=e.EffectiveCost.sum()).execute())


def eligible_spend_by(t: ir.Table, *, month: str, lookback_days: int = 30, plan: str = "ec2_instance_sp"
                      ) -> ir.Table:
    """On-demand eligible spend over the lookback window, per currency and the keys a ``plan`` commits to.

    ``plan``: ``compute_sp`` (no keys), ``ec2_instance_sp`` (instance family, RegionId) or ``ri``
    (x_InstanceType, RegionId, x_OperatingSystem). EC2 Instance Savings Plans and RIs cover EC2 instances
    only, so for them rows without an instance type are left out. Rows are those of ``eligible_usage`` whose
    ChargePeriodStart is in ``[month end - lookback_days, month end)`` (a row is counted whole where it
    starts). ``eligible_cost = sum(EffectiveCost)``; ``per_hour = eligible_cost / (24 * lookback_days)``.
    """
    if plan not in ELIGIBLE_KEYS:
        raise ConfigError(f"plan {plan!r}: use one of {', '.join(ELIGIBLE_KEYS)}")
    start, end = lookback_window(month, lookback_days)
    e = eligible_usage(t)
    e = e.filter((e.ChargePeriodStart >= start.to_pydatetime()) & (e.ChargePeriodStart < end.to_pydatetime()))
    keys = [e.BillingCurrency.name("currency")]
    for k in ELIGIBLE_KEYS[plan]:
        keys.append(instance_family(e).name("family") if k == "family"
                    else (e[k] if k in e.columns else ibis.null("string")).name(k))
    if plan != "compute_sp":
        e = e.filter(instance_family(e).notnull())
    g = e.group_by(keys).aggregate(eligible_cost=e.EffectiveCost.sum(), rows=e.count())
    return (g.mutate(per_hour=g.eligible_cost.cast("float64") / (24 * lookback_days))
            .order_by([ibis.desc("eligible_cost"), *(k.get_name() for k in keys)]))


def eligible_spend_tables(t: ir.Table, *, month: str, lookback_days: int = 30,
                          plans: Sequence[str] = tuple(ELIGIBLE_KEYS)) -> dict[str, pd.DataFrame]:
    """``eligible_spend_by(t, month=month, lookback_days=lookback_days, plan=p).execute()`` for each ``p`` of
    ``plans``, from one read of the window: the sums per currency, family, RegionId, x_InstanceType and
    x_OperatingSystem (a few hundred rows), kept by the engine while each plan's table is added up from them."""
    for plan in plans:
        if plan not in ELIGIBLE_KEYS:
            raise ConfigError(f"plan {plan!r}: use one of {', '.join(ELIGIBLE_KEYS)}")
    start, end = lookback_window(month, lookback_days)
    e = eligible_usage(t)
    e = e.filter((e.ChargePeriodStart >= start.to_pydatetime()) & (e.ChargePeriodStart < end.to_pydatetime()))
    keys = [e.BillingCurrency.name("currency"), instance_family(e).name("family"),
            *((e[k] if k in e.columns else ibis.null("string")).name(k)
              for k in ("RegionId", "x_InstanceType", "x_OperatingSystem"))]
    cube = e.group_by(keys).aggregate(eligible_cost=e.EffectiveCost.sum(), rows=e.count()).cache()
    try:
        out = {}
        for plan in plans:
            c = cube if plan == "compute_sp" else cube.filter(cube.family.notnull())
            by = ["currency", *ELIGIBLE_KEYS[plan]]
            g = c.group_by(by).aggregate(eligible_cost=c.eligible_cost.sum(), rows=c.rows.sum().cast("int64"))
            out[plan] = (g.mutate(per_hour=g.eligible_cost.cast("float64") / (24 * lookback_days))
                         .order_by([ibis.desc("eligible_cost"), *by]).execute())
        return out
    finally:
        cube.release()


# --- simulator: terms, payment options, expiring commitments, ladder, sensitivity ------------------------
RATES_JSON = Path(__file__).resolve().parents[1] / "catalog" / "commitment_rates.json"
TERMS = ("1y", "3y")
PAYMENTS = ("no-upfront", "partial-upfront", "all-upfront")
PLANS = ("compute_sp", "ec2_instance_sp", "standard_ri")


def load_commitment_rates(path: Path = RATES_JSON) -> pd.DataFrame:
    """The shipped, dated discount table: plan, term, payment, ``discount = 1 - commitment / on_demand``,
    ``as_of`` and ``source`` (the AWS pricing page of the plan)."""
    doc = json.loads(Path(path).read_text())
    df = pd.DataFrame(doc["rates"])
    df["on_demand_per_hour"] = doc["on_demand_per_hour"]
    df["discount"] = 1 - df.commitment_per_hour / df.on_demand_per_hour
    df["as_of"], df["source"] = doc["as_of"], df.plan.map(doc["sources"])
    return df


def _check_option(term: str, payment: str, plan: str) -> None:
    for value, allowed, what in ((term, TERMS, "term"), (payment, PAYMENTS, "payment option"),
                                 (plan, PLANS, "plan")):
        if value not in allowed:
            raise ConfigError(f"{what} {value!r}: use one of {', '.join(allowed)}")


def discount_for(term: str = "1y", payment: str = "no-upfront", *, plan: str = "compute_sp",
                 observed: tuple[float, str] | None = None) -> tuple[float, str]:
    """The discount to simulate ``term`` / ``payment``: the bill's own rate where present, else the table's.

    ``observed`` is ``observed_discount(t, month=...)`` when the bill has committed usage. Neither FOCUS nor
    the columns our CUR reader keeps record a commitment's term or payment option, so the bill's rate is
    taken as is for the option asked (the table's value for that option is named beside it).
    """
    _check_option(term, payment, plan)
    rates = load_commitment_rates()
    row = rates[(rates.plan == plan) & (rates.term == term) & (rates.payment == payment)].iloc[0]
    table = f"{row.discount:.1%} for {plan} {term} {payment} ({row.source}, as of {row.as_of})"
    if observed is not None and observed[1] != DEFAULT_DISCOUNT_SOURCE:
        return observed[0], f"{observed[1]}; shipped table: {table}"
    return float(row.discount), f"shipped table: {table}"


def compare_terms(hourly_spend: Sequence[float] | pd.Series, *, plan: str = "compute_sp",
                  observed: tuple[float, str] | None = None) -> pd.DataFrame:
    """The best commitment (``optimal_commitment``) for each term and payment option of the shipped table,
    and first, when the bill has committed usage, for the bill's own rate (``option`` "this bill").

    Savings are over the period of ``hourly_spend`` with the commitment as an effective hourly rate (upfront
    payments spread over the term, as on the AWS pricing pages).
    """
    _check_option("1y", "no-upfront", plan)
    rates = load_commitment_rates()
    rows = []
    if observed is not None and observed[1] != DEFAULT_DISCOUNT_SOURCE:
        rows.append(("this bill", None, None, observed[0], observed[1]))
    for r in rates[rates.plan == plan].itertuples():
        rows.append((f"{r.term} {r.payment}", r.term, r.payment, float(r.discount), f"{r.source} ({r.as_of})"))
    out = []
    for option, term, payment, d, source in rows:
        best = optimal_commitment(hourly_spend, discount=d)
        out.append({"option": option, "term": term, "payment": payment, "discount": d, "source": source,
                    **best[["commitment_per_hour", "savings", "savings_pct", "utilization_pct",
                            "coverage_pct", "break_even_utilization_pct"]].to_dict()})
    return pd.DataFrame(out)


def hourly_spend_after_expiry(t: ir.Table, *, month: str, within_days: int = 90, currency: str | None = None,
                              lookback_days: int | None = None, state: pd.DataFrame | None = None) -> pd.DataFrame:
    """Hourly eligible spend of ``month`` (or of the lookback window ending at its end, ``lookback_days``) as it
    will be once the commitments expiring within ``within_days`` of the month end are gone: the usage they
    cover today becomes on-demand.

    ``eligible_after_expiry_h = eligible_cost_h + expiring_covered_h``, with ``expiring_covered_h`` the
    ``covered_on_demand_cost`` of the Used Compute usage rows of those commitments (spread over their hours).
    Commitments that stay are netted out already: usage they cover is not in ``eligible_cost``. ``state``:
    ``summarize_commitments(t, month=month)`` when the caller has it already (else it is read here).
    """
    if lookback_days is None:
        start, end = month_bounds(month)
        base = hourly_eligible_spend(t, month=month, currency=currency)
    else:
        start, end = lookback_window(month, lookback_days)
        base = hourly_eligible_spend_lookback(t, month=month, lookback_days=lookback_days, currency=currency)
    state = summarize_commitments(t, month=month) if state is None else state
    ids = list(expiring_commitments(state, within_days=within_days)
               .CommitmentDiscountId)
    out = base.assign(expiring_covered_cost=0.0)
    if ids:
        m = for_month(t, month) if lookback_days is None else _in_window(t, start, end)
        m = m.filter(m.CommitmentDiscountId.isin(ids) & (m.ChargeCategory == "Usage")
                     & (m.CommitmentDiscountStatus == "Used") & (m.ServiceCategory == "Compute"))
        if currency:
            m = m.filter(m.BillingCurrency == currency)
        spans = (m.group_by([m.BillingCurrency.name("currency"), "ChargePeriodStart", "ChargePeriodEnd"])
                 .aggregate(cost=covered_on_demand_cost(m).sum()).execute())
        extra = (_spread_over_hours(spans, start, end, currency).dropna(subset=["currency"])
                 .rename(columns={"eligible_cost": "expiring_covered_cost"}))
        if len(extra):
            out = (base.dropna(subset=["currency"]).merge(extra, on=["hour", "currency"], how="outer")
                   .fillna({"eligible_cost": 0.0, "expiring_covered_cost": 0.0}))
    out["eligible_after_expiry"] = out.eligible_cost + out.expiring_covered_cost
    return out


def plan_ladder(commitment_per_hour: float, *, months: int, start_month: str) -> pd.DataFrame:
    """Split a commitment into ``months`` equal monthly purchases (laddering: terms end at different times,
    so each renewal can be resized): ``purchase_per_hour = C / months``, cumulative after each purchase."""
    if months < 1:
        raise ConfigError(f"a ladder needs at least 1 month, got {months}")
    first, _ = month_bounds(start_month)
    step = commitment_per_hour / months
    return pd.DataFrame({
        "month": [(first + pd.DateOffset(months=k)).strftime("%Y-%m") for k in range(months)],
        "purchase_per_hour": [step] * months,
        "cumulative_per_hour": [step * (k + 1) for k in range(months)],
    })


def sensitivity_to_growth(hourly_spend: Sequence[float] | pd.Series, *, discount: float,
                          growths: Sequence[float] = (-0.2, -0.1, 0.0, 0.1, 0.2)) -> pd.DataFrame:
    """Best C when every hour's spend becomes ``E_h x (1 + g)``. (S(C) scales with the spend, so the best C
    and its savings grow by the same factor ``1 + g``.)"""
    e = np.asarray(hourly_spend, dtype=float)
    rows = []
    for g in growths:
        best = optimal_commitment(e * (1 + g), discount=discount)
        rows.append({"growth": g, "commitment_per_hour": best.commitment_per_hour, "savings": best.savings,
                     "utilization_pct": best.utilization_pct})
    return pd.DataFrame(rows)


def sensitivity_to_lookback(t: ir.Table, *, month: str, discount: float, currency: str | None = None,
                            lookbacks: Sequence[int] = LOOKBACK_DAYS) -> pd.DataFrame:
    """Best C (``optimal_commitment``) on the hourly eligible spend of each lookback window ending at the
    month end (``hourly_eligible_spend_lookback``); savings per hour make windows comparable."""
    rows = []
    windows = {days: lookback_window(month, days) for days in lookbacks}
    # one read for the longest window: a span overlaps a shorter window ending at the same instant when its
    # end is after that window's start (the spans are grouped by their charge period, so the sums are the same)
    if windows:
        first = min(start for start, _ in windows.values())
        wide = _lookback_spans(t, first, windows[lookbacks[0]][1], currency)
        ends = pd.to_datetime(wide["ChargePeriodEnd"], utc=True)
    for days in lookbacks:
        start, end = windows[days]
        h = _spread_over_hours(wide[(ends > start).to_numpy()], start, end, currency)
        best = optimal_commitment(h.eligible_cost, discount=discount)
        rows.append({"lookback_days": days, "hours": len(h), "eligible_cost": float(h.eligible_cost.sum()),
                     "commitment_per_hour": best.commitment_per_hour, "savings": best.savings,
                     "savings_per_hour": best.savings / len(h) if len(h) else np.nan,
                     "utilization_pct": best.utilization_pct})
    return pd.DataFrame(rows)
