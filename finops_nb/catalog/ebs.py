"""EBS list prices and volume performance, for pricing a volume-type change with performance matched.

Pure functions, no I/O. Prices are us-east-1 on-demand list prices per month from
https://aws.amazon.com/ebs/pricing/ (transcribed on ``PRICES_AS_OF``, as quoted in issue 4; no network here to
re-read the page, so check it before relying on a figure). Performance rules are from
https://docs.aws.amazon.com/ebs/latest/userguide/general-purpose.html (gp2, gp3) and
https://docs.aws.amazon.com/ebs/latest/userguide/provisioned-iops.html (io1, io2).

The analyses use these prices only for the *ratio* of the two volume types' costs; the dollars come from the
volume's own bill (its effective cost), so region and discounts carry over.
"""

from __future__ import annotations

PRICES_SOURCE = "https://aws.amazon.com/ebs/pricing/ (us-east-1 list prices)"
PRICES_AS_OF = "2026-12-03"

GP2_GB_MONTH = 0.10
GP3_GB_MONTH = 0.08
GP3_IOPS_INCLUDED = 3000
GP3_THROUGHPUT_INCLUDED_MBPS = 125
GP3_IOPS_MONTH = 0.005  # per provisioned IOPS-month above 3,000
GP3_MBPS_MONTH = 0.04  # per provisioned MB/s-month above 125
IO1_GB_MONTH = 0.125
IO1_IOPS_MONTH = 0.065
IO2_GB_MONTH = 0.125
# io2 IOPS are priced in tiers: (upper bound of the tier in IOPS, price per IOPS-month)
IO2_IOPS_TIERS = ((32_000, 0.065), (64_000, 0.0455), (float("inf"), 0.032))


def gp2_baseline_iops(size_gb: float) -> float:
    """gp2 baseline IOPS: 3 IOPS per GiB, at least 100, at most 16,000 (AWS EBS user guide, gp2)."""
    return min(max(3.0 * size_gb, 100.0), 16_000.0)


def gp2_max_throughput_mbps(size_gb: float) -> float:
    """gp2 maximum throughput (AWS EBS user guide, gp2): 128 MiB/s up to 170 GiB; 250 MiB/s above 170 GiB
    (below 334 GiB only while burst credits last, from 334 GiB on always). Matching the peak, not the
    baseline, is the conservative choice: the gp3 volume never performs worse than the gp2 one did."""
    return 128.0 if size_gb <= 170 else 250.0


def gp2_monthly_cost(size_gb: float) -> float:
    """gp2 list cost of a month: ``size_gb * 0.10``."""
    return size_gb * GP2_GB_MONTH


def gp3_monthly_cost(size_gb: float, iops: float, throughput_mbps: float) -> float:
    """gp3 list cost of a month: ``0.08 * GB + 0.005 * max(0, IOPS - 3000) + 0.04 * max(0, MB/s - 125)``."""
    return (size_gb * GP3_GB_MONTH + GP3_IOPS_MONTH * max(0.0, iops - GP3_IOPS_INCLUDED)
            + GP3_MBPS_MONTH * max(0.0, throughput_mbps - GP3_THROUGHPUT_INCLUDED_MBPS))


def gp3_matching_gp2_cost(size_gb: float) -> float:
    """The gp3 list cost of a month with the gp2 volume's performance: its baseline IOPS (at least the 3,000
    gp3 includes, which also covers gp2's 3,000-IOPS burst below 1 TiB) and its maximum throughput.

    1000 GB: 80 + 0 (3000 IOPS included) + 125 * 0.04 = 85.00; 5000 GB: 400 + 12000 * 0.005 + 125 * 0.04 = 465.00.
    """
    return gp3_monthly_cost(size_gb, gp2_baseline_iops(size_gb), gp2_max_throughput_mbps(size_gb))


def gp3_saving_fraction(size_gb: float) -> float:
    """``1 - gp3_matching_gp2_cost / gp2_monthly_cost``: the share of a gp2 volume's cost that gp3 saves.

    1000 GB: 1 - 85 / 100 = 0.15; 5000 GB: 1 - 465 / 500 = 0.07; 10 GB: 1 - (0.80 + 3 * 0.04) / 1.00 = 0.08.
    Negative (gp3 would cost more) for very small volumes is kept: the caller decides.
    """
    gp2 = gp2_monthly_cost(size_gb)
    return 1.0 - gp3_matching_gp2_cost(size_gb) / gp2 if gp2 > 0 else 0.0


def io1_iops_monthly_cost(iops: float) -> float:
    """io1 provisioned IOPS list cost of a month: ``0.065 * IOPS``."""
    return IO1_IOPS_MONTH * iops


def io2_iops_monthly_cost(iops: float) -> float:
    """io2 provisioned IOPS list cost of a month, tiered: 0.065 up to 32,000, 0.0455 to 64,000, 0.032 above.

    40,000 IOPS: 32,000 * 0.065 + 8,000 * 0.0455 = 2080 + 364 = 2444.00 (io1: 2600.00).
    """
    cost, lower = 0.0, 0.0
    for upper, price in IO2_IOPS_TIERS:
        if iops > lower:
            cost += (min(iops, upper) - lower) * price
        lower = upper
    return cost


def io2_iops_saving_fraction(iops: float) -> float:
    """``1 - io2_iops_monthly_cost / io1_iops_monthly_cost`` (storage is 0.125 per GB-month for both, so only
    the IOPS part changes). 40,000 IOPS: 1 - 2444 / 2600 = 0.06; at most 32,000 IOPS: 0 (same price)."""
    io1 = io1_iops_monthly_cost(iops)
    return 1.0 - io2_iops_monthly_cost(iops) / io1 if io1 > 0 else 0.0
