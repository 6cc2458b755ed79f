"""Owner rules, tag coverage, shared-cost split (money conserved to the cent), showback and budgets."""

from __future__ import annotations

from decimal import Decimal

import pytest

from finops_nb import load_charges
from finops_nb.analyses import allocation as al
from finops_nb.errors import ConfigError, DataError

HEADER = ("BillingCurrency,BillingPeriodStart,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,ServiceName,"
          "ServiceCategory,ResourceId,SubAccountId,SubAccountName,x_CostCategoryTeam,EffectiveCost,BilledCost,Tags\n")


def row(cost, *, tags="", account="111", name="prod", service="Amazon EC2", category="Compute", kind="Usage",
        resource="i-1", cc="", day="2025-03-02", billed=None, currency="USD"):
    tags_field = '"' + tags.replace('"', '""') + '"' if tags else ""
    return (f"{currency},2025-03-01,{day},{day}T01:00:00Z,{kind},{service},{category},{resource},{account},{name},{cc},"
            f"{cost},{billed if billed is not None else cost},{tags_field}")


def table(tmp_path, rows, con):
    f = tmp_path / "bill.csv"
    f.write_text(HEADER + "\n".join(rows) + "\n")
    return load_charges(f, con=con).table


RULES = [
    {"match": {"ServiceName": "AWS Support (Business)"}, "owner": "shared"},
    {"tag": "team"},
    {"account": {"222": "data", "sandbox": "research"}},
    {"cost_category": "Team"},
]


def test_rules_apply_in_order_and_say_which_rule_allocated(tmp_path, con):
    t = table(tmp_path, [
        row(10, tags='{"Team": "web"}', account="222", resource="i-a"),  # tag wins over account (rule order)
        row(20, account="222", resource="i-b"),                           # account id
        row(30, account="333", name="sandbox", resource="i-c"),           # account name
        row(40, account="444", cc="ml", resource="i-d"),                  # cost-category column
        row(50, account="444", resource="i-e", tags='{"team": " "}'),    # blank tag: nothing matches
        row(60, service="AWS Support (Business)", category="Management and Governance", resource=""),
    ], con)
    got = al.allocate_owners(t, RULES).select("ResourceId", "owner", "allocation_rule").execute()
    by = {r.ResourceId: (r.owner, r.allocation_rule) for r in got.itertuples()}
    assert by["i-a"] == ("web", "tag:team")
    assert by["i-b"] == ("data", "account")
    assert by["i-c"] == ("research", "account")
    assert by["i-d"] == ("ml", "cost_category:Team")
    assert by["i-e"] == ("unallocated", "unallocated")
    assert got[got.ResourceId.isna()].owner.tolist() == ["shared"]
    # by hand: every dollar keeps an owner: 10 + 20 + 30 + 40 + 50 + 60 = 210
    per_rule = al.cost_by_rule(t, RULES, month="2025-03").execute()
    assert sum(per_rule.cost) == Decimal(210)
    assert per_rule.groupby("allocation_rule").cost.sum().to_dict() == {
        "match:ServiceName": 60, "unallocated": 50, "cost_category:Team": 40, "account": 50, "tag:team": 10}


def test_cost_category_can_come_from_a_tag_and_rules_are_checked(tmp_path, con):
    t = table(tmp_path, [row(5, tags='{"CostCategory/Team": "infra"}')], con)
    got = al.allocate_owners(t, [{"cost_category": "team"}]).execute()
    assert got.owner.tolist() == ["infra"]
    with pytest.raises(ConfigError, match="rule 1"):
        al.check_rules([{"tag": "team", "account": {"1": "a"}}])
    with pytest.raises(ConfigError, match="owner"):
        al.check_rules([{"match": {"ServiceName": "x"}}])
    with pytest.raises(ConfigError, match="does not take owner"):
        al.check_rules([{"tag": "team", "owner": "web"}])  # a typo would otherwise be ignored
    rules = al.load_rules("rules:\n  - tag: team\n  - account: {'111': platform}\n")
    assert rules == [{"tag": "team"}, {"account": {"111": "platform"}}]
    with pytest.raises(DataError, match="YAML"):
        al.load_rules("- tag: [unclosed")


def test_untagged_networking_can_be_marked_shared(tmp_path, con):
    t = table(tmp_path, [row(7, service="Amazon VPC", category="Networking", resource="nat-1"),
                         row(8, service="Amazon VPC", category="Networking", resource="nat-2", tags='{"team": "web"}')],
              con)
    rules = [{"match": {"ServiceCategory": "Networking"}, "without_tag": "team", "owner": "shared"}, {"tag": "team"}]
    got = al.allocate_owners(t, rules).execute().set_index("ResourceId").owner.to_dict()
    assert got == {"nat-1": "shared", "nat-2": "web"}


