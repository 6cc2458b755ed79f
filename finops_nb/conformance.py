"""FOCUS 1.2 conformance of our export, as judged by the FinOps Foundation's focus-validator.

``check_export(charges)`` writes ``charges`` with :func:`finops_nb.export.to_focus_parquet`, runs
``scripts/focus_validator.sh`` on it (focus-validator 2.2.1 in its own Python 3.12 venv,
``.venv-focus-validator``, made on first use; FOCUS 1.2 rules, offline) and parses the validator's
console report into counts and failing rules::

    bash scripts/focus_validator.sh EXPORT.parquet REPORT.txt
    # runs, from the validator's site-packages folder:
    # focus-validator --data-file EXPORT.parquet --validate-version 1.2 --block-download --output-type console

The validator reports every rule as passed, failed or skipped (skipped: not applicable without
``--applicability-criteria``, dynamic rules it cannot check, or a parent whose children were all skipped).
Known failures and their reasons are in ``docs/focus-conformance.md``.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from finops_nb.export import to_focus_parquet
from finops_nb.sources import Charges

VALIDATOR_VERSION = "2.2.1"
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "focus_validator.sh"

_SUMMARY = re.compile(r"^Total: (\d+) \| Pass: (\d+) \| Fail: (\d+) \| Skipped: (\d+)$", re.M)
_RULE = re.compile(r"^\S+ ([\w-]+): (PASS|FAIL|SKIPPED)\b", re.M)
_FAILURE = re.compile(r"^- ([\w-]+): violations=([^;]*); (.*)\n  MustSatisfy: (.*)$", re.M)


@dataclass
class Failure:
    """One failed rule: its id (e.g. ``BilledCost-C-005-C``), the validator's message and the rule's text."""

    rule_id: str
    violations: str
    message: str
    must_satisfy: str


@dataclass
class Conformance:
    """The validator's counts and failures for one file (``report``: its console report)."""

    total: int
    passed: int
    failed: int
    skipped: int
    failures: list[Failure] = field(default_factory=list)
    report: Path | None = None

    @property
    def failing_rule_ids(self) -> list[str]:
        return sorted(f.rule_id for f in self.failures)


def parse_report(text: str) -> Conformance:
    """Counts and failures from focus-validator's console report; ``ValueError`` if it does not add up."""
    summary = _SUMMARY.search(text)
    if not summary:
        raise ValueError("no 'Total: N | Pass: N | Fail: N | Skipped: N' line in the focus-validator report")
    total, passed, failed, skipped = map(int, summary.groups())
    statuses = dict(_RULE.findall(text))
    failures = [Failure(*m) for m in _FAILURE.findall(text)]
    counted = [sum(s == k for s in statuses.values()) for k in ("PASS", "FAIL", "SKIPPED")]
    failed_ids = {r for r, s in statuses.items() if s == "FAIL"}
    if (len(statuses), counted) != (total, [passed, failed, skipped]) or {f.rule_id for f in failures} != failed_ids:
        raise ValueError("the focus-validator report's rule lines do not match its summary (report format changed?)")
    return Conformance(total, passed, failed, skipped, failures)


def check_export(charges: Charges, workdir: str | Path | None = None, *extra_args: str) -> Conformance:
    """Export ``charges`` as FOCUS 1.2 Parquet into ``workdir`` and run focus-validator on it.

    ``extra_args`` go to the validator (e.g. ``"--applicability-criteria", "ALL"``). Raises ``RuntimeError``
    when the validator could not run (no Python 3.12, install failed, validator crashed); rule failures are
    results, not errors.
    """
    workdir = Path(workdir or tempfile.mkdtemp(prefix="focus-conformance-"))
    parquet = to_focus_parquet(charges, workdir / "focus-1.2.parquet")
    report = workdir / "focus-validator.txt"
    proc = subprocess.run(["bash", str(SCRIPT), str(parquet), str(report), *extra_args],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"focus-validator could not run (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    result = parse_report(report.read_text(encoding="utf-8"))
    result.report = report
    return result
