"""AWS Cost Explorer purchase recommendations (Savings Plans and Reserved Instances) through boto3, and how
they compare with ours.

- ``fetch_savings_plans_recommendation``: ``ce:GetSavingsPlansPurchaseRecommendation``
  (https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_GetSavingsPlansPurchaseRecommendation.html)
- ``fetch_reservation_recommendation``: ``ce:GetReservationPurchaseRecommendation``
  (https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_GetReservationPurchaseRecommendation.html)
- ``compare_with_cost_explorer``: our best commitment beside Cost Explorer's, with the reasons they differ.

Both calls are paginated with ``NextPageToken``; every amount in the response is a string, read as float.
Cost Explorer offers lookbacks of 7, 30 and 60 days only.
"""

from __future__ import annotations

import boto3
import pandas as pd

from finops_nb.errors import ConfigError
from finops_nb.sources.aws import client

TERMS = {"1y": "ONE_YEAR", "3y": "THREE_YEARS"}
PAYMENTS = {"no-upfront": "NO_UPFRONT", "partial-upfront": "PARTIAL_UPFRONT", "all-upfront": "ALL_UPFRONT"}
LOOKBACKS = {7: "SEVEN_DAYS", 30: "THIRTY_DAYS", 60: "SIXTY_DAYS"}
SP_TYPES = {"compute_sp": "COMPUTE_SP", "ec2_instance_sp": "EC2_INSTANCE_SP"}
EC2_SERVICE = "Amazon Elastic Compute Cloud - Compute"


def _options(term: str, payment: str, lookback_days: int) -> dict:
    for value, allowed, what in ((term, TERMS, "term"), (payment, PAYMENTS, "payment option"),
                                 (lookback_days, LOOKBACKS, "lookback (days)")):
        if value not in allowed:
            raise ConfigError(f"Cost Explorer {what} {value!r}: use one of {', '.join(map(str, allowed))}")
    return {"TermInYears": TERMS[term], "PaymentOption": PAYMENTS[payment],
            "LookbackPeriodInDays": LOOKBACKS[lookback_days]}


def _num(value) -> float | None:
    return None if value in (None, "") else float(value)


def _pages(call, request: dict):
    token = None
    while True:
        page = call(**request, **({"NextPageToken": token} if token else {}))
        yield page
        token = page.get("NextPageToken")
        if not token:
            return


