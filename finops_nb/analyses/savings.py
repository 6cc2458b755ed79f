"""Savings opportunities: checks over the canonical table, each priced at the resource's effective cost.

Every check returns one row per (resource, action) with the same columns (``LEDGER_COLUMNS``):
``monthly_cost`` (the resource's effective cost in the month), ``monthly_savings``, ``basis`` (the formula
in words), ``effort``, ``risk`` and the owner (sub-account and an owner tag). ``summarize_ledger`` adds
them up counting each resource once.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pandas as pd

from finops_nb.analyses.commitments import hourly_eligible_spend, optimal_commitment
from finops_nb.analyses.common import billing_period, for_month, month_bounds, one_of, tag_value
from finops_nb.catalog import ebs
from finops_nb.errors import ConfigError

LEDGER_COLUMNS = ["check", "action", "action_kind", "ResourceId", "ServiceName", "SubAccountId", "SubAccountName",
                  "owner", "currency", "monthly_cost", "monthly_savings", "basis", "effort", "risk", "evidence"]
NO_RESOURCE = "(no resource id)"
ACTION_KINDS = ("terminate", "rightsize", "modernize", "pricing")  # see count_once for the rule
SEQUENCE = ("rightsize", "modernize", "pricing")  # compatible kinds, applied in this order


def _per_resource(t: ir.Table, owner_tag: str) -> ir.Table:
    t = t.mutate(owner=tag_value(t, owner_tag), ResourceId=t.ResourceId.fill_null(NO_RESOURCE))
    return t.group_by([t.BillingCurrency.name("currency"), "ResourceId"]).aggregate(
        ServiceName=one_of(t.ServiceName), SubAccountId=one_of(t.SubAccountId),
        SubAccountName=one_of(t.SubAccountName), owner=one_of(t.owner),
        monthly_cost=t.EffectiveCost.sum(), rows=t.count())


def _ledger(df: pd.DataFrame, *, check: str, action: str, savings: pd.Series, basis: str, effort: str,
            risk: str, action_kind: str, evidence: pd.Series | str = "") -> pd.DataFrame:
    if action_kind not in ACTION_KINDS:
        raise ValueError(f"action_kind {action_kind!r} is not one of {', '.join(ACTION_KINDS)}")
    out = df.assign(check=check, action=action, action_kind=action_kind, monthly_savings=savings, basis=basis,
                    effort=effort, risk=risk, evidence=evidence)
    out["monthly_cost"] = out["monthly_cost"].astype(float)
    out["monthly_savings"] = out["monthly_savings"].astype(float)
    return out[LEDGER_COLUMNS + [c for c in out.columns if c not in LEDGER_COLUMNS]].reset_index(drop=True)


def _usage_type(t: ir.Table) -> ir.StringValue:
    """``x_UsageType`` (CUR-based exports) or an empty string (FOCUS exports without it)."""
    return t.x_UsageType.fill_null("") if "x_UsageType" in t.columns else ibis.literal("")


def _sized_volumes(t: ir.Table, hit: ir.BooleanValue, *, month: str | None, owner_tag: str) -> pd.DataFrame:
    """Per volume (currency, ResourceId) over the Usage rows ``hit``: effective and list cost, the usage quantity
    (``ConsumedQuantity``, else ``PricingQuantity``: GB-months or IOPS-months) and the hours the bill shows the
    volume present (the summed length of its distinct charge periods, at most the month's hours).

    ``provisioned = quantity * month_hours / hours_present``: the size (GB) or IOPS the volume had while it
    existed. A volume billed for the whole month (one monthly row) has ``provisioned = quantity``; an 8 GB volume
    billed in hourly rows for 10 of 720 hours shows 10 * 8 / 720 = 0.1111 GB-months: 0.1111 * 720 / 10 = 8 GB.
    ``effective_to_list = monthly_cost / list_cost`` (NaN when the list cost is 0).
    """
    t = for_month(t, month)
    t = t.filter((t.ChargeCategory == "Usage") & hit)
    qty = t.ConsumedQuantity.fill_null(t.PricingQuantity) if "PricingQuantity" in t.columns else t.ConsumedQuantity
    t = t.mutate(owner=tag_value(t, owner_tag), ResourceId=t.ResourceId.fill_null(NO_RESOURCE), qty=qty,
                 period=billing_period(t))
    keys = [t.BillingCurrency.name("currency"), "ResourceId"]
    by_period = t.group_by([*keys, "ChargePeriodStart", "ChargePeriodEnd"]).aggregate(
        ServiceName=one_of(t.ServiceName), SubAccountId=one_of(t.SubAccountId),
        SubAccountName=one_of(t.SubAccountName), owner=one_of(t.owner), period=one_of(t.period),
        monthly_cost=t.EffectiveCost.sum(), list_cost=t.ListCost.sum(), quantity=t.qty.sum())
    p = by_period.mutate(seconds=by_period.ChargePeriodEnd.epoch_seconds()
                         - by_period.ChargePeriodStart.epoch_seconds())
    df = p.group_by(["currency", "ResourceId"]).aggregate(
        ServiceName=one_of(p.ServiceName), SubAccountId=one_of(p.SubAccountId), SubAccountName=one_of(p.SubAccountName),
        owner=one_of(p.owner), period=one_of(p.period), periods=p.period.nunique(),
        monthly_cost=p.monthly_cost.sum(), list_cost=p.list_cost.sum(), quantity=p.quantity.sum(),
        seconds=p.seconds.sum()).execute()
    df = df[df.ResourceId != NO_RESOURCE]
    if df.empty:
        return df.assign(month_hours=[], hours_present=[], provisioned=[], effective_to_list=[])
    month_hours = df.period.map(lambda m: (month_bounds(m)[1] - month_bounds(m)[0]).total_seconds() / 3600)
    df["month_hours"] = month_hours * df.periods
    df["hours_present"] = (df.seconds.astype(float) / 3600).clip(upper=df.month_hours)
    present = df.hours_present.where(df.hours_present > 0, df.month_hours)
    df["quantity"] = df.quantity.astype(float)
    df["provisioned"] = df.quantity * df.month_hours / present
    cost, listed = df.monthly_cost.astype(float), df.list_cost.astype(float)
    df["effective_to_list"] = (cost / listed).where(listed != 0)
    return df.drop(columns=["seconds", "periods", "period"])


def find_gp2_volumes(t: ir.Table, *, month: str | None = None, owner_tag: str = "owner") -> pd.DataFrame:
    """EBS gp2 volumes that cost less as gp3 with the same performance.

    Rows: Usage charges for gp2 storage (``x_UsageType`` ending ``VolumeUsage.gp2`` in CUR-based exports, else
    the charge description ``... (gp2) provisioned storage``). The size is read from the bill:
    ``size_gb = GB-months * month_hours / hours_present`` (``_sized_volumes``: the GB-month usage quantity of
    the volume's rows over the month, per hour the bill shows it present).

    ``gp3_saving_fraction(size) = 1 - gp3 matched / gp2`` at us-east-1 list prices (``catalog.ebs``: gp2 0.10
    per GB-month; gp3 0.08 per GB-month with 3,000 IOPS and 125 MB/s included, 0.005 per extra IOPS-month, 0.04
    per extra MB/s-month, matching gp2's 3 IOPS/GB baseline and its 128 / 250 MB/s maximum).
    ``monthly_savings = list_cost * fraction * effective_cost / list_cost`` (= effective cost * fraction): the
    list-price saving scaled by the volume's own effective/list ratio in the bill. 1000 GB at list 100.00: gp3
    85.00, saves 15.00; at 90 % of list, 13.50. Volumes that gp3 would not make cheaper (under ~6 GB, where
    matching 128 MB/s costs more than the 20 % storage discount) are left out.
    """
    hit = t.ChargeDescription.fill_null("").re_search(r"\(gp2\).*provisioned storage") | _usage_type(t).re_search(
        r"VolumeUsage\.gp2$")
    df = _sized_volumes(t, hit, month=month, owner_tag=owner_tag)
    df = df.rename(columns={"provisioned": "size_gb"})
    df["gp2_list_monthly"] = df.size_gb.map(ebs.gp2_monthly_cost)
    df["gp3_list_monthly"] = df.size_gb.map(ebs.gp3_matching_gp2_cost)
    fraction = df.size_gb.map(ebs.gp3_saving_fraction).astype(float)
    df = df[fraction > 0]
    fraction = fraction[fraction > 0]
    evidence = [f"{r.size_gb:,.1f} GB ({r.quantity:.4g} GB-months over {r.hours_present:,.0f} of "
                f"{r.month_hours:,.0f} h); full-month list gp2 {r.gp2_list_monthly:,.2f} vs gp3 matched "
                f"{r.gp3_list_monthly:,.2f} ({ebs.gp2_baseline_iops(r.size_gb):,.0f} IOPS, "
                f"{ebs.gp2_max_throughput_mbps(r.size_gb):.0f} MB/s); effective/list "
                + ("n/a" if pd.isna(r.effective_to_list) else f"{r.effective_to_list:.2f}") for r in df.itertuples()]
    return _ledger(df, check="EBS gp2 -> gp3", action="modify volume type to gp3 (IOPS and MB/s of the gp2 volume)",
                   action_kind="modernize", savings=df.monthly_cost.astype(float) * fraction,
                   basis="effective cost x (1 - gp3 / gp2 list cost at the volume's size, performance matched; "
                   f"{ebs.PRICES_SOURCE}, {ebs.PRICES_AS_OF})", effort="low", risk="low", evidence=evidence)


def find_io1_volumes(t: ir.Table, *, month: str | None = None, owner_tag: str = "owner") -> pd.DataFrame:
    """EBS io1 volumes whose provisioned IOPS cost less on io2 (same GB price, tiered IOPS price, more durable).

    Rows: Usage charges for io1 provisioned IOPS (``x_UsageType`` ending ``VolumeP-IOPS.piops``, else the charge
    description ``... IOPS-month ... (io1)``). ``iops = IOPS-months * month_hours / hours_present``
    (``_sized_volumes``). ``monthly_savings = effective cost of the IOPS rows * (1 - io2 / io1 IOPS list cost)``
    (``catalog.ebs``: io1 0.065 per IOPS-month; io2 0.065 to 32,000, 0.0455 to 64,000, 0.032 above). 40,000
    IOPS at list 2600.00: io2 2444.00, saves 156.00; at 90 % of list 140.40. At most 32,000 IOPS: no saving,
    no row (io2 is still more durable: AWS recommends it, but that is not a cost finding).
    """
    hit = (_usage_type(t).re_search(r"VolumeP-IOPS\.piops$")
           | t.ChargeDescription.fill_null("").re_search(r"IOPS-month.*\(io1\)|\(io1\).*IOPS-month"))
    df = _sized_volumes(t, hit, month=month, owner_tag=owner_tag).rename(columns={"provisioned": "iops"})
    df["io1_iops_list_monthly"] = df.iops.map(ebs.io1_iops_monthly_cost)
    df["io2_iops_list_monthly"] = df.iops.map(ebs.io2_iops_monthly_cost)
    fraction = df.iops.map(ebs.io2_iops_saving_fraction).astype(float)
    df, fraction = df[fraction > 0], fraction[fraction > 0]
    evidence = [f"{r.iops:,.0f} IOPS over {r.hours_present:,.0f} of {r.month_hours:,.0f} h; full-month list io1 "
                f"{r.io1_iops_list_monthly:,.2f} vs io2 {r.io2_iops_list_monthly:,.2f}" for r in df.itertuples()]
    return _ledger(df, check="EBS io1 -> io2", action="modify volume type to io2 (same size and IOPS)",
                   action_kind="modernize", savings=df.monthly_cost.astype(float) * fraction,
                   basis="effective cost of the IOPS x (1 - io2 / io1 tiered IOPS list cost; "
                   f"{ebs.PRICES_SOURCE}, {ebs.PRICES_AS_OF})", effort="low", risk="low", evidence=evidence)


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
                   effort="medium", risk="medium", action_kind="terminate")


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
                   f"{discount:.0%} off ({discount_source})", effort="low", risk="medium",
                   action_kind="pricing")


def count_once(ledger: pd.DataFrame) -> pd.DataFrame:
    """Per resource (currency, ResourceId): what its findings save together, counting the resource once.

    Every finding has an ``action_kind`` (``ACTION_KINDS``):

    - ``terminate``: the resource goes away (delete, release, stop). Exclusive with everything else.
    - ``rightsize``: less of the same (a smaller size, less data kept).
    - ``modernize``: the same capacity on a cheaper kind (volume type, instance generation, Graviton, storage class).
    - ``pricing``: the same resource at a cheaper rate (commitment, Spot, reserved).

    Rule: compatible kinds apply in the sequence rightsize -> modernize -> pricing, each priced on what the
    previous ones left: ``step_k = s_k * prod_{j<k} (1 - s_j / c_j)`` with ``s`` a finding's saving and ``c``
    its monthly cost. Findings of the same kind are alternatives (two ways to modernize): the larger one counts.
    A terminate finding competes with the whole sequence: the larger of the two counts. The result is capped at
    the resource's monthly cost (the largest ``monthly_cost`` of its rows, never below 0).
    Worked (issue 4): 200/month, idle (terminate 200), rightsize 100, Graviton 20 % (40): max(200, 100 + 40 *
    (1 - 100/200)) = 200. Not idle: 100 + 20 = 120 (the naive sum says 140).

    Columns: currency, ResourceId, ServiceName, SubAccountId, SubAccountName, owner, monthly_cost, findings,
    naive_savings (the plain sum), monthly_savings (counted once), actions (the findings that count, in order).
    """
    cols = ["currency", "ResourceId", "ServiceName", "SubAccountId", "SubAccountName", "owner", "monthly_cost",
            "findings", "naive_savings", "monthly_savings", "actions"]
    if ledger.empty:
        return pd.DataFrame(columns=cols)
    unknown = set(ledger.action_kind) - set(ACTION_KINDS)
    if unknown:
        raise ConfigError(f"ledger rows with action_kind {sorted(unknown)}: use one of {', '.join(ACTION_KINDS)}")
    rows = []
    for (currency, rid), g in ledger.groupby(["currency", "ResourceId"], sort=True, dropna=False):
        cost = max(float(g.monthly_cost.max()), 0.0)
        terminate = g[g.action_kind == "terminate"]
        best_terminate = (float(terminate.monthly_savings.max()), [terminate.monthly_savings.idxmax()]) \
            if len(terminate) else (0.0, [])
        left, total, steps = 1.0, 0.0, []
        for kind in SEQUENCE:
            part = g[g.action_kind == kind]
            if part.empty:
                continue
            i = part.monthly_savings.idxmax()
            s, c = float(part.monthly_savings[i]), float(part.monthly_cost[i])
            total += s * left
            left *= max(0.0, 1 - s / c) if c > 0 else 1.0
            steps.append(i)
        saved, used = (best_terminate if best_terminate[0] > total else (total, steps))
        first = g.iloc[0]
        rows.append({"currency": currency, "ResourceId": rid, "ServiceName": first.ServiceName,
                     "SubAccountId": first.SubAccountId, "SubAccountName": first.SubAccountName,
                     "owner": first.owner, "monthly_cost": cost, "findings": len(g),
                     "naive_savings": float(g.monthly_savings.sum()), "monthly_savings": min(max(saved, 0.0), cost),
                     "actions": " -> ".join(f"{g.check[i]} ({g.action_kind[i]})" for i in used)})
    return pd.DataFrame(rows, columns=cols)


ONCE = "all checks (each resource once)"


def summarize_ledger(ledger: pd.DataFrame) -> pd.DataFrame:
    """Totals per currency and check, and an ``all checks (each resource once)`` row per currency.

    Per check: ``monthly_savings`` is the sum of its findings. The ``all checks`` row sums ``count_once`` (each
    resource once: exclusive actions keep the larger, compatible ones apply in sequence, capped at the
    resource's cost) and shows, side by side, ``naive_monthly_savings``: the plain sum of every finding, which
    counts a resource flagged by three checks three times. ``findings`` is the number of rows (resources for
    the ``all checks`` row).
    """
    cols = ["currency", "check", "findings", "monthly_savings", "naive_monthly_savings"]
    if ledger.empty:
        return pd.DataFrame(columns=cols)
    by_check = (ledger.groupby(["currency", "check"], as_index=False)
                .agg(findings=("ResourceId", "count"), monthly_savings=("monthly_savings", "sum")))
    by_check["naive_monthly_savings"] = by_check.monthly_savings
    once = (count_once(ledger).groupby("currency", as_index=False)
            .agg(findings=("ResourceId", "count"), monthly_savings=("monthly_savings", "sum"),
                 naive_monthly_savings=("naive_savings", "sum"))
            .assign(check=ONCE))
    return pd.concat([by_check, once], ignore_index=True)[cols]


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


__all__ = ["ACTION_KINDS", "LEDGER_COLUMNS", "build_ledger", "count_once", "find_gp2_volumes", "find_io1_volumes",
           "find_low_cost_sprawl", "find_uncovered_compute", "summarize_ledger"]
