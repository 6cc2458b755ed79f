"""``finops-nb``: a thin command line over the readers, the analyses and the report runner."""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def _decimal_json(value):
    # Sums are exact decimals; as JSON numbers they print through float, whose shortest repr
    # reproduces any value of up to 15 significant digits exactly (money to 1e-10 below $100k).
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot serialize {type(value).__name__}")


def read_rates(path: str) -> dict[str, Decimal]:
    """Exchange rates from JSON (``{"EUR": 1.10}``) or CSV lines ``currency,rate``.

    A rate is the number of units of the target currency (``--to``) per unit of the named currency.
    """
    from finops_nb.errors import DataError

    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise DataError(f"cannot read the rates file: {exc.strerror}", file=path) from exc
    if path.endswith(".json"):
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise DataError(f"is not valid JSON: {exc}", file=path, hint='write {"EUR": 1.10, ...}') from exc
        if not isinstance(doc, dict):
            raise DataError("must be a JSON object of currency: rate", file=path, hint='write {"EUR": 1.10, ...}')
        items = [(None, k, v) for k, v in doc.items()]
    else:
        items = []
        for n, line in enumerate(text.splitlines(), start=1):
            parts = [p.strip() for p in line.split(",")]
            if len(parts) == 2 and parts[0] and parts[0].lower() != "currency":
                items.append((n, parts[0], parts[1]))
            elif line.strip() and parts[0].lower() != "currency":
                raise DataError("is not 'currency,rate'", file=path, row=n)
    rates = {}
    for n, currency, value in items:
        try:
            rate = Decimal(str(value))
        except ArithmeticError:
            rate = Decimal("NaN")
        if not rate.is_finite() or rate <= 0:
            raise DataError(f"rate {value!r} for {currency} is not a positive number", file=path, row=n)
        rates[currency] = rate
    return rates


def _sum_or_none(values):
    """Exact sum that stays empty (None) when every value is empty: a missing amount is never a zero."""
    present = [v for v in values if v is not None and not _is_missing(v)]
    return sum(present, Decimal(0)) if present else None


def cmd_totals(args) -> int:
    from finops_nb import load_charges
    from finops_nb.analyses.overview import KINDS, convert_currency, summarize_totals
    from finops_nb.errors import ConfigError

    if args.to != "USD" and not args.rates:
        raise ConfigError("--to needs --rates: amounts are converted only with the exchange rates you give")
    charges = load_charges(args.path, format=args.format)
    _warn_empty_selection(charges.table, args)
    df = summarize_totals(charges.table, by=args.by, month=args.month, basis=args.basis,
                          case_sensitive_tags=args.case_sensitive_tags).execute()
    money = ["billed_cost", "effective_cost", "list_cost", "contracted_cost", *KINDS.values(), "net_cost"]
    if args.rates:
        df = convert_currency(df, read_rates(args.rates), to=args.to, columns=money)
        keys = [c for c in df.columns if c not in money and c not in ("rows", "provisional")]
        agg = {"rows": "sum", **{m: _sum_or_none for m in money}}
        if "provisional" in df.columns:
            agg["provisional"] = "any"
        df = df.groupby(keys, dropna=False, as_index=False).agg(agg)
    records = []
    for rec in df.to_dict(orient="records"):
        records.append({k: (None if _is_missing(v) else v) for k, v in rec.items()})
    if args.json:
        print(json.dumps(records, default=_decimal_json, indent=2))
        return EXIT_OK
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Totals of {args.path}" + (f", {args.month}" if args.month else ""))
    for col in df.columns:
        table.add_column(col, justify="right" if col in money or col == "rows" else "left")
    for rec in records:
        table.add_row(*[_show(rec[c], c in money, untagged=c.startswith("tag:")) for c in df.columns])
    Console(width=None if sys.stdout.isatty() else 220).print(table)
    return EXIT_OK


def _warn_empty_selection(t, args) -> None:
    """Say so on stderr when --month selects nothing or a --by tag key appears on no row."""
    from finops_nb.analyses.common import billing_period, tag_match_key

    if args.month:
        months = sorted(m for m in t.select(m=billing_period(t)).distinct().execute()["m"] if m)
        if args.month.strip() not in months:
            print(f"finops-nb: warning: no rows in billing period {args.month}; the data has "
                  f"{', '.join(months) or 'no rows'}", file=sys.stderr)
    for by in args.by:
        if by.startswith("tag:"):
            keys = set(t.select(k=t.Tags.keys().unnest()).distinct().execute()["k"].dropna())
            if not any(tag_match_key(k) == tag_match_key(by[4:]) for k in keys):
                shown = ", ".join(sorted(keys)[:30]) + (f" ... ({len(keys)} keys)" if len(keys) > 30 else "")
                print(f"finops-nb: warning: no row has the tag {by[4:]!r}; tag keys in the data: {shown or 'none'}",
                      file=sys.stderr)


def _is_missing(v) -> bool:
    try:
        return v is None or (isinstance(v, float) and v != v)
    except TypeError:
        return False


def _show(v, money: bool, untagged: bool = False) -> str:
    if v is None:
        return "n/a" if money else ("(untagged)" if untagged else "(none)")
    if isinstance(v, Decimal):
        return f"{v.quantize(Decimal('0.0001')):,}"
    return str(v)


