-- description: map typed AWS CUR rows (CUR 2.0 / Athena names, table "__cur_all") to the canonical FOCUS table.
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
-- parameters:  none
-- output:      the columns of finops_nb.schema.COLUMNS in order, then x_ CUR detail columns
WITH c AS (
    SELECT *,
        line_item_line_item_type AS lit,
        line_item_line_item_type IN ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage') AS is_usage,
        line_item_line_item_type IN ('SavingsPlanCoveredUsage', 'SavingsPlanNegation', 'SavingsPlanRecurringFee',
                                     'SavingsPlanUpfrontFee') AS is_sp,
        (line_item_line_item_type IN ('DiscountedUsage', 'RIFee')
         OR (line_item_line_item_type = 'Fee' AND reservation_reservation_a_r_n IS NOT NULL)) AS is_ri,
        (line_item_line_item_type = 'Refund'
         AND (line_item_product_code ILIKE '%SavingsPlans' OR savings_plan_savings_plan_a_r_n IS NOT NULL
              OR reservation_reservation_a_r_n IS NOT NULL
              OR line_item_line_item_description ILIKE '%Savings Plan%'
              OR line_item_line_item_description ILIKE '%Reserved Instance%')
         AND (line_item_line_item_description ILIKE '%one-time fee%'
              OR line_item_line_item_description ILIKE '%upfront%')) AS is_upfront_refund
    FROM __cur_all
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
        WHEN lit IN ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage', 'SavingsPlanNegation') THEN 'Usage'
        WHEN lit IN ('Fee', 'RIFee', 'SavingsPlanRecurringFee', 'SavingsPlanUpfrontFee') THEN 'Purchase'
        WHEN lit = 'Tax' THEN 'Tax'
        WHEN lit IN ('Credit', 'Refund') OR lit LIKE '%Discount' THEN 'Credit'
        ELSE 'Adjustment'
    END AS ChargeCategory,
    CAST(NULL AS VARCHAR) AS ChargeClass,
    line_item_line_item_description AS ChargeDescription,
    CASE
        WHEN lit IN ('RIFee', 'SavingsPlanRecurringFee') THEN 'Recurring'
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
    CASE WHEN lit IN ('SavingsPlanCoveredUsage', 'DiscountedUsage', 'SavingsPlanNegation') THEN 'Used'
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
        WHEN lit IN ('SavingsPlanNegation', 'SavingsPlanUpfrontFee') THEN 0
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
        WHEN lit IN ('SavingsPlanCoveredUsage', 'DiscountedUsage') THEN 'Committed'
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
        WHEN product_product_family IN ('Storage', 'Storage Snapshot', 'System Operation', 'Provisioned Throughput')
             OR line_item_product_code IN ('AmazonS3', 'AmazonEFS', 'AmazonFSx', 'AWSBackup', 'AmazonS3GlacierDeepArchive',
                                           'AmazonGlacier') THEN 'Storage'
        WHEN product_product_family IN ('Data Transfer', 'NAT Gateway', 'IP Address', 'Load Balancer',
                                        'Load Balancer-Application', 'Load Balancer-Network', 'VpcEndpoint')
             OR line_item_product_code IN ('AWSDataTransfer', 'AmazonVPC', 'AmazonCloudFront', 'AmazonRoute53',
                                           'AWSELB', 'AmazonApiGateway', 'AWSDirectConnect') THEN 'Networking'
        WHEN line_item_product_code IN ('AmazonEC2', 'AWSLambda', 'AmazonECS', 'AmazonEKS', 'AWSFargate',
                                        'AmazonLightsail', 'AWSBatch', 'ComputeSavingsPlans') THEN 'Compute'
        WHEN line_item_product_code IN ('AmazonRDS', 'AmazonDynamoDB', 'AmazonElastiCache', 'AmazonRedshift',
                                        'AmazonDocDB', 'AmazonNeptune', 'AmazonMemoryDB') THEN 'Databases'
        WHEN line_item_product_code IN ('AmazonCloudWatch', 'AWSConfig', 'AWSCloudTrail', 'AWSSystemsManager',
                                        'AWSSupportBusiness', 'AWSSupportEnterprise') THEN 'Management and Governance'
        WHEN line_item_product_code IN ('AmazonSNS', 'AWSQueueService', 'AmazonMQ', 'AmazonKinesis',
                                        'AWSEvents', 'AmazonStates') THEN 'Integration'
        WHEN line_item_product_code IN ('AmazonGuardDuty', 'AWSSecurityHub', 'awskms', 'AWSSecretsManager', 'awswaf',
                                        'AmazonInspectorV2', 'AWSShield') THEN 'Security'
        WHEN line_item_product_code IN ('AmazonAthena', 'AWSGlue', 'AmazonES', 'AmazonOpenSearchService',
                                        'ElasticMapReduce', 'AmazonQuickSight') THEN 'Analytics'
        WHEN line_item_product_code IN ('AmazonSageMaker', 'AmazonBedrock', 'AmazonRekognition') THEN 'AI and Machine Learning'
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
    reservation_end_time AS x_ReservationEndTime
FROM c
),
fees AS (
    SELECT * FROM mapped WHERE x_LineItemType IN ('SavingsPlanRecurringFee', 'RIFee')
)
SELECT * REPLACE (
    CASE WHEN x_LineItemType IN ('SavingsPlanRecurringFee', 'RIFee') THEN 0 ELSE EffectiveCost END AS EffectiveCost)
FROM mapped
UNION ALL BY NAME
SELECT * REPLACE (
    CAST(0 AS DECIMAL(38, 12)) AS BilledCost,
    CAST(0 AS DECIMAL(38, 12)) AS ListCost,
    CAST(0 AS DECIMAL(38, 12)) AS ContractedCost,
    'Usage' AS ChargeCategory,
    'Usage-Based' AS ChargeFrequency,
    'Committed' AS PricingCategory,
    'Unused' AS CommitmentDiscountStatus)
FROM fees
WHERE EffectiveCost <> 0
