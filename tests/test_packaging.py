"""Pins live in pyproject.toml; environment.yml must list exactly the same ones."""

from __future__ import annotations

import tomllib

import yaml

from monlab.config import find_project_dir

ROOT = find_project_dir()


def pyproject_pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements.extend(extra)
    return dict(requirement.split("==", 1) for requirement in requirements)


def environment_pins() -> dict[str, str]:
    document = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pip_section = next(item["pip"] for item in document["dependencies"] if isinstance(item, dict) and "pip" in item)
    return dict(line.split("==", 1) for line in pip_section if "==" in line)


def test_every_dependency_is_pinned():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"]) + [r for extra in project["optional-dependencies"].values() for r in extra]
    unpinned = [requirement for requirement in requirements if "==" not in requirement]
    assert unpinned == []


def test_environment_matches_pyproject():
    assert environment_pins() == pyproject_pins()


def test_environment_python_matches():
    document = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "python=3.11" in document["dependencies"]
    assert project["requires-python"].startswith(">=3.11")
