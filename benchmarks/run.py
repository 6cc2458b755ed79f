"""Measure finops-nb at scale on generated data and write benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/run.py --rows 1000000 --rows 10000000 --format cur2 --format focus

For each size and format (CSV.gz made by ``benchmarks/generate.py``, kept under ``--work``):

- ingestion: ``load_charges`` on a cold cache (CSV.gz parsed, checked, kept as Parquet), rows/s and peak RSS,
  beside DuckDB's own ``read_csv`` -> Parquet copy of the same file;
- each analysis on the kept table (warm): overview, savings ledger, rightsizing cost side, commitment series
  and simulator;
- the pandas baseline: the four overview queries (by service, by sub-account, daily trend, top resources) in
  pandas on the same kept Parquet (reading only the six columns they use), and the ratio to the same four in
  finops-nb;
- the whole ``finops-nb report`` (wall time including kernel starts; peak of the summed RSS of every process);
- a cost-explorer widget change (provider filter) in the kernel: time from the change to the redrawn chart.

Every measurement runs in a process of its own, so peak RSS is that step's. Results are never part of the
test run's pass/fail. Generated data is never committed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
MONTH = "2025-01"

INGEST = """
import time
from finops_nb import load_charges
t0 = time.perf_counter()
c = load_charges(PATH)
n = c.table.count().execute()
out = {"seconds": time.perf_counter() - t0, "rows": int(n), "parquet": str(c.parquet)}
"""

DUCKDB_COPY = """
import time, duckdb, tempfile, os
t0 = time.perf_counter()
with tempfile.TemporaryDirectory() as d:
    duckdb.read_csv(FILES).write_parquet(os.path.join(d, "x.parquet"))
out = {"seconds": time.perf_counter() - t0}
"""

ANALYSES = """
import time
from finops_nb import load_charges
from finops_nb.analyses import commitments, overview, rightsizing, savings
t = load_charges(PATH).table
out = {}
def timed(name, fn):
    t0 = time.perf_counter(); fn(); out[name] = time.perf_counter() - t0
def overview_four():
    overview.cost_by(t, "ServiceName", month=MONTH).execute()
    overview.cost_by(t, "SubAccountId", month=MONTH).execute()
    overview.daily_trend(t, month=MONTH).execute()
    overview.top_resources(t, month=MONTH, n=10).execute()
timed("overview (4 queries)", overview_four)
timed("overview totals", lambda: overview.summarize_totals(t, month=MONTH, by=["ServiceName"]).execute())
d, src = commitments.observed_discount(t, month=MONTH)
timed("savings ledger", lambda: savings.build_ledger(t, month=MONTH, discount=d, discount_source=src))
timed("rightsizing cost side", lambda: rightsizing.list_compute_instances(t, month=MONTH).execute())
def commit():
    h = commitments.hourly_eligible_spend(t, month=MONTH)
    commitments.optimal_commitment(h.eligible_cost, discount=d)
