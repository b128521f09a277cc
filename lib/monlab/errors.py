"""The monlab exception family.

    MonlabError
    ├── ConfigError (ValueError)          a setting, policy or config file is invalid
    │   └── PolicyError                   data/api_policy.yml is invalid
    ├── ContractError (ValueError)        data/field_mapping.yml is invalid
    ├── ReadOnlyViolation (PermissionError)  a request outside the allowlist, stopped before sending
    ├── SourceError                       a source could not be read in this run
    │   ├── AuthError                     the source rejected the credential
    │   ├── SourceUnavailable (ConnectionError)  network errors, timeouts or 5xx after all retries
    │   ├── SourceDeferred                the source asked for a wait longer than the policy allows
    │   └── ResponseFormatError (ValueError)  a body that is not what the endpoint documents
    └── CacheError                        the cache database could not be opened or written

Messages name the source and the endpoint template, never a URL with its query string, and never
a credential: every message passes through the redactor before it is logged or stored.
"""


class MonlabError(Exception):
    """Base class of every error monlab raises on purpose."""


class ConfigError(MonlabError, ValueError):
    """A setting, parameter or configuration file is invalid."""


class PolicyError(ConfigError):
    """The read-only policy file is invalid."""


class ContractError(MonlabError, ValueError):
    """The data contract (field mapping) file is invalid."""


class ReadOnlyViolation(MonlabError, PermissionError):
    """A request outside the source's allowlist; it was stopped before any socket opened."""

    def __init__(self, source: str, method: str, target: str, reason: str):
        self.source = source
        self.method = method
        self.target = target
        super().__init__(f"{source}: refused {method} {target}: {reason}")


class SourceError(MonlabError):
    """A source could not be read in this run; the other sources go on."""

    status = "failed"

    def __init__(self, source: str, message: str, *, endpoint: str | None = None, http_status: int | None = None):
        self.source = source
        self.endpoint = endpoint
        self.http_status = http_status
        # The last response's headers, lower-cased and without secret ones, when there was a response.
        self.response_headers: dict[str, str] = {}
        where = f"{source} {endpoint}" if endpoint else source
        super().__init__(f"{where}: {message}")


class AuthError(SourceError):
    """The source rejected the credential (missing, invalid or without the needed scope)."""


class SourceUnavailable(SourceError, ConnectionError):
    """Connection errors, timeouts or server errors persisted through every retry."""


class SourceDeferred(SourceError):
    """The source asked for a wait longer than the policy allows, so this run skips it."""

    status = "deferred"

    def __init__(self, source: str, message: str, *, wait_s: float, endpoint: str | None = None, http_status: int | None = None):
        self.wait_s = wait_s
        super().__init__(source, message, endpoint=endpoint, http_status=http_status)


class ResponseFormatError(SourceError, ValueError):
    """The response body is not in the format the endpoint documents."""


class CacheError(MonlabError):
    """The cache database could not be opened or written."""
