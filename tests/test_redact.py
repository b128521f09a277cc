"""Secrets never leave the process: a planted fake key must appear in no log line, exception,
notebook, cassette, stored payload or report."""

from __future__ import annotations

import json
import logging
import sqlite3
from urllib.parse import quote, quote_plus

import nbformat
import openpyxl
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from monlab import pipeline
from monlab.cli import _parameters
from monlab.drills import FlakyServer, Reply
from monlab.redact import MASK, is_secret_name, register_secrets, scrub_data, scrub_notebook, scrub_text
from monlab.report import write_report
from monlab.runlog import configure_logging
from monlab.sources.uptimerobot import PAGE_LIMIT

PLANTED = "u1234567-PLANTEDFAKESECRET"
# A value with characters that URL encoding changes, to check the encoded forms too.
PLANTED_ODD = "gh/PLANTED+FAKE=TOKEN&1"
ENCODED_FORMS = (PLANTED, quote(PLANTED_ODD, safe=""), quote_plus(PLANTED_ODD), PLANTED_ODD)


@pytest.fixture(autouse=True)
def planted():
    register_secrets([PLANTED, PLANTED_ODD])


def assert_clean(text: str, where: str) -> None:
    for form in ENCODED_FORMS:
        assert form not in text, f"{form!r} found in {where}"


# -- the scrubbing rules -----------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    f"key {PLANTED} here",
    f"next=https://x/y?access_token={quote(PLANTED_ODD, safe='')}",
    f"form body a=1&b={quote_plus(PLANTED_ODD)}",
])
def test_value_scrubbed_in_every_encoding(text):
    assert_clean(scrub_text(text), text)


@pytest.mark.parametrize("text, leaked", [
    ("GET /weather?appid=abcd1234efgh&units=metric", "abcd1234efgh"),
    ('{"api_key": "zzzz9999"}', "zzzz9999"),
    ("Authorization: Bearer ghp_abcdefgh12345678", "ghp_abcdefgh12345678"),
    ("postgresql://monlab:hunter22@db/cache", "hunter22"),
    ("Cookie: session=abcdef123456", "abcdef123456"),
])
def test_secret_names_scrubbed(text, leaked):
    assert leaked not in scrub_text(text)


def test_scrub_data_masks_named_fields():
    scrubbed = scrub_data({"error": {"passed_value": "anything", "message": f"bad {PLANTED}"}, "x-auth-token": "t"})
    assert scrubbed["error"]["passed_value"] == MASK
    assert scrubbed["x-auth-token"] == MASK
    assert_clean(json.dumps(scrubbed), "scrubbed data")


# -- log records, exceptions and tracebacks ----------------------------------------------------


def test_log_file_has_no_secret(tmp_path):
    from datetime import datetime, timezone

    path = configure_logging(tmp_path, datetime(2026, 12, 1, tzinfo=timezone.utc), "test-run")
    log = logging.getLogger("monlab.test")
    log.info("calling with key %s and form %s", PLANTED, quote_plus(PLANTED_ODD))
    try:
        raise RuntimeError(f"the server echoed {PLANTED}")
    except RuntimeError:
        log.exception("request failed for %s", PLANTED_ODD)
    for handler in logging.getLogger("monlab").handlers:
        handler.flush()
    text = path.read_text(encoding="utf-8")
    assert "the server echoed" in text
    assert "Traceback" in text
    assert_clean(text, "the log file")


# -- papermill notebooks -----------------------------------------------------------------------


def test_executed_notebook_scrubbed():
    cell = new_code_cell(f"key = '{PLANTED}'")
    cell.outputs = [
        new_output("stream", name="stdout", text=f"using {PLANTED}\n"),
        new_output("execute_result", data={"text/plain": f"'{PLANTED}'", "application/json": {"k": PLANTED}}, execution_count=1),
        new_output("error", ename="AuthError", evalue=f"rejected {PLANTED}", traceback=[f"line with {quote(PLANTED_ODD, safe='')}"]),
    ]
    notebook = new_notebook(cells=[cell], metadata={"papermill": {"parameters": {"note": PLANTED}}})
    assert_clean(nbformat.writes(scrub_notebook(notebook)), "the notebook")


def test_papermill_parameters_carry_no_secret(make_settings):
    settings = make_settings(
        mode="live",
        environ={"UPTIMEROBOT_API_KEY": PLANTED, "MONLAB_DB_URL": "postgresql+psycopg://monlab:dbpass9876@127.0.0.1/cache"},
    )
    parameters = _parameters(settings, "run-1", "2026-12-01T06:00:00+00:00")
    assert_clean(json.dumps(parameters), "the papermill parameters")
    assert "dbpass9876" not in json.dumps(parameters)


