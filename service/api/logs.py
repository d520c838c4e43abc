"""Structured JSON logs, the request id and one access log line per request (never article text).

Every log line is one JSON object (``ts``, ``level``, ``logger``, ``message`` and extras such as
``request_id``). The access line has ``method``, ``path`` (no query string), ``status``,
``latency_ms``, ``request_bytes``, ``response_bytes``, ``request_id`` and ``remote_addr``, and on
the tagging endpoints ``documents`` and ``characters`` tagged, ``model_ms`` (time in the engine)
and ``cache_hits`` (documents answered from the worker's result cache);
bodies are never logged. The request id comes from ``X-Request-ID`` when it is a sane token (1-128
characters of letters, digits and ``._:-``), otherwise a fresh one is made; either way it is
echoed in the ``X-Request-ID`` response header and in problem bodies.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, request

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

access_log = logging.getLogger("service.access")


class JsonFormatter(logging.Formatter):
    """One JSON object per line; extras passed with ``extra={...}`` become members."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as JSON."""
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and value is not None:
                out[key] = value
        if record.exc_info:
            out["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def configure_logging(level: str) -> None:
    """Send the ``service`` loggers to stderr as JSON at ``level`` (once per process)."""
    root = logging.getLogger("service")
    root.setLevel(level)
    if not any(getattr(h, "_tagger_json", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._tagger_json = True  # type: ignore[attr-defined]
        root.addHandler(handler)
        root.propagate = False


def _request_id() -> str:
    sent = request.headers.get(REQUEST_ID_HEADER, "")
    return sent if _REQUEST_ID.match(sent) else uuid.uuid4().hex


def _start() -> None:
    g.started = time.monotonic()
    g.request_id = _request_id()


def _finish(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
    if g.get("access_log", True):
        started = g.get("started", time.monotonic())
        access_log.info(
            "%s %s %s", request.method, request.path, response.status_code,
            extra={
                "request_id": g.get("request_id"),
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "latency_ms": round((time.monotonic() - started) * 1000, 1),
                "request_bytes": request.content_length or 0,
                "response_bytes": response.content_length or 0,
                "remote_addr": request.remote_addr,
                # set by service.api.jobs on the tagging endpoints only (None: left out of the line)
                "documents": g.get("documents"),
                "characters": g.get("characters"),
                "model_ms": round(g.model_s * 1000, 1) if "model_s" in g else None,
                "cache_hits": g.get("cache_hits"),
            },
        )
    return response


def register(app: Flask) -> None:
    """Install the request id and access log hooks (the first before and the last after hook)."""
    access = bool(app.config["ACCESS_LOG"])

    @app.before_request
    def _begin() -> None:
        _start()
        g.access_log = access

    app.after_request(_finish)
