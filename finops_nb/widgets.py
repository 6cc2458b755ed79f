"""ipywidgets apps for Voila. Widget values reach queries only as Ibis parameters (``ibis.param``)."""

from __future__ import annotations

import functools
import html
import os

import ibis
import ipywidgets as w
import pandas as pd
import vl_convert as vlc

from finops_nb import charts
from finops_nb.analyses.common import billing_period, money_frame, tag_value
from finops_nb.schema import UNTAGGED
from finops_nb.sources import Charges

ALL = "(all)"
NO_TAG = "(no tag filter)"


def chart_svg(chart) -> str:
    """An altair chart as inline SVG text (drawn in the kernel by vl-convert, no CDN). Drawing takes tens of
    milliseconds, most of a filter change: a selection seen before is drawn from memory."""
    return _svg(chart.to_json())


@functools.lru_cache(maxsize=256)
def _svg(spec: str) -> str:
    return vlc.vegalite_to_svg(spec)


class Quiet:
    """Widget changes made by the app itself: observers that check ``app.quiet`` skip them, and the app
    refreshes once afterwards."""

    def __init__(self, app):
        self.app = app

    def __enter__(self):
        self.app.quiet = True

    def __exit__(self, *exc):
        self.app.quiet = False


def _options(t: ibis.Table, column) -> list[str]:
    values = t.select(v=column).distinct().order_by("v").execute()["v"]
    return [str(v) for v in values if v is not None and not pd.isna(v)]


CUBE_DIMS = ("ProviderName", "SubAccountName", "ServiceName")


def cost_cube(t: ibis.Table, tag_key: str | None = None) -> ibis.Table:
    """Effective and billed cost and row counts by billing period, currency, provider, sub-account and service
    (and the value of tag ``tag_key``, NULL when untagged): a few thousand rows however long the table. Sums of
    DECIMAL sums are exact, so any selection summed from the cube equals the same selection summed from ``t``."""
    by = {"period": billing_period(t), "currency": t.BillingCurrency, **{c: t[c] for c in CUBE_DIMS}}
    if tag_key is not None:
        by["tag"] = tag_value(t, tag_key)
    return t.group_by(**by).aggregate(cost=t.EffectiveCost.sum(), billed_cost=t.BilledCost.sum(), rows=t.count())


def cost_by_service(cube: ibis.Table, p: dict) -> ibis.Table:
    """The cost explorer's query over a ``cost_cube``: parameters start, end (billing periods), provider,
    account, service and tag_value (``ALL`` for no filter; ``UNTAGGED`` for rows without the cube's tag)."""
    keep = [cube.period >= p["start"], cube.period <= p["end"],
            (p["provider"] == ALL) | (cube.ProviderName == p["provider"]),
            (p["account"] == ALL) | (cube.SubAccountName == p["account"]),
            (p["service"] == ALL) | (cube.ServiceName == p["service"])]
    if "tag" in cube.columns:
        keep.append((p["tag_value"] == ALL) | (cube.tag == p["tag_value"])
                    | ((p["tag_value"] == UNTAGGED) & cube.tag.isnull()))
    sel = cube.filter(*keep)
    return (sel.group_by(["currency", "ServiceName"])
            .aggregate(cost=sel.cost.sum(), billed_cost=sel.billed_cost.sum(), rows=sel.rows.sum())
            .order_by([ibis.desc("cost"), "ServiceName"]))


