"""Savings opportunities: checks over the canonical table, each priced at the resource's effective cost.

Every check returns one row per (resource, action) with the same columns (``LEDGER_COLUMNS``):
``monthly_cost`` (the resource's effective cost in the month), ``monthly_savings``, ``basis`` (the formula
in words), ``effort``, ``risk`` and the owner (sub-account and an owner tag). ``summarize_ledger`` adds
them up counting each resource once.
"""

from __future__ import annotations

from collections.abc import Callable

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from finops_nb.analyses.commitments import hourly_eligible_spend, optimal_commitment
from finops_nb.analyses.common import check_month, for_month, month_bounds, one_of, zero_of
from finops_nb.analyses.savings_scan import SPOT_TAGS, scan_charges, usage_type
from finops_nb.catalog import ebs, families
from finops_nb.errors import ConfigError

LEDGER_COLUMNS = ["check", "action", "action_kind", "ResourceId", "ServiceName", "SubAccountId", "SubAccountName",
                  "owner", "currency", "monthly_cost", "monthly_savings", "basis", "effort", "risk", "evidence"]
NO_RESOURCE = "(no resource id)"
ACTION_KINDS = ("terminate", "rightsize", "modernize", "pricing")  # see count_once for the rule
SEQUENCE = ("rightsize", "modernize", "pricing")  # compatible kinds, applied in this order


def _per_resource(s: ir.Table) -> ir.Table:
    """Per (currency, ResourceId) of the scan rows ``s`` (``charges_scan``): owner columns, effective cost, rows."""
    s = s.mutate(ResourceId=s.ResourceId.fill_null(NO_RESOURCE))
    return s.group_by(["currency", "ResourceId"]).aggregate(
        ServiceName=one_of(s.ServiceName), SubAccountId=one_of(s.SubAccountId),
        SubAccountName=one_of(s.SubAccountName), owner=one_of(s.owner),
        monthly_cost=s.cost.sum(), rows=s.n.sum().cast("int64"))


def _in_month(s: ir.Table, month: str | None) -> ir.Table:
    """Scan rows of billing period ``month`` (all when ``month`` is None or empty), as ``common.for_month``."""
    return s.filter(s.period == check_month(month)) if month else s


def _ledger(df: pd.DataFrame, *, check: str, action: str, savings: pd.Series, basis: str, effort: str,
            risk: str, action_kind: str, evidence: pd.Series | str = "") -> pd.DataFrame:
    if action_kind not in ACTION_KINDS:
        raise ValueError(f"action_kind {action_kind!r} is not one of {', '.join(ACTION_KINDS)}")
    out = df.assign(check=check, action=action, action_kind=action_kind, monthly_savings=savings, basis=basis,
                    effort=effort, risk=risk, evidence=evidence)
    out["monthly_cost"] = out["monthly_cost"].astype(float)
    out["monthly_savings"] = out["monthly_savings"].astype(float)
    return out[LEDGER_COLUMNS + [c for c in out.columns if c not in LEDGER_COLUMNS]].reset_index(drop=True)


_usage_type = usage_type


def _sized_volumes(s: ir.Table, kind: str, *, month: str | None) -> pd.DataFrame:
    """Per volume (currency, ResourceId) over the Usage rows ``hit``: effective and list cost, the usage quantity
    (``ConsumedQuantity``, else ``PricingQuantity``: GB-months or IOPS-months) and the hours the bill shows the
    volume present (the summed length of its distinct charge periods, at most the month's hours).

    ``provisioned = quantity * month_hours / hours_present``: the size (GB) or IOPS the volume had while it
    existed. A volume billed for the whole month (one monthly row) has ``provisioned = quantity``; an 8 GB volume
    billed in hourly rows for 10 of 720 hours shows 10 * 8 / 720 = 0.1111 GB-months: 0.1111 * 720 / 10 = 8 GB.
    ``effective_to_list = monthly_cost / list_cost`` (NaN when the list cost is 0).
    """
    t = _in_month(s, month)
    t = t.filter(t.usage & t[f"is_{kind}"])
    t = t.mutate(ResourceId=t.ResourceId.fill_null(NO_RESOURCE))
    by_period = t.group_by(["currency", "ResourceId", t.cps.name("ChargePeriodStart"),
                            t.cpe.name("ChargePeriodEnd")]).aggregate(
        ServiceName=one_of(t.ServiceName), SubAccountId=one_of(t.SubAccountId),
        SubAccountName=one_of(t.SubAccountName), owner=one_of(t.owner), period=one_of(t.period),
        monthly_cost=t.cost.sum(), list_cost=t.list.sum(), quantity=t.vqty.sum())
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


def find_gp2_volumes(t: ir.Table, *, month: str | None = None, owner_tag: str = "owner",
                     scan: ir.Table | None = None) -> pd.DataFrame:
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
    df = _sized_volumes(_scan(t, owner_tag, scan), "gp2", month=month)
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


EBS_VOLUME_USAGE = r"EBS:VolumeUsage(\.[a-z0-9]+)?$"  # GB-months of any volume type (gp2, gp3, io1, st1, ...)
VOLUME_ID_RE = r"(vol-[0-9a-f]+)"


def find_unattached_volumes(t: ir.Table, states: dict[str, str], *, month: str | None = None,
                            owner_tag: str = "owner", scan: ir.Table | None = None) -> pd.DataFrame:
    """EBS volumes billed in the month that EC2's inventory shows unattached (state ``available``).

    The bill cannot tell whether a volume is attached; ``states`` (volume id -> state, from
    ``sources.ec2.describe_volume_states``, i.e. ``describe_volumes``) can. Rows: Usage charges of EBS volume
    storage (``x_UsageType`` ``...EBS:VolumeUsage[.type]``, else the charge description ``... provisioned
    storage``) whose ``vol-`` id is ``available``. ``monthly_savings = monthly_cost`` (the volume's storage and
    provisioned IOPS/throughput effective cost): deleting it saves all of it. Same rule as Trusted Advisor's
    "Underutilized Amazon EBS Volumes" and Compute Optimizer's unattached-volume finding; snapshot it first
    if its data may be needed (a snapshot costs less: $0.05 vs $0.08-0.125 per GB-month).
    """
    u = _in_month(_scan(t, owner_tag, scan), month)
    volume = u.ResourceId.fill_null("").re_extract(VOLUME_ID_RE, 1)
    df = _per_resource(u.filter(u.usage & u.is_ebs_storage & (volume != ""))).execute()
    df["volume_id"] = df.ResourceId.str.extract(VOLUME_ID_RE, expand=False)
    df["state"] = df.volume_id.map(states)
    df = df[df.state == "available"]
    return _ledger(df, check="unattached EBS volume", action="snapshot if its data is needed, then delete the volume",
                   action_kind="terminate", savings=df.monthly_cost.astype(float),
                   basis="the volume's whole effective cost: describe_volumes shows it unattached (state available)",
                   effort="low", risk="medium", evidence="inventory: " + df.state)


