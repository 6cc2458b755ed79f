"""Per-owner HTML pages of the monthly report (finops_nb.owner_pages) on the shipped sample."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from conftest import tiny_notebooks

from finops_nb import load_charges
from finops_nb.analyses import allocation
from finops_nb.owner_pages import OWNER_TAG, savings_by_owner, write_owner_pages


@pytest.fixture(scope="module")
def sample():
    return load_charges("sample")


def cents(page: str, row_class: str) -> list[int]:
    return [int(c) for c in re.findall(rf"<tr class='{row_class}'>.*?data-cents='(-?\d+)'", page)]


def test_pages_on_the_sample_add_up_to_the_month(sample, tmp_path):
    written = write_owner_pages(sample, "2024-09", tmp_path)
    folder = tmp_path / "owners"
    index = (folder / "index.html").read_text()
    sb = allocation.showback(sample.table, allocation.default_rules(OWNER_TAG, shared_services=[
        "AWS Support (Business)", "AWS Support (Enterprise)", "AWS Support (Developer)"]), month="2024-09")
    assert written[-1] == folder / "index.html" and len(written) >= len(sb) + 1
    assert all(p.exists() for p in written)
    # the sample's September effective cost is 14.9765 USD (tests/test_report.py) -> 1,498 cents; the owners'
    # totals on the index add up to it
    assert sum(cents(index, "owner")) == 1498 and cents(index, "sum") == [1498]
    assert index.count("<tr class='owner'>") == len(sb)
    for link in re.findall(r'<a href="([^"]+)"', index):
        assert (folder / link).exists(), link
    page = (folder / "PeoriaData.html").read_text()
    total = re.search(r"<a href=\"PeoriaData.html\">PeoriaData</a>.*?data-cents='(-?\d+)'", index).group(1)
    assert f"<td class='num total'>{int(total) / 100:,.2f}</td>" in page  # the page shows the index's total
    assert "Top services" in page and "each resource counted once" in page
    assert not re.search(r"<script|https?://[^\s\"'<]+\.(js|css)", index + page)  # self-contained


def test_owner_names_are_escaped_and_files_safe(sample, tmp_path):
    owner = "<b>R&D</b> ops"
    rules = [{"match": {"ServiceName": ["Amazon Elastic Compute Cloud"]}, "owner": owner}, {"tag": OWNER_TAG}]
    write_owner_pages(sample, "2024-09", tmp_path, rules=rules)
    index = (tmp_path / "owners" / "index.html").read_text()
    page = (tmp_path / "owners" / "b_R_D_b_ops.html").read_text()
    for text in (index, page):
        assert "&lt;b&gt;R&amp;D&lt;/b&gt; ops" in text and "<b>R&D" not in text
    assert '<a href="b_R_D_b_ops.html">' in index
    assert sum(cents(index, "owner")) == 1498  # still conserved with other rules


def test_savings_by_owner_counts_each_resource_once():
    # issue 4's worked ledger: a $200/month instance that is idle (terminate 200), rightsizable (100) and
    # Graviton-eligible (20 % = 40) -> 200 for owner A; the same findings on a busy instance of owner B, without
    # the idle one: 100 + 20 % of the remaining 100 = 120 (naive sum 140)
    rows = [("A", "i-1", "terminate", 200.0), ("A", "i-1", "rightsize", 100.0), ("A", "i-1", "modernize", 40.0),
            ("B", "i-1", "rightsize", 100.0), ("B", "i-1", "modernize", 40.0)]
    ledger = pd.DataFrame([{"owner": o, "ResourceId": r, "action_kind": k, "monthly_savings": s, "monthly_cost": 200.0,
                            "currency": "USD", "check": k, "ServiceName": "EC2", "SubAccountId": "1",
                            "SubAccountName": "a"} for o, r, k, s in rows])
    got = savings_by_owner(ledger).set_index("owner")
    assert got.monthly_savings.to_dict() == {"A": 200.0, "B": 120.0}
    assert got.naive_monthly_savings.to_dict() == {"A": 340.0, "B": 140.0}


def test_the_report_writes_the_pages_and_a_failure_fails_the_report(tmp_path, capsys):
    import json

    from finops_nb.cli import main

    nbs = tiny_notebooks(tmp_path / "nbs")
    assert main(["report", "--month", "2024-09", "--out", str(tmp_path / "ok"), "--notebooks-dir", str(nbs)]) == 0
    folder = tmp_path / "ok" / "2024-09"
    manifest = json.loads((folder / "manifest.json").read_text())
    step = manifest["steps"][0]
    assert (step["step"], step["status"], step["output"]) == ("owner pages", "ok", "owners/index.html")
    assert manifest["parameters"]["owner_tag"] == OWNER_TAG == "business_unit"  # notebook 40's default
    assert step["files"] == len(list((folder / "owners").glob("*.html"))) > 1
    assert '<a href="owners/index.html">owner pages</a>' in (folder / "index.html").read_text()

    # owners/ cannot be made (a file has its name): the step fails, the report exits 1, the notebook is kept
    bad = tmp_path / "bad" / "2024-09"
    bad.mkdir(parents=True)
    (bad / "owners").write_text("not a folder")
    capsys.readouterr()
    assert main(["report", "--month", "2024-09", "--out", str(tmp_path / "bad"), "--notebooks-dir", str(nbs)]) == 1
    assert re.search(r"^owner pages +failed", capsys.readouterr().out, re.M)  # the terminal says so too
    manifest = json.loads((bad / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["notebooks"][0]["status"] == "ok"
    assert manifest["steps"][0]["status"] == "failed" and "Error" in manifest["steps"][0]["error"]
    assert (bad / "only.html").exists() and "FAILED" in (bad / "index.html").read_text()
    assert "owner pages failed" in (bad / "report.log").read_text()


def test_a_relative_out_folder_while_notebooks_run_side_by_side(tmp_path, monkeypatch):
    """`make report` writes to the relative reports/: papermill changes the working directory while a notebook
    runs beside the owner pages, so every path is made absolute first."""
    import nbformat

    from finops_nb.cli import main

    nbs = tiny_notebooks(tmp_path / "nbs")
    nb = nbformat.read(nbs / "only.ipynb", as_version=4)
    nb.cells.insert(1, nbformat.v4.new_code_cell("import time; time.sleep(10)"))  # busy while the pages are made
    nbformat.write(nb, nbs / "only.ipynb")
    monkeypatch.chdir(tmp_path)
    assert main(["report", "--month", "2024-09", "--out", "rel", "--notebooks-dir", str(nbs)]) == 0
    assert (tmp_path / "rel" / "2024-09" / "owners" / "index.html").exists()
    assert not (nbs / "rel").exists()
