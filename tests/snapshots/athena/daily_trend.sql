SELECT
  *
FROM (
  SELECT
    DATE_TRUNC('DAY', "t1"."ChargePeriodStart") AS "day",
    "t1"."BillingCurrency" AS "currency",
    SUM("t1"."BilledCost") AS "billed_cost",
    SUM("t1"."EffectiveCost") AS "effective_cost"
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
  "t2"."day" ASC,
  "t2"."currency" ASC
