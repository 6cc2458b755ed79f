"""The apps' widget logic in the kernel (the browser tests drive the same classes through Voila)."""

from __future__ import annotations

import pytest
from conftest import steady_bill

from finops_nb import load_charges
from finops_nb.commands.rightsizing import collect_rightsizing
from finops_nb.widgets import CommitmentSimulator, CostExplorer


def test_simulator_opens_on_a_positive_best_commitment(tmp_path):
    sim = CommitmentSimulator(steady_bill(tmp_path))
    assert sim.commitment.value == pytest.approx(0.72)
    assert "0.7200 USD/h" in sim.stats.value and "208.3200 USD" in sim.stats.value  # 744 * (1 - 0.72)


def test_a_tag_key_change_queries_once():
    app = CostExplorer(load_charges("sample"))
    calls = []
    original = app.frame
    app.frame = lambda: calls.append(1) or original()
    app.tag_key.value = "environment"
    app.tag_value.value = "dev"
    calls.clear()
    app.tag_key.value = "application"
    assert len(calls) == 1


# ------------------------------------------------------------------------------------------ rightsizing review
def test_rightsizing_review_without_metrics_shows_the_cost_side_and_what_to_grant(monkeypatch, tmp_path):
    from finops_nb.analyses.common import billing_period
    from finops_nb.widgets import RightsizingReview

    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.aws: no credentials, CloudWatch is not read
    charges = load_charges("sample")
    app = RightsizingReview(charges)
    assert "No metrics" in app.summary.value and "p99 + 20 % headroom, 14-day lookback" in app.summary.value
    assert "cloudwatch:GetMetricData" in app.metrics.value and "all CloudWatch metrics" in app.metrics.value
    # the cost side, checked by a plain query: i-0544a99823af9bl0b ran 0.774167 h for 1.0000 effective
    # -> 1.0 / 0.774167 = 1.2917 per hour
    t = charges.table
    one = t.filter(billing_period(t) == "2024-09", t.ResourceId == "i-0544a99823af9bl0b",
                   t.ChargeCategory == "Usage", t.ConsumedUnit == "Hours")
    got = one.aggregate(cost=one.EffectiveCost.sum(), hours=one.ConsumedQuantity.sum()).execute().iloc[0]
    rate = float(got.cost) / float(got.hours)
    assert f"{rate:.4f}" == "1.2917"
    assert "i-0544a99823af9bl0b" in app.costs.value and "1.2917" in app.costs.value
    assert "<svg" in app.chart.value and "csv-download" in app.download.value
    app.headroom.value = 50
    assert "p99 + 50 % headroom" in app.summary.value and "No metrics" in app.summary.value
    app.percentile.value = 100
    assert "max + 50 % headroom" in app.summary.value and "Recommendations at max + 50 %" in app.table.value
    app.month.value = "2024-10"  # one Oracle row: no EC2 instance
    assert "No EC2 instances in 2024-10" in app.summary.value and "No EC2 instances" in app.table.value


RS_IID = "i-0fedcba987654321a"
RS_HEADER = ("BillingCurrency,BillingPeriodStart,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,ServiceCategory,"
             "ServiceName,ResourceId,RegionId,PricingCategory,ConsumedQuantity,ConsumedUnit,ChargeDescription,"
             "ListUnitPrice,EffectiveCost,BilledCost\n")