def fetch_savings_plans_recommendation(*, term: str = "1y", payment: str = "no-upfront", lookback_days: int = 30,
                                       plan: str = "compute_sp", account_scope: str = "PAYER",
                                       session: boto3.Session | None = None, ce_client=None) -> pd.DataFrame:
    """Cost Explorer's Savings Plans purchase recommendation: one row per recommendation detail, with the
    summary's figures (``summary_*``) repeated on each row. ``ce_client`` takes a prepared client (Stubber).

    Columns: plan, term, payment, lookback_days, account_id, region, instance_family, currency,
    hourly_commitment, upfront_cost, estimated_utilization_pct, estimated_savings, estimated_savings_pct,
    estimated_monthly_savings, estimated_sp_cost, estimated_on_demand_cost, avg/min/max_hourly_on_demand,
    summary_hourly_commitment, summary_monthly_savings, summary_savings_pct, recommendation_id, generated.
    """
    if plan not in SP_TYPES:
        raise ConfigError(f"Savings Plans type {plan!r}: use one of {', '.join(SP_TYPES)}")
    ce = ce_client or client("ce", session)
    request = {"SavingsPlansType": SP_TYPES[plan], "AccountScope": account_scope,
               **_options(term, payment, lookback_days)}
    rows = []
    for page in _pages(ce.get_savings_plans_purchase_recommendation, request):
        rec = page.get("SavingsPlansPurchaseRecommendation", {})
        summary = rec.get("SavingsPlansPurchaseRecommendationSummary", {})
        meta = page.get("Metadata", {})
        for d in rec.get("SavingsPlansPurchaseRecommendationDetails", []):
            sp = d.get("SavingsPlansDetails", {})
            rows.append({
                "plan": plan, "term": term, "payment": payment, "lookback_days": lookback_days,
                "account_id": d.get("AccountId"), "region": sp.get("Region"),
                "instance_family": sp.get("InstanceFamily"), "currency": d.get("CurrencyCode"),
                "hourly_commitment": _num(d.get("HourlyCommitmentToPurchase")),
                "upfront_cost": _num(d.get("UpfrontCost")),
                "estimated_utilization_pct": _num(d.get("EstimatedAverageUtilization")),
                "estimated_savings": _num(d.get("EstimatedSavingsAmount")),
                "estimated_savings_pct": _num(d.get("EstimatedSavingsPercentage")),
                "estimated_monthly_savings": _num(d.get("EstimatedMonthlySavingsAmount")),
                "estimated_sp_cost": _num(d.get("EstimatedSPCost")),
                "estimated_on_demand_cost": _num(d.get("EstimatedOnDemandCost")),
                "avg_hourly_on_demand": _num(d.get("CurrentAverageHourlyOnDemandSpend")),
                "min_hourly_on_demand": _num(d.get("CurrentMinimumHourlyOnDemandSpend")),
                "max_hourly_on_demand": _num(d.get("CurrentMaximumHourlyOnDemandSpend")),
                "summary_hourly_commitment": _num(summary.get("HourlyCommitmentToPurchase")),
                "summary_monthly_savings": _num(summary.get("EstimatedMonthlySavingsAmount")),
                "summary_savings_pct": _num(summary.get("EstimatedSavingsPercentage")),
                "recommendation_id": meta.get("RecommendationId"), "generated": meta.get("GenerationTimestamp"),
            })
    return pd.DataFrame(rows)


def fetch_reservation_recommendation(*, term: str = "1y", payment: str = "no-upfront", lookback_days: int = 30,
                                     service: str = EC2_SERVICE, offering_class: str = "STANDARD",
                                     account_scope: str = "PAYER", session: boto3.Session | None = None,
                                     ce_client=None) -> pd.DataFrame:
    """Cost Explorer's Reserved Instance purchase recommendation for ``service`` (EC2 by default): one row
    per recommended instance type, region and platform.

    Columns: term, payment, lookback_days, account_id, instance_type, family, region, platform, tenancy,
    instances_to_purchase, avg_instances_per_hour, min_instances_per_hour, estimated_utilization_pct,
    estimated_monthly_savings, estimated_monthly_savings_pct, estimated_monthly_on_demand_cost,
    upfront_cost, recurring_monthly_cost, break_even_months, currency.
    """
    ce = ce_client or client("ce", session)
    request = {"Service": service, "AccountScope": account_scope, **_options(term, payment, lookback_days)}
    if service == EC2_SERVICE:
        request["ServiceSpecification"] = {"EC2Specification": {"OfferingClass": offering_class}}
    rows = []
    for page in _pages(ce.get_reservation_purchase_recommendation, request):
        for rec in page.get("Recommendations", []):
            for d in rec.get("RecommendationDetails", []):
                ec2 = d.get("InstanceDetails", {}).get("EC2InstanceDetails", {})
                rows.append({
                    "term": term, "payment": payment, "lookback_days": lookback_days,
                    "account_id": d.get("AccountId"), "instance_type": ec2.get("InstanceType"),
                    "family": ec2.get("Family"), "region": ec2.get("Region"), "platform": ec2.get("Platform"),
                    "tenancy": ec2.get("Tenancy"),
                    "instances_to_purchase": _num(d.get("RecommendedNumberOfInstancesToPurchase")),
                    "avg_instances_per_hour": _num(d.get("AverageNumberOfInstancesUsedPerHour")),
                    "min_instances_per_hour": _num(d.get("MinimumNumberOfInstancesUsedPerHour")),
                    "estimated_utilization_pct": _num(d.get("AverageUtilization")),
                    "estimated_monthly_savings": _num(d.get("EstimatedMonthlySavingsAmount")),
                    "estimated_monthly_savings_pct": _num(d.get("EstimatedMonthlySavingsPercentage")),
                    "estimated_monthly_on_demand_cost": _num(d.get("EstimatedMonthlyOnDemandCost")),
                    "upfront_cost": _num(d.get("UpfrontCost")),
                    "recurring_monthly_cost": _num(d.get("RecurringStandardMonthlyCost")),
                    "break_even_months": _num(d.get("EstimatedBreakEvenInMonths")),
                    "currency": d.get("CurrencyCode"),
                })
    return pd.DataFrame(rows)


