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


HOURS_PER_MONTH = 730  # AWS's monthly hours in its pricing calculator and Compute Optimizer savings
# Idle: Trusted Advisor "Low Utilization Amazon EC2 Instances" thresholds (daily CPU <= 10 %, network I/O <= 5 MB),
# https://docs.aws.amazon.com/awssupport/latest/user/cost-optimization-checks.html#low-utilization-amazon-ec2-instances
# applied to every day of the lookback (Trusted Advisor flags 4 of 14 days; we call Idle only a whole quiet lookback).
IDLE_CPU_PCT = 10.0
IDLE_NETWORK_MB_PER_DAY = 5.0
# families the "across families" option looks at besides the instance's own (those with snapshot prices)
DEFAULT_TARGET_FAMILIES = ("m5", "m6i", "m7i", "c5", "c6i", "r5", "r6i", "t3", "m6g", "m7g", "c6g", "c7g", "r6g",
                           "r7g", "t4g")
RISK_LABELS = ((1, "very low"), (2, "low"), (3, "medium"), (4, "high"), (float("inf"), "very high"))


def list_candidate_types(catalog: pd.DataFrame, current_types, *, target_families=None,
                         graviton: bool = True, needs=None) -> list[str]:
    """Instance types worth pricing for these current types: their own family, the target families
    (``DEFAULT_TARGET_FAMILIES`` when None) and, with ``graviton``, arm64 families of the same class letter.

    ``needs``: ``(vcpu_needed, memory_needed_gib)`` pairs (``size_need``); when given, only the smallest types of
    each family that cover a need are kept (within a family the price grows with the size), so a first run asks
    the Price List API for a few types, not for every size of every family.
    """
    families = set(target_families if target_families is not None else DEFAULT_TARGET_FAMILIES)
    current = catalog[catalog.instance_type.isin(list(current_types))]
    families |= set(current.family)
    keep = catalog.family.isin(families)
    if graviton:
        keep |= (catalog.architecture == "arm64") & catalog.family_class.isin(set(current.family_class))
    cands = catalog[keep & (catalog.gpus == 0)]
    if needs is not None:
        chosen = set()
        for cpu, mem in needs:
            fit = cands[(cands.vcpu >= cpu - 1e-9) & (cands.memory_gib >= mem - 1e-9)]
            smallest = fit.groupby("family")[["vcpu", "memory_gib"]].transform("min")
            chosen |= set(fit[(fit.vcpu == smallest.vcpu)].instance_type)
        cands = cands[cands.instance_type.isin(chosen)]
    return sorted(cands.instance_type) + sorted(set(current.instance_type))


def size_need(vcpu: float, memory_gib: float, cpu_pct: float, mem_pct: float | None,
              headroom_pct: float) -> tuple[float, float]:
    """``vcpu_needed = vcpu x cpu_pct / 100 x (1 + headroom / 100)``, ``memory_needed_gib`` likewise (0 when memory
    was not measured: it is then no constraint)."""
    h = 1 + headroom_pct / 100
    mem = 0.0 if mem_pct is None or pd.isna(mem_pct) else memory_gib * mem_pct / 100 * h
    return vcpu * cpu_pct / 100 * h, mem


def score_risk(usage_p: dict[str, float], usage_max: dict[str, float], capacity: dict[str, float],
               memory_measured: bool) -> float:
    """Performance risk of running the measured load on a type, 0 (none) to 5 (very high).

    ``3 x min(1, u)`` where ``u`` is the highest projected utilization at the chosen percentile over the measured
    dimensions (usage / target capacity, without headroom), ``+1`` when a peak (max) exceeds the target's capacity,
    ``+1`` when memory was not measured (the target may run out of memory unseen).
    """
    u = max(usage_p[k] / capacity[k] for k in usage_p)
    peak = max(usage_max[k] / capacity[k] for k in usage_max)
    return round(3 * min(1.0, u) + (1.0 if peak > 1 + 1e-9 else 0.0) + (0.0 if memory_measured else 1.0), 2)


def label_risk(score: float) -> str:
    return next(label for bound, label in RISK_LABELS if score < bound)