timed("commitment series + simulator", commit)
"""

PANDAS = """
import time
import pandas as pd
t0 = time.perf_counter()
cols = ["BillingPeriodStart", "ChargePeriodStart", "ServiceName", "SubAccountId", "ResourceId", "EffectiveCost"]
df = pd.read_parquet(PARQUET, columns=cols)  # only the columns the four queries use (kinder to pandas than a notebook)
df = df[df.BillingPeriodStart.dt.strftime("%Y-%m") == MONTH]
df["EffectiveCost"] = df.EffectiveCost.astype(float)
df.groupby("ServiceName").EffectiveCost.sum()
df.groupby("SubAccountId").EffectiveCost.sum()
df.groupby(df.ChargePeriodStart.dt.floor("D")).EffectiveCost.sum()
df.groupby("ResourceId").EffectiveCost.sum().nlargest(10)
out = {"seconds": time.perf_counter() - t0}
"""

WIDGET = """
import time
from finops_nb import load_charges
from finops_nb.widgets import CostExplorer
app = CostExplorer(load_charges(PATH))
options = [o for o in app.provider.options if o != "(all)"]
t0 = time.perf_counter()
app.provider.value = options[0]
out = {"seconds": time.perf_counter() - t0}
"""


def run_measured(cmd: list[str], env: dict) -> tuple[float, float, str]:
    """Run ``cmd``; return wall seconds, peak of the summed RSS of its process tree (MB) and its stdout."""
    import tempfile

    t0 = time.perf_counter()
    # output goes to files: a pipe nobody reads until the end fills up (DuckDB's progress bar) and blocks the child
    out_f, err_f = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
    proc = subprocess.Popen(cmd, env=env, stdout=out_f, stderr=err_f, text=True)
    root, peak = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.1)
    out_f.seek(0)
    err_f.seek(0)
    out, err = out_f.read(), err_f.read()
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd[:3])} failed ({proc.returncode}):\n{err[-3000:]}")
    return time.perf_counter() - t0, peak / 2**20, out


def run_python(code: str, env: dict, **names) -> tuple[dict, float, float]:
    prelude = "".join(f"{k} = {v!r}\n" for k, v in names.items())
    script = prelude + textwrap.dedent(code) + "\nimport json; print('RESULT' + json.dumps(out))\n"
    wall, rss, out = run_measured([sys.executable, "-c", script], env)
    line = next(ln for ln in out.splitlines() if ln.startswith("RESULT"))
    return json.loads(line[len("RESULT"):]), wall, rss


def bench(rows: int, fmt: str, work: Path, *, pandas_max_rows: int = 20_000_000, file_format: str = "csv.gz",
          report: bool = True) -> dict:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from generate import generate

    folder = work / (f"{fmt}-{rows}" if file_format == "csv.gz" else f"{fmt}-{rows}-{file_format}")
    files = sorted(folder.rglob(f"*.{file_format}"))
    if not files:
        t0 = time.perf_counter()
        generate(rows, folder, fmt=fmt, month=MONTH, parts=max(1, rows // 10_000_000), file_format=file_format)
        print(f"  generated {rows:,} {fmt} rows in {time.perf_counter() - t0:.0f} s", flush=True)
        files = sorted(folder.rglob(f"*.{file_format}"))
    path = str(folder)
    cache = work / f"cache-{folder.name}"
    subprocess.run(["rm", "-rf", str(cache)], check=True)
    env = dict(os.environ, FINOPS_CACHE_DIR=str(cache), AWS_EC2_METADATA_DISABLED="true")
    for var in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_ENDPOINT_URL"):
        env.pop(var, None)
    r: dict = {"rows": rows, "format": fmt if file_format == "csv.gz" else f"{fmt} ({file_format})",
               "csv_gz_mb": sum(f.stat().st_size for f in files) / 1e6}

    ingest, wall, rss = run_python(INGEST, env, PATH=path)
    r["table_rows"] = ingest["rows"]
    r["ingest_s"], r["ingest_rss_mb"] = ingest["seconds"], rss
    r["ingest_rows_per_s"] = ingest["rows"] / ingest["seconds"]
    print(f"  ingestion {ingest['seconds']:.1f} s, {rss:.0f} MB", flush=True)
    copy, _, copy_rss = run_python(DUCKDB_COPY.replace("read_csv", "read_parquet") if file_format == "parquet"
                                   else DUCKDB_COPY, env, FILES=[str(f) for f in files])
    r["duckdb_copy_s"], r["duckdb_copy_rss_mb"] = copy["seconds"], copy_rss
    r["ingest_vs_duckdb"] = ingest["seconds"] / copy["seconds"]

    analyses, _, rss = run_python(ANALYSES, env, PATH=path, MONTH=MONTH)
    r["analyses_s"], r["analyses_rss_mb"] = analyses, rss
    print(f"  analyses {json.dumps({k: round(v, 2) for k, v in analyses.items()})}, {rss:.0f} MB", flush=True)
    if rows <= pandas_max_rows:  # past that pandas needs more memory than the machine has
        pandas, _, rss = run_python(PANDAS, env, PARQUET=ingest["parquet"], MONTH=MONTH)
        r["pandas_s"], r["pandas_rss_mb"] = pandas["seconds"], rss
        r["pandas_ratio"] = pandas["seconds"] / analyses["overview (4 queries)"]
        print(f"  pandas overview {pandas['seconds']:.1f} s, {rss:.0f} MB", flush=True)

    widget, _, _ = run_python(WIDGET, env, PATH=path)
    r["widget_change_s"] = widget["seconds"]
    r["browser_widget_ms"] = browser_widget(path, cache, env)
    print(f"  widget {1000 * widget['seconds']:.0f} ms in the kernel, {r['browser_widget_ms']} in the browser",
          flush=True)

    if not report:
        return r
    out = work / f"report-{folder.name}"
    wall, rss, _ = run_measured([str(Path(sys.executable).parent / "finops-nb"), "report", "--month", MONTH,
                                 "--data", path, "--out", str(out)], env)
    r["report_s"], r["report_rss_mb"] = wall, rss
    print(f"  report {wall:.0f} s, {rss:.0f} MB", flush=True)
    return r


def browser_widget(path: str, cache: Path, env: dict) -> dict | None:
    """``benchmarks/browser_widget.py`` (real Voila, headless Chromium): a fresh sub-account per change, so
    every chart is drawn anew; the first change and the median of the rest, in ms. None if it cannot run."""
    cmd = [sys.executable, str(ROOT / "benchmarks" / "browser_widget.py"), "--data", path, "--cache", str(cache),
           "--filter", "Sub-account"]
    try:
        _, _, out = run_measured(cmd, env)
        got = json.loads(out[out.index("{"):])
    except (RuntimeError, ValueError) as exc:
        print(f"  browser widget not measured: {str(exc)[:300]}", flush=True)
        return None
    rest = got.get("changes_ms") or []
    return {"first_ms": round(got["widget_change_ms"]), "median_ms": round(sorted(rest)[len(rest) // 2]) if rest
            else None}


def machine() -> str:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    mem = psutil.virtual_memory().total / 2**30
    import duckdb

    return (f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, Python {platform.python_version()}, "
            f"DuckDB {duckdb.__version__}")


BEGIN, END = "<!-- results: written by benchmarks/run.py -->", "<!-- end of results -->"


def _cell(r: dict, key: str, fmt: str) -> str:
    v = r.get(key)
    return "not run" if v is None else format(v, fmt)


def write_results(results: list[dict], command: str, path: Path) -> None:
    """Write the results table between the markers of ``path``; rows measured before for other sizes or
    formats are kept (with their command and date), and the text around the markers is left as it is."""
    text = path.read_text() if path.exists() else f"# Benchmark results\n\n{BEGIN}\n{END}\n"
    head, _, rest = text.partition(BEGIN)
    old, _, tail = rest.partition(END)
    stamp = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    for r in results:
        r.update(command=command, date=stamp)
    kept = []
    if "```json" in old:
        previous = json.loads(old.split("```json", 1)[1].split("```", 1)[0])
        done = {(r["rows"], r["format"]) for r in results}
        kept = [r for r in previous if (r["rows"], r["format"]) not in done]
    rows = sorted([*kept, *results], key=lambda r: (r["format"], r["rows"]))
    lines = [
        BEGIN, "",
        f"- machine: {machine()}",
        "- targets (issue 8): report on 10M rows <= 60 s and <= 2 GB; each analysis >= 10x the pandas baseline; "
        "ingestion within 1.25x of DuckDB's read_csv -> Parquet copy; widget change <= 300 ms on 10M rows; "
        "100M rows out of core <= 4 GB",
        "",
        "| format | rows | CSV.gz MB | ingestion s (rows/s) | peak MB | DuckDB copy s | ratio | overview 4 queries s "
        "| pandas s (peak MB) | pandas / ours | ledger s | rightsizing s | commitments s | widget ms kernel "
        "| widget ms browser (first / median) | report s | report peak MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        a = r["analyses_s"]
        bw = r.get("browser_widget_ms") or {}
        pandas = (f"{r['pandas_s']:.1f} ({r['pandas_rss_mb']:,.0f}) | {r['pandas_ratio']:.1f}x" if "pandas_s" in r
                  else "not run (needs more memory than the machine has) | -")
        lines.append(
            f"| {r['format']} | {r['rows']:,} | {r['csv_gz_mb']:.0f} | {r['ingest_s']:.1f} "
            f"({r['ingest_rows_per_s']:,.0f}) | {r['ingest_rss_mb']:,.0f} | {r['duckdb_copy_s']:.1f} "
            f"| {r['ingest_vs_duckdb']:.2f} | {a['overview (4 queries)']:.2f} | {pandas} "
            f"| {a['savings ledger']:.1f} | {a['rightsizing cost side']:.2f} "
            f"| {a['commitment series + simulator']:.2f} "
            f"| {1000 * r['widget_change_s']:.0f} | {bw.get('first_ms', 'not run')} / {bw.get('median_ms', '-')} "
            f"| {_cell(r, 'report_s', '.0f')} | {_cell(r, 'report_rss_mb', ',.0f')} |")
    lines += ["", "Commands and dates: " + "; ".join(sorted({f"`{r.get('command', '?')}` ({r.get('date', '?')})"
                                                             for r in rows})), "",
              "Raw figures (seconds, MB):", "", "```json", json.dumps(rows, indent=1), "```", ""]
    path.write_text(head + "\n".join(lines) + END + tail)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, action="append", help="line items per month (repeatable)")
    p.add_argument("--format", action="append", choices=["cur2", "focus"], help="repeatable; default both")
    p.add_argument("--work", type=Path, default=Path("/tmp/finops-bench"), help="generated data and caches")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    p.add_argument("--file-format", choices=["csv.gz", "parquet"], default="csv.gz", help="how the month is stored")
    p.add_argument("--no-report", action="store_true", help="skip the whole-report run")
    p.add_argument("--pandas-max-rows", type=int, default=20_000_000,
                   help="skip the pandas baseline above this many rows (it would not fit in memory)")
    a = p.parse_args()
    results = []
    for rows in a.rows or [1_000_000]:
        for fmt in a.format or ["cur2", "focus"]:
            print(f"{fmt}, {rows:,} rows", flush=True)
            results.append(bench(rows, fmt, a.work, pandas_max_rows=a.pandas_max_rows, file_format=a.file_format,
                                 report=not a.no_report))
    write_results(results, " ".join(["python", "benchmarks/run.py", *sys.argv[1:]]), a.out)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
