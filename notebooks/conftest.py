"""nbval runs the notebooks in file order against one fresh cache, as scripts/refresh_notebooks.py
did when it stored their outputs. The kernels inherit these variables from this process."""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

_workdir = Path(tempfile.mkdtemp(prefix="monlab-nbval-"))
atexit.register(shutil.rmtree, _workdir, ignore_errors=True)
os.environ["MONLAB_DB_URL"] = f"sqlite:///{_workdir / 'cache.sqlite'}"
os.environ["MONLAB_OUTPUT_DIR"] = str(_workdir / "output")
os.environ["MONLAB_LOGS_DIR"] = str(_workdir / "logs")
os.environ["MONLAB_SCRATCH_DIR"] = str(_workdir)
os.environ.setdefault("MONLAB_MODE", "replay")