def cmd_validate(args) -> int:
    from finops_nb import load_charges

    charges = load_charges(args.path, format=args.format)
    n = charges.table.count().execute()
    print(f"{args.path}: {n} rows loaded from {len(charges.files)} file(s), format {charges.format}")
    for note in charges.notes:
        rows = f" ({note.rows} rows)" if note.rows else ""
        where = f" [{note.file}]" if note.file and len(charges.files) > 1 else ""
        print(f"  {note.level:7} {note.code}: {note.message}{rows}{where}")
    warnings = sum(n.level == "warning" for n in charges.notes)
    print(f"{warnings} warning(s), {len(charges.notes) - warnings} info note(s); nothing was dropped")
    return EXIT_FAILED if args.strict and warnings else EXIT_OK


def cmd_report(args) -> int:
    from finops_nb.report import publish, run_report

    result = run_report(args.month, args.data, out=args.out, engine=args.engine, notebooks_dir=args.notebooks_dir)
    for r in result.runs:
        print(f"{r.notebook:36} {r.status:7} {r.seconds:6.1f} s" + (f"  {r.error}" if r.error else ""))
    for s in result.steps:
        print(f"{s.step:36} {s.status:7} {s.seconds:6.1f} s" + (f"  {s.error}" if s.error else ""))
    print(f"report: {(result.folder / 'index.html').resolve()}")
    if args.publish:
        try:
            keys = publish(result.folder, args.publish)
        except Exception as exc:  # boto3 raises several kinds; the report itself is done and kept
            print(f"finops-nb: error: publishing to {args.publish} failed: {exc}", file=sys.stderr)
            return EXIT_FAILED
        print(f"published {len(keys)} files to {args.publish.rstrip('/')}/{result.month}/")
    return EXIT_OK if result.ok else EXIT_FAILED


def cmd_schedule(args) -> int:
    from finops_nb.schedule import render

    files = render(args.print, data=args.data, out=args.out, publish=args.publish)
    if args.write:
        folder = Path(args.write)
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (folder / name).write_text(text)
            print(f"wrote {folder / name}")
        return EXIT_OK
    for name, text in files.items():
        if len(files) > 1:
            print(f"# ---- {name} ----")
        print(text, end="" if text.endswith("\n") else "\n")
    return EXIT_OK


def cmd_app(args) -> int:
    from finops_nb.app import serve

    return serve(port=args.port, open_browser=args.browser)


def build_parser() -> argparse.ArgumentParser:
    from finops_nb.sources import FORMATS

    p = argparse.ArgumentParser(prog="finops-nb", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("totals", help="totals per billing period and currency (and --by keys)")
    t.add_argument("path", help="billing export: file or folder (.csv, .csv.gz, .parquet); 'sample' = shipped sample")
    t.add_argument("--by", action="append", default=[], metavar="COLUMN",
                   help="group by a column or tag:KEY (repeatable)")
    t.add_argument("--month", help="billing period YYYY-MM")
    t.add_argument("--json", action="store_true", help="print a JSON list of objects")
    t.add_argument("--format", default="auto", choices=FORMATS)
    t.add_argument("--rates", help="exchange rates file (JSON {\"EUR\": 1.10} or CSV currency,rate)")
    t.add_argument("--to", default="USD", help="currency to convert to with --rates (default USD)")
    t.add_argument("--case-sensitive-tags", action="store_true", help="match tag keys exactly")
    t.add_argument("--basis", default="billed", choices=["billed", "amortized"],
                   help="cost basis of the usage/purchase/credit/discount/tax/adjustment split (default billed)")
    t.set_defaults(func=cmd_totals)

    v = sub.add_parser("validate", help="load an export and list its data-quality notes")
    v.add_argument("path")
    v.add_argument("--format", default="auto", choices=FORMATS)
    v.add_argument("--strict", action="store_true", help="exit 1 when there is any warning")
    v.set_defaults(func=cmd_validate)

    r = sub.add_parser("report", help="run every notebook for a month into DIR/YYYY-MM/")
    r.add_argument("--month", default="last", help="billing period YYYY-MM, or 'last' (the previous full month "
                   "in UTC, the default)")
    r.add_argument("--data", default="sample", help="billing export (default: the shipped real sample)")
    r.add_argument("--out", default=None, help="output folder (default ./reports or FINOPS_REPORTS_DIR)")
    r.add_argument("--engine", default="duckdb://", help="engine URL (default embedded DuckDB)")
    r.add_argument("--notebooks-dir", default=None, help="run every notebook of this folder instead of the suite's")
    r.add_argument("--publish", default=None, metavar="S3_URL", help="upload the month folder to s3://bucket/prefix")
    r.set_defaults(func=cmd_report)

    s = sub.add_parser("schedule", help="print or write a ready recipe that runs the monthly report")
    s.add_argument("--print", required=True, choices=["cron", "systemd", "airflow"])
    s.add_argument("--data", required=True, help="billing export the scheduled report reads (path or s3://)")
    s.add_argument("--out", default=str(Path("reports").resolve()), help="where reports are written")
    s.add_argument("--publish", default=None, metavar="S3_URL")
    s.add_argument("--write", default=None, metavar="DIR", help="write the files into DIR instead of printing")
    s.set_defaults(func=cmd_schedule)

    a = sub.add_parser("app", help="serve the Voila apps in notebooks/apps/ on 127.0.0.1")
    a.add_argument("--port", type=int, default=8866)
    a.add_argument("--browser", action="store_true", help="open a browser")
    a.set_defaults(func=cmd_app)

    from finops_nb.commands import register_all

    register_all(sub)  # savings, rightsizing, commitments, ... beside their analyses
    return p


def main(argv: list[str] | None = None) -> int:
    from finops_nb.errors import FinopsError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except FinopsError as exc:
        print(f"finops-nb: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # output piped into head or less that closed early
        sys.stderr.close()
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
