"""One pass over the charges for every savings check (issue 8: the ledger read the table once per check).

The checks of ``savings`` classify rows by regular expressions over ``x_UsageType``, ``ChargeDescription`` and
``ServiceName``. A bill has few distinct (usage type, description, service) triples (hundreds for millions of
rows), so ``scan_charges`` matches each triple once (``KINDS``) and joins the flags back to the rows; it then
sums the rows per resource and per everything a check tests (billing period, Usage or not, flags, pricing
category, commitment, positive list cost, fleet tags, and for EBS gp2/io1 rows the charge period). Each check
then reads that small table (cached in the engine). Sums of sums and maxima of maxima are the sums and maxima
of the rows, so every check's result is the one the per-check scans gave.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from finops_nb.analyses.common import billing_period, tag_match_key, tag_value

SPOT_TAGS = (r"(?i)^aws:autoscaling:groupName$|^(aws:)?eks:(cluster|nodegroup)-name$|^kubernetes\.io/cluster/"
             r"|^aws:ecs:|^aws:elasticmapreduce:|^aws:batch:|^karpenter\.sh/")
KEYS3 = ["_ut", "_desc", "_svc"]


def usage_type(t: ir.Table) -> ir.StringValue:
    """``x_UsageType`` (CUR-based exports) or an empty string (FOCUS exports without it)."""
    return t.x_UsageType.fill_null("") if "x_UsageType" in t.columns else ibis.literal("")


def _kind_table(t: ir.Table, kinds: dict) -> ir.Table:
    """The distinct (usage type, description, service) triples of ``t`` with one boolean per kind (``kinds``:
    name -> match over a table with ``x_UsageType``, ``ChargeDescription`` and ``ServiceName``)."""
    cols = {"ChargeDescription": t.ChargeDescription.fill_null(""), "ServiceName": t.ServiceName.fill_null("")}
    if "x_UsageType" in t.columns:
        cols["x_UsageType"] = t.x_UsageType.fill_null("")
    k = t.select(**cols).distinct()
    k = k.mutate(_ut=usage_type(k), _desc=k.ChargeDescription, _svc=k.ServiceName,
                 **{f"is_{name}": match(k) for name, match in kinds.items()})
    df = k.select(*KEYS3, *[f"is_{name}" for name in kinds]).execute()
    return ibis.memtable(df)


def _owner(t: ir.Table, owner_tag: str) -> ir.StringValue:
    """``tag_value(t, owner_tag)``, read as a plain map lookup when the table's tag keys allow it: tag_value
    takes the first key whose lower-case letters and digits equal the wanted ones; when at most one such key
    occurs in any row, that key's value is the same thing, without normalizing every key of every row."""
    wanted = tag_match_key(owner_tag)
    lists = t.select(k=t.Tags.keys()).distinct().execute().k
    hits = [[k for k in (keys if keys is not None else []) if tag_match_key(k) == wanted] for keys in lists]
    if any(len(h) > 1 for h in hits):
        return tag_value(t, owner_tag)
    names = sorted({h[0] for h in hits if h})
    if not names:
        return ibis.null("string")
    return ibis.coalesce(*[t.Tags.get(n) for n in names]) if len(names) > 1 else t.Tags.get(names[0])


def scan_charges(t: ir.Table, kinds: dict, *, owner_tag: str, volume_kinds: tuple[str, ...],
                 instance_kind: str) -> ir.Table:
    """Per (billing period, Usage or not, currency, ResourceId, ServiceName, kind flags, ``std`` (PricingCategory
    Standard or NULL), ``dynamic`` (PricingCategory Dynamic), ``committed`` (a CommitmentDiscountId),
    ``pos_list`` (ListCost > 0), ``tagged`` (a fleet tag ``SPOT_TAGS``, instance rows only), and for
    ``volume_kinds`` rows the charge period ``cps``/``cpe``): ``n`` rows, sums ``cost`` (EffectiveCost), ``list``
    (ListCost), ``qty`` (ConsumedQuantity), ``vqty`` (ConsumedQuantity else PricingQuantity), ``first_seen``
    (min ChargePeriodStart), maxima of SubAccountId, SubAccountName, owner and, for ``instance_kind`` rows,
    ChargeDescription, x_InstanceType and x_OperatingSystem. Cached in the engine."""
    k = _kind_table(t, kinds)
    owner = _owner(t, owner_tag)
    r = t.mutate(_ut=usage_type(t), _desc=t.ChargeDescription.fill_null(""), _svc=t.ServiceName.fill_null(""),
                 _owner=owner)
    j = r.inner_join(k, KEYS3)
    volume = ibis.literal(False)
    for name in volume_kinds:
        volume = volume | j[f"is_{name}"]
    inst = j[f"is_{instance_kind}"]
    tagged = (j.Tags.keys().filter(lambda key: key.re_search(SPOT_TAGS)).length() > 0).fill_null(False)
    qty = j.ConsumedQuantity.fill_null(j.PricingQuantity) if "PricingQuantity" in j.columns else j.ConsumedQuantity
    keys = {"period": billing_period(j), "usage": (j.ChargeCategory == "Usage").fill_null(False),
            "currency": j.BillingCurrency, "ResourceId": j.ResourceId, "ServiceName": j.ServiceName,
            **{f"is_{name}": j[f"is_{name}"] for name in kinds},
            "std": j.PricingCategory.fill_null("Standard") == "Standard",
            "dynamic": (j.PricingCategory == "Dynamic").fill_null(False),
            "committed": j.CommitmentDiscountId.notnull(), "pos_list": (j.ListCost > 0).fill_null(False),
            "tagged": ibis.ifelse(inst, tagged, False),
            "cps": ibis.cases((volume, j.ChargePeriodStart), else_=None),
            "cpe": ibis.cases((volume, j.ChargePeriodEnd), else_=None)}
    nothing = ibis.null("string")
    aggs = {"n": j.count(), "cost": j.EffectiveCost.sum(), "list": j.ListCost.sum(), "qty": j.ConsumedQuantity.sum(),
            "vqty": qty.sum(), "first_seen": j.ChargePeriodStart.min(), "SubAccountId": j.SubAccountId.max(),
            "SubAccountName": j.SubAccountName.max(), "owner": j._owner.max(),
            "description": ibis.ifelse(inst, j.ChargeDescription, nothing).max()}
    for col in ("x_InstanceType", "x_OperatingSystem"):
        if col in j.columns:
            aggs[col] = ibis.ifelse(inst, j[col], nothing).max()
    return j.group_by(**keys).aggregate(**aggs).cache()


__all__ = ["SPOT_TAGS", "scan_charges", "usage_type"]
