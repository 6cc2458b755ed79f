SELECT
  "t2"."currency",
  "t2"."list_cost",
  "t2"."contracted_cost",
  "t2"."effective_cost",
  "t2"."rows_without_prices",
  "t2"."list_cost" - "t2"."contracted_cost" AS "negotiated_savings",
  "t2"."contracted_cost" - "t2"."effective_cost" AS "commitment_savings",
  "t2"."list_cost" - "t2"."effective_cost" AS "total_savings",
  IF(
    "t2"."list_cost" <> 0,
    (
      CAST("t2"."list_cost" - "t2"."effective_cost" AS DOUBLE) / CAST("t2"."list_cost" AS DOUBLE)
    ) * 100,
    CAST(NULL AS DOUBLE)
  ) AS "effective_savings_rate_pct"
FROM (
  SELECT
    "t1"."BillingCurrency" AS "currency",
    SUM(
      IF(
        (
          "t1"."ListCost" IS NOT NULL
        )
        AND (
          "t1"."ContractedCost" IS NOT NULL
        )
        AND (
          "t1"."EffectiveCost" IS NOT NULL
        ),
        "t1"."ListCost",
        CAST(0 AS DECIMAL(38, 12))
      )
    ) AS "list_cost",
    SUM(
      IF(
        (
          "t1"."ListCost" IS NOT NULL
        )
        AND (
          "t1"."ContractedCost" IS NOT NULL
        )
        AND (
          "t1"."EffectiveCost" IS NOT NULL
        ),
        "t1"."ContractedCost",
        CAST(0 AS DECIMAL(38, 12))
      )
    ) AS "contracted_cost",
    SUM(
      IF(
        (
          "t1"."ListCost" IS NOT NULL
        )
        AND (
          "t1"."ContractedCost" IS NOT NULL
        )
        AND (
          "t1"."EffectiveCost" IS NOT NULL
        ),
        "t1"."EffectiveCost",
        CAST(0 AS DECIMAL(38, 12))
      )
    ) AS "effective_cost",
    SUM(
      CAST(NOT (
        (
          "t1"."ListCost" IS NOT NULL
        )
        AND (
          "t1"."ContractedCost" IS NOT NULL
        )
        AND (
          "t1"."EffectiveCost" IS NOT NULL
        )
      ) AS BIGINT)
    ) AS "rows_without_prices"
  FROM (
    SELECT
      *
    FROM "focus_export" AS "t0"
    WHERE
      DATE_FORMAT("t0"."BillingPeriodStart", '%Y-%m') = '2024-09'
      AND "t0"."ChargeCategory" <> 'Purchase'
  ) AS "t1"
  GROUP BY
    1
) AS "t2"
ORDER BY
  "t2"."currency" ASC
