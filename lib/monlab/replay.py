"""vcrpy wiring: cassette paths, the three modes, scrubbing hooks and the frozen clock of replay.

A cassette lives at cassettes/<source>/<scenario>.yaml. Its `metadata` block records where its
content came from, the base URL of each service it talked to, and when it was recorded. Replay
sends its requests to those base URLs and freezes the run's clock at the latest recording time.
"""

from __future__ import annotations

import contextlib
import json
import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qsl

import vcr
import yaml
from vcr.errors import CannotOverwriteExistingCassetteException

from monlab.config import Settings, parse_as_of
from monlab.errors import ConfigError, SourceError
from monlab.redact import MASK, SECRET_NAMES, is_secret_name, scrub_text

# vcrpy logs whole responses at INFO before its scrubbing hooks run, so it must stay quieter.
logging.getLogger("vcr").setLevel(logging.WARNING)

_HEADER_FILTERS = [(name, MASK) for name in ("authorization", "cookie", "x-api-key")]
_QUERY_FILTERS = [(name, MASK) for name in ("appid", "api_key", "apikey", "token", "access_token")]
_POST_FILTERS = [(name, MASK) for name in ("api_key", "apikey", "token")]


class ReplayMiss(SourceError):
    """A request that the cassette has no recording for."""


def cassette_path(settings: Settings, source: str) -> Path:
    return settings.cassette_dir / source / f"{settings.scenario_for(source)}.yaml"


def read_metadata(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read cassette {path}: {exc}") from None
    metadata = document.get("metadata") or {}
    if not isinstance(metadata, dict) or "recorded_at" not in metadata or "base_urls" not in metadata:
        raise ConfigError(f"cassette {path} has no metadata with recorded_at and base_urls")
    return metadata


def require_cassette(settings: Settings, source: str) -> Path:
    path = cassette_path(settings, source)
    if not path.is_file():
        available = sorted(p.stem for p in path.parent.glob("*.yaml")) if path.parent.is_dir() else []
        hint = f"; scenarios for {source}: {', '.join(available)}" if available else ""
        raise ConfigError(f"no cassette for source {source!r} and scenario {settings.scenario_for(source)!r} at {path}{hint}")
    return path


def replay_as_of(settings: Settings) -> datetime:
    """Return the frozen clock of a replay run: the latest recording time of the selected cassettes."""
    times = [parse_as_of(read_metadata(require_cassette(settings, source))["recorded_at"]) for source in settings.sources]
    return max(times)


def run_as_of(settings: Settings) -> datetime:
    """Return the run's as-of time: the as_of setting, else the cassettes' time in replay, else now."""
    if settings.as_of is not None:
        return settings.as_of
    if settings.mode == "replay":
        return replay_as_of(settings)
    return datetime.now(timezone.utc).replace(microsecond=0)


def request_clock(settings: Settings, source: str, run_as_of: datetime) -> datetime:
    """Return the time a source's requests are built from (for windows such as created>=DATE).

    In replay this is the source's own recording time, whatever the run's as-of time, because the
    requests must match the ones recorded.
    """
    if settings.mode == "replay":
        return parse_as_of(read_metadata(require_cassette(settings, source))["recorded_at"])
    return run_as_of


def base_urls(settings: Settings, source: str) -> dict[str, str]:
    """Return the base URL of every service: from the cassette in replay, from settings otherwise."""
    if settings.mode == "replay":
        return dict(read_metadata(require_cassette(settings, source))["base_urls"])
    return dict(settings.base_urls)


def _normalized_body(body: Any) -> Any:
    if body is None or body == b"" or body == "":
        return None
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    try:
        return json.dumps(json.loads(text), sort_keys=True)
    except ValueError:
        pass
    pairs = parse_qsl(text, keep_blank_values=True)
    if pairs:
        return sorted((name, value) for name, value in pairs if not is_secret_name(name))
    return text


def match_body_without_secrets(first, second) -> None:
    """vcrpy matcher: bodies equal as JSON or form data once secret-named fields are dropped."""
    assert _normalized_body(first.body) == _normalized_body(second.body)


def _scrub_request(secrets: list[str]):
    def scrub(request):
        request.uri = scrub_text(request.uri, secrets)
        if request.body:
            text = request.body.decode("utf-8", "replace") if isinstance(request.body, bytes) else request.body
            request.body = scrub_text(text, secrets).encode("utf-8")
        return request

    return scrub


def _scrub_response(secrets: list[str]):
    def scrub(response):
        headers = response.get("headers") or {}
        for name in list(headers):
            if name.lower() in SECRET_NAMES:
                headers[name] = [MASK]
        body = response.get("body") or {}
        raw = body.get("string")
        if isinstance(raw, bytes):
            body["string"] = scrub_text(raw.decode("utf-8", "replace"), secrets).encode("utf-8")
        elif isinstance(raw, str):
            body["string"] = scrub_text(raw, secrets)
        return response

    return scrub


def build_vcr(settings: Settings, record_mode: str) -> vcr.VCR:
    secrets = settings.secret_values()
    recorder = vcr.VCR(
        record_mode=record_mode,
        match_on=["method", "scheme", "host", "port", "path", "query", "body_without_secrets"],
        filter_headers=_HEADER_FILTERS,
        filter_query_parameters=_QUERY_FILTERS,
        filter_post_data_parameters=_POST_FILTERS,
        before_record_request=_scrub_request(secrets),
        before_record_response=_scrub_response(secrets),
        decode_compressed_response=True,
    )
    recorder.register_matcher("body_without_secrets", match_body_without_secrets)
    return recorder


def _write_metadata(path: Path, metadata: dict[str, Any]) -> None:
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    document["metadata"] = metadata
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")


@contextlib.contextmanager
def cassette(settings: Settings, source: str, services: tuple[str, ...], as_of: datetime) -> Iterator[None]:
    """Run the block against the source's cassette (replay, record) or the live API (live)."""
    if settings.mode == "live":
        yield
        return

    if settings.mode == "replay":
        path = require_cassette(settings, source)
        try:
            with build_vcr(settings, "none").use_cassette(str(path), allow_playback_repeats=False):
                yield
        except CannotOverwriteExistingCassetteException as exc:
            first_line = scrub_text(str(exc).splitlines()[0] if str(exc) else "no match")
            raise ReplayMiss(source, f"a request is not recorded in {path.name}: {first_line}") from None
        return

    path = cassette_path(settings, source)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    with build_vcr(settings, "all").use_cassette(str(path)):
        yield
    if path.exists():
        _write_metadata(
            path,
            {
                "source": source,
                "scenario": settings.scenario_for(source),
                "provenance": "recorded by `monlab run --mode record`, scrubbed of credentials",
                "recorded_at": as_of.isoformat().replace("+00:00", "Z"),
                "base_urls": {service: settings.base_urls[service] for service in services},
            },
        )