def find_io1_volumes(t: ir.Table, *, month: str | None = None, owner_tag: str = "owner",
                     scan: ir.Table | None = None) -> pd.DataFrame:
    """EBS io1 volumes whose provisioned IOPS cost less on io2 (same GB price, tiered IOPS price, more durable).

    Rows: Usage charges for io1 provisioned IOPS (``x_UsageType`` ending ``VolumeP-IOPS.piops``, else the charge
    description ``... IOPS-month ... (io1)``). ``iops = IOPS-months * month_hours / hours_present``
    (``_sized_volumes``). ``monthly_savings = effective cost of the IOPS rows * (1 - io2 / io1 IOPS list cost)``
    (``catalog.ebs``: io1 0.065 per IOPS-month; io2 0.065 to 32,000, 0.0455 to 64,000, 0.032 above). 40,000
    IOPS at list 2600.00: io2 2444.00, saves 156.00; at 90 % of list 140.40. At most 32,000 IOPS: no saving,
    no row (io2 is still more durable: AWS recommends it, but that is not a cost finding).
    """
    df = _sized_volumes(_scan(t, owner_tag, scan), "io1", month=month).rename(columns={"provisioned": "iops"})
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


# --- checks from the bill's usage types --------------------------------------------------------------------------
Match = Callable[[ir.Table], ir.BooleanValue]


def _matches(usage_type: str | None = None, description: str | None = None, service: str | None = None,
             unit: str | None = None) -> Match:
    """Rows whose ``x_UsageType`` (when the export has it) or ``ChargeDescription`` match the regular
    expressions given (either is enough), within ``ServiceName`` / ``ConsumedUnit`` matching ``service`` /
    ``unit`` when given. Case-insensitive."""
    def match(t: ir.Table) -> ir.BooleanValue:
        hit = ibis.literal(False)
        if usage_type:
            hit = hit | _usage_type(t).re_search(f"(?i){usage_type}")
        if description:
            hit = hit | t.ChargeDescription.fill_null("").re_search(f"(?i){description}")
        if service:
            hit = hit & t.ServiceName.fill_null("").re_search(f"(?i){service}")
        if unit:
            hit = hit & t.ConsumedUnit.fill_null("").re_search(f"(?i){unit}")
        return hit
    return match


Part = Callable[[ir.Table], ir.BooleanValue]  # scan rows of one part of a check (``charges_scan``)


def _usage_parts(s: ir.Table, parts: dict[str, Part], *, month: str | None) -> pd.DataFrame:
    """Per resource (currency, ResourceId) with a row matching any of ``parts``: the owner columns, and per part
    ``{part}_cost`` (sum of EffectiveCost), ``{part}_list`` (sum of ListCost) and ``{part}_quantity`` (sum of
    ConsumedQuantity) of its Usage rows in the month. ``monthly_cost`` is the sum over all parts."""
    t = _in_month(s, month)
    t = t.filter(t.usage & t.ResourceId.notnull())
    flags = {name: match(t) for name, match in parts.items()}
    any_hit = ibis.literal(False)
    for flag in flags.values():
        any_hit = any_hit | flag
    t = t.mutate(**{f"_{k}": v for k, v in flags.items()}).filter(any_hit)
    qty = t.qty.fill_null(zero_of(t.qty))
    aggs = {}
    for name in parts:
        hit = t[f"_{name}"]
        aggs[f"{name}_cost"] = hit.ifelse(t.cost, zero_of(t.cost)).sum()
        aggs[f"{name}_list"] = hit.ifelse(t.list.fill_null(zero_of(t.list)), zero_of(t.list)).sum()
        aggs[f"{name}_quantity"] = hit.ifelse(qty, zero_of(t.qty)).sum()
    df = t.group_by(["currency", "ResourceId"]).aggregate(
        ServiceName=one_of(t.ServiceName), SubAccountId=one_of(t.SubAccountId),
        SubAccountName=one_of(t.SubAccountName), owner=one_of(t.owner), **aggs).execute()
    for col in aggs:
        df[col] = df[col].astype(float)
    df["monthly_cost"] = sum(df[f"{name}_cost"] for name in parts) if len(df) else pd.Series(dtype=float)
    return df.sort_values(["currency", "ResourceId"], ignore_index=True)


def _first_seen(s: ir.Table, match: Part) -> pd.DataFrame:
    """Per (currency, ResourceId): the earliest ChargePeriodStart of its rows matching ``match`` in the whole
    table (every month loaded, every charge category): the bill's only clue to a resource's age."""
    s = s.filter(s.ResourceId.notnull() & match(s))
    return s.group_by(["currency", "ResourceId"]).aggregate(first_seen=s.first_seen.min()).execute()


def _age_days(df: pd.DataFrame, s: ir.Table, match: Part, month: str) -> pd.Series:
    """Days from the first charge seen for each resource to the end of ``month``."""
    seen = df.merge(_first_seen(s, match), on=["currency", "ResourceId"], how="left")
    end = month_bounds(month)[1]
    return (end - pd.to_datetime(seen.first_seen, utc=True)).dt.total_seconds().div(86400).to_numpy()


EIP_IDLE = _matches(usage_type=r"(ElasticIP|PublicIPv4):IdleAddress",
                    description=r"idle public IPv4 address|Elastic IP address not attached")


def find_idle_elastic_ips(t: ir.Table, *, month: str | None = None, owner_tag: str = "owner",
                          scan: ir.Table | None = None) -> pd.DataFrame:
    """Public IPv4 / Elastic IP addresses billed as idle (not associated with a running instance or interface).

    Rows: ``x_UsageType`` ``ElasticIP:IdleAddress`` or ``PublicIPv4:IdleAddress`` (AWS bills every public IPv4
    address since 2024-02-01, idle ones under their own usage type), else the charge description ``... Idle
    public IPv4 address per hour``. ``monthly_savings`` = the idle hours' effective cost: releasing the address
    removes exactly that charge. Trusted Advisor's "Unassociated Elastic IP Addresses" check flags every
    unassociated address (no threshold:
    https://docs.aws.amazon.com/awssupport/latest/user/cost-optimization-checks.html).
    """
    df = _usage_parts(_scan(t, owner_tag, scan), {"idle": lambda s: s.is_eip}, month=month)
    df = df.rename(columns={"idle_quantity": "idle_hours"})
    evidence = [f"{r.idle_hours:,.2f} idle address-hours billed" for r in df.itertuples()]
    return _ledger(df, check="idle Elastic IP", action="release the address (or attach it)", action_kind="terminate",
                   savings=df.idle_cost, basis="the effective cost of the idle address-hours in the month",
                   effort="low", risk="low", evidence=evidence)


NAT_HOURS = _matches(usage_type=r"NatGateway-Hours", description=r"per NAT Gateway Hour")
NAT_BYTES = _matches(usage_type=r"NatGateway-Bytes", description=r"Data Processed by NAT Gateway")


def find_idle_nat_gateways(t: ir.Table, *, month: str | None = None, owner_tag: str = "owner",
                           max_gb_processed: float = 0.0, scan: ir.Table | None = None) -> pd.DataFrame:
    """NAT gateways billed by the hour that processed (almost) no data.

    Per gateway: hours (``NatGateway-Hours``, "... per NAT Gateway Hour") and GB processed
    (``NatGateway-Bytes``, "... per GB Data Processed by NAT Gateways"). Flagged when it has hours and
    ``gb_processed <= max_gb_processed`` (default 0: no traffic at all, Trusted Advisor's and Compute Optimizer's
    idle criterion is no traffic over the lookback; the bill is the lookback here).
    ``monthly_savings`` = its hourly and processing effective cost: deleting it removes both.
    """
    df = _usage_parts(_scan(t, owner_tag, scan), {"hours": lambda s: s.is_nat_hours, "bytes": lambda s: s.is_nat_bytes},
                      month=month)
    df = df[(df.hours_quantity > 0) & (df.bytes_quantity <= max_gb_processed)]
    df = df.rename(columns={"hours_quantity": "gateway_hours", "bytes_quantity": "gb_processed"})
    evidence = [f"{r.gateway_hours:,.1f} gateway-hours, {r.gb_processed:,.3f} GB processed" for r in df.itertuples()]
    return _ledger(df, check="idle NAT gateway", action="delete the NAT gateway (check route tables first)",
                   action_kind="terminate", savings=df.monthly_cost,
                   basis=f"the gateway's effective cost; it processed at most {max_gb_processed:g} GB in the month",
                   effort="low", risk="medium", evidence=evidence)


