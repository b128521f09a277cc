"""monlab: read-only ingestion from monitoring APIs into SQL cache tables, and a daily report."""

import logging

from monlab.errors import (
    AuthError,
    CacheError,
    ConfigError,
    ContractError,
    MonlabError,
    ReadOnlyViolation,
    ResponseFormatError,
    SourceDeferred,
    SourceUnavailable,
)

__version__ = "0.1.0"

# The library never configures handlers: the CLI and the notebooks do.
logging.getLogger("monlab").addHandler(logging.NullHandler())

__all__ = [
    "AuthError",
    "CacheError",
    "ConfigError",
    "ContractError",
    "MonlabError",
    "ReadOnlyViolation",
    "ResponseFormatError",
    "SourceDeferred",
    "SourceUnavailable",
    "__version__",
]
