"""End to end: the cost explorer served by a real Voila (started as ``finops-nb app`` starts it), in headless Chromium.

Needs Debian's ``/usr/bin/chromium`` (CI installs it); Playwright's own browser downloads are never used.
"""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import time
from pathlib import Path

import pytest
from conftest import ROOT, free_port
from playwright.sync_api import expect, sync_playwright

from finops_nb.app import apps_dir, stop, voila_command

pytestmark = pytest.mark.browser

HOST = "127.0.0.1"
APP_PATH = "/voila/render/cost-explorer.ipynb"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
STARTUP_TIMEOUT = 60  # seconds for Voila to answer HTTP
KERNEL_TIMEOUT = 90_000  # ms for the kernel to start and run the notebook (about 10 s on a quiet machine)
UPDATE_TIMEOUT = 30_000  # ms for a widget change to round-trip through the kernel
# one screenshot per app after its main widget change, kept for people to look at (build/ is not committed)
SCREENSHOTS = Path(os.environ.get("FINOPS_SCREENSHOTS") or ROOT / "build" / "screenshots")


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


class VoilaServer:
    def __init__(self, port: int, proc: subprocess.Popen, log: Path):
        self.port, self.proc, self.log = port, proc, log
        self.base = f"http://{HOST}:{port}"

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def raw_get(self, path: str) -> http.client.HTTPResponse:
        """GET ``path`` exactly as written: no client-side ``..`` or percent-escape normalisation."""
        conn = http.client.HTTPConnection(HOST, self.port, timeout=10)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            return resp
        finally:
            conn.close()


def _answers_http(port: int) -> bool:
    conn = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        conn.request("GET", "/")  # the tree page: cheap, starts no kernel
        conn.getresponse().read()
        return True
    except OSError:
        return False
    finally:
        conn.close()



@pytest.fixture(scope="module")
def voila(tmp_path_factory) -> VoilaServer:
    port = free_port()
    log = tmp_path_factory.mktemp("voila") / "voila.log"
    env = dict(os.environ, AWS_EC2_METADATA_DISABLED="true")
    for var in ("FINOPS_DATA", "FINOPS_ENGINE"):  # the app must read the shipped sample
        env.pop(var, None)
    with log.open("wb") as out:
        proc = subprocess.Popen(voila_command(port), cwd=apps_dir(), env=env, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = VoilaServer(port, proc, log)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not _answers_http(port):
            if proc.poll() is not None:
                pytest.fail(f"Voila exited with code {proc.returncode} before answering HTTP:\n{server.log_tail()}")
            if time.monotonic() > deadline:
                pytest.fail(f"Voila did not answer HTTP on port {port} within {STARTUP_TIMEOUT} s:\n"
                            f"{server.log_tail()}")
            time.sleep(0.25)
        yield server
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: the browser tests drive Debian's chromium (apt-get install chromium); "
                    "Playwright's bundled browsers are not used")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def test_cost_explorer_renders_and_filters_by_provider(browser, voila):  # browser first: no Chromium, no Voila
    page = browser.new_page()
    page_errors: list[str] = []
    page.on("pageerror", lambda exc: page_errors.append(str(exc)))
    try:
        response = page.goto(voila.base + APP_PATH, timeout=KERNEL_TIMEOUT)
        assert response is not None and response.status == 200, voila.log_tail()
        # security headers from notebooks/apps/voila.json
        assert response.headers.get("x-content-type-options") == "nosniff"

        table = page.locator("table.cost-table")
        try:
            expect(table).to_be_visible(timeout=KERNEL_TIMEOUT)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- Voila log ---\n{voila.log_tail()}") from None
        expect(table).to_contain_text("Amazon Elastic Compute Cloud")  # the sample's biggest service in 2024-09

        def dropdown(label: str):
            return (page.locator(".widget-dropdown")
                    .filter(has=page.locator("label", has_text=re.compile(rf"^{re.escape(label)}$")))
                    .locator("select"))

        for label in ("Month", "Provider", "Sub-account", "Service"):
            expect(dropdown(label)).to_have_count(1)
        expect(dropdown("Month").locator("option:checked")).to_have_text("2024-09")
        expect(page.locator(".widget-html svg").first).to_be_visible()  # the chart, drawn in the kernel

        # Voila strips the code cells. Highlighted source splits calls across <span>s, so look for bare names
        # in the HTML and for whole statements in the visible text.
        html_source = page.content()
        for name in ("load_charges", "cost_explorer"):
            assert name not in html_source, f"notebook source ({name!r}) leaked into the page"
        text = page.locator("body").inner_text()
        for statement in ("load_charges(", "cost_explorer(", "from finops_nb import"):
            assert statement not in text, f"notebook source {statement!r} is shown on the page"

        dropdown("Provider").select_option(label="Microsoft")
        expect(table).to_contain_text("Virtual Machines", timeout=UPDATE_TIMEOUT)
        expect(table).not_to_contain_text("Amazon Elastic Compute Cloud", timeout=UPDATE_TIMEOUT)
        expect(page.locator(".widget-html svg").first).to_be_visible()
        screenshot(page, "cost-explorer")
        assert page_errors == [], page_errors
    finally:
        page.close()


