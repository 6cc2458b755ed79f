"""One HTML page per owner for the monthly report: ``owners/<owner>.html`` and ``owners/index.html``.

Each page shows the owner's showback (``allocation.showback``: direct cost, shared cost received, total, on the
chosen basis), its top services by direct cost, and its savings ledger rows (``savings.build_ledger``) with the
total counting each resource once beside the naive sum. The index lists every owner with its totals; per
currency they add up to the month's total to the cent (showback's largest-remainder rounding).

A ledger row belongs to the owner the rules give its resource (so account or cost-category rules apply to
savings too); a row whose resource the rules do not see (``(no resource id)``) keeps the ledger's tag owner, else
``unallocated``. Pages are self-contained: no script, no network, every value HTML-escaped.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path

import pandas as pd

from finops_nb.analyses import allocation
from finops_nb.analyses import savings as sv
from finops_nb.analyses.common import for_month, one_of
from finops_nb.analyses.overview import cost_column
from finops_nb.exports import owner_file_names

# the defaults of notebooks/40-allocation.ipynb, so the pages show the owners the notebook shows
OWNER_TAG = "business_unit"
SHARED_SERVICES = ("AWS Support (Business)", "AWS Support (Enterprise)", "AWS Support (Developer)")
TOP_SERVICES = 5
LEDGER_SHOWN = ["check", "action", "ResourceId", "ServiceName", "currency", "monthly_cost", "monthly_savings",
                "effort", "risk", "basis"]
STYLE = """body{font-family:sans-serif;margin:2em;max-width:75em} table{border-collapse:collapse;margin-bottom:1.5em}
td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top} td.num{text-align:right;white-space:nowrap}
.bar{background:#4c78a8;height:.8em;display:inline-block} tr.sum td{font-weight:bold;background:#f4f4f4}"""


def _e(v) -> str:
    return html.escape("" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v))


def _cents(v) -> str:
    return f"{Decimal(str(v)):,.2f}"


def _num(v, places: int = 4) -> str:
    return f"{float(v):,.{places}f}"


def _page(title: str, body: str) -> str:
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f"<style>{STYLE}</style></head><body>\n{body}\n</body></html>\n")


