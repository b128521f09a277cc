"""Settings for one run, from defaults, data/config.yml, a .env file, environment variables and parameters.

Credentials come only from the environment or a .env file, never from parameters, so that they
cannot end up in a papermill notebook or on a command line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml
from dotenv import dotenv_values

from monlab.errors import ConfigError

SOURCE_NAMES = ("uptimerobot", "github", "openweather", "prometheus")
DEFAULT_SOURCES = ("uptimerobot", "openweather")
MODES = ("replay", "record", "live")

# Environment variable of each source's credential; Prometheus and Alertmanager need none.
CREDENTIAL_VARS = {
    "uptimerobot": "UPTIMEROBOT_API_KEY",
    "github": "GITHUB_TOKEN",
    "openweather": "OPENWEATHER_API_KEY",
}

# Base URL of each API: (environment variable, live default). The Prometheus defaults are the
# loopback ports of the lab stack in lab/, not a server of anyone else's.
BASE_URL_VARS = {
    "uptimerobot": ("UPTIMEROBOT_BASE_URL", "https://api.uptimerobot.com"),
    "github": ("GITHUB_API_URL", "https://api.github.com"),
    "openweather": ("OPENWEATHER_BASE_URL", "https://api.openweathermap.org"),
    "prometheus": ("PROMETHEUS_URL", "http://127.0.0.1:19090"),
    "alertmanager": ("ALERTMANAGER_URL", "http://127.0.0.1:19093"),
}


class Secret:
    """A credential whose repr and str never show its value."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__


def find_project_dir() -> Path:
    """Return the checkout that contains lib/monlab, or MONLAB_HOME when set."""
    home = os.environ.get("MONLAB_HOME")
    if home:
        return Path(home).resolve()
    return Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Settings:
    """Everything one run needs; build it with load_settings()."""

    project_dir: Path
    mode: str
    sources: tuple[str, ...]
    as_of: datetime | None
    db_url: str
    db_schema: str | None
    output_dir: Path
    logs_dir: Path
    cassette_dir: Path
    data_dir: Path
    scenario: str
    base_urls: Mapping[str, str]
    credentials: Mapping[str, Secret] = field(repr=False)
    source_options: Mapping[str, Any] = field(default_factory=dict)
    cell_timeout_s: int = 300

    @property
    def policy_path(self) -> Path:
        return self.data_dir / "api_policy.yml"

    @property
    def contract_path(self) -> Path:
        return self.data_dir / "field_mapping.yml"

    def scenario_for(self, source: str) -> str:
        """Return the cassette scenario of one source.

        The scenario setting is either one name for every source ("bad_key") or source:name pairs
        ("uptimerobot:rate_limit,openweather:normal"), where unlisted sources use "normal".
        """
        if ":" not in self.scenario:
            return self.scenario
        pairs = dict(part.split(":", 1) for part in self.scenario.split(",") if ":" in part)
        return pairs.get(source, "normal").strip() or "normal"

    def credential(self, source: str) -> Secret:
        return self.credentials.get(source, Secret(""))

    def secret_values(self) -> list[str]:
        """Return every configured credential value, for the redactor."""
        return [secret.reveal() for secret in self.credentials.values() if secret]

    def options(self, source: str) -> dict[str, Any]:
        return dict(self.source_options.get(source) or {})

    def with_changes(self, **changes: Any) -> "Settings":
        return replace(self, **changes)


