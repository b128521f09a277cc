"""The generated previous/next cells at the end of every notebook must match the series."""

from __future__ import annotations

import importlib.util
import shutil

import nbformat
import pytest

from components import PROJECT_DIR

NOTEBOOKS = PROJECT_DIR / "notebooks"
_spec = importlib.util.spec_from_file_location("update_navigation", PROJECT_DIR / "scripts" / "update_navigation.py")
navigation = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(navigation)


@pytest.fixture
def copies(tmp_path):
    for path in navigation.numbered_notebooks(NOTEBOOKS):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def last_cell(path):
    return nbformat.read(path, as_version=4).cells[-1]


def test_navigation_cells_are_current():
    stale = [path.name for path in navigation.stale_notebooks(NOTEBOOKS)]
    assert stale == [], "stale navigation cells: run scripts/update_navigation.py"


def test_series_has_ten_notebooks():
    names = [path.name[:2] for path in navigation.numbered_notebooks(NOTEBOOKS)]
    assert names == [f"{number:02d}" for number in range(10)]


def test_first_and_last_links():
    paths = navigation.numbered_notebooks(NOTEBOOKS)
    first = last_cell(paths[0]).source
    last = last_cell(paths[-1]).source
    assert "**Previous**" not in first
    assert f"({paths[1].name})" in first
    assert f"({paths[-2].name})" in last
    assert "**Next**" not in last


def test_check_detects_edited_cell(copies):
    path = copies / "03_secondary_source.ipynb"
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[-1].source += " (edited by hand)"
    nbformat.write(notebook, path)
    assert navigation.main(["--check", str(copies)]) == 1
    assert navigation.main([str(copies)]) == 0
    assert navigation.main(["--check", str(copies)]) == 0


def test_check_detects_misplaced_cell(copies):
    path = copies / "05_field_mapping_worksheet.ipynb"
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_markdown_cell("A note added after the navigation."))
    nbformat.write(notebook, path)
    assert navigation.stale_notebooks(copies) == [path]


def test_update_is_idempotent(copies):
    path = copies / "07_break_fix_drills.ipynb"
    notebook = nbformat.read(path, as_version=4)
    notebook.cells = [cell for cell in notebook.cells if not navigation.is_navigation(cell)]
    nbformat.write(notebook, path)
    assert navigation.update(copies) == [path]
    first = path.read_bytes()
    assert navigation.update(copies) == []
    assert path.read_bytes() == first


def test_update_keeps_one_navigation_cell(copies):
    path = copies / "01_read_only_policy.ipynb"
    notebook = nbformat.read(path, as_version=4)
    duplicate = nbformat.v4.new_markdown_cell("old links", metadata={"tags": [navigation.NAV_TAG]})
    notebook.cells.insert(1, duplicate)
    nbformat.write(notebook, path)
    navigation.update(copies)
    cells = nbformat.read(path, as_version=4).cells
    assert sum(navigation.is_navigation(cell) for cell in cells) == 1
    assert navigation.is_navigation(cells[-1])
