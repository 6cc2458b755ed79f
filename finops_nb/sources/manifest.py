"""CUR manifests: load only the files of the current report, never a superseded assembly.

Legacy CUR writes ``<report>/<yyyymmdd-yyyymmdd>/<report>-Manifest.json`` whose ``reportKeys`` name the
current files; each regeneration of a month adds a new ``<assemblyId>/`` folder beside the old ones.
CUR 2.0 (Data Exports) writes ``metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json`` whose
``dataFiles`` name the current files. Loading every file of such a folder would count a month twice.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from finops_nb.errors import DataError
from finops_nb.sources.base import Note


def _tail(key: str) -> tuple[str, ...]:
    parts = key.replace("s3://", "").strip("/").split("/")
    return tuple(parts[-2:])


def apply_manifests(files: list[Path], root: Path) -> tuple[list[Path], list[Note]]:
    """Drop data files that a manifest of their folder does not list; error on listed files that are missing."""
    root = Path(root)
    if root.is_file():
        return files, []
    manifests = sorted(p for p in root.rglob("*.json") if p.name.lower().endswith("manifest.json"))
    skipped: set[Path] = set()
    notes: list[Note] = []
    for m in manifests:
        try:
            doc = json.loads(m.read_text())
        except (OSError, ValueError) as exc:
            raise DataError(f"manifest is not valid JSON: {exc}", file=str(m)) from exc
        keys = doc.get("reportKeys") or doc.get("dataFiles") or []
        if not keys:
            continue
        by_tail = {_tail(str(f)): f for f in files}
        listed = []
        for key in keys:
            f = by_tail.get(_tail(key))
            if f is None:
                raise DataError(f"the manifest lists {key} but that file is not here (incomplete download?); "
                                "nothing was loaded", file=str(m), hint="download the whole billing period again")
            listed.append(f)
        governed = m.parent if "reportKeys" in doc else Path(os.path.commonpath([str(f.parent) for f in listed]))
        stale = [f for f in files if governed in f.parents and f not in listed]
        skipped.update(stale)
        if stale:
            notes.append(Note("info", "superseded-files", f"{len(stale)} file(s) under {governed} are not in the "
                              "current manifest (older report versions) and were not loaded", file=str(m)))
    return [f for f in files if f not in skipped], notes
