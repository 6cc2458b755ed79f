"""Analysis subcommands of ``finops-nb``, one module each (``savings.py``, ``rightsizing.py``, ...).

Each module defines ``add_parser(sub)``: it adds its subparser to ``sub`` and sets ``func`` to a function
``(args) -> int`` (the exit code). ``finops_nb.cli`` registers every module of this package, sorted by name.
"""

from __future__ import annotations

import importlib
import pkgutil


def register_all(sub) -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        importlib.import_module(f"{__name__}.{info.name}").add_parser(sub)
