"""Configuration in one place: paths and FINOPS_* environment overrides.

| variable            | meaning                                             | default                      |
|---------------------|-----------------------------------------------------|------------------------------|
| FINOPS_DATA         | billing export the apps and notebooks read          | the shipped real FOCUS sample |
| FINOPS_ENGINE       | engine URL for ``engine.connect``                   | ``duckdb://`` (in memory)     |
| FINOPS_REPORTS_DIR  | where ``finops-nb report`` writes month folders     | ``./reports``                 |
| FINOPS_CACHE_DIR    | S3 downloads and the checked tables kept as Parquet | ``~/.cache/finops-nb``        |
| FINOPS_CACHE        | ``off`` keeps loaded tables in memory only          | on                            |
| FINOPS_READER_MEMORY | DuckDB memory limit while an export is read (more spills to disk) | 80 % of RAM  |
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
SAMPLE_PATH = PACKAGE_DIR / "data" / "samples" / "focus_sample_1000.csv"
SQL_DIR = PACKAGE_DIR / "sql"
SAMPLE_ALIASES = {"", "sample"}


def repo_root() -> Path:
    """The checkout holding ``notebooks/`` (the package is installed editable from it)."""
    return PACKAGE_DIR.parent


def notebooks_dir() -> Path:
    return repo_root() / "notebooks"


def resolve_data(data: str | os.PathLike | None = None) -> str:
    """Turn a ``data`` parameter into a path or URL: ``"sample"``/empty means FINOPS_DATA or the sample."""
    text = "" if data is None else str(data)
    if text.strip() in SAMPLE_ALIASES:
        text = os.environ.get("FINOPS_DATA", "").strip() or str(SAMPLE_PATH)
    return text


def engine_url(url: str | None = None) -> str:
    return url or os.environ.get("FINOPS_ENGINE", "").strip() or "duckdb://"


def reports_dir(out: str | os.PathLike | None = None) -> Path:
    """Absolute: papermill changes the working directory while a notebook runs (the report runs them side by
    side), so a relative path would land under notebooks/."""
    return Path(out or os.environ.get("FINOPS_REPORTS_DIR", "reports")).absolute()


def cache_dir() -> Path:
    """Absolute, for the same reason as ``reports_dir``."""
    return Path(os.environ.get("FINOPS_CACHE_DIR") or Path.home() / ".cache" / "finops-nb").absolute()


def cache_enabled() -> bool:
    return os.environ.get("FINOPS_CACHE", "on").strip().lower() not in ("off", "0", "false", "no")


def reader_memory() -> str | None:
    """DuckDB's ``memory_limit`` while an export is read (``FINOPS_READER_MEMORY``, e.g. ``2GB``), or ``None``
    for DuckDB's own default (80 % of RAM). Past the limit DuckDB spills to the cache folder."""
    import re

    from finops_nb.errors import ConfigError

    value = os.environ.get("FINOPS_READER_MEMORY", "").strip()
    if value and not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", value, re.I):
        raise ConfigError(f"FINOPS_READER_MEMORY={value!r} is not a size such as 2GB or 500MB")
    return value or None
