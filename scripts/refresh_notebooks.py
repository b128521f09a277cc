"""Execute every notebook in file order against one fresh cache and store its outputs in place.

nbval (`make test`) later re-runs them the same way and compares the outputs, so run this after
changing a notebook, the cassettes or anything the notebooks print: `make notebooks`.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def main(names: list[str]) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="monlab-refresh-"))
    os.environ.update(
        MONLAB_DB_URL=f"sqlite:///{workdir / 'cache.sqlite'}",
        MONLAB_OUTPUT_DIR=str(workdir / "output"),
        MONLAB_LOGS_DIR=str(workdir / "logs"),
        MONLAB_MODE="replay",
        MONLAB_SCRATCH_DIR=str(workdir),
    )
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        if names and path.name not in names:
            continue
        notebook = nbformat.read(path, as_version=4)
        NotebookClient(notebook, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
        # Execution timestamps change on every refresh and carry no information, so they are not stored.
        for cell in notebook.cells:
            cell.metadata.pop("execution", None)
        nbformat.write(notebook, path)
        print(f"refreshed {path.name}")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
