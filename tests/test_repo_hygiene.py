"""Committed files carry no credentials, and notebooks carry no outputs but the headline cells nbval checks."""

from __future__ import annotations

import re
import subprocess

from conftest import ROOT

SECRET_PATTERNS = [
    re.compile(r"AKIA[0-9A-Z]{16}"),  # AWS access key id
    re.compile(r"aws_secret_access_key\s*[=:]\s*\S{20,}", re.I),
    re.compile(r"-----BEGIN (RSA |EC |OPENSSH )?PRIVATE KEY-----"),
]


def tracked_files():
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [ROOT / p for p in out.splitlines() if (ROOT / p).is_file()]


def test_no_credentials_in_committed_files():
    hits = []
    for path in tracked_files():
        if path.suffix in {".parquet", ".gz", ".png"}:
            continue
        text = path.read_text(errors="replace")
        hits += [f"{path.relative_to(ROOT)}: {p.pattern}" for p in SECRET_PATTERNS if p.search(text)]
    assert not hits, hits


def test_the_secret_scan_can_fail():
    assert SECRET_PATTERNS[0].search("key = AKIA" + "ABCDEFGHIJKLMNOP")
