"""gp2 -> gp3 and io1 -> io2 with performance matched, priced at each volume's own effective/list ratio."""

from __future__ import annotations

import pytest

from finops_nb import load_charges
from finops_nb.analyses.savings import find_gp2_volumes, find_io1_volumes
from finops_nb.catalog import ebs

HEADER = ("BillingCurrency,BillingPeriodStart,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,ServiceName,"
          "ResourceId,SubAccountId,ChargeDescription,x_UsageType,ConsumedQuantity,ConsumedUnit,ListCost,"
          "EffectiveCost,BilledCost,Tags\n")
MONTH = "USD,2025-03-01,2025-03-01,2025-04-01,Usage,Amazon EC2"  # one row for all of March (744 h)


def bill(tmp_path, rows):
    f = tmp_path / "bill.csv"
    f.write_text(HEADER + "\n".join(rows) + "\n")
    return f


def test_catalog_prices_match_the_worked_values():
    # 1000 GB gp2: 100.00; gp3 with 3000 IOPS (included) and 250 MB/s: 80 + 125 * 0.04 = 85.00
    assert ebs.gp2_monthly_cost(1000) == pytest.approx(100.0)
    assert ebs.gp3_matching_gp2_cost(1000) == pytest.approx(85.0)
    # 5000 GB: gp2 500.00; gp3 400 + (15000 - 3000) * 0.005 + 125 * 0.04 = 465.00
    assert ebs.gp3_matching_gp2_cost(5000) == pytest.approx(465.0)
    assert ebs.gp3_saving_fraction(5000) == pytest.approx(35 / 500)
    # gp2 IOPS: 3 per GB, floor 100, cap 16000; throughput 128 MB/s up to 170 GB, else 250
    assert [ebs.gp2_baseline_iops(g) for g in (10, 1000, 6000)] == [100, 3000, 16000]
    assert [ebs.gp2_max_throughput_mbps(g) for g in (170, 171, 334)] == [128, 250, 250]
    # 2 GB: gp2 0.20 vs gp3 0.16 + 3 MB/s * 0.04 = 0.28: gp3 costs more
    assert ebs.gp3_saving_fraction(2) < 0
    # io2 tiers: 40000 IOPS = 32000 * 0.065 + 8000 * 0.0455 = 2444.00 vs io1 2600.00
    assert ebs.io2_iops_monthly_cost(40_000) == pytest.approx(2444.0)
    assert ebs.io2_iops_monthly_cost(70_000) == pytest.approx(2080 + 1456 + 6000 * 0.032)
    assert ebs.io2_iops_saving_fraction(32_000) == pytest.approx(0.0)


def test_gp2_volumes_priced_with_performance_matched(tmp_path, con):
    desc = '"$0.10 per GB-month of General Purpose SSD (gp2) provisioned storage - US East (N. Virginia)"'
    hourly = [f"USD,2025-03-01,2025-03-02T{h:02d}:00:00Z,2025-03-02T{h + 1:02d}:00:00Z,Usage,Amazon EC2,vol-h,"
              f"acct-1,{desc},,{8 / 744},GB-Mo,{0.8 / 744},{0.8 / 744},{0.8 / 744}," for h in range(10)]
    rows = [
        f'{MONTH},vol-1000,acct-1,{desc},,1000,GB-Mo,100,100,100,"{{""owner"": ""team-a""}}"',
        f"{MONTH},vol-5000,acct-1,{desc},,5000,GB-Mo,500,500,500,",
        f"{MONTH},vol-disc,acct-2,{desc},,1000,GB-Mo,100,90,90,",  # effective at 90 % of list
        f"{MONTH},vol-cur,acct-2,,USE1-EBS:VolumeUsage.gp2,1000,GB-Mo,100,100,100,",  # CUR usage type only
        f"{MONTH},vol-tiny,acct-2,{desc},,2,GB-Mo,0.2,0.2,0.2,",  # gp3 would cost more: no row
        f"{MONTH},vol-gp3,acct-2,,USE1-EBS:VolumeUsage.gp3,1000,GB-Mo,80,80,80,",  # already gp3
        *hourly,
    ]
    led = find_gp2_volumes(load_charges(bill(tmp_path, rows), con=con).table, month="2025-03").set_index("ResourceId")
    assert sorted(led.index) == ["vol-1000", "vol-5000", "vol-cur", "vol-disc", "vol-h"]
    assert led.monthly_savings["vol-1000"] == pytest.approx(15.0)  # 100 - 85
    assert led.monthly_savings["vol-5000"] == pytest.approx(35.0)  # 500 - 465
    assert led.monthly_savings["vol-disc"] == pytest.approx(13.5)  # 15.00 * 90 / 100
    assert led.effective_to_list["vol-disc"] == pytest.approx(0.9)
    assert led.monthly_savings["vol-cur"] == pytest.approx(15.0)
    # vol-h: 10 hourly rows of 8/744 GB-months -> 8 GB; gp2 0.80 vs gp3 0.64 + 3 * 0.04 = 0.76 -> 5 % of the
    # effective 10 * 0.8 / 744 = 0.0107527 -> 0.00053763
    assert led.size_gb["vol-h"] == pytest.approx(8.0)
    assert led.hours_present["vol-h"] == pytest.approx(10.0)
    assert led.monthly_savings["vol-h"] == pytest.approx(0.05 * 8 / 744)
    assert led.owner["vol-1000"] == "team-a" and (led.action_kind == "modernize").all()
    assert "1,000.0 GB" in led.evidence["vol-1000"] and "250 MB/s" in led.evidence["vol-1000"]


def test_io1_volumes_above_32000_iops_save_on_io2(tmp_path, con):
    rows = [f"{MONTH},vol-big,acct-1,,USE1-EBS:VolumeP-IOPS.piops,40000,IOPS-Mo,2600,2340,2340,",
            f"{MONTH},vol-big,acct-1,,USE1-EBS:VolumeUsage.piops,1000,GB-Mo,125,112.5,112.5,",  # storage: same price
            f"{MONTH},vol-small,acct-1,,USE1-EBS:VolumeP-IOPS.piops,20000,IOPS-Mo,1300,1300,1300,"]
    led = find_io1_volumes(load_charges(bill(tmp_path, rows), con=con).table, month="2025-03")
    # by hand: 2340 effective x (1 - 2444 / 2600) = 2340 x 0.06 = 140.40; vol-small (<= 32000 IOPS) saves 0
    assert list(led.ResourceId) == ["vol-big"]
    assert led.iops.iloc[0] == pytest.approx(40_000)
    assert led.monthly_savings.iloc[0] == pytest.approx(140.4)
    assert led.monthly_cost.iloc[0] == pytest.approx(2340.0)
