"""Schedules: each recipe is well-formed (systemd units pass systemd-analyze, the DAG compiles, the crontab
line has five time fields), and the report's --month last and --publish."""

from __future__ import annotations

import json
import py_compile
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import boto3
import pytest
from conftest import SAMPLE, tiny_notebooks

from finops_nb.analyses.common import resolve_month
from finops_nb.cli import main
from finops_nb.schedule import render


def test_month_last_is_the_previous_full_month_in_utc():
    assert resolve_month("last", today=date(2026, 12, 3)) == "2026-11"
    assert resolve_month("last", today=date(2027, 1, 1)) == "2026-12"
    assert resolve_month("2024-09") == "2024-09"


def test_cron_line(tmp_path):
    text = render("cron", data="/srv/bills 100%", out=str(tmp_path))["finops-nb.cron"]
    line = [ln for ln in text.splitlines() if ln and not ln.startswith("#")][0]
    fields = line.split()
    assert fields[:5] == ["0", "6", "3", "*", "*"]
    assert "report --month last" in line and "100\\%" in line
    assert re.search(r"(?<!\\)%", line) is None  # cron would turn a bare % into a newline


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_units_verify(tmp_path):
    for name, text in render("systemd", data="/srv/bills", out=str(tmp_path)).items():
        (tmp_path / name).write_text(text)
    ok = subprocess.run(["systemd-analyze", "verify", "finops-nb-report.service", "finops-nb-report.timer"],
                        cwd=tmp_path, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    broken = (tmp_path / "finops-nb-report.timer").read_text().replace("OnCalendar=*-*-03", "OnCalendar=bogus")
    (tmp_path / "finops-nb-report.timer").write_text(broken)
    bad = subprocess.run(["systemd-analyze", "verify", "finops-nb-report.timer"], cwd=tmp_path, capture_output=True)
    assert bad.returncode != 0  # the check can fail


def test_airflow_dag_compiles(tmp_path, capsys):
    assert main(["schedule", "--print", "airflow", "--data", "s3://bills/cur/", "--write", str(tmp_path)]) == 0
    dag = tmp_path / "finops_nb_monthly_report.py"
    py_compile.compile(str(dag), doraise=True)
    assert "schedule=\"0 6 3 * *\"" in dag.read_text() and "--month last" in dag.read_text()


def test_report_is_published_to_s3(tmp_path, aws_env, capsys):
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="finops-reports")
    nbs = tiny_notebooks(tmp_path / "nbs")
    s3.create_bucket(Bucket="finops-billing")
    s3.upload_file(str(SAMPLE), "finops-billing", "focus/2024-09/part-0.csv")
    code = main(["report", "--month", "2024-09", "--data", "s3://finops-billing/focus/", "--out",
                 str(tmp_path / "out"), "--notebooks-dir", str(nbs), "--publish", "s3://finops-reports/monthly"])
    assert code == 0
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket="finops-reports")
    keys = sorted(o["Key"] for page in pages for o in page.get("Contents", []))
    assert [k for k in keys if "/owners/" not in k] == [f"monthly/2024-09/{n}" for n in
                                                         ("index.html", "manifest.json", "only.html", "only.ipynb",
                                                          "report.log")]
    owners = sorted(p.name for p in (tmp_path / "out" / "2024-09" / "owners").glob("*.html"))
    assert len(owners) > 1  # the per-owner pages the index links to are published too
    assert [k for k in keys if "/owners/" in k] == [f"monthly/2024-09/owners/{n}" for n in owners]
    head = s3.head_object(Bucket="finops-reports", Key="monthly/2024-09/index.html")
    assert head["ContentType"].startswith("text/html")
    manifest = json.loads(s3.get_object(Bucket="finops-reports", Key="monthly/2024-09/manifest.json")["Body"].read())
    assert manifest["status"] == "ok" and manifest["parameters"]["data_source"] == "s3://finops-billing/focus/"
    assert Path(manifest["parameters"]["data"]).is_dir()  # the notebooks read the local mirror, synced once
