"""EC2 instance types (vCPU, memory, architecture, family, generation) and on-demand prices with their source.

- ``instance_types.csv`` is built by ``scripts/build_instance_catalog.py`` from EC2 DescribeInstanceTypes
  records (the copy shipped by moto, or boto3 against an endpoint); its ``#`` header records source and date.
- ``instance_prices.csv`` is a dated snapshot of us-east-1 Linux on-demand hourly prices, transcribed from
  https://aws.amazon.com/ec2/pricing/on-demand/ : the **last resort**. ``resolve_on_demand_prices`` takes a
  price first from the bill (rows of that type and region), then from the AWS Price List API (a callable,
  ``finops_nb.sources.ec2.fetch_on_demand_price``), then from the snapshot, and says which one it used.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
TYPES_CSV = HERE / "instance_types.csv"
PRICES_CSV = HERE / "instance_prices.csv"
HOURS_PER_MONTH = 730  # AWS's pricing calculator month: 730 hours (https://calculator.aws/, "730 hours in a month")


def read_header(path: Path) -> dict[str, str]:
    """The ``# key: value`` lines at the top of a catalog file (source, built date, ...)."""
    meta = {}
    with path.open() as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            key, _, value = line[1:].partition(":")
            meta[key.strip()] = value.strip()
    return meta


@lru_cache(maxsize=1)
def _types() -> pd.DataFrame:
    df = pd.read_csv(TYPES_CSV, comment="#", dtype={"burstable": bool})
    df["family_class"] = df.family.map(family_class)
    return df.set_index("instance_type", drop=False)


def load_instance_types() -> pd.DataFrame:
    """The catalog: ``instance_type, family, generation, vcpu, memory_gib, architecture, network_performance,
    network_baseline_gbps, burstable, gpus, processor, family_class`` indexed by ``instance_type``."""
    return _types().copy()


def catalog_source() -> dict[str, str]:
    """Where the catalog came from and when it was built (its header)."""
    return read_header(TYPES_CSV)


def family_class(family: str) -> str:
    """The letters before the generation digit: ``m5`` -> ``m``, ``m7i-flex`` -> ``m``, ``u-6tb1`` -> ``u``."""
    m = re.match(r"[a-z]+", family or "")
    return m.group(0) if m else ""


def load_price_snapshot() -> pd.DataFrame:
    """The shipped price snapshot: ``instance_type, region, operating_system, on_demand_hourly_usd, source_url,
    as_of``."""
    return pd.read_csv(PRICES_CSV, comment="#", dtype={"on_demand_hourly_usd": float})


PriceFetcher = Callable[[str, str], "float | None"]


def resolve_on_demand_prices(instance_types: Iterable[str], region: str, *, bill: pd.DataFrame | None = None,
                             fetch: PriceFetcher | None = None, operating_system: str = "Linux") -> pd.DataFrame:
    """On-demand hourly price of each type in ``region``, with ``price_source``.

    Order: 1. the bill (``bill`` from ``analyses.rightsizing.list_bill_prices``: the public on-demand rate
    billed for that type and region), 2. ``fetch(instance_type, region)`` (the Price List API; ``None`` or an
    exception means no answer), 3. the shipped snapshot (us-east-1 Linux only). A type none of them prices has
    ``on_demand_hourly_usd`` NaN and source ``unpriced``. Only USD prices are used (the Price List API and the
    snapshot are in USD; bill prices in another currency are not mixed in).
    """
    types = list(dict.fromkeys(t for t in instance_types if isinstance(t, str) and t))
    from_bill = {}
    if bill is not None and not bill.empty:
        part = bill[(bill.RegionId == region) & (bill.currency == "USD")]
        from_bill = dict(zip(part.instance_type, part.on_demand_hourly.astype(float), strict=True))
    snap = load_price_snapshot()
    snap = snap[(snap.region == region) & (snap.operating_system == operating_system)]
    from_snap = {r.instance_type: (r.on_demand_hourly_usd, f"snapshot {r.as_of} {r.source_url}")
                 for r in snap.itertuples()}
    rows = []
    for itype in types:
        price, source = None, "unpriced"
        if itype in from_bill:
            price, source = from_bill[itype], "bill"
        if price is None and fetch is not None and operating_system == "Linux":
            try:
                price = fetch(itype, region)
            except Exception:  # noqa: BLE001 - an unreachable API falls through to the snapshot
                price = None
            source = "AWS Price List API" if price is not None else source
        if price is None and itype in from_snap:
            price, source = from_snap[itype]
        rows.append((itype, region, float("nan") if price is None else float(price), source))
    return pd.DataFrame(rows, columns=["instance_type", "RegionId", "on_demand_hourly_usd", "price_source"])
