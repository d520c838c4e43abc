"""Reading requests and writing responses: JSON only, through the schemas, both ways.

``json_body`` accepts ``application/json`` (or any ``application/*+json``) in UTF-8 and answers
415 for another content type, 413 past the body limit (Flask's ``MAX_CONTENT_LENGTH``) and 400 for
a body that is not JSON. ``load`` runs a schema (422 with per-field messages); ``respond``
validates the payload against its response schema before it leaves (marshmallow's ``dump`` does
not validate) and turns a mismatch into a logged 500.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Response, current_app, request
from marshmallow import Schema, ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from service.api.errors import ApiError, invalid

log = logging.getLogger("service.api")


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def json_body() -> Any:
    """The request body parsed as JSON, or a 415, 413 or 400 problem."""
    mimetype = request.mimetype
    json_like = mimetype.startswith("application/") and mimetype.endswith("+json")
    if not (mimetype == "application/json" or json_like):
        got = request.content_type or "no Content-Type"
        raise ApiError("unsupported-media-type",
                       f"Send the body as JSON with 'Content-Type: application/json'; got {got}.")
    raw = request.get_data(cache=False)  # raises 413 when Content-Length is past MAX_CONTENT_LENGTH
    most = request.max_content_length
    if request.content_length is None and most is not None and len(raw) >= most:
        # A chunked body is cut at the limit without an error (Werkzeug): treat reaching it as over.
        raise RequestEntityTooLarge()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        detail = f"The body is not UTF-8: invalid byte at position {exc.start}."
        raise ApiError("malformed-json", detail) from exc
    try:
        return json.loads(text, parse_constant=_no_constants)
    except ValueError as exc:
        where = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise ApiError("malformed-json", f"The body is not valid JSON{where}: {msg}.") from exc


def load(schema: Schema, data: Any) -> dict[str, Any]:
    """``data`` loaded through ``schema``, or a 422 problem with the field messages."""
    try:
        return schema.load(data)
    except ValidationError as err:
        messages = err.messages if isinstance(err.messages, dict) else {"_schema": err.messages}
        raise invalid(messages) from err


def respond(schema: Schema, payload: dict[str, Any], status: int = 200) -> Response:
    """``payload`` as JSON after checking it against ``schema``; a mismatch is a bug: 500, logged."""
    errors = schema.validate(payload)
    if errors:
        log.error("response failed its schema %s: %s", type(schema).__name__, errors)
        raise ApiError("internal-error", "The service produced an invalid response; the error is logged.")
    return current_app.response_class(
        json.dumps(payload, ensure_ascii=False) + "\n", status=status, mimetype="application/json"
    )
