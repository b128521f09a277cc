"""Write the previous/next navigation cell at the end of every numbered notebook.

The cell carries the tag "navigation" in its metadata, so a rerun replaces it instead of adding a
second one, and nothing else in the notebook changes. Titles come from each notebook's first
heading. With --check, nothing is written and the exit status is 1 when a cell is missing or stale
(tests/test_navigation.py runs that check).

    python scripts/update_navigation.py [--check] [NOTEBOOK_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAV_TAG = "navigation"
# A fixed cell id keeps the file identical from one run to the next.
NAV_CELL_ID = "navigation"


def numbered_notebooks(directory: Path) -> list[Path]:
    return sorted(directory.glob("[0-9][0-9]_*.ipynb"))


def notebook_title(notebook) -> str:
    """Return the text of the notebook's first level-one heading."""
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    raise ValueError("the notebook has no level-one heading (a markdown line starting with '# ') to title it")


def navigation_text(previous: tuple[str, str] | None, following: tuple[str, str] | None) -> str:
    """Return the navigation markdown. Previous and following are (title, file name), or None at an end."""
    parts = []
    if previous:
        parts.append(f"**Previous**: [{previous[0]}]({previous[1]})")
    if following:
        parts.append(f"**Next**: [{following[0]}]({following[1]})")
    else:
        parts.append("This is the last notebook of the series.")
    return "---\n\n" + " · ".join(parts)


def is_navigation(cell) -> bool:
    return NAV_TAG in cell.get("metadata", {}).get("tags", [])


def expected_navigation(paths: list[Path]) -> dict[Path, str]:
    """Return the navigation text every notebook should end with."""
    links = [(notebook_title(nbformat.read(path, as_version=4)), path.name) for path in paths]
    return {
        path: navigation_text(links[index - 1] if index > 0 else None, links[index + 1] if index + 1 < len(links) else None)
        for index, path in enumerate(paths)
    }


def has_current_navigation(notebook, text: str) -> bool:
    navigation = [cell for cell in notebook.cells if is_navigation(cell)]
    return (
        len(navigation) == 1
        and notebook.cells[-1] is navigation[0]
        and navigation[0].cell_type == "markdown"
        and navigation[0].source == text
    )


def set_navigation(notebook, text: str) -> None:
    """Remove every navigation cell and append one with the given text."""
    notebook.cells = [cell for cell in notebook.cells if not is_navigation(cell)]
    cell = nbformat.v4.new_markdown_cell(text, metadata={"tags": [NAV_TAG]})
    cell.id = NAV_CELL_ID
    notebook.cells.append(cell)


def stale_notebooks(directory: Path) -> list[Path]:
    """Return the notebooks whose navigation cell is missing, duplicated, misplaced or out of date."""
    expected = expected_navigation(numbered_notebooks(directory))
    return [path for path, text in expected.items() if not has_current_navigation(nbformat.read(path, as_version=4), text)]


def update(directory: Path) -> list[Path]:
    """Rewrite the navigation cell of every stale notebook and return the notebooks written."""
    expected = expected_navigation(numbered_notebooks(directory))
    written = []
    for path, text in expected.items():
        notebook = nbformat.read(path, as_version=4)
        if has_current_navigation(notebook, text):
            continue
        set_navigation(notebook, text)
        nbformat.write(notebook, path)
        written.append(path)
    return written


def main(argv: list[str]) -> int:
    check = "--check" in argv
    folders = [argument for argument in argv if argument != "--check"]
    directory = Path(folders[0]) if folders else NOTEBOOKS
    if check:
        stale = stale_notebooks(directory)
        for path in stale:
            print(f"{path.name}: the navigation cell is missing or stale. Run scripts/update_navigation.py to rewrite it.", file=sys.stderr)
        return 1 if stale else 0
    for path in update(directory):
        print(f"updated {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