class _Priced:
    """The catalog as arrays, and per region its priced types in the order ``_cheapest`` picks from: on-demand
    price, then vCPU, memory and name. The first type of that order passing a mask is the cheapest fitting one."""

    def __init__(self, catalog: pd.DataFrame, price: dict):
        self.price = price
        self.types = catalog.instance_type.to_numpy(dtype=object)
        self.vcpu = catalog.vcpu.to_numpy(dtype=float)
        self.memory = catalog.memory_gib.to_numpy(dtype=float)
        self.gpus = catalog.gpus.to_numpy()
        self.family = catalog.family.to_numpy(dtype=object)
        self.family_codes = {f: k for k, f in enumerate(dict.fromkeys(self.family))}
        self.family_code = np.array([self.family_codes[f] for f in self.family], dtype=int)
        self.architecture = catalog.architecture.to_numpy(dtype=object)
        self.burstable = catalog.burstable.to_numpy(dtype=bool)
        self.family_class = catalog.family_class.to_numpy(dtype=object)
        self.regions: dict = {}

    def order(self, region) -> tuple[np.ndarray, np.ndarray]:
        """Catalog positions of the types priced in ``region``, cheapest first, and their prices."""
        if region not in self.regions:
            od = np.array([self.price.get((t, region), (np.nan, ""))[0] for t in self.types], dtype=float)
            pos = np.flatnonzero(~np.isnan(od))
            key = sorted(pos, key=lambda i: (od[i], self.vcpu[i], self.memory[i], self.types[i]))
            pos = np.array(key, dtype=int)
            self.regions[region] = (pos, od[pos])
        return self.regions[region]


def _first(pos: np.ndarray, keep: np.ndarray) -> int | None:
    hit = np.flatnonzero(keep)
    return None if not len(hit) else int(pos[hit[0]])


