"""The guarded client against real loopback servers that misbehave on purpose.

Waits go through monlab.drills.FakeClock, so nothing here sleeps for a retry; only the socket
timeouts of the test policy (a fraction of a second) take real time.
"""

from __future__ import annotations

import gzip
import json
import logging
from email.utils import format_datetime
from datetime import datetime, timezone

import pytest

from monlab.drills import FakeClock, FlakyServer, Reply, Reset, Stall
from monlab.errors import AuthError, ReadOnlyViolation, ResponseFormatError, SourceDeferred, SourceError, SourceUnavailable
from monlab.fetch import AuditTrail, GuardedClient, PageGuard, decode_json
from monlab.policy import parse_policy
from monlab.redact import register_secrets

PLANTED = "u1234567-PLANTEDFAKESECRET"

POLICY = {
    "version": 1,
    "sources": {
        "uptimerobot": {
            "timeouts": {"connect_s": 0.5, "read_s": 0.3, "attempt_s": 0.8, "deadline_s": 200},
            "retry": {"attempts": 3, "backoff_base_s": 1, "backoff_cap_s": 3, "jitter": "full", "max_wait_s": 90},
            "endpoints": [
                {"method": "POST", "path": "/v2/getMonitors"},
                {"method": "GET", "path": "/v2/items/{id}"},
            ],
        },
    },
}


def make_client(url: str, *, jitter: float = 1.0, clock: FakeClock | None = None, **policy_changes) -> GuardedClient:
    document = json.loads(json.dumps(POLICY))
    section = document["sources"]["uptimerobot"]
    for key, value in policy_changes.items():
        group, name = key.split("__")
        section[group][name] = value
    policy = parse_policy(document).for_source("uptimerobot")
    return GuardedClient(policy, "uptimerobot", url, clock=clock or FakeClock(), jitter=lambda: jitter, audit=AuditTrail())


def post(client: GuardedClient):
    return client.request("POST", "/v2/getMonitors", data={"api_key": PLANTED, "format": "json"})


# -- refused before any socket opens -----------------------------------------------------------


def test_unlisted_method_refused_before_connecting():
    with FlakyServer([Reply(200)]) as server:
        client = make_client(server.url)
        with pytest.raises(ReadOnlyViolation) as caught:
            client.request("GET", "/v2/getMonitors")
    assert server.connections == 0
    assert "uptimerobot" in str(caught.value)
    assert "GET /v2/getMonitors" in str(caught.value)
    assert [entry.outcome for entry in client.audit.entries] == ["refused"]


def test_unlisted_path_refused_before_connecting():
    with FlakyServer([Reply(200)]) as server:
        client = make_client(server.url)
        with pytest.raises(ReadOnlyViolation) as caught:
            client.request("POST", "/v2/editMonitor", data={"api_key": PLANTED})
    assert server.connections == 0
    assert caught.value.method == "POST"
    assert caught.value.target == "/v2/editMonitor"


def test_path_template_matches_one_segment():
    with FlakyServer([Reply(200)]) as server:
        client = make_client(server.url)
        with pytest.raises(ReadOnlyViolation):
            client.request("GET", "/v2/items/1/delete")
        client.request("GET", "/v2/items/42")
    assert server.connections == 1
    assert client.audit.entries[-1].path_template == "/v2/items/{id}"


def test_plain_http_to_https_source_refused():
    audit = AuditTrail()
    policy = parse_policy(POLICY).for_source("uptimerobot")
    with pytest.raises(ReadOnlyViolation) as caught:
        GuardedClient(policy, "uptimerobot", "http://api.uptimerobot.com", audit=audit)
    assert "plain http" in str(caught.value)
    assert audit.entries[0].outcome == "refused"


def test_plain_http_allowed_on_loopback():
    with FlakyServer([Reply(200)], host="::1") as server:
        client = make_client(server.url)
        response = post(client)
    assert response.status_code == 200
    assert server.connections == 1


def test_cross_host_redirect_refused():
    with FlakyServer([]) as elsewhere, FlakyServer([Reply(302, headers={"Location": f"{elsewhere.url}/v2/getMonitors"})]) as server:
        client = make_client(server.url)
        with pytest.raises(ReadOnlyViolation) as caught:
            post(client)
    assert server.connections == 1
    assert elsewhere.connections == 0
    assert "another host" in str(caught.value)
    assert [entry.outcome for entry in client.audit.entries] == ["redirect", "refused"]


