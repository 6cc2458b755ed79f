"""``finops-nb allocation``: showback/chargeback per owner and month from owner rules (YAML or JSON).

    finops-nb allocation --data sample --month 2024-09 --rules owners.yaml
    finops-nb allocation --data bills/ --month 2026-11 --rules owners.yaml --csv showback.csv --owner-dir out/
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path

EXIT_OK = 0


def add_parser(sub) -> None:
    p = sub.add_parser("allocation", help="cost per owner (direct, shared received, total) from owner rules")
    p.add_argument("--data", default="sample", help="billing export: file or folder; 'sample' = shipped sample")
    p.add_argument("--month", required=True, help="billing period YYYY-MM (or 'last')")
    p.add_argument("--rules", required=True, help="owner rules: a YAML/JSON list (see docs/allocation.md)")
    p.add_argument("--basis", default="amortized", choices=["amortized", "billed"],
                   help="amortized (EffectiveCost, showback) or billed (BilledCost, chargeback)")
    p.add_argument("--method", default="proportional", choices=["proportional", "even", "fixed"],
                   help="how cost of the owner 'shared' is split")
    p.add_argument("--percent", action="append", default=[], metavar="OWNER=PCT",
                   help="fixed split percentage (repeatable; with --method fixed; they must sum to 100)")
    p.add_argument("--credits", default="keep", choices=["keep", "spread"], help="credits stay with their owner "
                   "or are spread like shared cost")
    p.add_argument("--tax", default="keep", choices=["keep", "spread"], help="tax: keep with the owner or spread")
    p.add_argument("--budgets", help="CSV owner,month,amount,currency: adds budget, forecast and over_budget")
    p.add_argument("--format", default="auto", choices=["auto", "focus", "cur"])
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print JSON instead of a table")
    out.add_argument("--csv", metavar="FILE", help="write every owner's rows to FILE (CSV)")
    p.add_argument("--owner-dir", metavar="DIR", help="also write one CSV per owner into DIR")
    p.add_argument("--xlsx", metavar="FILE", help="also write a workbook: sheet showback (and budgets with --budgets)")
    p.set_defaults(func=run)


def _read(path: str, what: str) -> str:
    from finops_nb.errors import DataError

    try:
        return Path(path).read_text()
    except OSError as exc:
        raise DataError(f"cannot read the {what} file: {exc.strerror}", file=path) from exc


def _percentages(items: list[str]) -> dict[str, Decimal]:
    from finops_nb.errors import ConfigError

    out = {}
    for item in items:
        owner, sep, pct = item.rpartition("=")
        try:
            out[owner] = Decimal(pct)
        except ArithmeticError:
            owner = ""
        if not sep or not owner:
            raise ConfigError(f"--percent {item!r} is not OWNER=PCT (for example --percent platform=40)")
    return out


def showback_for(args):
    """The showback frame of ``args`` (and the budget comparison when --budgets is given)."""
    from finops_nb import load_charges
    from finops_nb.analyses import allocation, anomalies, forecast
    from finops_nb.analyses.common import resolve_month

    month = resolve_month(args.month)
    rules = allocation.load_rules(_read(args.rules, "rules"), source=args.rules)
    t = load_charges(args.data, format=args.format).table
    sb = allocation.showback(t, rules, month=month, basis=args.basis, method=args.method,
                             percentages=_percentages(args.percent) or None, credits=args.credits, tax=args.tax)
    if sb.empty:
        print(f"finops-nb: warning: no rows in billing period {month}", file=sys.stderr)
    budgets = None
    if args.budgets:
        b = allocation.parse_budgets(_read(args.budgets, "budgets"), source=args.budgets)
        from finops_nb.analyses.common import for_month

        daily = anomalies.daily_cost(for_month(t, month), ["owner"], rules=rules, basis=args.basis).execute()
        budgets = allocation.compare_budgets(sb, b, forecast.forecast_owners(daily, sb, month))
    return sb, budgets


def run(args) -> int:
    from finops_nb.analyses.allocation import owner_csv

    sb, budgets = showback_for(args)
    if args.owner_dir:
        folder = Path(args.owner_dir)
        folder.mkdir(parents=True, exist_ok=True)
        for owner in sorted(sb.owner.unique()):
            safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in owner) or "_"
            (folder / f"{safe}.csv").write_text(owner_csv(sb, owner))
    if args.xlsx:
        from finops_nb.exports import write_xlsx

        sheets = {"showback": sb.drop(columns=["period_total"])}
        if budgets is not None:
            sheets["budgets"] = budgets
        write_xlsx(sheets, args.xlsx)
    money = ["direct_cost", "shared_cost", "total_cost", "credits", "tax", "period_total"]
    if args.csv:
        sb.assign(**{c: [f"{v:.2f}" for v in sb[c]] for c in money if c != "period_total"}).drop(
            columns=["period_total"]).to_csv(args.csv, index=False)
        print(f"wrote {len(sb)} rows to {args.csv}")
        return EXIT_OK
    if args.json:
        doc = {"showback": sb.to_dict(orient="records"),
               "budgets": budgets.to_dict(orient="records") if budgets is not None else None}
        print(json.dumps(doc, default=lambda v: float(v) if isinstance(v, Decimal) else str(v), indent=2))
        return EXIT_OK
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Cost per owner, {args.month} ({args.basis}, shared split {args.method})")
    cols = ["billing_period", "currency", "owner", "direct_cost", "shared_cost", "total_cost"]
    for c in cols:
        table.add_column(c, justify="right" if c in money else "left")
    shown = sb.assign(_abs=[abs(v) for v in sb.total_cost]).sort_values(
        ["billing_period", "currency", "_abs", "owner"], ascending=[True, True, False, True])
    for r in shown[cols].itertuples(index=False):
        table.add_row(*[f"{v:,.2f}" if isinstance(v, Decimal) else str(v) for v in r])
    console = Console(width=None if sys.stdout.isatty() else 200)
    console.print(table)
    if budgets is not None:
        bt = Table(title="Budgets (forecast: run rate of the owner's direct cost)")
        bcols = ["month", "currency", "owner", "budget", "actual_cost", "forecast_cost", "over_budget"]
        for c in bcols:
            bt.add_column(c)
        for r in budgets[bcols].itertuples(index=False):
            bt.add_row(*[f"{v:,.2f}" if isinstance(v, Decimal) else str(v) for v in r])
        console.print(bt)
    return EXIT_OK
