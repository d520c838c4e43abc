"""A small typed client of the tagging service's public API, standard library only.

Other services import it without pulling in the service's own dependencies::

    from service.client import TaggerClient

    client = TaggerClient("http://tagger.internal:8000", api_key="...")
    result = client.tag("President Joe Biden met Xi Jinping in Lima.", topic_labels=[])
    items = client.tag_batch([{"id": "a1", "text": "..."}, {"id": "a2", "text": "..."}])

Responses are the wire messages of ``openapi.yaml`` as plain dicts (typed below). A problem
(``application/problem+json``) is raised as :class:`ProblemError`, except inside a batch, where
each document's error stays in its item. A 503 that carries ``Retry-After`` (overloaded, or the
model still loading) is retried after the time it names, and a dropped connection is retried with
a growing pause, both a bounded number of times; tagging is idempotent, so retrying is safe.

One ``TaggerClient`` may be shared by threads: each thread keeps its own keep-alive connection.
``transport`` lets a caller send the requests elsewhere (``newsroom-tagger`` runs the app
in-process through it, see :mod:`service.backfill.backends`).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Protocol, TypedDict
from urllib.parse import urlsplit

__all__ = [
    "BatchItem",
    "HttpTransport",
    "Problem",
    "ProblemError",
    "Reply",
    "TaggerClient",
    "Transport",
]

PROBLEM_PREFIX = "urn:newsroom-tagger:problem:"


class Problem(TypedDict, total=False):
    """An RFC 9457 problem document, as the service sends it."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    request_id: str
    errors: dict[str, Any]


class BatchItem(TypedDict, total=False):
    """One document's outcome in ``POST /v1/tag/batch``: ``result`` when ``status`` is 200, else ``error``."""

    index: int
    id: str | None
    status: int
    result: dict[str, Any]  # a TagResponse
    error: Problem


class ProblemError(Exception):
    """The service answered with a problem (or with something that is not JSON)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(f"{problem.get('status')} {problem.get('title')}: {problem.get('detail')}")
        self.problem = problem
        self.status = int(problem.get("status") or 0)


@dataclass(frozen=True)
class Reply:
    """What a transport brings back: status, headers (lower-case names) and body bytes."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class Transport(Protocol):
    """Sends one request and returns the reply; raises ``OSError`` when the connection fails."""

    def __call__(
        self, method: str, path: str, body: bytes | None, headers: Mapping[str, str], timeout: float
    ) -> Reply: ...


class HttpTransport:
    """HTTP(S) with one keep-alive connection per thread, reopened after any failure."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._local = threading.local()

    def __call__(
        self, method: str, path: str, body: bytes | None, headers: Mapping[str, str], timeout: float
    ) -> Reply:
        conn = self._connection(timeout)
        try:
            conn.request(method, self._prefix + path, body=body, headers=dict(headers))
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise ConnectionError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        if resp.getheader("Connection", "").lower() == "close":
            self.close()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            conn = cls(self._host, self._port, timeout=timeout)
            self._local.conn = conn
        conn.timeout = timeout
        return conn

    def close(self) -> None:
        """Close this thread's connection (the next request opens a new one)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