def compare_with_cost_explorer(ours: pd.Series, ce: pd.DataFrame, *, discount: float, discount_source: str,
                               lookback_days: int, hours: int, netted_expiring: bool = False,
                               hourly_from_daily: bool = False) -> tuple[pd.DataFrame, list[str]]:
    """Our best commitment (a ``simulate_commitment`` / ``optimal_commitment`` row over ``hours`` hours) beside
    Cost Explorer's Savings Plans recommendation, and the reasons for a difference.

    Cost Explorer's implied discount: ``d_ce = savings / (sp_cost + savings)`` (the on-demand cost its
    commitment covers is what the plan costs plus what it saves). Monthly figures: ours scaled by
    ``730 / hours`` (AWS's month of 730 hours).
    """
    ce_c = float(ce.hourly_commitment.sum()) if len(ce) else 0.0
    sav, cost = (float(ce.estimated_savings.fillna(0).sum()), float(ce.estimated_sp_cost.fillna(0).sum())) \
        if len(ce) else (0.0, 0.0)
    d_ce = sav / (sav + cost) if sav + cost else None
    ce_month = float(ce.estimated_monthly_savings.fillna(0).sum()) if len(ce) else 0.0
    ours_month = float(ours.savings) * 730 / hours if hours else 0.0
    table = pd.DataFrame([
        {"figure": "hourly commitment", "ours": float(ours.commitment_per_hour), "cost_explorer": ce_c},
        {"figure": "monthly savings (730 h)", "ours": ours_month, "cost_explorer": ce_month},
        {"figure": "utilization %", "ours": ours.utilization_pct,
         "cost_explorer": float(ce.estimated_utilization_pct.mean()) if len(ce) else None},
        {"figure": "discount", "ours": discount, "cost_explorer": d_ce},
        {"figure": "lookback days", "ours": lookback_days,
         "cost_explorer": int(ce.lookback_days.iloc[0]) if len(ce) else None},
    ])
    table["difference"] = [None if o is None or c is None or pd.isna(o) or pd.isna(c) else o - c
                           for o, c in zip(table.ours, table.cost_explorer, strict=True)]
    reasons = []
    if len(ce) and int(ce.lookback_days.iloc[0]) != lookback_days:
        reasons.append(f"lookback: ours {lookback_days} days, Cost Explorer {int(ce.lookback_days.iloc[0])} "
                       "(it offers 7, 30 or 60 only)")
    if d_ce is not None and abs(d_ce - discount) > 0.005:
        reasons.append(f"discount: ours {discount:.1%} ({discount_source}); Cost Explorer's implied "
                       f"{d_ce:.1%} from its own Savings Plans rates per usage type")
    if hourly_from_daily:
        reasons.append("granularity: the bill has daily rows, spread evenly over their hours here; Cost "
                       "Explorer uses its hourly usage, whose peaks and troughs change the best commitment")
    if netted_expiring:
        reasons.append("expiring commitments: ours adds back the usage they cover today; Cost Explorer nets "
                       "out the commitments you own now, expiring or not")
    if not len(ce):
        reasons.append("Cost Explorer has no recommendation for this term, payment option and lookback")
    reasons.append("objective: ours is the commitment with the highest savings on the bill's hours; Cost "
                   "Explorer's is chosen by its own model over its usage data (payer or linked-account scope)")
    return table, reasons
