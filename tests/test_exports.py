"""XLSX workbooks and per-owner action lists (finops_nb.exports), and the --xlsx options of the CLI."""

from __future__ import annotations

import json
from decimal import Decimal

import pandas as pd
import pytest
from openpyxl import load_workbook

from finops_nb.cli import main
from finops_nb.exports import owner_file_name, owner_file_names, sheet_title, write_action_lists, write_xlsx


def ledger() -> pd.DataFrame:
    # the worked savings: gp2 -> gp3 1000 GB 15.00, 5000 GB 35.00, at 90 % of list 13.50; an idle EIP 3.72
    return pd.DataFrame({
        "owner": ["team a", "web/api", None, "team a"],
        "check": ["EBS gp2 -> gp3", "EBS gp2 -> gp3", "EBS gp2 -> gp3", "idle Elastic IP"],
        "ResourceId": ["vol-1", "vol-5", "vol-9", "eipalloc-1"],
        "monthly_cost": [100.0, 500.0, 90.0, 3.72],
        "monthly_savings": [15.0, 35.0, 13.5, 3.72],
    })


def rows(path, sheet):
    ws = load_workbook(path)[sheet]
    values = list(ws.values)
    return values[0], values[1:]


def test_workbook_one_sheet_per_frame_money_as_numbers(tmp_path):
    totals = pd.DataFrame({"currency": ["USD"], "findings": [3], "monthly_savings": [Decimal("67.22")]})
    path = write_xlsx({"totals": totals, "findings/all": ledger()}, tmp_path / "out" / "book.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames == ["totals", "findings_all"]  # '/' is not allowed in a sheet name
    header, body = rows(path, "totals")
    assert header == ("currency", "findings", "monthly_savings") and body == [("USD", 3, 67.22)]
    ws = wb["findings_all"]
    assert [c.value for c in ws[1]] == list(ledger().columns) and all(c.font.bold for c in ws[1])
    assert [ws.cell(r, 5).value for r in range(2, 6)] == [15.0, 35.0, 13.5, 3.72]
    assert ws.cell(2, 5).number_format == "#,##0.00" and ws.cell(2, 4).number_format == "#,##0.00"
    assert ws.cell(2, 1).number_format == "General" and ws.cell(4, 1).value is None  # missing owner: empty cell
    assert wb["totals"].cell(2, 2).number_format == "General"  # a count is not money
    # width: the longest value of ResourceId ('eipalloc-1', 10 characters) plus 2
    assert ws.column_dimensions["C"].width == 12 and ws.freeze_panes == "A2"


def test_one_action_list_per_owner_adds_up_to_the_ledger(tmp_path):
    written = write_action_lists(ledger(), tmp_path, prefix="savings-2025-03-")
    assert sorted(p.name for p in written) == sorted(
        f"savings-2025-03-{o}.{ext}" for o in ("no-owner", "team_a", "web_api") for ext in ("csv", "xlsx"))
    per_file = {p.stem: sum(r[-1] for r in rows(p, "actions")[1]) for p in written if p.suffix == ".xlsx"}
    # by hand: team a 15.00 + 3.72 = 18.72; web/api 35.00; no owner 13.50; all 67.22
    assert per_file == pytest.approx({"savings-2025-03-team_a": 18.72, "savings-2025-03-web_api": 35.0,
                                      "savings-2025-03-no-owner": 13.5})
    assert sum(per_file.values()) == pytest.approx(ledger().monthly_savings.sum()) == pytest.approx(67.22)
    csv = pd.read_csv(tmp_path / "savings-2025-03-team_a.csv")
    assert csv.ResourceId.tolist() == ["vol-1", "eipalloc-1"]
    only = write_action_lists(ledger(), tmp_path / "x", formats=["xlsx"], columns=["owner", "monthly_savings"])
    assert {p.suffix for p in only} == {".xlsx"} and rows(only[0], "actions")[0] == ("owner", "monthly_savings")


def test_safe_unique_file_and_sheet_names():
    assert owner_file_name("team b") == "team_b" and owner_file_name("../etc/passwd") == "etc_passwd"
    assert owner_file_name(None) == owner_file_name(float("nan")) == owner_file_name("(no owner)") == "no-owner"
    assert owner_file_names(["a/b", "a_b", "A_B"]) == {"A_B": "A_B", "a/b": "a_b-2", "a_b": "a_b-3"}
    used: set[str] = set()
    assert sheet_title("x" * 40, used) == "x" * 31 and sheet_title("x" * 40, used) == "x" * 27 + " (2)"


def test_bad_format_is_an_error(tmp_path):
    from finops_nb.errors import ConfigError

    with pytest.raises(ConfigError, match="pdf"):
        write_action_lists(ledger(), tmp_path, formats=["pdf"])


def test_savings_xlsx_on_the_sample(tmp_path, capsys):
    book, owners = tmp_path / "savings.xlsx", tmp_path / "owners"
    assert main(["savings", "--month", "2024-09", "--json", "--xlsx", str(book), "--owner-dir", str(owners),
                 "--owner-format", "xlsx"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert load_workbook(book).sheetnames == ["totals", "findings"]
    header, found = rows(book, "findings")
    assert len(found) == len(doc["findings"]) > 0 and header[:2] == ("owner", "SubAccountId")
    at = header.index("monthly_savings")
    naive = sum(r["monthly_savings"] for r in doc["findings"])
    assert sum(r[at] for r in found) == pytest.approx(naive)
    # every finding in exactly one owner's list: the lists add up to the ledger
    lists = list(owners.glob("savings-2024-09-*.xlsx"))
    assert lists and not list(owners.glob("*.csv"))
    assert sum(len(rows(p, "actions")[1]) for p in lists) == len(found)
    assert sum(r[at] for p in lists for r in rows(p, "actions")[1]) == pytest.approx(naive)


def test_allocation_xlsx_on_the_sample(tmp_path, capsys):
    rules = tmp_path / "owners.yaml"
    rules.write_text("- match: {ServiceName: [AWS Support (Business)]}\n  owner: shared\n- tag: business_unit\n")
    book = tmp_path / "showback.xlsx"
    assert main(["allocation", "--month", "2024-09", "--rules", str(rules), "--xlsx", str(book)]) == 0
    capsys.readouterr()
    assert load_workbook(book).sheetnames == ["showback"]
    header, body = rows(book, "showback")
    assert header[:6] == ("billing_period", "currency", "owner", "direct_cost", "shared_cost", "total_cost")
    # the sample's September effective cost is 14.9765 USD (tests/test_report.py) -> 14.98 to the cent
    assert round(sum(r[5] for r in body), 2) == 14.98 and {r[1] for r in body} == {"USD"}
    assert load_workbook(book)["showback"].cell(2, 6).number_format == "#,##0.00"
