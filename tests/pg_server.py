"""Fixtures for a real PostgreSQL: the `cache` fixture runs each cache test on SQLite and on PostgreSQL.

With MONLAB_TEST_PG_URL set, tests use that server. Otherwise they use the local Debian cluster:
started with pg_ctlcluster when it is down (this needs root), with a test role and database made
through `runuser -u postgres -- psql`, reached over TCP on 127.0.0.1 with a password. Each test gets
a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time

import pytest
from sqlalchemy import create_engine, text

from components import require_component
from monlab.cache import Cache

TEST_ROLE = "monlab_test"
TEST_DATABASE = "monlab_test"


def _run(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def _cluster() -> tuple[str, str, int, str] | None:
    """Return (version, name, port, status) of the first local cluster, or None when there is none."""
    if not shutil.which("pg_lsclusters"):
        return None
    listing = _run(["pg_lsclusters", "--no-header"])
    for line in listing.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 4:
            return parts[0], parts[1], int(parts[2]), parts[3]
    return None


def _as_postgres(sql: str) -> subprocess.CompletedProcess:
    if os.geteuid() == 0 and shutil.which("runuser"):
        command = ["runuser", "-u", "postgres", "--", "psql", "-v", "ON_ERROR_STOP=1", "-Atc", sql]
    else:
        command = ["sudo", "-n", "-u", "postgres", "psql", "-v", "ON_ERROR_STOP=1", "-Atc", sql]
    return _run(command)


def _start_local_server() -> str:
    """Start the local cluster if needed, make the test role and database, and return their URL."""
    cluster = _cluster()
    if cluster is None:
        require_component("postgresql", "no local cluster (pg_lsclusters) and MONLAB_TEST_PG_URL is not set")
    version, name, port, status = cluster
    if status != "online":
        if os.geteuid() != 0:
            require_component("postgresql", f"cluster {version}/{name} is {status} and only root can start it here")
        started = _run(["pg_ctlcluster", version, name, "start"])
        if started.returncode != 0:
            require_component("postgresql", f"pg_ctlcluster {version} {name} start failed: {started.stderr.strip()}")
    for _ in range(50):
        if _run(["pg_isready", "-h", "127.0.0.1", "-p", str(port)]).returncode == 0:
            break
        time.sleep(0.2)

    # A role per session, so two test sessions at once never change each other's password.
    role, password = f"{TEST_ROLE}_{secrets.token_hex(4)}", secrets.token_hex(16)
    exists = _as_postgres(f"SELECT 1 FROM pg_database WHERE datname = '{TEST_DATABASE}'")
    if exists.stdout.strip() != "1":
        created = _as_postgres(f"CREATE DATABASE {TEST_DATABASE}")
        if created.returncode != 0 and "already exists" not in created.stderr:
            require_component("postgresql", f"cannot create the test database: {created.stderr.strip()}")
    made = _as_postgres(
        f"CREATE ROLE {role} LOGIN PASSWORD '{password}'; GRANT CONNECT, CREATE ON DATABASE {TEST_DATABASE} TO {role}"
    )
    if made.returncode != 0:
        require_component("postgresql", f"cannot create the test role as user postgres: {made.stderr.strip()}")
    return f"postgresql+psycopg://{role}:{password}@127.0.0.1:{port}/{TEST_DATABASE}", role


def _drop_role(role: str) -> None:
    _run(["runuser", "-u", "postgres", "--", "psql", "-d", TEST_DATABASE, "-Atc", f"DROP OWNED BY {role}; DROP ROLE IF EXISTS {role}"])


@pytest.fixture(scope="session")
def pg_url():
    """Return the URL of a PostgreSQL database where tests may create and drop schemas."""
    url, role = os.environ.get("MONLAB_TEST_PG_URL"), None
    if not url:
        url, role = _start_local_server()
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure to connect means the component is missing
        require_component("postgresql", f"cannot connect: {type(exc).__name__}")
    finally:
        engine.dispose()
    yield url
    if role:
        _drop_role(role)


@pytest.fixture
def pg_schema(pg_url: str):
    """Return a fresh schema name on the test database, dropped with its contents afterwards."""
    schema = f"test_{secrets.token_hex(6)}"
    yield schema
    engine = create_engine(pg_url)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def cache_url(request, tmp_path) -> tuple[str, str | None]:
    """Return (url, schema) of an empty cache on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cache.sqlite'}", None
    return request.getfixturevalue("pg_url"), request.getfixturevalue("pg_schema")


@pytest.fixture
def cache(cache_url):
    """Return an empty, created Cache on SQLite and on PostgreSQL."""
    url, schema = cache_url
    opened = Cache(url, schema)
    opened.create()
    yield opened
    opened.dispose()
