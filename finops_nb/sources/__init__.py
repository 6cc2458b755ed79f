"""Readers: every input kind into the one canonical FOCUS-shaped table."""

from __future__ import annotations

import os

import ibis

from finops_nb import config, engine
from finops_nb.errors import ConfigError
from finops_nb.sources.base import Charges, Note, list_files
from finops_nb.sources.focus import read_focus

FORMATS = ("auto", "focus")


def load_charges(data: str | os.PathLike | None = None, *, con: ibis.BaseBackend | None = None,
                 format: str = "auto") -> Charges:
    """Load a billing export (file or folder) into the canonical ``charges`` table.

    ``data``: a path; ``"sample"`` or empty means FINOPS_DATA or the shipped real FOCUS sample.
    ``con``: an Ibis connection from ``finops_nb.engine.connect`` (default: embedded DuckDB).
    ``format``: ``auto`` detects the format from the columns; ``focus`` forces the FOCUS reader.
    """
    if format not in FORMATS:
        raise ConfigError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
    path = config.resolve_data(data)
    if path.startswith("s3://"):
        raise ConfigError(f"{path}: S3 sources are not supported yet; download the export and pass the folder")
    files = list_files(path)
    con = con or engine.connect()
    return read_focus(files, con)


__all__ = ["Charges", "Note", "load_charges", "FORMATS"]
