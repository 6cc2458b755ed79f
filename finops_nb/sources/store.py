"""The checked canonical table kept as Parquet, so an export is read and checked once.

A load streams the canonical ``charges`` table, in one pass over the export, into
``FINOPS_CACHE_DIR/canonical/charges-<key>.parquet`` with its notes beside it, the key being the reader's code
(``reader_version``), the format and the content (sha256) of every input file; the file is kept only once every
check passed (values, conservation, purchase double counting). A later load of the same files reads that Parquet
as a view: nothing is parsed or checked again, nothing is held in memory (DuckDB scans the file out of core,
reading only the columns a query needs), and every notebook of a report run starts in a second. Other engines
(Spark) read the same file (``hand_over``). ``FINOPS_CACHE=off`` keeps the table in memory only.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
import uuid
from pathlib import Path

import duckdb
import ibis

from finops_nb.config import cache_dir, cache_enabled, reader_memory
from finops_nb.errors import ConfigError
from finops_nb.sources.base import Charges, Note, drop_relation, reader_version, sha256

TABLE = "charges"


def canonical_path(files: list[Path], kind: str) -> Path:
    """Where the checked table of ``files`` read as ``kind`` is kept, named by code and content."""
    key = "|".join([reader_version(), kind, *(sha256(f) for f in files)])
    return cache_dir() / "canonical" / f"charges-{hashlib.sha256(key.encode()).hexdigest()[:24]}.parquet"


def _meta(path: Path) -> Path:
    return path.with_suffix(".json")


def drop_charges(con: ibis.BaseBackend) -> None:
    """Remove an earlier ``charges`` (a table or a view) of this DuckDB connection before a new load."""
    if con.name == "duckdb":
        drop_relation(con.con, TABLE)


def view_parquet(con: ibis.BaseBackend, path: Path) -> ibis.Table:
    """``charges`` in ``con`` as a view over ``path`` (an earlier ``charges`` of this connection is replaced),
    without the ``__*`` columns the reader kept there for its checks."""
    drop_charges(con)
    if con.name == "duckdb":
        literal = "'" + str(path).replace("'", "''") + "'"  # a view cannot bind parameters
        con.raw_sql(f"CREATE VIEW {TABLE} AS SELECT COLUMNS(c -> NOT starts_with(c, '__')) "
                    f"FROM read_parquet({literal})")
        return con.table(TABLE)
    table = con.read_parquet(str(path), table_name=TABLE)
    return table.select([c for c in table.columns if not c.startswith("__")])


def restore(files: list[Path], kind: str, con: ibis.BaseBackend) -> Charges | None:
    """The checked table of an earlier load of the same files, or ``None``."""
    if not cache_enabled():
        return None
    path = canonical_path(files, kind)
    if not (path.exists() and _meta(path).exists()):
        return None
    saved = json.loads(_meta(path).read_text())
    # a note names its file by position: the same content may come back under another path
    notes = [Note(**{**n, "file": None if n["file"] is None else str(files[n["file"]])}) for n in saved["notes"]]
    return Charges(table=view_parquet(con, path), con=con, files=list(files), format=kind, notes=notes,
                   parquet=path)


HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]  # a cache folder may be shared by hosts
STALE_SECONDS = 24 * 3600  # a part file this old is dead whoever wrote it (a 100M-row load takes minutes)


def part_path(path: Path, pid: int | None = None) -> Path:
    """The file one load writes before it is renamed to ``path``: named by host, process and a random id, so
    loads side by side (preheated apps, other hosts on a shared folder) never share one."""
    return path.with_suffix(f".parquet.{HOST}-{os.getpid() if pid is None else pid}-{uuid.uuid4().hex[:8]}.part")


def remove_stray_parts(folder: Path) -> list[Path]:
    """Remove the part files of loads that were killed; returns them. A part file is dead when its process on
    this host is gone, or when it is a day old (from any host). A load renames its part file when every check
    passed, or removes it when one failed; only a killed process leaves it behind."""
    import psutil

    gone = []
    for part in folder.glob("charges-*.parquet.*.part"):
        host, _, rest = part.name.rsplit(".", 2)[-2].partition("-")
        pid = rest.split("-")[0]
        try:
            old = time.time() - part.stat().st_mtime > STALE_SECONDS
        except FileNotFoundError:
            continue
        if old or (host == HOST and pid.isdigit() and not psutil.pid_exists(int(pid))):
            part.unlink(missing_ok=True)
            gone.append(part)
    return gone


def read_and_keep(reader, files: list[Path], kind: str, con: ibis.BaseBackend) -> Charges:
    """``reader(files, duckdb)``, its checked table written to the store and read back from there into ``con``.

    The reader works in a DuckDB connection of its own, closed afterwards (its memory is freed), so ``con``
    keeps its earlier ``charges`` untouched when the input is refused. With the store off, the reader
    loads straight into ``con``.
    """
    from finops_nb import engine

    if not cache_enabled():
        return reader(files, con)
    work = engine.connect("duckdb://")
    # the reader's connection spills to the cache folder past its memory limit (FINOPS_READER_MEMORY)
    spill = cache_dir() / "duckdb-spill"
    spill.mkdir(parents=True, exist_ok=True)  # DuckDB makes only the last folder, and only once it spills
    work.con.execute("SET temp_directory = ?", [str(spill)])
    # rows are written as they come (no order to keep: every view sorts what it shows); faster, less memory
    work.con.execute("SET preserve_insertion_order = false")
    limit = reader_memory()
    if limit:
        work.con.execute("SET memory_limit = ?", [limit])
    path = canonical_path(files, kind)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stray_parts(path.parent)
    part = part_path(path)  # apps preheating side by side may read the same export at the same time
    try:
        charges = reader(files, work, dest=part)  # the reader streams the checked table into `part`
        where = {str(f): i for i, f in enumerate(charges.files)}
        notes = [{**n.__dict__, "file": where.get(n.file)} for n in charges.notes]
        _meta(path).write_text(json.dumps({"notes": notes}))
        part.replace(path)
    except BaseException as exc:
        part.unlink(missing_ok=True)
        if isinstance(exc, duckdb.OutOfMemoryException):
            raise ConfigError("ran out of memory while checking the export (nothing was loaded); raise "
                              "FINOPS_READER_MEMORY (e.g. 8GB) or free memory") from exc
        raise
    finally:
        work.disconnect()
    return Charges(table=view_parquet(con, path), con=con, files=charges.files, format=charges.format,
                   notes=charges.notes, parquet=path)
