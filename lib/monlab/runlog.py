"""Logging for the CLI and the notebooks: logs/monitoring_run_YYYYMMDD.log, redacted.

The date in the file name is the UTC date of the run's as-of time, so a replay run logs under the
day its cassettes were recorded.
"""

from __future__ import annotations

import logging
import sys
import time
from datetime import datetime
from pathlib import Path

from monlab.redact import RedactingFilter

FORMAT = "%(asctime)s %(levelname)s %(name)s [run %(run_id)s] %(message)s"


class _RunIdFilter(logging.Filter):
    def __init__(self, run_id: str):
        super().__init__()
        self.run_id = run_id

    def filter(self, record: logging.LogRecord) -> bool:
        record.run_id = self.run_id
        return True


def log_path(logs_dir: Path, as_of: datetime) -> Path:
    return logs_dir / f"monitoring_run_{as_of:%Y%m%d}.log"


def configure_logging(logs_dir: Path, as_of: datetime, run_id: str, *, console: bool = False) -> Path:
    """Send monlab's records to the run's log file (appending), and to stderr when console is set."""
    logs_dir.mkdir(parents=True, exist_ok=True)
    path = log_path(logs_dir, as_of)
    logger = logging.getLogger("monlab")
    for handler in list(logger.handlers):
        if getattr(handler, "_monlab", False):
            logger.removeHandler(handler)
            handler.close()

    handlers: list[logging.Handler] = [logging.FileHandler(path, encoding="utf-8")]
    if console:
        handlers.append(logging.StreamHandler(sys.stderr))
    formatter = logging.Formatter(FORMAT)
    formatter.converter = time.gmtime
    for handler in handlers:
        handler._monlab = True
        handler.addFilter(_RunIdFilter(run_id))
        handler.addFilter(RedactingFilter())
        handler.setFormatter(formatter)
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return path
