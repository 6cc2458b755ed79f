"""``finops-nb report``: a real papermill run of every notebook, HTML that opens offline, a manifest."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import boto3
import nbformat
from conftest import FAKE_KEY_ID, FAKE_SECRET, ROOT

from finops_nb.cli import main
from finops_nb.report import NOTEBOOKS

SAMPLE_INSTANCE = "i-081360af1l266l589"  # an EC2 instance of the shipped sample (anonymized id)


def test_monthly_report_on_the_sample(tmp_path, aws_env, capsys):
    cw = boto3.client("cloudwatch", region_name="us-east-1")
    start = datetime(2024, 9, 10, tzinfo=UTC)
    cw.put_metric_data(Namespace="AWS/EC2", MetricData=[
        {"MetricName": "CPUUtilization", "Dimensions": [{"Name": "InstanceId", "Value": SAMPLE_INSTANCE}],
         "Timestamp": start + timedelta(minutes=5 * k), "Value": float(10 * (k + 1))} for k in range(5)])

    assert main(["report", "--month", "2024-09", "--out", str(tmp_path)]) == 0
    folder = tmp_path / "2024-09"
    assert str(folder / "index.html") in capsys.readouterr().out
    for nb in NOTEBOOKS:
        assert (folder / nb).exists() and (folder / nb).with_suffix(".html").exists()
    assert (folder / "index.html").exists() and (folder / "report.log").exists()

    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "ok" and manifest["parameters"]["month"] == "2024-09"
    assert manifest["inputs"][0]["sha256"] == "e91e5ac7edf01ed2c9d926f37ef7dc1ae2aae97956fea8da6c9ee488b1c2839e"
    assert {"duckdb", "ibis-framework", "papermill"} <= set(manifest["packages"])
    runs = {r["notebook"]: r for r in manifest["notebooks"]}
    assert all(r["status"] == "ok" and r["seconds"] > 0 for r in runs.values())
    overview = runs["00-overview.ipynb"]["headline"]
    assert (overview["billed_cost"], overview["effective_cost"], overview["currency"]) == (20.2802, 14.9765, "USD")
    # showback conserves money: the owners' totals (in cents) add up to the month's effective cost, 14.98
    allocation = runs["40-allocation.ipynb"]["headline"]
    assert (allocation["total_cost"], allocation["currency"]) == (round(overview["effective_cost"], 2), "USD")
    # the kernel papermill started reached CloudWatch (moto) through AWS_ENDPOINT_URL
    assert runs["20-rightsizing.ipynb"]["headline"]["instances_with_metrics"] == 1

    for nb in NOTEBOOKS:
        page = (folder / nb).with_suffix(".html").read_text()
        assert not re.search(r"<script[^>]+src=", page), f"{nb}: a script loaded from outside"
        assert "data:image/svg+xml" in page or "<svg" in page, f"{nb}: no inline chart"
        assert FAKE_KEY_ID not in page and FAKE_SECRET not in page  # no credentials in outputs
    for other in (folder / "manifest.json", folder / "report.log", *folder.glob("*.ipynb")):
        text = other.read_text()
        assert FAKE_KEY_ID not in text and FAKE_SECRET not in text, other.name
    index = (folder / "index.html").read_text()
    assert "20.2802" in index and "14.9765" in index
    assert_renders_offline(folder / "00-overview.html")


def test_a_failing_notebook_is_kept_and_the_others_still_run(tmp_path, capsys):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    for name, body in (("a-fails.ipynb", "raise RuntimeError('boom: no data for this month')"),
                       ("b-works.ipynb", "from finops_nb.report import record_headline\nrecord_headline(answer=42)")):
        params = nbformat.v4.new_code_cell('month: str = "2024-09"\ndata: str = "sample"\nengine: str = "duckdb://"')
        params.metadata["tags"] = ["parameters"]
        nb = nbformat.v4.new_notebook(cells=[params, nbformat.v4.new_code_cell(body)],
                                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                               "language": "python"}})
        nbformat.write(nb, nbs / name)
    code = main(["report", "--month", "2024-09", "--out", str(tmp_path / "out"), "--notebooks-dir", str(nbs)])
    assert code == 1
    folder = tmp_path / "out" / "2024-09"
    manifest = json.loads((folder / "manifest.json").read_text())
    runs = {r["notebook"]: r for r in manifest["notebooks"]}
    # run side by side, yet the manifest keeps the notebooks' order
    assert [r["notebook"] for r in manifest["notebooks"]] == ["a-fails.ipynb", "b-works.ipynb"]
    assert runs["a-fails.ipynb"]["status"] == "failed" and "boom" in runs["a-fails.ipynb"]["error"]
    assert runs["b-works.ipynb"]["status"] == "ok" and runs["b-works.ipynb"]["headline"] == {"answer": 42}
    assert "boom" in (folder / "a-fails.html").read_text()  # kept with its error
    assert (folder / "b-works.html").exists() and manifest["status"] == "failed"
    assert "FAILED" in (folder / "index.html").read_text()


def test_notebooks_have_one_typed_parameters_cell():
    for path in sorted((ROOT / "notebooks").rglob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, path
        for line in tagged[0].source.splitlines():
            assert re.match(r'^\w+: \w+ = .+  # [^=]+$', line), f"{path.name}: untyped or uncommented: {line}"
        assert nb.metadata.kernelspec.name == "python3"
        for c in nb.cells:  # only the cells nbval checks keep their (headline) outputs
            if c.cell_type == "code":
                checked = c.source.startswith("# NBVAL_CHECK_OUTPUT")
                assert bool(c.get("outputs")) == checked, f"{path.name}: outputs of {c.source[:40]!r}"


def assert_renders_offline(page_path):
    """The exported HTML draws its charts with every network request refused (headless Chromium)."""
    from playwright.sync_api import sync_playwright

    outside: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"])
        try:
            page = browser.new_page()
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(("file:", "data:"))
                       else (outside.append(route.request.url), route.abort()))
            page.goto(page_path.as_uri())
            charts = page.locator("img[src^='data:image/svg+xml'], svg")
            assert charts.count() >= 5  # five cost-by charts, the trend and the categories
            first = charts.first.bounding_box()
            assert first and first["width"] > 100 and first["height"] > 50  # drawn, not blank
        finally:
            browser.close()
    assert outside == []
