"""pyproject.toml is the source of truth; environment.yml must list the same packages and bounds."""

from __future__ import annotations

import re
import tomllib

import yaml
from conftest import ROOT

CONDA_NAMES = {"python-isal": "isal"}  # conda-forge name -> PyPI name


def _split(req: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*(.*?)\s*$", req.split("#")[0])
    name = m.group(1).lower()
    return CONDA_NAMES.get(name, name), m.group(3).replace(" ", "")


def test_environment_yml_mirrors_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = dict(_split(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda, pip = {}, []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip += dep["pip"]
        else:
            name, spec = _split(dep)
            conda[name] = spec
    python = conda.pop("python")
    conda.pop("pip")
    assert python == project["requires-python"]
    assert conda == wanted
    assert "-e ." in pip
