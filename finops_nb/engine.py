"""Engines: ``connect(url)`` returns an Ibis connection the analyses run on.

- ``duckdb://`` (default): embedded DuckDB in memory; ``duckdb:///path/to/file.duckdb`` for a file.
- ``pyspark://`` (also ``pyspark``, ``spark://local``; ``pyspark://local[N]`` for N cores): PySpark in local
  mode, in this process, on 127.0.0.1 only (needs ``pip install finops-nb[spark]`` and Java 17 or 21).
  Readers load with embedded DuckDB and hand the checked table over as Parquet (``sources.hand_over``).
  One local Spark context serves the process (it takes ~20 s to start); each ``connect`` gets a session of
  its own (its own ``charges`` view), as each in-memory DuckDB connection has its own tables.

- ``athena://?s3_staging_dir=s3://bucket/athena-results/&region_name=us-east-1&schema_name=cur`` (also
  ``work_group``): Amazon Athena through Ibis (``pip install 'finops-nb[athena]'``). The data stays where AWS
  wrote it: point ``sources.from_table`` at the FOCUS 1.2 table of an AWS Data Exports FOCUS export (created
  in Athena by AWS's Data Exports tooling) and the analyses run in Athena. The SQL they compile to for
  Athena is snapshot-tested (``tests/snapshots/athena/``).

Every connection runs in UTC. DuckDB is pinned below 2.0 (Ibis 12 calls ``fetch_arrow_table``, which
2.0 removed); DuckDB 2.0 also rejects the ``x -> f(x)`` lambdas Ibis 12 compiles to, so the session
enables them explicitly (``lambda_syntax``), which 1.5 accepts too.

Spark runs with ANSI SQL (an overflow or a bad cast is an error, never NULL) and without decimal precision
loss, so DECIMAL(38, 12) money keeps its 12 decimals through sums and differences as on DuckDB.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile

import ibis

from finops_nb import config
from finops_nb.errors import ConfigError

SUPPORTED = ("duckdb://", "pyspark://", "athena://")
ATHENA_PARAMS = ("s3_staging_dir", "region_name", "schema_name", "work_group", "catalog_name")
SPARK_SCHEMES = ("pyspark", "spark")
SPARK_MASTER = "local[2]"  # the machines this runs on have 2 cores
LOCAL_MASTER_RE = re.compile(r"^local(\[(\d+|\*)\])?$")

# Settings every finops-nb Spark session runs with (correctness first, then a small local machine).
SPARK_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "true",
    "spark.sql.decimalOperations.allowPrecisionLoss": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.sql.adaptive.enabled": "true",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.catalogImplementation": "in-memory",
    "spark.sql.warehouse.dir": os.path.join(tempfile.gettempdir(), "finops-nb-spark-warehouse"),
}
# Per-session SQL settings, set again on each new session of the shared context.
SPARK_SQL_CONF = {k: v for k, v in SPARK_CONF.items() if k.startswith("spark.sql.") and "warehouse" not in k
                  and "catalogImplementation" not in k}


def split_url(url: str) -> tuple[str, str]:
    """``scheme://rest`` -> (scheme, rest); a bare name is a scheme. (``urlparse`` rejects ``local[2]``.)"""
    scheme, _, rest = url.partition("://")
    return scheme.strip().lower(), rest.strip()


def connect(url: str | None = None) -> ibis.BaseBackend:
    """Open the engine named by ``url`` (or FINOPS_ENGINE, or embedded DuckDB)."""
    url = config.engine_url(url)
    scheme, rest = split_url(url)
    if scheme == "duckdb":
        return connect_duckdb(rest)
    if scheme in SPARK_SCHEMES:
        return connect_spark(rest)
    if scheme == "athena":
        return connect_athena(rest)
    raise ConfigError(
        f"engine {url!r} is not available in this version; use one of {', '.join(SUPPORTED)} "
        "(set FINOPS_ENGINE or the notebook's engine parameter)"
    )


def connect_duckdb(path: str = "") -> ibis.BaseBackend:
    con = ibis.duckdb.connect(path or ":memory:")
    con.raw_sql("SET TimeZone = 'UTC'")
    con.raw_sql("SET lambda_syntax = 'ENABLE_SINGLE_ARROW'")
    return con


def athena_params(rest: str) -> dict[str, str]:
    """``?s3_staging_dir=...&region_name=...`` -> connection keywords; unknown keys are an error."""
    from urllib.parse import parse_qsl

    params = dict(parse_qsl(rest.lstrip("/").lstrip("?")))
    unknown = sorted(set(params) - set(ATHENA_PARAMS))
    if unknown:
        raise ConfigError(f"unknown Athena parameter(s) {', '.join(unknown)}; use {', '.join(ATHENA_PARAMS)}")
    if "s3_staging_dir" not in params and "work_group" not in params:
        raise ConfigError("Athena needs s3_staging_dir (or a work_group with an output location): "
                          "athena://?s3_staging_dir=s3://bucket/prefix/&region_name=us-east-1")
    return params


def connect_athena(rest: str) -> ibis.BaseBackend:
    """Amazon Athena through Ibis; credentials come from the usual boto3 chain (profile, role)."""
    params = athena_params(rest)
    try:
        return ibis.athena.connect(**params)
    except ImportError:
        raise ConfigError("the Athena engine needs pyathena: pip install 'finops-nb[athena]'") from None


def spark_master(rest: str) -> str:
    """The local master of a Spark URL: ``""``/``local`` -> ``local[2]``, ``local[N]`` kept; clusters refused."""
    master = rest.strip("/") or SPARK_MASTER
    m = LOCAL_MASTER_RE.match(master)
    if not m:
        raise ConfigError(f"Spark master {master!r} is not supported: only local mode (pyspark://, "
                          "pyspark://local[N]); load data on a cluster with that cluster's own tools")
    return master if m.group(1) else SPARK_MASTER


def connect_spark(rest: str = "") -> ibis.BaseBackend:
    """A new Spark session (own temporary views, UTC, ANSI) on the process's one local Spark context."""
    session = spark_session(spark_master(rest)).newSession()
    for key, value in SPARK_SQL_CONF.items():
        session.conf.set(key, value)
    return ibis.pyspark.connect(session)


def spark_session(master: str = SPARK_MASTER):
    """The process's local SparkSession, started on first use with ``SPARK_CONF``."""
    try:
        from pyspark import SparkContext
        from pyspark.sql import SparkSession
    except ImportError:
        raise ConfigError("the Spark engine needs pyspark: pip install 'finops-nb[spark]'") from None
    active = SparkContext._active_spark_context
    if active is not None and active.master != master:
        raise ConfigError(f"a Spark context with master {active.master!r} is already running in this process; "
                          f"cannot start {master!r} beside it")
    # the JVM must not look up this machine's name on the network, and Python workers use this interpreter
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.master(master).appName("finops-nb")
    for key, value in SPARK_CONF.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # no Java, wrong Java version, port trouble: py4j raises several kinds
        raise ConfigError(f"cannot start local Spark ({master}): {exc}; it needs Java 17 or 21 on PATH "
                          "or JAVA_HOME") from exc
    session.sparkContext.setLogLevel("ERROR")
    return session


def raw_duckdb(con: ibis.BaseBackend):
    """The DuckDB connection under an Ibis DuckDB backend (readers write SQL against it)."""
    inner = getattr(con, "con", None)
    if inner is None or con.name != "duckdb":
        raise ConfigError(f"readers need the DuckDB engine, got {con.name!r}")
    return inner