def _table(header: Sequence[str], rows: Sequence[str]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    return f"<table><tr>{head}</tr>\n" + "\n".join(rows) + "\n</table>"


def owner_ledger(t, ledger: pd.DataFrame, rules: Sequence[Mapping], *, month: str) -> pd.DataFrame:
    """``ledger`` with ``owner`` replaced by the owner ``rules`` give each resource in ``month`` (see the module
    docstring for rows whose resource the rules do not see)."""
    a = allocation.allocate_owners(for_month(t, month), rules)
    a = a.filter(a.ResourceId.notnull())
    owners = a.group_by("ResourceId").aggregate(rule_owner=one_of(a.owner)).execute()
    out = ledger.merge(owners, on="ResourceId", how="left")
    out["owner"] = out.rule_owner.where(out.rule_owner.notna(), out.owner).fillna(allocation.UNALLOCATED)
    return out.drop(columns=["rule_owner"])


def _top_services(t, rules, *, month: str, basis: str) -> pd.DataFrame:
    a = allocation.allocate_owners(for_month(t, month), rules)
    return (a.group_by(["owner", a.BillingCurrency.name("currency"), "ServiceName"])
            .aggregate(cost=a[cost_column(basis)].sum()).execute())


def savings_by_owner(ledger: pd.DataFrame) -> pd.DataFrame:
    """Per owner and currency: ``monthly_savings`` counting each resource once (``savings.count_once`` within
    the owner's rows), ``naive_monthly_savings`` and ``resources``."""
    cols = ["owner", "currency", "monthly_savings", "naive_monthly_savings", "resources"]
    if ledger.empty:
        return pd.DataFrame(columns=cols)
    keyed = ledger.assign(ResourceId=ledger.owner.astype(str) + "\x1f" + ledger.ResourceId.astype(str))
    once = sv.count_once(keyed)  # one call: a resource is counted once within its owner's rows
    return (once.groupby(["owner", "currency"], as_index=False, sort=True)
            .agg(monthly_savings=("monthly_savings", "sum"), naive_monthly_savings=("naive_savings", "sum"),
                 resources=("ResourceId", "count")))[cols]


def _owner_body(owner, month: str, sb: pd.DataFrame, services: pd.DataFrame, ledger: pd.DataFrame,
                once: pd.DataFrame, top: int) -> str:
    parts = [f"<h1>Cost of {_e(owner)}, billing period {_e(month)}</h1>",
             '<p><a href="index.html">all owners</a></p>', "<h2>Showback</h2>"]
    rows = [f"<tr><td>{_e(r.currency)}</td><td class='num'>{_cents(r.direct_cost)}</td>"
            f"<td class='num'>{_cents(r.shared_cost)}</td><td class='num total'>{_cents(r.total_cost)}</td>"
            f"<td class='num'>{_cents(r.credits)}</td><td class='num'>{_cents(r.tax)}</td><td>{_e(r.basis)}</td>"
            f"<td>{_e(r.method)}</td></tr>" for r in sb.itertuples()]
    parts.append(_table(["currency", "direct", "shared received", "total", "credits kept", "tax kept", "basis",
                         "shared split"], rows) if rows else "<p>No cost allocated to this owner this month.</p>")
    parts.append("<h2>Top services (direct cost)</h2>")
    rows = []
    for currency, part in services.groupby("currency", sort=True):
        part = part.assign(_abs=part.cost.abs()).sort_values(["_abs", "ServiceName"], ascending=[False, True])
        whole = float(part.cost.clip(lower=0).sum()) or 1.0
        for r in part.head(top).itertuples():
            share = max(0.0, 100 * float(r.cost) / whole)
            rows.append(f"<tr><td>{_e(r.ServiceName)}</td><td>{_e(currency)}</td><td class='num'>{_num(r.cost)}</td>"
                        f"<td class='num'>{share:.1f} %</td><td><span class='bar' style='width:{share * 2:.0f}px'>"
                        "</span></td></tr>")
    parts.append(_table(["service", "currency", "cost", "share of direct", ""], rows) if rows
                 else "<p>No direct cost.</p>")
    parts.append("<h2>Savings opportunities</h2>")
    if ledger.empty:
        parts.append("<p>No findings for this owner this month.</p>")
    else:
        parts.append("".join(f"<p>{_e(r.currency)} <b>{_num(r.monthly_savings)}</b> per month, each resource counted "
                             f"once (naive sum {_num(r.naive_monthly_savings)}; {r.resources} resources)</p>"
                             for r in once.itertuples()))
        money = {"monthly_cost", "monthly_savings"}
        rows = ["<tr>" + "".join(f"<td class='num'>{_num(v)}</td>" if c in money else f"<td>{_e(v)}</td>"
                                 for c, v in zip(LEDGER_SHOWN, r, strict=True)) + "</tr>"
                for r in ledger.reindex(columns=LEDGER_SHOWN).itertuples(index=False)]
        parts.append(_table(LEDGER_SHOWN, rows))
    return "\n".join(parts)


def write_owner_pages(charges, month: str, folder: str | Path, *, rules: Sequence[Mapping] | None = None,
                      owner_tag: str = OWNER_TAG, shared_services: Sequence[str] = SHARED_SERVICES,
                      basis: str = "amortized", top: int = TOP_SERVICES) -> list[Path]:
    """Write ``folder/owners/<owner>.html`` for every owner of ``month`` and ``folder/owners/index.html``; the
    paths written (index last).

    ``charges``: a loaded export (``load_charges``) or its table. ``rules``: owner rules
    (``allocation.load_rules``); default ``allocation.default_rules(owner_tag, shared_services=...)``, the
    defaults of notebook 40. The ledger's commitment discount is the bill's own
    (``commitments.observed_discount``), as ``finops-nb savings`` uses by default.
    """
    from finops_nb.analyses.commitments import observed_discount

    t = getattr(charges, "table", charges)
    rules = list(rules) if rules is not None else allocation.default_rules(owner_tag, shared_services=shared_services)
    sb = allocation.showback(t, rules, month=month, basis=basis)
    services = _top_services(t, rules, month=month, basis=basis)
    rate, source = observed_discount(t, month=month)
    ledger = owner_ledger(t, sv.build_ledger(t, month=month, discount=rate, discount_source=source,
                                             owner_tag=owner_tag), rules, month=month)
    out = Path(folder) / "owners"
    out.mkdir(parents=True, exist_ok=True)
    owners = sorted(set(sb.owner) | set(ledger.owner))
    names = owner_file_names(owners)
    names = {o: f"{n}-owner" if n.lower() == "index" else n for o, n in names.items()}  # the index stays the index
    once = savings_by_owner(ledger)
    empty = {"sb": sb.iloc[:0], "services": services.iloc[:0], "ledger": ledger.iloc[:0], "once": once.iloc[:0]}
    by = {k: dict(iter(f.groupby("owner", sort=False))) for k, f in
          (("sb", sb), ("services", services), ("ledger", ledger), ("once", once))}
    written, index_rows = [], []
    for owner in owners:
        mine, saved = (by[k].get(owner, empty[k]) for k in ("sb", "once"))
        path = out / f"{names[owner]}.html"
        path.write_text(_page(f"{owner}, {month}", _owner_body(
            owner, month, mine, by["services"].get(owner, empty["services"]),
            by["ledger"].get(owner, empty["ledger"]), saved, top)), encoding="utf-8")
        written.append(path)
        saved = dict(zip(saved.currency, saved.monthly_savings, strict=True))
        for r in mine.itertuples():
            index_rows.append((r.currency, -abs(r.total_cost), str(owner), names[owner], r, saved.get(r.currency, 0)))
        for currency in sorted(set(saved) - set(mine.currency)):  # savings of an owner without showback cost
            index_rows.append((currency, 0, str(owner), names[owner], None, saved[currency]))
    index_rows.sort(key=lambda x: x[:3])
    rows = []
    for currency, _, owner, name, r, saved in index_rows:
        link = f'<a href="{_e(name)}.html">{_e(owner)}</a>'
        cost = ("<td class='num'>-</td>" * 3 if r is None else
                f"<td class='num'>{_cents(r.direct_cost)}</td><td class='num'>{_cents(r.shared_cost)}</td>"
                f"<td class='num total' data-cents='{int(r.total_cost * 100)}'>{_cents(r.total_cost)}</td>")
        rows.append(f"<tr class='owner'><td>{link}</td><td>{_e(currency)}</td>{cost}"
                    f"<td class='num'>{_num(saved)}</td></tr>")
    for (currency,), part in sb.groupby(["currency"], sort=True):
        month_total = Decimal(str(part.period_total.iloc[0])).quantize(allocation.CENT)
        rows.append(f"<tr class='sum'><td>month total</td><td>{_e(currency)}</td><td></td><td></td>"
                    f"<td class='num' data-cents='{int(month_total * 100)}'>{_cents(month_total)}</td><td></td></tr>")
    body = (f"<h1>Cost per owner, billing period {_e(month)}</h1>\n<p>Basis {_e(basis)}; shared cost split "
            f"proportionally to direct cost; savings per month count each resource once. Owner rules: "
            f"{_e('; '.join(allocation.rule_name(r) for r in rules))}.</p>\n"
            + _table(["owner", "currency", "direct", "shared received", "total", "savings per month"], rows))
    index = out / "index.html"
    index.write_text(_page(f"Owners, {month}", body), encoding="utf-8")
    return [*written, index]
