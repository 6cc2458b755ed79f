"""Who owns each dollar: owner rules, tag coverage, shared-cost split, showback/chargeback and budgets.

FinOps Foundation, "Allocation" capability (https://www.finops.org/framework/capabilities/allocation/):
every cost gets an owner by tags, accounts or cost categories; what cannot be allocated is shown as such,
and shared costs are split by a stated method. Money is conserved: per billing period and currency the
owners' totals add up to the period's total, to the cent.

Owner rules are an ordered list; the first rule that gives a row an owner wins:

- ``{"tag": "team"}``: the value of tag ``team`` (keys matched ignoring case and punctuation,
  ``common.tag_value``); an empty value does not match.
- ``{"account": {"111122223333": "payments", "Sandbox": "research"}}``: a table of SubAccountId or
  SubAccountName to owner.
- ``{"cost_category": "Team"}``: an AWS cost-category value: the entry ``<Name>`` of the map ``x_CostCategories``
  (AWS's FOCUS export; the CUR reader fills it from CUR 2.0's ``cost_category`` and legacy ``costCategory/<Name>``
  columns), else a column ``x_CostCategory<Name>`` (any case or punctuation, e.g. ``x_cost_category_team``),
  else a tag ``CostCategory:<Name>`` (matched like any tag, so ``cost_category/team`` too); names match on
  their letters and digits.
- ``{"match": {"ServiceName": ["AWS Support (Business)"]}, "owner": "shared"}``: rows whose columns equal one
  of the values; ``"without_tag": "team"`` restricts it to rows without that tag (e.g. untagged networking).

Each rule may carry a ``"name"``; the default is ``tag:team``, ``account``, ``cost_category:Team`` or
``match:ServiceName``. Rows no rule matched go to the owner ``unallocated`` (rule ``unallocated``).
The owner ``shared`` (``SHARED``) marks cost to be split among the other owners.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, localcontext

import ibis
import ibis.expr.types as ir
import pandas as pd

from finops_nb import schema
from finops_nb.analyses.common import (
    billing_period,
    charge_kind,
    for_month,
    group_keys,
    map_value,
    one_of,
    tag_match_key,
    tag_value,
    zero_of,
)
from finops_nb.analyses.overview import cost_column
from finops_nb.errors import ConfigError, DataError

UNALLOCATED = "unallocated"
SHARED = "shared"
CENT = Decimal("0.01")
METHODS = ("proportional", "even", "fixed")
POLICIES = ("keep", "spread")
RULE_KINDS = ("tag", "account", "cost_category", "match")


# ---------------------------------------------------------------------------------------------------- rules
def load_rules(text: str, *, source: str = "rules") -> list[dict]:
    """Owner rules from YAML or JSON text: a list of rules, or a mapping with a ``rules`` list."""
    import yaml

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DataError(f"is not valid YAML: {exc}", file=source, hint="write a list such as '- tag: team'") from exc
    if isinstance(doc, dict) and "rules" in doc:
        doc = doc["rules"]
    return check_rules(doc, source=source)


def check_rules(rules, *, source: str = "rules") -> list[dict]:
    """The rules, checked: a list of mappings, each with exactly one of tag, account, cost_category, match."""
    if not isinstance(rules, list) or not rules:
        raise ConfigError(f"{source}: owner rules must be a non-empty list (for example [{{'tag': 'team'}}])")
    out = []
    for i, rule in enumerate(rules, start=1):
        kinds = [k for k in RULE_KINDS if isinstance(rule, dict) and k in rule]
        if len(kinds) != 1:
            raise ConfigError(f"{source}: rule {i} ({rule!r}) must have exactly one of {', '.join(RULE_KINDS)}")
        kind = kinds[0]
        value = rule[kind]
        unknown = sorted(set(rule) - {kind, "name"} - ({"owner", "without_tag"} if kind == "match" else set()))
        if unknown:
            raise ConfigError(f"{source}: rule {i} ({kind}) does not take {', '.join(unknown)}")
        if kind in ("tag", "cost_category") and not (isinstance(value, str) and value.strip()):
            raise ConfigError(f"{source}: rule {i}: {kind} must be a non-empty name")
        if kind == "account" and not (isinstance(value, dict) and value):
            raise ConfigError(f"{source}: rule {i}: account must map account ids or names to owners")
        if kind == "match":
            if not (isinstance(value, dict) and value) or not str(rule.get("owner") or "").strip():
                raise ConfigError(f"{source}: rule {i}: match needs column: value(s) and an owner")
        out.append(dict(rule))
    return out


def default_rules(owner_tag: str, *, shared_services: Sequence[str] = (),
                  accounts: Mapping[str, str] | None = None) -> list[dict]:
    """The usual start: ``shared_services`` are shared, then the ``owner_tag`` tag, then an account table."""
    rules: list[dict] = []
    if shared_services:
        rules.append({"match": {"ServiceName": list(shared_services)}, "owner": SHARED, "name": "shared services"})
    rules.append({"tag": owner_tag})
    if accounts:
        rules.append({"account": dict(accounts)})
    return rules


def rule_name(rule: Mapping) -> str:
    if rule.get("name"):
        return str(rule["name"])
    if "tag" in rule:
        return f"tag:{rule['tag']}"
    if "cost_category" in rule:
        return f"cost_category:{rule['cost_category']}"
    if "match" in rule:
        return "match:" + ",".join(rule["match"])
    return "account"


def _nonempty(v: ir.StringValue) -> ir.StringValue:
    v = v.strip()
    return ibis.ifelse(v == "", ibis.null("string"), v)


def _column(t: ir.Table, name: str) -> ir.Column:
    if name in t.columns:
        return t[name]
    low = {c.lower(): c for c in t.columns}
    if name.lower() in low:
        return t[low[name.lower()]]
    raise ConfigError(f"owner rule: no column {name!r} in the table (use a FOCUS column such as ServiceName)")


def rule_owner(t: ir.Table, rule: Mapping) -> ir.StringValue:
    """The owner rule ``rule`` gives each row of ``t``, NULL where it does not apply."""
    if "tag" in rule:
        return _nonempty(tag_value(t, rule["tag"]))
    if "cost_category" in rule:
        name = tag_match_key(rule["cost_category"])
        maps = [map_value(t[c], name) for c in t.columns
                if schema.is_cost_categories(c) and t[c].type().is_map()]
        cols = [t[c].cast("string") for c in t.columns if tag_match_key(c) == f"xcostcategory{name}"]
        found = [_nonempty(v) for v in [*maps, *cols, tag_value(t, f"costcategory{name}")]]
        return ibis.coalesce(*found) if len(found) > 1 else found[0]
    if "account" in rule:
        table = {str(k): str(v) for k, v in rule["account"].items()}
        return ibis.cases(*((t.SubAccountId == k, v) for k, v in table.items()),
                          *((t.SubAccountName == k, v) for k, v in table.items()), else_=ibis.null("string"))
    cond = ibis.literal(True)
    for col, values in rule["match"].items():
        values = values if isinstance(values, list) else [values]
        cond &= _column(t, col).cast("string").isin([str(v) for v in values]).fill_null(False)
    if rule.get("without_tag"):
        cond &= _nonempty(tag_value(t, rule["without_tag"])).isnull()
    return ibis.ifelse(cond, ibis.literal(str(rule["owner"])), ibis.null("string"))


def allocate_owners(t: ir.Table, rules: Sequence[Mapping]) -> ir.Table:
    """``t`` with ``owner`` and ``allocation_rule``: the first rule (in order) that gives the row an owner, else
    ``unallocated``. Every row keeps its cost, so ``sum(cost)`` by owner equals the table's total."""
    rules = check_rules(list(rules))
    owners = [rule_owner(t, r) for r in rules]
    owner = ibis.coalesce(*owners, ibis.literal(UNALLOCATED))
    which = ibis.cases(*((o.notnull(), rule_name(r)) for o, r in zip(owners, rules, strict=True)),
                       else_=ibis.literal(UNALLOCATED))
    return t.mutate(owner=owner, allocation_rule=which)


