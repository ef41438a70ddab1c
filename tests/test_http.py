"""The shared HTTP client: politeness, retries and failures, on a mock transport and a fake clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from curemap import __version__
from curemap.errors import HTTPStatusError, ResponseError, TransportError
from curemap.sources.http import MAX_RETRY_AFTER, HttpClient, SourcePolicy

PAGE = {"studies": [{"protocolSection": {"identificationModule": {"nctId": "NCT00973089"}}}]}


class FakeTime:
    """A clock that only moves when slept on, remembering every sleep."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Script:
    """A mock-transport handler that answers each request with the next scripted reply (the last repeats)."""

    def __init__(self, *replies: httpx.Response | Exception, time: FakeTime | None = None):
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []
        self.times: list[float] = []
        self.time = time

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.time is not None:
            self.times.append(self.time.now)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, Exception):
            raise reply
        return httpx.Response(reply.status_code, headers=reply.headers, content=reply.content)


def ok(body: object = PAGE) -> httpx.Response:
    return httpx.Response(200, json=body)


def make_client(script: Script, time: FakeTime, *, rps: float = 1000.0, **kwargs) -> HttpClient:
    policy = SourcePolicy(name="test", base_url="https://registry.invalid/api/v2", requests_per_second=rps)
    return HttpClient(policy, transport=httpx.MockTransport(script), sleep=time.sleep, clock=time.clock, **kwargs)


def test_retry_after_seconds_is_honoured():
    time = FakeTime()
    script = Script(httpx.Response(429, headers={"Retry-After": "7"}), ok())
    with make_client(script, time) as client:
        assert client.get_json("/studies", {"query.cond": "multiple sclerosis"}) == PAGE
    assert time.sleeps == [7.0]
    assert len(script.requests) == 2


def test_retry_after_http_date_is_honoured_on_503():
    time = FakeTime()
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    script = Script(httpx.Response(503, headers={"Retry-After": when}), ok())
    with make_client(script, time) as client:
        client.get_json("/studies")
    assert len(time.sleeps) == 1
    assert 27.0 <= time.sleeps[0] <= 30.0


def test_retry_after_is_capped():
    time = FakeTime()
    script = Script(httpx.Response(429, headers={"Retry-After": "86400"}), ok())
    with make_client(script, time) as client:
        client.get_json("/studies")
    assert time.sleeps == [MAX_RETRY_AFTER]


def test_429_without_retry_after_backs_off_exponentially():
    time = FakeTime()
    script = Script(*[httpx.Response(429)] * 4, ok())
    with make_client(script, time) as client:
        assert client.get_json("/studies") == PAGE
    # base 1 s, doubling, jittered down by at most half
    assert len(time.sleeps) == 4
    for retry, slept in enumerate(time.sleeps):
        assert 2**retry / 2 <= slept <= 2**retry


def test_backoff_never_exceeds_the_cap():
    time = FakeTime()
    policy = SourcePolicy(
        name="test", base_url="https://registry.invalid", requests_per_second=1000, max_retries=8, backoff_cap=5.0
    )
    script = Script(*[httpx.Response(502)] * 8, ok())
    with HttpClient(policy, transport=httpx.MockTransport(script), sleep=time.sleep, clock=time.clock) as client:
        client.get_json("/x")
    assert max(time.sleeps) <= 5.0


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried(status):
    time = FakeTime()
    script = Script(httpx.Response(status), ok())
    with make_client(script, time) as client:
        assert client.get_json("/studies") == PAGE
    assert len(script.requests) == 2


@pytest.mark.parametrize(
    "fault",
    [
        httpx.ConnectError("connection refused"),
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("connection reset by peer"),
    ],
)
def test_transport_faults_are_retried(fault):
    time = FakeTime()
    script = Script(fault, ok())
    with make_client(script, time) as client:
        assert client.get_json("/studies") == PAGE
    assert len(script.requests) == 2


