"""The new commitment analyses (state, coverage, eligible spend over a lookback) give identical results on
DuckDB and on PySpark local mode, on the hand-made CUR and FOCUS bills of the other commitment tests."""

from __future__ import annotations

import pytest
from test_commitments_eligible import HEADER as FOCUS_HEADER
from test_commitments_eligible import row
from test_commitments_state import HEAD, H
from test_engines import assert_same

from finops_nb import connect, load_charges
from finops_nb.analyses.commitments import (
    eligible_spend_by,
    hourly_eligible_spend_lookback,
    summarize_commitments,
    summarize_coverage,
)

pytestmark = pytest.mark.spark


def both(path):
    return load_charges(path, con=connect()).table, load_charges(path, con=connect("pyspark://")).table


def test_state_and_coverage_on_both_engines(tmp_path, spark):
    f = tmp_path / "cur.csv"
    f.write_text(HEAD + "\n".join([
        H.format(acct="A") + ",SavingsPlanCoveredUsage,AmazonEC2,6.00,USD,Hrs,6.00,m5.large,sp-1,4.00,,,"
                             "2025-04-20T00:00:00Z,,,",
        H.format(acct="A") + ",SavingsPlanRecurringFee,ComputeSavingsPlans,5.00,USD,,,,sp-1,,5.00,4.00,"
                             "2025-04-20T00:00:00Z,,,",
        H.format(acct="B") + ",DiscountedUsage,AmazonEC2,0,USD,Hrs,3.00,c5.xlarge,,,,,,ri-1,2.00,"
                             "2025-05-15T00:00:00Z",
        H.format(acct="B") + ",Usage,AmazonEC2,3.00,USD,Hrs,3.00,c5.xlarge,,,,,,,,",
    ]) + "\n")
    duck, spark_t = both(f)
    for by in (None, "hour", "service", "family", "account"):
        keys = ["currency"] + ([by] if by else [])
        got = assert_same(summarize_coverage(duck, month="2025-03", by=by),
                          summarize_coverage(spark_t, month="2025-03", by=by), keys)
        assert len(got)
    state = assert_same(summarize_commitments(duck, month="2025-03"), summarize_commitments(spark_t, month="2025-03"),
                        ["currency", "CommitmentDiscountId"])
    assert sorted(state.expires_within_days) == [30, 60]


def test_eligible_spend_on_both_engines(tmp_path, spark):
    f = tmp_path / "bill.csv"
    f.write_text(FOCUS_HEADER + "\n".join([
        row("2025-03-31T10:00Z", 2), row("2025-03-25T00:00Z", 32), row("2025-03-20T10:00Z", 4, itype="m5.xlarge"),
        row("2025-02-15T10:00Z", 8, itype="c5.large", os="Windows"),
        row("2025-03-31T12:00Z", 0.5, itype="", unit="Lambda-GB-Second")]) + "\n")
    duck, spark_t = both(f)
    keys = {"compute_sp": ["currency"], "ec2_instance_sp": ["currency", "family", "RegionId"],
            "ri": ["currency", "x_InstanceType", "RegionId", "x_OperatingSystem"]}
    for plan, k in keys.items():
        for days in (7, 60):
            assert len(assert_same(eligible_spend_by(duck, month="2025-03", lookback_days=days, plan=plan),
                                   eligible_spend_by(spark_t, month="2025-03", lookback_days=days, plan=plan), k))
    assert_same(hourly_eligible_spend_lookback(duck, month="2025-03", lookback_days=30),
                hourly_eligible_spend_lookback(spark_t, month="2025-03", lookback_days=30), ["hour", "currency"])
