"""pyproject.toml and environment.yml must pin the same packages at the same versions."""

from __future__ import annotations

import tomllib

import yaml

from analysis.config import ROOT


def _pins(specs):
    return dict(s.split("==") for s in specs if "==" in s)


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = _pins(project["dependencies"] + project["optional-dependencies"]["dev"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert _pins(pip_section) == wanted
    assert "python=3.11" in env["dependencies"]


def test_every_dependency_is_pinned():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    loose = [s for s in project["dependencies"] if "==" not in s]
    assert loose == []