class CostExplorer:
    """Month range, provider, sub-account, service and tag filters over cost by service: chart, table, CSV."""

    quiet = False

    def __init__(self, charges: Charges, *, top: int = 15):
        t = charges.table
        self.top, self.t = top, t
        # built before the visit (in a preheated kernel): every filter change then reads the small cube
        self.cube = cost_cube(t).cache()
        self.tag_cubes: dict[str, ibis.Table] = {}
        months = _options(self.cube, self.cube.period)
        keys = sorted({k for k in t.select(k=t.Tags.keys().unnest()).distinct().execute()["k"].dropna()})
        first = _busiest_month(self.cube, rows="rows")
        self.month = w.Dropdown(options=months, value=first, description="Month")
        self.through = w.Dropdown(options=months, value=first, description="Through")
        self.provider = w.Dropdown(options=[ALL, *_options(self.cube, self.cube.ProviderName)], description="Provider")
        self.account = w.Dropdown(options=[ALL, *_options(self.cube, self.cube.SubAccountName)],
                                  description="Sub-account")
        self.service = w.Dropdown(options=[ALL, *_options(self.cube, self.cube.ServiceName)], description="Service")
        self.tag_key = w.Dropdown(options=[NO_TAG, *keys], description="Tag key")
        self.tag_value = w.Dropdown(options=[ALL], description="Tag value")
        self.status, self.chart, self.table, self.download = w.HTML(), w.HTML(), w.HTML(), w.HTML()
        names = ("start", "end", "provider", "account", "service", "tag_value")
        self.params = {name: ibis.param("string") for name in names}
        self.query = cost_by_service(self.cube, self.params)
        self.tag_key.observe(self.load_tag_values, names="value")
        for dd in (self.month, self.through, self.provider, self.account, self.service, self.tag_value):
            dd.observe(self.refresh, names="value")
        self.view = w.VBox([
            w.HTML("<h2>Cost explorer</h2><p>Effective (amortized) cost by service for the selection.</p>"),
            w.HBox([self.month, self.through]), w.HBox([self.provider, self.account]),
            w.HBox([self.service]), w.HBox([self.tag_key, self.tag_value]),
            self.status, self.chart, self.download, self.table,
        ])
        self.refresh()

    def load_tag_values(self, *_):
        key = self.tag_key.value
        if key == NO_TAG:
            options = [ALL]
            self.query = cost_by_service(self.cube, self.params)
        else:
            if key not in self.tag_cubes:
                self.tag_cubes[key] = cost_cube(self.t, key).cache()
            cube = self.tag_cubes[key]
            values = cube.select(v=cube.tag).distinct().execute()["v"]
            options = [ALL, *sorted(str(v) for v in values.dropna()), UNTAGGED]
            self.query = cost_by_service(cube, self.params)
        with Quiet(self):
            self.tag_value.options = options
            self.tag_value.value = ALL
        self.refresh()

    def frame(self) -> pd.DataFrame:
        start, end = sorted([self.month.value or "", self.through.value or ""])
        values = {"start": start, "end": end, "provider": self.provider.value, "account": self.account.value,
                  "service": self.service.value, "tag_value": self.tag_value.value}
        return self.query.execute(params={self.params[k]: v for k, v in values.items()})

    def refresh(self, *_):
        if self.quiet:
            return
        self.status.value = "<i>Computing…</i>"
        df = money_frame(self.frame())
        if df.empty:
            self.chart.value = self.download.value = ""
            self.table.value = "<p class='empty'>No cost in this selection.</p>"
            self.status.value = ""
            return
        parts = []
        for cur, part in df.groupby("currency"):
            parts.append(chart_svg(charts.bar_by(part, "ServiceName", "cost",
                                                 title=f"Effective cost by service ({cur})", top=self.top)))
        self.chart.value = "".join(parts)
        shown = df.rename(columns={"cost": "effective_cost"})
        self.table.value = shown.head(self.top).to_html(index=False, escape=True, float_format=lambda v: f"{v:,.4f}",
                                                        classes="cost-table")
        start, end = sorted([self.month.value or "", self.through.value or ""])
        self.download.value = csv_link(shown, f"cost-by-service-{start}-{end}.csv")
        totals = df.groupby("currency").cost.sum()
        self.status.value = "Total effective cost: " + ", ".join(
            f"<b>{v:,.4f} {html.escape(str(c))}</b>" for c, v in totals.items())


def cost_explorer(charges: Charges, **kw) -> w.VBox:
    """The cost explorer app's widget tree."""
    return CostExplorer(charges, **kw).view


def _visitor_query() -> str:
    """The page's query string (Voila passes it to the kernel as QUERY_STRING).

    In a preheated Voila kernel the data is loaded before anyone visits and QUERY_STRING is not set yet:
    ``wait_for_request`` waits for the visitor's request, which sets it. Outside preheating (JupyterLab,
    papermill) it returns at once.
    """
    if "QUERY_STRING" not in os.environ:
        from voila.utils import wait_for_request

        wait_for_request()
    return os.environ.get("QUERY_STRING", "")


def _ranked_months(t: ibis.Table, rows: str | None = None) -> list[str]:
    """Billing periods, the one with the most rows first (ties: the later). ``rows`` names a column of row counts
    when ``t`` is a ``cost_cube`` (its ``period`` is the billing period). Needs no visitor."""
    if rows is None:
        n, m = t.count(), billing_period(t)
    else:
        n, m = t[rows].sum(), t.period
    df = t.group_by(m=m).aggregate(n=n).order_by([ibis.desc("n"), ibis.desc("m")]).execute()
    return [str(v) for v in df.m]


def _visitor_month(ranked: list[str]) -> str | None:
    """``?month=YYYY-MM`` in the page's URL when the data has it, else the first of ``ranked`` (waits for the
    visit in a preheated kernel: work done before this call is done before anyone visits)."""
    from urllib.parse import parse_qs

    asked = parse_qs(_visitor_query()).get("month", [None])[0]
    if asked in set(ranked):
        return asked
    return ranked[0] if ranked else None


def _busiest_month(t: ibis.Table, rows: str | None = None) -> str | None:
    """The month an app opens on: ``?month=YYYY-MM`` in the page's URL when the data has it, else the
    billing period with the most rows (a stray row of the next month is not the month people mean).
    ``rows`` names a column of row counts when ``t`` is a ``cost_cube`` (its ``period`` is the billing period)."""
    return _visitor_month(_ranked_months(t, rows))


def csv_link(df: pd.DataFrame, filename: str, label: str = "Download CSV") -> str:
    """An HTML link that downloads ``df`` as CSV from the page itself (no server round trip)."""
    import base64

    data = base64.b64encode(df.to_csv(index=False).encode()).decode()
    return (f'<a class="csv-download" download="{html.escape(filename)}" '
            f'href="data:text/csv;base64,{data}">{html.escape(label)}</a>')


