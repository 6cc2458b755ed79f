"""Checks from the bill's usage types, each on a tiny bill worked by hand."""

from __future__ import annotations

import pytest

from finops_nb import load_charges
from finops_nb.analyses import savings as sv

HEADER = ("BillingCurrency,BillingPeriodStart,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,ServiceName,"
          "ResourceId,SubAccountId,ChargeDescription,x_UsageType,ConsumedQuantity,ConsumedUnit,ListCost,"
          "EffectiveCost,BilledCost,PricingCategory,CommitmentDiscountId,Tags\n")


def row(rid, desc="", usage_type="", qty=1, unit="Hours", cost=1.0, listed=None, service="Amazon EC2",
        start="2025-03-01", end="2025-04-01", period="2025-03-01", pricing="Standard", commitment="", tags=""):
    listed = cost if listed is None else listed
    return (f'USD,{period},{start},{end},Usage,{service},{rid},acct-1,"{desc}",{usage_type},{qty},{unit},'
            f'{listed},{cost},{cost},{pricing},{commitment},{tags}')


def table(tmp_path, con, rows):
    f = tmp_path / "bill.csv"
    f.write_text(HEADER + "\n".join(rows) + "\n")
    return load_charges(f, con=con).table


def by_id(df):
    return df.set_index("ResourceId")


def test_idle_elastic_ips_save_their_idle_hours(tmp_path, con):
    t = table(tmp_path, con, [
        row("eip-1", usage_type="USE1-ElasticIP:IdleAddress", qty=744, cost=3.72),  # idle all March: 744 x 0.005
        row("eip-2", desc="$0.005 per Idle public IPv4 address per hour", qty=100, cost=0.50),
        row("eip-2", desc="$0.005 per In-use public IPv4 address per hour", qty=644, cost=3.22),  # in use: kept
        row("eni-3", usage_type="USE1-PublicIPv4:InUseAddress", qty=744, cost=3.72),
    ])
    led = by_id(sv.find_idle_elastic_ips(t, month="2025-03"))
    assert sorted(led.index) == ["eip-1", "eip-2"]
    assert led.monthly_savings["eip-1"] == pytest.approx(3.72)
    assert led.monthly_savings["eip-2"] == pytest.approx(0.50)  # only the 100 idle hours
    assert led.idle_hours["eip-2"] == pytest.approx(100) and (led.action_kind == "terminate").all()


def test_nat_gateways_without_data_processed_are_idle(tmp_path, con):
    t = table(tmp_path, con, [
        row("nat-idle", usage_type="USE1-NatGateway-Hours", qty=744, cost=33.48),  # 744 h x 0.045
        row("nat-busy", desc="$0.045 per NAT Gateway Hour", qty=744, cost=33.48),
        row("nat-busy", desc="$0.045 per GB Data Processed by NAT Gateways", qty=200, unit="GB", cost=9.0),
        row("nat-tiny", usage_type="USE1-NatGateway-Hours", qty=744, cost=33.48),
        row("nat-tiny", usage_type="USE1-NatGateway-Bytes", qty=0.5, unit="GB", cost=0.0225),
    ])
    assert list(sv.find_idle_nat_gateways(t, month="2025-03").ResourceId) == ["nat-idle"]
    # with 1 GB allowed, nat-tiny (0.5 GB) is idle too and saves its hours and bytes: 33.48 + 0.0225 = 33.5025
    led = by_id(sv.find_idle_nat_gateways(t, month="2025-03", max_gb_processed=1.0))
    assert sorted(led.index) == ["nat-idle", "nat-tiny"]
    assert led.monthly_savings["nat-tiny"] == pytest.approx(33.5025)
    assert led.gb_processed["nat-tiny"] == pytest.approx(0.5)


