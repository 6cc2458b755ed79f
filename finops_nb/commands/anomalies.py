"""``finops-nb anomalies``: days whose cost jumped above the trailing median, with what drove them.

    finops-nb anomalies --data bills/ --month 2026-11
    finops-nb anomalies --data bills/ --month 2026-11 --rules owners.yaml --json
"""

from __future__ import annotations

import json
import sys

EXIT_OK = 0


def add_parser(sub) -> None:
    p = sub.add_parser("anomalies", help="anomalous days per (service, account), or per owner with --rules")
    p.add_argument("--data", default="sample", help="billing export: file or folder; 'sample' = shipped sample")
    p.add_argument("--month", required=True, help="billing period YYYY-MM (or 'last'): anomalies on its days")
    p.add_argument("--rules", help="owner rules file (YAML/JSON): detect per owner instead of (service, account)")
    p.add_argument("--window", type=int, default=14, help="trailing days of the median and MAD (default 14)")
    p.add_argument("--k", type=float, default=3.0, help="robust standard deviations above the median (default 3)")
    p.add_argument("--pct", type=float, default=0.20, help="minimum share of the median above it (default 0.20)")
    p.add_argument("--min-impact", type=float, default=10.0, help="minimum cost - median (default 10)")
    p.add_argument("--top", type=int, default=20, help="anomalies shown, largest impact first")
    p.add_argument("--format", default="auto", choices=["auto", "focus", "cur"])
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args) -> int:
    from finops_nb import load_charges
    from finops_nb.analyses import allocation, anomalies
    from finops_nb.analyses.common import month_bounds, resolve_month
    from finops_nb.commands.allocation import _read

    month = resolve_month(args.month)
    rules = allocation.load_rules(_read(args.rules, "rules"), source=args.rules) if args.rules else None
    keys = ["owner"] if rules else list(anomalies.DEFAULT_KEYS)
    t = load_charges(args.data, format=args.format).table
    daily = anomalies.daily_cost(t, keys, rules=rules).execute()
    found = anomalies.detect_anomalies(daily, keys, window=args.window, mad_k=args.k, pct=args.pct,
                                       min_impact=args.min_impact)
    start, end = month_bounds(month)
    found = found[(found.day >= start) & (found.day < end)].head(args.top)
    found = anomalies.describe_anomalies(t, found, keys, window=args.window, rules=rules)
    cols = ["day", "currency", *keys, "cost", "median", "threshold", "impact", "top_usage_types", "top_resources"]
    if args.json:
        records = [{k: (v.date().isoformat() if k == "day" else v) for k, v in r.items()}
                   for r in found[cols].to_dict(orient="records")]
        print(json.dumps(records, indent=2, default=str))
        return EXIT_OK
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Anomalies in {month} (window {args.window} days, k {args.k}, pct {args.pct:.0%}, "
                  f"impact >= {args.min_impact:g})")
    for c in cols:
        table.add_column(c)
    for r in found[cols].itertuples(index=False):
        table.add_row(*[v.date().isoformat() if hasattr(v, "date") else f"{v:,.2f}" if isinstance(v, float)
                        else str(v) for v in r])
    Console(width=None if sys.stdout.isatty() else 220).print(table)
    if found.empty:
        print("no anomalies", file=sys.stderr)
    return EXIT_OK
