"""Month-end forecast from a daily cost series: a documented baseline and a seasonal ETS model, backtested.

Input is one currency's daily cost (``overview.daily_trend`` or ``anomalies.daily_cost`` for one group): a
DataFrame with ``day`` and ``cost`` columns, or a Series indexed by day. Days without rows count 0.
``as_of`` is the first day that is not complete (default: the day after the last day with data); the days
before it in the month are the actual to date.

- Baseline: ``forecast = actual_to_date + mean(last 7 complete days) * days_left``, the run-rate rule of
  thumb (AWS Cost Explorer's forecast is model-based; this is the transparent reference to compare with).
  Worked: a 30-day month, days 1-20 at 100 -> actual 2,000, forecast 2,000 + 100 x 10 = 3,000.
- Seasonal: ``statsmodels.tsa.exponential_smoothing.ets.ETSModel`` (Hyndman & Athanasopoulos, *Forecasting:
  Principles and Practice*, 3rd ed., ch. 8, https://otexts.com/fpp3/ets.html) with additive error and an
  additive weekly season (period 7), fitted on every complete day before ``as_of``; the forecast is
  ``actual_to_date + sum(point forecasts of the days left)`` and the interval the quantiles of the same sum
  over simulated future paths. It needs at least ``MIN_ETS_DAYS`` (3 weeks) of history.
- Backtest: for each past month fully in the series, forecast as of day ``as_of_day`` and compare with what
  the month cost: ``APE = 100 * |forecast - actual| / actual``; MAPE is their mean.
"""

from __future__ import annotations

import warnings
from decimal import Decimal

import numpy as np
import pandas as pd

from finops_nb.analyses.common import month_bounds
from finops_nb.errors import ConfigError

LOOKBACK_DAYS = 7
MIN_ETS_DAYS = 21
SEASON = 7


def daily_series(daily: pd.DataFrame | pd.Series) -> pd.Series:
    """Cost per UTC day (Decimal values), every day between the first and last present (missing days 0)."""
    if isinstance(daily, pd.DataFrame):
        if "currency" in daily.columns and daily["currency"].nunique() > 1:
            raise ConfigError("the daily series mixes currencies: forecast one currency at a time")
        daily = daily.groupby(pd.to_datetime(daily["day"], utc=True).dt.normalize())["cost"].sum()
    s = daily.copy()
    s.index = pd.to_datetime(s.index, utc=True).normalize()
    s = s.groupby(level=0).sum().map(lambda v: Decimal(str(v)))
    if s.empty:
        return s
    full = pd.date_range(s.index.min(), s.index.max(), freq="D")
    return s.reindex(full, fill_value=Decimal(0))


def _window(s: pd.Series, month: str, as_of) -> tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp]:
    start, end = month_bounds(month)
    if as_of is None:
        in_month = s[(s.index >= start) & (s.index < end)]
        as_of = in_month.index.max() + pd.Timedelta(days=1) if len(in_month) else start
    as_of = pd.Timestamp(as_of)
    as_of = (as_of.tz_localize("UTC") if as_of.tzinfo is None else as_of.tz_convert("UTC")).normalize()
    return start, end, min(max(as_of, start), end)


def forecast_baseline(daily, month: str, *, as_of=None, lookback: int = LOOKBACK_DAYS) -> dict:
    """Run-rate forecast of ``month``'s total (formula in the module docstring), exact decimals.

    Returns actual_cost, forecast_cost, daily_rate, days_elapsed, days_left, rate_days (complete days the
    mean used: fewer than ``lookback`` when the series is shorter), as_of.
    """
    s = daily_series(daily)
    start, end, as_of = _window(s, month, as_of)
    actual = sum(s[(s.index >= start) & (s.index < as_of)], Decimal(0))
    days_left = (end - as_of).days
    # the last `lookback` complete days (from the series' first day when it is shorter); days without rows are 0
    first = max(as_of - pd.Timedelta(days=lookback), s.index.min()) if len(s) else as_of
    recent = s.reindex(pd.date_range(first, as_of, freq="D", inclusive="left"), fill_value=Decimal(0))
    rate = sum(recent, Decimal(0)) / len(recent) if len(recent) else None
    forecast = actual + rate * days_left if rate is not None else (actual if days_left == 0 else None)
    return {"method": "baseline", "actual_cost": actual, "forecast_cost": forecast, "daily_rate": rate,
            "days_elapsed": (as_of - start).days, "days_left": days_left, "rate_days": len(recent),
            "as_of": as_of, "lower": None, "upper": None, "note": None if forecast is not None else
            "no complete day before as_of: nothing to extrapolate"}


