"""The monthly report: run every notebook with papermill, export self-contained HTML, write an index and
a manifest. A notebook that fails is kept with its error while the others still run."""

from __future__ import annotations

import html
import json
import logging
import os
import platform
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import nbformat

from finops_nb import config
from finops_nb.analyses.common import resolve_month
from finops_nb.sources.base import sha256

NOTEBOOKS = ["00-overview.ipynb", "10-savings-opportunities.ipynb", "20-rightsizing.ipynb", "30-commitments.ipynb",
             "40-allocation.ipynb", "50-anomalies-and-forecast.ipynb"]
# started first when the report runs notebooks side by side (longest first keeps both workers busy to the end)
SLOWEST = ["10-savings-opportunities.ipynb", "50-anomalies-and-forecast.ipynb", "30-commitments.ipynb"]
TEMPLATES = config.PACKAGE_DIR / "templates"
HEADLINE_MIME = "application/vnd.finops-nb.headline+json"
PACKAGES = ["finops-nb", "duckdb", "ibis-framework", "sqlglot", "pandas", "pyarrow", "altair", "vl-convert-python",
            "papermill", "nbconvert", "ipykernel", "boto3"]
log = logging.getLogger("finops_nb.report")


def record_headline(**figures) -> None:
    """Show a notebook's headline figures and mark them for the report index (call once, near the end)."""
    from IPython.display import display

    clean = {k: (float(v) if hasattr(v, "as_tuple") else v) for k, v in figures.items()}
    text = "\n".join(f"{k}: {v}" for k, v in clean.items())
    display({HEADLINE_MIME: clean, "text/plain": text}, raw=True)


@dataclass
class NotebookRun:
    notebook: str
    status: str = "pending"  # ok | failed
    seconds: float = 0.0
    error: str | None = None
    headline: dict = field(default_factory=dict)
    ipynb: str = ""
    html: str = ""


@dataclass
class StepRun:
    """A step of the report after the notebooks (e.g. the per-owner pages)."""
    step: str
    status: str = "pending"  # ok | failed
    seconds: float = 0.0
    error: str | None = None
    output: str = ""  # the page it wrote, relative to the report folder
    files: int = 0


@dataclass
class ReportResult:
    month: str
    folder: Path
    runs: list[NotebookRun]
    steps: list[StepRun] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.status == "ok" for r in [*self.runs, *self.steps])


def run_report(month: str, data: str | None = None, *, out: str | Path | None = None, engine: str = "duckdb://",
               notebooks: list[str] | None = None, notebooks_dir: Path | None = None,
               kernel_name: str = "python3", show_progress: bool = True,
               owner_tag: str = "business_unit", jobs: int | None = None) -> ReportResult:
    """Execute the notebooks for ``month`` into ``out/month/`` and write ``index.html`` and ``manifest.json``.

    After the notebooks, ``owners/`` gets one page per owner (``owner_pages.write_owner_pages`` with
    ``owner_tag``, default that of notebook 40); a failure there is logged and recorded as a failed step.
    ``jobs`` notebooks (and the owner pages) run at a time, each notebook in its own kernel; default
    ``default_jobs()``. Results, manifest and index keep the order of ``notebooks`` whatever finishes first."""
    import papermill as pm
    from rich.progress import Progress

    from finops_nb.sources import load_charges

    month = resolve_month(month)
    source = config.resolve_data(data)
    # an s3:// export is mirrored once here; the notebooks read the local mirror, not the bucket again
    if source.startswith("s3://"):
        from finops_nb.sources.s3 import sync_prefix

        data_path = str(sync_prefix(source, show_progress=show_progress).folder)
    else:
        data_path = str(Path(source).absolute())  # the working directory changes while notebooks run
    # Read and check the input once before any notebook runs: bad input stops here with file, row and
    # column (exit code 2), and the notebooks reuse the parse cache.
    checked = load_charges(data_path, show_progress=show_progress)
    src_dir = Path(notebooks_dir or config.notebooks_dir())
    folder = config.reports_dir(out) / month
    folder.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(folder / "report.log", mode="w")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    started = datetime.now(UTC)
    params = {"month": month, "data": data_path, "engine": engine, "owner_tag": owner_tag}
    if source != data_path:
        params["data_source"] = source
    if notebooks is None:
        notebooks = sorted(p.name for p in src_dir.glob("*.ipynb")) if notebooks_dir else NOTEBOOKS
    runs = [NotebookRun(nb) for nb in notebooks]
    log.info("report %s: data=%s engine=%s", month, source, engine)
    nb_params = {k: params[k] for k in ("month", "data", "engine")}
    try:
        with Progress(disable=not show_progress, transient=False) as progress:
            task = progress.add_task(f"report {month}", total=len(runs) + 1)

            def done(what: str) -> None:
                progress.update(task, advance=1, description=f"{month}: {what} done")

            def notebook(run: NotebookRun) -> None:
                _run_one(pm, run, src_dir, folder, nb_params, kernel_name)
                done(run.notebook)

            def owner_pages() -> StepRun:
                step = _owner_pages_step(checked, month, folder, owner_tag)
                done(step.step)
                return step

            # ``jobs`` at a time (default: one per core, at most 2): the owner pages (this process) first, then
            # the slowest notebooks first; each run fills its own record, so the manifest keeps the list order
            with ThreadPoolExecutor(max_workers=jobs or default_jobs(), thread_name_prefix="report") as pool:
                pages = pool.submit(owner_pages)
                for f in [pool.submit(notebook, r) for r in sorted(runs, key=_slowest_first)]:
                    f.result()
                steps = [pages.result()]
        result = ReportResult(month, folder, runs, steps)
        _write_manifest(result, params, checked, kernel_name, started)
        _write_index(result, params)
    finally:
        log.removeHandler(handler)
        handler.close()
    return result