def cost_by_rule(t: ir.Table, rules: Sequence[Mapping], *, month: str | None = None,
                 basis: str = "amortized") -> ir.Table:
    """Cost per billing period, currency, owner and the rule that allocated it (``sum(<basis>)``)."""
    a = allocate_owners(for_month(t, month), rules)
    keys = [billing_period(a).name("billing_period"), a.BillingCurrency.name("currency"), "owner", "allocation_rule"]
    return (a.group_by(keys).aggregate(cost=a[cost_column(basis)].sum(), rows=a.count())
            .order_by(["billing_period", "currency", ibis.desc("cost"), "owner", "allocation_rule"]))


# ------------------------------------------------------------------------------------------------ coverage
def _tagged(t: ir.Table, tag_key: str) -> ir.BooleanValue:
    return _nonempty(tag_value(t, tag_key)).notnull()


def tag_coverage(t: ir.Table, tag_key: str, *, by: Sequence[str] = ("SubAccountId", "ServiceName"),
                 month: str | None = None) -> ir.Table:
    """Share of usage cost that carries tag ``tag_key``, per billing period, currency and ``by`` keys.

    Over usage rows (``common.charge_kind`` = usage), on EffectiveCost:
    ``coverage_pct = 100 * tagged_cost / usage_cost`` (NULL when ``usage_cost`` is 0);
    ``untagged_cost = usage_cost - tagged_cost``. FinOps Foundation allocation KPI "percentage of cost
    allocated by tags" (https://www.finops.org/framework/capabilities/allocation/).
    """
    t = for_month(t, month)
    t = t.filter(charge_kind(t) == "usage")
    cost = t.EffectiveCost
    keys = [billing_period(t).name("billing_period"), t.BillingCurrency.name("currency"), *group_keys(t, by)]
    out = t.group_by(keys).aggregate(
        usage_cost=cost.sum(),
        tagged_cost=ibis.ifelse(_tagged(t, tag_key), cost, zero_of(cost)).sum())
    out = out.mutate(untagged_cost=out.usage_cost - out.tagged_cost)
    pct = ibis.ifelse(out.usage_cost != 0, out.tagged_cost.cast("float64") / out.usage_cost.cast("float64") * 100,
                      ibis.null("float64"))
    return out.mutate(coverage_pct=pct).order_by([k.get_name() for k in keys])


