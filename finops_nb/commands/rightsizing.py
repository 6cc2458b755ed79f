"""``finops-nb rightsizing``: EC2 rightsizing from the bill, CloudWatch utilization and on-demand prices.

``collect_rightsizing`` does the I/O (bill, CloudWatch, Price List API) around the pure analyses of
``finops_nb.analyses.rightsizing``; the notebook ``20-rightsizing`` and the command both call it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import boto3
import pandas as pd

from finops_nb.errors import ConfigError

DEFAULTS = {"lookback": 14, "percentile": 99, "headroom": 20}


@dataclass
class Rightsizing:
    """Everything behind a recommendation: inputs, metrics, prices, and what could not be read."""

    instances: pd.DataFrame  # list_compute_instances, EC2 instances only
    samples: pd.DataFrame | None  # fetch_metrics rows, None when CloudWatch was not read
    stats: pd.DataFrame  # summarize_metrics
    prices: pd.DataFrame  # resolve_on_demand_prices for current and candidate types
    recommendations: pd.DataFrame  # recommend_instances
    metrics_status: str
    missing_metrics: list[str] = field(default_factory=list)
    pricing_status: str = ""
    window: tuple = ()
    live: pd.DataFrame | None = None  # sources.ec2.describe_instances, None when EC2 was not read
    inventory_status: str = ""


@dataclass
class RightsizingInputs:
    """What a recommendation reads that percentile, headroom and Graviton do not change: the month's EC2
    instances, their metrics over the lookback, the bill's prices, the catalog and DescribeInstances. Read once
    (``prepare_rightsizing``); ``recommend_rightsizing`` then sizes on the small per-instance frames only."""

    instances: pd.DataFrame
    samples: pd.DataFrame | None
    metrics_status: str
    missing_metrics: list[str]
    window: tuple
    catalog: pd.DataFrame
    bill: pd.DataFrame
    fetch: object  # sources.ec2.PriceFetcher, None without the Price List API
    live: pd.DataFrame | None
    inventory_status: str
    stats_by_percentiles: dict = field(default_factory=dict)

    def stats(self, percentiles: tuple) -> pd.DataFrame:
        """``summarize_metrics`` at these percentiles, computed once each."""
        from finops_nb.analyses import rightsizing as rs

        if percentiles not in self.stats_by_percentiles:
            self.stats_by_percentiles[percentiles] = rs.summarize_metrics(self.samples, percentiles=percentiles)
        return self.stats_by_percentiles[percentiles]


def _check_modes(**modes) -> None:
    for name, mode in modes.items():
        if mode not in ("auto", "on", "off"):
            raise ConfigError(f"{name} mode must be auto, on or off, got {mode!r}")


def prepare_rightsizing(t, month: str, *, lookback_days: int = 14, period: int | None = None,
                        cloudwatch: str = "auto", pricing: str = "auto", describe: str = "auto",
                        session: boto3.Session | None = None) -> RightsizingInputs:
    """The table scans and AWS reads of ``collect_rightsizing`` for ``month``: inventory, metrics over
    ``lookback_days`` ending at the month's end, bill prices, DescribeInstances (modes as there)."""
    from finops_nb.analyses import rightsizing as rs
    from finops_nb.analyses.common import month_bounds
    from finops_nb.catalog.instance_types import load_instance_types
    from finops_nb.sources.aws import credentials_configured
    from finops_nb.sources.cloudwatch import lookback_window, read_metrics
    from finops_nb.sources.ec2 import PriceFetcher

    _check_modes(pricing=pricing, describe=describe)
    _, end = month_bounds(month)
    start, end, period = lookback_window(end.to_pydatetime(), lookback_days, period)
    inv = rs.list_compute_instances(t, month=month).execute()
    inv = inv[inv.instance_id.notna()].reset_index(drop=True)
    for col in ("hours", "effective_cost", "billed_cost"):
        inv[col] = inv[col].astype(float)
    ids = sorted(inv.instance_id.unique())
    samples, status = read_metrics(ids, start, end, period=period, mode=cloudwatch, session=session,
                                   regions=dict(zip(inv.instance_id, inv.RegionId, strict=True)))
    missing = [] if samples is not None else ["all CloudWatch metrics"]
    if samples is not None:
        from finops_nb.sources.cloudwatch import METRICS

        missing = [f"{METRICS[m][0]} {METRICS[m][1]}" for m in METRICS if not (samples.metric == m).any()]
    bill = rs.list_bill_prices(t, month=month).execute()
    use_api = pricing == "on" or (pricing == "auto" and credentials_configured())
    fetch = PriceFetcher(session=session) if use_api else None
    live, inventory_status = _describe(inv, describe, session)
    return RightsizingInputs(inv, samples, status, missing, (start, end, period), load_instance_types(), bill,
                             fetch, live, inventory_status)