def default_jobs() -> int:
    """Runs at a time: one per core, at most 2 (each kernel holds its own DuckDB; 2 keep the report under 2 GB)."""
    return max(1, min(2, os.cpu_count() or 1))


def _slowest_first(run: NotebookRun) -> int:
    return SLOWEST.index(run.notebook) if run.notebook in SLOWEST else len(SLOWEST)


def _run_one(pm, run: NotebookRun, src_dir: Path, folder: Path, params: dict, kernel_name: str) -> None:
    src = src_dir / run.notebook
    dst = folder / run.notebook
    t0 = time.perf_counter()
    try:
        pm.execute_notebook(str(src), str(dst), parameters=params, kernel_name=kernel_name, cwd=str(src_dir),
                            progress_bar=False, log_output=False)
        run.status = "ok"
    except Exception as exc:  # papermill keeps the failed notebook with its error cells
        run.status = "failed"
        run.error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"
        log.error("%s failed: %s", run.notebook, run.error)
    run.seconds = round(time.perf_counter() - t0, 2)
    if dst.exists():
        run.ipynb = dst.name
        nb = nbformat.read(dst, as_version=4)
        run.headline = _headline(nb)
        html_path = dst.with_suffix(".html")
        html_path.write_text(to_html(nb), encoding="utf-8")
        run.html = html_path.name
    log.info("%s %s in %.1f s", run.notebook, run.status, run.seconds)


def _owner_pages_step(charges, month: str, folder: Path, owner_tag: str) -> StepRun:
    """``owners/<owner>.html`` and ``owners/index.html``; any error is kept in the step (the notebooks stay)."""
    from finops_nb.owner_pages import write_owner_pages

    step = StepRun("owner pages")
    t0 = time.perf_counter()
    try:
        written = write_owner_pages(charges, month, folder, owner_tag=owner_tag)
        step.status, step.files = "ok", len(written)
        step.output = written[-1].relative_to(folder).as_posix()
    except Exception as exc:  # a failed step fails the report (exit 1) but keeps what the notebooks wrote
        step.status = "failed"
        step.error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"
        log.exception("owner pages failed: %s", step.error)
    step.seconds = round(time.perf_counter() - t0, 2)
    log.info("owner pages %s in %.1f s", step.status, step.seconds)
    return step