def recommend_instances(view: pd.DataFrame, catalog: pd.DataFrame, prices: pd.DataFrame, *, percentile: int = 99,
                        headroom_pct: float = 20, graviton: bool = True, target_families=None) -> pd.DataFrame:
    """One recommendation per EC2 instance: finding, target types per option, monthly savings, risk.

    ``view``: ``list_compute_instances`` rows merged with ``summarize_metrics`` (``cpu_p{percentile}_pct`` ...);
    ``prices``: on-demand hourly USD per ``instance_type, RegionId`` (``catalog.resolve_on_demand_prices``).

    - Need: ``vcpu_needed = vcpu x cpu_p / 100 x (1 + headroom / 100)``; ``memory_needed_gib = memory_gib x
      mem_p / 100 x (1 + headroom / 100)`` when memory is measured (else memory is not a constraint and the
      note says so).
    - Options, each the cheapest priced type whose vCPU and memory cover the need: **family** (same family),
      **across** (target families, same architecture, burstable only for a burstable instance), **graviton**
      (arm64, same class letter: m5 -> m6g/m7g).
    - Finding: **Idle** when CPU, network measured and on every UTC day the mean CPU <= 10 % and network I/O
      <= 5 MB (Trusted Advisor's thresholds, see ``IDLE_*``); **Under-provisioned** when the need exceeds the
      current vCPU or memory; **Over-provisioned** when a cheaper type of the family covers it; else
      **Optimized**. No CPU data: **No metrics**.
    - Savings (Compute Optimizer's estimate at the instance's own discount):
      ``savings = (current on-demand - target on-demand) x 730 x (effective hourly rate / current on-demand)``;
      an Idle instance saves ``effective hourly rate x 730`` (stopped). Negative for an upsizing. It equals
      ``effective x 730 x (1 - target / current on-demand)``: the USD list prices enter only as a ratio, so the
      saving is in the instance's own billing ``currency``.
    - ``risk_score`` (``score_risk``) of the family target (or the current type when it stays).
    """
    p = f"p{percentile}"
    catalog = catalog.reset_index(drop=True)
    cat = {r.instance_type: r for r in catalog.itertuples(index=False)}
    price = {(r.instance_type, r.RegionId): (r.on_demand_hourly_usd, r.price_source) for r in prices.itertuples()}
    priced = _Priced(catalog, price)
    families = set(target_families if target_families is not None else DEFAULT_TARGET_FAMILIES)
    rows = []
    # text columns as Python objects: the same values, read a row at a time without Arrow's per-value cost
    view = view.astype({c: object for c in view.columns if isinstance(view[c].dtype, pd.StringDtype)})
    for r in view.itertuples(index=False):
        itype, region = r.instance_type, r.RegionId
        out = {"ResourceId": r.ResourceId, "instance_id": r.instance_id, "instance_type": itype,
               "RegionId": region, "currency": r.currency, "effective_hourly_rate": r.effective_hourly_rate}
        notes = []
        cpu_p = getattr(r, f"cpu_{p}_pct", np.nan)
        if itype not in cat:
            rows.append({**out, "finding": "Unknown type", "note": f"{itype} is not in the instance catalog"})
            continue
        cur = cat[itype]
        od, od_source = price.get((itype, region), (np.nan, "unpriced"))
        out.update(vcpu=int(cur.vcpu), memory_gib=float(cur.memory_gib), on_demand_hourly_usd=od,
                   price_source=od_source)
        if pd.isna(cpu_p):
            rows.append({**out, "finding": "No metrics", "note": "no CPUUtilization datapoints in the lookback"})
            continue
        mem_p = getattr(r, f"mem_{p}_pct", np.nan)
        measured = bool(getattr(r, "mem_measured", False)) and not pd.isna(mem_p)
        need_cpu, need_mem = size_need(cur.vcpu, cur.memory_gib, cpu_p, mem_p if measured else None, headroom_pct)
        usage_p = {"vcpu": cur.vcpu * cpu_p / 100}
        usage_max = {"vcpu": cur.vcpu * r.cpu_max_pct / 100}
        if measured:
            usage_p["memory_gib"] = cur.memory_gib * mem_p / 100
            usage_max["memory_gib"] = cur.memory_gib * r.mem_max_pct / 100
        else:
            notes.append("memory not measured (no CWAgent mem_used_percent): CPU-only answer, higher risk")
        out.update(cpu_pct=cpu_p, mem_pct=mem_p if measured else np.nan, vcpu_needed=round(need_cpu, 4),
                   memory_needed_gib=round(need_mem, 4) if measured else np.nan, memory_measured=measured)
        pos, _ = priced.order(region)
        fit = ((priced.vcpu[pos] >= need_cpu - 1e-9) & (priced.memory[pos] >= need_mem - 1e-9)
               & (priced.gpus[pos] == cur.gpus))
        ratio = r.effective_hourly_rate / od if od and not pd.isna(od) else np.nan
        arch = priced.architecture[pos]
        across = [priced.family_codes.get(f, -1) for f in families | {cur.family}]
        options = {
            "family": fit & (priced.family[pos] == itype.split(".")[0]),
            "across": (fit & np.isin(priced.family_code[pos], across) & (arch == cur.architecture)
                       & (~priced.burstable[pos] | bool(cur.burstable))),
            "graviton": (fit & (arch == "arm64") & (priced.family_class[pos] == cur.family_class)
                         if graviton else np.zeros(len(pos), dtype=bool)),
        }
        for name, keep in options.items():
            best = _first(pos, keep)
            if best is None:
                out[f"{name}_type"] = None
                continue
            best_type = priced.types[best]
            best_usd, best_source = price[(best_type, region)]
            out[f"{name}_type"] = best_type
            out[f"{name}_hourly_usd"] = best_usd
            out[f"{name}_price_source"] = best_source
            out[f"{name}_savings_monthly"] = round((od - best_usd) * HOURS_PER_MONTH * ratio, 2)
        if graviton and out.get("graviton_type"):
            notes.append("Graviton (arm64) needs software built for arm64")
        quiet = (bool(getattr(r, "network_measured", False))
                 and r.cpu_daily_mean_max_pct <= IDLE_CPU_PCT and r.network_mb_per_day_max <= IDLE_NETWORK_MB_PER_DAY)
        target = out.get("family_type")
        if quiet:
            finding = "Idle"
            out["savings_monthly"] = round(r.effective_hourly_rate * HOURS_PER_MONTH, 2)
            notes.append(f"every day: CPU <= {IDLE_CPU_PCT:g} % and network <= {IDLE_NETWORK_MB_PER_DAY:g} MB "
                         "(Trusted Advisor low-utilization thresholds): stop or terminate")
        elif need_cpu > cur.vcpu + 1e-9 or need_mem > cur.memory_gib + 1e-9:
            finding = "Under-provisioned"
        elif target and target != itype and out["family_hourly_usd"] < od:
            finding = "Over-provisioned"
        else:
            finding, target = "Optimized", itype
        out["finding"], out["recommended_type"] = finding, target if finding != "Idle" else None
        if finding in ("Over-provisioned", "Under-provisioned"):
            out["savings_monthly"] = out.get("family_savings_monthly")
        elif finding == "Optimized":
            out["savings_monthly"] = 0.0
        risk_type = target or itype
        cap = {"vcpu": float(cat[risk_type].vcpu), "memory_gib": float(cat[risk_type].memory_gib)}
        out["risk_score"] = score_risk(usage_p, usage_max, cap, measured)
        out["risk"] = label_risk(out["risk_score"])
        out["note"] = "; ".join(notes)
        rows.append(out)
    cols = ["ResourceId", "instance_id", "instance_type", "RegionId", "currency", "vcpu", "memory_gib",
            "on_demand_hourly_usd", "price_source", "effective_hourly_rate", "cpu_pct", "mem_pct", "memory_measured",
            "vcpu_needed", "memory_needed_gib", "finding", "recommended_type", "savings_monthly", "risk_score",
            "risk", *(f"{o}_{c}" for o in ("family", "across", "graviton")
                      for c in ("type", "hourly_usd", "price_source", "savings_monthly")), "note"]
    return pd.DataFrame(rows).reindex(columns=cols)