def test_rightsizing_review_recomputes_at_the_chosen_headroom(tmp_path, con, aws_env):
    from datetime import UTC, datetime, timedelta

    import boto3

    from finops_nb.widgets import RightsizingReview

    rows = [f"USD,2024-09-01,2024-09-20T{h:02d}:00:00Z,2024-09-20T{h + 1:02d}:00:00Z,Usage,Compute,Amazon EC2,"
            f"{RS_IID},us-east-1,Standard,1,Hours,$0.384 per On Demand Linux m5.2xlarge Instance Hour,0.384,"
            "0.384,0.384" for h in range(10)]
    (tmp_path / "bill.csv").write_text(RS_HEADER + "\n".join(rows) + "\n")
    cw = boto3.client("cloudwatch", region_name="us-east-1")
    start = datetime(2024, 9, 20, tzinfo=UTC)

    def put(namespace, metric, values, step=timedelta(minutes=5)):
        data = [{"MetricName": metric, "Dimensions": [{"Name": "InstanceId", "Value": RS_IID}],
                 "Timestamp": start + step * k, "Value": float(v)} for k, v in enumerate(values)]
        for i in range(0, len(data), 20):
            cw.put_metric_data(Namespace=namespace, MetricData=data[i:i + 20])

    # 101 five-minute maxima: CPU p99 20 % (max 25 %), memory p99 30 % (max 35 %); 1.44 GB network a day
    put("AWS/EC2", "CPUUtilization", [10.0] * 99 + [20.0, 25.0])
    put("CWAgent", "mem_used_percent", [30.0] * 100 + [35.0])
    put("AWS/EC2", "NetworkIn", [50e6] * 24, step=timedelta(hours=1))
    put("AWS/EC2", "NetworkOut", [10e6] * 24, step=timedelta(hours=1))
    app = RightsizingReview(load_charges(tmp_path / "bill.csv", con=con), cloudwatch="on", pricing="off",
                            describe="off")
    rec = app.result.recommendations.iloc[0]
    # p99 + 20 %: 8 x 0.20 x 1.2 = 1.92 vCPU, 32 x 0.30 x 1.2 = 11.52 GiB -> m5.xlarge (4, 16 GiB) at the
    # snapshot's 0.192: (0.384 - 0.192) x 730 = 140.16 a month; Graviton m6g.xlarge
    assert (rec.finding, rec.recommended_type, rec.savings_monthly) == ("Over-provisioned", "m5.xlarge",
                                                                        pytest.approx(140.16))
    assert "m5.xlarge" in app.table.value and "140.1600" in app.table.value and "m6g.xlarge" in app.table.value
    assert "1 over-provisioned" in app.summary.value and "140.16 USD" in app.summary.value
    assert "<svg" in app.chart.value  # the utilization boxes
    app.headroom.value = 100
    # 32 x 0.30 x 2.0 = 19.2 GiB > 16: no smaller m5 fits, the m5.2xlarge stays
    rec = app.result.recommendations.iloc[0]
    assert (rec.finding, rec.recommended_type, rec.savings_monthly) == ("Optimized", "m5.2xlarge", 0.0)
    assert "0 over-provisioned" in app.summary.value and "p99 + 100 % headroom" in app.table.value
    app.graviton.value = False
    assert "m6g" not in app.table.value
    # the month was read once; each change re-sized it, and gives what a full collect_rightsizing gives
    app.graviton.value = True
    for headroom, percentile in ((35, 99), (35, 95), (0, 100)):
        app.headroom.value, app.percentile.value = headroom, percentile
        full = collect_rightsizing(app.t, "2024-09", lookback_days=14, percentile=percentile, headroom_pct=headroom,
                                   cloudwatch="on", pricing="off", describe="off")
        assert_same_rightsizing(app.result, full)
    assert list(app.inputs) == [("2024-09", 14)]
    assert app.result.recommendations.iloc[0].cpu_pct == 25.0  # max: the 100th percentile


def assert_same_rightsizing(got, want):
    import pandas as pd

    assert (got.samples is None) == (want.samples is None)
    for name in ("instances", "samples", "stats", "prices", "recommendations"):
        if getattr(want, name) is not None:
            pd.testing.assert_frame_equal(getattr(got, name), getattr(want, name), check_exact=True)
    for name in ("metrics_status", "missing_metrics", "pricing_status", "window", "inventory_status"):
        assert getattr(got, name) == getattr(want, name)


def test_rightsizing_review_headroom_change_equals_a_full_collect(monkeypatch, tmp_path):
    from finops_nb.widgets import RightsizingReview

    monkeypatch.setenv("HOME", str(tmp_path))  # no credentials: the sample's cost side, every finding No metrics
    charges = load_charges("sample")
    app = RightsizingReview(charges)
    app.headroom.value = 65
    full = collect_rightsizing(charges.table, app.month.value, headroom_pct=65)
    assert_same_rightsizing(app.result, full)
    assert len(app.result.recommendations) == len(full.instances) > 0


# ------------------------------------------------------------------------------------------------ team cost
def test_team_cost_all_owners_add_up_to_the_month_and_an_owner_is_its_own_rows():
    from finops_nb.analyses.common import billing_period
    from finops_nb.widgets import ALL_OWNERS, TeamCost

    charges = load_charges("sample")
    t = charges.table
    app = TeamCost(charges)  # owner tag business_unit, month 2024-09
    month = t.filter(billing_period(t) == "2024-09")
    total = float(month.EffectiveCost.sum().execute())
    assert round(total, 4) == 14.9765 and f"<b>{total:,.2f}</b>" in app.stats.value  # 14.98
    assert app.owner.value == ALL_OWNERS and "unallocated" in app.owner.options
    # PeoriaData's direct cost by a plain query over its tag
    peoria = month.filter(month.Tags.get("business_unit") == "PeoriaData").EffectiveCost.sum().execute()
    assert f"{float(peoria):.2f}" == "16.00"
    before = app.services.value
    app.owner.value = "PeoriaData"
    assert "<td>16.00</td>" in app.stats.value and "<b>16.00</b>" in app.stats.value
    assert app.services.value != before and "PeoriaData" in app.services.value
    assert "team-cost-PeoriaData-2024-09.csv" in app.download.value
    # the rest is unallocated: 14.9765 - 16.0000 = -1.0235 -> -1.02 (and 16.00 - 1.02 = 14.98)
    app.owner.value = "unallocated"
    assert "<b>-1.02</b>" in app.stats.value
    app.tag_key.value = "environment"  # the chosen owner is kept when the new tag has it too
    assert app.owner.value == "unallocated" and "dev" in app.owner.options and "PeoriaData" not in app.owner.options