def test_404_fails_at_once_naming_the_url():
    time = FakeTime()
    script = Script(httpx.Response(404, text="Not Found"))
    with make_client(script, time) as client:
        with pytest.raises(HTTPStatusError) as caught:
            client.get_json("/studeis", {"pageSize": "10"})
    assert caught.value.status == 404
    assert caught.value.url == "https://registry.invalid/api/v2/studeis?pageSize=10"
    assert "https://registry.invalid/api/v2/studeis?pageSize=10" in str(caught.value)
    assert "base URL" in str(caught.value)
    assert len(script.requests) == 1
    assert time.sleeps == []


def test_400_says_what_the_service_objected_to():
    time = FakeTime()
    script = Script(httpx.Response(400, text="Invalid value for pageSize: 5000"))
    with make_client(script, time) as client:
        with pytest.raises(HTTPStatusError, match="Invalid value for pageSize") as caught:
            client.get_json("/studies", {"pageSize": 5000})
    assert caught.value.status == 400
    assert len(script.requests) == 1


def test_exhausted_status_retries_raise_http_status_error():
    time = FakeTime()
    script = Script(httpx.Response(503))
    with make_client(script, time) as client:
        with pytest.raises(HTTPStatusError) as caught:
            client.get_json("/studies")
    assert caught.value.status == 503
    assert "tried 6 times" in str(caught.value)
    assert len(script.requests) == 6  # the first try and max_retries=5 more
    assert len(time.sleeps) == 5


def test_exhausted_transport_retries_raise_transport_error():
    time = FakeTime()
    script = Script(httpx.ConnectError("[Errno 111] Connection refused"))
    with make_client(script, time) as client:
        with pytest.raises(TransportError, match="Connection refused") as caught:
            client.get_json("/studies")
    assert caught.value.url == "https://registry.invalid/api/v2/studies"
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert len(script.requests) == 6