def forecast_ets(daily, month: str, *, as_of=None, interval: float = 0.90, simulations: int = 1000,
                 seed: int = 0, trend: str | None = None) -> dict:
    """Seasonal (weekly) ETS forecast of ``month``'s total with a ``interval`` prediction interval.

    Same keys as ``forecast_baseline`` plus lower/upper; ``forecast_cost`` is None with a ``note`` when there
    are fewer than ``MIN_ETS_DAYS`` complete days of history (the model cannot learn a weekly season).
    """
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    s = daily_series(daily)
    start, end, as_of = _window(s, month, as_of)
    actual = sum(s[(s.index >= start) & (s.index < as_of)], Decimal(0))
    days_left = (end - as_of).days
    history = s[s.index < as_of]
    out = {"method": "ets", "actual_cost": actual, "forecast_cost": None, "daily_rate": None,
           "days_elapsed": (as_of - start).days, "days_left": days_left, "rate_days": len(history),
           "as_of": as_of, "lower": None, "upper": None, "note": None}
    if days_left == 0:
        out.update(forecast_cost=actual, lower=actual, upper=actual)
        return out
    if len(history) < MIN_ETS_DAYS:
        out["note"] = (f"only {len(history)} complete day(s) before {as_of.date()}: the weekly model needs "
                       f"{MIN_ETS_DAYS}")
        return out
    y = pd.Series(history.astype(float).to_numpy(), index=pd.RangeIndex(len(history)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = ETSModel(y, error="add", trend=trend, seasonal="add", seasonal_periods=SEASON).fit(disp=False)
    if any("converge" in str(w.message).lower() for w in caught):
        out["note"] = "the ETS optimizer stopped before converging (a very regular series); check the interval"
    point = float(np.sum(fit.forecast(days_left)))
    paths = fit.simulate(nsimulations=days_left, repetitions=simulations, anchor="end",
                         rng=np.random.default_rng(seed))
    sums = np.asarray(paths).reshape(days_left, -1).sum(axis=0)
    lo, hi = np.quantile(sums, [(1 - interval) / 2, (1 + interval) / 2])
    a = float(actual)
    out.update(forecast_cost=Decimal(str(round(a + point, 6))), daily_rate=Decimal(str(round(point / days_left, 6))),
               lower=Decimal(str(round(a + lo, 6))), upper=Decimal(str(round(a + hi, 6))))
    return out


def backtest(daily, *, as_of_day: int = 15, months: list[str] | None = None, **ets_options) -> pd.DataFrame:
    """Forecast each past month as of day ``as_of_day`` with both methods and compare with its actual total.

    A month is tested only when the series covers all of it. Columns: month, method, actual_total,
    forecast_cost, error (forecast - actual), ape_pct (100 |error| / actual), note. ``mape`` summarises.
    """
    s = daily_series(daily)
    rows = []
    if s.empty:
        return pd.DataFrame(columns=["month", "method", "actual_total", "forecast_cost", "error", "ape_pct", "note"])
    candidates = months or sorted({d.strftime("%Y-%m") for d in s.index})
    for m in candidates:
        start, end = month_bounds(m)
        if s.index.min() > start or s.index.max() < end - pd.Timedelta(days=1):
            continue  # not fully in the series
        total = sum(s[(s.index >= start) & (s.index < end)], Decimal(0))
        as_of = start + pd.Timedelta(days=as_of_day - 1)
        for f in (forecast_baseline(s, m, as_of=as_of), forecast_ets(s, m, as_of=as_of, **ets_options)):
            fc = f["forecast_cost"]
            err = fc - total if fc is not None else None
            ape = float(abs(err) / abs(total) * 100) if err is not None and total else None
            rows.append({"month": m, "method": f["method"], "actual_total": total, "forecast_cost": fc,
                         "error": err, "ape_pct": ape, "note": f["note"]})
    return pd.DataFrame(rows, columns=["month", "method", "actual_total", "forecast_cost", "error", "ape_pct", "note"])


def mape(results: pd.DataFrame) -> dict[str, float | None]:
    """Mean absolute percentage error per method over the backtest's months (None when none was tested)."""
    out = {}
    for method in ("baseline", "ets"):
        v = results[(results.method == method) & results.ape_pct.notna()].ape_pct if len(results) else []
        out[method] = float(np.mean(v)) if len(v) else None
    return out


def forecast_owners(daily_by_owner: pd.DataFrame, showback: pd.DataFrame, month: str, *, as_of=None) -> pd.DataFrame:
    """Month-end forecast of each owner's showback total, for ``allocation.compare_budgets``.

    ``daily_by_owner``: ``anomalies.daily_cost(t, ["owner"], rules=...)``. Per owner and currency the baseline
    forecasts its direct daily cost; the owner's total (direct + shared received) is scaled by the same ratio:
    ``forecast_cost = total_cost * forecast_direct / actual_direct`` (``total_cost`` when nothing is direct yet).
    """
    rows = []
    for r in showback[showback.billing_period == month].itertuples():
        part = daily_by_owner[(daily_by_owner.owner == r.owner) & (daily_by_owner.currency == r.currency)]
        f = forecast_baseline(part[["day", "cost"]], month, as_of=as_of) if len(part) else None
        ratio = (f["forecast_cost"] / f["actual_cost"]
                 if f and f["actual_cost"] and f["forecast_cost"] is not None else Decimal(1))
        rows.append({"owner": r.owner, "billing_period": month, "currency": r.currency,
                     "total_cost": r.total_cost, "forecast_cost": (r.total_cost * ratio).quantize(Decimal("0.01"))})
    return pd.DataFrame(rows, columns=["owner", "billing_period", "currency", "total_cost", "forecast_cost"])
