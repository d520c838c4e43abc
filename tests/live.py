"""A Flask app served over real HTTP on a free loopback port, for tests whose client needs a socket."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from werkzeug.serving import make_server


@contextmanager
def served(app: Flask, join_s: float = 5) -> Iterator[str]:
    """Serve ``app`` in a daemon thread; yields its base URL and shuts the server down after."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(join_s)
