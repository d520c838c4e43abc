"""Reading requests and writing responses: JSON only, through the schemas, both ways.

``json_body`` accepts ``application/json`` (or any ``application/*+json``) in UTF-8, plain or
``Content-Encoding: gzip``, and answers 415 for another content type or encoding, 413 past the body
limit (Flask's ``MAX_CONTENT_LENGTH``, for the body as sent and as decompressed) and 400 for a body
that is not JSON, that repeats a key in an object or that nests deeper than :data:`MAX_DEPTH`.
``load`` refuses strings and keys with unpaired surrogates, then runs a schema (422 with
per-field messages); ``respond`` validates the payload against its response schema before it
leaves (marshmallow's ``dump`` does not validate) and turns a mismatch into a logged 500.

Conditional requests and compression (:func:`register`, :func:`answer_etag`): a tagging answer's
ETag is computed from the normalised request, the model, the default labels' version, the
settings that change results and the code that makes and writes answers, before any tagging, so
a client that sends it back in ``If-None-Match`` gets 304 without the model running. The default
answer body is a function of those alone (per-call timings go in ``Server-Timing``,
:func:`server_timing`), so its ETag is strong: the same tag stands for the same bytes (RFC 9110
8.8.1). An answer that carries ``timings_ms`` (asked for with ``?timings=true``) gets the same tag
weak (``W/``): same tags, other bytes. A strong tag of a gzip-compressed answer ends in ``-gzip``
(RFC 9110 8.8.3: another representation, other bytes); ``If-None-Match`` compares weakly (RFC
9110 13.1.2) and accepts either form. GET answers get a weak ETag over their body and 304 the
same way. Any answer of 1 KiB or more in a text or JSON type is gzip-compressed when the client
accepts gzip.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import logging
import re
import zlib
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, request
from marshmallow import Schema, ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from service.api.errors import ApiError, invalid, json_text

log = logging.getLogger("service.api")

# The deepest nesting of arrays and objects accepted. The largest message (a batch of documents with
# label objects) needs 4; the cap keeps hostile input ('[' * 100000) away from recursive code.
MAX_DEPTH = 32
# Content codings a body may come in; anything else is a 415 naming these.
ENCODINGS = ("gzip", "identity")

_SURROGATE = re.compile("[\ud800-\udfff]")


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object from its members, refusing a key twice (json keeps the last one silently)."""
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"the key {json.dumps(key)} appears twice in one object")
        obj[key] = value
    return obj


def _decoded(raw: bytes) -> bytes:
    """The body with its ``Content-Encoding`` undone: gzip (capped at the body limit) or none."""
    coding = request.headers.get("Content-Encoding", "").strip().lower()
    if coding in ("", "identity"):
        return raw
    if coding not in ("gzip", "x-gzip"):
        raise ApiError(
            "unsupported-media-type",
            f"Content-Encoding {coding!r} is not supported; send the body as is or gzip-compressed.",
            headers={"Accept-Encoding": ", ".join(ENCODINGS)},
        )
    most = request.max_content_length or len(raw) * 1024
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip header and trailer
    try:
        out = inflater.decompress(raw, most + 1)  # never more than one byte past the limit
    except zlib.error as exc:
        raise ApiError("bad-request", f"The body is not valid gzip: {exc}.") from exc
    if len(out) > most:
        raise ApiError("body-too-large",
                       f"The body decompresses past the limit of {most} bytes (TAGGER_MAX_BODY_BYTES).")
    if not inflater.eof or inflater.unused_data:
        raise ApiError("bad-request", "The gzip body is truncated or has data after its end.")
    return out


