"""What every reader returns: the canonical table plus data-quality notes."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import ibis
import pandas as pd

from finops_nb.errors import DataError

SUFFIXES = (".csv", ".csv.gz", ".parquet")


@dataclass
class Note:
    """One data-quality finding: kept data that deviates from the spec, or a fix applied on load."""

    level: str  # "info" or "warning"
    code: str  # short stable id, e.g. "null-strings"
    message: str
    rows: int = 0
    file: str | None = None


@dataclass
class Charges:
    """A loaded billing export: the canonical FOCUS-shaped table and what was noticed on the way."""

    table: ibis.Table
    con: ibis.BaseBackend
    files: list[Path]
    format: str
    notes: list[Note] = field(default_factory=list)

    def notes_frame(self) -> pd.DataFrame:
        return pd.DataFrame([n.__dict__ for n in self.notes], columns=["level", "code", "message", "rows", "file"])

    def show_notes(self):
        """The notes as a styled table with full messages (for notebooks)."""
        cols = ["level", "code", "message", "rows"]
        return self.notes_frame()[cols].style.hide(axis="index").set_properties(**{"text-align": "left"})


def list_files(path: str | Path) -> list[Path]:
    """The billing files under ``path`` (a file or a folder, searched recursively), sorted."""
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError("no such file or folder", file=str(p),
                        hint="pass a FOCUS export (.csv, .csv.gz, .parquet) or a folder of them")
    if p.is_file():
        files = [p]
    else:
        files = sorted(f for f in p.rglob("*") if f.is_file() and f.name.lower().endswith(SUFFIXES))
        if not files:
            raise DataError("the folder holds no .csv, .csv.gz or .parquet file", file=str(p))
    for f in files:
        if not f.name.lower().endswith(SUFFIXES):
            raise DataError("unsupported file type", file=str(f), hint="use .csv, .csv.gz or .parquet")
    return files


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def head_text(path: Path, size: int = 65536) -> str:
    """The first bytes of a text file (gzip-aware), for sniffing quirks cheaply."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            return fh.read(size).decode("utf-8", errors="replace")
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read the file: {exc}", file=str(path),
                        hint="the file may be truncated or not gzip; download it again") from exc


def read_sql(name: str) -> str:
    """A hand-written query from ``finops_nb/sql/`` without its comment header."""
    from finops_nb.config import SQL_DIR

    text = (SQL_DIR / name).read_text()
    return "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("--")).strip().rstrip(";")