LB_HOURS = _matches(usage_type=r"LoadBalancerUsage", description=r"LoadBalancer-hour")
LB_TRAFFIC = _matches(usage_type=r"LCUUsage|DataProcessing-Bytes",
                      description=r"load balancer capacity unit-hour|GB of data processed by")


def find_idle_load_balancers(t: ir.Table, *, month: str | None = None, owner_tag: str = "owner",
                             max_lcu_hours: float = 0.0, max_gb_processed: float = 0.0,
                             scan: ir.Table | None = None) -> pd.DataFrame:
    """Load balancers billed by the hour with no traffic: no LCU-hours (ALB, NLB, GWLB) and no data processed
    (Classic).

    Per load balancer: hours (``LoadBalancerUsage``, "... per LoadBalancer-hour") and traffic (``LCUUsage``
    LCU-hours, ``DataProcessing-Bytes`` GB). Flagged when it has hours and traffic at most the thresholds
    (default 0). Trusted Advisor's "Idle Load Balancers" flags fewer than 100 requests a day over 7 days or no
    active back end (https://docs.aws.amazon.com/awssupport/latest/user/cost-optimization-checks.html); the bill
    does not count requests, and any request uses LCUs, so no LCU at all is the bill's strict form of it.
    ``monthly_savings`` = its effective cost: deleting it removes it.
    """
    parts = {"hours": lambda s: s.is_lb_hours, "traffic": lambda s: s.is_lb_traffic}
    df = _usage_parts(_scan(t, owner_tag, scan), parts, month=month)
    df = df[(df.hours_quantity > 0) & (df.traffic_quantity <= max(max_lcu_hours, max_gb_processed))]
    df = df.rename(columns={"hours_quantity": "lb_hours", "traffic_quantity": "lcu_hours_or_gb"})
    evidence = [f"{r.lb_hours:,.1f} load-balancer-hours, {r.lcu_hours_or_gb:,.4f} LCU-hours/GB"
                for r in df.itertuples()]
    return _ledger(df, check="idle load balancer", action="delete the load balancer (no traffic)",
                   action_kind="terminate", savings=df.monthly_cost,
                   basis="the load balancer's effective cost; no LCU-hours or processed bytes in the month",
                   effort="low", risk="medium", evidence=evidence)


SNAPSHOT = _matches(usage_type=r"SnapshotUsage$", description=r"snapshot data stored")


def find_old_snapshots(t: ir.Table, *, month: str, owner_tag: str = "owner", min_age_days: int = 90,
                       scan: ir.Table | None = None) -> pd.DataFrame:
    """EBS snapshots older than ``min_age_days`` (default 90, issue 4's review period).

    Rows: ``x_UsageType`` ending ``SnapshotUsage`` (Standard tier), else "... per GB-Month of snapshot data
    stored". The bill carries no creation date: ``age_days`` = days from the first charge seen for the
    snapshot id in every month loaded to the end of ``month``, so it is a lower bound (a snapshot older than
    the bill's first month looks as old as the bill). ``monthly_savings`` = the snapshot's effective cost in
    the month (deleting it; incremental snapshots share blocks, so the real saving can be less: risk medium).
    """
    if not month:
        raise ConfigError("a month is needed to age snapshots (their age runs to the end of the month)")
    s = _scan(t, owner_tag, scan)
    df = _usage_parts(s, {"storage": lambda s: s.is_snapshot}, month=month)
    df["age_days"] = _age_days(df, s, lambda s: s.is_snapshot, month) if len(df) else []
    df = df[df.age_days > min_age_days].rename(columns={"storage_quantity": "gb_months"})
    evidence = [f"first charged {r.age_days:,.0f} days before the month's end (the bill's lower bound on age); "
                f"{r.gb_months:,.3f} GB-months" for r in df.itertuples()]
    return _ledger(df, check="old EBS snapshot", action=f"delete if not needed (older than {min_age_days} days)",
                   action_kind="terminate", savings=df.monthly_cost,
                   basis=f"the snapshot's effective cost; first charged more than {min_age_days} days ago",
                   effort="low", risk="medium", evidence=evidence)


INSTANCE_HOURS = _matches(usage_type=r"BoxUsage|SpotUsage|DedicatedUsage", description=r"Instance Hour",
                          service=r"Elastic Compute Cloud|^Amazon EC2$")


def _ec2_instances(t: ir.Table, *, month: str | None, owner_tag: str, scan: ir.Table | None = None) -> pd.DataFrame:
    """EC2 instances with their instance type and operating system (``x_InstanceType`` / ``x_OperatingSystem``
    when the export has them, else the charge description "... On Demand Linux m5.large Instance Hour")."""
    s = _scan(t, owner_tag, scan)
    df = _usage_parts(s, {"hours": lambda s: s.is_instance}, month=month)
    if df.empty:
        return df.assign(instance_type=[], operating_system=[], description=[])
    u = _in_month(s, month)
    u = u.filter(u.ResourceId.notnull() & u.is_instance)
    extra = {"description": one_of(u.description)}
    for col in ("x_InstanceType", "x_OperatingSystem"):
        if col in u.columns:
            extra[col] = one_of(u[col])
    info = u.group_by(["currency", "ResourceId"]).aggregate(**extra).execute()
    df = df.merge(info, on=["currency", "ResourceId"], how="left")
    parsed = df.description.fillna("").str.extract(r"On Demand (.*?) ?([a-z][a-z0-9-]*\.[0-9]*[a-z0-9]+) Instance Hour")
    itype = parsed[1]
    if "x_InstanceType" in df.columns:
        itype = df.x_InstanceType.where(df.x_InstanceType.fillna("") != "", itype)
    osys = parsed[0]
    if "x_OperatingSystem" in df.columns:
        osys = df.x_OperatingSystem.where(df.x_OperatingSystem.fillna("") != "", osys)
    return df.assign(instance_type=itype, operating_system=osys)


def _family_move(df: pd.DataFrame, peers: list, *, check: str, action: str, basis: str) -> pd.DataFrame:
    keep = pd.Series([p is not None for p in peers], index=df.index, dtype=bool)
    df, peers = df[keep], [p for p in peers if p is not None]
    ratio = pd.Series([p.ratio for p in peers], index=df.index, dtype=float)
    df = df.assign(peer_family=[p.family for p in peers], price_ratio=ratio)
    evidence = [f"{r.instance_type} ({r.operating_system or 'os n/a'}), {r.hours_quantity:,.1f} h; {p.prices}"
                for r, p in zip(df.itertuples(), peers, strict=True)]
    return _ledger(df, check=check, action=action, action_kind="modernize", savings=df.hours_cost * (1 - ratio),
                   basis=basis, effort="medium", risk="medium", evidence=evidence)