def test_truncated_json_is_retried():
    time = FakeTime()
    body = json.dumps(PAGE)
    script = Script(httpx.Response(200, text=body[: len(body) // 2]), httpx.Response(200, text=body))
    with make_client(script, time) as client:
        assert client.get_json("/studies") == PAGE
    assert len(script.requests) == 2


def test_truncated_json_every_time_raises_response_error_naming_the_url():
    time = FakeTime()
    body = json.dumps(PAGE)
    script = Script(httpx.Response(200, text=body[: len(body) // 2]))
    with make_client(script, time) as client:
        with pytest.raises(ResponseError) as caught:
            client.get_json("/studies", {"pageToken": "abc"})
    assert "https://registry.invalid/api/v2/studies?pageToken=abc" in str(caught.value)
    assert len(script.requests) == 6


def test_requests_are_spaced_by_the_rate_limit():
    time = FakeTime()
    script = Script(ok(), time=time)
    with make_client(script, time, rps=2.0) as client:
        for _ in range(4):
            client.get_json("/studies")
    assert script.times == [0.0, 0.5, 1.0, 1.5]


def test_rate_limit_does_not_wait_when_requests_are_already_slow():
    time = FakeTime()
    script = Script(ok(), time=time)
    with make_client(script, time, rps=1.0) as client:
        client.get_json("/studies")
        time.now += 5.0
        client.get_json("/studies")
    assert time.sleeps == []


def test_user_agent_identifies_curemap_and_the_contact(monkeypatch):
    monkeypatch.setenv("CUREMAP_CONTACT", "mailto:maps@example.org")
    time = FakeTime()
    script = Script(ok())
    with make_client(script, time) as client:
        client.get_json("/studies")
    assert script.requests[0].headers["User-Agent"] == f"curemap/{__version__} (+mailto:maps@example.org)"


def test_user_agent_without_a_contact_still_names_curemap(monkeypatch):
    monkeypatch.delenv("CUREMAP_CONTACT", raising=False)
    time = FakeTime()
    script = Script(ok())
    with make_client(script, time) as client:
        client.get_json("/studies")
    assert script.requests[0].headers["User-Agent"].startswith(f"curemap/{__version__} (+")


def test_post_form_sends_the_fields_in_the_body():
    time = FakeTime()
    script = Script(httpx.Response(200, text="<PubmedArticleSet/>"))
    with make_client(script, time) as client:
        assert client.post_form("/efetch.fcgi", {"db": "pubmed", "id": "29768149,1"}) == "<PubmedArticleSet/>"
    request = script.requests[0]
    assert request.method == "POST"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.content == b"db=pubmed&id=29768149%2C1"


def test_cache_serves_a_repeated_get_without_a_request(tmp_path):
    time = FakeTime()
    script = Script(ok())
    with make_client(script, time, cache_dir=tmp_path) as client:
        first = client.get_json("/studies", {"pageSize": 2})
        second = client.get_json("/studies", {"pageSize": 2})
        client.get_json("/studies", {"pageSize": 3})
    assert first == second == PAGE
    assert len(script.requests) == 2
    assert not list(tmp_path.rglob("*.partial"))


def test_failed_responses_are_not_cached(tmp_path):
    time = FakeTime()
    body = json.dumps(PAGE)
    script = Script(httpx.Response(200, text=body[:10]))
    with make_client(script, time, cache_dir=tmp_path) as client:
        with pytest.raises(ResponseError):
            client.get_json("/studies")
    assert not [path for path in tmp_path.rglob("*") if path.is_file()]


def test_without_a_cache_dir_every_get_is_sent():
    time = FakeTime()
    script = Script(ok())
    with make_client(script, time) as client:
        client.get_json("/studies")
        client.get_json("/studies")
    assert len(script.requests) == 2


@pytest.mark.parametrize(("limit", "tries"), [(None, 2), (0.3, 1)])
def test_a_source_that_accepts_and_never_answers_is_soon_unreachable(silent_server, limit, tries):
    """Reproduces issue 13: on a network that drops packets silently, every request waited out
    six tries of a 60 s timeout (about 6.5 minutes a source). Now a source that never answered
    is unreachable after two unanswered tries (one, when --timeout leaves no time for a second),
    and the client's later requests fail at once without connecting."""
    from curemap.errors import NetworkUnreachable

    policy = SourcePolicy("silent", silent_server.base_url, requests_per_second=1000, timeout=0.3, connect_timeout=0.3)
    sleeps: list[float] = []
    with HttpClient(policy.within(limit) if limit else policy, sleep=sleeps.append) as client:
        with pytest.raises(NetworkUnreachable, match=r"silent \(127.0.0.1\) cannot be reached: no answer in time") as caught:
            client.get_json("/studies")
        assert "check the network connection" in str(caught.value)
        assert len(silent_server.connections) == tries
        with pytest.raises(NetworkUnreachable):
            client.get_json("/studies/NCT00000001")
    assert len(silent_server.connections) == tries  # the second request never connected
    assert len(sleeps) == tries - 1


def test_a_source_that_answered_once_is_retried_as_before(monkeypatch):
    time = FakeTime()
    script = Script(ok(), httpx.ReadTimeout("timed out"), httpx.ReadTimeout("timed out"), ok())
    with make_client(script, time) as client:
        client.get_json("/studies")
        assert client.get_json("/studies") == PAGE
    assert len(script.requests) == 4


@pytest.mark.parametrize(("jitter", "tries"), [(1.0, 4), (0.5, 5)])
def test_the_retry_budget_bounds_a_request_and_its_retries(monkeypatch, jitter, tries):
    """Waits of 1, 2, 4 s (the longest jitter) leave no room in 10 s for the next 8 s wait; waits
    of half that leave room for one try more. Either way the waits stay inside the budget."""
    monkeypatch.setattr("curemap.sources.http.random.uniform", lambda low, high: high * jitter)
    time = FakeTime()
    policy = SourcePolicy(name="test", base_url="https://registry.invalid", requests_per_second=1000).within(10.0)
    script = Script(httpx.Response(503))
    with HttpClient(policy, transport=httpx.MockTransport(script), sleep=time.sleep, clock=time.clock) as client:
        with pytest.raises(HTTPStatusError, match=f"tried {tries} times"):
            client.get_json("/studies")
    assert sum(time.sleeps) < 10.0 and len(script.requests) == tries
    assert policy.timeout == policy.connect_timeout == policy.retry_budget == 10.0