def test_every_app_has_a_preheated_kernel(voila):
    """notebooks/apps/voila.json preheats one kernel per app: it loads the data before anyone visits and waits
    for the visitor's request (widgets._visitor_query) to read the query string."""
    apps = sorted(p.name for p in apps_dir().glob("*.ipynb"))
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        filled = set(re.findall(r"Kernel pool of (\S+\.ipynb) is filled", voila.log_tail(200_000)))
        if filled >= set(apps) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert sorted(filled) == apps, voila.log_tail()


@pytest.mark.parametrize("path", [
    "/voila/render/../00-overview.ipynb",
    "/voila/render/%2E%2E/00-overview.ipynb",
    "/voila/render/%2e%2e%2f00-overview.ipynb",
    "/voila/files/../00-overview.ipynb",
])
def test_only_the_apps_folder_is_served(voila, path):
    assert (apps_dir().parent / "00-overview.ipynb").exists()  # the target is real, so a refusal means something
    resp = voila.raw_get(path)
    assert resp.status != 200, f"{path} answered {resp.status}"
    assert resp.status in (400, 403, 404), f"{path} answered {resp.status}\n{voila.log_tail()}"


# Voila's lab template links Font Awesome from a CDN; our Content-Security-Policy (notebooks/apps/voila.json)
# blocks it before any request leaves the machine, and the browser reports that as a console error.
CSP_BLOCKED_CDN = re.compile(r"^Loading the stylesheet 'https://cdn\.jsdelivr\.net/npm/@fortawesome/.*violates")


def open_app(browser, voila, notebook: str, ready: str):
    """Open an app; wait for the element ``ready``; collect page errors, console errors and outside requests."""
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text)
            if msg.type == "error" and not CSP_BLOCKED_CDN.match(msg.text) else None)
    # a request to another host is an error unless the browser refused it under the CSP (it never left)
    page.on("requestfinished", lambda req: errors.append(f"reached {req.url}")
            if not req.url.startswith((voila.base, "data:", "blob:")) else None)
    page.on("requestfailed", lambda req: errors.append(f"tried {req.url}: {req.failure}")
            if not req.url.startswith(voila.base) and req.failure != "csp" else None)
    response = page.goto(f"{voila.base}/voila/render/{notebook}", timeout=KERNEL_TIMEOUT)
    assert response is not None and response.status == 200, voila.log_tail()
    try:
        expect(page.locator(ready).first).to_be_visible(timeout=KERNEL_TIMEOUT)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- Voila log ---\n{voila.log_tail()}") from None
    return page, errors


def labelled(page, kind: str, label: str):
    return (page.locator(f".widget-{kind}")
            .filter(has=page.locator("label", has_text=re.compile(rf"^{re.escape(label)}$"))))


def test_savings_ledger_filters_and_exports(browser, voila):
    page, errors = open_app(browser, voila, "savings-ledger.ipynb", "table.ledger-table")
    try:
        table = page.locator("table.ledger-table")
        expect(table).to_contain_text("low-cost, high-count resources")
        expect(page.locator("a.csv-download")).to_have_attribute("href", re.compile(r"^data:text/csv;base64,"))
        labelled(page, "dropdown", "Check").locator("select").select_option(label="EBS gp2 -> gp3")
        expect(table).to_contain_text("EBS gp2 -> gp3", timeout=UPDATE_TIMEOUT)
        expect(table).not_to_contain_text("low-cost, high-count resources", timeout=UPDATE_TIMEOUT)
        screenshot(page, "savings-ledger")
        assert errors == [], errors
    finally:
        page.close()


def test_commitment_simulator_recomputes_on_a_new_commitment(browser, voila):
    page, errors = open_app(browser, voila, "commitment-simulator.ipynb", "table.sim-stats")
    try:
        stats = page.locator("table.sim-stats")
        expect(stats).to_contain_text("0.0000 USD/h")  # the sample's sparse hours: no commitment pays
        box = labelled(page, "text", "Commitment").locator("input")
        box.fill("0.05")
        box.press("Enter")
        expect(stats).to_contain_text("0.0500 USD/h", timeout=UPDATE_TIMEOUT)
        expect(stats).to_contain_text("-33.7247 USD", timeout=UPDATE_TIMEOUT)  # 0.05 * 720 h - covered 2.27
        expect(page.locator(".widget-html svg").first).to_be_visible()
        screenshot(page, "commitment-simulator")
        assert errors == [], errors
    finally:
        page.close()


