"""ipywidgets apps for Voila. Widget values reach queries only as Ibis parameters (``ibis.param``)."""

from __future__ import annotations

import html

import ibis
import ipywidgets as w
import pandas as pd
import vl_convert as vlc

from finops_nb import charts
from finops_nb.analyses.common import billing_period, money_frame
from finops_nb.sources import Charges

ALL = "(all)"


def chart_svg(chart) -> str:
    """An altair chart as inline SVG text (drawn in the kernel by vl-convert, no CDN)."""
    return vlc.vegalite_to_svg(chart.to_json())


def _options(t: ibis.Table, column) -> list[str]:
    values = t.select(v=column).distinct().order_by("v").execute()["v"]
    return [str(v) for v in values if v is not None and not pd.isna(v)]


class CostExplorer:
    """Month, provider, sub-account and service dropdowns over cost by service: a chart and a table."""

    def __init__(self, charges: Charges, *, top: int = 15):
        t = charges.table
        self.top = top
        months = _options(t, billing_period(t))
        self.month = w.Dropdown(options=months, value=months[0] if months else None, description="Month")
        self.provider = w.Dropdown(options=[ALL, *_options(t, t.ProviderName)], description="Provider")
        self.account = w.Dropdown(options=[ALL, *_options(t, t.SubAccountName)], description="Sub-account")
        self.service = w.Dropdown(options=[ALL, *_options(t, t.ServiceName)], description="Service")
        self.status = w.HTML()
        self.chart = w.HTML()
        self.table = w.HTML()
        self.params = {name: ibis.param("string") for name in ("month", "provider", "account", "service")}
        p = self.params
        sel = t.filter(
            billing_period(t) == p["month"],
            (p["provider"] == ALL) | (t.ProviderName == p["provider"]),
            (p["account"] == ALL) | (t.SubAccountName == p["account"]),
            (p["service"] == ALL) | (t.ServiceName == p["service"]),
        )
        self.query = (sel.group_by([sel.BillingCurrency.name("currency"), "ServiceName"])
                      .aggregate(cost=sel.EffectiveCost.sum(), billed_cost=sel.BilledCost.sum(), rows=sel.count())
                      .order_by([ibis.desc("cost"), "ServiceName"]))
        for dd in (self.month, self.provider, self.account, self.service):
            dd.observe(self.refresh, names="value")
        self.view = w.VBox([
            w.HTML("<h2>Cost explorer</h2><p>Effective (amortized) cost by service for the selection.</p>"),
            w.HBox([self.month, self.provider]), w.HBox([self.account, self.service]),
            self.status, self.chart, self.table,
        ])
        self.refresh()

    def frame(self) -> pd.DataFrame:
        values = {"month": self.month.value or "", "provider": self.provider.value,
                  "account": self.account.value, "service": self.service.value}
        return self.query.execute(params={self.params[k]: v for k, v in values.items()})

    def refresh(self, *_):
        self.status.value = "<i>Computing…</i>"
        df = money_frame(self.frame())
        if df.empty:
            self.chart.value = ""
            self.table.value = "<p class='empty'>No cost in this selection.</p>"
            self.status.value = ""
            return
        parts = []
        for cur, part in df.groupby("currency"):
            parts.append(chart_svg(charts.bar_by(part, "ServiceName", "cost",
                                                 title=f"Effective cost by service ({cur})", top=self.top)))
        self.chart.value = "".join(parts)
        shown = df.head(self.top).rename(columns={"cost": "effective_cost"})
        self.table.value = shown.to_html(index=False, escape=True, float_format=lambda v: f"{v:,.4f}",
                                         classes="cost-table")
        totals = df.groupby("currency").cost.sum()
        self.status.value = "Total effective cost: " + ", ".join(
            f"<b>{v:,.4f} {html.escape(str(c))}</b>" for c, v in totals.items())


def cost_explorer(charges: Charges, **kw) -> w.VBox:
    """The cost explorer app's widget tree."""
    return CostExplorer(charges, **kw).view
