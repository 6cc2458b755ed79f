"""Cost Explorer purchase recommendations through boto3, with botocore's Stubber (moto does not implement
these calls) and responses shaped like the documented ones (API_GetSavingsPlansPurchaseRecommendation.html,
API_GetReservationPurchaseRecommendation.html); never real AWS."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from finops_nb.analyses.commitments import optimal_commitment
from finops_nb.errors import ConfigError
from finops_nb.sources.aws import client
from finops_nb.sources.cost_explorer import (
    compare_with_cost_explorer,
    fetch_reservation_recommendation,
    fetch_savings_plans_recommendation,
)


@pytest.fixture
def ce():
    return client("ce", boto3.Session(region_name="us-east-1"))


def sp_detail(account, commitment, savings, sp_cost, monthly):
    return {"SavingsPlansDetails": {"Region": "", "InstanceFamily": "", "OfferingId": "o-1"},
            "AccountId": account, "UpfrontCost": "0.0", "EstimatedROI": "33.3", "CurrencyCode": "USD",
            "EstimatedSPCost": sp_cost, "EstimatedOnDemandCost": "10.0",
            "EstimatedOnDemandCostWithCurrentCommitment": "90.0", "EstimatedSavingsAmount": savings,
            "EstimatedSavingsPercentage": "25.0", "HourlyCommitmentToPurchase": commitment,
            "EstimatedAverageUtilization": "98.5", "EstimatedMonthlySavingsAmount": monthly,
            "CurrentMinimumHourlyOnDemandSpend": "3.9", "CurrentMaximumHourlyOnDemandSpend": "10.2",
            "CurrentAverageHourlyOnDemandSpend": "7.0",
            "RecommendationDetailId": "00000000-0000-0000-0000-000000000001"}


def sp_page(details, token=None):
    page = {"Metadata": {"RecommendationId": "rec-1", "GenerationTimestamp": "2025-04-02T00:00:00Z"},
            "SavingsPlansPurchaseRecommendation": {
                "AccountScope": "PAYER", "SavingsPlansType": "COMPUTE_SP", "TermInYears": "ONE_YEAR",
                "PaymentOption": "NO_UPFRONT", "LookbackPeriodInDays": "THIRTY_DAYS",
                "SavingsPlansPurchaseRecommendationDetails": details,
                "SavingsPlansPurchaseRecommendationSummary": {
                    "HourlyCommitmentToPurchase": "2.5", "EstimatedMonthlySavingsAmount": "600.0",
                    "EstimatedSavingsPercentage": "25.0", "CurrencyCode": "USD", "TotalRecommendationCount": "2"}}}
    if token:
        page["NextPageToken"] = token
    return page


REQUEST = {"SavingsPlansType": "COMPUTE_SP", "AccountScope": "PAYER", "TermInYears": "ONE_YEAR",
           "PaymentOption": "NO_UPFRONT", "LookbackPeriodInDays": "THIRTY_DAYS"}


def test_savings_plans_recommendation_paginates_and_normalizes(ce):
    stub = Stubber(ce)
    stub.add_response("get_savings_plans_purchase_recommendation",
                      sp_page([sp_detail("111", "2.0", "16.0", "48.0", "480.0")], token="p2"), REQUEST)
    stub.add_response("get_savings_plans_purchase_recommendation",
                      sp_page([sp_detail("222", "0.5", "4.0", "12.0", "120.0")]), {**REQUEST, "NextPageToken": "p2"})
    with stub:
        got = fetch_savings_plans_recommendation(term="1y", payment="no-upfront", lookback_days=30, ce_client=ce)
    stub.assert_no_pending_responses()
    assert got.account_id.tolist() == ["111", "222"]
    assert got.hourly_commitment.sum() == pytest.approx(2.5) and got.summary_hourly_commitment.iloc[0] == 2.5
    assert got.estimated_utilization_pct.iloc[0] == 98.5 and got.currency.iloc[0] == "USD"
    assert got.recommendation_id.iloc[0] == "rec-1"


def test_reservation_recommendation(ce):
    stub = Stubber(ce)
    detail = {"AccountId": "111", "InstanceDetails": {"EC2InstanceDetails": {
        "Family": "m5", "InstanceType": "m5.large", "Region": "us-east-1", "Platform": "Linux/UNIX",
        "Tenancy": "shared", "CurrentGeneration": True, "SizeFlexEligible": True}},
        "RecommendedNumberOfInstancesToPurchase": "3", "AverageNumberOfInstancesUsedPerHour": "3.4",
        "MinimumNumberOfInstancesUsedPerHour": "3", "AverageUtilization": "100.0",
        "EstimatedBreakEvenInMonths": "0.0", "CurrencyCode": "USD", "EstimatedMonthlySavingsAmount": "78.84",
        "EstimatedMonthlySavingsPercentage": "37.5", "EstimatedMonthlyOnDemandCost": "210.24",
        "UpfrontCost": "0.0", "RecurringStandardMonthlyCost": "131.4"}
    response = {"Metadata": {"RecommendationId": "r-1", "GenerationTimestamp": "2025-04-02T00:00:00Z"},
                "Recommendations": [{"AccountScope": "PAYER", "LookbackPeriodInDays": "SIXTY_DAYS",
                                     "TermInYears": "THREE_YEARS", "PaymentOption": "ALL_UPFRONT",
                                     "ServiceSpecification": {"EC2Specification": {"OfferingClass": "STANDARD"}},
                                     "RecommendationDetails": [detail],
                                     "RecommendationSummary": {"TotalEstimatedMonthlySavingsAmount": "78.84",
                                                               "CurrencyCode": "USD"}}]}
    stub.add_response("get_reservation_purchase_recommendation", response, {
        "Service": "Amazon Elastic Compute Cloud - Compute", "AccountScope": "PAYER", "TermInYears": "THREE_YEARS",
        "PaymentOption": "ALL_UPFRONT", "LookbackPeriodInDays": "SIXTY_DAYS",
        "ServiceSpecification": {"EC2Specification": {"OfferingClass": "STANDARD"}}})
    with stub:
        got = fetch_reservation_recommendation(term="3y", payment="all-upfront", lookback_days=60, ce_client=ce)
    stub.assert_no_pending_responses()
    row = got.iloc[0]
    assert (row.instance_type, row.region, row.platform, row.instances_to_purchase) == (
        "m5.large", "us-east-1", "Linux/UNIX", 3.0)
    assert row.estimated_monthly_savings == pytest.approx(78.84)


def test_cost_explorer_offers_no_90_day_lookback():
    with pytest.raises(ConfigError, match="lookback"):
        fetch_savings_plans_recommendation(lookback_days=90)


def test_side_by_side_with_reasons(ce):
    stub = Stubber(ce)
    stub.add_response("get_savings_plans_purchase_recommendation",
                      sp_page([sp_detail("111", "2.5", "20.0", "60.0", "600.0")]), REQUEST)
    with stub:
        rec = fetch_savings_plans_recommendation(ce_client=ce)
    # ours on the series at d = 30 %: C = 2.80, savings 28.80 over 24 h -> 28.80 * 730 / 24 = 876.00
    # a month. Cost Explorer: C = 2.50, implied discount 20 / (60 + 20) = 25 %.
    ours = optimal_commitment([10.0] * 12 + [4.0] * 12, discount=0.3)
    table, reasons = compare_with_cost_explorer(ours, rec, discount=0.3, discount_source="observed",
                                                lookback_days=90, hours=24, netted_expiring=True)
    t = table.set_index("figure")
    assert t.loc["hourly commitment", "ours"] == pytest.approx(2.8)
    assert t.loc["hourly commitment", "difference"] == pytest.approx(0.3)
    assert t.loc["monthly savings (730 h)", "ours"] == pytest.approx(876.0)
    assert t.loc["discount", "cost_explorer"] == pytest.approx(0.25)
    text = " | ".join(reasons)
    assert "lookback: ours 90 days, Cost Explorer 30" in text and "Cost Explorer's implied 25.0%" in text
    assert "expiring commitments" in text