CO_FINDINGS = {"Overprovisioned": "Over-provisioned", "Underprovisioned": "Under-provisioned",
               "Optimized": "Optimized", "NotOptimized": "Over-provisioned"}


def compare_with_compute_optimizer(ours: pd.DataFrame, theirs: pd.DataFrame, *, lookback_days: int,
                                   percentile: int, headroom_pct: float) -> pd.DataFrame:
    """Our recommendation and Compute Optimizer's side by side, with ``agree`` and the likely reasons they differ.

    ``ours``: ``recommend_instances``; ``theirs``: ``sources.ec2.fetch_compute_optimizer_ec2``. They agree when
    the finding and the target type are the same. Reasons named when they differ: memory measured by one side
    only, a different lookback, Compute Optimizer choosing another architecture (Graviton), its fixed sizing
    presets against our percentile and headroom, and a savings estimate at its own prices and discounts.
    """
    m = ours.merge(theirs, on="instance_id", how="inner")
    cat = None
    rows = []
    for r in m.itertuples(index=False):
        co_finding = CO_FINDINGS.get(r.co_finding, r.co_finding)
        ours_type = r.recommended_type if isinstance(r.recommended_type, str) else r.instance_type
        agree = co_finding == r.finding and r.co_recommended_type == ours_type
        reasons = []
        if not agree:
            if bool(r.co_memory_measured) != bool(r.memory_measured):
                reasons.append("memory measured by " + ("Compute Optimizer only" if r.co_memory_measured
                                                        else "us only (Compute Optimizer sized on CPU)"))
            if r.co_lookback_days and float(r.co_lookback_days) != lookback_days:
                reasons.append(f"lookback {float(r.co_lookback_days):g} days against our {lookback_days}")
            if cat is None:
                from finops_nb.catalog.instance_types import load_instance_types

                cat = load_instance_types()
            arch = {t: cat.architecture.get(t) for t in (r.co_recommended_type, ours_type)}
            if arch[r.co_recommended_type] != arch[ours_type]:
                reasons.append(f"Compute Optimizer picks {arch[r.co_recommended_type]} ({r.co_recommended_type})")
            reasons.append(f"Compute Optimizer's own sizing presets against our p{percentile} + {headroom_pct:g} %")
        rows.append({"instance_id": r.instance_id, "instance_type": r.instance_type, "finding": r.finding,
                     "recommended_type": ours_type, "savings_monthly": r.savings_monthly,
                     "co_finding": co_finding, "co_recommended_type": r.co_recommended_type,
                     "co_savings_monthly": r.co_savings_monthly, "co_performance_risk": r.co_performance_risk,
                     "agree": agree, "why_they_differ": "; ".join(reasons)})
    return pd.DataFrame(rows, columns=["instance_id", "instance_type", "finding", "recommended_type",
                                       "savings_monthly", "co_finding", "co_recommended_type", "co_savings_monthly",
                                       "co_performance_risk", "agree", "why_they_differ"])