def recommend_rightsizing(inputs: RightsizingInputs, *, percentile: int = 99, headroom_pct: float = 20,
                          graviton: bool = True, target_families=None) -> Rightsizing:
    """Candidate types, their prices and the recommendations at this percentile and headroom: no table scan."""
    from finops_nb.analyses import rightsizing as rs
    from finops_nb.catalog.instance_types import resolve_on_demand_prices

    if not 0 < percentile <= 100:
        raise ConfigError(f"percentile {percentile} must be between 1 and 100")
    if headroom_pct < 0:
        raise ConfigError(f"headroom {headroom_pct} % must not be negative")
    inv, catalog, fetch = inputs.instances, inputs.catalog, inputs.fetch
    stats = inputs.stats(tuple(sorted({50, 95, 99, percentile})))
    measured = inv.merge(stats, on="instance_id").merge(catalog[["vcpu", "memory_gib"]], left_on="instance_type",
                                                        right_index=True)
    frames = []
    for region, part in inv.groupby("RegionId"):
        types = list(part.instance_type.dropna().unique())
        here = measured[measured.RegionId == region]
        if not here.empty:
            needs = [rs.size_need(m.vcpu, m.memory_gib, getattr(m, f"cpu_p{percentile}_pct"),
                                  getattr(m, f"mem_p{percentile}_pct") if m.mem_measured else None, headroom_pct)
                     for m in here.itertuples()]
            types += rs.list_candidate_types(catalog, types, target_families=target_families, graviton=graviton,
                                             needs=needs)
        frames.append(resolve_on_demand_prices(types, region, bill=inputs.bill, fetch=fetch))
    prices = (pd.concat(frames, ignore_index=True) if frames else
              pd.DataFrame(columns=["instance_type", "RegionId", "on_demand_hourly_usd", "price_source"]))
    pricing_status = ("Price List API not used (pricing off or no credentials): prices from the bill, else the "
                      "shipped snapshot" if fetch is None else
                      f"Price List API could not be read ({fetch.error}): prices from the bill, else the snapshot"
                      if fetch.error else "Prices from the bill, else the Price List API, else the snapshot")
    view = inv.merge(stats, on="instance_id", how="left")
    recs = rs.recommend_instances(view, catalog, prices, percentile=percentile, headroom_pct=headroom_pct,
                                  graviton=graviton, target_families=target_families)
    if inputs.live is not None:
        recs = join_live(recs, inputs.live)
    return Rightsizing(inv, inputs.samples, stats, prices, recs, inputs.metrics_status, list(inputs.missing_metrics),
                       pricing_status, inputs.window, inputs.live, inputs.inventory_status)


def collect_rightsizing(t, month: str, *, lookback_days: int = 14, period: int | None = None,
                        percentile: int = 99, headroom_pct: float = 20, graviton: bool = True,
                        target_families=None, cloudwatch: str = "auto", pricing: str = "auto",
                        describe: str = "auto", session: boto3.Session | None = None) -> Rightsizing:
    """Inventory of ``month`` -> metrics over ``lookback_days`` ending at the month's end -> prices -> recommendations
    (``prepare_rightsizing`` then ``recommend_rightsizing``).

    ``cloudwatch``, ``pricing`` and ``describe`` (DescribeInstances: state, architecture, Auto Scaling group,
    tags): ``auto`` (only when AWS credentials are configured), ``on``, ``off``.
    """
    if not 0 < percentile <= 100:
        raise ConfigError(f"percentile {percentile} must be between 1 and 100")
    if headroom_pct < 0:
        raise ConfigError(f"headroom {headroom_pct} % must not be negative")
    inputs = prepare_rightsizing(t, month, lookback_days=lookback_days, period=period, cloudwatch=cloudwatch,
                                 pricing=pricing, describe=describe, session=session)
    return recommend_rightsizing(inputs, percentile=percentile, headroom_pct=headroom_pct, graviton=graviton,
                                 target_families=target_families)


def _describe(inv: pd.DataFrame, mode: str, session) -> tuple[pd.DataFrame | None, str]:
    from botocore.exceptions import BotoCoreError, ClientError

    from finops_nb.sources.aws import credentials_configured
    from finops_nb.sources.ec2 import describe_instances

    if inv.empty or mode == "off" or (mode == "auto" and not credentials_configured()):
        return None, "EC2 DescribeInstances not read (no AWS credentials configured, or off): state and Auto " \
                     "Scaling groups unknown; needs ec2:DescribeInstances"
    try:
        frames = [describe_instances(part.instance_id, region=region, session=session)
                  for region, part in inv.groupby("RegionId")]
    except (BotoCoreError, ClientError) as exc:
        return None, f"EC2 DescribeInstances could not be read ({type(exc).__name__}: {exc})"
    live = pd.concat(frames, ignore_index=True)
    return live, f"EC2 DescribeInstances read: {len(live)} of {inv.instance_id.nunique()} instances still exist"