def tag_coverage_trend(t: ir.Table, tag_key: str) -> ir.Table:
    """``tag_coverage`` per billing period and currency only: the month-over-month trend."""
    return tag_coverage(t, tag_key, by=())


def untagged_resources(t: ir.Table, tag_key: str, *, month: str | None = None, n: int = 10) -> ir.Table:
    """The ``n`` resources with the most usage EffectiveCost and no ``tag_key`` tag: the ones to fix first."""
    t = for_month(t, month)
    t = t.filter((charge_kind(t) == "usage") & t.ResourceId.notnull() & ~_tagged(t, tag_key))
    return (t.group_by([t.BillingCurrency.name("currency"), "ResourceId"])
            .aggregate(untagged_cost=t.EffectiveCost.sum(), ServiceName=one_of(t.ServiceName),
                       SubAccountId=one_of(t.SubAccountId), SubAccountName=one_of(t.SubAccountName))
            .order_by([ibis.desc("untagged_cost"), "currency", "ResourceId"])
            .limit(n))


# --------------------------------------------------------------------------------------------- money split
def dec(v) -> Decimal:
    return v if isinstance(v, Decimal) else Decimal(str(v))


def round_to_cents(amounts: Mapping[str, Decimal], total: Decimal | None = None) -> dict[str, Decimal]:
    """Round ``amounts`` to cents so that they add up to ``total`` rounded to the cent (default: their sum).

    Largest-remainder (Hamilton) rounding: every amount is floored to the cent, then the cents still
    missing go one each to the amounts with the largest remainders (ties by key, so it is deterministic).
    """
    amounts = {k: dec(v) for k, v in amounts.items()}
    target = dec(sum(amounts.values(), Decimal(0)) if total is None else total).quantize(CENT, ROUND_HALF_EVEN)
    floors = {k: v.quantize(CENT, ROUND_FLOOR) for k, v in amounts.items()}
    missing = int((target - sum(floors.values(), Decimal(0))) / CENT)
    if not amounts:
        if target:
            raise ConfigError(f"cannot spread {target} over no owners")
        return {}
    if missing < 0 or missing > len(amounts):
        raise ConfigError(f"cannot round {len(amounts)} amounts to a total of {target}: it is not their sum")
    order = sorted(amounts, key=lambda k: (-(amounts[k] - floors[k]), k))
    for k in order[:missing]:
        floors[k] += CENT
    return floors