def find_previous_generation(t: ir.Table, *, month: str | None = None, owner_tag: str = "owner",
                             instances: pd.DataFrame | None = None, scan: ir.Table | None = None) -> pd.DataFrame:
    """EC2 instances of a previous-generation family (m4, c4, r4, t2) that cost less on the current one.

    ``monthly_savings = instance-hour effective cost * (1 - peer price / family price)``: the list-price ratio
    of ``catalog.families.CURRENT_GENERATION`` (us-east-1 on-demand Linux, source and date there) applied to the
    instance's own effective cost, so its discounts carry over. m4.large 0.100 -> m5.large 0.096: 4 %.
    ``instances``: ``_ec2_instances`` of the same table, month and owner tag when already read.
    """
    df = _ec2_instances(t, month=month, owner_tag=owner_tag, scan=scan) if instances is None else instances
    peers = [families.current_generation_peer(i) for i in df.instance_type]
    return _family_move(df, peers, check="previous generation -> current", action="move to the current generation",
                        basis="instance-hour effective cost x (1 - current / previous generation list price; "
                        f"{families.PRICES_SOURCE}, {families.PRICES_AS_OF})")


def find_graviton_candidates(t: ir.Table, *, month: str | None = None, owner_tag: str = "owner",
                             instances: pd.DataFrame | None = None, scan: ir.Table | None = None) -> pd.DataFrame:
    """x86 EC2 instances (not Windows) with a Graviton peer that costs less.

    ``monthly_savings = instance-hour effective cost * (1 - Graviton peer price / x86 price)`` with the ratios
    of ``catalog.families.GRAVITON`` (m5.large 0.096 -> m6g.large 0.077: 19.8 %). Windows does not run on
    Graviton; the software must build for arm64 (effort and risk medium). Compute Optimizer offers the same
    move through its CPU architecture preference. ``instances`` as in ``find_previous_generation``.
    """
    df = _ec2_instances(t, month=month, owner_tag=owner_tag, scan=scan) if instances is None else instances
    peers = [families.graviton_peer(i, o) for i, o in zip(df.instance_type, df.operating_system, strict=True)]
    return _family_move(df, peers, check="x86 -> Graviton", action="move to the Graviton peer (arm64)",
                        basis="instance-hour effective cost x (1 - Graviton / x86 list price; "
                        f"{families.PRICES_SOURCE}, {families.PRICES_AS_OF})")


# S3 us-east-1 list prices per GB-month, first 50 TB (https://aws.amazon.com/s3/pricing/, transcribed 2026-12-03):
# Standard 0.023; Intelligent-Tiering Frequent Access 0.023, Infrequent Access tier 0.0125 (objects not read for
# 30 consecutive days move there by themselves), monitoring 0.0025 per 1,000 objects over 128 KB a month.
S3_STANDARD_GB_MONTH = 0.023
S3_IT_INFREQUENT_GB_MONTH = 0.0125
S3_STANDARD = _matches(usage_type=r"(^|-)TimedStorage-ByteHrs$",
                       description=r"TB / month of storage used$|storage used / month over",
                       service=r"Simple Storage Service|^Amazon S3$")


def find_s3_standard_storage(t: ir.Table, *, month: str | None = None, owner_tag: str = "owner",
                             cold_share: float = 0.5, min_gb_months: float = 0.0,
                             scan: ir.Table | None = None) -> pd.DataFrame:
    """S3 Standard storage per bucket that would cost less in Intelligent-Tiering.

    Rows: S3 ``x_UsageType`` ``TimedStorage-ByteHrs`` (Standard only; other classes have their own usage types),
    else "... per GB - first 50 TB / month of storage used". Assumption, stated and a parameter: ``cold_share``
    of the bytes (default 0.5: ours, not AWS's; S3 Storage Class Analysis or Storage Lens can measure it) go 30
    days unread and move to the Infrequent Access tier. ``monthly_savings = standard storage effective cost *
    cold_share * (1 - 0.0125 / 0.023)``; the monitoring fee (0.0025 per 1,000 objects) is not subtracted: the bill
    does not count objects, so risk is medium for buckets of many small objects. Buckets under ``min_gb_months``
    are left out.
    """
    if not 0 <= cold_share <= 1:
        raise ConfigError(f"cold_share {cold_share} must be between 0 and 1 (the share of bytes unread for 30 days)")
    df = _usage_parts(_scan(t, owner_tag, scan), {"standard": lambda s: s.is_s3_standard}, month=month)
    df = df[df.standard_quantity >= min_gb_months].rename(columns={"standard_quantity": "gb_months"})
    share = cold_share * (1 - S3_IT_INFREQUENT_GB_MONTH / S3_STANDARD_GB_MONTH)
    evidence = [f"{r.gb_months:,.3f} GB-months of Standard storage" for r in df.itertuples()]
    return _ledger(df, check="S3 Standard -> Intelligent-Tiering", action="move to S3 Intelligent-Tiering "
                   "(lifecycle rule)", action_kind="modernize", savings=df.standard_cost * share,
                   basis=f"Standard storage effective cost x {cold_share:g} assumed cold x (1 - 0.0125 / 0.023 "
                   "us-east-1 list, aws.amazon.com/s3/pricing); monitoring fee not subtracted",
                   effort="low", risk="medium", evidence=evidence)


DATABASE_SERVICES = r"Relational Database Service|^Amazon RDS$|ElastiCache|OpenSearch|Elasticsearch|Redshift"
DATABASE_HOURS = _matches(usage_type=r"InstanceUsage|Multi-AZUsage|NodeUsage|ESInstance|Node:",
                          description=r"instance hour|node hour|node-hour|instance-hour", service=DATABASE_SERVICES)


def _observed_rate_discount(s: ir.Table, covered: Part, by: str = "ServiceName") -> dict:
    """Per ``by`` value: ``1 - sum(EffectiveCost) / sum(ListCost)`` of the Usage rows ``covered`` with a list cost
    (the bill's own discount for that kind of purchase, e.g. reserved database hours)."""
    c = s.filter(s.usage & covered(s) & s.pos_list)
    df = c.group_by(by).aggregate(effective=c.cost.sum(), listed=c.list.sum()).execute()
    return {k: 1 - float(e) / float(v) for k, e, v in zip(df[by], df.effective, df.listed, strict=True)}


