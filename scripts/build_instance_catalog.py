"""Build ``finops_nb/catalog/instance_types.csv`` from EC2 ``DescribeInstanceTypes`` data.

Source, in this order:
- ``--endpoint URL`` (or ``--boto3``): ``ec2.describe_instance_types`` through boto3, paginated (a real account
  or any endpoint that serves the EC2 API, e.g. moto's server);
- otherwise the DescribeInstanceTypes data shipped by the installed ``moto`` package
  (``moto/ec2/resources/instance_types.json[.gz]``, one DescribeInstanceTypes record per type).

Bare-metal types are left out (they are never a rightsizing target); every other current and previous
generation type is kept with the columns the recommendation needs. The file starts with ``#`` lines that
record the source and the date it was built.

Run:  .venv/bin/python scripts/build_instance_catalog.py [--endpoint http://127.0.0.1:5000] [--out PATH]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "finops_nb" / "catalog" / "instance_types.csv"
COLUMNS = ["instance_type", "family", "generation", "vcpu", "memory_gib", "architecture", "network_performance",
           "network_baseline_gbps", "burstable", "gpus", "processor"]


def moto_records() -> tuple[list[dict], str]:
    import moto

    folder = Path(moto.__file__).parent / "ec2" / "resources"
    for name in ("instance_types.json.gz", "instance_types.json"):
        path = folder / name
        if path.exists():
            opener = gzip.open if name.endswith(".gz") else open
            with opener(path, "rt") as fh:
                data = json.load(fh)
            records = list(data.values()) if isinstance(data, dict) else data
            return records, f"moto {moto.__version__} moto/ec2/resources/{name} (EC2 DescribeInstanceTypes records)"
    raise SystemExit(f"no instance_types.json[.gz] in {folder}: is moto installed?")


def boto3_records(endpoint: str | None, region: str) -> tuple[list[dict], str]:
    import boto3

    ec2 = boto3.client("ec2", region_name=region, endpoint_url=endpoint)
    records = [r for page in ec2.get_paginator("describe_instance_types").paginate()
               for r in page["InstanceTypes"]]
    return records, f"ec2.describe_instance_types in {region} via {endpoint or 'the default AWS endpoint'}"


def architecture(archs: list[str]) -> str:
    """One architecture per type: ``arm64`` or ``x86_64`` (i386-capable types are x86_64; Mac types keep theirs)."""
    if "x86_64" in archs:
        return "x86_64"
    return archs[0] if archs else ""


def to_row(r: dict) -> dict:
    itype = r["InstanceType"]
    net = r.get("NetworkInfo", {})
    cards = net.get("NetworkCards") or [{}]
    gpus = sum(g.get("Count", 0) for g in (r.get("GpuInfo") or {}).get("Gpus", []))
    return {
        "instance_type": itype,
        "family": itype.split(".")[0],
        "generation": "current" if r.get("CurrentGeneration") else "previous",
        "vcpu": r["VCpuInfo"]["DefaultVCpus"],
        "memory_gib": round(r["MemoryInfo"]["SizeInMiB"] / 1024, 3),
        "architecture": architecture(r.get("ProcessorInfo", {}).get("SupportedArchitectures", [])),
        "network_performance": net.get("NetworkPerformance", ""),
        "network_baseline_gbps": cards[0].get("BaselineBandwidthInGbps", ""),
        "burstable": bool(r.get("BurstablePerformanceSupported")),
        "gpus": gpus,
        "processor": r.get("ProcessorInfo", {}).get("Manufacturer", ""),
    }


def build(records: list[dict], source: str, out: Path, today: str) -> int:
    rows = sorted((to_row(r) for r in records if not r.get("BareMetal")),
                  key=lambda row: (row["family"], row["vcpu"], row["memory_gib"], row["instance_type"]))
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as fh:
        fh.write(f"# source: {source}\n")
        fh.write(f"# built: {today} by scripts/build_instance_catalog.py (bare-metal types left out)\n")
        fh.write("# generation: current/previous as DescribeInstanceTypes CurrentGeneration says\n")
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--endpoint", help="EC2 endpoint URL to call DescribeInstanceTypes on (boto3)")
    p.add_argument("--boto3", action="store_true", help="call DescribeInstanceTypes on the default endpoint")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--date", default=datetime.now(UTC).date().isoformat(), help="date recorded in the header")
    args = p.parse_args(argv)
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", args.date):
        raise SystemExit("--date must be YYYY-MM-DD")
    records, source = (boto3_records(args.endpoint, args.region) if args.endpoint or args.boto3
                       else moto_records())
    n = build(records, source, args.out, args.date)
    print(f"{args.out}: {n} instance types from {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
