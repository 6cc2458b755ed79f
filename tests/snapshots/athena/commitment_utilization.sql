SELECT
  *
FROM (
  SELECT
    "t3"."currency",
    "t3"."CommitmentDiscountId",
    "t3"."CommitmentDiscountType",
    "t3"."CommitmentDiscountCategory",
    "t3"."rows",
    "t3"."used_quantity",
    "t3"."unused_quantity",
    "t3"."used_cost",
    "t3"."unused_cost",
    "t3"."on_demand_equivalent",
    "t3"."purchase_billed_cost",
    "t3"."basis",
    "t3"."used",
    "t3"."unused",
    "t3"."utilization_pct",
    "t3"."net_savings"
  FROM (
    SELECT
      "t2"."currency",
      "t2"."CommitmentDiscountId",
      "t2"."CommitmentDiscountType",
      "t2"."CommitmentDiscountCategory",
      "t2"."rows",
      "t2"."rows_with_quantity",
      "t2"."used_quantity",
      "t2"."unused_quantity",
      "t2"."used_cost",
      "t2"."unused_cost",
      "t2"."on_demand_equivalent",
      "t2"."purchase_billed_cost",
      IF(
        (
          "t2"."rows" > 0
        ) AND (
          "t2"."rows_with_quantity" = "t2"."rows"
        ),
        'quantity',
        'effective cost'
      ) AS "basis",
      IF(
        (
          "t2"."rows" > 0
        ) AND (
          "t2"."rows_with_quantity" = "t2"."rows"
        ),
        "t2"."used_quantity",
        "t2"."used_cost"
      ) AS "used",
      IF(
        (
          "t2"."rows" > 0
        ) AND (
          "t2"."rows_with_quantity" = "t2"."rows"
        ),
        "t2"."unused_quantity",
        "t2"."unused_cost"
      ) AS "unused",
      IF(
        (
          IF(
            (
              "t2"."rows" > 0
            ) AND (
              "t2"."rows_with_quantity" = "t2"."rows"
            ),
            "t2"."used_quantity",
            "t2"."used_cost"
          ) + IF(
            (
              "t2"."rows" > 0
            ) AND (
              "t2"."rows_with_quantity" = "t2"."rows"
            ),
            "t2"."unused_quantity",
            "t2"."unused_cost"
          )
        ) <> 0,
        (
          CAST(IF(
            (
              "t2"."rows" > 0
            ) AND (
              "t2"."rows_with_quantity" = "t2"."rows"
            ),
            "t2"."used_quantity",
            "t2"."used_cost"
          ) AS DOUBLE) / CAST(IF(
            (
              "t2"."rows" > 0
            ) AND (
              "t2"."rows_with_quantity" = "t2"."rows"
            ),
            "t2"."used_quantity",
            "t2"."used_cost"
          ) + IF(
            (
              "t2"."rows" > 0
            ) AND (
              "t2"."rows_with_quantity" = "t2"."rows"
            ),
            "t2"."unused_quantity",
            "t2"."unused_cost"
          ) AS DOUBLE)
        ) * 100,
        CAST(NULL AS DOUBLE)
      ) AS "utilization_pct",
      (
        "t2"."on_demand_equivalent" - "t2"."used_cost"
      ) - "t2"."unused_cost" AS "net_savings"
    FROM (
      SELECT
        "t1"."BillingCurrency" AS "currency",
        "t1"."CommitmentDiscountId",
        MAX("t1"."CommitmentDiscountType") AS "CommitmentDiscountType",
        MAX("t1"."CommitmentDiscountCategory") AS "CommitmentDiscountCategory",
        SUM(
          CAST((
            "t1"."ChargeCategory" = 'Usage'
          )
          AND "t1"."CommitmentDiscountStatus" IN ('Used', 'Unused') AS BIGINT)
        ) AS "rows",
        SUM(
          CAST((
            "t1"."ChargeCategory" = 'Usage'
          )
          AND "t1"."CommitmentDiscountStatus" IN ('Used', 'Unused')
          AND (
            "t1"."CommitmentDiscountQuantity" IS NOT NULL
          ) AS BIGINT)
        ) AS "rows_with_quantity",
        SUM(
          IF(
            (
              "t1"."ChargeCategory" = 'Usage'
            )
            AND "t1"."CommitmentDiscountStatus" IN ('Used', 'Unused')
            AND (
              "t1"."CommitmentDiscountStatus" = 'Used'
            ),
            "t1"."CommitmentDiscountQuantity",
            CAST(0 AS DECIMAL(38, 12))
          )
        ) AS "used_quantity",
        SUM(
          IF(
            (
              "t1"."ChargeCategory" = 'Usage'
            )
            AND "t1"."CommitmentDiscountStatus" IN ('Used', 'Unused')
            AND (
              "t1"."CommitmentDiscountStatus" = 'Unused'
            ),
            "t1"."CommitmentDiscountQuantity",
            CAST(0 AS DECIMAL(38, 12))
          )
        ) AS "unused_quantity",
        SUM(
          IF(
            (
              "t1"."ChargeCategory" = 'Usage'
            )
            AND "t1"."CommitmentDiscountStatus" IN ('Used', 'Unused')
            AND (
              "t1"."CommitmentDiscountStatus" = 'Used'
            ),
            "t1"."EffectiveCost",
            CAST(0 AS DECIMAL(38, 12))
          )
        ) AS "used_cost",
        SUM(
          IF(
            (
              (
                "t1"."ChargeCategory" = 'Usage'
              )
              AND "t1"."CommitmentDiscountStatus" IN ('Used', 'Unused')
              AND (
                "t1"."CommitmentDiscountStatus" = 'Unused'
              )
            )
            OR (
              "t1"."ChargeCategory" = 'Purchase'
            ),
            "t1"."EffectiveCost",
            CAST(0 AS DECIMAL(38, 12))
          )
        ) AS "unused_cost",
        SUM(
          IF(
            (
              "t1"."ChargeCategory" = 'Usage'
            )
            AND "t1"."CommitmentDiscountStatus" IN ('Used', 'Unused')
            AND (
              "t1"."CommitmentDiscountStatus" = 'Used'
            ),
            "t1"."ContractedCost",
            CAST(0 AS DECIMAL(38, 12))
          )
        ) AS "on_demand_equivalent",
        SUM(
          IF("t1"."ChargeCategory" = 'Purchase', "t1"."BilledCost", CAST(0 AS DECIMAL(38, 12)))
        ) AS "purchase_billed_cost"
      FROM (
        SELECT
          *
        FROM "focus_export" AS "t0"
        WHERE
          DATE_FORMAT("t0"."BillingPeriodStart", '%Y-%m') = '2024-09'
          AND "t0"."CommitmentDiscountId" IS NOT NULL
          AND (
            (
              (
                "t0"."ChargeCategory" = 'Usage'
              )
              AND "t0"."CommitmentDiscountStatus" IN ('Used', 'Unused')
            )
            OR (
              "t0"."ChargeCategory" = 'Purchase'
            )
          )
      ) AS "t1"
      GROUP BY
        1,
        2
    ) AS "t2"
  ) AS "t3"
) AS "t4"
ORDER BY
  "t4"."CommitmentDiscountId" ASC
