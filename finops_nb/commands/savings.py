"""``finops-nb savings``: the savings ledger of a month (every check of ``finops_nb.analyses.savings``), totals that
count each resource once beside the naive sum, as a table, JSON or CSV, and one CSV action list per owner."""

from __future__ import annotations

import json
import re
from pathlib import Path

EXPORT_COLUMNS = ["owner", "SubAccountId", "SubAccountName", "check", "action", "action_kind", "ResourceId",
                  "ServiceName", "currency", "monthly_cost", "monthly_savings", "effort", "risk", "basis", "evidence"]


EIP_ID_RE = re.compile(r"(eipalloc-[0-9a-f]+)|(?<![0-9.])((?:\d{1,3}\.){3}\d{1,3})(?![0-9.])")
NAT_ID_RE = re.compile(r"(nat-[0-9a-f]+)")
ARN_REGION_RE = re.compile(r"^arn:[^:]+:ec2:([a-z0-9-]+):")


def _region(resource_id: str, default: str) -> str:
    m = ARN_REGION_RE.match(resource_id or "")
    return m.group(1) if m else default


def confirm_idle(ledger, session=None):
    """The ledger with an ``inventory`` column for idle Elastic IPs and NAT gateways, read through boto3
    (``describe_addresses``, ``describe_nat_gateways``, in each finding's region from its ARN, else the session's):

    - Elastic IP: ``idle (confirmed)`` when the address exists without an association, ``in use now`` when it is
      associated, ``released`` when EC2 no longer lists it;
    - NAT gateway: ``exists (state)`` for a gateway in state pending/available (the bill says it moved no
      data), ``deleted`` when its state is deleted/deleting or EC2 does not list it.

    Other rows get ``not checked``. Reads only; AWS errors propagate (the caller decides whether to go on).
    """
    import os

    import boto3

    from finops_nb.sources.aws import RETRIES, client

    session = session or boto3.Session()
    default = session.region_name or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"

    def ec2(region: str):
        # sources.aws.client in the session's region; a finding in another region gets a client of its own (same
        # session and retries; boto3 honours AWS_ENDPOINT_URL for both)
        return client("ec2", session) if region == default else session.client("ec2", region_name=region,
                                                                                 config=RETRIES)
    out = ledger.copy()
    out["inventory"] = "not checked"
    addresses, gateways = {}, {}
    for i, row in out.iterrows():
        rid = str(row.ResourceId)
        if row.check == "idle Elastic IP" and (m := EIP_ID_RE.search(rid)):
            region = _region(rid, default)
            if region not in addresses:
                found = ec2(region).describe_addresses()["Addresses"]
                addresses[region] = {k: a for a in found for k in (a.get("AllocationId"), a.get("PublicIp")) if k}
            a = addresses[region].get(m.group(1) or m.group(2))
            out.at[i, "inventory"] = ("released" if a is None else
                                      "in use now" if a.get("AssociationId") else "idle (confirmed)")
        elif row.check == "unattached EBS volume":  # found through describe_volumes in the first place
            out.at[i, "inventory"] = "unattached (confirmed)"
        elif row.check == "idle NAT gateway" and (m := NAT_ID_RE.search(rid)):
            region = _region(rid, default)
            if region not in gateways:
                pages = ec2(region).get_paginator("describe_nat_gateways").paginate()
                gateways[region] = {g["NatGatewayId"]: g["State"] for page in pages for g in page["NatGateways"]}
            state = gateways[region].get(m.group(1))
            out.at[i, "inventory"] = "deleted" if state in (None, "deleted", "deleting") else f"exists ({state})"
    return out


def _with_unattached_volumes(ledger, t, month: str, owner_tag: str):
    """The ledger plus ``find_unattached_volumes``, with each billed volume's state read through
    ``describe_volumes`` in the region of its ARN (else the session's)."""
    import os

    import boto3
    import pandas as pd

    from finops_nb.analyses import savings as sv
    from finops_nb.analyses.common import for_month
    from finops_nb.sources.ec2 import describe_volume_states

    u = for_month(t, month)
    ids = u.filter(u.ResourceId.re_search(sv.VOLUME_ID_RE)).select("ResourceId").distinct().execute().ResourceId
    default = boto3.Session().region_name or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    by_region: dict[str, list[str]] = {}
    for rid in ids:
        by_region.setdefault(_region(rid, default), []).append(re.search(sv.VOLUME_ID_RE, rid).group(1))
    states = {}
    for region, vols in by_region.items():
        states.update(describe_volume_states(vols, region=region))
    found = sv.find_unattached_volumes(t, states, month=month, owner_tag=owner_tag)
    if found.empty:
        return ledger
    return (pd.concat([ledger, found], ignore_index=True)
            .sort_values(["monthly_savings", "check", "ResourceId"], ascending=[False, True, True], ignore_index=True))