class SavingsLedger:
    """The savings ledger with owner, check and effort filters, totals that count each resource once, CSV export."""

    quiet = False

    def __init__(self, charges: Charges, *, owner_tag: str = "owner", top: int = 25):
        from finops_nb.analyses import savings

        self.t, self.owner_tag, self.top, self.savings = charges.table, owner_tag, top, savings
        months = _options(self.t, billing_period(self.t))
        self.month = w.Dropdown(options=months, value=_busiest_month(self.t), description="Month")
        self.owner = w.Dropdown(description="Owner")
        self.check = w.Dropdown(description="Check")
        self.effort = w.Dropdown(description="Effort")
        self.status, self.totals, self.table, self.download = w.HTML(), w.HTML(), w.HTML(), w.HTML()
        self.month.observe(self.recompute, names="value")
        for dd in (self.owner, self.check, self.effort):
            dd.observe(self.refresh, names="value")
        self.view = w.VBox([
            w.HTML("<h2>Savings ledger</h2><p>What can we save, where, and who must act. Each saving is priced at "
                   "the resource's own effective cost; totals count each resource once.</p>"),
            w.HBox([self.month, self.owner]), w.HBox([self.check, self.effort]),
            self.status, self.totals, self.download, self.table,
        ])
        self.recompute()

    def recompute(self, *_):
        from finops_nb.analyses.commitments import observed_discount

        self.status.value = "<i>Computing the ledger…</i>"
        rate, source = observed_discount(self.t, month=self.month.value)
        self.ledger = self.savings.build_ledger(self.t, month=self.month.value, discount=rate,
                                                discount_source=source, owner_tag=self.owner_tag)
        owners = sorted(str(o) for o in self.ledger.owner.dropna().unique())
        choices = {self.owner: [ALL, "(no owner)", *owners], self.check: [ALL, *sorted(self.ledger.check.unique())],
                   self.effort: [ALL, *sorted(self.ledger.effort.unique())]}
        with Quiet(self):
            for dd, options in choices.items():
                dd.options = options
                dd.value = ALL
        self.refresh()

    def selection(self) -> pd.DataFrame:
        df = self.ledger
        if self.owner.value == "(no owner)":
            df = df[df.owner.isna()]
        elif self.owner.value not in (ALL, None):
            df = df[df.owner == self.owner.value]
        for dd, col in ((self.check, "check"), (self.effort, "effort")):
            if dd.value not in (ALL, None):
                df = df[df[col] == dd.value]
        return df

    def refresh(self, *_):
        from finops_nb.tables import money_table

        if self.quiet:
            return
        df = self.selection()
        summary = self.savings.summarize_ledger(df)
        once = summary[summary.check.str.startswith("all checks")] if len(summary) else summary
        parts = [f"<b>{v:,.4f} {html.escape(str(c))}</b> per month across {n:,} resources"
                 for c, v, n in zip(once.currency, once.monthly_savings, once.findings, strict=True)]
        self.totals.value = "Savings: " + ("; ".join(parts) if parts else "none in this selection")
        cols = ["check", "action", "ResourceId", "ServiceName", "SubAccountName", "owner", "monthly_cost",
                "monthly_savings", "effort", "risk"]
        self.table.value = (money_table(df, columns=cols, money=["monthly_cost", "monthly_savings"], decimals=4,
                                        top=self.top, caption="Findings, largest saving first")
                            .set_table_attributes('class="ledger-table"').to_html()
                            if len(df) else "<p class='empty'>No findings in this selection.</p>")
        self.download.value = csv_link(df, f"savings-ledger-{self.month.value}.csv") if len(df) else ""
        self.status.value = ""


def savings_ledger(charges: Charges, **kw) -> w.VBox:
    return SavingsLedger(charges, **kw).view


