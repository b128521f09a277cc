"""Shared fixtures: isolated settings. The rule for real components is in components.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from components import PROJECT_DIR, report_missing_components
from monlab.config import load_settings


def pytest_terminal_summary(terminalreporter):
    report_missing_components(terminalreporter)


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


# The `cache` fixture, on SQLite and on a real PostgreSQL, for every cache test.
from pg_server import cache, cache_url, pg_schema, pg_url  # noqa: E402,F401
