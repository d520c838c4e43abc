"""gunicorn's threaded worker, refusing new connections at once on SIGTERM (``gunicorn.conf.py`` uses it).

Stock ``gthread`` stops *accepting* on SIGTERM but keeps its listening socket open until the requests
in flight have finished (up to ``graceful_timeout``). Meanwhile the kernel still completes the TCP
handshake of new connections and queues them, unseen by the service, in the listen backlog; when
the worker finally exits they are reset. A client that connected just after the SIGTERM so waited
for the whole drain and then got a connection reset, with no answer (measured: up to 17 s, by
``bench/fault_test.py``).

This worker closes its listening sockets as soon as it stops accepting at shutdown, so such a
client gets ``ECONNREFUSED`` at once (the master closes its own copy before it signals the
workers) and can retry elsewhere, while the requests in flight finish as before. Only this
process's descriptors close: on a reload (HUP) or a ``max_requests`` restart the master and the
other workers keep the socket listening.
"""

from __future__ import annotations

from gunicorn.workers.gthread import ThreadWorker


class DrainingThreadWorker(ThreadWorker):
    """``gthread`` that closes its listeners when it stops accepting to shut down."""

    def set_accept_enabled(self, enabled: bool) -> None:
        super().set_accept_enabled(enabled)
        if not enabled and not self.alive:  # shutting down, not merely at its connection limit
            for sock in self.sockets:
                sock.close()
