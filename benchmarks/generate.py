"""Deterministic billing data at scale: AWS CUR 2.0 or FOCUS, N line items for one month.

    python benchmarks/generate.py --rows 10000000 --format cur2 --out /tmp/bench/cur2
    python benchmarks/generate.py --rows 1000000 --format focus --file-format parquet --out /tmp/bench/focus

The mix is shaped like a real organization's month: hourly usage of thousands of resources in hundreds of
accounts (EC2 instance hours, EBS gp2/gp3 storage, S3, data transfer), Savings Plan covered usage with its
negation rows and recurring fee, Reserved Instance usage and fee, EDP and private-rate discounts, credits,
tax, and resource tags (team, env; some resources untagged). Rows are a pure function of their index
(integer hashing, no random state), so the same arguments always give the same file. Written out of core
by DuckDB. Generated data is never committed.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import duckdb

# integer hash of (row index, salt): a 32-bit integer mixer (two multiply-xorshift rounds), so columns drawn
# with different salts are independent; deterministic on every machine and DuckDB version
MACROS = """
CREATE OR REPLACE TEMP MACRO mix_round(a) AS (xor(a, a >> 16) * 73244475) % 4294967296;
CREATE OR REPLACE TEMP MACRO mix(x) AS xor(mix_round(mix_round(x % 4294967296)),
                                           mix_round(mix_round(x % 4294967296)) >> 16);