class TaggerClient:
    """A client of one tagging service: ``tag``, ``tag_batch``, ``labels``, ``ready``, ``health``.

    ``url`` is the service's base URL; ``api_key`` is sent as ``Authorization: Bearer``.
    ``timeout`` bounds one request in seconds. A 503 with ``Retry-After`` is retried up to
    ``retries_503`` times, waiting what it names (at most ``max_retry_after_s`` each time); a
    failed connection is retried ``connect_retries`` times, after 0.5 s, 1 s, 2 s ...
    """

    def __init__(
        self,
        url: str = "http://127.0.0.1:8000",
        *,
        api_key: str | None = None,
        timeout: float = 300.0,
        retries_503: int = 30,
        max_retry_after_s: float = 60.0,
        connect_retries: int = 5,
        transport: Transport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = url
        self.api_key = api_key
        self.timeout = timeout
        self.retries_503 = retries_503
        self.max_retry_after_s = max_retry_after_s
        self.connect_retries = connect_retries
        self.transport: Transport = transport if transport is not None else HttpTransport(url)
        self.sleep = sleep
        self.retried_503 = 0  # how many 503s were waited out (a back-fill reports it)

    # ------------------------------------------------------------------ the API

    def tag(
        self, text: str, *, title: str | None = None, id: str | None = None, timings: bool = False,
        **options: Any,
    ) -> dict[str, Any]:
        """``POST /v1/tag``: one article; ``options`` are the request's other fields (labels, thresholds).

        ``timings``: the answer keeps ``timings_ms`` (``?timings=true``; its ETag is then weak).
        """
        doc: dict[str, Any] = {"text": text, **options}
        if title is not None:
            doc["title"] = title
        if id is not None:
            doc["id"] = id
        return self.request("POST", _timed("/v1/tag", timings), doc)

    def tag_batch(
        self, documents: Sequence[Any], *, timings: bool = False, **options: Any
    ) -> list[BatchItem]:
        """``POST /v1/tag/batch``: the items in document order; ``options`` apply to every document,
        ``timings`` keeps each result's ``timings_ms``."""
        body = {"documents": list(documents), **options}
        return list(self.request("POST", _timed("/v1/tag/batch", timings), body)["results"])

    def labels(self) -> dict[str, Any]:
        """``GET /v1/labels``: the default entity labels and topic taxonomy."""
        return self.request("GET", "/v1/labels")

    def ready(self) -> dict[str, Any]:
        """``GET /readyz``: the model's name, version and precision once ready (a 503 is retried)."""
        return self.request("GET", "/readyz")

    def health(self) -> dict[str, Any]:
        """``GET /healthz``."""
        return self.request("GET", "/healthz")

    # ------------------------------------------------------------------ plumbing

    def request(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        """One API call with the retries above; the JSON body of a 2xx, else :class:`ProblemError`."""
        payload = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {"Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        waits_503 = 0
        failures = 0
        while True:
            try:
                reply = self.transport(method, path, payload, headers, self.timeout)
            except OSError:
                failures += 1
                if failures > self.connect_retries:
                    raise
                self.sleep(0.5 * 2 ** (failures - 1))
                continue
            if reply.status == 503 and waits_503 < self.retries_503:
                delay = retry_after_seconds(reply.headers.get("retry-after"))
                if delay is not None:
                    waits_503 += 1
                    self.retried_503 += 1
                    self.sleep(min(delay, self.max_retry_after_s))
                    continue
            return _decode(reply, method, path)


def server_timings(value: str | None) -> dict[str, float]:
    """The durations (ms) of a ``Server-Timing`` header, by metric name: ``{"model": 812.4, ...}``.

    Metrics without ``dur`` (``cache;desc="hit"``) are left out; a malformed entry is skipped.
    """
    out: dict[str, float] = {}
    for entry in (value or "").split(","):
        name, *params = (part.strip() for part in entry.split(";"))
        for param in params:
            key, _, raw = param.partition("=")
            if name and key.strip().lower() == "dur":
                with contextlib.suppress(ValueError):  # a malformed duration: skipped
                    out[name] = float(raw.strip().strip('"'))
    return out


def _timed(path: str, timings: bool) -> str:
    """``path`` asking for ``timings_ms`` in the body when ``timings`` (else the service leaves it out)."""
    return f"{path}?timings=true" if timings else path


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date), or ``None`` when absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def _decode(reply: Reply, method: str, path: str) -> dict[str, Any]:
    try:
        data = json.loads(reply.body.decode("utf-8")) if reply.body else None
    except (UnicodeDecodeError, ValueError):
        data = None
    if 200 <= reply.status < 300 and isinstance(data, dict):
        return data
    if isinstance(data, dict) and isinstance(data.get("type"), str):
        raise ProblemError(Problem(**data))
    # not the service's answer (a proxy's HTML page, a truncated body): described, never dropped
    snippet = reply.body[:200].decode("utf-8", errors="replace")
    raise ProblemError(
        Problem(
            type=PROBLEM_PREFIX + "unexpected-response",
            title="Unexpected response",
            status=reply.status if reply.status >= 400 else 502,
            detail=f"{method} {path} answered {reply.status}, not the API's JSON: {snippet!r}",
        )
    )