def join_live(recs: pd.DataFrame, live: pd.DataFrame) -> pd.DataFrame:
    """Add ``state`` and ``auto_scaling_group`` and say what they change: an instance of an Auto Scaling group is
    resized through its launch template; a terminated or missing one needs no action; a type changed since the
    bill is named."""
    out = recs.merge(live[["instance_id", "state", "auto_scaling_group", "live_instance_type"]], on="instance_id",
                     how="left")
    notes = []
    for r in out.itertuples(index=False):
        extra = []
        if pd.isna(r.state):
            extra.append("not found by DescribeInstances (terminated or another account)")
        elif r.state in ("terminated", "shutting-down"):
            extra.append(f"{r.state}: nothing to resize")
        if isinstance(r.auto_scaling_group, str):
            extra.append(f"in Auto Scaling group {r.auto_scaling_group}: change its launch template")
        if isinstance(r.live_instance_type, str) and r.live_instance_type != r.instance_type:
            extra.append(f"now runs as {r.live_instance_type}")
        notes.append("; ".join(x for x in [r.note if isinstance(r.note, str) else "", *extra] if x))
    return out.assign(note=notes).drop(columns=["live_instance_type"])


COLUMNS = ["instance_id", "instance_type", "RegionId", "currency", "effective_hourly_rate", "on_demand_hourly_usd",
           "finding", "recommended_type", "savings_monthly", "risk", "risk_score", "state", "auto_scaling_group",
           "family_type", "family_savings_monthly", "across_type", "across_savings_monthly", "graviton_type",
           "graviton_savings_monthly", "price_source", "note"]


def _records(df: pd.DataFrame) -> list[dict]:
    return json.loads(df.to_json(orient="records", double_precision=10))


def cmd_rightsizing(args) -> int:
    from finops_nb import load_charges
    from finops_nb.analyses.common import resolve_month

    month = resolve_month(args.month)
    families = [f.strip() for f in args.families.split(",") if f.strip()] if args.families else None
    charges = load_charges(args.data, format=args.format)
    r = collect_rightsizing(charges.table, month, lookback_days=args.lookback, percentile=args.percentile,
                            headroom_pct=args.headroom, graviton=not args.no_graviton, target_families=families,
                            cloudwatch=args.cloudwatch, pricing=args.pricing)
    start, end, period = r.window
    if args.json:
        doc = {"billing_period": month, "lookback_days": args.lookback, "window_start": start.isoformat(),
               "window_end": end.isoformat(), "period_seconds": period, "percentile": args.percentile,
               "headroom_pct": args.headroom, "metrics_status": r.metrics_status,
               "missing_metrics": r.missing_metrics, "pricing_status": r.pricing_status,
               "inventory_status": r.inventory_status,
               "instances": _records(r.instances[["instance_id", "instance_type", "RegionId", "currency", "hours",
                                                  "effective_cost", "effective_hourly_rate"]]),
               "recommendations": _records(r.recommendations)}
        print(json.dumps(doc, indent=2))
        return 0
    print(f"Rightsizing {month}: {len(r.instances)} EC2 instances; metrics over {args.lookback} days "
          f"[{start:%Y-%m-%d}, {end:%Y-%m-%d}), p{args.percentile} + {args.headroom:g} % headroom")
    print(r.metrics_status)
    if r.missing_metrics:
        print("Metrics missing: " + ", ".join(r.missing_metrics))
    print(r.pricing_status)
    print(r.inventory_status)
    table = r.recommendations.reindex(columns=COLUMNS).dropna(axis=1, how="all")  # no empty option columns
    with pd.option_context("display.max_columns", None, "display.width", 200, "display.max_colwidth", 60):
        print(table.to_string(index=False, na_rep="") if not table.empty else "(no EC2 instances)")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("rightsizing", help="EC2 rightsizing: utilization percentiles, targets, savings")
    p.add_argument("--data", default="sample", help="billing export (file or folder); default: the shipped sample")
    p.add_argument("--format", default="auto", help="export format (auto, focus, cur)")
    p.add_argument("--month", required=True, help="billing period YYYY-MM (or 'last')")
    p.add_argument("--lookback", type=int, default=DEFAULTS["lookback"], choices=(14, 32, 93),
                   help="days of metrics ending at the month's end (Compute Optimizer's 14, 32 or 93)")
    p.add_argument("--percentile", type=int, default=DEFAULTS["percentile"], help="utilization percentile sized for")
    p.add_argument("--headroom", type=float, default=DEFAULTS["headroom"], help="headroom in percent over it")
    p.add_argument("--families", default="", help="target families for the across-families option, comma-separated")
    p.add_argument("--no-graviton", action="store_true", help="no Graviton (arm64) option")
    p.add_argument("--cloudwatch", default="auto", choices=("auto", "on", "off"))
    p.add_argument("--pricing", default="auto", choices=("auto", "on", "off"), help="use the AWS Price List API")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_rightsizing)