def publish(folder: Path, url: str, *, session=None) -> list[str]:
    """Upload a report folder, sub-folders (``owners/``) included, to ``s3://bucket/prefix/<month>/`` through
    boto3 (AWS_ENDPOINT_URL honoured), so every link of ``index.html`` works from the bucket.

    Returns the keys written. Retries of transient errors are boto3's (adaptive mode).
    """
    from finops_nb.sources.aws import client
    from finops_nb.sources.s3 import parse_s3_url

    bucket, prefix = parse_s3_url(url)
    s3 = client("s3", session)
    types = {".html": "text/html; charset=utf-8", ".json": "application/json", ".log": "text/plain; charset=utf-8",
             ".ipynb": "application/x-ipynb+json"}
    keys = []
    for f in sorted(p for p in folder.rglob("*") if p.is_file()):
        key = "/".join(x for x in (prefix.strip("/"), folder.name, f.relative_to(folder).as_posix()) if x)
        s3.upload_file(str(f), bucket, key, ExtraArgs={"ContentType": types.get(f.suffix, "application/octet-stream")})
        keys.append(key)
    log.info("published %d files to s3://%s/%s", len(keys), bucket, "/".join(keys[0].split("/")[:-1]) if keys else "")
    return keys


def _headline(nb) -> dict:
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if HEADLINE_MIME in data:
                return dict(data[HEADLINE_MIME])
    return {}


def to_html(nb) -> str:
    """A self-contained HTML page: code hidden, images and SVG charts inline, no script from the network."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="finops_report", extra_template_basedirs=[str(TEMPLATES)],
                            exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                            embed_images=True)
    body, _ = exporter.from_notebook_node(nb)
    return body


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def _write_manifest(result: ReportResult, params: dict, checked, kernel_name: str, started: datetime) -> None:
    inputs = [{"path": str(f), "bytes": f.stat().st_size, "sha256": sha256(f)} for f in checked.files]
    manifest = {
        "month": result.month,
        "parameters": params,
        "kernel_name": kernel_name,
        "inputs": inputs,
        "format": checked.format,
        "data_quality": [n.__dict__ for n in checked.notes],
        "packages": package_versions(),
        "started_utc": started.isoformat(timespec="seconds"),
        "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "status": "ok" if result.ok else "failed",
        "notebooks": [asdict(r) for r in result.runs],
        "steps": [asdict(s) for s in result.steps],
    }
    (result.folder / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")


def _write_index(result: ReportResult, params: dict) -> None:
    rows = []
    for r in result.runs:
        figures = "<br>".join(f"{html.escape(str(k))}: <b>{html.escape(_fmt(v))}</b>" for k, v in r.headline.items())
        link = f'<a href="{html.escape(r.html)}">{html.escape(r.notebook)}</a>' if r.html else html.escape(r.notebook)
        status = "ok" if r.status == "ok" else f"FAILED: {html.escape(r.error or '')}"
        rows.append(f"<tr class='{r.status}'><td>{link}</td><td>{status}</td><td>{r.seconds:.1f} s</td>"
                    f"<td>{figures}</td></tr>")
    for s in result.steps:
        link = (f'<a href="{html.escape(s.output)}">{html.escape(s.step)}</a>' if s.status == "ok"
                else html.escape(s.step))
        status = "ok" if s.status == "ok" else f"FAILED: {html.escape(s.error or '')}"
        rows.append(f"<tr class='{s.status}'><td>{link}</td><td>{status}</td><td>{s.seconds:.1f} s</td>"
                    f"<td>{s.files} pages (one per owner, and their index)</td></tr>")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>FinOps report {result.month}</title>
<style>body{{font-family:sans-serif;margin:2em;}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:6px 10px;vertical-align:top}} tr.failed td{{background:#fde8e8}}</style>
</head><body>
<h1>FinOps report, billing period {result.month}</h1>
<p>Data: <code>{html.escape(str(params['data']))}</code> &middot; engine <code>{html.escape(params['engine'])}</code>
&middot; status <b>{'ok' if result.ok else 'failed'}</b>
&middot; details in <a href="manifest.json">manifest.json</a></p>
<table><tr><th>notebook</th><th>status</th><th>time</th><th>headline figures</th></tr>
{''.join(rows)}
</table></body></html>
"""
    (result.folder / "index.html").write_text(page, encoding="utf-8")


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:,.4f}"
    return str(v)
