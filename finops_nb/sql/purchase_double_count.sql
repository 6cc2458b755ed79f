-- description: commitment Purchase rows whose EffectiveCost would be counted twice: per commitment and
--              billing period, purchase EffectiveCost + usage EffectiveCost exceeds the purchase BilledCost.
-- parameters:  none (reads the canonical table "charges")
-- output:      CommitmentDiscountId, BillingPeriodStart, purchase_effective_cost
WITH purchase AS (
    SELECT CommitmentDiscountId, BillingPeriodStart,
           sum(BilledCost) AS billed, sum(EffectiveCost) AS effective
    FROM charges
    WHERE ChargeCategory = 'Purchase' AND CommitmentDiscountId IS NOT NULL
    GROUP BY ALL
), usage AS (
    SELECT CommitmentDiscountId, BillingPeriodStart, sum(EffectiveCost) AS effective
    FROM charges
    WHERE ChargeCategory = 'Usage' AND CommitmentDiscountId IS NOT NULL
    GROUP BY ALL
)
SELECT p.CommitmentDiscountId, p.BillingPeriodStart, p.effective AS purchase_effective_cost
FROM purchase p JOIN usage u USING (CommitmentDiscountId, BillingPeriodStart)
WHERE p.effective <> 0 AND p.effective + u.effective > p.billed;