def test_a_query_string_preselects_the_month(browser, voila):
    page, errors = open_app(browser, voila, "cost-explorer.ipynb?month=2024-10", "table.cost-table")
    try:
        month = labelled(page, "dropdown", "Month").locator("select")
        expect(month.locator("option:checked")).to_have_text("2024-10")
        expect(page.locator("table.cost-table")).to_contain_text("COMPUTE")  # the one Oracle row of 2024-10
        assert errors == [], errors
    finally:
        page.close()


def test_cost_explorer_tag_filter_and_csv(browser, voila):
    page, errors = open_app(browser, voila, "cost-explorer.ipynb", "table.cost-table")
    try:
        total = page.locator("text=Total effective cost")
        expect(total).to_contain_text("14.9765 USD")  # all of 2024-09
        labelled(page, "dropdown", "Tag key").locator("select").select_option(label="environment")
        values = labelled(page, "dropdown", "Tag value").locator("select")
        expect(values.locator("option", has_text="dev")).to_have_count(1, timeout=UPDATE_TIMEOUT)
        values.select_option(label="(untagged)")
        expect(total).to_contain_text("-1.0235 USD", timeout=UPDATE_TIMEOUT)  # dev 16.0000 + prod 0 + this = 14.9765
        expect(page.locator("a.csv-download")).to_have_attribute("href", re.compile(r"^data:text/csv;base64,"))
        assert errors == [], errors
    finally:
        page.close()


def test_rightsizing_review_recomputes_on_a_new_headroom_and_percentile(browser, voila):
    page, errors = open_app(browser, voila, "rightsizing-review.ipynb", "table.rs-table")
    try:
        table, summary = page.locator("table.rs-table"), page.locator(".rs-summary")
        # no AWS credentials in the test: the cost side, and the metrics it would need and how to grant them
        expect(summary).to_contain_text("No metrics")
        expect(page.locator(".rs-metrics")).to_contain_text("cloudwatch:GetMetricData")
        expect(page.locator("table.rs-costs")).to_contain_text("i-0544a99823af9bl0b")  # c5.4xlarge, 1.2917/h
        expect(table).to_contain_text("Recommendations at p99 + 20 % headroom, 14-day lookback")
        box = labelled(page, "text", "Headroom %").locator("input")
        box.fill("50")
        box.press("Enter")
        expect(table).to_contain_text("p99 + 50 % headroom", timeout=UPDATE_TIMEOUT)
        labelled(page, "dropdown", "Percentile").locator("select").select_option(label="max")
        expect(table).to_contain_text("max + 50 % headroom", timeout=UPDATE_TIMEOUT)
        labelled(page, "dropdown", "Lookback (d)").locator("select").select_option(label="32")
        expect(summary).to_contain_text("32-day lookback", timeout=UPDATE_TIMEOUT)
        expect(page.get_by_text("Computing recommendations")).to_have_count(0, timeout=UPDATE_TIMEOUT)
        expect(page.locator(".widget-html svg").first).to_be_visible()
        screenshot(page, "rightsizing-review")
        assert errors == [], errors
    finally:
        page.close()


def test_team_cost_follows_the_owner(browser, voila):
    page, errors = open_app(browser, voila, "team-cost.ipynb", "table.team-stats")
    try:
        stats, services = page.locator("table.team-stats"), page.locator("table.team-services")
        expect(stats).to_contain_text("14.98")  # all owners: the month's effective cost 14.9765 to the cent
        labelled(page, "dropdown", "Owner").locator("select").select_option(label="PeoriaData")
        expect(stats).to_contain_text("PeoriaData, 2024-09", timeout=UPDATE_TIMEOUT)
        expect(stats).to_contain_text("16.00", timeout=UPDATE_TIMEOUT)
        expect(services).to_contain_text("Top services of PeoriaData", timeout=UPDATE_TIMEOUT)
        expect(page.locator(".team-anomalies")).to_contain_text("No anomalies for PeoriaData")
        expect(page.locator("a.csv-download")).to_have_attribute("download", "team-cost-PeoriaData-2024-09.csv")
        expect(page.locator(".widget-html svg").first).to_be_visible()
        screenshot(page, "team-cost")
        assert errors == [], errors
    finally:
        page.close()
