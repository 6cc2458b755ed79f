"""Where an ingestion's time goes: ``load_charges`` on a cold cache, timing each step of the reader.

    .venv/bin/python benchmarks/ingest_steps.py /tmp/finops-bench/cur2-10000000

Prints the wall time, the peak RSS and the seconds spent in each reader step (the checks before reading, the
one streaming pass, the source totals, the notes, the conservation check). Never part of the test run.
"""

from __future__ import annotations

import functools
import os
import resource
import shutil
import sys
import tempfile
import time

CACHE = tempfile.mkdtemp(prefix="finops-ingest-")
os.environ["FINOPS_CACHE_DIR"] = CACHE  # a cold cache

from finops_nb.sources import cur, focus  # noqa: E402

STEPS = ("check_inputs", "_plan_file", "read_files", "_quirk_notes", "source_totals", "_fix_purchase_double_count",
         "check_conservation", "table_notes")
spent: dict[str, float] = {}


def timed(name, fn):
    @functools.wraps(fn)
    def run(*a, **k):
        t0 = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - t0
    return run


for module in (cur, focus):
    for step in STEPS:
        if hasattr(module, step):
            setattr(module, step, timed(step, getattr(module, step)))

from finops_nb import load_charges  # noqa: E402

t0 = time.perf_counter()
try:
    rows = load_charges(sys.argv[1]).table.count().execute()
finally:
    shutil.rmtree(CACHE, ignore_errors=True)
print(f"{sys.argv[1]}: {rows:,} rows in {time.perf_counter() - t0:.1f} s, "
      f"peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024:,} MB")
for step, s in spent.items():
    print(f"  {step:28s} {s:6.1f} s")