class CommitmentSimulator:
    """An hourly commitment slider over the month's on-demand eligible spend: savings, utilization, coverage."""

    quiet = False

    def __init__(self, charges: Charges, *, steps: int = 40):
        from finops_nb.analyses import commitments

        self.cm, self.t, self.steps = commitments, charges.table, steps
        months = _options(self.t, billing_period(self.t))
        self.month = w.Dropdown(options=months, value=_busiest_month(self.t), description="Month")
        rate, self.rate_source = commitments.observed_discount(self.t, month=self.month.value)
        self.discount = w.BoundedFloatText(value=round(rate, 4), min=0.01, max=0.9, step=0.01,
                                           description="Discount")
        self.commitment = w.FloatSlider(min=0, max=1, step=0.0001, readout_format=".4f",
                                        description="Per hour", continuous_update=False,
                                        layout=w.Layout(width="480px"))
        self.commitment_text = w.BoundedFloatText(min=0, max=1, step=0.0001, description="Commitment")
        w.link((self.commitment, "value"), (self.commitment_text, "value"))
        w.link((self.commitment, "max"), (self.commitment_text, "max"))
        self.status, self.stats, self.chart = w.HTML(), w.HTML(), w.HTML()
        self.month.observe(self.load_month, names="value")
        self.discount.observe(self.recurve, names="value")
        self.commitment.observe(self.show, names="value")
        self.view = w.VBox([
            w.HTML("<h2>Commitment simulator</h2><p>Each hour costs <code>C + max(0, E<sub>h</sub> − C / (1 − d))"
                   "</code>: the commitment C, plus on-demand spend beyond what it covers.</p>"),
            w.HBox([self.month, self.discount]), w.HBox([self.commitment, self.commitment_text]),
            self.status, self.stats, self.chart,
        ])
        self.load_month()

    def load_month(self, *_):
        self.status.value = "<i>Computing hourly spend…</i>"
        hourly = self.cm.hourly_eligible_spend(self.t, month=self.month.value)
        totals = hourly.groupby("currency").eligible_cost.sum()
        self.currency = totals.idxmax() if len(totals) else None
        self.series = hourly[hourly.currency == self.currency].eligible_cost if self.currency else hourly.eligible_cost
        self.recurve()

    def recurve(self, *_):
        d = float(self.discount.value)
        grid = self.cm.commitment_grid(self.series, discount=d, steps=self.steps)
        self.curve = self.cm.simulate_commitment(self.series, grid, discount=d)
        best = self.cm.optimal_commitment(self.series, discount=d)
        self.best = best
        with Quiet(self):
            self.commitment.max = max(float(grid[-1]), 1e-4)
            self.commitment.value = float(best.commitment_per_hour)
        self.show()

    def show(self, *_):
        if self.quiet:
            return
        d, c = float(self.discount.value), float(self.commitment.value)
        r = self.cm.simulate_commitment(self.series, [c], discount=d).iloc[0]
        cur = html.escape(str(self.currency or ""))
        util = "n/a" if c == 0 else f"{r.utilization_pct:.1f} %"
        self.stats.value = (
            f"<table class='sim-stats'><tr><td>Commitment</td><td><b>{c:,.4f} {cur}/h</b></td></tr>"
            f"<tr><td>Savings this month</td><td><b>{r.savings:,.4f} {cur}</b> ({r.savings_pct:.1f} % of "
            f"{r.on_demand_cost:,.4f} on demand)</td></tr>"
            f"<tr><td>Utilization</td><td>{util} (break-even {r.break_even_utilization_pct:.0f} %)</td></tr>"
            f"<tr><td>Coverage</td><td>{r.coverage_pct:.1f} %</td></tr>"
            f"<tr><td>Best commitment</td><td>{self.best.commitment_per_hour:,.4f} {cur}/h saves "
            f"{self.best.savings:,.4f}</td></tr>"
            f"<tr><td>Discount</td><td>{d:.1%} ({html.escape(self.rate_source)})</td></tr></table>")
        import altair as alt

        rule = alt.Chart(pd.DataFrame({"c": [c]})).mark_rule(color="#e15759").encode(x="c:Q")
        self.chart.value = chart_svg(charts.savings_curve_chart(self.curve, title=f"Savings by commitment ({cur})")
                                     + rule)
        self.status.value = ""


def commitment_simulator(charges: Charges, **kw) -> w.VBox:
    return CommitmentSimulator(charges, **kw).view


class CommitmentPlanner:
    """Term, payment option and lookback selectors and a commitment slider over the hourly eligible spend of
    the lookback window ending at the month end (expiring commitments added back): savings curve, savings,
    utilization and coverage. The discount is the bill's own rate where present, else the shipped table's
    (``commitments.discount_for``). ``observed`` (``observed_discount``) and ``state`` (``summarize_commitments``)
    of ``month``: pass them when the caller has them (notebook 30), else they are read here."""

    quiet = False

    def __init__(self, charges: Charges, *, month: str | None = None, steps: int = 40, expiring_within: int = 90,
                 observed: tuple | None = None, state: pd.DataFrame | None = None):
        from finops_nb.analyses import commitments

        self.cm, self.t, self.steps, self.expiring_within = commitments, charges.table, steps, expiring_within
        self.month = month or _busiest_month(self.t)
        self.observed = commitments.observed_discount(self.t, month=self.month) if observed is None else observed
        self.state = commitments.summarize_commitments(self.t, month=self.month) if state is None else state
        self.term = w.Dropdown(options=list(commitments.TERMS), value="1y", description="Term")
        self.payment = w.Dropdown(options=list(commitments.PAYMENTS), value="no-upfront", description="Payment")
        self.lookback = w.Dropdown(options=list(commitments.LOOKBACK_DAYS), value=30, description="Lookback (d)")
        self.commitment = w.FloatSlider(min=0, max=1, step=0.0001, readout_format=".4f", description="Per hour",
                                        continuous_update=False, layout=w.Layout(width="480px"))
        self.stats, self.chart = w.HTML(), w.HTML()
        self._series: dict[int, tuple[str | None, pd.Series]] = {}
        for control in (self.term, self.payment, self.lookback):
            control.observe(self.recurve, names="value")
        self.commitment.observe(self.show, names="value")
        self.view = w.VBox([
            w.HTML(f"<h3>Commitment planner ({html.escape(str(self.month))})</h3>"),
            w.HBox([self.term, self.payment, self.lookback]), self.commitment, self.stats, self.chart])
        self.recurve()

    def series(self) -> tuple[str | None, pd.Series]:
        days = int(self.lookback.value)
        if days not in self._series:
            h = self.cm.hourly_spend_after_expiry(self.t, month=self.month, within_days=self.expiring_within,
                                                  lookback_days=days, state=self.state)
            totals = h.groupby("currency").eligible_after_expiry.sum()
            cur = totals.idxmax() if len(totals) else None
            self._series[days] = (cur, (h[h.currency == cur] if cur else h).eligible_after_expiry)
        return self._series[days]

    def recurve(self, *_):
        self.currency, s = self.series()
        self.discount, self.rate_source = self.cm.discount_for(self.term.value, self.payment.value,
                                                               observed=self.observed)
        grid = self.cm.commitment_grid(s, discount=self.discount, steps=self.steps)
        self.curve = self.cm.simulate_commitment(s, grid, discount=self.discount)
        self.best = self.cm.optimal_commitment(s, discount=self.discount)
        with Quiet(self):
            self.commitment.max = max(float(grid[-1]), 1e-4)
            self.commitment.value = float(self.best.commitment_per_hour)
        self.show()

    def show(self, *_):
        if self.quiet:
            return
        import altair as alt

        c = float(self.commitment.value)
        _, s = self.series()
        r = self.cm.simulate_commitment(s, [c], discount=self.discount).iloc[0]
        cur = html.escape(str(self.currency or ""))
        util = "n/a" if c == 0 else f"{r.utilization_pct:.1f} %"
        cover = "n/a" if pd.isna(r.coverage_pct) else f"{r.coverage_pct:.1f} %"
        self.stats.value = (
            f"<table class='plan-stats'><tr><td>Commitment</td><td><b>{c:,.4f} {cur}/h</b></td></tr>"
            f"<tr><td>Savings over {len(s)} hours</td><td><b>{r.savings:,.4f} {cur}</b></td></tr>"
            f"<tr><td>Utilization</td><td>{util} (break-even {r.break_even_utilization_pct:.1f} %)</td></tr>"
            f"<tr><td>Coverage</td><td>{cover}</td></tr>"
            f"<tr><td>Best commitment</td><td>{self.best.commitment_per_hour:,.4f} {cur}/h saves "
            f"{self.best.savings:,.4f}</td></tr>"
            f"<tr><td>Discount</td><td>{self.discount:.1%} ({html.escape(self.rate_source)})</td></tr></table>")
        rule = alt.Chart(pd.DataFrame({"c": [c]})).mark_rule(color="#e15759").encode(x="c:Q")
        self.chart.value = chart_svg(charts.savings_curve_chart(
            self.curve, title=f"Savings by commitment, {self.term.value} {self.payment.value} ({cur})") + rule)


