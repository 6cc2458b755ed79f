"""Notebook 20 run by papermill on the worked bill: its kernel reads CloudWatch from moto's server over HTTP."""

from __future__ import annotations

import json

import papermill as pm
from conftest import ROOT
from test_rightsizing_recommend import put_worked_metrics, write_bill


def headline(nb_path) -> dict:
    nb = json.loads(nb_path.read_text())
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            if "application/vnd.finops-nb.headline+json" in out.get("data", {}):
                return out["data"]["application/vnd.finops-nb.headline+json"]
    raise AssertionError("no headline")


def test_notebook_gives_the_worked_values_from_moto(tmp_path, aws_env):
    iid = "i-0123456789abcdef9"
    put_worked_metrics(iid)
    bill = write_bill(tmp_path / "bill.csv", 0.384, iid=iid)
    out = tmp_path / "20.ipynb"
    pm.execute_notebook(str(ROOT / "notebooks" / "20-rightsizing.ipynb"), str(out), kernel_name="python3",
                        cwd=str(ROOT / "notebooks"), progress_bar=False,
                        parameters={"data": str(bill), "month": "2024-09", "lookback_days": 14, "percentile": 99,
                                    "headroom": 20.0, "graviton": True})
    h = headline(out)
    # m5.2xlarge -> m5.xlarge: (0.384 - 0.192) x 730 = 140.16 a month
    assert (h["instances_with_metrics"], h["over_provisioned"], h["savings_monthly"]) == (1, 1, {"USD": 140.16})
    text = out.read_text()
    assert "m6g.xlarge" in text and "167.90" in text  # the Graviton option in the table
    assert "<svg" in text or "image/svg+xml" in text  # the utilization chart was drawn
