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
    parts = []
    for key, part in d.groupby(group, dropna=False, sort=True):
        s = part.groupby("day")["cost"].sum().reindex(days, fill_value=0.0)
        values = s.to_numpy()
        n = len(values)
        med = np.full(n, np.nan)
        mad = np.full(n, np.nan)
        for i in range(window, n):
            w = values[i - window:i]
            med[i] = np.median(w)
            mad[i] = np.median(np.abs(w - med[i]))
        threshold = med + np.maximum(mad_k * MAD_SCALE * mad, pct * med)
        impact = values - med
        frame = pd.DataFrame({"day": days, "cost": values, "median": med, "mad": mad, "threshold": threshold,
                              "impact": impact})
        for col, val in zip(group, key if isinstance(key, tuple) else (key,), strict=True):
            frame[col] = val
        frame["is_anomaly"] = (frame.cost > frame.threshold) & (frame.impact >= min_impact)
        parts.append(frame.iloc[window:])
    out = pd.concat(parts, ignore_index=True)[out_cols] if parts else pd.DataFrame(columns=out_cols)
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
    usage, resources = [], []
    for _, a in anomalies.iterrows():
        c = top_contributors(t, a, keys, window=window, n=n, basis=basis, rules=rules)
        usage.append("; ".join(f"{r.key} (+{r.delta:,.2f})" for r in c["usage_types"].itertuples() if r.delta > 0))
        resources.append("; ".join(f"{r.key} (+{r.delta:,.2f})" for r in c["resources"].itertuples()
                                   if r.delta > 0 and pd.notna(r.key)))
    out["top_usage_types"] = usage
    out["top_resources"] = resources
    return out