def commitment_planner(charges: Charges, **kw) -> w.VBox:
    return CommitmentPlanner(charges, **kw).view


PERCENTILES = {"p50": 50, "p95": 95, "p99": 99, "max": 100}  # "max" is the 100th percentile of the 5-minute maxima


class RightsizingReview:
    """Percentile, headroom, lookback and Graviton controls over ``collect_rightsizing`` (the call notebook 20 and
    ``finops-nb rightsizing`` make): each change recomputes the recommendations and redraws the chart and table.
    Its two halves are split: ``prepare_rightsizing`` (table scans, CloudWatch, DescribeInstances) runs once per
    month and lookback, ``recommend_rightsizing`` on every change, so a headroom or percentile change re-sizes the
    month's instances without reading the table again.

    Without CloudWatch metrics (no AWS credentials, or no permission) the cost side is shown (instances, hours,
    effective hourly rate), the missing metrics are named with the permission that reads them, and the controls
    still recompute (every finding is then "No metrics"). Defaults are the command's (p99, 20 %, 14 days,
    ``commands.rightsizing.DEFAULTS``)."""

    quiet = False

    def __init__(self, charges: Charges, *, cloudwatch: str = "auto", pricing: str = "auto",
                 describe: str = "auto", top: int = 20):
        from finops_nb.commands.rightsizing import DEFAULTS
        from finops_nb.sources.cloudwatch import LOOKBACK_DAYS

        self.t, self.top = charges.table, top
        self.modes = {"cloudwatch": cloudwatch, "pricing": pricing, "describe": describe}
        months = _options(self.t, billing_period(self.t))
        # the month's table scans and AWS reads, once per month and lookback (before the visit for the month
        # the app most likely opens on): a percentile, headroom or Graviton change only re-sizes
        self.inputs: dict[tuple, object] = {}
        self.costs_drawn: dict[tuple, str] = {}
        ranked = _ranked_months(self.t)
        if ranked:
            self.prepare(ranked[0], DEFAULTS["lookback"])
        self.month = w.Dropdown(options=months, value=_visitor_month(ranked), description="Month")
        self.percentile = w.Dropdown(options=list(PERCENTILES.items()), value=DEFAULTS["percentile"],
                                     description="Percentile")
        self.headroom = w.BoundedIntText(value=DEFAULTS["headroom"], min=0, max=300, step=5,
                                         description="Headroom %", style={"description_width": "initial"})
        self.lookback = w.Dropdown(options=list(LOOKBACK_DAYS), value=DEFAULTS["lookback"],
                                   description="Lookback (d)", style={"description_width": "initial"})
        self.graviton = w.Checkbox(value=True, description="Graviton", indent=False)
        self.progress = w.IntProgress(value=0, min=0, max=2, description="", layout=w.Layout(width="240px"))
        self.status, self.metrics, self.summary, self.chart = w.HTML(), w.HTML(), w.HTML(), w.HTML()
        self.costs, self.table, self.download = w.HTML(), w.HTML(), w.HTML()
        for control in (self.month, self.percentile, self.headroom, self.lookback, self.graviton):
            control.observe(self.recompute, names="value")
        self.view = w.VBox([
            w.HTML("<h2>Rightsizing review</h2><p>Each EC2 instance's cheapest type covering its utilization at the "
                   "chosen percentile plus headroom, in vCPUs and GiB. Savings per month (730 h) at the instance's "
                   "own effective rate.</p>"),
            w.HBox([self.month, self.percentile, self.headroom]), w.HBox([self.lookback, self.graviton]),
            w.HBox([self.progress, self.status]), self.summary, self.metrics, self.chart, self.download,
            self.table, self.costs,
        ])
        self.recompute()

    def prepare(self, month: str, days: int):
        """``prepare_rightsizing`` for this month and lookback, read once."""
        from finops_nb.commands.rightsizing import prepare_rightsizing

        key = (month, days)
        if key not in self.inputs:
            self.inputs[key] = prepare_rightsizing(self.t, month, lookback_days=days, **self.modes)
        return self.inputs[key]

    def recompute(self, *_):
        from finops_nb.commands.rightsizing import recommend_rightsizing
        from finops_nb.tables import money_table

        if self.quiet:
            return
        p, h, days = int(self.percentile.value), int(self.headroom.value), int(self.lookback.value)
        self.progress.layout.display = ""
        self.progress.value = 0
        self.status.value = "<i>Computing recommendations…</i>"
        self.result = r = recommend_rightsizing(self.prepare(self.month.value, days), percentile=p, headroom_pct=h,
                                                graviton=bool(self.graviton.value))
        self.progress.value = 1
        label = f"{self.percentile.label} + {h} % headroom, {days}-day lookback"
        missing = ", ".join(r.missing_metrics) or "none"
        self.metrics.value = (
            f"<div class='rs-metrics'><p>{html.escape(r.metrics_status)}</p>"
            f"<p><b>Metrics missing:</b> {html.escape(missing)}</p>"
            f"<p>{html.escape(r.pricing_status)}. {html.escape(r.inventory_status)}.</p></div>")
        recs = r.recommendations
        acted = recs[recs.finding.isin(["Over-provisioned", "Idle"])] if len(recs) else recs
        if r.instances.empty:
            self.summary.value = (f"<p class='rs-summary'>No EC2 instances in {html.escape(str(self.month.value))}: "
                                  "nothing to size.</p>")
        elif r.stats.empty:
            self.summary.value = (f"<p class='rs-summary'><b>No metrics</b> for {len(r.instances)} EC2 instances: "
                                  f"nothing to size at {html.escape(label)}. The cost side is below.</p>")
        else:
            saved = "; ".join(f"{v:,.2f} {html.escape(str(c))}" for c, v in
                              acted.groupby("currency").savings_monthly.sum().items()) or "0.00"
            self.summary.value = (f"<p class='rs-summary'>At <b>{html.escape(label)}</b>: "
                                  f"{int((recs.finding == 'Over-provisioned').sum())} over-provisioned, "
                                  f"{int((recs.finding == 'Idle').sum())} idle, "
                                  f"{int((recs.finding == 'Under-provisioned').sum())} under-provisioned of "
                                  f"{r.stats.instance_id.nunique()} measured; savings <b>{saved}</b> per month.</p>")
        cols = [c for c in ("instance_id", "instance_type", "RegionId", "effective_hourly_rate",
                            "on_demand_hourly_usd", "cpu_pct", "mem_pct", "vcpu_needed", "memory_needed_gib",
                            "finding", "recommended_type", "savings_monthly", "risk", "graviton_type",
                            "graviton_savings_monthly", "note") if c in recs.columns]
        if not self.graviton.value:
            cols = [c for c in cols if not c.startswith("graviton_")]
        cols = [c for c in cols if c in ("instance_id", "finding") or recs[c].notna().any()]  # no empty columns
        self.table.value = (money_table(recs, columns=cols, money=["effective_hourly_rate", "on_demand_hourly_usd",
                                                                   "savings_monthly", "graviton_savings_monthly"],
                                        decimals=4, top=self.top, caption=f"Recommendations at {label}")
                            .set_table_attributes('class="rs-table"').to_html()
                            if len(recs) else "<p class='empty'>No EC2 instances in this billing period.</p>")
        self.download.value = (csv_link(recs, f"rightsizing-{self.month.value}-p{p}-h{h}-{days}d.csv")
                               if len(recs) else "")
        self.costs.value = self.costs_html((self.month.value, days), r.instances)
        self.chart.value = self.draw(label)
        self.progress.value = 2
        self.progress.layout.display = "none"
        self.status.value = ""

    def costs_html(self, key: tuple, inv: pd.DataFrame) -> str:
        """The cost side of the month's instances, drawn once per month and lookback (``key``): the same for every
        percentile and headroom."""
        from finops_nb.tables import money_table

        if key not in self.costs_drawn:
            cols = ["instance_id", "instance_type", "SubAccountName", "RegionId", "PricingCategory", "hours",
                    "effective_cost", "effective_hourly_rate"]
            self.costs_drawn[key] = (
                money_table(inv, columns=cols, money=["hours", "effective_cost", "effective_hourly_rate"], decimals=4,
                            top=self.top, caption="EC2 instances by effective cost (cost side)")
                .set_table_attributes('class="rs-costs"').to_html() if len(inv) else "")
        return self.costs_drawn[key]

    def draw(self, label: str) -> str:
        r = self.result
        if r.samples is not None and (r.samples.metric == "cpu").any():
            shown = [i for i in r.recommendations.instance_id.head(self.top) if i in set(r.stats.instance_id)]
            return chart_svg(charts.utilization_chart(r.samples, instances=shown,
                                                      percentile=PERCENTILES[self.percentile.label]))
        inv = money_frame(r.instances)
        parts = [chart_svg(charts.bar_by(part, "instance_id", "effective_cost", top=self.top,
                                         title=f"Effective cost by EC2 instance ({cur}), no utilization to draw"))
                 for cur, part in inv.groupby("currency")]
        return "".join(parts)