def parse_sources(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """Parse a comma-separated list or an iterable of source names, keeping their order."""
    if value is None or value == "":
        return DEFAULT_SOURCES
    names = value.split(",") if isinstance(value, str) else list(value)
    cleaned = [name.strip().lower() for name in names if name.strip()]
    unknown = [name for name in cleaned if name not in SOURCE_NAMES]
    if unknown:
        raise ConfigError(
            f"unknown source {unknown[0]!r}; valid sources are: {', '.join(SOURCE_NAMES)}"
        )
    if not cleaned:
        raise ConfigError(f"no source given; valid sources are: {', '.join(SOURCE_NAMES)}")
    return tuple(dict.fromkeys(cleaned))


def parse_as_of(value: str | datetime | date | None) -> datetime | None:
    """Parse an ISO 8601 time into an aware UTC datetime; a time without an offset is taken as UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    else:
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ConfigError(
                f"invalid as-of time {value!r} (--as-of, MONLAB_AS_OF or the as_of parameter): "
                "expected an ISO 8601 time such as 2026-12-01T06:00:00Z"
            ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _read_environment(project_dir: Path, environ: Mapping[str, str] | None) -> dict[str, str]:
    """Merge the .env file (MONLAB_ENV_FILE, default .env in the checkout; "" for none) under the environment."""
    base = os.environ if environ is None else environ
    merged: dict[str, str] = {}
    env_file = base.get("MONLAB_ENV_FILE", str(project_dir / ".env"))
    if env_file and Path(env_file).is_file():
        merged.update({key: value for key, value in dotenv_values(env_file).items() if value is not None})
    merged.update(base)
    return merged


def _read_config_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}; set MONLAB_CONFIG to an existing file")
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    if not isinstance(loaded, dict):
        raise ConfigError(f"config file {path} must contain a mapping at the top level")
    return loaded


def _check_scenario(value: str) -> str:
    """Return a scenario setting whose source:name pairs all name known sources."""
    if ":" not in value:
        return value
    for part in value.split(","):
        source, _, name = part.partition(":")
        if source.strip() not in SOURCE_NAMES:
            raise ConfigError(f"unknown source {source.strip()!r} in scenario {value!r}; valid sources are: {', '.join(SOURCE_NAMES)}")
        if not name.strip():
            raise ConfigError(f"scenario {value!r} names no cassette for {source.strip()!r}; write source:name, e.g. uptimerobot:rate_limit")
    return value


def _choose_mode(value: str | None) -> str:
    mode = (value or "replay").strip().lower()
    if mode not in MODES:
        raise ConfigError(f"unknown mode {value!r}; valid modes are: {', '.join(MODES)}")
    return mode


def load_settings(
    *,
    mode: str | None = None,
    sources: str | Iterable[str] | None = None,
    as_of: str | datetime | None = None,
    db_url: str | None = None,
    output_dir: str | Path | None = None,
    scenario: str | None = None,
    environ: Mapping[str, str] | None = None,
    project_dir: Path | None = None,
) -> Settings:
    """Build the settings of one run; explicit arguments win over MONLAB_* variables and files."""
    project_dir = (project_dir or find_project_dir()).resolve()
    env = _read_environment(project_dir, environ)
    data_dir = Path(env.get("MONLAB_DATA_DIR") or project_dir / "data")
    config = _read_config_file(Path(env.get("MONLAB_CONFIG") or data_dir / "config.yml"))

    chosen_mode = _choose_mode(mode or env.get("MONLAB_MODE"))
    # Replay data is made up, so by default it gets its own file and never mixes with live rows.
    default_file = "monlab_replay.sqlite" if chosen_mode == "replay" else "monlab.sqlite"
    resolved_db_url = db_url or env.get("MONLAB_DB_URL") or f"sqlite:///{data_dir / default_file}"
    schema = env.get("MONLAB_DB_SCHEMA")
    if schema is None and resolved_db_url.startswith("postgresql"):
        schema = "cache"

    base_urls = {
        source: env.get(variable) or default for source, (variable, default) in BASE_URL_VARS.items()
    }
    credentials = {
        source: Secret(env.get(variable, "").strip()) for source, variable in CREDENTIAL_VARS.items()
    }
    timeout = env.get("MONLAB_CELL_TIMEOUT_S", "300")
    if not timeout.isdigit() or int(timeout) <= 0:
        raise ConfigError(f"invalid MONLAB_CELL_TIMEOUT_S {timeout!r}: expected a positive number of seconds")

    return Settings(
        project_dir=project_dir,
        mode=chosen_mode,
        sources=parse_sources(sources if sources not in (None, "") else env.get("MONLAB_SOURCES")),
        as_of=parse_as_of(as_of if as_of not in (None, "") else env.get("MONLAB_AS_OF")),
        db_url=resolved_db_url,
        db_schema=schema or None,
        output_dir=Path(output_dir or env.get("MONLAB_OUTPUT_DIR") or project_dir / "output"),
        logs_dir=Path(env.get("MONLAB_LOGS_DIR") or project_dir / "logs"),
        cassette_dir=Path(env.get("MONLAB_CASSETTE_DIR") or project_dir / "cassettes"),
        data_dir=data_dir,
        scenario=_check_scenario((scenario or env.get("MONLAB_SCENARIO") or "normal").strip()),
        base_urls=base_urls,
        credentials=credentials,
        source_options=config.get("sources") or {},
        cell_timeout_s=int(timeout),
    )