def test_tag_coverage_is_the_tagged_share_of_usage_cost(tmp_path, con):
    # by hand: usage 1,000 of which 750 carries the team tag -> 75 %; the credit is not usage
    t = table(tmp_path, [row(750, tags='{"Team": "web"}', resource="i-1"), row(200, resource="i-2"),
                         row(50, resource="i-3", service="Amazon S3", category="Storage"),
                         row(-100, kind="Credit", resource="")], con)
    trend = al.tag_coverage_trend(t, "team").execute()
    assert trend.usage_cost.tolist() == [1000] and trend.tagged_cost.tolist() == [750]
    assert trend.coverage_pct.tolist() == [pytest.approx(75.0)]
    by_service = al.tag_coverage(t, "team", by=["ServiceName"], month="2025-03").execute().set_index("ServiceName")
    assert by_service.coverage_pct.to_dict() == {"Amazon EC2": pytest.approx(750 / 950 * 100), "Amazon S3": 0.0}
    top = al.untagged_resources(t, "team", n=1).execute()
    assert top.ResourceId.tolist() == ["i-2"] and top.untagged_cost.tolist() == [200]


def test_proportional_split_of_the_issue():
    # by hand: 300 shared over 600/300/100 -> 180/90/30; totals 780, 390, 130 = 1,300
    got = al.split_shared({"A": Decimal(600), "B": Decimal(300), "C": Decimal(100)}, Decimal(300))
    assert got == {"A": 180, "B": 90, "C": 30}
    assert al.split_shared({"A": 600, "B": 300}, 100, method="even") == {"A": 50, "B": 50}
    assert al.split_shared({"A": 1}, 100, method="fixed", percentages={"A": 25, "B": 75}) == {"A": 25, "B": 75}
    with pytest.raises(ConfigError, match="sum to 100"):
        al.split_shared({"A": 1}, 100, method="fixed", percentages={"A": 25})


def test_largest_remainder_keeps_every_cent():
    # by hand: 100.00 over three equal owners is 33.333...; floors 33.33 x 3 = 99.99, the missing cent goes to
    # the first key of the tie ("A")
    shares = al.split_shared({"A": 1, "B": 1, "C": 1}, Decimal(100))
    assert al.round_to_cents(shares) == {"A": Decimal("33.34"), "B": Decimal("33.33"), "C": Decimal("33.33")}
    # by hand: 0.005 + 0.005 + 0.005 = 0.015 -> 0.02 (half even); remainders equal -> A and B get a cent each
    assert al.round_to_cents({"A": Decimal("0.005"), "B": Decimal("0.005"), "C": Decimal("0.005")}) == {
        "A": Decimal("0.01"), "B": Decimal("0.01"), "C": Decimal("0.00")}


def test_showback_conserves_the_month_to_the_cent(tmp_path, con):
    t = table(tmp_path, [row(600, tags='{"team": "A"}'), row(300, tags='{"team": "B"}'),
                         row(100, tags='{"team": "C"}'),
                         row(300, service="AWS Support (Business)", category="Management and Governance")], con)
    sb = al.showback(t, RULES, month="2025-03").set_index("owner")
    assert sb.total_cost.to_dict() == {"A": 780, "B": 390, "C": 130}
    assert sb.shared_cost.to_dict() == {"A": 180, "B": 90, "C": 30}
    assert sum(sb.total_cost) == Decimal(1300)


def test_awkward_amounts_still_add_up_and_credits_policy(tmp_path, con):
    t = table(tmp_path, [row("100.004", tags='{"team": "A"}'), row("100.004", tags='{"team": "B"}'),
                         row("100.004", tags='{"team": "C"}'), row("-30", kind="Credit", tags='{"team": "A"}'),
                         row("10.01", service="AWS Support (Business)", category="Management and Governance")], con)
    keep = al.showback(t, RULES, method="even").set_index("owner")
    # by hand: total 300.012 - 30 + 10.01 = 280.022 -> 280.02; even share 3.3366..; A keeps its -30 credit
    assert sum(keep.total_cost) == Decimal("280.02")
    assert keep.credits["A"] == -30 and (keep.direct_cost + keep.shared_cost == keep.total_cost).all()
    spread = al.showback(t, RULES, method="even", credits="spread").set_index("owner")
    # by hand: pool = 10.01 - 30 = -19.99 split evenly (-6.6633 each); A 100.004 - 6.6633 = 93.3407
    assert sum(spread.total_cost) == Decimal("280.02")
    assert spread.total_cost["A"] == Decimal("93.34") and spread.credits["A"] == 0
    billed = al.showback(t, RULES, basis="billed")
    assert sum(billed.total_cost) == Decimal("280.02")
    text = al.owner_csv(keep.reset_index(), "A")
    assert text.splitlines()[0].startswith("billing_period,currency,owner,direct_cost")
    # by hand: directs 70.004, 100.004, 100.004 sum to 270.012 -> 270.01; floors give 270.00, the missing cent
    # goes to the first of the equal remainders (A): 70.01
    assert ",A,70.01," in text.splitlines()[1]
    with pytest.raises(ConfigError, match="policy"):
        al.showback(t, RULES, tax="ignore")