def rightsizing_review(charges: Charges, **kw) -> w.VBox:
    """The rightsizing review app's widget tree."""
    return RightsizingReview(charges, **kw).view


def csv_text_link(text: str, filename: str, label: str = "Download CSV") -> str:
    """Like ``csv_link`` for CSV text a package function already wrote (e.g. ``allocation.owner_csv``)."""
    import base64

    data = base64.b64encode(text.encode()).decode()
    return (f'<a class="csv-download" download="{html.escape(filename)}" '
            f'href="data:text/csv;base64,{data}">{html.escape(label)}</a>')


ALL_OWNERS = "(all owners)"
# notebook 40's default shared services: support fees are split among the owners
SHARED_SERVICES = ("AWS Support (Business)", "AWS Support (Enterprise)", "AWS Support (Developer)")


def owner_cube(a: ibis.Table) -> ibis.Table:
    """Billed and effective cost by day, billing period, currency, owner and service of an owner-allocated
    table (``allocation.allocate_owners``): small, and its sums are exact DECIMAL sums of the rows'."""
    return (a.group_by(day=a.ChargePeriodStart.truncate("D"), period=billing_period(a),
                       currency=a.BillingCurrency, owner=a.owner, ServiceName=a.ServiceName)
            .aggregate(billed_cost=a.BilledCost.sum(), effective_cost=a.EffectiveCost.sum()))


