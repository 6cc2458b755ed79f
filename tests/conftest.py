"""Shared fixtures. Hand-worked cases are read in place from ../shared (beside the checkout)."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

# Never let boto3 probe the instance metadata service, never use a developer's real AWS credentials.
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
for var in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
    os.environ.pop(var, None)

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FINOPS_SHARED") or ROOT.parent / "shared")
SAMPLE = ROOT / "finops_nb" / "data" / "samples" / "focus_sample_1000.csv"
# fake credentials for moto; tests check they never show up in outputs
FAKE_KEY_ID = "FAKEFINOPSNBTESTONLY"
FAKE_SECRET = "finops-nb-fake-secret-0b6c1f"


def shared_path(*parts: str) -> Path:
    """A file of the team's hand-worked cases. Missing cases fail the run: a skipped case proves nothing."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"{path} not found: the hand-worked cases live in ../shared beside the checkout; "
                    "set FINOPS_SHARED=/path/to/shared when the checkout is elsewhere", pytrace=False)
    return path


def case(name: str) -> tuple[Path, dict]:
    folder = shared_path("cases", name)
    return folder / "input.csv", json.loads((folder / "expected.json").read_text())


def steady_bill(tmp_path: Path):
    """Every hour of March 2025 at 1.00 of on-demand compute, no commitments on the bill (744 hours)."""
    import pandas as pd

    from finops_nb import load_charges

    start = pd.Timestamp("2025-03-01T00:00Z")
    rows = [f"USD,2025-03-01,{(start + pd.Timedelta(hours=h)).isoformat()},"
            f"{(start + pd.Timedelta(hours=h + 1)).isoformat()},Usage,Compute,Standard,Hours,1,1,1"
            for h in range(744)]
    f = tmp_path / "bill.csv"
    f.write_text("BillingCurrency,BillingPeriodStart,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,"
                 "ServiceCategory,PricingCategory,PricingUnit,ListCost,EffectiveCost,BilledCost\n" + "\n".join(rows))
    return load_charges(f)


def tiny_notebooks(folder: Path) -> Path:
    """A folder with one notebook (a typed parameters cell, then print(month)) for report runs."""
    import nbformat

    folder.mkdir()
    params = nbformat.v4.new_code_cell('month: str = "2024-09"\ndata: str = "sample"\nengine: str = "duckdb://"')
    params.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=[params, nbformat.v4.new_code_cell("print(month)")],
                                  metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nbformat.write(nb, folder / "only.ipynb")
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def con():
    from finops_nb import connect

    return connect()


@pytest.fixture(scope="session")
def spark():
    """One local Spark context for the whole test run (it takes ~20 s to start), stopped at the end.

    Skipped where pyspark or Java is missing, except in CI (``CI`` set), where that is a failure.
    """
    import shutil

    def missing(what: str):
        if os.environ.get("CI"):
            pytest.fail(f"the Spark engine tests need {what}")
        pytest.skip(f"the Spark engine tests need {what}")

    try:
        import pyspark  # noqa: F401
    except ImportError:
        missing("pyspark (pip install -e '.[dev]')")
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        missing("Java 17 or 21 (java on PATH or JAVA_HOME)")
    from finops_nb.engine import spark_session

    session = spark_session()
    yield session
    session.stop()


@pytest.fixture
def spark_con(spark):
    """A Spark connection of its own for one test (its own ``charges`` view) on the shared context."""
    from finops_nb import connect

    return connect("pyspark://")


@pytest.fixture(scope="session")
def moto_endpoint():
    """A real moto server on 127.0.0.1 (boto3 reaches it through AWS_ENDPOINT_URL, as users reach theirs)."""
    import subprocess
    import sys
    import time
    import urllib.request

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("moto server did not start") from None
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def aws_env(moto_endpoint, monkeypatch):
    """Fake credentials and the moto endpoint, for this test and any kernel it starts."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", FAKE_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return moto_endpoint


@pytest.fixture(autouse=True)
def _own_cache(tmp_path_factory, monkeypatch):
    """Each test session gets its own download/parse cache (never the user's ~/.cache)."""
    monkeypatch.setenv("FINOPS_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "finops-cache"))
