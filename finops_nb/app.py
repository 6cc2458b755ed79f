"""``finops-nb app``: serve ``notebooks/apps/`` (and nothing else) with Voila on 127.0.0.1.

Settings live in ``notebooks/apps/voila.json`` (Voila reads it from its working directory): sources
stripped, no tracebacks shown to visitors, idle kernels culled after 10 minutes, security headers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from finops_nb import config


def apps_dir() -> Path:
    return config.notebooks_dir() / "apps"


def voila_command(port: int, *, open_browser: bool = False) -> list[str]:
    """The Voila command line; run it with ``cwd=apps_dir()`` so that only that folder is served."""
    return [sys.executable, "-m", "voila", ".", f"--port={port}", "--Voila.ip=127.0.0.1",
            "--no-browser" if not open_browser else "--Voila.open_browser=True",
            "--VoilaConfiguration.strip_sources=True"]


def serve(port: int = 8866, *, open_browser: bool = False) -> int:
    """Run Voila in the foreground until interrupted; returns its exit code."""
    folder = apps_dir()
    print(f"serving {folder} at http://127.0.0.1:{port}/ (Ctrl-C to stop)")
    try:
        return subprocess.call(voila_command(port, open_browser=open_browser), cwd=folder)
    except KeyboardInterrupt:
        return 0


def stop(proc: subprocess.Popen) -> None:
    """Stop a Voila started with ``start_new_session=True``: SIGTERM its process group (Voila then shuts its
    kernels down), SIGKILL whatever is left, kernels included (they run in sessions of their own)."""
    import psutil

    try:
        stragglers = psutil.Process(proc.pid).children(recursive=True)  # kernels run in their own sessions
    except psutil.Error:
        stragglers = []
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)
    _, alive = psutil.wait_procs(stragglers, timeout=5)
    for child in alive:
        try:
            child.kill()
        except psutil.Error:
            pass