def find_on_demand_databases(t: ir.Table, *, month: str, owner_tag: str = "owner", min_days: int = 90,
                             reserved_discount: float = 0.0, scan: ir.Table | None = None) -> pd.DataFrame:
    """Database instances and nodes (RDS, ElastiCache, OpenSearch, Redshift) on on-demand rates for over
    ``min_days`` (default 90, issue 4: steady enough to reserve).

    Rows: instance/node hours (``InstanceUsage``, ``NodeUsage``, ``ESInstance``, ``Node:`` usage types or "...
    instance hour" descriptions) with ``PricingCategory`` Standard and no commitment. ``age_days``: from the
    first such charge seen in every month loaded to the end of ``month`` (a lower bound). Cost Explorer's
    reservation recommendations look back 7, 30 or 60 days
    (https://docs.aws.amazon.com/cost-management/latest/userguide/ri-recommendations.html); 90 days is stricter.
    ``monthly_savings = on-demand effective cost * d``: ``d`` the bill's own reserved discount for the service
    (``1 - effective / list`` of its reserved hours) when it has some, else ``reserved_discount`` (default 0:
    listed with their cost, not priced; pass your 1-year reservation discount to price them).
    """
    if not month:
        raise ConfigError("a month is needed to age on-demand databases")

    def on_demand(s: ir.Table) -> ir.BooleanValue:
        return s.is_database & s.std & ~s.committed

    s = _scan(t, owner_tag, scan)
    df = _usage_parts(s, {"on_demand": on_demand}, month=month)
    df["age_days"] = _age_days(df, s, on_demand, month) if len(df) else []
    df = df[df.age_days > min_days].rename(columns={"on_demand_quantity": "hours"})
    observed = _observed_rate_discount(s, lambda s: s.is_database & s.committed)
    rate = df.ServiceName.map(lambda s: observed.get(s, reserved_discount)).astype(float)
    source = df.ServiceName.map(lambda s: "the bill's reserved hours" if s in observed else "parameter")
    df = df.assign(reserved_discount=rate)
    evidence = [f"{r.hours:,.0f} on-demand hours this month, first seen {r.age_days:,.0f} days before its end; "
                f"discount {r.reserved_discount:.0%} ({src})" for r, src in zip(df.itertuples(), source, strict=True)]
    return _ledger(df, check="database on on-demand rates", action="buy a reservation (1 year) for this instance",
                   action_kind="pricing", savings=df.on_demand_cost * rate,
                   basis=f"on-demand effective cost x reserved discount (the bill's own, else "
                   f"{reserved_discount:.0%}); on demand for over {min_days} days",
                   effort="low", risk="low", evidence=evidence)


def find_spot_candidates(t: ir.Table, *, month: str | None = None, owner_tag: str = "owner",
                         spot_discount: float = 0.0, scan: ir.Table | None = None) -> pd.DataFrame:
    """HEURISTIC: on-demand EC2 instances that belong to a fleet able to use Spot (Auto Scaling, EKS, ECS, EMR,
    Batch, Karpenter, by their AWS-generated tags ``SPOT_TAGS``, present only when those cost allocation tags
    are activated). A tag says the instance is replaceable, not that its workload tolerates interruption:
    effort medium, risk high.

    ``monthly_savings = on-demand instance-hour effective cost * d``: ``d`` the bill's own Spot discount
    (``1 - effective / list`` of its Spot hours, ``PricingCategory`` Dynamic) when it has some, else
    ``spot_discount`` (default 0: listed, not priced; AWS quotes "up to 90 %" off on demand,
    https://aws.amazon.com/ec2/spot/pricing/, per instance type in the Spot Instance Advisor).
    """
    def fleet_on_demand(s: ir.Table) -> ir.BooleanValue:  # the fleet tags SPOT_TAGS: scan's ``tagged``
        return s.is_instance & s.tagged & ~s.committed & s.std

    s = _scan(t, owner_tag, scan)
    df = _usage_parts(s, {"on_demand": fleet_on_demand}, month=month)
    observed = _observed_rate_discount(_in_month(s, month), lambda s: s.is_instance & s.dynamic, by="currency")
    rate = df.currency.map(lambda c: observed.get(c, spot_discount)).astype(float)
    df = df.assign(spot_discount=rate).rename(columns={"on_demand_quantity": "hours"})
    evidence = [f"{r.hours:,.1f} on-demand hours in an Auto Scaling / container / EMR / Batch fleet; Spot discount "
                f"{r.spot_discount:.0%}" for r in df.itertuples()]
    return _ledger(df, check="Spot candidate (heuristic)", action="run on Spot (fleet tagged replaceable)",
                   action_kind="pricing", savings=df.on_demand_cost * rate,
                   basis=f"heuristic: on-demand effective cost x Spot discount (the bill's own, else "
                   f"{spot_discount:.0%})", effort="medium", risk="high", evidence=evidence)


LOG_STORAGE = _matches(usage_type=r"TimedStorage-ByteHrs", description=r"of log storage",
                       service=r"CloudWatch")


def find_log_storage_without_retention(t: ir.Table, *, month: str, owner_tag: str = "owner",
                                       retention_days: int = 365, scan: ir.Table | None = None) -> pd.DataFrame:
    """CloudWatch Logs storage still growing after ``retention_days`` (default 365: AWS Security Hub control
    CloudWatch.16 asks log groups to keep at least a year, https://docs.aws.amazon.com/securityhub/latest/
    userguide/cloudwatch-controls.html; CloudWatch Logs keeps data forever unless a retention is set).

    Rows: ``TimedStorage-ByteHrs`` of CloudWatch ("... per GB-mo of log storage"). A log group is flagged when
    the bill first charged it more than ``retention_days`` before the end of ``month`` (``age_days``) and its
    GB-months grew from the previous month (a group with a retention stops growing once it is that old).
    Assuming steady ingestion since it was first seen, a retention of R days keeps R / age of the data:
    ``monthly_savings = storage effective cost * (1 - retention_days / age_days)``. Needs the previous month
    loaded; without it nothing is flagged.
    """
    if not month:
        raise ConfigError("a month is needed to compare log storage with the previous month")
    s = _scan(t, owner_tag, scan)
    df = _usage_parts(s, {"storage": lambda s: s.is_log}, month=month)
    before = _usage_parts(s, {"storage": lambda s: s.is_log}, month=previous_month(month))
    df = df.merge(before[["currency", "ResourceId", "storage_quantity"]].rename(
        columns={"storage_quantity": "gb_months_before"}), on=["currency", "ResourceId"], how="inner")
    df["age_days"] = _age_days(df, s, lambda s: s.is_log, month) if len(df) else []
    df = df.rename(columns={"storage_quantity": "gb_months"})
    df = df[(df.age_days > retention_days) & (df.gb_months > df.gb_months_before)]
    kept = retention_days / df.age_days
    evidence = [f"{r.gb_months_before:,.3f} -> {r.gb_months:,.3f} GB-months; first charged {r.age_days:,.0f} days "
                "before the month's end" for r in df.itertuples()]
    return _ledger(df, check="log storage without retention", action=f"set a {retention_days}-day retention",
                   action_kind="rightsize", savings=df.storage_cost * (1 - kept),
                   basis=f"log storage effective cost x (1 - {retention_days} / age in days), steady ingestion "
                   "assumed", effort="low", risk="low", evidence=evidence)


def _gp2(t: ir.Table) -> ir.BooleanValue:
    return (t.ChargeDescription.fill_null("").re_search(r"\(gp2\).*provisioned storage")
            | _usage_type(t).re_search(r"VolumeUsage\.gp2$"))


def _io1(t: ir.Table) -> ir.BooleanValue:
    return (_usage_type(t).re_search(r"VolumeP-IOPS\.piops$")
            | t.ChargeDescription.fill_null("").re_search(r"IOPS-month.*\(io1\)|\(io1\).*IOPS-month"))


def _ebs_storage(t: ir.Table) -> ir.BooleanValue:
    return (_usage_type(t).re_search(EBS_VOLUME_USAGE)
            | t.ChargeDescription.fill_null("").re_search(r"(?i)provisioned (storage|iops|throughput)"))


# every row classification of the checks, matched once per distinct (usage type, description, service): ``charges_scan``
KINDS: dict[str, Match] = {
    "gp2": _gp2, "io1": _io1, "ebs_storage": _ebs_storage, "eip": EIP_IDLE, "nat_hours": NAT_HOURS,
    "nat_bytes": NAT_BYTES, "lb_hours": LB_HOURS, "lb_traffic": LB_TRAFFIC, "snapshot": SNAPSHOT,
    "instance": INSTANCE_HOURS, "s3_standard": S3_STANDARD, "database": DATABASE_HOURS, "log": LOG_STORAGE,
}


