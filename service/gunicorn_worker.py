"""gunicorn's threaded worker, hardened: slow clients cannot hold its threads, errors are problem+json.

``gunicorn.conf.py`` uses :class:`GuardedThreadWorker`. Four things stock ``gthread`` does not do:

**Drain without a backlog** (:class:`DrainingThreadWorker`). Stock ``gthread`` stops *accepting* on
SIGTERM but keeps its listening socket open until the requests in flight have finished (up to
``graceful_timeout``). Meanwhile the kernel still completes the TCP handshake of new connections
and queues them, unseen, in the listen backlog; when the worker exits they are reset. A client that
connected just after the SIGTERM so waited for the whole drain and then got a reset (measured: up
to 17 s, ``bench/fault_test.py``). This worker closes its listeners as soon as it stops accepting
at shutdown: such a client gets ``ECONNREFUSED`` at once and can retry elsewhere. Only this
process's descriptors close: on a reload or a ``max_requests`` restart the others keep listening.

**Read deadlines** (:class:`GuardedThreadWorker`). ``gthread`` reads a request's line and headers
inside a pool thread, with a blocking socket and no deadline: 32 connections that send half a
request and go idle hold every thread, and ``/healthz`` goes unanswered until they leave; 20
stalled uploads do the same. Here the main loop reads each request itself, without blocking (as
nginx in front of an app server would): the line and headers, then a body of known length (up
to ``TAGGER_MAX_BODY_BYTES``, and 64 MiB for all connections of a worker together). A
connection reaches a thread only once its request is in, so idle, trickling or stalled clients
cost a file descriptor and a buffer, never a thread; ``TAGGER_MAX_CONNECTIONS`` caps their
number per worker. Deadlines: the headers must arrive within ``TAGGER_READ_TIMEOUT_S`` of the
first wait, and a body may fall silent for at most ``TAGGER_READ_TIMEOUT_S`` and must be complete
within ``TAGGER_BODY_TIMEOUT_S``; past one, the client gets a 408 problem and the connection
closes (silently if it sent nothing). A slow but steady upload is not cut. What the main loop
does not read ahead (chunked bodies, ``Expect: 100-continue``, bodies past the budget, a header
block over 64 KiB) is read by the thread under the same deadlines, every ``recv`` bounded.

**Balance by work** (:class:`LoadBoard`). All workers poll one listening socket and the first to
wake takes a new connection, whatever it already holds. Each worker publishes in shared memory
the work it holds, in characters of request body (plus a fixed cost per request), and leaves new
connections to a live worker with clearly less. A 100,000-character document then keeps its own
worker busy while short requests go to the others instead of queueing behind it, and requests
below capacity spread over the workers instead of piling into one worker's queue (503s). The
lightest worker always accepts, so a 503 under real overload stays fast. Inside a worker, the
tagging queue is ordered by size too (``service/api/limits.py``).

Keep-alive clients stay on the worker that accepted them, so the balance covers their
connections too: a connection kept alive between two requests counts as one request (its client
will send another), and a worker with clearly more work than another, not counting the
connections it already told to close, answers the next request normally but with ``Connection:
close``, one connection at a time; the client reconnects and the balance places it. A worker
whose places are all taken is the heaviest, so a keep-alive client it refuses reconnects to a
worker with room (figures: ``bench/README.md``, "Fairness"). What the balance cannot help: while
a worker is starting, the others are the service's whole capacity.

**problem+json from the server itself**. Errors gunicorn answers before the app sees the request
(a bad request line 400, a URI over the limit 414, header fields over the limits 431, a read
deadline 408) are ``application/problem+json`` like every other error, instead of gunicorn's
HTML page.

TLS connections (``certfile`` set) are left to gunicorn's own reading: this worker reads ahead
only plain TCP, which is how the service runs (behind a TLS terminator, or in a private network).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import mmap
import os
import selectors
import socket
import struct
import threading
import time
from collections import deque
from functools import partial
from typing import Any

from gunicorn.http import errors as http_errors
from gunicorn.workers.gthread import ThreadWorker
from werkzeug.exceptions import RequestTimeout

from service.api.errors import PROBLEM_MIMETYPE, standalone_problem
from service.config import env_value

log = logging.getLogger("service.server")

# Read ahead at most this much of a header block before handing a connection to a thread; a larger
# one is rare and is read on by the thread, under the same deadline.
READ_AHEAD_BYTES = 64 * 1024
# Balance (see :class:`LoadBoard`): a worker with more work than another live worker leaves new
# connections to it, checking again every ACCEPT_RECHECK_S. Work is counted in characters of
# request body, plus REQUEST_COST_CHARS per request (the fixed cost of a call: labels, set-up), so
# ten short articles and one long one compare by the time they will take. A worker accepts while
# its work is within ACCEPT_SLACK_CHARS of the lightest other one (ties: both accept).
ACCEPT_RECHECK_S = 0.025
REQUEST_COST_CHARS = 2_000
ACCEPT_SLACK_CHARS = REQUEST_COST_CHARS
# A kept-alive connection between two requests counts as one request: its client keeps it to send
# another, here. Counted as nothing, connections piled onto whichever worker had just answered, and
# about every other answer then closed its connection to undo that (tests/test_api_gunicorn.py).
KEPT_ALIVE_CHARS = REQUEST_COST_CHARS
# Added to a worker's published work when it cannot take a request well: every tagging place taken
# (a new request would be refused), or its model not ready; the others are preferred while they can.
FULL_CHARS = 1e9
NOT_READY_CHARS = 1e12
# An entry whose worker has not written for this long is ignored (killed, stuck): never waited for.
BOARD_STALE_S = 3.0
BOARD_ENTRIES = 256
# Bodies read ahead by one worker at once, all connections together: past it a body is read by its
# thread instead (under the body deadlines), so memory stays bounded whatever clients send.
BODY_AHEAD_BUDGET = 64 * 1024 * 1024


class ReadTimeout(RequestTimeout):
    """A client did not send its request (headers or body) in time: 408, and the connection closes.

    A Werkzeug ``HTTPException``, so that raised inside the app while it reads the body it becomes
    the app's own problem+json 408; raised while the worker reads headers, :meth:`handle_error`
    answers it.
    """


class DeadlineSocket:
    """A client socket that hands out bytes read ahead first and bounds every blocking ``recv``.

    Everything but ``recv`` is the socket's own (sending, ``sendfile``, ``shutdown`` ...).
    ``deadline`` (a ``time.monotonic()`` instant) and ``idle`` (the longest wait for one read) apply
    to reads in blocking mode, which is how gunicorn's threads read; the main loop reads
    non-blocking and is never bound by them.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.buffer = b""  # read ahead by the main loop, not yet given to the parser
        self.started = time.monotonic()  # when the current request's headers began to be awaited
        self.headers_ready = False
        self.request_end: int | None = None  # bytes of headers and body, once the headers are in
        self.promised = 0  # of those, the body's (counted in the worker's read-ahead budget)
        self.body_length: int | None = None  # by its headers; None: not known (chunked ...)
        self.body_started = 0.0
        self.last_data = 0.0
        self.deadline: float | None = None
        self.idle: float | None = None
        self.what = "headers"  # what the deadline is for, for the 408's detail
        self.timed_out = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def fileno(self) -> int:
        """The socket's descriptor (selectors register this object by it)."""
        return self._sock.fileno()

    def read_ahead(self, size: int) -> bytes:
        """One non-blocking read into :attr:`buffer`; returns what came (b"" when the peer closed)."""
        data = self._sock.recv(size)
        self.buffer += data
        return data

    def recv(self, size: int, flags: int = 0) -> bytes:
        """Bytes read ahead first, then the socket, within the deadline when one is set."""
        if self.buffer:
            data, self.buffer = self.buffer[:size], self.buffer[size:]
            return data
        prior = self._sock.gettimeout()
        if self.deadline is None or prior == 0.0:
            return self._sock.recv(size, flags)
        wait = self.deadline - time.monotonic()
        if self.idle is not None:
            wait = min(wait, self.idle)
        if prior is not None:
            wait = min(wait, prior)
        if wait <= 0:
            raise self._timed_out()
        self._sock.settimeout(wait)
        try:
            return self._sock.recv(size, flags)
        except TimeoutError as exc:
            raise self._timed_out() from exc
        finally:
            self._sock.settimeout(prior)

    def _timed_out(self) -> ReadTimeout:
        self.deadline = time.monotonic()  # spent: any later read fails at once
        self.timed_out = True
        return ReadTimeout(f"The request's {self.what} did not arrive in time; the connection is closed.")


