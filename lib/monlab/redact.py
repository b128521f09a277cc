"""Scrubbing of secrets by name and by value, for logs, errors, cassettes, notebooks and stored payloads."""

from __future__ import annotations

import functools
import logging
import re
from typing import Any, Iterable
from urllib.parse import quote, quote_plus

MASK = "[REDACTED]"

# Parameter, header and field names whose value is always a secret, whatever it is.
SECRET_NAMES = (
    "api_key",
    "apikey",
    "appid",
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "private_token",
    "client_secret",
    "password",
    "passwd",
    "secret",
    "authorization",
    "proxy-authorization",
    "cookie",
    "cookies",
    "set-cookie",
    "x-api-key",
    "x-auth-token",
    # UptimeRobot echoes the rejected parameter's value here, which is the key for a bad key.
    "passed_value",
)

_NAME_ALTERNATION = "|".join(re.escape(name) for name in SECRET_NAMES)
# name=value in query strings and form bodies, name: value in headers, "name": "value" in JSON.
_NAME_PATTERNS = (
    re.compile(rf"(?i)\b({_NAME_ALTERNATION})=([^&\s\"'<>]+)"),
    re.compile(rf"(?i)([\"']?(?:{_NAME_ALTERNATION})[\"']?\s*:\s*[\"'])([^\"']+)([\"'])"),
    # A credential after an auth scheme word; it must contain a digit, so prose such as
    # "the token read-only" is left alone.
    re.compile(r"(?i)\b(bearer|token|basic)\s+(?=[A-Za-z._~+/=-]*\d)([A-Za-z0-9._~+/=-]{8,})"),
    # The password part of a database URL.
    re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s]+:)([^@\s]+)(@)"),
    # Header lines as HTTP libraries print them: the whole value up to the end of the line.
    re.compile(r"(?i)\b(cookie|set-cookie|authorization|proxy-authorization|x-api-key|x-auth-token)(\s*:\s*)([^\r\n]+)"),
)

# Every pattern above but the database URL one needs one of these words, so most text skips them.
_NAME_TRIGGER = re.compile(rf"(?i)(?:{_NAME_ALTERNATION}|bearer|basic)")

# The values of every secret this process was configured with; filled by register_secrets().
_registered: set[str] = set()


def register_secrets(values: Iterable[str]) -> None:
    """Add configured secret values that every redaction in this process must scrub."""
    for value in values:
        if value and len(value) >= 4:
            _registered.add(value)


def registered_secrets() -> frozenset[str]:
    return frozenset(_registered)


@functools.lru_cache(maxsize=64)
def _value_forms(values: tuple[str, ...]) -> list[str]:
    forms: set[str] = set()
    for value in values:
        if not value:
            continue
        forms.update({value, quote(value, safe=""), quote_plus(value)})
    # Longer forms first, so that a secret that contains another is masked whole.
    return sorted(forms, key=len, reverse=True)


def scrub_text(text: str, extra_secrets: Iterable[str] = ()) -> str:
    """Mask every known secret value (also URL-encoded) and every value of a secret-named field."""
    if not text:
        return text
    for form in _value_forms(tuple(sorted({*_registered, *extra_secrets}))):
        if form in text:
            text = text.replace(form, MASK)
    if _NAME_TRIGGER.search(text):
        text = _NAME_PATTERNS[0].sub(lambda m: f"{m.group(1)}={MASK}", text)
        text = _NAME_PATTERNS[1].sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", text)
        text = _NAME_PATTERNS[2].sub(lambda m: f"{m.group(1)} {MASK}", text)
        text = _NAME_PATTERNS[4].sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    if "://" in text and "@" in text:
        text = _NAME_PATTERNS[3].sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", text)
    return text


# Name parts that mark a field as secret wherever they appear, such as UptimeRobot's http_password.
SECRET_NAME_PARTS = ("password", "passwd", "secret")


@functools.lru_cache(maxsize=4096)
def is_secret_name(name: str) -> bool:
    lowered = name.strip().lower()
    if lowered in SECRET_NAMES or lowered.endswith(("_token", "-token")):
        return True
    return any(part in lowered for part in SECRET_NAME_PARTS)


def scrub_data(value: Any, extra_secrets: Iterable[str] = ()) -> Any:
    """Return a copy of a JSON-like value with secret-named fields masked and secret values scrubbed."""
    extra = tuple(extra_secrets)
    if isinstance(value, dict):
        return {
            key: MASK if isinstance(key, str) and is_secret_name(key) else scrub_data(item, extra)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [scrub_data(item, extra) for item in value]
    if isinstance(value, str):
        return scrub_text(value, extra)
    return value


class RedactingFilter(logging.Filter):
    """A logging filter that renders each record and scrubs its message and traceback text."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = scrub_text(message)
        record.args = None
        if record.exc_info:
            formatter = logging.Formatter()
            record.exc_text = scrub_text(formatter.formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = scrub_text(record.stack_info)
        return True


def scrub_notebook(notebook: Any) -> Any:
    """Scrub an nbformat notebook in place: cell sources, stream text, rich outputs and tracebacks."""
    for cell in notebook.cells:
        cell.source = scrub_text(cell.source)
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = scrub_text(output["text"])
            for mime, value in list(output.get("data", {}).items()):
                if isinstance(value, str):
                    output["data"][mime] = scrub_text(value)
                elif isinstance(value, (dict, list)):
                    output["data"][mime] = scrub_data(value)
            if "traceback" in output:
                output["traceback"] = [scrub_text(line) for line in output["traceback"]]
            if "evalue" in output:
                output["evalue"] = scrub_text(output["evalue"])
    papermill = notebook.metadata.get("papermill", {})
    if "parameters" in papermill:
        papermill["parameters"] = scrub_data(papermill["parameters"])
    return notebook
