"""``finops-nb commitments``: the current state of each commitment and what to commit to.

    finops-nb commitments --data sample --month 2024-09
    finops-nb commitments --data cur/ --month last --lookback 60 --term 3y --payment all-upfront --json

``collect_commitments`` gathers what the command prints (and the notebook ``30-commitments`` shows) from the
pure analyses of ``finops_nb.analyses.commitments`` and ``finops_nb.analyses.overview.savings_breakdown``.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pandas as pd

from finops_nb.analyses import commitments as cm

EXIT_OK = 0
STATE_COLUMNS = ["currency", "CommitmentDiscountId", "CommitmentDiscountType", "basis", "utilization_pct",
                 "used_cost", "unused_cost", "hourly_commitment", "net_savings", "term_end", "term_end_source",
                 "days_left", "expires_within_days"]


def add_parser(sub) -> None:
    p = sub.add_parser("commitments", help="commitment utilization, expiry, coverage and the recommended commitment")
    p.add_argument("--data", default="sample", help="billing export: file or folder; 'sample' = shipped sample")
    p.add_argument("--month", required=True, help="billing period YYYY-MM (or 'last'); windows end at its end")
    p.add_argument("--lookback", type=int, default=30, choices=list(cm.LOOKBACK_DAYS),
                   help="days of hourly spend the recommendation is sized on (default 30)")
    p.add_argument("--term", default="1y", choices=list(cm.TERMS))
    p.add_argument("--payment", default="no-upfront", choices=list(cm.PAYMENTS))
    p.add_argument("--plan", default="compute_sp", choices=list(cm.PLANS),
                   help="which discount table row applies when the bill has no committed usage")
    p.add_argument("--expiring-within", type=int, default=90, metavar="DAYS",
                   help="commitments ending within DAYS of the month end are treated as gone (default 90)")
    p.add_argument("--format", default="auto", choices=["auto", "focus", "cur"])
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.set_defaults(func=run)


def collect_commitments(t, *, month: str, lookback_days: int = 30, term: str = "1y", payment: str = "no-upfront",
                        plan: str = "compute_sp", expiring_within: int = 90, state: pd.DataFrame | None = None,
                        observed: tuple[float, str] | None = None, coverage: pd.DataFrame | None = None,
                        savings: pd.DataFrame | None = None) -> dict:
    """Current state, coverage, savings split and one recommendation per currency.

    The recommendation is ``optimal_commitment`` over the hourly eligible spend of the lookback window, with
    the usage of commitments expiring within ``expiring_within`` days added back (``hourly_spend_after_expiry``)
    and the discount of ``discount_for(term, payment)`` (the bill's own rate where it has committed usage).
    A caller that has them already (notebook 30) passes ``state`` (``summarize_commitments``), ``observed``
    (``observed_discount``), ``coverage`` (``summarize_coverage(...).execute()``) and ``savings``
    (``savings_breakdown(...).execute()``) of the same table and month; else they are read here.
    """
    from finops_nb.analyses.common import for_month
    from finops_nb.analyses.overview import savings_breakdown

    state = cm.summarize_commitments(t, month=month) if state is None else state
    observed = cm.observed_discount(t, month=month) if observed is None else observed
    d, source = cm.discount_for(term, payment, plan=plan, observed=observed)
    hourly = cm.hourly_spend_after_expiry(t, month=month, within_days=expiring_within, lookback_days=lookback_days,
                                          state=state)
    recs = []
    if hourly.currency.isna().all():  # no eligible spend at all: the recommendation is to commit nothing
        currencies = for_month(t, month).BillingCurrency.name("c").as_table().distinct().execute().c
        hourly = pd.concat([hourly.assign(currency=c) for c in currencies.dropna()]) if len(currencies) else hourly
    for currency, part in hourly.dropna(subset=["currency"]).groupby("currency"):
        best = cm.optimal_commitment(part.eligible_after_expiry, discount=d)
        recs.append({"currency": currency, "plan": plan, "term": term, "payment": payment,
                     "lookback_days": lookback_days, "hours": len(part), "discount": d, "discount_source": source,
                     "eligible_on_demand": float(part.eligible_cost.sum()),
                     "expiring_added_back": float(part.expiring_covered_cost.sum()),
                     **{k: float(best[k]) for k in ("commitment_per_hour", "savings", "savings_pct",
                                                      "utilization_pct", "coverage_pct",
                                                      "break_even_utilization_pct")}})
    return {
        "month": month,
        "commitments": state[STATE_COLUMNS],
        "coverage": cm.summarize_coverage(t, month=month).execute() if coverage is None else coverage,
        "savings": savings_breakdown(t, month=month).execute() if savings is None else savings,
        "recommendation": pd.DataFrame(recs),
        "hourly": hourly,
        "discount": (d, source),
    }


def _plain(value):
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value


def _records(df: pd.DataFrame) -> list[dict]:
    return [{k: _plain(v) for k, v in rec.items()} for rec in df.to_dict(orient="records")]


def run(args) -> int:
    from finops_nb import load_charges
    from finops_nb.analyses.common import resolve_month

    month = resolve_month(args.month)
    t = load_charges(args.data, format=args.format).table
    got = collect_commitments(t, month=month, lookback_days=args.lookback, term=args.term, payment=args.payment,
                              plan=args.plan, expiring_within=args.expiring_within)
    doc = {"month": month, "commitments": _records(got["commitments"]), "coverage": _records(got["coverage"]),
           "savings": _records(got["savings"]), "recommendation": _records(got["recommendation"])}
    if args.json:
        print(json.dumps(doc, indent=2))
        return EXIT_OK
    with pd.option_context("display.width", 160, "display.max_columns", 20, "display.max_colwidth", 48):
        for key in ("commitments", "coverage", "savings", "recommendation"):
            print(f"\n{key} ({month})")
            frame = pd.DataFrame(doc[key])
            print(frame.to_string(index=False) if len(frame) else "(none)")
    return EXIT_OK