def test_currencies_are_split_apart(tmp_path, con):
    t = table(tmp_path, [row(10, tags='{"team": "A"}'), row(20, tags='{"team": "A"}', currency="EUR"),
                         row(5, service="AWS Support (Business)", currency="EUR")], con)
    sb = al.showback(t, RULES)
    assert sb.set_index("currency").total_cost.to_dict() == {"EUR": 25, "USD": 10}


def test_budgets_flag_owners_whose_forecast_exceeds_budget(tmp_path, con):
    import pandas as pd

    budgets = al.parse_budgets("owner,month,amount,currency\nA,2025-03,700,USD\nB,2025-03,500,usd\n")
    actual = pd.DataFrame({"owner": ["A", "B"], "billing_period": ["2025-03"] * 2, "currency": ["USD"] * 2,
                           "total_cost": [Decimal(600), Decimal(300)]})
    forecast = pd.DataFrame({"owner": ["A", "B"], "billing_period": ["2025-03"] * 2, "currency": ["USD"] * 2,
                             "forecast_cost": [Decimal(900), Decimal(450)]})
    got = al.compare_budgets(actual, budgets, forecast).set_index("owner")
    # by hand: A forecast 900 > budget 700 (128.6 %); B 450 <= 500 (90 %)
    assert got.over_budget.to_dict() == {"A": True, "B": False}
    assert got.forecast_pct_of_budget["A"] == pytest.approx(900 / 7)
    assert got.actual_cost["B"] == 300
    with pytest.raises(DataError, match="row 1"):
        al.parse_budgets("owner,month,amount,currency\nA,2025-13,700,USD\n")
    with pytest.raises(DataError, match="header"):
        al.parse_budgets("team,month,amount\n")


def test_cli_allocation_json_csv_and_bad_rules(tmp_path, capsys):
    import json

    from finops_nb.cli import main

    f = tmp_path / "bill.csv"
    f.write_text(HEADER + "\n".join([row(600, tags='{"team": "A"}'), row(300, tags='{"team": "B"}'),
                                     row(100, tags='{"team": "C"}'),
                                     row(300, service="AWS Support (Business)")]) + "\n")
    rules = tmp_path / "owners.yaml"
    rules.write_text("- match: {ServiceName: AWS Support (Business)}\n  owner: shared\n- tag: team\n")
    budgets = tmp_path / "budgets.csv"
    budgets.write_text("owner,month,amount,currency\nA,2025-03,700,USD\nB,2025-03,12000,USD\n")
    args = ["allocation", "--data", str(f), "--month", "2025-03", "--rules", str(rules)]
    assert main([*args, "--json", "--budgets", str(budgets)]) == 0
    doc = json.loads(capsys.readouterr().out)
    # by hand: 780, 390, 130 (the issue's split)
    assert {r["owner"]: r["total_cost"] for r in doc["showback"]} == {"A": 780, "B": 390, "C": 130}
    # by hand, forecast: one day (March 2) of data, as of March 3: direct B 300 + 300/day x 29 days = 9,000,
    # ratio 30 -> B 390 x 30 = 11,700 <= 12,000; A 780 x 30 = 23,400 > 700
    assert {r["owner"]: r["forecast_cost"] for r in doc["budgets"]} == {"A": 23400, "B": 11700}
    assert {r["owner"]: r["over_budget"] for r in doc["budgets"]} == {"A": True, "B": False}
    out = tmp_path / "showback.csv"
    assert main([*args, "--method", "fixed", "--percent", "A=50", "--percent", "C=50", "--csv", str(out),
                 "--owner-dir", str(tmp_path / "owners")]) == 0
    # by hand: 300 shared, 50 % to A and C -> A 750, B 300, C 250
    lines = out.read_text().splitlines()
    assert any(",A,600.00,150.00,750.00," in line for line in lines)
    assert any(",C,100.00,150.00,250.00," in line for line in lines)
    assert (tmp_path / "owners" / "B.csv").read_text().splitlines()[1].startswith("2025-03,USD,B,300.00,0.00,300.00")
    rules.write_text("- colour: blue\n")
    assert main(args) == 2
    assert "rule 1" in capsys.readouterr().err


