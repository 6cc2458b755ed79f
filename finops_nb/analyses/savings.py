"""Savings opportunities: checks over the canonical table, each priced at the resource's effective cost.

Every check returns one row per (resource, action) with the same columns (``LEDGER_COLUMNS``):
``monthly_cost`` (the resource's effective cost in the month), ``monthly_savings``, ``basis`` (the formula
in words), ``effort``, ``risk`` and the owner (sub-account and an owner tag). ``summarize_ledger`` adds
them up counting each resource once.
"""

from __future__ import annotations

import ibis.expr.types as ir
import pandas as pd

from finops_nb.analyses.commitments import hourly_eligible_spend, optimal_commitment
from finops_nb.analyses.common import for_month, one_of, tag_value
from finops_nb.errors import ConfigError

LEDGER_COLUMNS = ["check", "action", "ResourceId", "ServiceName", "SubAccountId", "SubAccountName", "owner",
                  "currency", "monthly_cost", "monthly_savings", "basis", "effort", "risk"]
NO_RESOURCE = "(no resource id)"

# gp3 lists at 20 % below gp2 per GB-month in every region (aws.amazon.com/ebs/pricing, e.g. us-east-1
# $0.08 vs $0.10, ap-south-1 $0.0912 vs $0.114).
GP3_PRICE_RATIO = 0.8


def _per_resource(t: ir.Table, owner_tag: str) -> ir.Table:
    t = t.mutate(owner=tag_value(t, owner_tag), ResourceId=t.ResourceId.fill_null(NO_RESOURCE))
    return t.group_by([t.BillingCurrency.name("currency"), "ResourceId"]).aggregate(
        ServiceName=one_of(t.ServiceName), SubAccountId=one_of(t.SubAccountId),
        SubAccountName=one_of(t.SubAccountName), owner=one_of(t.owner),
        monthly_cost=t.EffectiveCost.sum(), rows=t.count())


def _ledger(df: pd.DataFrame, *, check: str, action: str, savings: pd.Series, basis: str, effort: str,
            risk: str) -> pd.DataFrame:
    out = df.assign(check=check, action=action, monthly_savings=savings, basis=basis, effort=effort, risk=risk)
    out["monthly_cost"] = out["monthly_cost"].astype(float)
    out["monthly_savings"] = out["monthly_savings"].astype(float)
    return out[LEDGER_COLUMNS + [c for c in out.columns if c not in LEDGER_COLUMNS]]


def find_gp2_volumes(t: ir.Table, *, month: str | None = None, owner_tag: str = "owner") -> pd.DataFrame:
    """EBS gp2 storage that would cost less as gp3.

    Rows: Usage charges for gp2 provisioned storage (``x_UsageType`` ``...VolumeUsage.gp2`` in CUR-based
    exports, else the charge description ``... (gp2) provisioned storage``).
    ``monthly_savings = (1 - 0.8) * monthly_cost``: gp3's GB-month price is 80 % of gp2's in every region,
    applied to the volume's own effective cost so negotiated and commitment discounts carry over.
    gp3's included 3,000 IOPS / 125 MB/s match gp2 up to 1 TiB (gp2 gives 3 IOPS per GiB); a larger
    volume needs extra gp3 IOPS, priced separately, which this figure does not subtract.
    """
    t = for_month(t, month)
    hit = t.ChargeDescription.fill_null("").re_search(r"\(gp2\).*provisioned storage")
    if "x_UsageType" in t.columns:
        hit = hit | t.x_UsageType.fill_null("").re_search(r"VolumeUsage\.gp2$")
    df = _per_resource(t.filter((t.ChargeCategory == "Usage") & hit), owner_tag).execute()
    return _ledger(df, check="EBS gp2 -> gp3", action="modify volume type to gp3",
                   savings=df.monthly_cost.astype(float) * (1 - GP3_PRICE_RATIO),
                   basis="20 % of the volume's effective storage cost (gp3 lists at 80 % of gp2 per GB-month)",
                   effort="low", risk="low")


def find_low_cost_sprawl(t: ir.Table, *, month: str | None = None, owner_tag: str = "owner",
                         max_cost: float = 1.0, min_resources: int = 10) -> pd.DataFrame:
    """Many cheap resources of one service in one sub-account: a sign of forgotten clean-up.

    A group (ServiceName, SubAccountId) is flagged when it holds at least ``min_resources`` resources whose
    monthly effective cost is each below ``max_cost``. ``monthly_savings = monthly_cost`` of each such
    resource: the upper bound if it is deleted; someone must confirm it is unused.
    """
    df = _per_resource(for_month(t, month).filter(lambda r: r.ChargeCategory == "Usage"), owner_tag).execute()
    df = df[(df.ResourceId != NO_RESOURCE) & (df.monthly_cost.astype(float) < max_cost)]
    sizes = df.groupby(["currency", "ServiceName", "SubAccountId"], dropna=False).ResourceId.transform("count")
    df = df[sizes >= min_resources].assign(resources_in_group=sizes[sizes >= min_resources])
    return _ledger(df, check="low-cost, high-count resources", action="review and delete if unused",
                   savings=df.monthly_cost.astype(float),
                   basis=f"upper bound: the resource's own effective cost, one of >= {min_resources} resources "
                   f"under {max_cost:g} each in this service and sub-account",
                   effort="medium", risk="medium")