"""
H = "mix(i * 8191 + {salt} * 1000003)"

KIND = f"""CASE
    WHEN {H.format(salt=1)} % 100 < 55 THEN 'Usage'
    WHEN {H.format(salt=1)} % 100 < 65 THEN 'SavingsPlanCoveredUsage'
    WHEN {H.format(salt=1)} % 100 < 75 THEN 'SavingsPlanNegation'
    WHEN {H.format(salt=1)} % 100 < 80 THEN 'DiscountedUsage'
    WHEN {H.format(salt=1)} % 100 < 88 THEN 'EdpDiscount'
    WHEN {H.format(salt=1)} % 100 < 90 THEN 'PrivateRateDiscount'
    WHEN {H.format(salt=1)} % 100 < 93 THEN 'Credit'
    WHEN {H.format(salt=1)} % 100 < 96 THEN 'Tax'
    WHEN {H.format(salt=1)} % 100 < 98 THEN 'SavingsPlanRecurringFee'
    ELSE 'RIFee' END"""

BASE = f"""
SELECT
    i,
    {KIND} AS kind,
    100000000000 + {H.format(salt=2)} % $accounts AS account,
    {H.format(salt=3)} % $resources AS resource,
    (i // 7) % $hours AS hour,
    ['t3.medium','m5.large','m5.xlarge','c5.2xlarge','r5.large','m6g.large','c6g.xlarge','m4.large']
        [1 + {H.format(salt=4)} % 8] AS instance_type,
    ['us-east-1','us-west-2','eu-west-1','eu-central-1','ap-south-1','ap-northeast-1'][1 + {H.format(salt=5)} % 6]
        AS region,
    ['AmazonEC2','AmazonEC2','AmazonEC2','AmazonS3','AmazonRDS','AWSDataTransfer'][1 + {H.format(salt=6)} % 6]
        AS product_code,
    CAST(({H.format(salt=7)} % 100000) AS DECIMAL(18, 6)) / 100000 AS amount,
    {H.format(salt=8)} % 20 AS team,
    {H.format(salt=9)} % 10 AS tag_mix
FROM range($first, $first + $rows) t(i)
"""

CUR2 = """
SELECT
    'generated-' || i AS identity_line_item_id,
    TIMESTAMPTZ '{month}-01 00:00:00+00' AS bill_billing_period_start_date,
    TIMESTAMPTZ '{month}-01 00:00:00+00' + INTERVAL 1 MONTH AS bill_billing_period_end_date,
    '999999999999' AS bill_payer_account_id,
    'Anniversary' AS bill_bill_type,
    'INV-{month}' AS bill_invoice_id,
    CAST(account AS VARCHAR) AS line_item_usage_account_id,
    'account-' || account AS line_item_usage_account_name,
    TIMESTAMPTZ '{month}-01 00:00:00+00' + to_hours(hour) AS line_item_usage_start_date,
    TIMESTAMPTZ '{month}-01 00:00:00+00' + to_hours(hour + 1) AS line_item_usage_end_date,
    kind AS line_item_line_item_type,
    CASE WHEN kind = 'SavingsPlanRecurringFee' THEN 'ComputeSavingsPlans' ELSE product_code END
        AS line_item_product_code,
    CASE product_code WHEN 'AmazonEC2' THEN 'BoxUsage:' || instance_type
        WHEN 'AmazonS3' THEN 'TimedStorage-ByteHrs' WHEN 'AmazonRDS' THEN 'InstanceUsage:db.' || instance_type
        ELSE 'DataTransfer-Out-Bytes' END AS line_item_usage_type,
    'i-' || lpad(printf('%x', resource), 17, '0') AS line_item_resource_id,
    CASE WHEN kind IN ('Usage', 'SavingsPlanCoveredUsage', 'DiscountedUsage') THEN 1 END AS line_item_usage_amount,
    CASE
        WHEN kind IN ('Usage', 'SavingsPlanCoveredUsage') THEN amount
        WHEN kind = 'SavingsPlanNegation' THEN -amount
        WHEN kind = 'DiscountedUsage' THEN 0
        WHEN kind IN ('EdpDiscount', 'PrivateRateDiscount', 'Credit') THEN -amount / 10
        WHEN kind = 'Tax' THEN amount / 5
        ELSE amount * 4 END AS line_item_unblended_cost,
    'USD' AS line_item_currency_code,
    kind || ' ' || instance_type AS line_item_line_item_description,
    CASE WHEN kind IN ('Usage', 'SavingsPlanCoveredUsage', 'DiscountedUsage') THEN amount * 1.1 END
        AS pricing_public_on_demand_cost,
    CASE WHEN product_code = 'AmazonEC2' THEN 'Hrs' ELSE 'GB' END AS pricing_unit,
    region AS product_region_code,
    instance_type AS product_instance_type,
    MAP {{'product_name': CASE product_code WHEN 'AmazonEC2' THEN 'Amazon Elastic Compute Cloud'
          WHEN 'AmazonS3' THEN 'Amazon Simple Storage Service' ELSE product_code END,
          'operating_system': 'Linux'}} AS product,
    CASE WHEN kind LIKE 'SavingsPlan%' THEN 'arn:aws:savingsplans::999999999999:savingsplan/sp-' || (account % 7)
        END AS savings_plan_savings_plan_a_r_n,
    CASE WHEN kind = 'SavingsPlanCoveredUsage' THEN amount * 0.72 END AS savings_plan_savings_plan_effective_cost,
    CASE WHEN kind = 'SavingsPlanRecurringFee' THEN amount * 4 END AS savings_plan_total_commitment_to_date,
    CASE WHEN kind = 'SavingsPlanRecurringFee' THEN amount * 3.6 END AS savings_plan_used_commitment,
    CASE WHEN kind IN ('DiscountedUsage', 'RIFee') THEN 'arn:aws:ec2:us-east-1:999999999999:reserved-instances/ri-'
        || (account % 5) END AS reservation_reservation_a_r_n,
    CASE WHEN kind = 'DiscountedUsage' THEN amount * 0.6 END AS reservation_effective_cost,
    CASE WHEN kind = 'RIFee' THEN amount * 0.2 END AS reservation_unused_amortized_upfront_fee_for_billing_period,
    CASE WHEN kind = 'RIFee' THEN amount * 0.1 END AS reservation_unused_recurring_fee,
    CASE WHEN tag_mix < 7 THEN MAP {{'user_team': 'team-' || team, 'user_env': ['prod','dev','test'][1 + team % 3]}}
        ELSE MAP {{}}::MAP(VARCHAR, VARCHAR) END AS resource_tags
FROM base
"""

FOCUS = """
SELECT
    CAST(account AS VARCHAR) AS SubAccountId,
    'account-' || account AS SubAccountName,
    'USD' AS BillingCurrency,
    TIMESTAMPTZ '{month}-01 00:00:00+00' AS BillingPeriodStart,
    TIMESTAMPTZ '{month}-01 00:00:00+00' + INTERVAL 1 MONTH AS BillingPeriodEnd,
    TIMESTAMPTZ '{month}-01 00:00:00+00' + to_hours(hour) AS ChargePeriodStart,
    TIMESTAMPTZ '{month}-01 00:00:00+00' + to_hours(hour + 1) AS ChargePeriodEnd,
    CASE WHEN kind IN ('Tax') THEN 'Tax' WHEN kind IN ('Credit', 'EdpDiscount', 'PrivateRateDiscount') THEN 'Credit'
        WHEN kind IN ('SavingsPlanRecurringFee', 'RIFee') THEN 'Purchase' ELSE 'Usage' END AS ChargeCategory,
    CASE WHEN kind IN ('SavingsPlanCoveredUsage', 'DiscountedUsage') THEN 'Committed' ELSE 'Standard' END
        AS PricingCategory,
    CASE product_code WHEN 'AmazonEC2' THEN 'Compute' WHEN 'AmazonS3' THEN 'Storage' WHEN 'AmazonRDS'
        THEN 'Databases' ELSE 'Networking' END AS ServiceCategory,
    CASE product_code WHEN 'AmazonEC2' THEN 'Amazon Elastic Compute Cloud' ELSE product_code END AS ServiceName,
    'AWS' AS ProviderName,
    region AS RegionId,
    'i-' || lpad(printf('%x', resource), 17, '0') AS ResourceId,
    CASE WHEN kind = 'SavingsPlanCoveredUsage' THEN 0 WHEN kind IN ('EdpDiscount', 'PrivateRateDiscount', 'Credit')
        THEN -amount / 10 ELSE amount END AS BilledCost,
    CASE WHEN kind = 'SavingsPlanCoveredUsage' THEN amount * 0.72 WHEN kind IN ('SavingsPlanRecurringFee', 'RIFee')
        THEN 0 WHEN kind IN ('EdpDiscount', 'PrivateRateDiscount', 'Credit') THEN -amount / 10 ELSE amount END
        AS EffectiveCost,
    amount * 1.1 AS ListCost,
    amount AS ContractedCost,
    1 AS ConsumedQuantity,
    CASE WHEN product_code = 'AmazonEC2' THEN 'Hours' ELSE 'GB' END AS ConsumedUnit,
    CASE WHEN tag_mix < 7 THEN '{{"team": "team-' || team || '", "env": "' || ['prod','dev','test'][1 + team % 3]
        || '"}}' END AS Tags
FROM base
"""


def generate(rows: int, out: Path, *, fmt: str = "cur2", file_format: str = "csv.gz", month: str = "2025-01",
             accounts: int = 300, resources: int = 5000, parts: int = 1) -> Path:
    """Write ``rows`` line items of ``month`` under ``out/BILLING_PERIOD=<month>/``, in ``parts`` files as a
    large export is (``part-00000`` ...; rows ``k * rows / parts`` onwards in part k); returns the last file."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    hours = int(con.execute("SELECT date_diff('hour', ?::TIMESTAMP, ?::TIMESTAMP + INTERVAL 1 MONTH)",
                            [f"{month}-01", f"{month}-01"]).fetchone()[0])
    con.execute(MACROS)
    folder = out / f"BILLING_PERIOD={month}"
    folder.mkdir(parents=True, exist_ok=True)
    body = (CUR2 if fmt == "cur2" else FOCUS).format(month=month)
    for k in range(parts):
        first, last = rows * k // parts, rows * (k + 1) // parts
        params = {"first": first, "rows": last - first, "accounts": int(accounts), "resources": int(resources),
                  "hours": hours}
        con.sql(BASE, params=params).create_view("base", replace=True)
        target = _write(con, body, folder / f"part-{k:05d}", fmt, file_format)
    return target


