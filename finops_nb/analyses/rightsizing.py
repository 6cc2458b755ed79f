"""Rightsizing, cost side and utilization: compute resources, their hours and effective hourly rate,
and CPU percentiles from CloudWatch maxima."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from finops_nb.analyses.common import for_month, one_of

INSTANCE_TYPE_RE = r"([a-z][a-z0-9-]*\.[0-9]*[a-z0-9]+) Instance Hour"
EC2_ID_RE = r"(i-[0-9a-z]{8,17})$"
HOUR_UNIT_RE = r"(?i)^(hours?|hrs|1 hour)$"


def list_compute_instances(t: ir.Table, *, month: str | None = None) -> ir.Table:
    """Compute resources with their running hours and effective hourly rate.

    Usage rows of ServiceCategory Compute, with a ResourceId and an hourly ConsumedUnit (instance hours,
    not the data transfer billed to the same instance):
    ``hours = sum(ConsumedQuantity)``, ``effective_hourly_rate = sum(EffectiveCost) / hours``.
    ``instance_type`` comes from ``x_InstanceType`` when the export has it, else from AWS's charge
    description (``... On Demand Linux c5.2xlarge Instance Hour``); ``instance_id`` is the EC2 id in ResourceId.
    """
    t = for_month(t, month)
    t = t.filter((t.ChargeCategory == "Usage") & (t.ServiceCategory == "Compute") & t.ResourceId.notnull()
                 & t.ConsumedUnit.fill_null("").re_search(HOUR_UNIT_RE))
    itype = t.ChargeDescription.re_extract(INSTANCE_TYPE_RE, 1).nullif("")
    if "x_InstanceType" in t.columns:
        itype = t.x_InstanceType.nullif("").fill_null(itype)
    t = t.mutate(instance_type=itype, instance_id=t.ResourceId.re_extract(EC2_ID_RE, 1).nullif(""))
    g = t.group_by([t.BillingCurrency.name("currency"), "ResourceId"]).aggregate(
        instance_id=one_of(t.instance_id),
        instance_type=one_of(t.instance_type),
        ProviderName=one_of(t.ProviderName),
        ServiceName=one_of(t.ServiceName),
        SubAccountName=one_of(t.SubAccountName),
        RegionId=one_of(t.RegionId),
        PricingCategory=one_of(t.PricingCategory),
        hours=t.ConsumedQuantity.sum(),
        billed_cost=t.BilledCost.sum(),
        effective_cost=t.EffectiveCost.sum(),
    )
    rate = ibis.ifelse(g.hours > 0, g.effective_cost.cast("float64") / g.hours.cast("float64"),
                       ibis.null("float64"))
    return g.mutate(effective_hourly_rate=rate).order_by([ibis.desc("effective_cost"), "ResourceId"])


def list_bill_prices(t: ir.Table, *, month: str | None = None) -> ir.Table:
    """Public on-demand hourly rate per instance type, region and currency, as the bill states it.

    Instance-hour usage rows (as in ``list_compute_instances``) with a positive public on-demand rate:
    ``x_PublicOnDemandRate`` (CUR's ``pricing/publicOnDemandRate``) when the table has it, else FOCUS
    ``ListUnitPrice`` (the public list price per pricing unit, here one hour).
    ``on_demand_hourly = max(rate)`` over those rows (one rate per type and region; the max ignores rows whose
    rate was left empty). Columns ``currency, RegionId, instance_type, on_demand_hourly``.
    """
    t = for_month(t, month)
    t = t.filter((t.ChargeCategory == "Usage") & (t.ServiceCategory == "Compute")
                 & t.ConsumedUnit.fill_null("").re_search(HOUR_UNIT_RE))
    itype = t.ChargeDescription.re_extract(INSTANCE_TYPE_RE, 1).nullif("")
    if "x_InstanceType" in t.columns:
        itype = t.x_InstanceType.nullif("").fill_null(itype)
    rate = t.ListUnitPrice
    if "x_PublicOnDemandRate" in t.columns:
        rate = t.x_PublicOnDemandRate.cast(t.ListUnitPrice.type()).fill_null(rate)
    t = t.mutate(instance_type=itype, rate=rate)
    t = t.filter(t.instance_type.notnull() & (t.rate > 0))
    return t.group_by([t.BillingCurrency.name("currency"), "RegionId", "instance_type"]).aggregate(
        on_demand_hourly=t.rate.max().cast("float64")).order_by(["currency", "RegionId", "instance_type"])


def summarize_cpu(samples: pd.DataFrame) -> pd.DataFrame:
    """Per instance: ``cpu_p50_pct``, ``cpu_p95_pct``, ``cpu_p99_pct``, ``cpu_max_pct`` and ``datapoints``.

    Input: one row per instance and 5-minute period with that period's Maximum CPUUtilization (the
    sample Compute Optimizer uses). Percentiles use linear interpolation between closest ranks
    (numpy's default, the same as Excel's PERCENTILE.INC).
    """
    cols = ["instance_id", "datapoints", "cpu_p50_pct", "cpu_p95_pct", "cpu_p99_pct", "cpu_max_pct"]
    if samples is None or samples.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for iid, part in samples.groupby("instance_id"):
        v = part["value"].to_numpy(dtype=float)
        p50, p95, p99 = np.percentile(v, [50, 95, 99])
        rows.append((iid, len(v), p50, p95, p99, v.max()))
    return pd.DataFrame(rows, columns=cols)


MB = 1_000_000  # bytes in a megabyte (Trusted Advisor's "5 MB" of network I/O)
PERCENTILES = (50, 95, 99)


def summarize_metrics(samples: pd.DataFrame | None, *, percentiles: tuple[int, ...] = PERCENTILES) -> pd.DataFrame:
    """Per instance: utilization percentiles and daily totals from long CloudWatch rows.

    Input: ``instance_id, metric, timestamp, value`` (``sources.cloudwatch.fetch_metrics``): per-period Maximum
    for ``cpu`` and ``mem`` (percent), per-period Sum for network (bytes) and EBS (operations).
    Output, one row per instance with CPU data:
    - ``cpu_p{p}_pct``, ``cpu_max_pct``, ``mem_p{p}_pct``, ``mem_max_pct`` (NaN when memory is not measured):
      linear-interpolated percentiles (numpy's default, Excel's PERCENTILE.INC) of the per-period maxima;
    - ``cpu_daily_mean_max_pct``: the highest daily mean of the CPU maxima (an upper bound of the daily average);
    - ``network_mb_per_day_max``: the highest daily ``(NetworkIn + NetworkOut) / 10^6`` over UTC days;
    - ``ebs_ops_per_period_p99``: p99 of ``EBSReadOps + EBSWriteOps`` per period;
    - ``datapoints`` (CPU), ``days`` (UTC days with CPU data), ``mem_measured``, ``network_measured``.
    """
    pcols = [f"{m}_p{p}_pct" for m in ("cpu", "mem") for p in percentiles]
    cols = ["instance_id", "datapoints", "days", *pcols, "cpu_max_pct", "mem_max_pct", "cpu_daily_mean_max_pct",
            "network_mb_per_day_max", "ebs_ops_per_period_p99", "mem_measured", "network_measured"]
    if samples is None or samples.empty or not (samples.metric == "cpu").any():
        return pd.DataFrame(columns=cols)
    s = samples.assign(day=pd.to_datetime(samples.timestamp, utc=True).dt.floor("D"))
    rows = []
    for iid, part in s.groupby("instance_id"):
        cpu = part[part.metric == "cpu"]
        if cpu.empty:
            continue
        mem = part[part.metric == "mem"]
        net = part[part.metric.isin(["network_in", "network_out"])]
        ebs = part[part.metric.isin(["ebs_read_ops", "ebs_write_ops"])]
        row = {"instance_id": iid, "datapoints": len(cpu), "days": cpu.day.nunique()}
        for name, d in (("cpu", cpu), ("mem", mem)):
            v = d.value.to_numpy(dtype=float)
            for p in percentiles:
                row[f"{name}_p{p}_pct"] = float(np.percentile(v, p)) if len(v) else np.nan
            row[f"{name}_max_pct"] = float(v.max()) if len(v) else np.nan
        row["cpu_daily_mean_max_pct"] = float(cpu.groupby("day").value.mean().max())
        row["network_mb_per_day_max"] = float(net.groupby("day").value.sum().max() / MB) if len(net) else np.nan
        row["ebs_ops_per_period_p99"] = (float(np.percentile(ebs.groupby("timestamp").value.sum(), 99))
                                         if len(ebs) else np.nan)
        row["mem_measured"], row["network_measured"] = not mem.empty, not net.empty
        rows.append(row)
    return pd.DataFrame(rows, columns=cols)
