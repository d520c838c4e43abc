"""service.client: the typed API client, over real HTTP (a threaded server of the app with the
test double engine) and over scripted transports for the retry rules."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from email.utils import formatdate

import pytest
from engine_double import CannedEngine
from flask import Flask
from live import served

from service.backfill.backends import AppTransport
from service.client import ProblemError, Reply, TaggerClient, retry_after_seconds, server_timings

TEXT = "Joe Biden met Xi Jinping in Lima, Peru."


@pytest.fixture
def live_url(make_app: Callable[..., Flask]) -> Iterator[str]:
    """The app with a ``CannedEngine`` behind a real threaded HTTP server on a free port."""
    with served(make_app(API_KEYS=["k1"])) as url:
        yield url


class Scripted:
    """A transport that answers from a list of replies (or raises the exceptions in it)."""

    def __init__(self, replies: list[Reply | Exception]) -> None:
        self.replies = replies
        self.calls: list[tuple[str, str, bytes | None, dict[str, str]]] = []

    def __call__(
        self, method: str, path: str, body: bytes | None, headers: Mapping[str, str], timeout: float
    ) -> Reply:
        self.calls.append((method, path, body, dict(headers)))
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


def _json(status: int, body: str, **headers: str) -> Reply:
    return Reply(status, {k.lower().replace("_", "-"): v for k, v in headers.items()}, body.encode())


OVERLOADED = '{"type": "urn:newsroom-tagger:problem:overloaded", "title": "Overloaded", "status": 503}'


def test_tag_over_http_with_api_key(live_url: str) -> None:
    client = TaggerClient(live_url, api_key="k1")
    result = client.tag(TEXT, id="a1", topic_labels=[])
    assert result["id"] == "a1"
    assert {e["text"] for e in result["entities"]} == {"Joe Biden", "Xi Jinping", "Lima", "Peru"}
    assert result["topics"] == []
    assert client.ready()["model"]["name"] == "canned-test-engine"
    assert client.health() == {"status": "ok"}
    assert [lab["name"] for lab in client.labels()["entity_labels"]]


def test_batch_keeps_order_and_per_document_errors(live_url: str) -> None:
    items = TaggerClient(live_url, api_key="k1").tag_batch(
        [{"id": "a", "text": TEXT}, {"id": "b", "text": " "}, {"id": "c", "text": "China"}], topic_labels=[]
    )
    outcomes = [(i["index"], i["id"], i["status"]) for i in items]
    assert outcomes == [(0, "a", 200), (1, "b", 422), (2, "c", 200)]
    assert items[1]["error"]["errors"]["text"]
    assert [e["text"] for e in items[2]["result"]["entities"]] == ["China"]


def test_problem_is_raised_with_its_document(live_url: str) -> None:
    with pytest.raises(ProblemError) as caught:
        TaggerClient(live_url, api_key="wrong").tag(TEXT)
    assert caught.value.status == 401
    assert caught.value.problem["type"] == "urn:newsroom-tagger:problem:unauthorized"
    with pytest.raises(ProblemError) as caught:
        TaggerClient(live_url, api_key="k1").tag(TEXT, colour="red")
    assert caught.value.status == 422 and "colour" in caught.value.problem["errors"]


def test_keep_alive_connection_is_reused_and_reopened(live_url: str) -> None:
    client = TaggerClient(live_url, api_key="k1")
    for _ in range(3):
        assert client.health() == {"status": "ok"}
    client.transport.close()  # type: ignore[attr-defined]
    assert client.health() == {"status": "ok"}


def test_in_process_transport_answers_like_the_service(make_app: Callable[..., Flask]) -> None:
    client = TaggerClient("http://in-process", transport=AppTransport(make_app(ENGINE=CannedEngine())))
    assert client.tag(TEXT, topic_labels=[])["entities"]


def test_timings_come_in_the_body_only_when_asked(make_app: Callable[..., Flask]) -> None:
    client = TaggerClient("http://in-process", transport=AppTransport(make_app(ENGINE=CannedEngine())))
    assert "timings_ms" not in client.tag(TEXT)
    assert {"queue", "request"} <= set(client.tag(TEXT, timings=True)["timings_ms"])
    (item,) = client.tag_batch([{"text": TEXT}], timings=True)
    assert {"queue", "request"} <= set(item["result"]["timings_ms"])
    assert "timings_ms" not in client.tag_batch([{"text": TEXT}])[0]["result"]


def test_server_timings_reads_durations_and_skips_the_rest() -> None:
    header = ('cache;desc="hit", model;dur=812.4, entities;desc="x";dur=7, total;dur=bad, ;dur=1, '
              'queue;dur="0.5"')
    assert server_timings(header) == {"model": 812.4, "entities": 7.0, "queue": 0.5}
    assert server_timings(None) == {} and server_timings("") == {}


def test_503_is_retried_after_retry_after() -> None:
    waits: list[float] = []
    transport = Scripted([_json(503, OVERLOADED, Retry_After="3"), _json(503, OVERLOADED, Retry_After="1"),
                          _json(200, '{"status": "ok"}')])
    client = TaggerClient(transport=transport, sleep=waits.append)
    assert client.health() == {"status": "ok"}
    assert waits == [3.0, 1.0]
    assert client.retried_503 == 2


def test_503_without_retry_after_is_not_retried() -> None:
    # a model that failed to load answers 503 without Retry-After: waiting would not help
    body = '{"type": "urn:newsroom-tagger:problem:not-ready", "title": "Service not ready", "status": 503}'
    client = TaggerClient(transport=Scripted([_json(503, body)]), sleep=lambda s: None)
    with pytest.raises(ProblemError) as caught:
        client.ready()
    assert caught.value.problem["type"].endswith("not-ready")


def test_503_retries_are_bounded_and_waits_capped() -> None:
    waits: list[float] = []
    replies: list[Reply | Exception] = [_json(503, OVERLOADED, Retry_After="600")] * 3
    client = TaggerClient(transport=Scripted(replies), retries_503=2, max_retry_after_s=5, sleep=waits.append)
    with pytest.raises(ProblemError) as caught:
        client.health()
    assert caught.value.status == 503
    assert waits == [5, 5]


def test_dropped_connection_is_retried_with_backoff_then_raised() -> None:
    waits: list[float] = []
    ok = Scripted([ConnectionError("reset"), ConnectionError("reset"), _json(200, '{"status": "ok"}')])
    assert TaggerClient(transport=ok, sleep=waits.append).health() == {"status": "ok"}
    assert waits == [0.5, 1.0]
    down = Scripted([ConnectionError("refused")] * 3)
    with pytest.raises(ConnectionError):
        TaggerClient(transport=down, connect_retries=2, sleep=lambda s: None).health()


def test_a_body_that_is_not_the_apis_json_is_a_problem() -> None:
    html = Reply(502, {"content-type": "text/html"}, b"<html>Bad gateway</html>")
    with pytest.raises(ProblemError) as caught:
        TaggerClient(transport=Scripted([html])).health()
    assert caught.value.status == 502
    assert "Bad gateway" in caught.value.problem["detail"]


def test_request_sends_json_and_bearer_key() -> None:
    transport = Scripted([_json(200, '{"results": []}')])
    TaggerClient(api_key="s3cret", transport=transport).tag_batch([{"text": "é"}], threshold=0.4)
    method, path, body, headers = transport.calls[0]
    assert (method, path) == ("POST", "/v1/tag/batch")
    assert body == '{"documents": [{"text": "é"}], "threshold": 0.4}'.encode()
    assert headers["Authorization"] == "Bearer s3cret"
    assert headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("", None), ("7", 7.0), ("soon", None), (formatdate(1_000_030, usegmt=True), 30.0)],
)
def test_retry_after_values(value: str | None, expected: float | None) -> None:
    assert retry_after_seconds(value, now=1_000_000) == expected


def test_not_an_http_url_is_refused() -> None:
    with pytest.raises(ValueError, match="not an http"):
        TaggerClient("ftp://example.org")