class TeamCost:
    """My team's cost: an owner tag key, an owner (with "unallocated") and a month; the owner's direct cost, shared
    cost received and total (``allocation.showback`` with ``allocation.default_rules``, as notebook 40 calls them:
    amortized basis, proportional split, totals rounded to the cent so all owners add up to the month), its direct
    cost per day, its top services, its anomalies (``anomalies.detect_anomalies`` on its daily cost: trailing
    14-day median + max(3 x 1.4826 x MAD, 20 % of the median), impact >= 10) and a CSV (``allocation.owner_csv``)."""

    quiet = False

    def __init__(self, charges: Charges, *, owner_tag: str = "business_unit",
                 shared_services=SHARED_SERVICES, top: int = 10):
        from finops_nb.analyses.common import tag_match_key

        self.t, self.top, self.shared_services = charges.table, top, tuple(shared_services)
        keys = sorted({k for k in self.t.select(k=self.t.Tags.keys().unnest()).distinct().execute()["k"].dropna()})
        wanted = [k for k in keys if tag_match_key(k) == tag_match_key(owner_tag)]
        self.tag_key = w.Dropdown(options=keys or [owner_tag], value=(wanted or keys or [owner_tag])[0],
                                  description="Owner tag")
        months = _options(self.t, billing_period(self.t))
        self.owner_p, self.month_p = ibis.param("string"), ibis.param("string")
        self.showbacks: dict[tuple, pd.DataFrame] = {}  # (tag key, month) -> allocation.showback
        # before the visit (in a preheated kernel): the owner cube, the anomaly scan and the showback of the month
        # the app most likely opens on; the visitor's ?month= is read after them
        self.prepare_rules()
        ranked = _ranked_months(self.t)
        if ranked:
            self.showback_of(ranked[0])
        self.month = w.Dropdown(options=months, value=_visitor_month(ranked), description="Month")
        self.owner = w.Dropdown(description="Owner")
        self.status, self.stats, self.chart, self.services = w.HTML(), w.HTML(), w.HTML(), w.HTML()
        self.anomalies, self.download = w.HTML(), w.HTML()
        self.tag_key.observe(self.load_rules, names="value")
        self.month.observe(self.recompute, names="value")
        self.owner.observe(self.refresh, names="value")
        self.view = w.VBox([
            w.HTML("<h2>My team's cost</h2><p>Direct cost is what the owner rules give the owner (shared services "
                   "first, then the owner tag; the rest is <i>unallocated</i>); shared cost is its part of the "
                   "shared pool, split in proportion to direct cost. Amortized (effective) cost.</p>"),
            w.HBox([self.tag_key, self.owner, self.month]),
            self.status, self.stats, self.download, self.chart, self.services, self.anomalies,
        ])
        self.recompute()

    def load_rules(self, *_):
        self.status.value = "<i>Allocating cost to owners…</i>"
        self.prepare_rules()
        self.recompute()

    def prepare_rules(self):
        """The owner rules of the chosen tag key, its owner cube and every owner's anomalies (once per tag key)."""
        from finops_nb.analyses import allocation, anomalies

        self.rules = allocation.default_rules(self.tag_key.value, shared_services=self.shared_services)
        self.cube = owner_cube(allocation.allocate_owners(self.t, self.rules)).cache()  # once per tag key
        sel = self.cube.filter(self.cube.period == self.month_p,
                               (self.owner_p == ALL_OWNERS) | (self.cube.owner == self.owner_p))
        self.daily_query = (sel.group_by(["day", "currency"])
                            .aggregate(billed_cost=sel.billed_cost.sum(), effective_cost=sel.effective_cost.sum())
                            .order_by(["day", "currency"]))
        self.services_query = (sel.group_by(["currency", "ServiceName"])
                               .aggregate(effective_cost=sel.effective_cost.sum(), billed_cost=sel.billed_cost.sum())
                               .order_by([ibis.desc("effective_cost"), "ServiceName"]))
        # anomalies need the days before the month: every owner's daily cost over the whole table, once per tag
        daily = anomalies.daily_cost(self.t, ["owner"], rules=self.rules).execute()
        self.all_anomalies = anomalies.detect_anomalies(daily, ["owner"])

    def showback_of(self, month: str) -> pd.DataFrame:
        """``allocation.showback`` of ``month`` under the current rules, computed once."""
        from finops_nb.analyses import allocation

        key = (self.tag_key.value, month)
        if key not in self.showbacks:
            self.showbacks[key] = allocation.showback(self.t, self.rules, month=month)
        return self.showbacks[key]

    def recompute(self, *_):
        from finops_nb.analyses import allocation

        if self.quiet:
            return
        self.status.value = "<i>Computing the showback…</i>"
        self.showback = sb = self.showback_of(self.month.value)
        order = sb.assign(zero=sb.total_cost == 0, size=-sb.total_cost.map(abs)).sort_values(["zero", "size", "owner"])
        owners = list(dict.fromkeys([*order.owner, allocation.UNALLOCATED]))
        keep = self.owner.value if self.owner.value in owners else ALL_OWNERS
        with Quiet(self):
            self.owner.options = [ALL_OWNERS, *owners]
            self.owner.value = keep
        self.refresh()

    def refresh(self, *_):
        from finops_nb.analyses import anomalies, common
        from finops_nb.analyses.allocation import owner_csv
        from finops_nb.tables import money_table

        if self.quiet:
            return
        owner, month = self.owner.value, self.month.value
        sb = self.showback if owner == ALL_OWNERS else self.showback[self.showback.owner == owner]
        rows = []
        for cur, part in sb.groupby("currency"):
            c = html.escape(str(cur))
            rows.append(f"<tr><td>{c}</td><td>{sum(part.direct_cost):,.2f}</td><td>{sum(part.shared_cost):,.2f}"
                        f"</td><td><b>{sum(part.total_cost):,.2f}</b></td></tr>")
        who = html.escape(str(owner))
        self.stats.value = (
            "<style>.team-stats th, .team-stats td {padding: 2px 14px; text-align: right}</style>"
            f"<table class='team-stats'><caption>{who}, {html.escape(str(month))}</caption><tr><th>currency</th>"
            "<th>direct cost</th><th>shared cost received</th><th>total</th></tr>"
            + ("".join(rows) or "<tr><td colspan='4'>no cost this month</td></tr>") + "</table>")
        params = {self.owner_p: owner, self.month_p: month}
        daily = money_frame(self.daily_query.execute(params=params))
        self.chart.value = "".join(
            chart_svg(charts.daily_trend_chart(part, title=f"Direct cost per day, {owner} ({cur})"))
            for cur, part in daily.groupby("currency"))
        svc = self.services_query.execute(params=params)
        self.services.value = (money_table(svc, money=["effective_cost", "billed_cost"], decimals=4, top=self.top,
                                           caption=f"Top services of {owner} (direct cost)")
                               .set_table_attributes('class="team-services"').to_html()
                               if len(svc) else "<p class='empty'>No direct cost this month.</p>")
        start, end = common.month_bounds(month)
        an = self.all_anomalies
        an = an[(an.day >= start) & (an.day < end)]
        if owner != ALL_OWNERS:
            an = an[an.owner == owner]
        if len(an):
            an = anomalies.describe_anomalies(self.t, an.head(self.top), ["owner"], rules=self.rules)
            self.anomalies.value = money_table(
                an.assign(day=an.day.dt.strftime("%Y-%m-%d")),
                columns=["day", "owner", "currency", "cost", "median", "threshold", "impact", "top_usage_types",
                         "top_resources"], money=["cost", "median", "threshold", "impact"], decimals=2,
                caption="Anomalies: a day above its trailing 14-day median by more than max(3 × 1.4826 × MAD, "
                        "20 % of the median), impact ≥ 10").set_table_attributes('class="team-anomalies"').to_html()
        else:
            self.anomalies.value = (f"<p class='team-anomalies'>No anomalies for {who} in {html.escape(month)} "
                                    "(no day above its trailing 14-day median by more than max(3 × 1.4826 × MAD, "
                                    "20 % of the median) with an impact of 10 or more).</p>")
        text = (owner_csv(self.showback, owner) if owner != ALL_OWNERS else
                self.showback.drop(columns=["period_total"]).to_csv(index=False))
        slug = "all-owners" if owner == ALL_OWNERS else "".join(ch if ch.isalnum() else "-" for ch in str(owner))
        self.download.value = csv_text_link(text, f"team-cost-{slug}-{month}.csv")
        self.status.value = ""


def team_cost(charges: Charges, **kw) -> w.VBox:
    """The "my team's cost" app's widget tree."""
    return TeamCost(charges, **kw).view