# -- record mode: cassette, stored payloads, run log and report --------------------------------


def echoing_monitors(request) -> str:
    """A getMonitors page whose monitor name and error both echo the api_key the client sent."""
    sent = dict(pair.split("=", 1) for pair in request.body.decode().split("&"))["api_key"]
    monitor = {"id": 1, "friendly_name": f"echo {sent}", "url": "https://example.org", "type": 1, "interval": 300,
               "status": 2, "create_datetime": 1700000000, "logs": [], "response_times": [], "custom_uptime_ratio": "100-100-100"}
    return json.dumps({"stat": "ok", "pagination": {"offset": 0, "limit": PAGE_LIMIT, "total": 1}, "monitors": [monitor],
                       "echo": {"passed_value": sent, "note": f"seen {sent}"}})


@pytest.fixture
def recorded_run(make_settings, tmp_path):
    account = Reply(200, b'{"stat": "ok", "account": {"email": "ops@example.org"}}')
    with FlakyServer([account, Reply(200, echoing_monitors)]) as server:
        settings = make_settings(mode="record", sources="uptimerobot", environ={
            "UPTIMEROBOT_BASE_URL": server.url, "UPTIMEROBOT_API_KEY": PLANTED,
            "MONLAB_CASSETTE_DIR": str(tmp_path / "cassettes"),
        })
        run = pipeline.open_run(settings)
        outcomes = pipeline.ingest(run, "monitoring")
    assert PLANTED.encode() in server.received[1].body
    return run, outcomes, tmp_path


def test_recorded_cassette_has_no_secret(recorded_run):
    run, outcomes, tmp_path = recorded_run
    assert outcomes[0].status == "ok", outcomes[0].error
    text = (tmp_path / "cassettes" / "uptimerobot" / "normal.yaml").read_text(encoding="utf-8")
    assert "getMonitors" in text
    assert "echo " in text
    assert_clean(text, "the cassette")


def test_stored_payloads_have_no_secret(recorded_run):
    run, _, tmp_path = recorded_run
    connection = sqlite3.connect(tmp_path / "cache.sqlite")
    dump = "\n".join(connection.iterdump())
    connection.close()
    assert "echo " in dump
    assert_clean(dump, "the cache database")


def test_report_and_log_have_no_secret(recorded_run):
    run, _, tmp_path = recorded_run
    paths = write_report(run)
    assert_clean(paths["html"].read_text(encoding="utf-8"), "the html report")
    workbook = openpyxl.load_workbook(paths["xlsx"])
    cells = " ".join(str(cell.value) for sheet in workbook for row in sheet.iter_rows() for cell in row)
    assert "requests in this run" in cells
    assert_clean(cells, "the xlsx report")


def test_error_in_run_log_has_no_secret(make_settings, tmp_path):
    rejected = Reply(401, lambda request: json.dumps({"cod": 401, "message": f"Invalid API key {request.query.get('appid')}"}))
    with FlakyServer([Reply(200, b"{}")] + [rejected]) as server:
        settings = make_settings(mode="live", sources="openweather", environ={"OPENWEATHER_BASE_URL": server.url, "OPENWEATHER_API_KEY": PLANTED})
        run = pipeline.open_run(settings)
        outcome = pipeline.ingest(run, "performance")[0]
    assert outcome.status == "failed"
    assert server.received[1].query["appid"] == PLANTED
    assert_clean(outcome.error, "the outcome error")
    connection = sqlite3.connect(tmp_path / "cache.sqlite")
    dump = "\n".join(connection.iterdump())
    connection.close()
    assert "Invalid API key" in dump
    assert_clean(dump, "the run log")


def test_names_containing_password_are_masked():
    monitor = {"id": 779101, "http_username": "ops", "http_password": "hunter2-basic-auth", "client_secret_id": "abc-secret-42"}
    scrubbed = scrub_data(monitor)
    assert scrubbed["http_password"] == MASK
    assert scrubbed["client_secret_id"] == MASK
    assert scrubbed["http_username"] == "ops"
    assert scrubbed["id"] == 779101


def test_entity_key_is_not_a_secret_name():
    assert not is_secret_name("entity_key")
    assert not is_secret_name("passed")
    assert is_secret_name("refresh_token")


def test_auth_scheme_words_in_prose_are_kept():
    advice = "give the token read-only permissions"
    assert scrub_text(advice) == advice
    assert scrub_text("Authorization: Bearer ghp_abc123def456ghi") == f"Authorization: {MASK}"
    assert "abc123def456" not in scrub_text("sent token abc123def456ghi to the API")