def test_redirect_to_unlisted_path_refused():
    with FlakyServer([Reply(307, headers={"Location": "/v2/deleteMonitor"})]) as server:
        client = make_client(server.url)
        with pytest.raises(ReadOnlyViolation):
            post(client)
    assert server.connections == 1


def test_same_host_redirect_followed():
    with FlakyServer([Reply(307, headers={"Location": "/v2/getMonitors?page=2"}), Reply(200, b'{"stat": "ok"}')]) as server:
        client = make_client(server.url)
        response = post(client)
    assert response.json() == {"stat": "ok"}
    assert server.connections == 2


def test_redirect_loop_stops():
    loop = Reply(307, headers={"Location": "/v2/getMonitors"})
    with FlakyServer([loop] * 10) as server:
        client = make_client(server.url)
        with pytest.raises(SourceError) as caught:
            post(client)
    assert "redirects" in str(caught.value)
    assert server.connections == 6


# -- retries and waits -------------------------------------------------------------------------


def test_5xx_sequence_retried_with_backoff():
    clock = FakeClock()
    with FlakyServer([Reply(503), Reply(502), Reply(200)]) as server:
        client = make_client(server.url, clock=clock)
        response = post(client)
    assert response.status_code == 200
    assert server.connections == 3
    assert clock.sleeps == [1.0, 2.0]
    assert [entry.attempt for entry in client.audit.entries] == [1, 2, 3]


def test_backoff_full_jitter_and_cap():
    client = make_client("http://127.0.0.1:9", jitter=0.5)
    assert client.backoff(1) == 0.5
    assert client.backoff(2) == 1.0
    assert client.backoff(5) == 1.5


def test_retries_exhausted_raise_unavailable():
    clock = FakeClock()
    with FlakyServer([Reply(500)] * 3) as server:
        client = make_client(server.url, clock=clock)
        with pytest.raises(SourceUnavailable) as caught:
            post(client)
    assert server.connections == 3
    assert "after 3 attempts" in str(caught.value)
    assert caught.value.http_status == 500


@pytest.mark.parametrize("status", [400, 404, 422])
def test_other_4xx_not_retried(status):
    with FlakyServer([Reply(status, b'{"message": "nope"}'), Reply(200)]) as server:
        client = make_client(server.url)
        with pytest.raises(SourceError) as caught:
            post(client)
    assert server.connections == 1
    assert caught.value.http_status == status


def test_401_is_auth_error():
    with FlakyServer([Reply(401, b'{"message": "Bad credentials"}')]) as server:
        client = make_client(server.url)
        with pytest.raises(AuthError):
            post(client)
    assert server.connections == 1


def test_retry_after_seconds_honoured():
    clock = FakeClock()
    with FlakyServer([Reply(429, headers={"Retry-After": "7"}), Reply(200)]) as server:
        client = make_client(server.url, clock=clock)
        post(client)
    assert clock.sleeps == [7.0]


def test_retry_after_http_date_honoured():
    clock = FakeClock()
    when = format_datetime(datetime.fromtimestamp(clock.time() + 30, timezone.utc), usegmt=True)
    with FlakyServer([Reply(503, headers={"Retry-After": when}), Reply(200)]) as server:
        client = make_client(server.url, clock=clock)
        post(client)
    assert clock.sleeps == [30.0]


def test_ratelimit_reset_epoch_honoured():
    clock = FakeClock()
    reset = str(int(clock.time()) + 45)
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
    with FlakyServer([Reply(429, headers=headers), Reply(200)]) as server:
        client = make_client(server.url, clock=clock)
        post(client)
    assert clock.sleeps == [45.0]


def test_github_primary_limit_403_waits_for_reset():
    clock = FakeClock()
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(clock.time()) + 12)}
    body = b'{"message": "API rate limit exceeded"}'
    with FlakyServer([Reply(403, body, headers=headers), Reply(200)]) as server:
        client = make_client(server.url, clock=clock)
        response = post(client)
    assert response.status_code == 200
    assert clock.sleeps == [12.0]


def test_github_secondary_limit_waits_a_minute():
    clock = FakeClock()
    headers = {"x-ratelimit-remaining": "4000", "x-ratelimit-reset": str(int(clock.time()) + 3000)}
    body = b'{"message": "You have exceeded a secondary rate limit. Please wait a few minutes."}'
    with FlakyServer([Reply(403, body, headers=headers), Reply(429, headers=headers), Reply(200)]) as server:
        client = make_client(server.url, clock=clock)
        post(client)
    assert server.connections == 3
    assert clock.sleeps == [60.0, 60.0]