def test_load_balancers_without_lcu_or_bytes_are_idle(tmp_path, con):
    lb = "Elastic Load Balancing"
    t = table(tmp_path, con, [
        row("app/idle", usage_type="USE1-LoadBalancerUsage", qty=744, cost=16.74, service=lb),  # 744 x 0.0225
        row("app/busy", desc="$0.0225 per Application LoadBalancer-hour (or partial hour)", qty=744, cost=16.74,
            service=lb),
        row("app/busy", desc="$0.008 per used Application load balancer capacity unit-hour (or partial hour)",
            qty=100, unit="LCU-Hours", cost=0.80, service=lb),
        row("classic", usage_type="USE1-LoadBalancerUsage", qty=744, cost=18.60, service=lb),
        row("classic", usage_type="USE1-DataProcessing-Bytes", qty=3, unit="GB", cost=0.024, service=lb),
    ])
    led = by_id(sv.find_idle_load_balancers(t, month="2025-03"))
    assert list(led.index) == ["app/idle"] and led.monthly_savings["app/idle"] == pytest.approx(16.74)
    assert sorted(sv.find_idle_load_balancers(t, month="2025-03", max_gb_processed=5).ResourceId) == [
        "app/idle", "classic"]


def test_snapshots_older_than_the_threshold_by_their_first_charge(tmp_path, con):
    snap = "$0.05 per GB-Month of snapshot data stored - US East (Northern Virginia)"
    t = table(tmp_path, con, [
        # snap-old: first charged 2024-12-01, so 121 days old at the end of March (2025-04-01)
        row("snap-old", desc=snap, qty=100, unit="GB-Mo", cost=5.0, start="2024-12-01", end="2025-01-01",
            period="2024-12-01"),
        row("snap-old", desc=snap, qty=100, unit="GB-Mo", cost=5.0),
        # snap-new: first charged 2025-01-15: 76 days at the end of March
        row("snap-new", usage_type="USE1-EBS:SnapshotUsage", qty=20, unit="GB-Mo", cost=1.0, start="2025-01-15",
            end="2025-02-01", period="2025-01-01"),
        row("snap-new", usage_type="USE1-EBS:SnapshotUsage", qty=20, unit="GB-Mo", cost=1.0),
    ])
    led = by_id(sv.find_old_snapshots(t, month="2025-03"))
    assert list(led.index) == ["snap-old"]
    assert led.age_days["snap-old"] == pytest.approx(121) and led.monthly_savings["snap-old"] == pytest.approx(5.0)
    assert sorted(sv.find_old_snapshots(t, month="2025-03", min_age_days=60).ResourceId) == ["snap-new", "snap-old"]


def test_previous_generation_and_graviton_priced_with_catalog_ratios(tmp_path, con):
    t = table(tmp_path, con, [
        row("i-m4", desc="$0.20 per On Demand Linux m4.xlarge Instance Hour", qty=500, cost=90, listed=100),
        row("i-m5", desc="$0.096 per On Demand Linux m5.large Instance Hour", qty=1000, cost=96),
        row("i-win", desc="$0.188 per On Demand Windows m5.large Instance Hour", qty=100, cost=18.8),
        row("i-cur", usage_type="USE1-BoxUsage:c5.large", desc="", qty=100, cost=8.5),
        row("i-g4", desc="$0.526 per On Demand Linux g4dn.xlarge Instance Hour", qty=10, cost=5.26),
    ])
    prev = by_id(sv.find_previous_generation(t, month="2025-03"))
    # m4 -> m5: 0.096 / 0.100 -> saves 4 % of the effective 90.00 = 3.60
    assert list(prev.index) == ["i-m4"] and prev.monthly_savings["i-m4"] == pytest.approx(3.6)
    grav = by_id(sv.find_graviton_candidates(t, month="2025-03"))
    # m5 -> m6g: 1 - 0.077 / 0.096 = 19.79 % of 96.00 = 19.00; Windows and g4dn (no peer) left out;
    # i-cur has no description: no instance type known, so no row (x_InstanceType would give it)
    assert list(grav.index) == ["i-m5"]
    assert grav.monthly_savings["i-m5"] == pytest.approx(96 - 77)
    assert grav.peer_family["i-m5"] == "m6g" and grav.action_kind["i-m5"] == "modernize"


def test_family_catalog_lookups():
    from finops_nb.catalog import families

    assert families.family_of("m7i-flex.xlarge") == "m7i-flex" and families.family_of("db.r5.large") is None
    assert families.graviton_peer("c5.2xlarge", "Linux").family == "c6g"
    assert families.graviton_peer("c5.2xlarge", "Windows") is None and families.graviton_peer("c5.large", None) is None
    assert families.current_generation_peer("t2.micro").ratio == pytest.approx(0.0832 / 0.0928)
