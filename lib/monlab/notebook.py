"""Small helpers that keep the notebooks' code cells short: start a run, show rows as a table."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from monlab import pipeline
from monlab.config import load_settings
from monlab.runlog import configure_logging


def start_run(
    *,
    mode: str = "",
    sources: str = "",
    as_of: str = "",
    db_url: str = "",
    output_dir: str = "",
    scenario: str = "",
    run_id: str = "",
) -> pipeline.Run:
    """Open a run from notebook parameters; empty strings mean the default or the environment."""
    settings = load_settings(
        mode=mode or None,
        sources=sources or None,
        as_of=as_of or None,
        db_url=db_url or None,
        output_dir=output_dir or None,
        scenario=scenario or None,
    )
    run = pipeline.open_run(settings, run_id or None)
    configure_logging(settings.logs_dir, run.as_of, run.run_id)
    return run


def table(rows: Iterable[Any], columns: list[str] | None = None) -> pd.DataFrame:
    """Return rows (dicts or dataclasses) as a DataFrame without an index, for display."""
    records = [row if isinstance(row, dict) else vars(row) for row in rows]
    frame = pd.DataFrame(records, columns=columns)
    return frame


def scratch_dir(prefix: str) -> Path:
    """Create a temporary folder for a lesson's own cache and logs, removed when the kernel exits.

    Lessons that break things on purpose work here, so the shared cache, the report and the daily
    log never see their rows. The folder is made under MONLAB_SCRATCH_DIR when set, so that a test
    run can remove everything even when it kills its kernels.
    """
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=os.environ.get("MONLAB_SCRATCH_DIR") or None))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path
