"""Load limits of one worker: bounded concurrency with a bounded wait, and the request time budget.

At most ``MAX_CONCURRENCY`` requests tag at once in a worker; at most ``MAX_QUEUE`` more wait for
a slot, each for at most ``QUEUE_TIMEOUT_S`` (and never past its time budget). Anything beyond
is answered 503 with ``Retry-After`` at once: under overload the service sheds load instead of
queueing without limit. The body size limit is Flask's ``MAX_CONTENT_LENGTH`` (413, see errors.py).

Waiting requests are not served first come, first served but by size: a slot that comes free goes
to the waiter whose *expected finish* (arrival + its body's characters / ``CHARS_PER_S``, at most
``MAX_LEAD_S`` later) is earliest. A short article that arrives while a 100,000-character document
waits goes ahead of it, so one huge request cannot hold every short one behind it for the length
of its own run; the huge one is overtaken only by requests that arrive within ``MAX_LEAD_S`` after
it, so its extra wait is bounded and it is never starved into its queue timeout. Across workers, the
worker class sends new connections to the worker with the least work (``service/gunicorn_worker.py``).
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import current_app, g, request

from service.api.errors import overloaded

EXTENSION = "tagger_slots"
# The engine's rough speed on one worker, in characters of request body per second: it only sets
# how far ahead a short request may go of a long one (a 100,000-character body counts 20 s), so
# the order, not any deadline, depends on it.
CHARS_PER_S = 5_000.0
# The most a long request's place in the queue is pushed back by its size: requests arriving later
# than this after it wait behind it, however short (well under QUEUE_TIMEOUT_S, 20 s by default).
MAX_LEAD_S = 5.0


class Slots:
    """A semaphore with a bounded number of waiters, served by expected finish (size-aware).

    ``on_change(busy, waiting)``, when given, hears every change of the slots in use and the
    requests waiting (the metrics' gauges).
    """

    def __init__(self, size: int, max_queue: int,
                 on_change: Callable[[int, int], None] | None = None,
                 chars_per_s: float = CHARS_PER_S, max_lead_s: float = MAX_LEAD_S) -> None:
        self.size = size
        self.max_queue = max_queue
        self.chars_per_s = chars_per_s
        self.max_lead_s = max_lead_s
        self._cond = threading.Condition(threading.Lock())
        self._waiters: list[tuple[float, int]] = []  # heap of (expected finish, arrival order)
        self._order = itertools.count()
        self.waiting = 0
        self.busy = 0
        self._on_change = on_change

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change(self.busy, self.waiting)

    @contextmanager
    def hold(self, timeout: float, retry_after: int, chars: int = 0) -> Iterator[None]:
        """Hold a slot for the ``with`` block, or raise a 503 problem; ``chars``: the request's size."""
        self._acquire(max(timeout, 0.0), retry_after, max(chars, 0))
        try:
            yield
        finally:
            with self._cond:
                self.busy -= 1
                self._changed()
                self._cond.notify_all()

    def _acquire(self, timeout: float, retry_after: int, chars: int) -> None:
        with self._cond:
            if self.busy < self.size and not self._waiters:
                self.busy += 1
                self._changed()
                return
            if self.waiting >= self.max_queue:
                raise overloaded(
                    f"All {self.size} tagging slot(s) of this worker are busy and {self.waiting} "
                    "request(s) are waiting; retry later.", retry_after)
            now = time.monotonic()
            me = (now + min(chars / self.chars_per_s, self.max_lead_s), next(self._order))
            heapq.heappush(self._waiters, me)
            self.waiting += 1
            self._changed()
            end = now + timeout
            while not (self.busy < self.size and self._waiters[0] == me):
                left = end - time.monotonic()
                if left <= 0:
                    self._waiters.remove(me)
                    heapq.heapify(self._waiters)
                    self.waiting -= 1
                    self._changed()
                    self._cond.notify_all()  # the next waiter may be first now
                    raise overloaded(
                        f"No tagging slot of this worker came free within {timeout:.1f} s; retry later.",
                        retry_after)
                self._cond.wait(left)
            heapq.heappop(self._waiters)
            self.waiting -= 1
            self.busy += 1
            self._changed()
            self._cond.notify_all()  # with several slots, the next waiter may take one too


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
    with slots.hold(wait, int(config["RETRY_AFTER_S"]), request.content_length or 0):
        g.queue_ms = round((time.monotonic() - t0) * 1000, 1)
        yield
