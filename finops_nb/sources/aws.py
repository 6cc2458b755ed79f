"""Shared boto3 plumbing: sessions, endpoints (AWS_ENDPOINT_URL), and whether credentials are configured."""

from __future__ import annotations

import os
from pathlib import Path

import boto3
from botocore.config import Config

RETRIES = Config(retries={"max_attempts": 8, "mode": "adaptive"}, connect_timeout=5, read_timeout=30)
CREDENTIAL_ENV = ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
                  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI")


def client(service: str, session: boto3.Session | None = None):
    """A boto3 client that honours AWS_ENDPOINT_URL (boto3 reads it itself) with adaptive retries."""
    session = session or boto3.Session()
    region = session.region_name or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return session.client(service, region_name=region, config=RETRIES)


def credentials_configured() -> bool:
    """True when credentials are set explicitly (environment, profile files, container or web identity).

    The instance metadata service is not probed: a scheduled report on a laptop must not reach out to
    the network on its own. On EC2 with an instance role, pass ``cloudwatch="on"`` to use it.
    """
    if any(os.environ.get(v) for v in CREDENTIAL_ENV):
        return True
    home = Path.home() / ".aws"
    files = [os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or home / "credentials",
             os.environ.get("AWS_CONFIG_FILE") or home / "config"]
    return any(Path(f).is_file() for f in files)
