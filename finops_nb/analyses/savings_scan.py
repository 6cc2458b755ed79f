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
import pandas as pd

from finops_nb.analyses.common import billing_period, tag_match_key, tag_value

SPOT_TAGS = (r"(?i)^aws:autoscaling:groupName$|^(aws:)?eks:(cluster|nodegroup)-name$|^kubernetes\.io/cluster/"
             r"|^aws:ecs:|^aws:elasticmapreduce:|^aws:batch:|^karpenter\.sh/")
TRIPLE = ["x_UsageType", "ChargeDescription", "ServiceName"]


def usage_type(t: ir.Table) -> ir.StringValue:
    """``x_UsageType`` (CUR-based exports) or an empty string (FOCUS exports without it)."""
    return t.x_UsageType.fill_null("") if "x_UsageType" in t.columns else ibis.literal("")


def _kind_table(t: ir.Table, kinds: dict) -> pd.DataFrame:
    """The distinct (usage type, description, service) triples of ``t`` (``TRIPLE``, as the table has them,
    NULLs included) with ``_kmask``: bit ``i`` set when the triple matches the ``i``-th kind of ``kinds``
    (name -> match over a table with ``x_UsageType``, ``ChargeDescription`` and ``ServiceName``)."""
    k = t.select(*[c for c in TRIPLE if c in t.columns]).distinct()
    k = k.mutate(**{f"is_{name}": match(k) for name, match in kinds.items()})
    df = k.execute()
    mask = sum(df[f"is_{name}"].astype("int64") * (1 << i) for i, name in enumerate(kinds)) if kinds else 0
    return df[[c for c in TRIPLE if c in df.columns]].assign(_kmask=mask).astype({"_kmask": "int64"})


def _tag_keys(t: ir.Table) -> list[list[str]]:
    """The distinct lists of tag keys of ``t``'s rows (a few, however many rows)."""
    return [list(k) if k is not None else [] for k in t.select(k=t.Tags.keys()).distinct().execute().k]


def _tagged(t: ir.Table, lists: list[list[str]]) -> ir.BooleanValue:
    """Whether a row has a tag key matching ``SPOT_TAGS``: the keys are matched once each (``lists``: the
    table's distinct key lists), then each row looks its keys up in the matching ones."""
    keys = sorted({k for ks in lists for k in ks})
    if not keys:
        return ibis.literal(False)
    m = ibis.memtable({"k": keys})
    hits = [k for k, hit in zip(keys, m.select(hit=m.k.re_search(SPOT_TAGS)).execute().hit, strict=True) if hit]
    if not hits:
        return ibis.literal(False)
    return (t.Tags.keys().filter(lambda key: key.isin(hits)).length() > 0).fill_null(False)


def _owner(t: ir.Table, owner_tag: str, lists: list[list[str]]) -> ir.StringValue:
    """``tag_value(t, owner_tag)``, read as a plain map lookup when the table's tag keys allow it: tag_value
    takes the first key whose lower-case letters and digits equal the wanted ones; when at most one such key
    occurs in any row, that key's value is the same thing, without normalizing every key of every row."""
    wanted = tag_match_key(owner_tag)
    hits = [[k for k in keys if tag_match_key(k) == wanted] for keys in lists]
    if any(len(h) > 1 for h in hits):
        return tag_value(t, owner_tag)
    names = sorted({h[0] for h in hits if h})
    if not names:
        return ibis.null("string")
    return ibis.coalesce(*[t.Tags.get(n) for n in names]) if len(names) > 1 else t.Tags.get(names[0])


