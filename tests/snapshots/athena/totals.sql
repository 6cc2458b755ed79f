SELECT
  *
FROM (
  SELECT
    DATE_FORMAT("t1"."BillingPeriodStart", '%Y-%m') AS "billing_period",
    "t1"."BillingCurrency" AS "currency",
    COUNT(*) AS "rows",
    SUM("t1"."BilledCost") AS "billed_cost",
    SUM("t1"."EffectiveCost") AS "effective_cost",
    SUM("t1"."ListCost") AS "list_cost",
    SUM("t1"."ContractedCost") AS "contracted_cost",
    SUM(
      IF(
        LOWER("t1"."ChargeCategory") = 'usage',
        "t1"."BilledCost",
        CAST(0 AS DECIMAL(38, 12))
      )
    ) AS "usage_cost",
    SUM(
      IF(
        LOWER("t1"."ChargeCategory") = 'purchase',
        "t1"."BilledCost",
        CAST(0 AS DECIMAL(38, 12))
      )
    ) AS "purchase_cost",
    SUM(
      IF(
        LOWER("t1"."ChargeCategory") = 'credit',
        "t1"."BilledCost",
        CAST(0 AS DECIMAL(38, 12))
      )
    ) AS "credits",
    SUM(
      IF(
        LOWER("t1"."ChargeCategory") = 'discount',
        "t1"."BilledCost",
        CAST(0 AS DECIMAL(38, 12))
      )
    ) AS "discounts",
    SUM(
      IF(LOWER("t1"."ChargeCategory") = 'tax', "t1"."BilledCost", CAST(0 AS DECIMAL(38, 12)))
    ) AS "tax",
    SUM(
      IF(
        LOWER("t1"."ChargeCategory") = 'adjustment',
        "t1"."BilledCost",
        CAST(0 AS DECIMAL(38, 12))
      )
    ) AS "adjustments",
    SUM("t1"."BilledCost") AS "net_cost"
  FROM (
    SELECT
      *
    FROM "focus_export" AS "t0"
    WHERE
      DATE_FORMAT("t0"."BillingPeriodStart", '%Y-%m') = '2024-09'
  ) AS "t1"
  GROUP BY
    1,
    2
) AS "t2"
ORDER BY
  "t2"."billing_period" ASC,
  "t2"."currency" ASC