def _header_end(buf: bytes, searched_up_to: int) -> int:
    """Where the blank line ending a header block ends in ``buf``, or -1 (searching only new bytes)."""
    start = max(0, searched_up_to - 3)
    ends = [i + len(sep) for sep in (b"\r\n\r\n", b"\n\n") if (i := buf.find(sep, start)) >= 0]
    return min(ends, default=-1)


def _body_length(head: bytes) -> int | None:
    """The body's length by ``Content-Length`` (0 without one), or None when the main loop should
    not read it ahead: chunked, ``Expect: 100-continue`` (the client waits for a go-ahead) or
    headers gunicorn will refuse anyway (two lengths, not a number)."""
    length: int | None = None
    for line in head.split(b"\n")[1:]:
        name, sep, value = line.partition(b":")
        name = name.strip().lower()
        if not sep:
            continue
        if name in (b"transfer-encoding", b"expect"):
            return None
        if name == b"content-length":
            value = value.strip()
            if length is not None or not value.isdigit():
                return None
            length = int(value)
    return length or 0


class LoadBoard:
    """Every worker's work in hand, in characters, in shared memory: how workers balance new connections.

    All workers poll the same listening socket and the first to wake takes a new connection,
    whatever it holds: one 100,000-character document could hold a worker's only tagging slot for
    20 s while short requests keep landing behind it, and 8 clients could put 6 requests on one
    worker and 2 on the other and get 503s below capacity. Each worker therefore publishes here the
    work it has taken on (bodies it holds, tagging or waiting, plus a cost per request) and steps
    aside while another live worker has less, so new connections go to the least loaded worker.

    An anonymous ``MAP_SHARED`` mapping made when gunicorn's master imports this module, so every
    worker forked from it shares it; no lock (a torn read misjudges one connection, no more).
    Entry ``age % BOARD_ENTRIES`` (gunicorn numbers its workers) holds pid, work and the time of
    the last write (``CLOCK_MONOTONIC``, the same in every process); stale entries are ignored.
    """

    _ENTRY = struct.Struct("=qdd")

    def __init__(self, entries: int = BOARD_ENTRIES) -> None:
        self.entries = entries
        self._mem = mmap.mmap(-1, entries * self._ENTRY.size)

    def publish(self, index: int, work: float, now: float) -> None:
        """Write this process's work into entry ``index``."""
        self._ENTRY.pack_into(self._mem, (index % self.entries) * self._ENTRY.size, os.getpid(), work, now)

    def clear(self, index: int) -> None:
        """Free entry ``index`` (a worker leaving)."""
        self._ENTRY.pack_into(self._mem, (index % self.entries) * self._ENTRY.size, 0, 0.0, 0.0)

    def lightest_other(self, index: int, now: float) -> float | None:
        """The least work another live worker published, or None when there is no other."""
        mine = index % self.entries
        pid = os.getpid()
        best: float | None = None
        for i, (other, work, beat) in enumerate(self._ENTRY.iter_unpack(self._mem)):
            if i == mine or other in (0, pid) or now - beat > BOARD_STALE_S or not _alive(other):
                continue
            best = work if best is None else min(best, work)
        return best


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists: a worker killed a moment ago must not be waited for."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists
        return True
    return True


