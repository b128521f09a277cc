"""The monlab command line: `monlab run` executes the pipeline notebooks with papermill, and
`monlab preflight` prints the preflight checklist.

Errors a user can fix (an unknown source, an unreadable database URL, a missing cassette) end the
command with one line on stderr and exit status 2; a notebook that fails ends it with status 1.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from monlab import preflight, replay
from monlab.cache import Cache, safe_url
from monlab.config import MODES, SOURCE_NAMES, Settings, load_settings
from monlab.errors import ConfigError, MonlabError
from monlab.pipeline import new_run_id
from monlab.redact import register_secrets, scrub_notebook, scrub_text
from monlab.runlog import configure_logging
from monlab.sources import load_source

log = logging.getLogger("monlab.cli")

PIPELINE_NOTEBOOKS = (
    "01_read_only_policy.ipynb",
    "02_primary_ingestion.ipynb",
    "03_secondary_source.ipynb",
    "06_daily_report.ipynb",
)
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mode", choices=MODES, help="replay (default: cassettes, no network), record or live")
    parser.add_argument("--sources", help=f"comma-separated sources, from: {', '.join(SOURCE_NAMES)} (default: uptimerobot,openweather)")
    parser.add_argument("--as-of", dest="as_of", help="the run's clock as ISO 8601 UTC, e.g. 2026-12-01T06:00:00Z (default: the cassettes' recording time in replay, now otherwise)")
    parser.add_argument("--db-url", dest="db_url", help="SQLAlchemy URL of the cache (default: MONLAB_DB_URL, else data/monlab_replay.sqlite in replay and data/monlab.sqlite in live and record)")
    parser.add_argument("--output-dir", dest="output_dir", help="where the report and executed notebooks go (default: output/)")
    parser.add_argument("--scenario", help="cassette scenario to replay or record: one name for every source, or source:name pairs such as uptimerobot:rate_limit (default: normal)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="monlab", description="Read-only monitoring ingestion and the daily ops report.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the daily pipeline: preflight, ingest every source, write the report")
    _add_run_options(run)
    run.add_argument("--cell-timeout", dest="cell_timeout", type=int, help="seconds one notebook cell may run before the run fails (default: 300)")
    worksheet = commands.add_parser("worksheet", help="write docs/field_mapping.md from the contract data/field_mapping.yml")
    worksheet.add_argument("--output", help="where to write the Markdown worksheet (default: docs/field_mapping.md)")
    worksheet.add_argument("--check", action="store_true", help="write nothing; exit 1 when the file differs from the contract")
    check = commands.add_parser(
        "preflight", help="run the preflight checklist and print it; exit 0 when it passes, 1 when a check fails",
    )
    check.add_argument("--mode", choices=MODES, help="replay (default: read the cassettes), record or live (one probe request per source)")
    check.add_argument("--sources", help=f"comma-separated sources, from: {', '.join(SOURCE_NAMES)} (default: uptimerobot,openweather)")
    check.add_argument("--scenario", help="cassette scenario to read in replay (default: normal)")
    return parser


def run_worksheet(args: argparse.Namespace) -> int:
    from monlab.contract import load_contract
    from monlab.worksheet import render_worksheet, write_worksheet

    settings = load_settings()
    contract = load_contract(settings.contract_path)
    path = Path(args.output) if args.output else settings.project_dir / "docs" / "field_mapping.md"
    if args.check:
        current = path.read_text(encoding="utf-8") if path.is_file() else ""
        if current != render_worksheet(contract):
            print(f"monlab: {path} is out of date with {settings.contract_path}; run `monlab worksheet`", file=sys.stderr)
            return EXIT_FAILED
        print(f"monlab: {path} matches the contract")
        return EXIT_OK
    try:
        changed = write_worksheet(contract, path)
    except OSError as exc:
        raise ConfigError(f"cannot write the worksheet to {path}: {exc.strerror}; give --output a writable file path") from None
    print(f"monlab: {'wrote' if changed else 'unchanged'} {path}")
    return EXIT_OK


def run_preflight(settings: Settings) -> int:
    """Print the checklist as a table; a failed check makes the exit status 1."""
    checks = preflight.run_checklist(settings)
    print(scrub_text(preflight.format_checklist(checks)))
    if preflight.passed(checks):
        print("monlab: preflight passed")
        return EXIT_OK
    print(f"monlab: preflight failed, a run would write nothing to the cache: {scrub_text(preflight.blocking_reasons(checks))}", file=sys.stderr)
    return EXIT_FAILED


def _settings_from(args: argparse.Namespace) -> Settings:
    if args.sources is not None and not args.sources.strip(" ,"):
        raise ConfigError(f"--sources is empty; give one or more of: {', '.join(SOURCE_NAMES)}")
    settings = load_settings(
        mode=args.mode, sources=args.sources, as_of=getattr(args, "as_of", None), db_url=getattr(args, "db_url", None),
        output_dir=getattr(args, "output_dir", None), scenario=args.scenario,
    )
    if getattr(args, "cell_timeout", None):
        if args.cell_timeout <= 0:
            raise MonlabError(f"invalid --cell-timeout {args.cell_timeout}: expected a positive number of seconds")
        settings = settings.with_changes(cell_timeout_s=args.cell_timeout)
    return settings


def _check_before_running(settings: Settings) -> None:
    """Fail fast, before any kernel starts, on what a user can fix."""
    for source in settings.sources:
        load_source(source)
    cache = Cache(settings.db_url, settings.db_schema)
    try:
        cache.create()
    finally:
        cache.dispose()
    if settings.output_dir.exists() and not settings.output_dir.is_dir():
        raise ConfigError(f"the output directory {settings.output_dir} is a file, not a folder; give --output-dir a folder")
    try:
        settings.output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot create the output directory {settings.output_dir}: {exc.strerror}; give --output-dir a writable folder"
        ) from None


def _parameters(settings: Settings, run_id: str, as_of: str) -> dict[str, str]:
    """Return the papermill parameters: never a credential, and no database password."""
    has_password = safe_url(settings.db_url) != settings.db_url
    return {
        "mode": settings.mode,
        "sources": ",".join(settings.sources),
        "as_of": as_of,
        # A URL with a password travels to the kernels through MONLAB_DB_URL instead.
        "db_url": "" if has_password else settings.db_url,
        "output_dir": str(settings.output_dir),
        "scenario": settings.scenario,
        "run_id": run_id,
    }


def _scrub_notebook(path: Path) -> None:
    import nbformat

    nbformat.write(scrub_notebook(nbformat.read(path, as_version=4)), path)


def _run_warnings(settings: Settings, run_id: str) -> list[str]:
    """Return one line per source that did not end ok in this run, and for a blocked preflight."""
    from sqlalchemy import select

    from monlab.cache import run_log

    cache = Cache(settings.db_url, settings.db_schema)
    try:
        rows = cache.read(
            select(run_log.c.source_system, run_log.c.step, run_log.c.status, run_log.c.error)
            .where(run_log.c.run_id == run_id, run_log.c.step.in_(("preflight", "fetch")), run_log.c.status != "ok")
            .order_by(run_log.c.id)
        )
    finally:
        cache.dispose()
    return [
        scrub_text(f"{row['source_system']} {row['step']} {row['status']}: {row['error'] or 'no detail'}")
        for row in rows
    ]


def run_pipeline(settings: Settings) -> int:
    import papermill
    from papermill.exceptions import PapermillExecutionError

    _check_before_running(settings)
    as_of = replay.run_as_of(settings)
    run_id = new_run_id()
    log_file = configure_logging(settings.logs_dir, as_of, run_id, console=False)
    run_dir = settings.output_dir / "runs" / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    parameters = _parameters(settings, run_id, as_of.isoformat())
    os.environ["MONLAB_DB_URL"] = settings.db_url
    os.environ["MONLAB_LOGS_DIR"] = str(settings.logs_dir)
    log.info("run %s started: mode %s, sources %s, as of %s", run_id, settings.mode, ",".join(settings.sources), as_of.isoformat())
    print(f"monlab: run {run_id}, mode {settings.mode}, sources {','.join(settings.sources)}, as of {as_of.isoformat()}")

    notebooks_dir = settings.project_dir / "notebooks"
    for name in PIPELINE_NOTEBOOKS:
        output = run_dir / name
        try:
            papermill.execute_notebook(
                str(notebooks_dir / name), str(output), parameters=parameters, kernel_name="python3",
                execution_timeout=settings.cell_timeout_s, progress_bar=False, log_output=False, cwd=str(notebooks_dir),
                kernel_manager_class="monlab.kernels.IpcKernelManager",
            )
        except PapermillExecutionError as exc:
            _scrub_notebook(output)
            message = scrub_text(f"{exc.ename}: {exc.evalue}".splitlines()[0])
            log.error("notebook %s failed: %s", name, message)
            print(f"monlab: error: notebook {name} failed: {message} (executed copy: {output})", file=sys.stderr)
            return EXIT_FAILED
        _scrub_notebook(output)
        print(f"monlab: {name} done")

    log.info("run %s finished", run_id)
    for warning in _run_warnings(settings, run_id):
        print(f"monlab: warning: {warning}", file=sys.stderr)
    print(f"monlab: report written to {settings.output_dir / 'monitoring_daily.xlsx'} and {settings.output_dir / 'monitoring_daily.html'}")
    print(f"monlab: log {log_file}; executed notebooks in {run_dir}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "worksheet":
            return run_worksheet(args)
        settings = _settings_from(args)
        register_secrets(settings.secret_values())
        if args.command == "run":
            return run_pipeline(settings)
        if args.command == "preflight":
            return run_preflight(settings)
    except MonlabError as exc:
        print(f"monlab: error: {scrub_text(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"monlab: error: {scrub_text(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
