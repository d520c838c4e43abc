"""Load limits of one worker: bounded concurrency with a bounded wait, and the request time budget.

At most ``MAX_CONCURRENCY`` requests tag at once in a worker; at most ``MAX_QUEUE`` more wait for
a slot, each for at most ``QUEUE_TIMEOUT_S`` (and never past its time budget). Anything beyond
is answered 503 with ``Retry-After`` at once: under overload the service sheds load instead of
queueing without limit. The body size limit is Flask's ``MAX_CONTENT_LENGTH`` (413, see errors.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import current_app, g

from service.api.errors import overloaded

EXTENSION = "tagger_slots"


class Slots:
    """A semaphore with a bounded number of waiters.

    ``on_change(busy, waiting)``, when given, hears every change of the slots in use and the
    requests waiting (the metrics' gauges).
    """

    def __init__(self, size: int, max_queue: int,
                 on_change: Callable[[int, int], None] | None = None) -> None:
        self.size = size
        self.max_queue = max_queue
        self._sem = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self.waiting = 0
        self.busy = 0
        self._on_change = on_change

    def _count(self, busy: int = 0, waiting: int = 0) -> None:
        with self._lock:
            self.busy += busy
            self.waiting += waiting
            if self._on_change is not None:
                self._on_change(self.busy, self.waiting)

    @contextmanager
    def hold(self, timeout: float, retry_after: int) -> Iterator[None]:
        """Hold a slot for the ``with`` block, or raise a 503 problem."""
        if not self._sem.acquire(blocking=False):
            with self._lock:
                if self.waiting >= self.max_queue:
                    raise overloaded(
                        f"All {self.size} tagging slot(s) of this worker are busy and {self.waiting} "
                        "request(s) are waiting; retry later.", retry_after)
            self._count(waiting=1)
            try:
                got = self._sem.acquire(timeout=max(timeout, 0.0))
            finally:
                self._count(waiting=-1)
            if not got:
                raise overloaded(
                    f"No tagging slot of this worker came free within {max(timeout, 0.0):.1f} s; "
                    "retry later.",
                    retry_after)
        self._count(busy=1)
        try:
            yield
        finally:
            self._count(busy=-1)
            self._sem.release()


def deadline() -> float:
    """This request's deadline, a ``time.monotonic()`` instant: arrival + ``TIME_BUDGET_S``."""
    return float(g.started) + float(current_app.config["TIME_BUDGET_S"])


@contextmanager
def tagging_slot() -> Iterator[None]:
    """Hold one of this worker's tagging slots for the block (503 when none comes free in time)."""
    config = current_app.config
    slots: Slots = current_app.extensions[EXTENSION]
    wait = min(float(config["QUEUE_TIMEOUT_S"]), deadline() - time.monotonic())
    t0 = time.monotonic()
    with slots.hold(wait, int(config["RETRY_AFTER_S"])):
        g.queue_ms = round((time.monotonic() - t0) * 1000, 1)
        yield
