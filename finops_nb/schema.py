"""The canonical table: FOCUS 1.2 column names and types, allowed values.

Every reader produces these columns (missing ones as typed NULLs) plus provider extras named ``x_*``.
Money, prices and quantities are ``DECIMAL(38, 12)`` so sums are exact; timestamps are UTC.
Source: FOCUS specification 1.2, column definitions (focus.finops.org, CC BY 4.0).
"""

from __future__ import annotations

import re

MONEY = "DECIMAL(38, 12)"
TIMESTAMP = "TIMESTAMPTZ"
STRING = "VARCHAR"
TAGS = "MAP(VARCHAR, VARCHAR)"

# name -> SQL type (DuckDB spelling). Order is the canonical column order.
COLUMNS: dict[str, str] = {
    "AvailabilityZone": STRING,
    "BilledCost": MONEY,
    "BillingAccountId": STRING,
    "BillingAccountName": STRING,
    "BillingAccountType": STRING,
    "BillingCurrency": STRING,
    "BillingPeriodEnd": TIMESTAMP,
    "BillingPeriodStart": TIMESTAMP,
    "CapacityReservationId": STRING,
    "CapacityReservationStatus": STRING,
    "ChargeCategory": STRING,
    "ChargeClass": STRING,
    "ChargeDescription": STRING,
    "ChargeFrequency": STRING,
    "ChargePeriodEnd": TIMESTAMP,
    "ChargePeriodStart": TIMESTAMP,
    "CommitmentDiscountCategory": STRING,
    "CommitmentDiscountId": STRING,
    "CommitmentDiscountName": STRING,
    "CommitmentDiscountQuantity": MONEY,
    "CommitmentDiscountStatus": STRING,
    "CommitmentDiscountType": STRING,
    "CommitmentDiscountUnit": STRING,
    "ConsumedQuantity": MONEY,
    "ConsumedUnit": STRING,
    "ContractedCost": MONEY,
    "ContractedUnitPrice": MONEY,
    "EffectiveCost": MONEY,
    "InvoiceId": STRING,
    "InvoiceIssuerName": STRING,
    "ListCost": MONEY,
    "ListUnitPrice": MONEY,
    "PricingCategory": STRING,
    "PricingCurrency": STRING,
    "PricingCurrencyContractedUnitPrice": MONEY,
    "PricingCurrencyEffectiveCost": MONEY,
    "PricingCurrencyListUnitPrice": MONEY,
    "PricingQuantity": MONEY,
    "PricingUnit": STRING,
    "ProviderName": STRING,
    "PublisherName": STRING,
    "RegionId": STRING,
    "RegionName": STRING,
    "ResourceId": STRING,
    "ResourceName": STRING,
    "ResourceType": STRING,
    "ServiceCategory": STRING,
    "ServiceName": STRING,
    "ServiceSubcategory": STRING,
    "SkuId": STRING,
    "SkuMeter": STRING,
    "SkuPriceDetails": STRING,
    "SkuPriceId": STRING,
    "SubAccountId": STRING,
    "SubAccountName": STRING,
    "SubAccountType": STRING,
    "Tags": TAGS,
}

# the same types as Ibis spells them (for engines the readers do not write to)
IBIS_TYPES = {MONEY: "decimal(38, 12)", TIMESTAMP: "timestamp('UTC')", STRING: "string", TAGS: "map<string, string>"}

MONEY_COLUMNS = [c for c, t in COLUMNS.items() if t == MONEY]
TIMESTAMP_COLUMNS = [c for c, t in COLUMNS.items() if t == TIMESTAMP]
COST_COLUMNS = ["BilledCost", "EffectiveCost", "ListCost", "ContractedCost"]

# Columns a usable export must carry (money cannot be placed without them).
REQUIRED = ["BilledCost", "BillingPeriodStart", "ChargePeriodStart", "ChargeCategory"]
# Columns that must have a value on every row when the export has them. An export without a
# BillingCurrency column (the FOCUS spec's own scenario files) loads with a warning instead.
REQUIRED_VALUES = [*REQUIRED, "BillingCurrency"]

# Allowed values (FOCUS 1.2). A value equal to one of these but for case or spacing is rewritten
# to the canonical spelling and reported; any other value is kept and reported as non-conforming.
ALLOWED: dict[str, tuple[str, ...]] = {
    "ChargeCategory": ("Usage", "Purchase", "Tax", "Credit", "Adjustment"),
    "ChargeClass": ("Correction",),
    "ChargeFrequency": ("One-Time", "Recurring", "Usage-Based"),
    "CommitmentDiscountCategory": ("Spend", "Usage"),
    "CommitmentDiscountStatus": ("Used", "Unused"),
    "CapacityReservationStatus": ("Used", "Unused"),
    "PricingCategory": ("Standard", "Dynamic", "Committed", "Other"),
    "ServiceCategory": (
        "AI and Machine Learning", "Analytics", "Business Applications", "Compute", "Databases",
        "Developer Tools", "Multicloud", "Identity", "Integration", "Internet of Things",
        "Management and Governance", "Media", "Migration", "Mobile", "Networking", "Security",
        "Storage", "Web", "Other",
    ),
}

UNTAGGED = "(untagged)"
COST_CATEGORIES = "x_CostCategories"  # AWS cost categories, a map like Tags (AWS's FOCUS export's name)


def is_cost_categories(name: str) -> bool:
    """Whether a column name means ``COST_CATEGORIES``, in any case or punctuation (``x_cost_categories``)."""
    return re.sub(r"[^a-z0-9]", "", name.lower()) == "xcostcategories"


def canonical_name(name: str) -> str | None:
    """The FOCUS column a header means, matching case-insensitively (``SkuPriceid`` -> ``SkuPriceId``)."""
    return _BY_LOWER.get(name.strip().lower())


_BY_LOWER = {c.lower(): c for c in COLUMNS}
