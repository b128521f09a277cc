"""Source modules: one per API. Each reads its endpoints and emits records on named streams.

A source module has NAME, ROLE ("monitoring" or "performance": which pipeline notebook ingests it),
SERVICES (the base URLs it talks to) and collect(context), a generator of StreamBatch and
SourceNote objects. A stream that could not be read completely is emitted with complete=False,
or not at all, so that the cache never marks rows inactive on the strength of a partial read.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass, field
from datetime import datetime
from types import ModuleType
from typing import Any

from monlab.config import Settings
from monlab.contract import Contract
from monlab.errors import ConfigError
from monlab.fetch import GuardedClient

# Source name -> module under monlab.sources. A name in config.SOURCE_NAMES but not here is
# known but not implemented yet.
MODULES = {
    "uptimerobot": "monlab.sources.uptimerobot",
    "openweather": "monlab.sources.openweather",
    "prometheus": "monlab.sources.prometheus",
    "github": "monlab.sources.github",
}


@dataclass
class StreamBatch:
    """The records a source read for one stream; complete=False when some pages or items failed."""

    stream: str
    records: list[Any]
    complete: bool = True


@dataclass
class SourceNote:
    """A per-source status worth showing in the report, such as an optional endpoint not subscribed."""

    status: str
    message: str


@dataclass
class SourceContext:
    """The settings, clients, clock and options a source module reads in one run."""

    settings: Settings
    clients: dict[str, GuardedClient]
    as_of: datetime
    options: dict[str, Any] = field(default_factory=dict)
    # The run's cache, for sources that keep state between runs (GitHub's ETags); None in unit use.
    cache: Any = None

    def client(self, service: str) -> GuardedClient:
        return self.clients[service]

    def credential(self, source: str) -> str:
        return self.settings.credential(source).reveal()


def load_source(name: str) -> ModuleType:
    """Import the module of a source, or raise ConfigError if it is not implemented."""
    if name not in MODULES:
        raise ConfigError(f"source {name!r} is not implemented yet; available: {', '.join(MODULES)}")
    return importlib.import_module(MODULES[name])


def active_contract(contract: Contract, settings: Settings) -> Contract:
    """Return the contract without the mappings of streams that the configured sources do not emit.

    A source module may define idle_streams(options): the streams of a variant not configured, such
    as UptimeRobot's other API version, whose feeds would otherwise always look stale.
    """
    idle: set[str] = set()
    for name in settings.sources:
        if name not in MODULES:
            continue
        idle_streams = getattr(load_source(name), "idle_streams", None)
        if idle_streams is None:
            continue
        try:
            idle.update(idle_streams(settings.options(name)))
        except ConfigError:
            # The source's own fetch fails with the reason, and all its feeds stay listed meanwhile.
            continue
    if not idle:
        return contract
    return dataclasses.replace(
        contract,
        mappings=tuple(mapping for mapping in contract.mappings if mapping.stream not in idle),
        known_fields={stream: paths for stream, paths in contract.known_fields.items() if stream not in idle},
    )