def scan_charges(t: ir.Table, kinds: dict, *, owner_tag: str, volume_kinds: tuple[str, ...],
                 instance_kind: str, aged_kinds: tuple[str, ...] | None = None) -> ir.Table:
    """Per (billing period, currency, ResourceId, ServiceName, ``mask``, and for ``volume_kinds`` rows the charge
    period ``cps``/``cpe``): ``n`` rows, sums ``cost`` (EffectiveCost), ``list`` (ListCost), ``qty``
    (ConsumedQuantity), ``vqty`` (ConsumedQuantity else PricingQuantity), ``first_seen`` (min ChargePeriodStart;
    of ``aged_kinds`` rows only when given, NULL elsewhere: the checks that age resources read it for those),
    maxima of SubAccountId, SubAccountName, owner and, for ``instance_kind`` rows, ChargeDescription,
    x_InstanceType and x_OperatingSystem. ``mask`` bits, also given as boolean columns: ``is_{kind}`` per kind,
    ``usage`` (ChargeCategory Usage), ``std`` (PricingCategory Standard or NULL), ``dynamic`` (PricingCategory
    Dynamic), ``committed`` (a CommitmentDiscountId), ``pos_list`` (ListCost > 0), ``tagged`` (a fleet tag
    ``SPOT_TAGS``, instance rows only). Cached in the engine."""
    kdf = _kind_table(t, kinds)
    lists = _tag_keys(t)
    r = t.mutate(_owner=_owner(t, owner_tag, lists))
    triple = [c for c in TRIPLE if c in t.columns]
    k = ibis.memtable(kdf.rename(columns={c: f"_k_{c}" for c in triple}))
    k = k.cast({f"_k_{c}": "string" for c in triple})
    j = r.inner_join(k, [r[c].identical_to(k[f"_k_{c}"]) for c in triple])  # NULL matches NULL
    bit = {name: 1 << i for i, name in enumerate(kinds)}
    vbits, ibit = sum(bit[name] for name in volume_kinds), bit[instance_kind]
    has_volume, has_inst = bool((kdf._kmask & vbits).any()), bool((kdf._kmask & ibit).any())
    volume = ((j._kmask & vbits) != 0) if has_volume else ibis.literal(False)
    inst = ((j._kmask & ibit) != 0) if has_inst else ibis.literal(False)
    abits = sum(bit[name] for name in aged_kinds) if aged_kinds is not None else -1
    has_aged = bool((kdf._kmask & abits).any())
    aged = ((j._kmask & abits) != 0) if has_aged else ibis.literal(False)
    seen = j.ChargePeriodStart if aged_kinds is None else ibis.cases((aged, j.ChargePeriodStart), else_=None)
    tagged = _tagged(j, lists)
    flags = {"usage": (j.ChargeCategory == "Usage").fill_null(False),
             "std": j.PricingCategory.fill_null("Standard") == "Standard",
             "dynamic": (j.PricingCategory == "Dynamic").fill_null(False),
             "committed": j.CommitmentDiscountId.notnull(), "pos_list": (j.ListCost > 0).fill_null(False),
             "tagged": ibis.ifelse(inst, tagged, False)}
    for i, name in enumerate(flags):
        bit[name] = 1 << (len(kinds) + i)
    mask = j._kmask
    for name, flag in flags.items():
        mask = mask + ibis.ifelse(flag, bit[name], 0)
    keys = {"BillingPeriodStart": j.BillingPeriodStart, "currency": j.BillingCurrency, "ResourceId": j.ResourceId,
            "ServiceName": j.ServiceName, "mask": mask,
            "cps": ibis.cases((volume, j.ChargePeriodStart), else_=None),
            "cpe": ibis.cases((volume, j.ChargePeriodEnd), else_=None)}
    qty = j.ConsumedQuantity.fill_null(j.PricingQuantity) if "PricingQuantity" in j.columns else j.ConsumedQuantity
    nothing = ibis.null("string")
    aggs = {"n": j.count(), "cost": j.EffectiveCost.sum(), "list": j.ListCost.sum(), "qty": j.ConsumedQuantity.sum(),
            "vqty": ibis.cases((volume, qty), else_=None).sum(), "first_seen": seen.min(),
            "SubAccountId": j.SubAccountId.max(),
            "SubAccountName": j.SubAccountName.max(), "owner": j._owner.max(),
            "description": ibis.ifelse(inst, j.ChargeDescription, nothing).max()}
    for col in ("x_InstanceType", "x_OperatingSystem"):
        if col in j.columns:
            aggs[col] = ibis.ifelse(inst, j[col], nothing).max()
    # aggregates that are NULL in every group (no volume, aged or instance row, no owner tag key): not computed
    wanted = tag_match_key(owner_tag)
    null = (["vqty"] * (not has_volume) + ["first_seen"] * (aged_kinds is not None and not has_aged)
            + ["owner"] * (not any(tag_match_key(k) == wanted for ks in lists for k in ks))
            + ["description", "x_InstanceType", "x_OperatingSystem"] * (not has_inst))
    null = {name: ibis.null(aggs[name].type()) for name in null if name in aggs}
    g = j.group_by(**keys).aggregate(**{name: agg for name, agg in aggs.items() if name not in null})
    g = g.mutate(**null).select(*keys, *aggs)
    names = {f"is_{name}" if name in kinds else name: b for name, b in bit.items()}
    out = g.mutate(period=billing_period(g), **{name: (g.mask & b) != 0 for name, b in names.items()})
    # PySpark's cache does not register the in-memory kinds table (ibis 12), so there each check recomputes it
    return out.cache() if t._find_backend().name == "duckdb" else out


__all__ = ["SPOT_TAGS", "scan_charges", "usage_type"]
