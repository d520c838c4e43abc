"""Access control: optional API keys and a CORS allow-list for browser-based CMS plugins.

API keys: when ``TAGGER_API_KEYS`` or ``TAGGER_API_KEYS_FILE`` names any key, every request needs
``Authorization: Bearer <key>``, except the open paths (health, readiness, the spec and the docs)
and CORS preflights. Keys are compared in constant time (``hmac.compare_digest`` on their SHA-256
digests, against every key, so neither timing nor length tells anything). A missing or wrong key
is a 401 problem with ``WWW-Authenticate: Bearer``.

CORS: ``TAGGER_CORS_ORIGINS`` lists the origins allowed (exact ``scheme://host[:port]``, or ``*``).
A preflight (``OPTIONS`` with ``Access-Control-Request-Method``) from an allowed origin is answered
204 with the allowed methods and headers; from any other origin it is a 403 problem. Actual
responses to an allowed origin carry ``Access-Control-Allow-Origin`` and expose ``X-Request-ID``
and ``Retry-After``. Without the setting no CORS header is ever sent (browsers then refuse).
"""

from __future__ import annotations

import hashlib
import hmac

from flask import Flask, Response, current_app, request

from service.api.errors import ApiError
from service.config import load_api_keys

KEYS_EXTENSION = "tagger_api_keys"
OPEN_PATHS = ("/healthz", "/readyz", "/openapi.yaml", "/docs")
ALLOWED_METHODS = "GET, POST, OPTIONS"
ALLOWED_HEADERS = "Authorization, Content-Type, X-Request-ID"
EXPOSED_HEADERS = "X-Request-ID, Retry-After"


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()


def key_matches(candidate: str, digests: tuple[bytes, ...]) -> bool:
    """True if ``candidate`` is one of the keys; compares against all of them in constant time."""
    got = _digest(candidate)
    ok = False
    for known in digests:
        ok |= hmac.compare_digest(got, known)
    return ok


def _is_open(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in OPEN_PATHS)


def _is_preflight() -> bool:
    return request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers


def _origin_allowed(origin: str | None) -> bool:
    allowed = current_app.config["CORS_ORIGINS"]
    return bool(origin) and ("*" in allowed or origin in allowed)


def _preflight() -> Response | None:
    if not _is_preflight():
        return None
    origin = request.headers.get("Origin")
    if not _origin_allowed(origin):
        raise ApiError("forbidden-origin", f"The origin {origin!r} is not in TAGGER_CORS_ORIGINS.")
    resp = current_app.response_class(status=204)
    resp.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
    resp.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
    resp.headers["Access-Control-Max-Age"] = str(current_app.config["CORS_MAX_AGE_S"])
    return resp


def _authenticate() -> None:
    digests: tuple[bytes, ...] = current_app.extensions[KEYS_EXTENSION]
    if not digests or _is_open(request.path) or request.method == "OPTIONS":
        return
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("This service needs an API key: send 'Authorization: Bearer <key>'.")
    if not key_matches(token.strip(), digests):
        raise _unauthorized("The API key is not valid.")


def _unauthorized(detail: str) -> ApiError:
    return ApiError("unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="newsroom-tagger"'})


def _cors_headers(response: Response) -> Response:
    origin = request.headers.get("Origin")
    if current_app.config["CORS_ORIGINS"]:
        response.vary.add("Origin")
    if _origin_allowed(origin):
        response.headers["Access-Control-Allow-Origin"] = origin or ""
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    return response


def register(app: Flask) -> None:
    """Install preflight, authentication and CORS response hooks; read the keys once."""
    app.extensions[KEYS_EXTENSION] = tuple(_digest(k) for k in load_api_keys(app.config))
    app.before_request(_preflight)
    app.before_request(_authenticate)
    app.after_request(_cors_headers)