def add_parser(sub) -> None:
    p = sub.add_parser("savings", help="savings ledger of a month: every check, totals counted once, per owner")
    p.add_argument("--data", default="sample", help="billing export: file or folder; 'sample' = shipped sample")
    p.add_argument("--month", required=True, help="billing period YYYY-MM (or 'last')")
    p.add_argument("--owner-tag", default="owner", help="tag naming a resource's owner (default: owner)")
    p.add_argument("--discount", type=float, default=0.0, help="commitment discount for uncovered compute; "
                   "0 (default) learns it from the bill")
    p.add_argument("--snapshot-days", type=int, default=90, help="snapshots older than this are flagged (90)")
    p.add_argument("--s3-cold-share", type=float, default=0.5, help="share of S3 Standard bytes assumed unread "
                   "for 30 days (0.5)")
    p.add_argument("--db-reserved-discount", type=float, default=0.0, help="reservation discount for on-demand "
                   "databases when the bill has none of its own (0: listed, not priced)")
    p.add_argument("--spot-discount", type=float, default=0.0, help="Spot discount when the bill has no Spot "
                   "hours of its own (0: listed, not priced)")
    p.add_argument("--format", default="auto", choices=["auto", "focus", "cur"])
    p.add_argument("--top", type=int, default=20, help="findings shown in the table (default 20)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print totals and findings as JSON")
    out.add_argument("--csv", metavar="FILE", help="write every finding to FILE (CSV)")
    p.add_argument("--owner-dir", metavar="DIR", help="also write one CSV action list per owner into DIR")
    p.add_argument("--owner-format", default="csv", choices=["csv", "xlsx", "both"], help="format of the --owner-dir "
                   "lists (default csv)")
    p.add_argument("--xlsx", metavar="FILE", help="also write a workbook: sheets totals and findings (XLSX)")
    p.add_argument("--inventory", default="off", choices=["auto", "on", "off"],
                   help="find unattached EBS volumes and confirm idle Elastic IPs and NAT gateways with EC2 describe "
                   "calls: auto (when AWS credentials are configured), on, off (default)")
    p.set_defaults(func=run)


def write_owner_lists(ledger, folder, month: str, columns=EXPORT_COLUMNS, formats=("csv",)) -> list[Path]:
    """One action list per owner, ``savings-{month}-{owner}.csv`` (and/or ``.xlsx``) in ``folder`` (created); the
    paths written (``finops_nb.exports.write_action_lists``)."""
    from finops_nb.exports import write_action_lists

    return write_action_lists(ledger, folder, prefix=f"savings-{month}-", columns=columns, formats=formats)


def run(args) -> int:
    from finops_nb import connect, load_charges
    from finops_nb.analyses import savings as sv
    from finops_nb.analyses.commitments import observed_discount
    from finops_nb.analyses.common import billing_period, for_month, resolve_month
    from finops_nb.errors import ConfigError
    from finops_nb.sources.aws import credentials_configured

    month = resolve_month(args.month)
    for name, value in (("--discount", args.discount), ("--s3-cold-share", args.s3_cold_share),
                        ("--db-reserved-discount", args.db_reserved_discount), ("--spot-discount", args.spot_discount)):
        if not (0 <= value <= 1 if name == "--s3-cold-share" else 0 <= value < 1):
            raise ConfigError(f"{name} {value} must be a fraction between 0 and 1 (for example 0.3)")
    t = load_charges(args.data, con=connect(), format=args.format).table
    if for_month(t, month).count().execute() == 0:
        months = sorted(t.select(m=billing_period(t)).distinct().execute().m)
        raise ConfigError(f"no charges in billing period {month} of {args.data}; it has {', '.join(months)}")
    rate, source = (args.discount, "--discount") if args.discount else observed_discount(t, month=month)
    ledger = sv.build_ledger(t, month=month, discount=rate, discount_source=source, owner_tag=args.owner_tag,
                             snapshot_min_age_days=args.snapshot_days, s3_cold_share=args.s3_cold_share,
                             db_reserved_discount=args.db_reserved_discount, spot_discount=args.spot_discount)
    columns = EXPORT_COLUMNS
    if args.inventory == "on" or (args.inventory == "auto" and credentials_configured()):
        ledger = _with_unattached_volumes(ledger, t, month, args.owner_tag)
        ledger, columns = confirm_idle(ledger), [*EXPORT_COLUMNS, "inventory"]
    summary = sv.summarize_ledger(ledger)
    rows = ledger.reindex(columns=columns)
    if args.owner_dir:
        write_owner_lists(ledger, args.owner_dir, month, columns,
                          formats=("csv", "xlsx") if args.owner_format == "both" else (args.owner_format,))
    if args.xlsx:
        from finops_nb.exports import write_xlsx

        write_xlsx({"totals": summary, "findings": rows}, args.xlsx)
    if args.json:
        doc = {"billing_period": month, "commitment_discount": {"rate": rate, "source": source},
               "totals": json.loads(summary.to_json(orient="records")),
               "findings": json.loads(rows.to_json(orient="records"))}
        print(json.dumps(doc, indent=2))
        return 0
    if args.csv:
        rows.to_csv(args.csv, index=False)
        print(f"{len(rows)} findings written to {args.csv}")
    for r in summary.itertuples():
        extra = f" (naive sum {r.naive_monthly_savings:,.4f})" if r.check == sv.ONCE else ""
        print(f"{r.currency} {r.check}: {r.findings} findings, {r.monthly_savings:,.4f} per month{extra}")
    if not args.csv and len(rows):
        print()
        top = rows.head(args.top)[["owner", "check", "ResourceId", "monthly_cost", "monthly_savings"]]
        top = top.assign(ResourceId=top.ResourceId.map(lambda r: r if len(r) <= 40 else "..." + r[-37:]),
                         owner=top.owner.fillna("(no owner)"))
        print(top.to_string(index=False, float_format=lambda v: f"{v:,.4f}"))
    return 0