TEAM_HEADER = ("BillingCurrency,BillingPeriodStart,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,ServiceName,"
               "ResourceId,SubAccountId,x_UsageType,EffectiveCost,BilledCost,Tags\n")


def test_team_cost_shared_split_and_an_owner_anomaly(tmp_path, con):
    import base64
    import re

    from finops_nb.widgets import TeamCost

    rows = []
    for d in range(1, 16):
        day = f"2025-03-{d:02d}"
        web = 160 if d == 15 else 100
        rows.append(f"USD,2025-03-01,{day},{day},Usage,Amazon EC2,i-web,111,BoxUsage:m5.large,{web},{web},"
                    '"{""team"": ""web""}"')
        rows.append(f"USD,2025-03-01,{day},{day},Usage,Amazon RDS,db-api,111,InstanceUsage,52,52,"
                    '"{""team"": ""api""}"')
    rows.append("USD,2025-03-01,2025-03-01,2025-03-01,Usage,AWS Support (Business),,111,Support,234,234,")
    f = tmp_path / "bill.csv"
    f.write_text(TEAM_HEADER + "\n".join(rows) + "\n")
    app = TeamCost(load_charges(f, con=con), owner_tag="team")
    # by hand: web 14 x 100 + 160 = 1,560, api 15 x 52 = 780; support 234 shared in proportion:
    # web 234 x 1560 / 2340 = 156 -> 1,716; api 78 -> 858; all 2,574 = 1,560 + 780 + 234
    assert "<b>2,574.00</b>" in app.stats.value
    app.owner.value = "web"
    assert "<td>1,560.00</td><td>156.00</td><td><b>1,716.00</b></td>" in app.stats.value
    # day 15: median of 14 days at 100 is 100, MAD 0, threshold 120 < 160 -> an anomaly of impact 60
    assert "2025-03-15" in app.anomalies.value and "60.00" in app.anomalies.value
    assert "BoxUsage:m5.large (+60.00)" in app.anomalies.value
    csv = base64.b64decode(re.search(r"base64,([^\"]+)", app.download.value).group(1)).decode()
    assert csv.splitlines()[1] == "2025-03,USD,web,1560.00,156.00,1716.00,amortized,proportional"
    app.owner.value = "api"
    assert "<b>858.00</b>" in app.stats.value and "No anomalies for api" in app.anomalies.value


# ------------------------------------------------------------------------------ cost explorer: the cube
def _uncubed(t, start, end, provider, account, service, tag_key, tag_val):
    """The cost explorer's query as it ran before the cube: straight over every row of the table."""
    import ibis

    from finops_nb.analyses.common import billing_period, tag_value
    from finops_nb.schema import UNTAGGED
    from finops_nb.widgets import ALL, NO_TAG

    period = billing_period(t)
    keep = [period >= start, period <= end]
    for col, value in (("ProviderName", provider), ("SubAccountName", account), ("ServiceName", service)):
        if value != ALL:
            keep.append(t[col] == value)
    if tag_key != NO_TAG and tag_val != ALL:
        tag = tag_value(t, tag_key)
        keep.append(tag.isnull() if tag_val == UNTAGGED else tag == tag_val)
    sel = t.filter(*keep)
    return (sel.group_by([sel.BillingCurrency.name("currency"), "ServiceName"])
            .aggregate(cost=sel.EffectiveCost.sum(), billed_cost=sel.BilledCost.sum(), rows=sel.count())
            .order_by([ibis.desc("cost"), "ServiceName"]).execute())