def charges_scan(t: ir.Table, *, owner_tag: str = "owner") -> ir.Table:
    """The charges read once for every check (``savings_scan.scan_charges`` with ``KINDS``): pass it as
    ``scan=`` to ``build_ledger``, ``month_over_month`` or any ``find_*`` of the same table and owner tag to
    skip reading the table again."""
    return scan_charges(t, KINDS, owner_tag=owner_tag, volume_kinds=("gp2", "io1"), instance_kind="instance",
                         aged_kinds=("snapshot", "database", "log"))  # the kinds _first_seen reads


def _scan(t: ir.Table, owner_tag: str, given: ir.Table | None) -> ir.Table:
    return charges_scan(t, owner_tag=owner_tag) if given is None else given


def previous_month(month: str) -> str:
    """``2025-03`` -> ``2025-02``; ``2025-01`` -> ``2024-12``."""
    y, m = map(int, check_month(month).split("-"))
    return f"{y - (m == 1):04d}-{(m - 2) % 12 + 1:02d}"


def find_low_cost_sprawl(t: ir.Table, *, month: str | None = None, owner_tag: str = "owner",
                         max_cost: float = 1.0, min_resources: int = 10, scan: ir.Table | None = None) -> pd.DataFrame:
    """Many cheap resources of one service in one sub-account: a sign of forgotten clean-up.

    A group (ServiceName, SubAccountId) is flagged when it holds at least ``min_resources`` resources whose
    monthly effective cost is each in ``[0, max_cost)`` (a negative cost is a credit: deleting saves nothing).
    ``monthly_savings = monthly_cost`` of each such resource: the upper bound if it is deleted; someone must
    confirm it is unused.
    """
    u = _in_month(_scan(t, owner_tag, scan), month)
    df = _per_resource(u.filter(u.usage)).execute()
    cost = df.monthly_cost.astype(float)
    df = df[(df.ResourceId != NO_RESOURCE) & (cost >= 0) & (cost < max_cost)]
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
    led = ledger.reset_index(drop=True)
    gid = led.groupby(["currency", "ResourceId"], sort=True, dropna=False).ngroup().to_numpy()
    n = int(gid.max()) + 1
    first = led.assign(_gid=gid).drop_duplicates("_gid").set_index("_gid").sort_index()  # each resource's first row
    label = (led.check + " (" + led.action_kind + ")").to_numpy()
    cost = np.maximum(led.groupby(gid).monthly_cost.max().reindex(range(n)).to_numpy(dtype=float), 0.0)

    def best_of(kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per resource: the saving, cost and label of its largest finding of ``kind`` (0, 1, "" if none)."""
        part = led[led.action_kind == kind]
        s_k, c_k, l_k = np.zeros(n), np.ones(n), np.full(n, "", dtype=object)
        if len(part):
            idx = part.groupby(gid[part.index]).monthly_savings.idxmax()
            s_k[idx.index] = led.monthly_savings[idx].to_numpy(dtype=float)
            c_k[idx.index] = led.monthly_cost[idx].to_numpy(dtype=float)
            l_k[idx.index] = label[idx.to_numpy()]
        return s_k, c_k, l_k

    left, total, steps = np.ones(n), np.zeros(n), []
    for kind in SEQUENCE:
        s_k, c_k, l_k = best_of(kind)
        total += s_k * left
        left *= np.where(c_k > 0, np.maximum(0.0, 1 - s_k / np.where(c_k > 0, c_k, 1)), 1.0)
        steps.append(l_k)
    term_s, _, term_l = best_of("terminate")
    terminate = term_s > total
    saved = np.where(terminate, term_s, total)
    sequence = [" -> ".join(x for x in labels if x) for labels in zip(*steps, strict=True)]
    out = first[["currency", "ResourceId", "ServiceName", "SubAccountId", "SubAccountName", "owner"]].assign(
        monthly_cost=cost, findings=led.groupby(gid).size().to_numpy(),
        naive_savings=led.groupby(gid).monthly_savings.sum().to_numpy(dtype=float),
        monthly_savings=np.minimum(np.maximum(saved, 0.0), cost),
        actions=np.where(terminate, term_l, np.array(sequence, dtype=object)))
    return out.reset_index(drop=True)[cols]


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


CHECKS = pd.DataFrame([
    ("EBS gp2 -> gp3", "find_gp2_volumes", "modernize", "any gp2 volume gp3 makes cheaper (performance matched)",
     ebs.PRICES_SOURCE),
    ("EBS io1 -> io2", "find_io1_volumes", "modernize", "io1 volumes above 32,000 IOPS (io2's first price tier)",
     ebs.PRICES_SOURCE),
    ("unattached EBS volume", "find_unattached_volumes", "terminate",
     "state available in describe_volumes (finops-nb savings --inventory on)",
     "Trusted Advisor: Underutilized Amazon EBS Volumes; Compute Optimizer unattached volumes"),
    ("idle Elastic IP", "find_idle_elastic_ips", "terminate", "any idle address-hour",
     "Trusted Advisor: Unassociated Elastic IP Addresses"),
    ("idle NAT gateway", "find_idle_nat_gateways", "terminate", "max_gb_processed = 0 GB in the month",
     "no traffic (Trusted Advisor / Compute Optimizer idle criterion)"),
    ("idle load balancer", "find_idle_load_balancers", "terminate", "0 LCU-hours and 0 GB processed in the month",
     "Trusted Advisor: Idle Load Balancers (< 100 requests a day; the bill cannot count requests)"),
    ("old EBS snapshot", "find_old_snapshots", "terminate", "min_age_days = 90 (age from the first charge)",
     "issue 4 default"),
    ("previous generation -> current", "find_previous_generation", "modernize", "m4, c4, r4, t2",
     families.PRICES_SOURCE),
    ("x86 -> Graviton", "find_graviton_candidates", "modernize", "families with a Graviton peer, not Windows",
     "Compute Optimizer CPU architecture preference; " + families.PRICES_SOURCE),
    ("S3 Standard -> Intelligent-Tiering", "find_s3_standard_storage", "modernize",
     "cold_share = 0.5 (our assumption), 30 days unread", "S3 Intelligent-Tiering docs; aws.amazon.com/s3/pricing"),
    ("database on on-demand rates", "find_on_demand_databases", "pricing",
     "min_days = 90 on demand; the bill's reserved discount, else reserved_discount = 0",
     "Cost Explorer reservation recommendations (7/30/60-day lookback)"),
    ("Spot candidate (heuristic)", "find_spot_candidates", "pricing",
     "fleet tags (Auto Scaling, EKS, ECS, EMR, Batch); the bill's Spot discount, else spot_discount = 0",
     "heuristic; aws.amazon.com/ec2/spot/pricing"),
    ("log storage without retention", "find_log_storage_without_retention", "rightsize",
     "retention_days = 365, growing since the previous month", "Security Hub CloudWatch.16 (keep >= 1 year)"),
    ("low-cost, high-count resources", "find_low_cost_sprawl", "terminate",
     "max_cost = 1.0, min_resources = 10", "ours: a sign of forgotten clean-up"),
    ("on-demand compute not covered by commitments", "find_uncovered_compute", "pricing",
     "best hourly commitment at the bill's discount", "commitments.optimal_commitment"),
], columns=["check", "function", "action_kind", "default threshold", "source"])


def build_ledger(t: ir.Table, *, month: str | None, discount: float, discount_source: str,
                 owner_tag: str = "owner", sprawl_max_cost: float = 1.0, sprawl_min_resources: int = 10,
                 snapshot_min_age_days: int = 90, nat_max_gb_processed: float = 0.0, s3_cold_share: float = 0.5,
                 db_min_days: int = 90, db_reserved_discount: float = 0.0, spot_discount: float = 0.0,
                 log_retention_days: int = 365, scan: ir.Table | None = None) -> pd.DataFrame:
    """All checks of this module (``CHECKS``) in one ledger, largest saving first. Thresholds default to each
    check's own default (see its docstring for the source). The table is read once (``charges_scan``; pass one already
    made for the same table and owner tag to read it not at all) plus once for ``find_uncovered_compute``."""
    if not month:
        raise ConfigError("a month is needed for the savings ledger (YYYY-MM)")
    kw = {"month": month, "owner_tag": owner_tag, "scan": _scan(t, owner_tag, scan)}
    instances = _ec2_instances(t, **kw)  # read once for the two instance-family checks
    parts = [
        find_gp2_volumes(t, **kw),
        find_io1_volumes(t, **kw),
        find_idle_elastic_ips(t, **kw),
        find_idle_nat_gateways(t, max_gb_processed=nat_max_gb_processed, **kw),
        find_idle_load_balancers(t, **kw),
        find_old_snapshots(t, min_age_days=snapshot_min_age_days, **kw),
        find_previous_generation(t, instances=instances, **kw),
        find_graviton_candidates(t, instances=instances, **kw),
        find_s3_standard_storage(t, cold_share=s3_cold_share, **kw),
        find_on_demand_databases(t, min_days=db_min_days, reserved_discount=db_reserved_discount, **kw),
        find_spot_candidates(t, spot_discount=spot_discount, **kw),
        find_log_storage_without_retention(t, retention_days=log_retention_days, **kw),
        find_low_cost_sprawl(t, max_cost=sprawl_max_cost, min_resources=sprawl_min_resources, **kw),
        find_uncovered_compute(t, discount=discount, discount_source=discount_source, month=month,
                               owner_tag=owner_tag),
    ]
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=LEDGER_COLUMNS)
    return (pd.concat(parts, ignore_index=True)
            .sort_values(["monthly_savings", "check", "ResourceId"], ascending=[False, True, True], ignore_index=True))


# --- data transfer hot spots (evidence, not a ledger check) --------------------------------------------------------
TRANSFER_KINDS = [  # (kind, usage type regex, charge description regex), first match wins
    ("NAT gateway processing", r"NatGateway-Bytes", r"Data Processed by NAT Gateway"),
    ("to CloudFront", r"CloudFront-Out-Bytes", r"data transfer out of .* to CloudFront"),
    ("inter-AZ", r"DataTransfer-Regional-Bytes", r"regional data transfer"),
    ("inter-region", r"AWS-Out-Bytes", r"data transfer to "),
    ("internet out", r"DataTransfer-Out-Bytes", r"data transfer out"),
]


def _transfer_kind(i: int) -> Match:
    """Rows of the ``i``-th kind of ``TRANSFER_KINDS`` (no earlier kind matches them), outbound only."""
    def match(t: ir.Table) -> ir.BooleanValue:
        ut, desc = _usage_type(t), t.ChargeDescription.fill_null("")
        hits = [ut.re_search(f"(?i){u}") | desc.re_search(f"(?i){d}") for _, u, d in TRANSFER_KINDS]
        hit = hits[i]
        for earlier in hits[:i]:
            hit = hit & ~earlier
        return hit & ~desc.re_search("(?i)data transfer in")
    return match


KINDS.update({f"transfer_{i}": _transfer_kind(i) for i in range(len(TRANSFER_KINDS))})  # summarize_data_transfer


def _transfer_kinds(t: ir.Table) -> pd.DataFrame:
    """Per distinct (usage type, charge description) of ``t`` (``_ut`` / ``_desc``, NULL read as ""): its
    ``kind`` (``TRANSFER_KINDS``, first match wins); only the outbound data transfer ones (a bill has a few
    hundred pairs however many rows, so each regular expression runs a few hundred times, not once a row)."""
    pairs = t.select(_ut=_usage_type(t), _desc=t.ChargeDescription.fill_null("")).distinct().execute()
    k = ibis.memtable(pairs).cast({"_ut": "string", "_desc": "string"})  # else the engine filters every row
    branches = [(k._ut.re_search(f"(?i){u}") | k._desc.re_search(f"(?i){d}"), kind) for kind, u, d in TRANSFER_KINDS]
    k = k.mutate(kind=ibis.cases(*branches, else_=ibis.null("string")))
    return k.filter(k.kind.notnull() & ~k._desc.re_search("(?i)data transfer in")).execute()


def summarize_data_transfer(t: ir.Table, *, month: str | None = None, top: int = 10,
                            scan: ir.Table | None = None) -> pd.DataFrame:
    """Where data transfer money goes: per currency, the ``top`` (resource, kind) pairs by effective cost (then list
    cost, ResourceId, kind), with GB (``ConsumedQuantity``), ``list_cost`` and ``share_pct = 100 * cost / total``:
    ``total`` is the sum over every (resource, kind) pair of the month in that currency of its cost when positive
    (a pair whose credits exceed its charges adds nothing), summed exactly (DECIMAL) before the one division.

    Kinds (``TRANSFER_KINDS``, by ``x_UsageType`` or charge description): NAT gateway processing, to CloudFront,
    inter-AZ (``DataTransfer-Regional-Bytes``, 0.01 per GB each way), inter-region (``...-AWS-Out-Bytes``,
    "... data transfer to <region>"), internet out (``DataTransfer-Out-Bytes``). Inbound transfer is free and
    left out. This is evidence for a review, not a ledger finding: the saving depends on the architecture (a
    VPC gateway endpoint for S3 and DynamoDB traffic that crosses a NAT gateway, keeping chatty services in one
    AZ, CloudFront in front of internet egress), so no dollar figure is claimed.

    ``scan``: ``charges_scan`` of the same table (any owner tag) when already made: the sums are read from it (its
    ``is_transfer_{i}`` kinds), not from the table.
    """
    cols = ["currency", "ResourceId", "kind", "ServiceName", "SubAccountName", "gb", "list_cost", "monthly_cost",
            "share_pct"]
    if scan is not None:
        s = _in_month(scan, month)
        s = s.filter(s.usage)
        kind = ibis.cases(*[(s[f"is_transfer_{i}"], k[0]) for i, k in enumerate(TRANSFER_KINDS)],
                          else_=ibis.null("string"))
        s = s.mutate(kind=kind, ResourceId=s.ResourceId.fill_null(NO_RESOURCE))
        s = s.filter(s.kind.notnull())
        g = s.group_by(["currency", "ResourceId", "kind"]).aggregate(
            ServiceName=one_of(s.ServiceName), SubAccountName=one_of(s.SubAccountName),
            gb=s.qty.sum(), list_cost=s.list.sum(), monthly_cost=s.cost.sum())
        return _transfer_top(g, cols, top)
    t = for_month(t, month)
    t = t.filter(t.ChargeCategory == "Usage")
    kinds = _transfer_kinds(t)
    if kinds.empty:
        return pd.DataFrame(columns=cols)
    k = ibis.memtable(kinds).cast({"_ut": "string", "_desc": "string", "kind": "string"})
    j = t.inner_join(k, [_usage_type(t) == k._ut, t.ChargeDescription.fill_null("") == k._desc])
    g = j.group_by([j.BillingCurrency.name("currency"), j.ResourceId.fill_null(NO_RESOURCE).name("ResourceId"),
                    "kind"]).aggregate(
        ServiceName=one_of(j.ServiceName), SubAccountName=one_of(j.SubAccountName),
        gb=j.ConsumedQuantity.sum(), list_cost=j.ListCost.sum(), monthly_cost=j.EffectiveCost.sum())
    return _transfer_top(g, cols, top)


def _transfer_top(g: ir.Table, cols: list[str], top: int) -> pd.DataFrame:
    """``summarize_data_transfer``'s frame from its sums per (currency, ResourceId, kind) ``g``."""
    positive = ibis.greatest(g.monthly_cost, zero_of(g.monthly_cost))
    df = g.mutate(_total=positive.sum().over(group_by=g.currency)).execute()
    if df.empty:
        return pd.DataFrame(columns=cols)
    for col in ("gb", "list_cost", "monthly_cost", "_total"):
        df[col] = df[col].astype(float)
    df["share_pct"] = (100 * df.monthly_cost / df._total).where(df._total != 0)
    df = df.sort_values(["currency", "monthly_cost", "list_cost", "ResourceId", "kind"],
                        ascending=[True, False, False, True, True])
    return df.groupby("currency").head(top)[cols].reset_index(drop=True)


