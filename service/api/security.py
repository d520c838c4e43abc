"""Access control: optional API keys and a CORS allow-list for browser-based CMS plugins.

API keys: when ``TAGGER_API_KEYS`` or ``TAGGER_API_KEYS_FILE`` names any key, every request
needs ``Authorization: Bearer <key>``, except the open paths (health, readiness, the spec and the
docs, and ``/metrics`` unless ``TAGGER_METRICS_OPEN`` is false) and CORS preflights. Keys are
compared in constant time (``hmac.compare_digest`` on their SHA-256 digests, against every key,
so neither timing nor length tells anything). A missing or wrong key is a 401 problem with
``WWW-Authenticate: Bearer``.

CORS: ``TAGGER_CORS_ORIGINS`` lists the origins allowed (exact ``scheme://host[:port]``, or ``*``).
A preflight (``OPTIONS`` with ``Access-Control-Request-Method``) from an allowed origin, for a path
and method the API has, is answered 204 with the allowed methods and headers; from any other
origin it is a 403 problem, for an unknown path a 404 and for a method the path lacks a 405.
Actual responses to an allowed origin carry ``Access-Control-Allow-Origin`` and expose
``X-Request-ID`` and ``Retry-After``. With ``*`` that header is the literal ``*`` (any page may
read, but browsers send no cookies with it), never the caller's origin echoed back; the opaque
origin ``null`` (sandboxed frames, ``file:`` pages) is never matched by name. Without the setting
no CORS header is ever sent (browsers then refuse).
"""

from __future__ import annotations

import hashlib
import hmac

from flask import Flask, Response, current_app, g, request
from werkzeug.exceptions import HTTPException

from service.api.errors import ApiError
from service.config import load_api_keys

KEYS_EXTENSION = "tagger_api_keys"
# The editor's page and its assets are open: it sends the API key the editor types in its calls.
OPEN_PATHS = ("/healthz", "/readyz", "/openapi.yaml", "/docs", "/editor")
ALLOWED_METHODS = "GET, POST, OPTIONS"
# If-None-Match is not CORS-safelisted: a plugin revalidating its answer by hand needs it allowed
ALLOWED_HEADERS = "Authorization, Content-Type, X-Request-ID, If-None-Match"
EXPOSED_HEADERS = "X-Request-ID, Retry-After, ETag, X-Cache, Server-Timing"


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
    if path == "/":
        return True
    if path == "/metrics":
        return bool(current_app.config["METRICS_OPEN"])
    return any(path == p or path.startswith(p + "/") for p in OPEN_PATHS)


def _is_preflight() -> bool:
    return request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers


def _any_origin() -> bool:
    return "*" in current_app.config["CORS_ORIGINS"]


def _origin_allowed(origin: str | None) -> bool:
    if not origin:
        return False
    if _any_origin():
        return True
    # "null" is what every sandboxed frame and file: page sends: listing it would admit them all.
    return origin != "null" and origin in current_app.config["CORS_ORIGINS"]


def _check_preflight_target() -> None:
    """404 or 405 for a preflight to a path the API lacks or a method that path does not take."""
    if request.routing_exception is not None:  # Flask raises it only after the before_request hooks
        raise request.routing_exception
    method = request.headers["Access-Control-Request-Method"].strip().upper()
    adapter = current_app.create_url_adapter(request)
    if adapter is None:  # pragma: no cover - always bound inside a request
        return
    try:
        adapter.match(method=method)
    except HTTPException as exc:
        if exc.code == 405:
            raise ApiError("method-not-allowed",
                           f"{method[:20]} is not allowed on {request.path}; a preflight for it is refused.",
                           headers={"Allow": ", ".join(sorted(getattr(exc, "valid_methods", None) or []))},
                           ) from exc
        raise


def _preflight() -> Response | None:
    if not _is_preflight():
        return None
    origin = request.headers.get("Origin")
    if not _origin_allowed(origin):
        raise ApiError("forbidden-origin", f"The origin {origin!r} is not in TAGGER_CORS_ORIGINS.")
    _check_preflight_target()
    resp = current_app.response_class(status=204)
    resp.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
    resp.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
    resp.headers["Access-Control-Max-Age"] = str(current_app.config["CORS_MAX_AGE_S"])
    return resp


def _authenticate() -> None:
    digests: tuple[bytes, ...] = current_app.extensions[KEYS_EXTENSION]
    if not digests or request.method == "OPTIONS":
        return
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if _is_open(request.path):
        # open to all; a valid key still counts (readyz then shows why a load failed)
        g.authenticated = scheme.lower() == "bearer" and key_matches(token.strip(), digests)
        return
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("This service needs an API key: send 'Authorization: Bearer <key>'.")
    if not key_matches(token.strip(), digests):
        raise _unauthorized("The API key is not valid.")
    g.authenticated = True


def authenticated() -> bool:
    """True when this request carried a valid API key (keys configured and one matched)."""
    return bool(g.get("authenticated"))


def _unauthorized(detail: str) -> ApiError:
    return ApiError("unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="newsroom-tagger"'})


def _cors_headers(response: Response) -> Response:
    origin = request.headers.get("Origin")
    if current_app.config["CORS_ORIGINS"] and not _any_origin():
        response.vary.add("Origin")  # the answer depends on the origin only when it is echoed
    if _origin_allowed(origin):
        response.headers["Access-Control-Allow-Origin"] = "*" if _any_origin() else origin or ""
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        # Server-Timing reaches the Resource Timing API cross-origin only with this (W3C Resource Timing)
        response.headers["Timing-Allow-Origin"] = response.headers["Access-Control-Allow-Origin"]
    return response


def register(app: Flask) -> None:
    """Install preflight, authentication and CORS response hooks; read the keys once."""
    app.extensions[KEYS_EXTENSION] = tuple(_digest(k) for k in load_api_keys(app.config))
    app.before_request(_preflight)
    app.before_request(_authenticate)
    app.after_request(_cors_headers)
