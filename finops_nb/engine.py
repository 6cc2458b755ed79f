"""Engines: ``connect(url)`` returns an Ibis connection the analyses run on.

- ``duckdb://`` (default): embedded DuckDB in memory; ``duckdb:///path/to/file.duckdb`` for a file.

Every connection runs in UTC. DuckDB is pinned below 2.0 (Ibis 12 calls ``fetch_arrow_table``, which
2.0 removed); DuckDB 2.0 also rejects the ``x -> f(x)`` lambdas Ibis 12 compiles to, so the session
enables them explicitly (``lambda_syntax``), which 1.5 accepts too.
"""

from __future__ import annotations

from urllib.parse import urlparse

import ibis

from finops_nb import config
from finops_nb.errors import ConfigError

SUPPORTED = ("duckdb",)


def connect(url: str | None = None) -> ibis.BaseBackend:
    """Open the engine named by ``url`` (or FINOPS_ENGINE, or embedded DuckDB)."""
    url = config.engine_url(url)
    scheme = urlparse(url).scheme or url
    if scheme != "duckdb":
        raise ConfigError(
            f"engine {url!r} is not available in this version; use one of {', '.join(SUPPORTED)} "
            "(set FINOPS_ENGINE or the notebook's engine parameter)"
        )
    path = url.split("://", 1)[1] if "://" in url else ""
    con = ibis.duckdb.connect(path or ":memory:")
    con.raw_sql("SET TimeZone = 'UTC'")
    con.raw_sql("SET lambda_syntax = 'ENABLE_SINGLE_ARROW'")
    return con


def raw_duckdb(con: ibis.BaseBackend):
    """The DuckDB connection under an Ibis DuckDB backend (readers write SQL against it)."""
    inner = getattr(con, "con", None)
    if inner is None or con.name != "duckdb":
        raise ConfigError(f"readers need the DuckDB engine, got {con.name!r}")
    return inner
