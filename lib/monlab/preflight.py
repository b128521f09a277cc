"""The preflight checklist: what must hold before a run may write to the cache.

Each check is pass, warn or fail with a reason; any fail blocks every cache write of the run.
"""

from __future__ import annotations

from dataclasses import dataclass

from monlab.config import CREDENTIAL_VARS, Settings
from monlab.errors import ConfigError, MonlabError
from monlab.policy import Policy, load_policy
from monlab.replay import require_cassette

PASS, WARN, FAIL = "pass", "warn", "fail"


@dataclass(frozen=True)
class Check:
    """One line of the checklist."""

    source: str
    check: str
    result: str
    reason: str


def _policy_checks(settings: Settings) -> tuple[Policy | None, list[Check]]:
    try:
        policy = load_policy(settings.policy_path)
    except MonlabError as exc:
        return None, [Check("all", "policy valid", FAIL, str(exc))]
    return policy, [Check("all", "policy valid", PASS, f"{settings.policy_path.name} loaded")]


def _credential_check(settings: Settings, source: str) -> Check:
    variable = CREDENTIAL_VARS.get(source)
    if variable is None:
        return Check(source, "credential present", PASS, "this source needs no credential")
    if settings.mode == "replay":
        return Check(source, "credential present", PASS, "not needed in replay mode")
    if settings.credential(source):
        return Check(source, "credential present", PASS, f"{variable} is set")
    return Check(source, "credential present", FAIL, f"{variable} is not set; put it in the environment or .env")


def run_checklist(settings: Settings) -> list[Check]:
    """Run every check for the enabled sources and return the checklist."""
    policy, checks = _policy_checks(settings)
    for source in settings.sources:
        checks.append(_credential_check(settings, source))
        if policy is not None:
            try:
                section = policy.for_source(source)
                checks.append(Check(source, "policy section", PASS, f"{len(section.endpoints)} allowlisted endpoints"))
            except ConfigError as exc:
                checks.append(Check(source, "policy section", FAIL, str(exc)))
        if settings.mode == "replay":
            try:
                path = require_cassette(settings, source)
                checks.append(Check(source, "cassette present", PASS, f"{path.parent.name}/{path.name}"))
            except ConfigError as exc:
                checks.append(Check(source, "cassette present", FAIL, str(exc)))
    return checks


def passed(checks: list[Check]) -> bool:
    return all(check.result != FAIL for check in checks)


def blocking_reasons(checks: list[Check]) -> str:
    return "; ".join(f"{check.source}: {check.check}: {check.reason}" for check in checks if check.result == FAIL)
