SELECT
  *
FROM (
  SELECT
    "t1"."BillingCurrency" AS "currency",
    "t1"."ResourceId",
    SUM("t1"."EffectiveCost") AS "cost",
    MAX("t1"."ServiceName") AS "ServiceName",
    MAX("t1"."SubAccountName") AS "SubAccountName",
    MAX("t1"."RegionId") AS "RegionId",
    MAX("t1"."ProviderName") AS "ProviderName"
  FROM (
    SELECT
      *
    FROM "focus_export" AS "t0"
    WHERE
      DATE_FORMAT("t0"."BillingPeriodStart", '%Y-%m') = '2024-09'
      AND "t0"."ResourceId" IS NOT NULL
  ) AS "t1"
  GROUP BY
    1,
    2
) AS "t2"
ORDER BY
  "t2"."cost" DESC,
  "t2"."ResourceId" ASC
LIMIT 10
