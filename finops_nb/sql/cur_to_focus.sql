-- description: map typed AWS CUR rows (CUR 2.0 / Athena names, table "__input") to the canonical FOCUS table.
--              BilledCost = unblended cost. EffectiveCost = AWS's amortized cost per line item type (AWS CUR
--              query library, "amortized cost"): SavingsPlanCoveredUsage -> SP effective cost;
--              SavingsPlanRecurringFee -> unused commitment (total commitment to date - used commitment);
--              SavingsPlanNegation, SavingsPlanUpfrontFee -> 0; DiscountedUsage -> reservation effective cost;
--              RIFee -> unused amortized upfront + unused recurring fee; Fee of a reservation (upfront) -> 0;
--              Refund of an upfront commitment fee -> 0 (the fee counted 0); anything else -> unblended cost.
--              Discount line types (EdpDiscount, PrivateRateDiscount, BundledDiscount, ...) are ChargeCategory
--              Credit with x_LineItemType kept, so they show apart as discounts.
--              FOCUS representation of unused commitment: a commitment's Purchase row (SavingsPlanRecurringFee,
--              RIFee) has EffectiveCost 0, and its amortized unused part becomes a Usage row of that commitment
--              with CommitmentDiscountStatus 'Unused' (BilledCost, ListCost, ContractedCost 0; x_LineItemType
--              and every other column as on the fee row). Totals are unchanged; the table has one more row
--              per fee row with an unused part.
--              Lists of values are tested with list_contains: DuckDB plans a long IN (...) as a join.
-- parameters:  none
-- output:      the columns of finops_nb.schema.COLUMNS in order, then x_ CUR detail columns, then the
--              reader's __ check columns (the store's view leaves them out)
WITH c AS (
    SELECT *,
        line_item_line_item_type AS lit,
        list_contains(['Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage'], line_item_line_item_type) AS is_usage,
        list_contains(['SavingsPlanCoveredUsage', 'SavingsPlanNegation', 'SavingsPlanRecurringFee',
                                     'SavingsPlanUpfrontFee'], line_item_line_item_type) AS is_sp,
        (list_contains(['DiscountedUsage', 'RIFee'], line_item_line_item_type)
         OR (line_item_line_item_type = 'Fee' AND reservation_reservation_a_r_n IS NOT NULL)) AS is_ri,
        (line_item_line_item_type = 'Refund'
         AND (line_item_product_code ILIKE '%SavingsPlans' OR savings_plan_savings_plan_a_r_n IS NOT NULL
              OR reservation_reservation_a_r_n IS NOT NULL
              OR line_item_line_item_description ILIKE '%Savings Plan%'
              OR line_item_line_item_description ILIKE '%Reserved Instance%')
         AND (line_item_line_item_description ILIKE '%one-time fee%'
              OR line_item_line_item_description ILIKE '%upfront%')) AS is_upfront_refund
    FROM __input
),
mapped AS (
SELECT
    line_item_availability_zone AS AvailabilityZone,
    line_item_unblended_cost AS BilledCost,
    bill_payer_account_id AS BillingAccountId,
    bill_payer_account_name AS BillingAccountName,
    CAST(NULL AS VARCHAR) AS BillingAccountType,
    line_item_currency_code AS BillingCurrency,
    coalesce(bill_billing_period_end_date, bill_billing_period_start_date + INTERVAL 1 MONTH) AS BillingPeriodEnd,
    bill_billing_period_start_date AS BillingPeriodStart,
    CAST(NULL AS VARCHAR) AS CapacityReservationId,
    CAST(NULL AS VARCHAR) AS CapacityReservationStatus,
    CASE
        WHEN list_contains(['Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage', 'SavingsPlanNegation'], lit) THEN 'Usage'
        WHEN list_contains(['Fee', 'RIFee', 'SavingsPlanRecurringFee', 'SavingsPlanUpfrontFee'], lit) THEN 'Purchase'
        WHEN lit = 'Tax' THEN 'Tax'
        WHEN list_contains(['Credit', 'Refund'], lit) OR lit LIKE '%Discount' THEN 'Credit'
        ELSE 'Adjustment'
    END AS ChargeCategory,
    CAST(NULL AS VARCHAR) AS ChargeClass,
    line_item_line_item_description AS ChargeDescription,
    CASE
        WHEN list_contains(['RIFee', 'SavingsPlanRecurringFee'], lit) THEN 'Recurring'
        WHEN is_usage OR lit = 'SavingsPlanNegation' OR lit LIKE '%Discount' THEN 'Usage-Based'
        ELSE 'One-Time'
    END AS ChargeFrequency,
    line_item_usage_end_date AS ChargePeriodEnd,
    line_item_usage_start_date AS ChargePeriodStart,
    CASE WHEN is_sp THEN 'Spend' WHEN is_ri THEN 'Usage' END AS CommitmentDiscountCategory,
    CASE WHEN is_sp THEN savings_plan_savings_plan_a_r_n WHEN is_ri THEN reservation_reservation_a_r_n
    END AS CommitmentDiscountId,
    CAST(NULL AS VARCHAR) AS CommitmentDiscountName,
    CAST(NULL AS DECIMAL(38, 12)) AS CommitmentDiscountQuantity,
    CASE WHEN list_contains(['SavingsPlanCoveredUsage', 'DiscountedUsage', 'SavingsPlanNegation'], lit) THEN 'Used'
    END AS CommitmentDiscountStatus,
    CASE WHEN is_sp THEN 'Savings Plan' WHEN is_ri THEN 'Reserved Instance' END AS CommitmentDiscountType,
    CAST(NULL AS VARCHAR) AS CommitmentDiscountUnit,
    CASE WHEN is_usage THEN line_item_usage_amount END AS ConsumedQuantity,
    CASE WHEN is_usage THEN pricing_unit END AS ConsumedUnit,
    CASE
        WHEN lit = 'DiscountedUsage' THEN pricing_public_on_demand_cost
        WHEN lit = 'SavingsPlanNegation' THEN 0
        ELSE line_item_unblended_cost
    END AS ContractedCost,
    CASE WHEN is_usage THEN line_item_unblended_rate END AS ContractedUnitPrice,
    CASE
        WHEN lit = 'SavingsPlanCoveredUsage' THEN savings_plan_savings_plan_effective_cost
        WHEN lit = 'SavingsPlanRecurringFee' THEN savings_plan_total_commitment_to_date - savings_plan_used_commitment
        WHEN list_contains(['SavingsPlanNegation', 'SavingsPlanUpfrontFee'], lit) THEN 0
        WHEN lit = 'DiscountedUsage' THEN reservation_effective_cost
        WHEN lit = 'RIFee' THEN reservation_unused_amortized_upfront_fee_for_billing_period
                                + reservation_unused_recurring_fee
        WHEN lit = 'Fee' AND reservation_reservation_a_r_n IS NOT NULL THEN 0
        WHEN is_upfront_refund THEN 0
        ELSE line_item_unblended_cost
    END AS EffectiveCost,
    bill_invoice_id AS InvoiceId,
    coalesce(bill_billing_entity, 'AWS') AS InvoiceIssuerName,
    CASE
        WHEN is_usage THEN coalesce(pricing_public_on_demand_cost, line_item_unblended_cost)
        WHEN lit = 'SavingsPlanNegation' OR lit LIKE '%Discount' THEN 0
        ELSE line_item_unblended_cost
    END AS ListCost,
    CASE WHEN is_usage THEN pricing_public_on_demand_rate END AS ListUnitPrice,
    CASE
        WHEN list_contains(['SavingsPlanCoveredUsage', 'DiscountedUsage'], lit) THEN 'Committed'
        WHEN lit = 'Usage' AND (pricing_term = 'Spot' OR line_item_usage_type ILIKE '%SpotUsage%') THEN 'Dynamic'
        WHEN lit = 'Usage' THEN 'Standard'
    END AS PricingCategory,
    CAST(NULL AS VARCHAR) AS PricingCurrency,
    CAST(NULL AS DECIMAL(38, 12)) AS PricingCurrencyContractedUnitPrice,
    CAST(NULL AS DECIMAL(38, 12)) AS PricingCurrencyEffectiveCost,
    CAST(NULL AS DECIMAL(38, 12)) AS PricingCurrencyListUnitPrice,
    CASE WHEN is_usage THEN line_item_usage_amount END AS PricingQuantity,
    CASE WHEN is_usage THEN pricing_unit END AS PricingUnit,
    'AWS' AS ProviderName,
    coalesce(line_item_legal_entity, 'AWS') AS PublisherName,
    coalesce(product_region_code, product_region) AS RegionId,
    product_location AS RegionName,
    line_item_resource_id AS ResourceId,
    CAST(NULL AS VARCHAR) AS ResourceName,
    CAST(NULL AS VARCHAR) AS ResourceType,
    CASE
        WHEN list_contains(['Storage', 'Storage Snapshot', 'System Operation', 'Provisioned Throughput'], product_product_family)
             OR list_contains(['AmazonS3', 'AmazonEFS', 'AmazonFSx', 'AWSBackup', 'AmazonS3GlacierDeepArchive',
                                           'AmazonGlacier'], line_item_product_code) THEN 'Storage'
        WHEN list_contains(['Data Transfer', 'NAT Gateway', 'IP Address', 'Load Balancer',
                                        'Load Balancer-Application', 'Load Balancer-Network', 'VpcEndpoint'], product_product_family)
             OR list_contains(['AWSDataTransfer', 'AmazonVPC', 'AmazonCloudFront', 'AmazonRoute53',
                                           'AWSELB', 'AmazonApiGateway', 'AWSDirectConnect'], line_item_product_code) THEN 'Networking'
        WHEN list_contains(['AmazonEC2', 'AWSLambda', 'AmazonECS', 'AmazonEKS', 'AWSFargate',
                                        'AmazonLightsail', 'AWSBatch', 'ComputeSavingsPlans'], line_item_product_code) THEN 'Compute'
        WHEN list_contains(['AmazonRDS', 'AmazonDynamoDB', 'AmazonElastiCache', 'AmazonRedshift',
                                        'AmazonDocDB', 'AmazonNeptune', 'AmazonMemoryDB'], line_item_product_code) THEN 'Databases'
        WHEN list_contains(['AmazonCloudWatch', 'AWSConfig', 'AWSCloudTrail', 'AWSSystemsManager',
                                        'AWSSupportBusiness', 'AWSSupportEnterprise'], line_item_product_code) THEN 'Management and Governance'
        WHEN list_contains(['AmazonSNS', 'AWSQueueService', 'AmazonMQ', 'AmazonKinesis',
                                        'AWSEvents', 'AmazonStates'], line_item_product_code) THEN 'Integration'
        WHEN list_contains(['AmazonGuardDuty', 'AWSSecurityHub', 'awskms', 'AWSSecretsManager', 'awswaf',
                                        'AmazonInspectorV2', 'AWSShield'], line_item_product_code) THEN 'Security'
        WHEN list_contains(['AmazonAthena', 'AWSGlue', 'AmazonES', 'AmazonOpenSearchService',
                                        'ElasticMapReduce', 'AmazonQuickSight'], line_item_product_code) THEN 'Analytics'
        WHEN list_contains(['AmazonSageMaker', 'AmazonBedrock', 'AmazonRekognition'], line_item_product_code) THEN 'AI and Machine Learning'
        ELSE 'Other'
    END AS ServiceCategory,
    coalesce(product_product_name, line_item_product_code) AS ServiceName,
    CASE
        WHEN ServiceCategory = 'Compute' AND line_item_product_code = 'AmazonEC2'
             AND (line_item_usage_type ILIKE '%BoxUsage%' OR line_item_usage_type ILIKE '%SpotUsage%')
             THEN 'Virtual Machines'
        WHEN ServiceCategory = 'Compute' AND line_item_product_code = 'AWSLambda' THEN 'Serverless Compute'
        WHEN ServiceCategory = 'Storage' AND line_item_product_code = 'AmazonS3' THEN 'Object Storage'
        WHEN ServiceCategory = 'Storage' AND (line_item_usage_type ILIKE '%EBS:Volume%'
                                             OR line_item_usage_type ILIKE '%EBS:Snapshot%') THEN 'Block Storage'
        ELSE 'Other (' || ServiceCategory || ')'
    END AS ServiceSubcategory,
    product_sku AS SkuId,
    CAST(NULL AS VARCHAR) AS SkuMeter,
    CAST(NULL AS VARCHAR) AS SkuPriceDetails,
    CAST(NULL AS VARCHAR) AS SkuPriceId,
    line_item_usage_account_id AS SubAccountId,
    line_item_usage_account_name AS SubAccountName,
    CAST(NULL AS VARCHAR) AS SubAccountType,
    Tags,
    lit AS x_LineItemType,
    line_item_product_code AS x_ServiceCode,
    line_item_usage_type AS x_UsageType,
    line_item_operation AS x_Operation,
    product_instance_type AS x_InstanceType,
    product_operating_system AS x_OperatingSystem,
    product_product_family AS x_ProductFamily,
    pricing_term AS x_PricingTerm,
    pricing_public_on_demand_cost AS x_PublicOnDemandCost,
    pricing_public_on_demand_rate AS x_PublicOnDemandRate,
    line_item_usage_amount AS x_UsageAmount,
    bill_bill_type AS x_BillType,
    bill_invoice_id IS NULL AS x_Provisional,
    savings_plan_savings_plan_effective_cost AS x_SavingsPlanEffectiveCost,
    savings_plan_total_commitment_to_date AS x_SavingsPlanTotalCommitmentToDate,
    savings_plan_used_commitment AS x_SavingsPlanUsedCommitment,
    savings_plan_end_time AS x_SavingsPlanEndTime,
    reservation_effective_cost AS x_ReservationEffectiveCost,
    reservation_unused_amortized_upfront_fee_for_billing_period AS x_ReservationUnusedAmortizedUpfrontFee,
    reservation_unused_recurring_fee AS x_ReservationUnusedRecurringFee,
    reservation_end_time AS x_ReservationEndTime,
    x_CostCategories,
    COLUMNS('^__')
FROM c
)
-- one row out per row in, plus (unnest of [false, true]) the unused part of a fee row: the input is read once
SELECT * EXCLUDE (__unused) REPLACE (
    CASE WHEN __unused THEN 0 ELSE BilledCost END AS BilledCost,
    CASE WHEN __unused THEN 0 ELSE ListCost END AS ListCost,
    CASE WHEN __unused THEN 0 ELSE ContractedCost END AS ContractedCost,
    CASE WHEN __unused THEN 'Usage' ELSE ChargeCategory END AS ChargeCategory,
    CASE WHEN __unused THEN 'Usage-Based' ELSE ChargeFrequency END AS ChargeFrequency,
    CASE WHEN __unused THEN 'Committed' ELSE PricingCategory END AS PricingCategory,
    CASE WHEN __unused THEN 'Unused' ELSE CommitmentDiscountStatus END AS CommitmentDiscountStatus,
    CASE WHEN NOT __unused AND list_contains(['SavingsPlanRecurringFee', 'RIFee'], x_LineItemType) THEN 0
         ELSE EffectiveCost END AS EffectiveCost)
FROM (
    SELECT *, unnest(CASE WHEN list_contains(['SavingsPlanRecurringFee', 'RIFee'], x_LineItemType) AND EffectiveCost <> 0
                          THEN [false, true] ELSE [false] END) AS __unused
    FROM mapped
)
