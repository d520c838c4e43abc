"""The one place where every error becomes ``application/problem+json`` (RFC 9457).

Views and hooks raise :class:`ApiError` (or one of its helpers below); Werkzeug raises its
``HTTPException`` (404, 405, 413 ...); anything else is a bug and becomes a generic 500 whose
details go to the log only. Every problem carries ``type``, ``title``, ``status``, ``detail``,
``instance`` (the request path) and ``request_id``; a 422 adds ``errors``: ``{field: [messages]}``.
"""

from __future__ import annotations

import json
import logging
import uuid
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, current_app, g, has_request_context, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger("service.api")

PROBLEM_MIMETYPE = "application/problem+json"
TYPE_PREFIX = "urn:newsroom-tagger:problem:"

# type slug -> (status, title) of the problems this service answers with. The spec documents these.
PROBLEMS: dict[str, tuple[int, str]] = {
    "bad-request": (400, "Bad Request"),
    "malformed-json": (400, "Malformed JSON"),
    "unauthorized": (401, "Unauthorized"),
    "forbidden-origin": (403, "Origin not allowed"),
    "not-found": (404, "Not Found"),
    "method-not-allowed": (405, "Method Not Allowed"),
    "body-too-large": (413, "Request body too large"),
    "unsupported-media-type": (415, "Unsupported Media Type"),
    "invalid-fields": (422, "Invalid request fields"),
    "internal-error": (500, "Internal Server Error"),
    "not-ready": (503, "Service not ready"),
    "overloaded": (503, "Service overloaded"),
    "time-budget-exceeded": (504, "Time budget exceeded"),
    "http-error": (0, ""),  # any other HTTP status Werkzeug raises: its own code and name
}

# Werkzeug's exceptions by status -> our problem slug.
_HTTP_SLUGS = {
    400: "bad-request",
    404: "not-found",
    405: "method-not-allowed",
    413: "body-too-large",
    415: "unsupported-media-type",
}


class ApiError(Exception):
    """An error answered as a problem: ``slug`` names its type and gives status and title."""

    def __init__(
        self,
        slug: str,
        detail: str,
        *,
        errors: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        status: int | None = None,
        title: str | None = None,
    ) -> None:
        super().__init__(detail)
        default_status, default_title = PROBLEMS[slug]
        self.slug = slug
        self.status = status or default_status
        self.title = title or default_title
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}

    def to_dict(self) -> dict[str, Any]:
        """The problem document (without the request-dependent members)."""
        body: dict[str, Any] = {
            "type": TYPE_PREFIX + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors is not None:
            body["errors"] = self.errors
        return body


def invalid(errors: dict[str, Any], detail: str | None = None) -> ApiError:
    """422 with per-field messages (marshmallow's ``messages`` dict)."""
    fields = ", ".join(sorted(map(str, errors))) or "request"
    return ApiError("invalid-fields", detail or f"The request has invalid fields: {fields}.", errors=errors)


def not_ready(detail: str, retry_after: int | None) -> ApiError:
    """503 while the model loads (``Retry-After``) or after it failed to load (no ``Retry-After``)."""
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    return ApiError("not-ready", detail, headers=headers)


def overloaded(detail: str, retry_after: int) -> ApiError:
    """503 when this worker has no tagging slot free: retry later, do not queue."""
    return ApiError("overloaded", detail, headers={"Retry-After": str(retry_after)})


def time_budget_exceeded(budget_s: float) -> ApiError:
    """504 when a request ran past its time budget."""
    return ApiError(
        "time-budget-exceeded",
        f"The request did not finish within its time budget of {budget_s:g} s; send a shorter text, "
        "fewer documents or fewer labels, or retry when the service is less busy.",
    )


def json_text(payload: Any) -> str:
    """``payload`` as one line of JSON, non-ASCII kept as is where it can be sent as UTF-8.

    A string holding an unpaired surrogate cannot be encoded in UTF-8; rather than fail the response
    (a 500 after the work is done), such a payload is written with ``\\uXXXX`` escapes, which JSON
    allows and every JSON parser reads back to the same string.
    """
    text = json.dumps(payload, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(payload, ensure_ascii=True)
    return text + "\n"


def standalone_problem(status: int, detail: str, *, instance: str | None = None) -> tuple[str, str, bytes]:
    """A problem document for errors answered before Flask sees the request (the gunicorn worker).

    Returns the reason phrase, a fresh request id (there is no request yet) and the UTF-8 body.
    """
    slug = _HTTP_SLUGS.get(status, "http-error")
    reason = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + slug,
        "title": PROBLEMS[slug][1] or reason,
        "status": status,
        "detail": detail,
        "request_id": uuid.uuid4().hex,
    }
    if instance:
        body["instance"] = instance
    return reason, body["request_id"], json_text(body).encode("utf-8")


def problem_response(err: ApiError) -> Response:
    """``err`` as an ``application/problem+json`` response."""
    body = err.to_dict()
    if has_request_context():
        body["instance"] = request.path
        g.problem = err.slug  # for the metrics (refusals by type)
        rid = g.get("request_id")
        if rid:
            body["request_id"] = rid
    resp = current_app.response_class(json_text(body), status=err.status, mimetype=PROBLEM_MIMETYPE)
    for name, value in err.headers.items():
        resp.headers[name] = value
    return resp


def from_http_exception(exc: HTTPException) -> ApiError:
    """Werkzeug's 4xx/5xx as our problem; keeps its headers (``Allow`` on 405)."""
    code = exc.code or 500
    slug = _HTTP_SLUGS.get(code, "http-error")
    headers = {k: v for k, v in exc.get_headers() if k.lower() not in {"content-type", "content-length"}}
    if "Allow" in headers:
        headers["Allow"] = ", ".join(sorted(m.strip() for m in headers["Allow"].split(",")))
    detail = exc.description or exc.name
    if code == 404:
        detail = f"There is no resource at {request.path}; see /openapi.yaml or /docs for the API."
    elif code == 405:
        allowed = sorted(getattr(exc, "valid_methods", None) or [])
        detail = f"{request.method} is not allowed on {request.path}; allowed: {', '.join(allowed)}."
    elif code == 413:
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        detail = f"The request body is larger than the limit of {limit} bytes (TAGGER_MAX_BODY_BYTES)."
    if slug == "http-error":
        return ApiError("http-error", detail, headers=headers, status=code, title=exc.name)
    return ApiError(slug, detail, headers=headers)


def register(app: Flask) -> None:
    """Install the handlers: after this no error leaves the app as HTML."""

    @app.errorhandler(ApiError)
    def _api_error(err: ApiError) -> Response:
        return problem_response(err)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        return problem_response(from_http_exception(exc))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.error(
            "unhandled error on %s %s", request.method, request.path,
            exc_info=exc, extra={"request_id": g.get("request_id")},
        )
        return problem_response(
            ApiError("internal-error", "The service failed to answer this request; the error is logged "
                     "with this request_id.")
        )