def test_forbidden_403_with_quota_left_not_retried():
    headers = {"x-ratelimit-remaining": "4999"}
    with FlakyServer([Reply(403, b'{"message": "Resource not accessible by integration"}', headers=headers)]) as server:
        client = make_client(server.url)
        with pytest.raises(AuthError):
            post(client)
    assert server.connections == 1


def test_wait_over_cap_defers_without_sleeping():
    clock = FakeClock()
    with FlakyServer([Reply(429, headers={"Retry-After": "3600"}), Reply(200)]) as server:
        client = make_client(server.url, clock=clock)
        with pytest.raises(SourceDeferred) as caught:
            post(client)
    assert clock.sleeps == []
    assert server.connections == 1
    assert caught.value.wait_s == 3600
    assert caught.value.status == "deferred"


def test_wait_past_deadline_defers():
    clock = FakeClock()
    replies = [Reply(429, headers={"Retry-After": "60"})] * 3
    with FlakyServer(replies) as server:
        client = make_client(server.url, clock=clock, timeouts__deadline_s=100)
        with pytest.raises(SourceDeferred):
            post(client)
    assert clock.sleeps == [60.0]
    assert server.connections == 2


# -- network misbehaviour ----------------------------------------------------------------------


def test_connection_reset_retried():
    with FlakyServer([Reset(), Reply(200)]) as server:
        client = make_client(server.url)
        response = post(client)
    assert response.status_code == 200
    assert client.audit.entries[0].outcome == "connection failed"
    assert client.audit.entries[0].status is None


def test_connection_refused_exhausts_retries():
    with FlakyServer([]) as server:
        url = server.url
    client = make_client(url)
    with pytest.raises(SourceUnavailable) as caught:
        post(client)
    assert "connection failed after 3 attempts" in str(caught.value)
    assert len(client.audit.entries) == 3


def test_read_timeout_retried():
    with FlakyServer([Reply(200, delay_s=3), Reply(200, b'{"stat": "ok"}')]) as server:
        client = make_client(server.url)
        response = post(client)
    assert response.json() == {"stat": "ok"}
    assert client.audit.entries[0].outcome == "timed out"


def test_slow_drip_body_cut_off():
    # Each byte arrives well within read_s, so only the per-attempt limit can stop it.
    drip = Reply(200, b'{"stat": "ok", "padding": "' + b"x" * 40 + b'"}', drip_s=0.05)
    with FlakyServer([drip, Reply(200, b'{"stat": "ok"}')]) as server:
        client = make_client(server.url)
        response = post(client)
    assert response.json() == {"stat": "ok"}
    assert client.audit.entries[0].outcome == "timed out"
    assert client.audit.entries[0].duration_ms < 3000


def test_truncated_body_retried():
    with FlakyServer([Reply(200, b'{"stat": "ok", "monitors": []}', truncate_to=6), Reply(200, b'{"stat": "ok"}')]) as server:
        client = make_client(server.url)
        response = post(client)
    assert response.json() == {"stat": "ok"}
    assert client.audit.entries[0].outcome == "incomplete body"


def test_stalled_tls_handshake_times_out():
    with FlakyServer([Stall()] * 3) as server:
        client = make_client(server.url.replace("http://", "https://"))
        with pytest.raises(SourceUnavailable) as caught:
            post(client)
    assert "timed out" in str(caught.value)
    assert [entry.outcome for entry in client.audit.entries] == ["timed out"] * 3


# -- bodies that are not JSON ------------------------------------------------------------------


def test_html_429_named_after_retries():
    page = Reply(429, "<html><body>Too many requests</body></html>", content_type="text/html")
    with FlakyServer([page] * 3) as server:
        client = make_client(server.url)
        with pytest.raises(SourceUnavailable) as caught:
            post(client)
    assert "HTTP 429 (text/html)" in str(caught.value)


def test_plain_text_200_is_format_error():
    with FlakyServer([Reply(200, "Service Unavailable", content_type="text/plain; charset=utf-8")]) as server:
        client = make_client(server.url)
        response = post(client)
    with pytest.raises(ResponseFormatError) as caught:
        decode_json(response, "prometheus", "/api/v1/targets")
    assert "'text/plain'" in str(caught.value)
    assert "HTTP 200" in str(caught.value)


