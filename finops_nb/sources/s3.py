"""Billing exports on S3: list a prefix, download into a local cache keyed by ETag, read from the cache.

The local mirror holds exactly the objects under the prefix now: a changed object (new ETag) is downloaded
again, an object gone from S3 is removed from the mirror, so a load never counts a stale file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import boto3

from finops_nb import config
from finops_nb.errors import DataError
from finops_nb.sources.aws import client
from finops_nb.sources.base import SUFFIXES

INDEX = ".etags.json"


@dataclass
class SyncResult:
    folder: Path
    downloaded: int
    reused: int
    removed: int


def parse_s3_url(url: str) -> tuple[str, str]:
    u = urlparse(url)
    if u.scheme != "s3" or not u.netloc:
        raise DataError(f"{url!r} is not an s3://bucket/prefix URL")
    return u.netloc, u.path.lstrip("/")


def sync_prefix(url: str, *, session: boto3.Session | None = None, cache: Path | None = None,
                show_progress: bool = False) -> SyncResult:
    """Mirror the billing files (.csv, .csv.gz, .parquet, manifest .json) under ``url`` into the cache."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, prefix = parse_s3_url(url)
    root = (cache or config.cache_dir() / "s3") / bucket
    root.mkdir(parents=True, exist_ok=True)
    index_path = root / INDEX
    index = json.loads(index_path.read_text()) if index_path.exists() else {}
    s3 = client("s3", session)
    try:
        objects = [o for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
                   for o in page.get("Contents", []) if o["Key"].lower().endswith((*SUFFIXES, ".json"))]
    except (BotoCoreError, ClientError) as exc:
        raise DataError(f"cannot list {url}: {exc}", hint="check the bucket name, AWS credentials and "
                        "the s3:ListBucket permission") from exc
    if not any(o["Key"].lower().endswith(SUFFIXES) for o in objects):
        raise DataError(f"no .csv, .csv.gz or .parquet object under {url}")
    wanted = {o["Key"]: o["ETag"].strip('"') for o in objects}
    todo = [k for k, etag in wanted.items() if index.get(k) != etag or not (root / k).exists()]
    from rich.progress import Progress

    with Progress(disable=not show_progress, transient=True) as progress:
        task = progress.add_task(f"downloading {url}", total=len(todo))
        for key in todo:
            target = root / key
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".part")
            try:
                s3.download_file(bucket, key, str(partial))
            except (BotoCoreError, ClientError) as exc:
                raise DataError(f"cannot download s3://{bucket}/{key}: {exc}",
                                hint="check the s3:GetObject permission") from exc
            partial.replace(target)
            index[key] = wanted[key]
            progress.advance(task)
    removed = 0
    for key in [k for k in index if k.startswith(prefix) and k not in wanted]:
        (root / key).unlink(missing_ok=True)
        del index[key]
        removed += 1
    index_path.write_text(json.dumps(index, indent=1, sort_keys=True))
    # one object named exactly -> that file; a prefix -> its folder in the mirror
    local = root / prefix if prefix else root
    return SyncResult(folder=local, downloaded=len(todo), reused=len(wanted) - len(todo), removed=removed)
