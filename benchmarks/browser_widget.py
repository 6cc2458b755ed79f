"""Widget change time as a visitor sees it: the cost explorer served by a real Voila, in headless Chromium.

    .venv/bin/python benchmarks/browser_widget.py --data /tmp/finops-bench/cur2-10000000 \\
        --cache /tmp/finops-bench/cache-cur2-10000000

Voila is started as ``finops-nb app`` starts it (``finops_nb.app.voila_command``, the settings of
notebooks/apps/voila.json) with FINOPS_DATA and FINOPS_CACHE_DIR pointing at ``--data`` and ``--cache``; only
the cost explorer gets a preheated kernel (the other apps would load the same data for nothing) and the pool is
not refilled while we measure. The page opens, waits for the first chart, then the provider filter changes:
the time runs from the ``change`` event on the <select> (in the page, ``performance.now()``) to the first
animation frame after the app has written its new total (``refresh`` writes the total last, after the chart
and the table). The first change is ``widget_change_ms``; ``--changes`` more follow. ``--filter Sub-account``
changes another dropdown (a new sub-account each time, so each chart is drawn afresh, not from the app's
memory of charts already drawn).

Prints JSON: {"widget_change_ms": ..., "changes_ms": [...], "page_ready_s": ..., ...}.
Needs Debian's /usr/bin/chromium (as the browser tests).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HOST = "127.0.0.1"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# Runs in the page: change the <select> labelled ``label`` to ``wanted``; resolve with the milliseconds until
# the status line shows a total again (after "Computing…" or with a new value) and the browser has painted
# the frame after it.
CHANGE_JS = """
async ([label, wanted]) => {
  const boxes = [...document.querySelectorAll('.widget-dropdown')];
  const box = boxes.find(b => (b.querySelector('label') || {}).textContent === label);
  const select = box.querySelector('select');
  const status = [...document.querySelectorAll('.widget-html')]
    .find(e => e.textContent.includes('Total effective cost') || e.textContent.includes('Computing'));
  const before = status.textContent;
  const index = [...select.options].findIndex(o => o.textContent === wanted);
  return await new Promise((resolve, reject) => {
    let busy = false, t0 = 0;
    const timer = setTimeout(() => reject(new Error('no redraw within 120 s')), 120000);
    const seen = new MutationObserver(() => {
      const text = status.textContent;
      if (text.includes('Computing')) { busy = true; return; }
      if (text.includes('Total effective cost') && (busy || text !== before)) {
        seen.disconnect();
        requestAnimationFrame(() => requestAnimationFrame(() => {
          clearTimeout(timer);
          resolve(performance.now() - t0);
        }));
      }
    });
    seen.observe(status, {subtree: true, childList: true, characterData: true});
    t0 = performance.now();
    select.selectedIndex = index;
    select.dispatchEvent(new Event('change', {bubbles: true}));
  });
}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def answers_http(port: int) -> bool:
    conn = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        conn.request("GET", "/")
        conn.getresponse().read()
        return True
    except OSError:
        return False
    finally:
        conn.close()


def start_voila(port: int, env: dict, log: Path) -> subprocess.Popen:
    from finops_nb.app import apps_dir, voila_command

    pools = {"default": {"pool_size": 0}, "cost-explorer.ipynb": {"pool_size": 1}}
    cmd = [*voila_command(port), f"--VoilaKernelManager.kernel_pools_config={json.dumps(pools)}",
           "--VoilaKernelManager.fill_delay=86400"]
    with log.open("wb") as out:
        return subprocess.Popen(cmd, cwd=apps_dir(), env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM Voila's process group, then SIGKILL it and the kernels (their own sessions) if still there."""
    import psutil

    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        children = []
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    _, alive = psutil.wait_procs(children, timeout=5)
    for child in alive:
        try:
            child.kill()
        except psutil.Error:
            pass


def wait_for_pool(log: Path, proc: subprocess.Popen, timeout: float) -> float:
    """Seconds until Voila logs the cost explorer's kernel pool as filled (the notebook then waits for a visit)."""
    t0 = time.monotonic()
    while "Kernel pool of cost-explorer.ipynb is filled" not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() - t0 > timeout:
            raise SystemExit(f"Voila's kernel pool was not filled:\n{log.read_text(errors='replace')[-4000:]}")
        time.sleep(0.5)
    return time.monotonic() - t0


def measure(args) -> dict:
    from playwright.sync_api import sync_playwright

    env = dict(os.environ, AWS_EC2_METADATA_DISABLED="true", FINOPS_DATA=str(Path(args.data).resolve()))
    env.pop("FINOPS_ENGINE", None)
    if args.cache:
        env["FINOPS_CACHE_DIR"] = str(Path(args.cache).resolve())
    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="finops-browser-bench-")) / "voila.log"
    proc = start_voila(port, env, log)
    out: dict = {"data": str(args.data)}
    try:
        deadline = time.monotonic() + 60
        while not answers_http(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"Voila did not answer HTTP:\n{log.read_text(errors='replace')[-4000:]}")
            time.sleep(0.25)
        out["pool_filled_s"] = round(wait_for_pool(log, proc, args.timeout), 1)
        time.sleep(args.settle)  # the preheated kernel runs the notebook up to the visit
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                t0 = time.monotonic()
                page.goto(f"http://{HOST}:{port}/voila/render/cost-explorer.ipynb", timeout=args.timeout * 1000)
                page.locator(".widget-html svg").first.wait_for(state="visible", timeout=args.timeout * 1000)
                page.locator("table.cost-table").wait_for(state="visible", timeout=args.timeout * 1000)
                out["page_ready_s"] = round(time.monotonic() - t0, 2)
                options = page.eval_on_selector_all(
                    ".widget-dropdown", "(bs, label) => [...bs].filter(b => (b.querySelector('label') || {})"
                                        ".textContent === label).flatMap(b => [...b.querySelectorAll('option')]"
                                        ".map(o => o.textContent))", args.filter)
                choices = [o for o in options if o != "(all)"]
                if not choices:
                    raise SystemExit(f"nothing to choose in {args.filter}: {options}")
                out["filter"], out["first_choice"] = args.filter, choices[0]
                # a new value each time while there are any (a chart not drawn before), else back and forth
                wanted = choices[:1 + args.changes] if len(choices) > args.changes else \
                    [choices[0] if i % 2 == 0 else "(all)" for i in range(1 + args.changes)]
                times = []
                for i, value in enumerate(wanted):
                    times.append(round(page.evaluate(CHANGE_JS, [args.filter, value]), 1))
                    if i == 0:
                        out["total_after_change"] = page.locator("text=Total effective cost").inner_text()
                out["widget_change_ms"] = times[0]
                out["changes_ms"] = times
                if len(times) > 1:
                    out["median_ms"] = statistics.median(times)
            finally:
                browser.close()
    finally:
        stop(proc)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="billing export folder (FINOPS_DATA of the app)")
    ap.add_argument("--cache", help="FINOPS_CACHE_DIR holding its loaded Parquet (no re-read)")
    ap.add_argument("--filter", default="Provider", help="label of the dropdown to change (Provider)")
    ap.add_argument("--changes", type=int, default=4,
                    help="further changes (default 4): new values while there are, else back and forth")
    ap.add_argument("--timeout", type=float, default=900, help="seconds for Voila and the first page (900)")
    ap.add_argument("--settle", type=float, default=5, help="seconds to wait after the pool is filled (5)")
    args = ap.parse_args(argv)
    print(json.dumps(measure(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
