SELECT
  "t2"."currency",
  "t2"."ResourceId",
  "t2"."instance_id",
  "t2"."instance_type",
  "t2"."ProviderName",
  "t2"."ServiceName",
  "t2"."SubAccountName",
  "t2"."RegionId",
  "t2"."PricingCategory",
  "t2"."hours",
  "t2"."billed_cost",
  "t2"."effective_cost",
  IF(
    "t2"."hours" > 0,
    CAST("t2"."effective_cost" AS DOUBLE) / CAST("t2"."hours" AS DOUBLE),
    CAST(NULL AS DOUBLE)
  ) AS "effective_hourly_rate"
FROM (
  SELECT
    "t1"."BillingCurrency" AS "currency",
    "t1"."ResourceId",
    MAX("t1"."instance_id") AS "instance_id",
    MAX("t1"."instance_type") AS "instance_type",
    MAX("t1"."ProviderName") AS "ProviderName",
    MAX("t1"."ServiceName") AS "ServiceName",
    MAX("t1"."SubAccountName") AS "SubAccountName",
    MAX("t1"."RegionId") AS "RegionId",
    MAX("t1"."PricingCategory") AS "PricingCategory",
    SUM("t1"."ConsumedQuantity") AS "hours",
    SUM("t1"."BilledCost") AS "billed_cost",
    SUM("t1"."EffectiveCost") AS "effective_cost"
  FROM (
    SELECT
      "t0"."AvailabilityZone",
      "t0"."BilledCost",
      "t0"."BillingAccountId",
      "t0"."BillingAccountName",
      "t0"."BillingAccountType",
      "t0"."BillingCurrency",
      "t0"."BillingPeriodEnd",
      "t0"."BillingPeriodStart",
      "t0"."CapacityReservationId",
      "t0"."CapacityReservationStatus",
      "t0"."ChargeCategory",
      "t0"."ChargeClass",
      "t0"."ChargeDescription",
      "t0"."ChargeFrequency",
      "t0"."ChargePeriodEnd",
      "t0"."ChargePeriodStart",
      "t0"."CommitmentDiscountCategory",
      "t0"."CommitmentDiscountId",
      "t0"."CommitmentDiscountName",
      "t0"."CommitmentDiscountQuantity",
      "t0"."CommitmentDiscountStatus",
      "t0"."CommitmentDiscountType",
      "t0"."CommitmentDiscountUnit",
      "t0"."ConsumedQuantity",
      "t0"."ConsumedUnit",
      "t0"."ContractedCost",
      "t0"."ContractedUnitPrice",
      "t0"."EffectiveCost",
      "t0"."InvoiceId",
      "t0"."InvoiceIssuerName",
      "t0"."ListCost",
      "t0"."ListUnitPrice",
      "t0"."PricingCategory",
      "t0"."PricingCurrency",
      "t0"."PricingCurrencyContractedUnitPrice",
      "t0"."PricingCurrencyEffectiveCost",
      "t0"."PricingCurrencyListUnitPrice",
      "t0"."PricingQuantity",
      "t0"."PricingUnit",
      "t0"."ProviderName",
      "t0"."PublisherName",
      "t0"."RegionId",
      "t0"."RegionName",
      "t0"."ResourceId",
      "t0"."ResourceName",
      "t0"."ResourceType",
      "t0"."ServiceCategory",
      "t0"."ServiceName",
      "t0"."ServiceSubcategory",
      "t0"."SkuId",
      "t0"."SkuMeter",
      "t0"."SkuPriceDetails",
      "t0"."SkuPriceId",
      "t0"."SubAccountId",
      "t0"."SubAccountName",
      "t0"."SubAccountType",
      "t0"."Tags",
      NULLIF(
        REGEXP_EXTRACT("t0"."ChargeDescription", '([a-z][a-z0-9-]*\.[0-9]*[a-z0-9]+) Instance Hour', 1),
        ''
      ) AS "instance_type",
      NULLIF(REGEXP_EXTRACT("t0"."ResourceId", '(i-[0-9a-z]{8,17})$', 1), '') AS "instance_id"
    FROM "focus_export" AS "t0"
    WHERE
      DATE_FORMAT("t0"."BillingPeriodStart", '%Y-%m') = '2024-09'
      AND "t0"."ChargeCategory" = 'Usage'
      AND "t0"."ServiceCategory" = 'Compute'
      AND "t0"."ResourceId" IS NOT NULL
      AND REGEXP_LIKE(COALESCE("t0"."ConsumedUnit", ''), '(?i)^(hours?|hrs|1 hour)$')
  ) AS "t1"
  GROUP BY
    1,
    2
) AS "t2"
ORDER BY
  "t2"."effective_cost" DESC,
  "t2"."ResourceId" ASC