def find_uncovered_compute(t: ir.Table, *, discount: float, discount_source: str, month: str | None = None,
                           owner_tag: str = "owner") -> pd.DataFrame:
    """A compute commitment sized on the month's hourly on-demand spend: one row per currency.

    Hourly eligible spend ``E_h`` is ``commitments.hourly_eligible_spend`` (Compute, on demand, time-based
    units, no commitment). ``monthly_savings`` is the saving of the best hourly commitment C
    (``commitments.optimal_commitment``: ``sum_h min(E_h, C / (1 - d)) - C * hours``) at ``discount`` d, from
    the bill's own committed usage where present (``commitments.observed_discount``). Spiky or sparse usage
    gives a small C or none, so this check never promises a saving the commitments notebook would not
    find; ``monthly_cost`` is the eligible on-demand spend. The commitment is bought for the organization,
    so the row has no single resource or owner.
    """
    if not month:
        raise ConfigError("a month is needed to size a commitment on hourly spend")
    hourly = hourly_eligible_spend(t, month=month)
    rows = []
    for currency, part in hourly.dropna(subset=["currency"]).groupby("currency"):
        best = optimal_commitment(part.eligible_cost, discount=discount)
        if best.commitment_per_hour > 0:
            rows.append({"currency": currency, "ResourceId": f"Compute commitment ({currency})",
                         "ServiceName": "eligible compute (EC2, Fargate, Lambda)", "SubAccountId": None,
                         "SubAccountName": "(organization)", "owner": None, "monthly_cost": best.on_demand_cost,
                         "commitment_per_hour": best.commitment_per_hour, "utilization_pct": best.utilization_pct,
                         "coverage_pct": best.coverage_pct, "savings": best.savings})
    df = pd.DataFrame(rows, columns=["currency", "ResourceId", "ServiceName", "SubAccountId", "SubAccountName",
                                     "owner", "monthly_cost", "commitment_per_hour", "utilization_pct",
                                     "coverage_pct", "savings"])
    return _ledger(df.drop(columns="savings"), check="on-demand compute not covered by commitments",
                   action="buy a Compute Savings Plan of commitment_per_hour", savings=df.savings,
                   basis=f"saving of the best hourly commitment on this month's hourly on-demand spend at "
                   f"{discount:.0%} off ({discount_source})", effort="low", risk="medium")


def summarize_ledger(ledger: pd.DataFrame) -> pd.DataFrame:
    """Totals per currency and check, and an ``all checks`` row that counts each resource once.

    A resource flagged by several checks cannot save more than its best single action, so the total
    takes, per resource, the largest ``monthly_savings`` of its rows (never the sum).
    """
    if ledger.empty:
        return pd.DataFrame(columns=["currency", "check", "findings", "monthly_savings"])
    by_check = (ledger.groupby(["currency", "check"], as_index=False)
                .agg(findings=("ResourceId", "count"), monthly_savings=("monthly_savings", "sum")))
    once = (ledger.groupby(["currency", "ResourceId"], as_index=False).monthly_savings.max()
            .groupby("currency", as_index=False).agg(findings=("ResourceId", "count"),
                                                     monthly_savings=("monthly_savings", "sum"))
            .assign(check="all checks (each resource once)"))
    return pd.concat([by_check, once], ignore_index=True)[["currency", "check", "findings", "monthly_savings"]]


def build_ledger(t: ir.Table, *, month: str | None, discount: float, discount_source: str,
                 owner_tag: str = "owner") -> pd.DataFrame:
    """All checks of this module in one ledger, largest saving first."""
    parts = [
        find_gp2_volumes(t, month=month, owner_tag=owner_tag),
        find_low_cost_sprawl(t, month=month, owner_tag=owner_tag),
        find_uncovered_compute(t, month=month, owner_tag=owner_tag, discount=discount,
                               discount_source=discount_source),
    ]
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=LEDGER_COLUMNS)
    return pd.concat(parts, ignore_index=True).sort_values("monthly_savings", ascending=False, ignore_index=True)


__all__ = ["LEDGER_COLUMNS", "build_ledger", "find_gp2_volumes", "find_low_cost_sprawl",
           "find_uncovered_compute", "summarize_ledger"]
