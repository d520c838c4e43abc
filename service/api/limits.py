"""Load limits of one worker: bounded concurrency with a bounded wait, and the request time budget.

At most ``MAX_CONCURRENCY`` requests tag at once in a worker; at most ``MAX_QUEUE`` more wait for
a slot, each for at most ``QUEUE_TIMEOUT_S`` (and never past its time budget). Anything beyond
is answered 503 with ``Retry-After`` at once: under overload the service sheds load instead of
queueing without limit. The body size limit is Flask's ``MAX_CONTENT_LENGTH`` (413, see errors.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app, g

from service.api.errors import overloaded

EXTENSION = "tagger_slots"


class Slots:
    """A semaphore with a bounded number of waiters."""

    def __init__(self, size: int, max_queue: int) -> None:
        self.size = size
        self.max_queue = max_queue
        self._sem = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self.waiting = 0

    @contextmanager
    def hold(self, timeout: float, retry_after: int) -> Iterator[None]:
        """Hold a slot for the ``with`` block, or raise a 503 problem."""
        if not self._sem.acquire(blocking=False):
            with self._lock:
                if self.waiting >= self.max_queue:
                    raise overloaded(
                        f"All {self.size} tagging slot(s) of this worker are busy and {self.waiting} "
                        "request(s) are waiting; retry later.", retry_after)
                self.waiting += 1
            try:
                got = self._sem.acquire(timeout=max(timeout, 0.0))
            finally:
                with self._lock:
                    self.waiting -= 1
            if not got:
                raise overloaded(
                    f"No tagging slot of this worker came free within {max(timeout, 0.0):.1f} s; "
                    "retry later.",
                    retry_after)
        try:
            yield
        finally:
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
