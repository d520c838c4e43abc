"""Where a back-fill's ``/v1/tag/batch`` calls go: the app in-process, or a running service.

In-process, the service's own Flask app answers through its test client: no socket, but the same
schemas, checks, engine and response mapping, so a record is what the service would have sent.
The app is built once (the model loads once) without the request time budget a web client needs,
without API keys (there is no one to keep out) and without access logs (the progress bar is the
log). Against a URL, ``concurrency`` calls are in flight at once, so a service with several
workers has them all busy.

A backend's ``submit(docs)`` returns a future of one batch item per document; ``window`` is how many
blocks the runner keeps in flight.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from service.backfill.batching import tag_documents
from service.client import BatchItem, Reply, TaggerClient

# the in-process app never turns a slow block into a 504: there is no client to answer in time
IN_PROCESS_BUDGET_S = 7 * 24 * 3600.0


T_co = TypeVar("T_co", covariant=True)


class Pending(Protocol[T_co]):
    """A future: ``concurrent.futures.Future`` or a Dask future."""

    def result(self) -> T_co: ...


class Backend(Protocol):
    """Tags blocks of documents; one batch item per document, in order."""

    window: int
    description: str
    load_seconds: float

    def submit(self, docs: list[Any]) -> Pending[list[BatchItem]]: ...

    def retried_503(self) -> int: ...

    def close(self) -> None: ...


class AppTransport:
    """A :class:`service.client.Transport` over a Flask app's test client (no socket)."""

    def __init__(self, app: Any) -> None:
        self._client = app.test_client()

    def __call__(
        self, method: str, path: str, body: bytes | None, headers: Mapping[str, str], timeout: float
    ) -> Reply:
        resp = self._client.open(path, method=method, data=body, headers=dict(headers))
        return Reply(resp.status_code, {k.lower(): v for k, v in resp.headers.items()}, resp.get_data())


def in_process_client(overrides: Mapping[str, Any] | None = None, *, max_batch: int = 32) -> TaggerClient:
    """A client of the service's app built here, its model loaded before this returns."""
    from service import create_app

    settings: dict[str, Any] = {
        "LOAD_IN_BACKGROUND": False,
        "TIME_BUDGET_S": IN_PROCESS_BUDGET_S,
        "QUEUE_TIMEOUT_S": IN_PROCESS_BUDGET_S,
        "MAX_BATCH": max(32, max_batch),
        "API_KEYS": [],
        "API_KEYS_FILE": None,
        "ACCESS_LOG": False,
        "LOG_LEVEL": "WARNING",
    }
    settings.update(overrides or {})
    app = create_app(settings)
    return TaggerClient("http://in-process", transport=AppTransport(app))


class InProcess:
    """The service's app in this process; blocks are tagged one after another."""

    window = 1

    def __init__(self, overrides: Mapping[str, Any], *, options: Mapping[str, Any], max_batch: int) -> None:
        t0 = time.perf_counter()
        self.client = in_process_client(overrides, max_batch=max_batch)
        self.info = self.client.ready()["model"]
        self.load_seconds = time.perf_counter() - t0
        self.options = dict(options)
        self.max_batch = max_batch
        info = self.info
        self.description = f"in-process, model {info['name']} {info['version']} ({info['precision']})"

    def submit(self, docs: list[Any]) -> Future[list[BatchItem]]:
        """Tag ``docs`` now; the future is already done."""
        fut: Future[list[BatchItem]] = Future()
        try:
            fut.set_result(tag_documents(self.client, docs, self.options, max_batch=self.max_batch))
        except Exception as exc:
            fut.set_exception(exc)
        return fut

    def retried_503(self) -> int:
        """503s waited out (none in-process: one caller, one slot)."""
        return self.client.retried_503

    def close(self) -> None:
        """Nothing to release: the model goes with the process."""


class Remote:
    """A running service at a URL, ``concurrency`` batch calls in flight."""

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None,
        options: Mapping[str, Any],
        max_batch: int,
        concurrency: int,
        timeout: float = 300.0,
    ) -> None:
        t0 = time.perf_counter()
        self.client = TaggerClient(url, api_key=api_key, timeout=timeout)
        self.info = self.client.ready()["model"]  # waits out a loading service's 503s
        self.load_seconds = time.perf_counter() - t0
        self.options = dict(options)
        self.max_batch = max_batch
        self.window = max(1, concurrency)
        self._pool = ThreadPoolExecutor(max_workers=self.window, thread_name_prefix="backfill-http")
        self.description = f"{url}, model {self.info['name']} {self.info['version']}, {self.window} in flight"

    def submit(self, docs: list[Any]) -> Future[list[BatchItem]]:
        """Tag ``docs`` in a client thread."""
        return self._pool.submit(tag_documents, self.client, docs, self.options, max_batch=self.max_batch)

    def retried_503(self) -> int:
        """503s waited out so far (the service was busy or loading)."""
        return self.client.retried_503

    def close(self) -> None:
        """Drop what has not started; wait for the calls in flight."""
        self._pool.shutdown(wait=True, cancel_futures=True)