def test_html_error_body_described_not_dumped():
    with FlakyServer([Reply(404, "<html><body>" + "x" * 500 + "</body></html>", content_type="text/html")]) as server:
        client = make_client(server.url)
        with pytest.raises(SourceError) as caught:
            post(client)
    assert "text/html body of 526 bytes" in str(caught.value)
    assert "<html>" not in str(caught.value)


# -- pagination --------------------------------------------------------------------------------


def test_repeating_next_link_stops():
    page = Reply(200, b'{"items": [1], "next": "/v2/items/2"}')
    with FlakyServer([page] * 5) as server:
        client = make_client(server.url)
        guard = PageGuard("uptimerobot", "/v2/items/{id}")
        link = "/v2/items/1"
        with pytest.raises(ResponseFormatError) as caught:
            while link:
                guard.check(link)
                link = client.request("GET", link).json()["next"]
    assert server.connections == 2
    assert "repeated" in str(caught.value)


def test_page_guard_limits_pages():
    guard = PageGuard("github", "/repos/{owner}/{repo}/events", max_pages=2)
    guard.check(1)
    guard.check(2)
    with pytest.raises(ResponseFormatError):
        guard.check(3)


# -- audit trail and secrets -------------------------------------------------------------------


def test_audit_entry_fields():
    with FlakyServer([Reply(503), Reply(200, b'{"stat": "ok"}')]) as server:
        client = make_client(server.url)
        post(client)
    first, second = client.audit.entries
    assert (first.source, first.method, first.path_template) == ("uptimerobot", "POST", "/v2/getMonitors")
    assert first.host == f"127.0.0.1:{server.port}"
    assert (first.status, first.outcome, first.attempt) == (503, "error", 1)
    assert (second.status, second.outcome, second.attempt) == (200, "ok", 2)
    assert second.bytes == len(b'{"stat": "ok"}')
    assert second.duration_ms >= 0


def test_planted_secret_in_no_log_or_error(caplog):
    register_secrets([PLANTED])
    echo = Reply(401, lambda request: json.dumps({"message": f"bad key {request.body.decode()}"}))
    with FlakyServer([echo]) as server:
        client = make_client(server.url)
        with caplog.at_level(logging.DEBUG, logger="monlab"), pytest.raises(AuthError) as caught:
            client.request("POST", f"{server.url}/v2/getMonitors?api_key={PLANTED}", data={"api_key": PLANTED})
    assert PLANTED.encode() in server.received[0].body
    assert PLANTED not in str(caught.value)
    assert PLANTED not in caplog.text
    assert all(PLANTED not in str(vars(entry)) for entry in client.audit.entries)


# -- deferred sources and refusals in the report -----------------------------------------------


def test_deferred_source_reported(make_settings):
    from monlab import pipeline
    from monlab.report import build_report

    account = Reply(200, b'{"stat": "ok"}')
    limited = Reply(429, "<html>slow down</html>", content_type="text/html", headers={"Retry-After": "3600"})
    with FlakyServer([account, limited]) as server:
        settings = make_settings(mode="live", sources="uptimerobot", environ={"UPTIMEROBOT_BASE_URL": server.url, "UPTIMEROBOT_API_KEY": PLANTED})
        run = pipeline.open_run(settings)
        outcome = pipeline.ingest(run, "monitoring")[0]
    assert outcome.status == "deferred"
    warnings = build_report(run).sections["Stale data warnings"]
    assert "deferred in this run" in set(warnings["Warning"])
    assert "3600 s" in " ".join(warnings["Detail"])


def test_report_counts_refused_requests(make_settings):
    from datetime import datetime, timezone

    from monlab import pipeline
    from monlab.report import build_report

    run = pipeline.open_run(make_settings(), run_id="refusal-run")
    with FlakyServer([Reply(200)]) as server:
        client = make_client(server.url)
        post(client)
        with pytest.raises(ReadOnlyViolation):
            client.request("POST", "/v2/deleteMonitor")
    run.cache.record_audit(run.run_id, client.audit.entries, datetime.now(timezone.utc))
    summary = build_report(run).summary["Requests"]
    assert summary.startswith("1 request in this run, all on the allowlist")
    assert "1 refused before sending" in summary


def test_gzip_body_is_decoded():
    document = {"stat": "ok", "monitors": [{"id": 1}]}
    compressed = gzip.compress(json.dumps(document).encode("utf-8"))
    with FlakyServer([Reply(200, body=compressed, headers={"Content-Encoding": "gzip"})]) as server:
        response = post(make_client(server.url))
    assert decode_json(response, "uptimerobot", "/v2/getMonitors") == document