def test_the_cube_keeps_every_months_total_to_the_last_decimal():
    from decimal import Decimal

    from finops_nb.analyses.common import billing_period
    from finops_nb.widgets import cost_cube

    t = load_charges("sample").table
    cube = cost_cube(t).execute()
    assert len(cube) < t.count().execute()  # it is smaller than the table (the point of it)
    got = cube.groupby(["period", "currency"]).agg(cost=("cost", "sum"), billed=("billed_cost", "sum"),
                                                   rows=("rows", "sum"))
    want = (t.group_by([billing_period(t).name("period"), t.BillingCurrency.name("currency")])
            .aggregate(cost=t.EffectiveCost.sum(), billed=t.BilledCost.sum(), rows=t.count()).execute()
            .set_index(["period", "currency"]).sort_index())
    assert got.sort_index().to_dict() == want.to_dict()
    assert isinstance(got.cost.iloc[0], Decimal)
    assert round(got.loc[("2024-09", "USD"), "cost"], 4) == Decimal("14.9765")  # 2024-09 (the browser test too)


def test_every_filter_change_reads_the_same_numbers_from_the_cube_as_from_the_table():
    import pandas as pd

    from finops_nb.widgets import ALL, NO_TAG, Quiet

    charges = load_charges("sample")
    app = CostExplorer(charges)
    t, months = charges.table, list(app.month.options)
    checked = 0

    def same(provider=ALL, account=ALL, service=ALL, tag_key=NO_TAG, tag_val=ALL, start=None, end=None):
        nonlocal checked
        start, end = start or months[0], end or months[-1]
        if tag_key != app.tag_key.value:
            app.tag_key.value = tag_key  # builds that key's cube, picks the query over it
        with Quiet(app):  # no redraw: frame() below reads the widgets' values
            app.month.value, app.through.value = start, end
            app.provider.value, app.account.value, app.service.value = provider, account, service
            app.tag_value.value = tag_val
        got, want = app.frame(), _uncubed(t, start, end, provider, account, service, tag_key, tag_val)
        pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True), check_dtype=False)
        assert [type(v) for v in got.cost] == [type(v) for v in want.cost]  # Decimal, exact, both
        checked += 1

    for m in months:
        same(start=m, end=m)
    for provider in app.provider.options:
        same(provider=provider)
    for account in list(app.account.options)[:8]:
        same(account=account)
    for service in list(app.service.options)[:8]:
        same(service=service)
    for key in app.tag_key.options[1:]:
        app.tag_key.value = key
        for value in app.tag_value.options:
            same(tag_key=key, tag_val=value)
    same(provider="AWS", tag_key="environment", tag_val="dev", start=months[0], end=months[0])
    assert checked > 10


def test_untagged_environment_total_from_the_cube():
    """2024-09: 14.9765 USD in all; environment dev 16.0000, prod 0, untagged -1.0235 (hand-summed)."""
    app = CostExplorer(load_charges("sample"))
    assert "14.9765 USD" in app.status.value
    app.tag_key.value = "environment"
    assert "dev" in app.tag_value.options
    app.tag_value.value = "(untagged)"
    assert "-1.0235 USD" in app.status.value
    app.tag_value.value = "dev"
    assert "16.0000 USD" in app.status.value


def test_team_cost_reads_the_same_daily_and_service_numbers_from_its_cube_as_from_the_table():
    import ibis
    import pandas as pd

    from finops_nb.analyses import allocation
    from finops_nb.analyses.common import billing_period
    from finops_nb.widgets import ALL_OWNERS, TeamCost

    charges = load_charges("sample")
    app = TeamCost(charges)
    checked = 0
    for key in ("business_unit", "environment"):
        app.tag_key.value = key
        a = allocation.allocate_owners(charges.table, app.rules)
        for month in app.month.options:
            for owner in app.owner.options:
                sel = a.filter(billing_period(a) == month)
                if owner != ALL_OWNERS:
                    sel = sel.filter(sel.owner == owner)
                cur = sel.BillingCurrency.name("currency")
                daily = (sel.group_by([sel.ChargePeriodStart.truncate("D").name("day"), cur])
                         .aggregate(billed_cost=sel.BilledCost.sum(), effective_cost=sel.EffectiveCost.sum())
                         .order_by(["day", "currency"]).execute())
                services = (sel.group_by([cur, "ServiceName"])
                            .aggregate(effective_cost=sel.EffectiveCost.sum(), billed_cost=sel.BilledCost.sum())
                            .order_by([ibis.desc("effective_cost"), "ServiceName"]).execute())
                params = {app.owner_p: owner, app.month_p: month}
                for query, want in ((app.daily_query, daily), (app.services_query, services)):
                    got = query.execute(params=params)
                    pd.testing.assert_frame_equal(got, want, check_dtype=False)
                    assert [type(v) for v in got.effective_cost] == [type(v) for v in want.effective_cost]
                checked += 1
    assert checked > 6
