"""Overview figures: cost by several dimensions from one read of the bill equals one query per dimension."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
from conftest import SAMPLE

from finops_nb import load_charges
from finops_nb.analyses import overview

HEADER = ("BillingCurrency,BillingPeriodStart,ChargePeriodStart,ChargeCategory,ServiceName,BilledCost,EffectiveCost,"
          "Tags\n")


def test_cost_by_each_by_hand(tmp_path, con):
    f = tmp_path / "bill.csv"
    f.write_text(HEADER + "\n".join([
        'USD,2025-03-01,2025-03-02,Usage,EC2,10.25,10.00,"{""env"": ""prod""}"',
        'USD,2025-03-01,2025-03-03,Usage,EC2,5.00,4.50,"{""Env"": ""dev""}"',
        'USD,2025-03-01,2025-03-03,Usage,S3,2.00,2.00,',
        'EUR,2025-03-01,2025-03-03,Usage,EC2,7.00,7.00,"{""env"": ""prod""}"',
        'USD,2025-02-01,2025-02-03,Usage,S3,99.00,99.00,',  # another month: left out
    ]) + "\n")
    got = overview.cost_by_each(load_charges(f, con=con).table, ["ServiceName", "tag:env"], month="2025-03")
    # by hand, largest first: USD EC2 10.00 + 4.50 = 14.50 (2 rows); EUR EC2 7.00; USD S3 2.00
    svc = got["ServiceName"]
    assert list(zip(svc.currency, svc.ServiceName, svc.cost, svc.rows, strict=True)) == [
        ("USD", "EC2", Decimal("14.5"), 2), ("EUR", "EC2", Decimal(7), 1), ("USD", "S3", Decimal(2), 1)]
    env = got["tag:env"]
    # tag keys match on letters and digits (env, Env); the untagged S3 row keeps its own group
    assert [(c, None if pd.isna(v) else v, x) for c, v, x in zip(env.currency, env["tag:env"], env.cost,
                                                                  strict=True)] == [
        ("USD", "prod", Decimal(10)), ("EUR", "prod", Decimal(7)), ("USD", "dev", Decimal("4.5")),
        ("USD", None, Decimal(2))]


def test_cost_by_each_equals_cost_by_on_the_sample(con):
    t = load_charges(SAMPLE, con=con).table
    dims = ["ProviderName", "ServiceName", "SubAccountName", "RegionId", "tag:environment"]
    for basis in ("effective", "billed"):
        got = overview.cost_by_each(t, dims, basis=basis, month="2024-09")
        for dim in dims:
            want = overview.cost_by(t, dim, basis=basis, month="2024-09").execute()
            assert len(want) > 1, dim
            pd.testing.assert_frame_equal(got[dim].reset_index(drop=True), want.reset_index(drop=True),
                                          check_dtype=False)