def _too_deep(data: Any) -> bool:
    """True when arrays and objects nest deeper than :data:`MAX_DEPTH` (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(data, 1)] if isinstance(data, dict | list) else []
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        children: Iterable[Any] = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


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
    raw = _decoded(raw)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        detail = f"The body is not UTF-8: invalid byte at position {exc.start}."
        raise ApiError("malformed-json", detail) from exc
    try:
        data = json.loads(text, parse_constant=_no_constants, object_pairs_hook=_unique_keys)
    except RecursionError as exc:  # the C parser recurses per level: '[' * 100000
        raise _too_deep_error() from exc
    except ValueError as exc:
        where = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise ApiError("malformed-json", f"The body is not valid JSON{where}: {msg}.") from exc
    if _too_deep(data):
        raise _too_deep_error()
    return data


def _too_deep_error() -> ApiError:
    return ApiError("malformed-json", f"The body nests arrays and objects deeper than {MAX_DEPTH} levels; "
                    "no message of this API needs more than 4.")


def _path(parts: list[str | int]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{json.dumps(p)[1:-1]}" for p in parts)


def unpaired_surrogate(data: Any, skip: tuple[str, ...] = ()) -> tuple[list[str | int], bool] | None:
    """Where ``data`` holds a string or key with an unpaired UTF-16 surrogate (and whether it is a
    key), or None.

    Python's json reads ``"\\ud800"`` into a str that cannot be written as UTF-8, so such input must
    not get past the request. ``skip`` names top-level members checked later on their own (a
    batch's documents, so that only the document with the bad string fails).
    """
    stack: list[tuple[Any, list[str | int]]] = [(data, [])]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                return path, False
        elif isinstance(value, dict):
            for key, child in value.items():
                if not path and key in skip:
                    continue
                if _SURROGATE.search(key):
                    return [*path, key], True
                stack.append((child, [*path, key]))
        elif isinstance(value, list):
            stack.extend((child, [*path, i]) for i, child in enumerate(value))
    return None


def load(schema: Schema, data: Any, *, checked_later: tuple[str, ...] = ()) -> dict[str, Any]:
    """``data`` loaded through ``schema``, or a 422 problem with the field messages.

    ``checked_later``: top-level members whose strings the caller checks itself (see
    :func:`unpaired_surrogate`).
    """
    found = unpaired_surrogate(data, checked_later)
    if found is not None:
        path, is_key = found
        field = json.dumps(path[0])[1:-1] if isinstance(path[0], str) else "_schema"
        what = "The key" if is_key else "The string at"
        raise invalid({field: [f"{what} {_path(path).lstrip('.')} contains an unpaired UTF-16 surrogate "
                               "code point (invalid Unicode); send well-formed UTF-16 or UTF-8."]})
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
    return current_app.response_class(json_text(payload), status=status, mimetype="application/json")


# --- conditional requests and compression ----------------------------------------------------------

COMPRESS_MIN_BYTES = 1024  # below this gzip saves less than its header and the CPU it costs
_COMPRESSIBLE = ("application/json", "application/problem+json", "application/yaml", "application/javascript",
                 "text/")
_NO_ETAG_PATHS = ("/healthz", "/readyz", "/metrics")  # live state: always asked afresh
GZIP_SUFFIX = "-gzip"  # a strong tag's gzip representation: other bytes, another tag (as Apache does)
# Besides the tagging package: the modules that read HTML and shape and write an answer's bytes.
_ANSWER_CODE = ("html.py", "mapping.py", "jobs.py", "routes.py", "errors.py", "io.py")


@lru_cache(maxsize=1)
def _code_fingerprint() -> str:
    """A digest of the tagging code and data and of the code that writes answers, so a deployment
    that changes an answer's bytes changes its ETag."""
    root = Path(__file__).resolve().parent.parent
    files = sorted(p for p in (root / "tagging").rglob("*") if p.is_file() and p.suffix != ".pyc")
    files += [root / "api" / name for name in _ANSWER_CODE]
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"cannot fingerprint {type(value).__name__}")


def answer_etag(kind: str, loaded: Any, model: Any) -> str:
    """The ETag (unquoted) of the answer to a loaded request of ``kind``: the same for the same tags."""
    from service.tagging.labels import default_labels

    config = current_app.config
    material = {
        "kind": kind,
        "request": loaded,
        "model": [model.name, model.version, getattr(model, "precision", "")],
        "labels_version": default_labels().version,
        "settings": [config["THRESHOLD"], config.get("TOPIC_DOC_ENCODER") or ""],
        "code": _code_fingerprint(),
    }
    text = json.dumps(material, sort_keys=True, ensure_ascii=True, default=_plain)
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:40]


def not_modified(etag: str, *, weak: bool = False) -> Response | None:
    """304 when the request's ``If-None-Match`` names ``etag`` or its gzip form (weak comparison),
    else None.

    The 304 carries the tag the client matched, strong or weak as this request's answer would be:
    the gzip form when the client holds the gzip representation (RFC 9110 15.4.5).
    """
    sent = request.if_none_match
    if sent.star_tag:  # '*' would match before anything was tagged
        return None
    for tag in (etag, etag + GZIP_SUFFIX):
        if sent.contains_weak(tag):
            resp = current_app.response_class(status=304)
            resp.set_etag(tag, weak=weak)
            return resp
    return None


def server_timing(timings: dict[str, float], cache: str | None = None) -> str:
    """A ``Server-Timing`` value (W3C Server Timing): ``cache;desc="hit", model;dur=812.4, ...``."""
    parts = [f'cache;desc="{cache}"'] if cache else []
    parts += [f"{name};dur={float(ms):.1f}" for name, ms in timings.items()]
    return ", ".join(parts)


def _conditional_get(response: Response) -> Response:
    if (request.method in ("GET", "HEAD") and response.status_code == 200 and not response.direct_passthrough
            and "ETag" not in response.headers and request.path not in _NO_ETAG_PATHS):
        response.add_etag(weak=True)
        response.make_conditional(request)
    return response


def _compress(response: Response) -> Response:
    response.vary.add("Accept-Encoding")  # caches must keep the two forms apart
    if (response.direct_passthrough or response.status_code < 200 or response.status_code in (204, 304)
            or "Content-Encoding" in response.headers
            or not (response.mimetype or "").startswith(_COMPRESSIBLE)
            or request.accept_encodings["gzip"] <= 0):
        return response
    data = response.get_data()
    if len(data) < COMPRESS_MIN_BYTES:
        return response
    response.set_data(gzip.compress(data, compresslevel=5, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    etag, weak = response.get_etag()
    if etag is not None and not weak:  # a weak tag already allows other bytes for the same meaning
        response.set_etag(etag + GZIP_SUFFIX)
    return response


def register(app: Flask) -> None:
    """Install the GET ETags (304) and gzip compression of answers."""
    app.after_request(_compress)  # Flask runs after_request hooks last-in first: this one last
    app.after_request(_conditional_get)
