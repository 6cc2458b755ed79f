"""Recipes that run the monthly report on a schedule: a crontab line, a systemd service and timer, an
Airflow DAG. Each runs ``finops-nb report --month last`` (the previous full month in UTC) a few days into the
month, when the provider's data for the closed month has settled."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

KINDS = ("cron", "systemd", "airflow")


def report_command(*, data: str, out: str, publish: str | None = None, executable: str | None = None) -> list[str]:
    exe = executable or str(Path(sys.executable).with_name("finops-nb"))
    cmd = [exe, "report", "--month", "last", "--data", data, "--out", out]
    return cmd + (["--publish", publish] if publish else [])


def cron(cmd: list[str], *, day: int = 3, hour: int = 6) -> str:
    """A crontab line (UTC machine clock assumed): minute hour day-of-month month day-of-week command."""
    line = f"{shlex.join(cmd)} >> {shlex.quote(cmd[cmd.index('--out') + 1] + '/cron.log')} 2>&1"
    # cron turns an unescaped % into a newline
    return f"# finops-nb monthly report (previous month), day {day} at {hour:02d}:00\n" \
           f"0 {hour} {day} * * {line.replace('%', chr(92) + '%')}\n"


def systemd(cmd: list[str], *, day: int = 3, hour: int = 6) -> dict[str, str]:
    """``finops-nb-report.service`` (oneshot) and ``finops-nb-report.timer`` (monthly, persistent)."""
    service = f"""[Unit]
Description=finops-nb monthly FinOps report (previous month)
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
ExecStart={shlex.join(cmd).replace("%", "%%")}
Environment=FINOPS_CACHE_DIR=%S/finops-nb
StateDirectory=finops-nb
"""
    timer = f"""[Unit]
Description=Run the finops-nb monthly report on day {day} of each month

[Timer]
OnCalendar=*-*-{day:02d} {hour:02d}:00:00 UTC
Persistent=true
Unit=finops-nb-report.service

[Install]
WantedBy=timers.target
"""
    return {"finops-nb-report.service": service, "finops-nb-report.timer": timer}


def airflow(cmd: list[str], *, day: int = 3, hour: int = 6) -> str:
    """An Airflow DAG running the CLI with a BashOperator; retries cover transient failures."""
    return f'''"""finops-nb monthly report: the previous full month, on day {day} of each month at {hour:02d}:00 UTC."""

from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG(
    dag_id="finops_nb_monthly_report",
    schedule="0 {hour} {day} * *",
    start_date=datetime(2025, 1, 1),
    catchup=False,
    default_args={{"retries": 2, "retry_delay": timedelta(minutes=15)}},
    tags=["finops"],
) as dag:
    BashOperator(
        task_id="report",
        bash_command={shlex.join(cmd)!r},
    )
'''


def render(kind: str, **kw) -> dict[str, str]:
    """File name -> content for ``kind`` (cron, systemd or airflow)."""
    cmd = report_command(**kw)
    if kind == "cron":
        return {"finops-nb.cron": cron(cmd)}
    if kind == "systemd":
        return systemd(cmd)
    if kind == "airflow":
        return {"finops_nb_monthly_report.py": airflow(cmd)}
    raise ValueError(f"schedule kind must be one of {', '.join(KINDS)}")