# --- month over month ---------------------------------------------------------------------------------------------
MOM_KEYS = ["currency", "check", "ResourceId"]


def resource_costs(t: ir.Table, *, month: str, scan: ir.Table | None = None) -> pd.DataFrame:
    """Per (currency, ResourceId): the effective cost of its Usage rows in ``month`` (``cost_now``). ``scan``
    as in ``build_ledger`` (of any owner tag)."""
    u = _in_month(_scan(t, "owner", scan), month)
    u = u.filter(u.usage & u.ResourceId.notnull())
    df = u.group_by(["currency", "ResourceId"]).aggregate(cost_now=u.cost.sum()).execute()
    return df.assign(cost_now=df.cost_now.astype(float))


def compare_ledgers(previous: pd.DataFrame, current: pd.DataFrame, costs_now: pd.DataFrame) -> pd.DataFrame:
    """Findings of month M-1 (``previous``) against month M (``current``), one row per (currency, check,
    ResourceId) with ``status``:

    - ``new``: in M only; ``persisting``: in both (``monthly_savings`` is M's, ``previous_savings`` M-1's);
    - ``resolved``: in M-1 only. ``realized_savings = previous monthly_cost - cost_now``: what the resource cost
      in M-1 for that finding minus what it cost in M (``resource_costs``; 0 when it is gone). A gp2 volume of
      100.00 moved to gp3 costs 85.00 in M: realized 15.00; a deleted address: its whole previous cost.
      Negative when the cost rose (the finding went away, the spend did not): kept, not hidden.
    """
    cols = [*MOM_KEYS, "status", "action_kind", "owner", "previous_cost", "previous_savings", "monthly_cost",
            "monthly_savings", "cost_now", "realized_savings"]
    prev = previous[[*MOM_KEYS, "action_kind", "owner", "monthly_cost", "monthly_savings"]].rename(
        columns={"monthly_cost": "previous_cost", "monthly_savings": "previous_savings", "action_kind": "kind_before",
                 "owner": "owner_before"})
    cur = current[[*MOM_KEYS, "action_kind", "owner", "monthly_cost", "monthly_savings"]]
    both = prev.merge(cur, on=MOM_KEYS, how="outer", indicator=True)
    both["status"] = both.pop("_merge").map({"left_only": "resolved", "right_only": "new", "both": "persisting"})
    both["action_kind"] = both.action_kind.fillna(both.kind_before)
    both["owner"] = both.owner.where(both.owner.notna(), both.owner_before)
    both = both.merge(costs_now, on=["currency", "ResourceId"], how="left")
    both["cost_now"] = both.cost_now.astype(float).fillna(0.0)
    both["realized_savings"] = (both.previous_cost - both.cost_now).where(both.status == "resolved")
    order = {"resolved": 0, "persisting": 1, "new": 2}
    both = both.sort_values(by=["status", *MOM_KEYS], key=lambda c: c.map(order) if c.name == "status" else c)
    return both[cols].reset_index(drop=True)