def split_shared(direct: Mapping[str, Decimal], shared, *, method: str = "proportional",
                 percentages: Mapping[str, float | str | Decimal] | None = None,
                 recipients: Sequence[str] | None = None) -> dict[str, Decimal]:
    """The part of ``shared`` each owner receives, exact (not rounded), adding up to ``shared``.

    - ``proportional``: ``share_i = shared * w_i / sum(w)`` with ``w_i = max(0, direct_i)`` (an owner whose
      credits exceed its cost carries no weight); FinOps Foundation "proportional" split.
    - ``even``: ``share_i = shared / n`` over the ``n`` recipients.
    - ``fixed``: ``share_i = shared * p_i / 100``, the percentages summing to 100.

    Recipients are ``recipients`` if given, else the keys of ``percentages`` (fixed) or of ``direct``.
    Worked: A 600, B 300, C 100, shared 300 proportional -> 180, 90, 30.
    """
    shared = dec(shared)
    if method not in METHODS:
        raise ConfigError(f"split method {method!r} is not one of {', '.join(METHODS)}")
    if method == "fixed":
        if not percentages:
            raise ConfigError("split method 'fixed' needs percentages per owner (for example {'A': 50, 'B': 50})")
        pct = {str(k): dec(v) for k, v in percentages.items()}
        if sum(pct.values()) != 100 or any(p < 0 for p in pct.values()):
            raise ConfigError(f"fixed percentages must be >= 0 and sum to 100, not {sum(pct.values())}")
        weights = {k: pct.get(k, Decimal(0)) for k in (recipients or pct)}
    else:
        owners = list(recipients) if recipients is not None else list(direct)
        weights = ({k: max(Decimal(0), dec(direct.get(k, 0))) for k in owners} if method == "proportional"
                   else {k: Decimal(1) for k in owners})
    total = sum(weights.values(), Decimal(0))
    if not shared:
        return {k: Decimal(0) for k in weights}
    if total <= 0:
        raise ConfigError(f"cannot split shared cost {shared} {method}ly: the recipients have no positive "
                          "weight (no direct cost); use method 'even' or 'fixed'")
    with localcontext() as ctx:
        ctx.prec = 60
        shares = {k: shared * w / total for k, w in weights.items()}
        # the last recipient takes what division left over, so the shares add up to shared exactly
        keys = list(shares)
        shares[keys[-1]] = shared - sum((shares[k] for k in keys[:-1]), Decimal(0))
    return shares


# --------------------------------------------------------------------------------------------- showback
def showback(t: ir.Table, rules: Sequence[Mapping], *, month: str | None = None, basis: str = "amortized",
             method: str = "proportional", percentages: Mapping | None = None,
             recipients: Sequence[str] | None = None, credits: str = "keep", tax: str = "keep",
             shared_owner: str = SHARED) -> pd.DataFrame:
    """Per billing period, currency and owner: ``direct_cost``, ``shared_cost`` received, ``total_cost``.

    ``basis``: ``billed`` (BilledCost, chargeback on the invoice) or ``amortized`` (EffectiveCost, showback).
    The pool to split is the cost of owner ``shared_owner`` plus, when ``credits``/``tax`` is ``spread``,
    every owner's credit/tax rows (``keep`` leaves them with the owner the rules gave them). The pool is split
    by ``split_shared``; direct and total are rounded to cents by largest remainder so that, per billing
    period and currency, ``sum(total_cost)`` = the period's total rounded to the cent and
    ``total_cost = direct_cost + shared_cost`` for every owner. Also returned: ``credits`` and ``tax``
    (cost of those kinds that stayed with the owner) and ``period_total`` (exact).
    Worked: A 600, B 300, C 100, shared 300 proportional -> 780, 390, 130; total 1,300.
    """
    for name, policy in (("credits", credits), ("tax", tax)):
        if policy not in POLICIES:
            raise ConfigError(f"{name} policy {policy!r} is not one of {', '.join(POLICIES)}")
    a = allocate_owners(for_month(t, month), rules)
    kind = charge_kind(a).name("kind")
    keys = [billing_period(a).name("billing_period"), a.BillingCurrency.name("currency"), a.owner, kind]
    raw = a.group_by(keys).aggregate(cost=a[cost_column(basis)].sum()).execute()
    spread = {k for k, p in (("credit", credits), ("tax", tax)) if p == "spread"}
    rows = []
    for (period, currency), part in raw.groupby(["billing_period", "currency"], sort=True):
        direct: dict[str, Decimal] = {}
        kept = {"credit": {}, "tax": {}}
        pool = Decimal(0)
        for r in part.itertuples():
            cost = dec(r.cost) if r.cost is not None and not pd.isna(r.cost) else Decimal(0)
            if r.owner == shared_owner or r.kind in spread:
                pool += cost
                if r.owner != shared_owner:
                    direct.setdefault(r.owner, Decimal(0))
                continue
            direct[r.owner] = direct.get(r.owner, Decimal(0)) + cost
            if r.kind in kept:
                kept[r.kind][r.owner] = kept[r.kind].get(r.owner, Decimal(0)) + cost
        if not direct:  # everything is shared: nobody to split it to, it stays with the shared owner
            direct, pool = {shared_owner: pool}, Decimal(0)
        received = split_shared(direct, pool, method=method, percentages=percentages, recipients=recipients)
        owners = sorted(set(direct) | set(received))
        exact_total = {o: direct.get(o, Decimal(0)) + received.get(o, Decimal(0)) for o in owners}
        period_total = sum(direct.values(), Decimal(0)) + pool
        total_c = round_to_cents(exact_total, period_total)
        direct_c = round_to_cents({o: direct.get(o, Decimal(0)) for o in owners})
        for o in owners:
            rows.append({"billing_period": period, "currency": currency, "owner": o, "direct_cost": direct_c[o],
                         "shared_cost": total_c[o] - direct_c[o], "total_cost": total_c[o],
                         "credits": kept["credit"].get(o, Decimal(0)), "tax": kept["tax"].get(o, Decimal(0)),
                         "period_total": period_total, "basis": basis, "method": method})
    cols = ["billing_period", "currency", "owner", "direct_cost", "shared_cost", "total_cost", "credits", "tax",
            "period_total", "basis", "method"]
    return pd.DataFrame(rows, columns=cols)


