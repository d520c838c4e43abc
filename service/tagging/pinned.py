"""An engine whose every call runs in one dedicated thread: the thread that built it.

Why: on this kind of machine torch runs a model about 2x slower when it is called from a thread
other than the one that loaded it (measured in ``bench/README.md``: 296-324 ms in the loading
thread, 476-577 ms in another, for one seed article on 2 torch threads). A gunicorn ``gthread``
worker loads the model in a background thread and answers requests from a pool of threads, so
every request paid that. Here the model is built in a single-thread executor and each call is
handed to that same thread; request threads only wait for the result.

It costs no parallelism: a worker runs one engine call at a time anyway
(``TAGGER_MAX_CONCURRENCY``, and torch's own threads do the parallel work).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class PinnedEngine(Generic[T]):
    """Builds an engine with ``build()`` in a dedicated thread and runs all its calls there."""

    def __init__(self, build: Callable[[], T], *, name: str = "tagger-torch") -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self.engine: T = self._pool.submit(build).result()
        self.thread_ident: int = self._pool.submit(threading.get_ident).result()

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn(*args, **kwargs)`` in the engine's thread and return (or raise) its outcome."""
        if threading.get_ident() == self.thread_ident:  # already there: waiting would deadlock
            return fn(*args, **kwargs)
        return self._pool.submit(fn, *args, **kwargs).result()

    @property
    def info(self) -> Any:
        """The wrapped engine's model info."""
        return self.engine.info  # type: ignore[attr-defined]

    def tag(self, *args: Any, **kwargs: Any) -> Any:
        """``engine.tag`` in the engine's thread."""
        return self.call(self.engine.tag, *args, **kwargs)  # type: ignore[attr-defined]

    def tag_many(self, *args: Any, **kwargs: Any) -> Any:
        """``engine.tag_many`` in the engine's thread."""
        return self.call(self.engine.tag_many, *args, **kwargs)  # type: ignore[attr-defined]

    def close(self) -> None:
        """Stop the engine's thread once its pending calls are done."""
        self._pool.shutdown(wait=True)