def _write(con, body: str, stem: Path, fmt: str, file_format: str) -> Path:
    rel = con.sql(body)
    if file_format == "parquet":
        target = stem.with_suffix(".parquet")
        rel.write_parquet(str(target))
    else:
        if fmt == "cur2":  # CSV exports write maps as JSON text
            rel = con.sql(f"SELECT * REPLACE (to_json(product) AS product, to_json(resource_tags) AS resource_tags) "
                          f"FROM ({body})")
        target = stem.with_suffix(".csv.gz")
        rel.write_csv(str(target), compression="gzip")
    return target


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, required=True)
    p.add_argument("--format", choices=["cur2", "focus"], default="cur2")
    p.add_argument("--file-format", choices=["csv.gz", "parquet"], default="csv.gz")
    p.add_argument("--month", default="2025-01")
    p.add_argument("--accounts", type=int, default=300)
    p.add_argument("--resources", type=int, default=5000)
    p.add_argument("--parts", type=int, default=1, help="files to split the month into")
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args()
    t0 = time.perf_counter()
    path = generate(a.rows, a.out, fmt=a.format, file_format=a.file_format, month=a.month, accounts=a.accounts,
                    resources=a.resources, parts=a.parts)
    size = sum(f.stat().st_size for f in path.parent.iterdir()) / 1e6
    print(f"{path.parent}: {a.rows:,} rows in {a.parts} file(s), {time.perf_counter() - t0:.1f} s ({size:.1f} MB)")


if __name__ == "__main__":
    main()