def owner_csv(frame: pd.DataFrame, owner: str) -> str:
    """One owner's showback rows (from ``showback``) as CSV text, amounts to the cent."""
    part = frame[frame.owner == owner]
    buf = io.StringIO()
    cols = ["billing_period", "currency", "owner", "direct_cost", "shared_cost", "total_cost", "basis", "method"]
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in part[cols].itertuples(index=False):
        w.writerow([f"{v:.2f}" if isinstance(v, Decimal) else v for v in r])
    return buf.getvalue()


# ------------------------------------------------------------------------------------------------ budgets
def parse_budgets(text: str, *, source: str = "budgets") -> pd.DataFrame:
    """Budgets from CSV text with the header ``owner,month,amount,currency`` (amounts exact decimals)."""
    from finops_nb.analyses.common import check_month

    reader = csv.DictReader(io.StringIO(text))
    need = ["owner", "month", "amount", "currency"]
    if not reader.fieldnames or [f.strip().lower() for f in reader.fieldnames] != need:
        raise DataError(f"header must be {','.join(need)}", file=source, row=0)
    rows = []
    for n, raw in enumerate(reader, start=1):
        r = {k.strip().lower(): (v or "").strip() for k, v in raw.items()}
        try:
            amount = Decimal(r["amount"])
        except ArithmeticError:
            amount = Decimal("NaN")
        if not amount.is_finite() or amount < 0:
            raise DataError(f"amount {r['amount']!r} is not a number >= 0", file=source, row=n, column="amount")
        if not r["owner"] or not r["currency"]:
            raise DataError("owner and currency must not be empty", file=source, row=n)
        try:
            month = check_month(r["month"])
        except ConfigError as exc:
            raise DataError(str(exc), file=source, row=n, column="month") from None
        rows.append({"owner": r["owner"], "month": month, "amount": amount, "currency": r["currency"].upper()})
    frame = pd.DataFrame(rows, columns=need)
    if frame.duplicated(["owner", "month", "currency"]).any():
        raise DataError("an owner has two budgets for the same month and currency", file=source)
    return frame


def compare_budgets(actuals: pd.DataFrame, budgets: pd.DataFrame,
                    forecasts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Budget vs actual (``showback`` total_cost) and forecast, per owner, month and currency.

    ``forecasts``: columns owner, billing_period, currency, forecast_cost (e.g. ``forecast.forecast_owners``);
    without it the forecast is the actual. ``over_budget`` is true when ``forecast_cost > budget``;
    ``forecast_pct_of_budget = 100 * forecast_cost / budget``. Currencies are never mixed: a budget in EUR is
    compared only with EUR cost.
    """
    act = actuals.rename(columns={"billing_period": "month"})[["owner", "month", "currency", "total_cost"]]
    out = budgets.rename(columns={"amount": "budget"}).merge(act, on=["owner", "month", "currency"], how="left")
    out["actual_cost"] = [Decimal(0) if v is None or pd.isna(v) else dec(v) for v in out.pop("total_cost")]
    if forecasts is not None and len(forecasts):
        f = forecasts.rename(columns={"billing_period": "month"})[["owner", "month", "currency", "forecast_cost"]]
        out = out.merge(f, on=["owner", "month", "currency"], how="left")
        out["forecast_cost"] = [a if v is None or pd.isna(v) else dec(v)
                                for a, v in zip(out.actual_cost, out.forecast_cost, strict=True)]
    else:
        out["forecast_cost"] = out.actual_cost
    out["forecast_pct_of_budget"] = [float(f / b * 100) if b else None
                                     for f, b in zip(out.forecast_cost, out.budget, strict=True)]
    out["over_budget"] = [f > b for f, b in zip(out.forecast_cost, out.budget, strict=True)]
    return out.sort_values(["month", "currency", "owner"]).reset_index(drop=True)