# Made in gunicorn's master (which imports this module to find the worker class), before any fork.
BOARD = LoadBoard()


class DrainingThreadWorker(ThreadWorker):
    """``gthread`` that closes its listeners when it stops accepting to shut down."""

    def set_accept_enabled(self, enabled: bool) -> None:
        """Stop or start accepting; at shutdown, close the listening sockets too."""
        super().set_accept_enabled(enabled)
        if not enabled and not self.alive:  # shutting down, not merely at its connection limit
            for sock in self.sockets:
                sock.close()


class GuardedThreadWorker(DrainingThreadWorker):
    """``gthread`` whose main loop reads request headers ahead, with deadlines on every read."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.read_timeout = float(env_value("READ_TIMEOUT_S"))
        self.body_timeout = float(env_value("BODY_TIMEOUT_S"))
        self.max_body = int(env_value("MAX_BODY_BYTES"))  # a larger body is the app's 413, not read here
        self.reading: deque[Any] = deque()  # connections whose request the main loop is reading
        self.body_ahead = 0  # bytes of bodies promised to connections being read ahead
        self.accept_paused = False  # listeners off the poller until the next check (heavier than another)
        self.work = 0.0  # characters of the requests this worker holds (see REQUEST_COST_CHARS)
        self.bodies_held = 0  # requests being read, or with a body (tagging or waiting for a slot)
        self.closing = 0  # connections told to close after their request (moving to another worker)
        self._closing_lock = threading.Lock()  # pool threads decide, the main loop counts them out

    # --- balance: new connections go to the worker with the least work (LoadBoard) ------------------

    def _places(self) -> int | None:
        """Requests this worker can hold before it refuses (tagging slots + queue), once known."""
        slots = getattr(getattr(self, "wsgi", None), "extensions", {}).get("tagger_slots")
        return None if slots is None else int(slots.size + slots.max_queue)

    def _published_work(self, leaving: int = 0) -> float:
        """This worker's work as the others see it: marked up when it is full or not ready, infinite
        while it takes no connections (at its connection cap, or stopping): never the lightest.

        ``leaving``: connections already told to close, counted out (for this worker's own decision
        to move one more, not published: their requests are still in hand).
        """
        if not (self.alive and self._accepting):
            return float("inf")
        work = self.work + KEPT_ALIVE_CHARS * (self._idle_connections() - leaving)
        places = self._places()
        if places is not None and self.bodies_held - leaving >= places:
            work += FULL_CHARS
        state = getattr(getattr(self, "wsgi", None), "extensions", {}).get("tagger")
        if state is not None and getattr(state, "status", "ready") != "ready":
            work += NOT_READY_CHARS
        return work

    def _idle_connections(self) -> int:
        """Connections kept alive between requests (gunicorn's lists, changed by the main loop only)."""
        return len(self.keepalived_conns) + len(getattr(self, "pending_conns", ()))

    def _publish(self) -> None:
        BOARD.publish(self.age, self._published_work(), time.monotonic())

    def _heavier_than_another(self, leaving: int = 0) -> bool:
        """True while another live worker that accepts has clearly less work than this one."""
        lightest = BOARD.lightest_other(self.age, time.monotonic())
        return lightest is not None and self._published_work(leaving) > lightest + ACCEPT_SLACK_CHARS

    def _hold_work(self, conn: Any, work: float, body: bool) -> None:
        """Count ``work`` characters for ``conn`` from now on (replacing what it counted before)."""
        before, had_body = getattr(conn, "work", (0.0, False))
        self.work += work - before
        self.bodies_held += int(body) - int(had_body)
        conn.work = (work, body)
        self._publish()

    def notify(self) -> None:
        """gunicorn's heartbeat (every turn of the main loop), and this worker's entry on the board."""
        super().notify()
        self._publish()

    def init_process(self) -> None:
        """Claim this worker's board entry before it serves, and free it when the worker exits."""
        BOARD.publish(self.age, NOT_READY_CHARS, time.monotonic())
        try:
            super().init_process()
        finally:
            BOARD.clear(self.age)

    def accept(self, listener: Any) -> None:
        """Accept, unless another live worker has less work: then leave the connection to it.

        The listeners come off this worker's poller for ACCEPT_RECHECK_S, then the check runs
        again. Only a worker that is accepting counts as lighter (a stopping worker, or one at
        its connection cap, publishes infinite work), so the lightest worker always accepts: a
        connection never waits for nobody, and under real overload a 503 stays fast.
        """
        if not self._heavier_than_another():
            super().accept(listener)
            return
        self.accept_paused = True
        for sock in self.sockets:
            with contextlib.suppress(KeyError, ValueError, OSError):
                self.poller.unregister(sock)
        timer = threading.Timer(ACCEPT_RECHECK_S, self._wake_to_resume)
        timer.daemon = True
        timer.start()

    def _wake_to_resume(self) -> None:
        """From the timer's thread: have the main loop put the listeners back."""
        with contextlib.suppress(OSError, ValueError):  # the worker may have exited meanwhile
            self.method_queue.defer(self._resume_accepting)

    def _resume_accepting(self) -> None:
        if self.accept_paused:
            self.accept_paused = False
            if self._accepting:
                for sock in self.sockets:
                    self.poller.register(sock, selectors.EVENT_READ, self.accept)

    def set_accept_enabled(self, enabled: bool) -> None:
        """gunicorn's switch, with the listeners put back first if a busy pause took them off."""
        self._resume_accepting()
        super().set_accept_enabled(enabled)

    # --- the main loop: read headers ahead, hand complete ones to the pool --------------------------

    def enqueue_req(self, conn: Any) -> None:
        """Hand ``conn`` to a thread once its headers are in; until then read them here."""
        if self.cfg.is_ssl:
            self._hold_work(conn, REQUEST_COST_CHARS, True)
            super().enqueue_req(conn)
            return
        if not isinstance(conn.sock, DeadlineSocket):
            conn.sock = DeadlineSocket(conn.sock)
        sock: DeadlineSocket = conn.sock
        parser_buffer = getattr(getattr(conn.parser, "unreader", None), "buf", None)
        pipelined = bool(sock.buffer) or (parser_buffer is not None and bool(parser_buffer.getvalue()))
        if sock.headers_ready or pipelined:
            # complete headers, or the next request already read by the parser (pipelining): its
            # headers may still need reading in the thread, by the deadline counted from their start
            if not sock.headers_ready:
                sock.started = time.monotonic()
            sock.headers_ready = False
            sock.what, sock.idle = "headers", None
            sock.deadline = sock.started + self.read_timeout
            conn.data_ready = True  # gunicorn >= 24 would otherwise wait for the socket in the thread
            if not getattr(conn, "work", (0.0, False))[1]:  # pipelined: size unknown, counted as one
                self._hold_work(conn, REQUEST_COST_CHARS, True)
            super().enqueue_req(conn)
            return
        sock.started = sock.last_data = time.monotonic()
        sock.request_end = None
        sock.setblocking(False)
        # counted from now, as a request, not from its headers: a burst of connections spreads evenly
        self._hold_work(conn, REQUEST_COST_CHARS, True)
        self.reading.append(conn)
        self.poller.register(sock, selectors.EVENT_READ, partial(self._on_readable, conn))

    def _on_readable(self, conn: Any, _fileobj: Any) -> None:
        """Read what came; hand the connection over once its headers, and a body of known length
        (within the budgets), are all in."""
        sock: DeadlineSocket = conn.sock
        before = len(sock.buffer)
        want = READ_AHEAD_BYTES - before if sock.request_end is None else sock.request_end - before
        try:
            data = sock.read_ahead(max(want, 1))
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client closed (or reset) before sending a whole request
            self._drop(conn)
            return
        sock.last_data = time.monotonic()
        if sock.request_end is None:
            end = _header_end(sock.buffer, before)
            if end < 0:
                if len(sock.buffer) >= READ_AHEAD_BYTES:
                    self._hand_over(conn)
                return
            length = sock.body_length = _body_length(sock.buffer[:end])
            if length is None or length > self.max_body or self.body_ahead + length > BODY_AHEAD_BUDGET:
                self._hand_over(conn)  # its thread reads the body, under the body deadlines
                return
            sock.request_end, sock.promised, sock.body_started = end + length, length, sock.last_data
            self.body_ahead += length
        if len(sock.buffer) >= sock.request_end:
            self._hand_over(conn)

    def _hand_over(self, conn: Any) -> None:
        sock: DeadlineSocket = conn.sock
        length = sock.body_length
        # a body this worker did not read ahead (chunked, over a budget) counts as one request
        self._hold_work(conn, REQUEST_COST_CHARS + (sock.promised or 0), length is None or length > 0)
        self._stop_reading(conn)
        sock.headers_ready = True
        self.enqueue_req(conn)

    def _stop_reading(self, conn: Any) -> None:
        sock: DeadlineSocket = conn.sock
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(sock)
        self.reading.remove(conn)
        self.body_ahead -= sock.promised
        sock.request_end, sock.promised, sock.body_length = None, 0, None

    def _drop(self, conn: Any, answer: str | None = None) -> None:
        """Stop reading ``conn`` and close it; ``answer``: the 408's detail (it sent part of a request)."""
        self._stop_reading(conn)
        self._hold_work(conn, 0.0, False)
        self.nr_conns -= 1
        if answer:
            # best effort, without blocking the main loop: the client may not be reading
            with contextlib.suppress(OSError):
                conn.sock.send(_problem_bytes(408, answer))
            log.warning("closed a connection: %s", answer,
                        extra={"remote_addr": _peer(conn.client), "status": 408})
        conn.close()

    def _expired(self, sock: DeadlineSocket, now: float) -> str | None:
        """Why a connection being read ahead has run out of time, or None."""
        if sock.request_end is None:
            if now >= sock.started + self.read_timeout:
                return (f"The request line and headers did not arrive within {self.read_timeout:g} s "
                        "(TAGGER_READ_TIMEOUT_S); the connection is closed.")
            return None
        if now >= sock.last_data + self.read_timeout:
            return (f"The request body stopped arriving for {self.read_timeout:g} s (TAGGER_READ_TIMEOUT_S); "
                    "the connection is closed.")
        if now >= sock.body_started + self.body_timeout:
            return (f"The request body did not arrive within {self.body_timeout:g} s "
                    "(TAGGER_BODY_TIMEOUT_S); the connection is closed.")
        return None

    def murder_keepalived(self, *args: Any, **kwargs: Any) -> None:
        """gunicorn's keep-alive expiry (its main loop calls it every second), plus read deadlines."""
        super().murder_keepalived(*args, **kwargs)
        now = time.monotonic()
        for conn in list(self.reading):
            sock: DeadlineSocket = conn.sock
            why = self._expired(sock, now)
            if why is not None:
                self._drop(conn, answer=why if sock.buffer else None)  # silent if it sent nothing
            elif not self.alive and not sock.buffer:  # shutting down: nothing of a request yet
                self._drop(conn)

    def finish_request(self, conn: Any, fs: Any) -> None:
        """A request is answered (main loop): its work no longer counts, then gunicorn's own handling."""
        self._hold_work(conn, 0.0, False)
        if getattr(conn, "closing", False):
            conn.closing = False
            with self._closing_lock:
                self.closing -= 1
        super().finish_request(conn, fs)
        self._publish()  # kept alive (counted as idle) or closed: either way the board hears it now

    # --- in a pool thread -------------------------------------------------------------------------

    def handle(self, conn: Any) -> Any:
        """gunicorn's handling, then any bytes read ahead past this request go back to the parser."""
        result = super().handle(conn)
        sock = conn.sock
        if isinstance(sock, DeadlineSocket):
            sock.deadline = None
            unreader = getattr(conn.parser, "unreader", None)
            if sock.buffer and unreader is not None:  # a pipelined next request: keep it in order
                unreader.unread(sock.buffer)
                sock.buffer = b""
        return result

    def handle_request(self, req: Any, conn: Any) -> Any:
        """Serve one request with the body deadlines set; a body that timed out closes the connection."""
        sock = conn.sock
        if not isinstance(sock, DeadlineSocket):
            return super().handle_request(req, conn)
        with self._closing_lock:
            # another worker has less work, even without the connections already leaving: close
            # this one after its request, so that the client's next request connects anew and
            # lands there (one at a time: a burst of requests does not send them all away)
            if self._heavier_than_another(leaving=self.closing):
                req.must_close = conn.closing = True
                self.closing += 1
        sock.what, sock.idle, sock.timed_out = "body", self.read_timeout, False
        sock.deadline = time.monotonic() + self.body_timeout
        try:
            keepalive = super().handle_request(req, conn)
        finally:
            sock.deadline = sock.idle = None
        return keepalive and not sock.timed_out

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        """Errors answered before the app: problem+json instead of gunicorn's HTML page."""
        status, detail = _status_of(exc)
        if status >= 500:
            log.error("error handling a request", exc_info=exc, extra={"remote_addr": _peer(addr)})
        else:
            log.warning("refused a request: %s", detail, extra={"remote_addr": _peer(addr), "status": status})
        try:
            if isinstance(client, DeadlineSocket | socket.socket):
                client.settimeout(2.0)
            client.sendall(_problem_bytes(status, detail, getattr(req, "path", None)))
        except OSError as err:
            if err.errno not in (errno.EPIPE, errno.ECONNRESET, errno.EBADF, None):
                log.debug("could not send the error: %s", err)


def _peer(addr: Any) -> str | None:
    return str(addr[0]) if isinstance(addr, tuple) and addr else None


def _status_of(exc: BaseException) -> tuple[int, str]:
    """The status and detail for an error gunicorn raised while reading a request."""
    if isinstance(exc, ReadTimeout):
        return 408, str(exc.description)
    if isinstance(exc, http_errors.InvalidResponseHeader | http_errors.InvalidResponseHeaderName):
        return 500, "The service failed to answer this request; the error is logged."
    if isinstance(exc, http_errors.LimitRequestLine):
        return 414, f"The request line is too long: {exc}. Send long input in the body."
    if isinstance(exc, http_errors.LimitRequestHeaders):
        return 431, f"The request's header fields are too large or too many: {exc}."
    if isinstance(exc, http_errors.UnsupportedTransferCoding):
        return 501, f"{exc}."
    if isinstance(exc, http_errors.ExpectationFailed):
        return 417, f"{exc}."
    if isinstance(exc, http_errors.ForbiddenProxyRequest):
        return 403, "Proxy protocol requests are not allowed from this address."
    if isinstance(exc, http_errors.ParseException):
        return 400, f"The request could not be parsed as HTTP/1.1: {type(exc).__name__}: {exc}."[:500]
    return 500, "The service failed to answer this request; the error is logged."


def _problem_bytes(status: int, detail: str, instance: str | None = None) -> bytes:
    """A whole HTTP/1.1 response carrying a problem document; the connection closes after it."""
    reason, request_id, body = standalone_problem(status, detail, instance=instance)
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: {PROBLEM_MIMETYPE}\r\n"
            f"Content-Length: {len(body)}\r\nX-Request-ID: {request_id}\r\n\r\n")
    return head.encode("latin-1") + body
