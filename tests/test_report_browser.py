"""The HTML report as a browser shows it: headless Chromium renders it and we read the DOM back."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from components import require_component
from monlab import pipeline, report

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    require_component("chromium", "install Debian's chromium package (apt-get install chromium)")
    return ""


@pytest.fixture
def html_report(make_settings, tmp_path):
    run = pipeline.open_run(make_settings())
    pipeline.ingest(run, "monitoring")
    pipeline.ingest(run, "performance")
    return report.write_report(run)["html"]


def render(browser: str, path, tmp_path, *extra: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "chromium-profile"
    return subprocess.run(
        [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, path.as_uri()],
        capture_output=True, text=True, timeout=120,
    )


def test_browser_renders_four_sections(html_report, tmp_path):
    browser = chromium_path()
    result = render(browser, html_report, tmp_path, "--dump-dom")
    assert result.returncode == 0, result.stderr[-1000:]
    dom = result.stdout
    for title in report.SECTIONS:
        assert f"<h2>{title}</h2>" in dom
    assert dom.count("<table>") >= 4
    assert "Marketing site" in dom


def test_browser_screenshot_is_written(html_report, tmp_path):
    browser = chromium_path()
    screenshot = tmp_path / "report.png"
    result = render(browser, html_report, tmp_path, f"--screenshot={screenshot}", "--window-size=1280,2000")
    assert result.returncode == 0, result.stderr[-1000:]
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
