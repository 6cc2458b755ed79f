"""Widget change time as a visitor sees it: an app served by a real Voila, in headless Chromium.

    .venv/bin/python benchmarks/browser_widget.py --data /tmp/finops-bench/cur2-10000000 \\
        --cache /tmp/finops-bench/cache-cur2-10000000 [--app rightsizing-review] [--filter Percentile]

Voila is started as ``finops-nb app`` starts it (``finops_nb.app.voila_command``, the settings of
notebooks/apps/voila.json) with FINOPS_DATA and FINOPS_CACHE_DIR pointing at ``--data`` and ``--cache``; only
the app measured (``--app``: cost-explorer, rightsizing-review, team-cost) gets a preheated kernel (the other
apps would load the same data for nothing) and the pool is not refilled while we measure. The page opens, waits
for the first chart, then a dropdown changes (``--filter``; the cost explorer's Provider, the rightsizing
review's Percentile, the team cost's Owner): the time runs from the ``change`` event on the <select> (in the
page, ``performance.now()``) to the first animation frame after the app has written the last part of its answer
(the cost explorer's total, the rightsizing review's cleared "Computing" after its table and chart, the team
cost's CSV link). The first change is ``widget_change_ms``; ``--changes`` more follow, a value not chosen before
each time while there are (so each chart is drawn afresh, not from the app's memory of charts already drawn).

Prints JSON: {"widget_change_ms": ..., "changes_ms": [...], "page_ready_s": ..., ...}.
Needs Debian's /usr/bin/chromium (as the browser tests).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
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
# the app has written the last part of its answer for the new value (``DONE[app]``, a JS predicate over the page)
# and the browser has painted the frame after it.
CHANGE_JS = """
async ([label, wanted, done]) => {
  const isDone = new Function('wanted', 'before', done);
  const boxes = [...document.querySelectorAll('.widget-dropdown')];
  const box = boxes.find(b => (b.querySelector('label') || {}).textContent === label);
  const select = box.querySelector('select');
  const status = [...document.querySelectorAll('.widget-html')]
    .find(e => e.textContent.includes('Total effective cost') || e.textContent.includes('Computing'));
  const before = status ? status.textContent : '';
  const index = [...select.options].findIndex(o => o.textContent === wanted);
  return await new Promise((resolve, reject) => {
    let t0 = 0, busy = false;
    const timer = setTimeout(() => reject(new Error('no redraw within 600 s')), 600000);
    const seen = new MutationObserver(() => {
      if (document.body.textContent.includes('Computing')) { busy = true; return; }
      if (isDone(wanted, {text: before, busy, status})) {
        seen.disconnect();
        requestAnimationFrame(() => requestAnimationFrame(() => {
          clearTimeout(timer);
          resolve(performance.now() - t0);
        }));
      }
    });
    seen.observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
    t0 = performance.now();
    select.selectedIndex = index;
    select.dispatchEvent(new Event('change', {bubbles: true}));
  });
}
"""

# per app: the notebook, the element the first page shows when ready, the dropdown changed by default, and when
# a change is done (``wanted``: the new option's text; ``before``: the status line before the change)
APPS = {
    # refresh writes the total last, after the chart and the table
    "cost-explorer": ("cost-explorer.ipynb", "table.cost-table", "Provider",
                      "const t = before.status.textContent; return t.includes('Total effective cost') && "
                      "(before.busy || t !== before.text);"),
    # recompute writes the table (its caption names the percentile), the chart, then clears "Computing"
    "rightsizing-review": ("rightsizing-review.ipynb", "table.rs-table", "Percentile",
                           "const c = document.querySelector('table.rs-table caption'); "
                           "return !!c && c.textContent.includes('at ' + wanted + ' +');"),
    # refresh writes the CSV link (named after the owner) last but the status
    "team-cost": ("team-cost.ipynb", "table.team-stats", "Owner",
                  "const a = document.querySelector('a.csv-download'); const slug = wanted === '(all owners)' ? "
                  "'all-owners' : wanted.replace(/[^A-Za-z0-9]/g, '-'); "
                  "return !!a && a.getAttribute('download').startsWith('team-cost-' + slug + '-');"),
}
ALL_CHOICES = ("(all)", "(all owners)")


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


def start_voila(port: int, env: dict, log: Path, notebook: str) -> subprocess.Popen:
    from finops_nb.app import apps_dir, voila_command

    pools = {"default": {"pool_size": 0}, notebook: {"pool_size": 1}}
    cmd = [*voila_command(port), f"--VoilaKernelManager.kernel_pools_config={json.dumps(pools)}",
           "--VoilaKernelManager.fill_delay=86400"]
    with log.open("wb") as out:
        return subprocess.Popen(cmd, cwd=apps_dir(), env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def wait_for_pool(log: Path, proc: subprocess.Popen, timeout: float, notebook: str) -> float:
    """Seconds until Voila logs the app's kernel pool as filled (the notebook then waits for a visit)."""
    t0 = time.monotonic()
    while f"Kernel pool of {notebook} is filled" not in log.read_text(errors="replace"):
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
    notebook, ready, default_filter, done = APPS[args.app]
    label = args.filter or default_filter
    proc = start_voila(port, env, log, notebook)
    out: dict = {"data": str(args.data), "app": args.app}
    try:
        deadline = time.monotonic() + 60
        while not answers_http(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"Voila did not answer HTTP:\n{log.read_text(errors='replace')[-4000:]}")
            time.sleep(0.25)
        out["pool_filled_s"] = round(wait_for_pool(log, proc, args.timeout, notebook), 1)
        time.sleep(args.settle)  # the preheated kernel runs the notebook up to the visit
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                t0 = time.monotonic()
                page.goto(f"http://{HOST}:{port}/voila/render/{notebook}", timeout=args.timeout * 1000)
                page.locator(".widget-html svg").first.wait_for(state="visible", timeout=args.timeout * 1000)
                page.locator(ready).wait_for(state="visible", timeout=args.timeout * 1000)
                out["page_ready_s"] = round(time.monotonic() - t0, 2)
                options, current = page.eval_on_selector_all(
                    ".widget-dropdown", "(bs, label) => { const b = [...bs].find(b => (b.querySelector('label') || "
                                        "{}).textContent === label); const s = b.querySelector('select'); return "
                                        "[[...s.options].map(o => o.textContent), s.options[s.selectedIndex]"
                                        ".textContent]; }", label)
                choices = [o for o in options if o not in ALL_CHOICES and o != current]
                if not choices:
                    raise SystemExit(f"nothing to choose in {label}: {options}")
                out["filter"], out["first_choice"] = label, choices[0]
                # a new value each time while there are any (a chart not drawn before), else back and forth
                wanted = choices[:1 + args.changes] if len(choices) > args.changes else \
                    [choices[0] if i % 2 == 0 else current for i in range(1 + args.changes)]
                times = []
                for i, value in enumerate(wanted):
                    times.append(round(page.evaluate(CHANGE_JS, [label, value, done]), 1))
                    if i == 0 and args.app == "cost-explorer":
                        out["total_after_change"] = page.locator("text=Total effective cost").inner_text()
                out["widget_change_ms"] = times[0]
                out["changes_ms"] = times
                if len(times) > 1:
                    out["median_ms"] = statistics.median(times)
            finally:
                browser.close()
    finally:
        from finops_nb.app import stop

        stop(proc)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="billing export folder (FINOPS_DATA of the app)")
    ap.add_argument("--cache", help="FINOPS_CACHE_DIR holding its loaded Parquet (no re-read)")
    ap.add_argument("--app", default="cost-explorer", choices=sorted(APPS), help="the app (cost-explorer)")
    ap.add_argument("--filter", help="label of the dropdown to change (Provider; rightsizing-review: Percentile; "
                                     "team-cost: Owner)")
    ap.add_argument("--changes", type=int, default=4,
                    help="further changes (default 4): new values while there are, else back and forth")
    ap.add_argument("--timeout", type=float, default=900, help="seconds for Voila and the first page (900)")
    ap.add_argument("--settle", type=float, default=5, help="seconds to wait after the pool is filled (5)")
    args = ap.parse_args(argv)
    print(json.dumps(measure(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
