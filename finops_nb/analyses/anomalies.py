"""Cost anomalies: a day that cost clearly more than the trailing two weeks, with what drove it.

Daily cost is summed in the engine (one row per day and group, small), the trailing statistics are computed
in pandas. A day ``d`` of a group is an anomaly when, over the ``window`` days before it (missing days count 0):

    median = median(cost[d - window .. d - 1])
    MAD    = median(|cost - median|)                    (median absolute deviation)
    threshold = median + max(k * 1.4826 * MAD, pct * median)
    anomaly  <=> cost[d] > threshold  and  impact = cost[d] - median >= min_impact

1.4826 x MAD estimates the standard deviation of normally distributed data (Rousseeuw & Croux 1993; NIST
e-Handbook 1.3.5.17, https://www.itl.nist.gov/div898/handbook/eda/section3/eda356.htm), so ``k = 3`` is the
robust "three sigma" rule; ``pct`` keeps a flat series (MAD 0) from flagging every cent; ``min_impact`` keeps
cheap groups quiet. Defaults: window 14 days, k 3, pct 20 %, min_impact 10 (currency units).
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from finops_nb.analyses.allocation import allocate_owners
from finops_nb.analyses.common import group_key, zero_of
from finops_nb.analyses.overview import cost_column
from finops_nb.errors import ConfigError

MAD_SCALE = 1.4826
DEFAULT_KEYS = ("ServiceName", "SubAccountId")


def daily_cost(t: ir.Table, by: Sequence[str] = DEFAULT_KEYS, *, basis: str = "amortized",
               rules: Sequence | None = None) -> ir.Table:
    """Cost per UTC day of ``ChargePeriodStart``, currency and ``by`` keys (``owner`` needs ``rules``)."""
    if "owner" in by:
        if not rules:
            raise ConfigError("daily cost by owner needs the owner rules")
        t = allocate_owners(t, rules)
    keys = [t.ChargePeriodStart.truncate("D").name("day"), t.BillingCurrency.name("currency"),
            *(t.owner if b == "owner" else group_key(t, b) for b in by)]
    return t.group_by(keys).aggregate(cost=t[cost_column(basis)].sum()).order_by([k.get_name() for k in keys])


def detect_anomalies(daily: pd.DataFrame, keys: Sequence[str] = DEFAULT_KEYS, *, window: int = 14,
                     mad_k: float = 3.0, pct: float = 0.20, min_impact: float = 10.0,
                     all_days: bool = False) -> pd.DataFrame:
    """Anomalous days of each (currency, ``keys``) group of ``daily`` (columns day, currency, keys, cost).

    Formula in the module docstring. Days without cost count as 0 between the series' first and last day;
    a day needs ``window`` days before it. Returns day, currency, keys, cost, median, mad, threshold,
    impact (= cost - median), is_anomaly; only anomalies unless ``all_days``. Worked: 14 days at 100 then 160
    -> median 100, MAD 0, threshold 120, impact 60, an anomaly; 115 is not; 14 days at 10 then 19 exceeds the
    threshold 12 but its impact 9 < 10.
    """
    if window < 2:
        raise ConfigError(f"window {window} must be at least 2 days")
    group = ["currency", *keys]
    out_cols = ["day", *group, "cost", "median", "mad", "threshold", "impact", "is_anomaly"]
    if daily.empty:
        return pd.DataFrame(columns=out_cols)
    d = daily.copy()
    d["day"] = pd.to_datetime(d["day"], utc=True).dt.normalize()
    d["cost"] = d["cost"].astype(float)
    first, last = d["day"].min(), d["day"].max()
    days = pd.date_range(first, last, freq="D")
    n = len(days)
    if n <= window:
        return pd.DataFrame(columns=out_cols)
    # one row per group and day (summed as pandas sums each group), then a groups x days matrix, 0 where missing
    per_day = d.groupby([*group, "day"], dropna=False, sort=True)["cost"].sum().reset_index()
    groups = per_day.groupby(group, dropna=False, sort=True)
    code = groups.ngroup().to_numpy()
    names = groups.size().index
    at = ((per_day["day"] - first) // pd.Timedelta(days=1)).to_numpy()
    values = np.zeros((len(names), n))
    values[code, at] = per_day["cost"].to_numpy()
    # the trailing ``window`` days before each day from the ``window``-th on, every group at once
    w = np.lib.stride_tricks.sliding_window_view(values, window, axis=1)[:, : n - window]
    med = np.median(w, axis=2)
    mad = np.median(np.abs(w - med[..., None]), axis=2)
    cost = values[:, window:]
    threshold = med + np.maximum(mad_k * MAD_SCALE * mad, pct * med)
    k = n - window
    out = pd.DataFrame({"day": days[np.tile(np.arange(window, n), len(names))], "cost": cost.ravel(),
                        "median": med.ravel(), "mad": mad.ravel(), "threshold": threshold.ravel(),
                        "impact": (cost - med).ravel()})
    for i, col in enumerate(group):
        level = names.get_level_values(i) if isinstance(names, pd.MultiIndex) else names
        out[col] = level.repeat(k).array
    out["is_anomaly"] = (out.cost > out.threshold) & (out.impact >= min_impact)
    out = out[out_cols]
    if not all_days:
        out = out[out.is_anomaly]
    return out.sort_values(["impact", "day"], ascending=[False, True]).reset_index(drop=True)


def top_contributors(t: ir.Table, anomaly: pd.Series | dict, keys: Sequence[str] = DEFAULT_KEYS, *,
                     window: int = 14, n: int = 3, basis: str = "amortized", rules: Sequence | None = None,
                     ) -> dict[str, pd.DataFrame]:
    """What drove one anomaly: usage types and resources by ``delta = day cost - mean daily cost`` over the
    ``window`` days before it, largest first.

    Usage type is ``x_UsageType`` (AWS CUR) when the table has it, else ``ChargeDescription``.
    Returns ``{"usage_types": ..., "resources": ...}``, each with columns key, day_cost, baseline, delta.
    """
    if "owner" in keys:
        t = allocate_owners(t, rules or [])
    day = pd.Timestamp(anomaly["day"])
    day = day.tz_localize("UTC") if day.tzinfo is None else day.tz_convert("UTC")
    start, end = day - pd.Timedelta(days=window), day + pd.Timedelta(days=1)
    cond = (t.BillingCurrency == anomaly["currency"]) & (t.ChargePeriodStart >= start.to_pydatetime()) & (
        t.ChargePeriodStart < end.to_pydatetime())
    for k in keys:
        v = anomaly[k]
        cond &= t[k].isnull() if v is None or (isinstance(v, float) and np.isnan(v)) else (t[k] == v)
    w = t.filter(cond)
    cost = w[cost_column(basis)]
    on_day = w.ChargePeriodStart >= day.to_pydatetime()
    zero = zero_of(cost)
    usage_col = "x_UsageType" if "x_UsageType" in t.columns else "ChargeDescription"
    out = {}
    for name, col in (("usage_types", usage_col), ("resources", "ResourceId")):
        g = (w.group_by(w[col].name("key"))
             .aggregate(day_cost=ibis.ifelse(on_day, cost, zero).sum(), before=ibis.ifelse(on_day, zero, cost).sum())
             .execute())
        g["day_cost"] = g.day_cost.astype(float)
        g["baseline"] = g.pop("before").astype(float) / window
        g["delta"] = g.day_cost - g.baseline
        out[name] = g.sort_values(["delta", "key"], ascending=[False, True]).head(n).reset_index(drop=True)
    return out


def describe_anomalies(t: ir.Table, anomalies: pd.DataFrame, keys: Sequence[str] = DEFAULT_KEYS, *,
                       window: int = 14, n: int = 3, basis: str = "amortized",
                       rules: Sequence | None = None) -> pd.DataFrame:
    """``anomalies`` with ``top_usage_types`` and ``top_resources``: the ``n`` largest contributors of each,
    as text ``key (+delta)`` (see ``top_contributors``)."""
    out = anomalies.copy()
    found = _contributors_of_all(t, anomalies, keys, window=window, n=n, basis=basis, rules=rules)
    usage, resources = [], []
    for i in range(len(anomalies)):
        c = found[i]
        usage.append("; ".join(f"{r.key} (+{r.delta:,.2f})" for r in c["usage_types"].itertuples() if r.delta > 0))
        resources.append("; ".join(f"{r.key} (+{r.delta:,.2f})" for r in c["resources"].itertuples()
                                   if r.delta > 0 and pd.notna(r.key)))
    out["top_usage_types"] = usage
    out["top_resources"] = resources
    return out


def _contributors_of_all(t: ir.Table, anomalies: pd.DataFrame, keys: Sequence[str], *, window: int, n: int,
                         basis: str, rules: Sequence | None) -> list[dict[str, pd.DataFrame]]:
    """``top_contributors`` of every anomaly (by position), in one scan per kind instead of two per anomaly: the
    rows of all windows are found by joining the table to the anomalies (same sums, same order)."""
    if "owner" in keys:
        t = allocate_owners(t, rules or [])
    empty = {"key": [], "day_cost": [], "baseline": [], "delta": []}
    if anomalies.empty:
        return []
    a = pd.DataFrame({"_i": range(len(anomalies)), "_currency": anomalies["currency"].astype(object).to_numpy()})
    day = pd.DatetimeIndex(pd.to_datetime(anomalies["day"], utc=True))  # naive days are UTC, as in top_contributors
    a["_day"], a["_start"], a["_end"] = day, day - pd.Timedelta(days=window), day + pd.Timedelta(days=1)
    schema = {"_i": "int64", "_currency": "string", "_day": t.ChargePeriodStart.type(),
              "_start": t.ChargePeriodStart.type(), "_end": t.ChargePeriodStart.type()}
    for j, k in enumerate(keys):
        a[f"_k{j}"] = [None if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in anomalies[k]]
        schema[f"_k{j}"] = t[k].type()
    m = ibis.memtable(a, schema=schema)
    cond = [t.BillingCurrency == m._currency, t.ChargePeriodStart >= m._start, t.ChargePeriodStart < m._end,
            *(t[k].identical_to(m[f"_k{j}"]) for j, k in enumerate(keys))]
    usage_col = "x_UsageType" if "x_UsageType" in t.columns else "ChargeDescription"
    w = t.join(m, cond).select(_i=m._i, _on_day=t.ChargePeriodStart >= m._day, cost=t[cost_column(basis)],
                                usage=t[usage_col], resource=t.ResourceId)
    zero = zero_of(w.cost)
    out: list[dict[str, pd.DataFrame]] = [{} for _ in range(len(anomalies))]
    for name, col in (("usage_types", "usage"), ("resources", "resource")):
        g = (w.group_by([w._i, w[col].name("key")])
             .aggregate(day_cost=ibis.ifelse(w._on_day, w.cost, zero).sum(),
                        before=ibis.ifelse(w._on_day, zero, w.cost).sum())
             .execute())
        g["day_cost"] = g.day_cost.astype(float)
        g["baseline"] = g.pop("before").astype(float) / window
        g["delta"] = g.day_cost - g.baseline
        parts = dict(iter(g.groupby("_i", sort=False)))
        for i in range(len(anomalies)):
            part = parts.get(i)
            part = pd.DataFrame(empty) if part is None else part.drop(columns="_i")
            out[i][name] = part.sort_values(["delta", "key"], ascending=[False, True]).head(n).reset_index(drop=True)
    return out
