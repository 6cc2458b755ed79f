"""Altair chart builders: each returns an ``alt.Chart`` and never displays it.

Charts render offline: ``use_offline_renderer()`` switches altair to SVG drawn by vl-convert in the
kernel, so executed notebooks, the HTML reports and the Voila apps need no CDN and no network.
"""

from __future__ import annotations

import sys

import pandas as pd

from finops_nb.analyses.common import money_frame
from finops_nb.schema import UNTAGGED


def _import_altair():
    """``altair`` without jsonschema's ``iri`` format checker: jsonschema imports ``rfc3987_syntax`` for it when
    installed, which builds a grammar on import (over a second of CPU per kernel), and the Vega-Lite schema
    altair validates charts against has no ``iri`` format (only ``uri``, ``uri-reference``, ``color-hex``), so
    the charts validate the same. Only when jsonschema is not imported yet; the module stays importable."""
    if "jsonschema" in sys.modules or "rfc3987_syntax" in sys.modules:
        import altair

        return altair
    sys.modules["rfc3987_syntax"] = None  # an ImportError for jsonschema's optional import
    try:
        import altair
    finally:
        if sys.modules.get("rfc3987_syntax", 0) is None:
            del sys.modules["rfc3987_syntax"]
    return altair


alt = _import_altair()

PALETTE = ["#1f5f8b", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f"]


@alt.theme.register("finops", enable=True)
def finops_theme() -> alt.theme.ThemeConfig:
    return {
        "config": {
            "view": {"continuousWidth": 560, "continuousHeight": 260, "stroke": None},
            "range": {"category": PALETTE},
            "axis": {"labelFontSize": 11, "titleFontSize": 12, "grid": True, "gridColor": "#eeeeee"},
            "title": {"fontSize": 14, "anchor": "start"},
            "font": "DejaVu Sans",
        }
    }


def use_offline_renderer() -> None:
    """Draw charts as inline SVG (vl-convert): no JavaScript, no CDN, stable output for tests."""
    alt.renderers.enable("svg")


def _money(df: pd.DataFrame) -> pd.DataFrame:
    return money_frame(df)


def bar_by(df: pd.DataFrame, dim: str, value: str = "cost", *, title: str = "", top: int = 15) -> alt.Chart:
    """Horizontal bars of ``value`` per ``dim``, largest on top (one currency expected)."""
    data = _money(df).nlargest(top, value)
    missing = UNTAGGED if dim.startswith("tag:") else "(none)"
    data = pd.DataFrame({"key": data[dim].fillna(missing).astype(str), "value": data[value]})
    return alt.Chart(data, title=title).mark_bar().encode(
        x=alt.X("value:Q", title=value.replace("_", " ")),
        y=alt.Y("key:N", sort="-x", title=dim, axis=alt.Axis(labelLimit=260)),
        tooltip=[alt.Tooltip("key:N", title=dim), alt.Tooltip("value:Q", title=value, format=",.4f")],
    )


def daily_trend_chart(df: pd.DataFrame, *, title: str = "Daily cost") -> alt.Chart:
    """Billed and effective cost per day as two lines."""
    data = _money(df).melt(id_vars=["day", "currency"], value_vars=["billed_cost", "effective_cost"],
                           var_name="basis", value_name="cost")
    return alt.Chart(data, title=title).mark_line(point=True).encode(
        x=alt.X("day:T", title="day (UTC)"), y=alt.Y("cost:Q", title="cost"), color=alt.Color("basis:N"),
        tooltip=["day:T", "basis:N", alt.Tooltip("cost:Q", format=",.4f")],
    )


def category_chart(df: pd.DataFrame, *, title: str = "Usage, credits and adjustments") -> alt.Chart:
    """Billed cost per charge category: credits show as negative bars, apart from usage."""
    data = _money(df)
    return alt.Chart(data, title=title).mark_bar().encode(
        x=alt.X("billed_cost:Q", title="billed cost"), y=alt.Y("ChargeCategory:N", title=None),
        color=alt.condition("datum.billed_cost < 0", alt.value("#59a14f"), alt.value("#1f5f8b")),
        tooltip=["ChargeCategory:N", alt.Tooltip("billed_cost:Q", format=",.4f"),
                 alt.Tooltip("effective_cost:Q", format=",.4f")],
    )


def hourly_spend_chart(df: pd.DataFrame, *, commitment_cap: float | None = None,
                       title: str = "On-demand eligible spend per hour") -> alt.Chart:
    """Hourly eligible spend, with the on-demand equivalent a commitment would cover as a rule."""
    base = alt.Chart(df, title=title).mark_area(opacity=0.6).encode(
        x=alt.X("hour:T", title="hour (UTC)"), y=alt.Y("eligible_cost:Q", title="on-demand cost per hour"))
    if commitment_cap is None:
        return base
    rule = alt.Chart(pd.DataFrame({"cap": [commitment_cap]})).mark_rule(color="#e15759").encode(y="cap:Q")
    return base + rule


def savings_curve_chart(curve: pd.DataFrame, *, title: str = "Savings by hourly commitment") -> alt.Chart:
    """Savings (and utilization) against the hourly commitment."""
    base = alt.Chart(curve, title=title).encode(x=alt.X("commitment_per_hour:Q", title="commitment per hour"))
    line = base.mark_line(color=PALETTE[0]).encode(
        y=alt.Y("savings:Q", title="savings over the period"),
        tooltip=[alt.Tooltip("commitment_per_hour:Q", format=",.4f"), alt.Tooltip("savings:Q", format=",.4f"),
                 alt.Tooltip("utilization_pct:Q", format=".1f"), alt.Tooltip("coverage_pct:Q", format=".1f")])
    zero = alt.Chart(pd.DataFrame({"y": [0]})).mark_rule(color="#999999").encode(y="y:Q")
    return line + zero


def utilization_chart(samples: pd.DataFrame, *, instances: list[str] | None = None, percentile: float | None = None,
                      title: str = "Utilization per instance (5-minute maxima over the lookback)") -> alt.Chart:
    """Distribution of CPU and memory utilization per instance: box (quartiles), whiskers (min-max), and a tick
    at ``percentile`` when given. ``samples``: ``sources.cloudwatch.fetch_metrics`` rows (metrics cpu, mem)."""
    names = {"cpu": "CPU %", "mem": "memory %"}
    data = samples[samples.metric.isin(list(names))]
    if instances is not None:
        data = data[data.instance_id.isin(instances)]
    data = pd.DataFrame({"instance_id": data.instance_id.astype(str), "metric": data.metric.map(names),
                         "value": data.value.astype(float)})
    order = instances if instances is not None else sorted(data.instance_id.unique())
    y = alt.Y("instance_id:N", sort=order, title=None, axis=alt.Axis(labelLimit=200))
    box = alt.Chart(data, title=title).mark_boxplot(extent="min-max", size=10).encode(
        x=alt.X("value:Q", title="utilization (%)", scale=alt.Scale(domain=[0, 100], clamp=True)), y=y,
        yOffset=alt.YOffset("metric:N"), color=alt.Color("metric:N", title=None))
    if percentile is None or data.empty:
        return box
    marks = (data.groupby(["instance_id", "metric"]).value.quantile(percentile / 100).rename("p").reset_index())
    tick = alt.Chart(marks).mark_tick(color="#e15759", thickness=2, size=12).encode(
        x="p:Q", y=y, yOffset="metric:N", tooltip=["instance_id:N", "metric:N", alt.Tooltip("p:Q", format=".1f",
                                                                                             title=f"p{percentile:g}")])
    return box + tick