def test_default_rules_share_services_then_use_the_tag(tmp_path, con):
    t = table(tmp_path, [row(4, service="AWS Support (Business)"), row(6, tags='{"Team": "web"}'), row(1)], con)
    rules = al.default_rules("team", shared_services=["AWS Support (Business)"], accounts={"111": "platform"})
    got = al.allocate_owners(t, rules).execute().groupby(["owner", "allocation_rule"]).EffectiveCost.sum()
    # by hand: support 4 -> shared; tagged 6 -> web; the untagged 1 in account 111 -> platform
    assert got.to_dict() == {("platform", "account"): 1, ("shared", "shared services"): 4, ("web", "tag:team"): 6}


def test_cost_categories_from_every_export_flavour(tmp_path, con):
    """AWS puts cost categories in CUR 2.0's map ``cost_category``, legacy ``costCategory/<Name>`` columns and
    the FOCUS export's map ``x_CostCategories``: a ``cost_category`` rule reads each (names of any spelling)."""
    import duckdb

    cur = ("bill_billing_period_start_date,line_item_usage_start_date,line_item_line_item_type,"
           "line_item_unblended_cost,line_item_currency_code,line_item_resource_id")
    cur2 = tmp_path / "cur2" / "cur.csv"
    cur2.parent.mkdir()
    cur2.write_text(cur + ',cost_category\n2025-03-01,2025-03-02,Usage,10,USD,i-1,"{""Team"": ""web""}"\n'
                    "2025-03-01,2025-03-02,Usage,5,USD,i-2,{}\n")
    legacy = tmp_path / "legacy" / "cur.csv"
    legacy.parent.mkdir()
    legacy.write_text("bill/BillingPeriodStartDate,lineItem/UsageStartDate,lineItem/LineItemType,lineItem/UnblendedCost,"
                      "lineItem/CurrencyCode,lineItem/ResourceId,costCategory/Team\n"
                      "2025-03-01,2025-03-02,Usage,10,USD,i-1,web\n2025-03-01,2025-03-02,Usage,5,USD,i-2,\n")
    parquet = tmp_path / "cur2.parquet"
    duckdb.sql(f"COPY (SELECT * FROM (VALUES ('2025-03-01','2025-03-02','Usage','10','USD','i-1', "
               f"MAP {{'team': 'web'}}), ('2025-03-01','2025-03-02','Usage','5','USD','i-2', "
               f"MAP {{}}::MAP(VARCHAR, VARCHAR))) t({cur}, "
               f"cost_category)) TO '{parquet}' (FORMAT parquet)")
    focus = tmp_path / "focus" / "bill.csv"
    focus.parent.mkdir()
    focus.write_text("BillingCurrency,BillingPeriodStart,ChargePeriodStart,ChargeCategory,ResourceId,BilledCost,"
                     'EffectiveCost,x_CostCategories\nUSD,2025-03-01,2025-03-02,Usage,i-1,10,10,"{""Team"": ""web""}"\n'
                     "USD,2025-03-01,2025-03-02,Usage,i-2,5,5,\n")
    for path in (cur2, legacy, parquet, focus):
        t = load_charges(path, con=con).table
        got = al.cost_by_rule(t, [{"cost_category": "TEAM"}], month="2025-03").execute()
        # by hand: i-1 (10) belongs to web by its cost category; i-2 (5) has none
        assert {(r.owner, r.allocation_rule): r.cost for r in got.itertuples()} == {
            ("web", "cost_category:TEAM"): Decimal(10), ("unallocated", "unallocated"): Decimal(5)}, path


def test_a_broken_cost_category_map_names_file_row_and_column(tmp_path, con):
    f = tmp_path / "cur.csv"
    f.write_text("bill_billing_period_start_date,line_item_usage_start_date,line_item_line_item_type,"
                 "line_item_unblended_cost,line_item_currency_code,cost_category\n"
                 '2025-03-01,2025-03-02,Usage,10,USD,{}\n2025-03-01,2025-03-02,Usage,5,USD,"{""Team"": "\n')
    with pytest.raises(DataError) as err:
        load_charges(f, con=con)
    assert (err.value.row, err.value.column) == (2, "cost_category")
