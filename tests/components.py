"""The rule for real components (PostgreSQL, Prometheus, Chromium) that some tests need.

A test that cannot find one skips with a loud reason on a developer machine, and fails under CI
(CI=true), where .ci/run installs every component. Tests import this module as `components`;
`conftest` is ambiguous because notebooks/ has a conftest.py too.
"""

from __future__ import annotations

import os

import pytest

from monlab.config import find_project_dir

PROJECT_DIR = find_project_dir()
_missing_components: list[str] = []


def require_component(component: str, reason: str) -> None:
    """Skip (fail under CI) because a real component is not available here."""
    message = f"{component} is not available: {reason}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI must provide it (.ci/run installs and starts it)")
    _missing_components.append(message)
    pytest.skip(f"SKIPPED FOR A MISSING COMPONENT: {message}")


def report_missing_components(terminalreporter) -> None:
    if _missing_components:
        terminalreporter.section("real components missing: these tests did not run", sep="!")
        for line in sorted(set(_missing_components)):
            terminalreporter.write_line(line)
