"""The FinOps Foundation's focus-validator on our FOCUS 1.2 export (docs/focus-conformance.md).

Each run uses scripts/focus_validator.sh, which makes .venv-focus-validator (Python 3.12) the first time;
a machine without Python 3.12 fails here with the script's message. Every failing rule must be listed in
docs/focus-conformance.md with its reason, so a new failure fails this test until it is fixed or explained.
"""

from __future__ import annotations

import re

import pytest
from conftest import ROOT, case

from finops_nb import load_charges
from finops_nb.conformance import VALIDATOR_VERSION, check_export

pytestmark = pytest.mark.conformance

DOC = ROOT / "docs" / "focus-conformance.md"


def documented_rule_ids() -> set[str]:
    """The rule ids that start a row of the doc's failing-rule tables (``| `BilledCost-C-005-C` | ... |``)."""
    return set(re.findall(r"^\| `([A-Za-z]+-[CD]-\d{3}-[A-Z])` \|", DOC.read_text(encoding="utf-8"), re.M))


@pytest.mark.parametrize("data", ["sample", "sp-negation"])
def test_focus_validator_runs_and_every_failure_is_documented(data, tmp_path):
    path = "sample" if data == "sample" else case(data)[0]
    result = check_export(load_charges(path), tmp_path)

    print(f"focus-validator {VALIDATOR_VERSION} on {data}: {result.total} rules, {result.passed} passed, "
          f"{result.failed} failed, {result.skipped} skipped (report: {result.report})")
    assert result.total == result.passed + result.failed + result.skipped > 0
    assert result.passed > 0
    assert len(result.failures) == result.failed
    assert VALIDATOR_VERSION in DOC.read_text(encoding="utf-8")
    undocumented = {f.rule_id: f.message for f in result.failures if f.rule_id not in documented_rule_ids()}
    assert not undocumented, (
        f"focus-validator failures not in {DOC.relative_to(ROOT)} (fix them, or add each with its reason): "
        f"{undocumented}")
