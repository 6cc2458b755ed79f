SELECT
  *
FROM (
  SELECT
    "t1"."BillingCurrency" AS "currency",
    "t1"."ServiceName",
    SUM("t1"."EffectiveCost") AS "cost",
    COUNT(*) AS "rows"
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
  "t2"."cost" DESC,
  "t2"."currency" ASC,
  "t2"."ServiceName" ASC
LIMIT 10
