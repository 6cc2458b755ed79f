"""An export is parsed and checked once; the table kept as Parquet gives the same table and notes."""

from __future__ import annotations

import shutil

from conftest import SAMPLE

from finops_nb import connect, load_charges
from finops_nb.config import cache_dir
from finops_nb.sources.store import canonical_path


def snapshot(ch):
    t = ch.table
    return (t.order_by(["x_Id", "ChargePeriodStart"]).execute().to_csv(), [(n.code, n.rows) for n in ch.notes])


def test_second_load_reads_the_parse_cache(tmp_path):
    f = tmp_path / "focus.csv"
    shutil.copy(SAMPLE, f)
    first = load_charges(f, con=connect())
    cached = canonical_path([f], "focus")
    assert cached.exists() and cached.parent == cache_dir() / "canonical"
    second = load_charges(f, con=connect())
    assert snapshot(second) == snapshot(first)
    assert all(n.file == str(f) for n in second.notes if n.file)


def test_cache_off_and_changed_content(tmp_path, monkeypatch):
    f = tmp_path / "focus.csv"
    f.write_text("\n".join(SAMPLE.read_text().splitlines()[:-2]) + "\n")  # content no other test loads
    monkeypatch.setenv("FINOPS_CACHE", "off")
    load_charges(f, con=connect())
    assert not canonical_path([f], "focus").exists()
    monkeypatch.setenv("FINOPS_CACHE", "on")
    load_charges(f, con=connect())
    assert canonical_path([f], "focus").exists()
    lines = f.read_text().splitlines()
    f.write_text("\n".join(lines[:-1]) + "\n")  # one row fewer: a different file, parsed again
    t = load_charges(f, con=connect()).table
    assert t.count().execute() == 997


def test_the_checked_table_is_kept_and_read_back_as_a_view(tmp_path, monkeypatch):
    f = tmp_path / "focus.csv"
    shutil.copy(SAMPLE, f)
    first = load_charges(f, con=connect())
    assert first.parquet is not None and first.parquet.exists()
    con = connect()
    second = load_charges(f, con=con)
    assert second.parquet == first.parquet
    assert snapshot(second) == snapshot(first)
    kinds = con.raw_sql("SELECT table_type FROM information_schema.tables WHERE table_name = 'charges'").fetchall()
    assert kinds == [("VIEW",)]  # scanned from Parquet when queried, not held in memory
    # the same content under another name: its notes name the new file
    g = tmp_path / "copy-of-focus.csv"
    shutil.copy(SAMPLE, g)
    third = load_charges(g, con=con)
    assert third.parquet == first.parquet
    assert {n.file for n in third.notes if n.file} == {str(g)}
    # the store off: the table lives in memory only
    monkeypatch.setenv("FINOPS_CACHE", "off")
    off = load_charges(f, con=connect())
    assert off.parquet is None and snapshot(off) == snapshot(first)


def test_the_reader_memory_limit_is_a_checked_size(tmp_path, monkeypatch):
    import pytest

    from finops_nb.errors import ConfigError

    f = tmp_path / "focus.csv"
    f.write_text("\n".join(SAMPLE.read_text().splitlines()[:51]) + "\n")  # 50 rows no other test loads
    monkeypatch.setenv("FINOPS_READER_MEMORY", "2GB; DROP TABLE x")
    with pytest.raises(ConfigError, match="FINOPS_READER_MEMORY"):
        load_charges(f, con=connect())
    monkeypatch.setenv("FINOPS_READER_MEMORY", "256MB")  # writing Parquet needs ~1 MB per column
    assert load_charges(f, con=connect()).table.count().execute() == 50


def test_too_little_memory_is_a_clear_error_and_the_spill_folder_exists(tmp_path, monkeypatch):
    import importlib.util

    import pytest
    from conftest import ROOT

    from finops_nb.errors import FinopsError

    spec = importlib.util.spec_from_file_location("generate", ROOT / "benchmarks" / "generate.py")
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    generate.generate(100_000, tmp_path / "data", fmt="cur2", accounts=50, resources=400)
    monkeypatch.setenv("FINOPS_CACHE_DIR", str(tmp_path / "new" / "cache"))  # not there yet, as on a new machine
    monkeypatch.setenv("FINOPS_READER_MEMORY", "100MB")
    with pytest.raises(FinopsError, match="ran out of memory") as err:
        load_charges(tmp_path / "data", con=connect())
    assert "FINOPS_READER_MEMORY" in str(err.value)
    assert (tmp_path / "new" / "cache" / "duckdb-spill").is_dir()  # DuckDB spills there past the limit
    monkeypatch.delenv("FINOPS_READER_MEMORY")  # DuckDB's own limit: it loads
    assert load_charges(tmp_path / "data", con=connect()).table.count().execute() > 100_000


def test_two_processes_loading_the_same_new_export_at_once(tmp_path):
    """Voila preheats several apps at once: each load writes a file of its own, then the kept table is one."""
    import os
    import subprocess
    import sys

    f = tmp_path / "focus.csv"
    f.write_text("\n".join(SAMPLE.read_text().splitlines()[:301]) + "\n")  # 300 rows no other test loads
    env = dict(os.environ, FINOPS_CACHE_DIR=str(tmp_path / "cache"))
    code = f"from finops_nb import load_charges; print(load_charges({str(f)!r}).table.count().execute())"
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(3)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err[-500:] for _, err in outs]
    assert [out.split()[-1] for out, _ in outs] == ["300"] * 3
    assert not list((tmp_path / "cache" / "canonical").glob("*.part"))


def test_a_killed_load_leaves_no_part_file_behind_the_next_load(tmp_path):
    """A load killed halfway leaves its part file; the next load removes it, never one still being written here
    or on another host sharing the folder (unless that one is a day old)."""
    import os
    import subprocess
    import sys
    import time

    from finops_nb.sources.store import STALE_SECONDS, part_path

    f = tmp_path / "focus.csv"
    f.write_text("\n".join(SAMPLE.read_text().splitlines()[:201]) + "\n")  # 200 rows no other test loads
    folder = canonical_path([f], "focus").parent
    folder.mkdir(parents=True, exist_ok=True)
    ended = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                               text=True).stdout)
    killed = part_path(folder / "charges-0123.parquet", pid=ended)
    writing = part_path(folder / "charges-4567.parquet")
    elsewhere = folder / f"charges-89ab.parquet.0000beef-{ended}-cafe0002.part"  # another host's live load
    stale = folder / f"charges-cdef.parquet.0000beef-{ended}-cafe0003.part"
    for p in (killed, writing, elsewhere, stale):
        p.write_bytes(b"PAR1")
    day_ago = time.time() - STALE_SECONDS - 60
    os.utime(stale, (day_ago, day_ago))
    load_charges(f, con=connect())
    assert not killed.exists() and not stale.exists()
    assert writing.exists() and elsewhere.exists()
    writing.unlink()
    elsewhere.unlink()
