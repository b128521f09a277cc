"""Shared fixtures: isolated settings, and the rule for real components (PostgreSQL, Prometheus, Chromium).

A test that needs a real component it cannot find skips with a loud reason on a developer machine,
and fails under CI (CI=true), where .ci/run installs every component.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from monlab.config import find_project_dir, load_settings

PROJECT_DIR = find_project_dir()
_missing_components: list[str] = []


def require_component(component: str, reason: str) -> None:
    """Skip (fail under CI) because a real component is not available here."""
    message = f"{component} is not available: {reason}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI must provide it (.ci/run installs and starts it)")
    _missing_components.append(message)
    pytest.skip(f"SKIPPED FOR A MISSING COMPONENT: {message}")


def pytest_terminal_summary(terminalreporter):
    if _missing_components:
        terminalreporter.section("real components missing: these tests did not run", sep="!")
        for line in sorted(set(_missing_components)):
            terminalreporter.write_line(line)


@pytest.fixture
def make_settings(tmp_path: Path):
    """Return a settings factory with the cache, output and logs under tmp_path and no .env."""

    def factory(**overrides):
        environ = {
            "MONLAB_DB_URL": f"sqlite:///{tmp_path / 'cache.sqlite'}",
            "MONLAB_OUTPUT_DIR": str(tmp_path / "output"),
            "MONLAB_LOGS_DIR": str(tmp_path / "logs"),
            # A developer's .env must not leak real credentials into tests.
            "MONLAB_ENV_FILE": "",
            **overrides.pop("environ", {}),
        }
        return load_settings(environ=environ, project_dir=PROJECT_DIR, **overrides)

    return factory
