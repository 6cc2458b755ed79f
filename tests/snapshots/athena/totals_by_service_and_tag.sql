SELECT
  *
FROM (
  SELECT
    DATE_FORMAT("t0"."BillingPeriodStart", '%Y-%m') AS "billing_period",
    "t0"."BillingCurrency" AS "currency",
    "t0"."ServiceName",
    IF(
      (
        ARRAY_POSITION(MAP_KEYS("t0"."Tags"), 'team') - 1
      ) >= 0,
      ELEMENT_AT(
        MAP_VALUES("t0"."Tags"),
        CAST(ARRAY_POSITION(MAP_KEYS("t0"."Tags"), 'team') - 1 AS INTEGER) + 1
      ),
      CAST(NULL AS VARCHAR)
    ) AS "tag:team",
    COUNT(*) AS "rows",
    SUM("t0"."BilledCost") AS "billed_cost",
    SUM("t0"."EffectiveCost") AS "effective_cost",
    SUM("t0"."ListCost") AS "list_cost",
    SUM("t0"."ContractedCost") AS "contracted_cost",
    SUM(
      IF(
        LOWER("t0"."ChargeCategory") = 'usage',
        "t0"."BilledCost",
        CAST(0 AS DECIMAL(38, 12))
      )
    ) AS "usage_cost",
    SUM(
      IF(
        LOWER("t0"."ChargeCategory") = 'purchase',
        "t0"."BilledCost",
        CAST(0 AS DECIMAL(38, 12))
      )
    ) AS "purchase_cost",
    SUM(
      IF(
        LOWER("t0"."ChargeCategory") = 'credit',
        "t0"."BilledCost",
        CAST(0 AS DECIMAL(38, 12))
      )
    ) AS "credits",
    SUM(
      IF(
        LOWER("t0"."ChargeCategory") = 'discount',
        "t0"."BilledCost",
        CAST(0 AS DECIMAL(38, 12))
      )
    ) AS "discounts",
    SUM(
      IF(LOWER("t0"."ChargeCategory") = 'tax', "t0"."BilledCost", CAST(0 AS DECIMAL(38, 12)))
    ) AS "tax",
    SUM(
      IF(
        LOWER("t0"."ChargeCategory") = 'adjustment',
        "t0"."BilledCost",
        CAST(0 AS DECIMAL(38, 12))
      )
    ) AS "adjustments",
    SUM("t0"."BilledCost") AS "net_cost"
  FROM "focus_export" AS "t0"
  GROUP BY
    1,
    2,
    3,
    4
) AS "t1"
ORDER BY
  "t1"."billing_period" ASC,
  "t1"."currency" ASC,
  "t1"."ServiceName" ASC,
  "t1"."tag:team" ASC
