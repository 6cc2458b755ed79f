"""``finops-nb totals`` and ``validate`` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import case

from finops_nb.cli import main


def totals(capsys, *args):
    assert main(["totals", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_totals_on_the_shipped_sample(capsys):
    got = totals(capsys, "sample")
    assert [(r["billing_period"], r["currency"], r["rows"], round(r["billed_cost"], 4), round(r["effective_cost"], 4))
            for r in got] == [("2024-09", "USD", 999, 20.2802, 14.9765), ("2024-10", "USD", 1, 0.24, 0.0)]
    assert {"list_cost", "contracted_cost"} <= set(got[0])


def test_totals_month_and_by_tag_keep_untagged_cost(capsys):
    got = totals(capsys, "sample", "--month", "2024-09", "--by", "tag:ORG")
    assert all(r["billing_period"] == "2024-09" for r in got)
    keys = {r["tag:ORG"] for r in got}
    assert None in keys and len(keys) > 1  # ' org' matched ignoring case and spaces; untagged kept apart
    assert round(sum(r["billed_cost"] for r in got), 4) == 20.2802


def test_totals_by_tag_case_sensitive_finds_nothing_for_wrong_case(capsys):
    got = totals(capsys, "sample", "--month", "2024-09", "--by", "tag:ORG", "--case-sensitive-tags")
    assert [r["tag:ORG"] for r in got] == [None]


def test_totals_with_rates_converts_before_adding(tmp_path, capsys):
    path, exp = case("mixed-currencies")
    rates = tmp_path / "rates.json"
    rates.write_text(json.dumps(exp["with_rates"]["rates_to_USD"]))
    got = totals(capsys, str(path), "--rates", str(rates), "--to", "USD")
    assert [(r["currency"], r["billed_cost"]) for r in got] == [("USD", 225.0)]
    plain = totals(capsys, str(path))
    assert sorted((r["currency"], r["billed_cost"]) for r in plain) == [("EUR", 50.0), ("JPY", 10000.0), ("USD", 100.0)]


def test_console_script_and_validate():
    out = subprocess.run([sys.executable, "-m", "finops_nb.cli", "validate", "sample"], capture_output=True,
                         text=True, check=True).stdout
    assert "1000 rows loaded" in out and "zoneless-timestamps" in out


def test_rates_file_errors_are_clean(tmp_path, capsys):
    path, _ = case("mixed-currencies")
    for name, body, expected in [("r.json", "[1, 2]", "must be a JSON object"), ("r.json", "{bad", "not valid JSON"),
                                 ("r.csv", "EUR,abc\n", "rate 'abc' for EUR is not a positive number"),
                                 ("r.csv", "EUR,1.1,x\n", "row 1")]:
        f = tmp_path / name
        f.write_text(body)
        assert main(["totals", str(path), "--rates", str(f)]) == 2
        assert expected in capsys.readouterr().err
    assert main(["totals", str(path), "--rates", str(tmp_path / "missing.json")]) == 2
    assert main(["totals", str(path), "--to", "EUR"]) == 2 and "--to needs --rates" in capsys.readouterr().err


def test_conversion_keeps_a_missing_amount_missing(tmp_path, capsys):
    rates = tmp_path / "one.json"
    rates.write_text('{"USD": 1}')
    got = totals(capsys, "sample", "--month", "2024-10", "--rates", str(rates))
    assert got[0]["contracted_cost"] is None and got[0]["billed_cost"] == 0.24


def test_warnings_for_an_empty_month_and_an_unknown_tag(capsys):
    assert main(["totals", "sample", "--month", "2023-01", "--by", "tag:nosuchtag"]) == 0
    err = capsys.readouterr().err
    assert "no rows in billing period 2023-01; the data has 2024-09, 2024-10" in err
    assert "no row has the tag 'nosuchtag'; tag keys in the data: " in err and "application" in err


def test_report_on_bad_input_stops_before_the_notebooks(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("BillingCurrency,BillingPeriodStart,ChargePeriodStart,ChargeCategory,BilledCost\n"
                   "USD,2024-09-01,2024-09-02,Usage,twelve\n")
    assert main(["report", "--month", "2024-09", "--data", str(bad), "--out", str(tmp_path / "out")]) == 2
    assert "row 1, column BilledCost" in capsys.readouterr().err
    assert not (tmp_path / "out" / "2024-09" / "00-overview.ipynb").exists()


def test_rates_keep_by_columns_spelled_any_case_and_provisional(tmp_path, capsys):
    rates = tmp_path / "one.json"
    rates.write_text('{"USD": 1}')
    got = totals(capsys, "sample", "--month", "2024-09", "--by", "servicename", "--rates", str(rates))
    assert "ServiceName" in got[0] and round(sum(r["billed_cost"] for r in got), 4) == 20.2802
    path, _ = case("sp-negation")
    got = totals(capsys, str(path), "--rates", str(rates))
    assert got[0]["provisional"] is True