def summarize_month_over_month(diff: pd.DataFrame) -> pd.DataFrame:
    """Per currency and status: findings, monthly savings still open (M's for new and persisting, M-1's for
    resolved) and realized savings, counting a resource once (its largest realized saving among its resolved
    findings: two checks on one deleted volume do not save it twice)."""
    cols = ["currency", "status", "findings", "monthly_savings", "realized_savings"]
    if diff.empty:
        return pd.DataFrame(columns=cols)
    d = diff.assign(savings=diff.monthly_savings.where(diff.status != "resolved", diff.previous_savings))
    out = d.groupby(["currency", "status"], as_index=False).agg(findings=("ResourceId", "count"),
                                                                 monthly_savings=("savings", "sum"))
    realized = (d[d.status == "resolved"].groupby(["currency", "ResourceId"], as_index=False).realized_savings.max()
                .groupby("currency", as_index=False).realized_savings.sum().assign(status="resolved"))
    out = out.merge(realized, on=["currency", "status"], how="left")
    return out[cols]


def month_over_month(t: ir.Table, *, month: str, current: pd.DataFrame | None = None,
                     scan: ir.Table | None = None, **ledger_kw) -> pd.DataFrame | None:
    """``compare_ledgers`` of ``previous_month(month)`` and ``month`` built with ``build_ledger(**ledger_kw)``;
    ``None`` when the table has no rows in the previous month (nothing to compare with). ``current``: the
    ledger of ``month`` with the same options when already built; ``scan`` as in ``build_ledger``."""
    before = previous_month(month)
    s = _scan(t, ledger_kw.get("owner_tag", "owner"), scan)
    if _in_month(s, before).count().execute() == 0:
        return None
    previous = build_ledger(t, month=before, scan=s, **ledger_kw)
    if current is None:
        current = build_ledger(t, month=month, scan=s, **ledger_kw)
    return compare_ledgers(previous, current, resource_costs(t, month=month, scan=s))


__all__ = ["ACTION_KINDS", "CHECKS", "KINDS", "LEDGER_COLUMNS", "SPOT_TAGS", "build_ledger", "charges_scan",
           "compare_ledgers", "count_once", "find_gp2_volumes", "find_graviton_candidates", "find_idle_elastic_ips",
           "find_idle_load_balancers", "find_idle_nat_gateways", "find_io1_volumes",
           "find_log_storage_without_retention", "find_low_cost_sprawl", "find_old_snapshots",
           "find_on_demand_databases", "find_previous_generation", "find_s3_standard_storage", "find_spot_candidates",
           "find_uncovered_compute", "month_over_month", "previous_month", "resource_costs", "summarize_data_transfer",
           "summarize_ledger", "summarize_month_over_month"]
