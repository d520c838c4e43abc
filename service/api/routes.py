"""The endpoints. Each view loads its request, calls the engine, validates its response and returns.

Errors are raised, never returned: :mod:`service.api.errors` turns them into problem+json.
"""

from __future__ import annotations

import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    render_template_string,
    request,
    send_from_directory,
    url_for,
)
from swagger_ui_bundle import swagger_ui_path

from service.api import schemas
from service.api.documented import operation
from service.api.errors import ApiError, invalid
from service.api.io import (
    answer_etag,
    json_body,
    load,
    not_modified,
    respond,
    server_timing,
    unpaired_surrogate,
)
from service.api.jobs import OPTIONS, tag_documents
from service.api.spec import spec_yaml
from service.api.state import EXTENSION, EngineState
from service.tagging.labels import default_labels

bp = Blueprint("api", __name__)
TIMINGS_PARAM = "timings"  # ?timings=true: timings_ms in the body too, not only in Server-Timing
EDITOR_DIR = Path(__file__).resolve().parent / "editor"


def _state() -> EngineState:
    return current_app.extensions[EXTENSION]


def _budget() -> float:
    return float(current_app.config["TIME_BUDGET_S"])


@bp.post("/v1/tag")
@operation("/v1/tag", "post", lambda d: {
    "operationId": "tag", "tags": ["tagging"], "summary": "Tag one article",
    "description": "Entities (grouped, with every mention's offsets) and topics (with evidence "
                   "sentences) of one article, for the labels sent or the defaults.",
    "security": d.KEYED,
    "parameters": [d.IF_NONE_MATCH, d.TIMINGS],
    "requestBody": d.body("TagRequest", d.tag_request_examples()),
    "responses": d.responses(d.ok("TagResponse", "The tags.", d.tag_response_examples()), body=True,
                             tagging=True, auth=True),
})
def tag() -> Response:
    """Tag one article (304 when If-None-Match names the answer's ETag: no tagging)."""
    timed = _wants_timings()
    req = load(schemas.TagRequest(), json_body())
    engine = _state().get()
    etag = answer_etag("tag", req, engine.info)
    if (unchanged := not_modified(etag, weak=timed)) is not None:
        return unchanged
    (result,) = tag_documents(engine, [req], _budget())
    if isinstance(result, ApiError):
        raise result
    resp = respond(schemas.TagResponse(), result if timed else _untimed(result))
    return _with_cache_headers(resp, etag, weak=timed, timings=result["timings_ms"])


@bp.post("/v1/tag/batch")
@operation("/v1/tag/batch", "post", lambda d: {
    "operationId": "tagBatch", "tags": ["tagging"], "summary": "Tag up to 32 articles",
    "description": "One result per document, in request order. A document that fails validation (422) "
                   "or runs out of time (504) gets its own `error`; the others are tagged. A bad "
                   "envelope (no `documents`, too many, a bad shared option) fails the whole call.",
    "security": d.KEYED,
    "parameters": [d.IF_NONE_MATCH, d.TIMINGS],
    "requestBody": d.body("BatchRequest", {"two": {"summary": "Two short documents, shared labels", "value": {
        "entity_labels": ["person", "country"], "topic_labels": ["diplomacy", "trade and tariffs"],
        "documents": [{"id": "a1", "text": "Joe Biden met Xi Jinping in Lima, Peru."},
                      {"id": "a2", "text": "China and the United States agreed to talk about tariffs."}],
    }}}),
    "responses": d.responses(d.ok("BatchResponse", "One item per document."), body=True, tagging=True,
                             auth=True),
})
def tag_batch() -> Response:
    """Tag up to MAX_BATCH articles; each document succeeds or fails on its own."""
    timed = _wants_timings()
    # each document's strings are checked when it is loaded: a bad one fails only that document
    batch = load(schemas.BatchRequest(), json_body(), checked_later=("documents",))
    loaded = [_load_document(doc, batch) for doc in batch["documents"]]
    engine = _state().get()
    etag = answer_etag("batch", [d if isinstance(d, dict) else d.to_dict() for d in loaded], engine.info)
    if (unchanged := not_modified(etag, weak=True)) is not None:
        return unchanged
    # the answer is weak: documents tagged beside others (cached so, too) may answer
    done = tag_documents(engine, [d for d in loaded if isinstance(d, dict)], _budget(), exact=False)
    results = iter(done)
    items = [_batch_item(i, doc, d if isinstance(d, ApiError) else next(results), timed)
             for i, (doc, d) in enumerate(zip(batch["documents"], loaded, strict=True))]
    complete = all(not isinstance(r, ApiError) or r.status != 504 for r in done)
    timings = {"queue": float(g.get("queue_ms", 0.0)),
               "model": round(g.get("model_s", 0.0) * 1000, 1),
               "request": round((time.monotonic() - g.started) * 1000, 1)}
    payload: dict[str, Any] = {"results": items} | ({"timings_ms": timings} if timed else {})
    resp = respond(schemas.BatchResponse(), payload)
    # a cut-short answer is not the answer: no ETag
    return _with_cache_headers(resp, etag if complete else None, weak=True, timings=timings)


@bp.get("/v1/labels")
@operation("/v1/labels", "get", lambda d: {
    "operationId": "labels", "tags": ["tagging"], "summary": "Default labels and topic taxonomy",
    "security": d.KEYED,
    "responses": d.responses(d.ok("LabelsResponse", "The defaults, with ids, descriptions and version."),
                             body=False, tagging=False, auth=True),
})
def labels() -> Response:
    """The default entity labels and topic taxonomy."""
    return respond(schemas.LabelsResponse(), _labels_payload())


@bp.get("/healthz")
@operation("/healthz", "get", lambda d: {
    "operationId": "healthz", "tags": ["operations"], "summary": "Liveness", "security": [],
    "responses": d.responses(d.ok("Health", "The process serves."), body=False, tagging=False, auth=False),
})
def healthz() -> Response:
    """Alive: answers as soon as the process serves, model or not."""
    return respond(schemas.Health(), {"status": "ok"})


@bp.get("/readyz")
@operation("/readyz", "get", lambda d: {
    "operationId": "readyz", "tags": ["operations"], "summary": "Readiness",
    "description": "200 once the model is loaded, warmed up and self-tested; 503 while it loads "
                   "(with `Retry-After`) and after a failed load (the reason in `detail`).",
    "security": [],
    "responses": d.ready_responses(),
})
def readyz() -> Response:
    """Ready: 200 once the model is loaded, warmed up and self-tested; 503 before or after a failure."""
    state = _state()
    engine = state.get()
    return respond(schemas.Ready(), {
        "status": "ready",
        "model": {
            "name": engine.info.name,
            "version": engine.info.version,
            "precision": engine.info.precision,
        },
        "labels_version": default_labels().version,
        "load_seconds": state.load_seconds,
    })


@bp.get("/openapi.yaml")
@operation("/openapi.yaml", "get", lambda d: {
    "operationId": "openapi", "tags": ["operations"], "summary": "This document", "security": [],
    "responses": {"200": {"description": "OpenAPI 3.0 in YAML.",
                          "content": {"application/yaml": {"schema": {"type": "object"}}}},
                  "default": {"$ref": "#/components/responses/OtherProblem"}},
})
def openapi() -> Response:
    """The OpenAPI document (the same as the committed openapi.yaml)."""
    return current_app.response_class(spec_yaml(), mimetype="application/yaml")


@bp.get("/docs")
@operation("/docs", "get", lambda d: {
    "operationId": "docs", "tags": ["operations"], "summary": "Interactive API page (Swagger UI, offline)",
    "security": [],
    "responses": {"200": {"description": "HTML.", "content": {"text/html": {"schema": {"type": "string"}}}},
                  "default": {"$ref": "#/components/responses/OtherProblem"}},
})
def docs() -> str:
    """Swagger UI, served from the swagger-ui-bundle package: works with no internet."""
    return render_template_string(_DOCS_PAGE, spec_url=url_for("api.openapi"),
                                  asset=lambda name: url_for("api.docs_asset", filename=name))


@bp.get("/docs/<path:filename>")
def docs_asset(filename: str) -> Response:
    """Swagger UI's static files."""
    return send_from_directory(str(swagger_ui_path), filename, max_age=3600)


@bp.get("/")
@operation("/", "get", lambda d: {
    "operationId": "editor", "tags": ["operations"],
    "summary": "The editor's page: paste a story, see its entities and topics (offline)",
    "security": [],
    "responses": {"200": {"description": "HTML.", "content": {"text/html": {"schema": {"type": "string"}}}},
                  "default": {"$ref": "#/components/responses/OtherProblem"}},
})
def editor() -> Response:
    """The editor's page: paste a story, see its entities highlighted and its topics (offline)."""
    page = render_template_string(_editor_page(), api_url=url_for("api.tag"), docs_url=url_for("api.docs"),
                                  asset=lambda name: url_for("api.editor_asset", filename=name))
    resp = current_app.response_class(page, mimetype="text/html")
    # Only its own script and styles, and calls to this service: a pasted story cannot run anything.
    resp.headers["Content-Security-Policy"] = (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


@bp.get("/editor/<path:filename>")
def editor_asset(filename: str) -> Response:
    """The editor page's script and styles, from the package."""
    return send_from_directory(str(EDITOR_DIR), filename, max_age=3600)


# --- helpers ---------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _editor_page() -> str:
    return (EDITOR_DIR / "index.html").read_text("utf-8")


def _wants_timings() -> bool:
    """``?timings=true``: the answer keeps ``timings_ms`` in its body (its bytes vary: a weak ETag)."""
    value = request.args.get(TIMINGS_PARAM)
    if value is None or value.lower() in ("false", "0"):
        return False
    if value.lower() in ("true", "1"):
        return True
    raise invalid({TIMINGS_PARAM: [f"Must be true or false, not {value[:40]!r}."]})


def _untimed(result: dict[str, Any]) -> dict[str, Any]:
    """A ``TagResponse`` dict without its ``timings_ms`` (they go in ``Server-Timing``)."""
    return {k: v for k, v in result.items() if k != "timings_ms"}


def _with_cache_headers(
    resp: Response, etag: str | None, *, weak: bool, timings: dict[str, float]
) -> Response:
    """The answer's ETag, ``X-Cache`` (whether its documents came from the worker's result cache) and
    ``Server-Timing`` (where this call's time went).

    The ETag is computed from the normalised request, the model, the labels' version, the settings
    that change results and the code that makes and writes answers, before anything is tagged.

    For ``/v1/tag`` it is strong (RFC 9110 8.8.1: the same tag, the same bytes). Nothing else goes
    into the default body: no timings (``Server-Timing`` carries them), request id or clock; keys
    in one order; scores rounded to 4 decimals by one function. The model gives an article tagged
    alone the same scores every time (``bench/cache.py`` checks the bytes round after round), and
    the result cache answers a single request only with answers of the article tagged alone
    (:mod:`service.api.jobs`).

    It is weak when the body carries ``timings_ms`` (``?timings=true``), and always for
    ``/v1/tag/batch``: there a document's windows share the model's batches with the other
    documents' windows, and the padding moves its scores in the last digits (``bench/README.md``
    "Caching"); which documents come from the cache and in what company they were tagged
    differs between workers and over time, so the same batch can come back in other bytes; and a
    failed document's problem carries the request id. The weak tag stands for the same tags, not
    the same bytes. ``If-None-Match`` compares weakly (RFC 9110 13.1.2), so the 304 works the same.
    """
    if etag is not None:
        resp.set_etag(etag, weak=weak)
    hits, misses = g.get("cache_hits", 0), g.get("cache_misses", 0)
    cache = None
    if hits or misses:
        cache = "hit" if not misses else "miss" if not hits else "partial"
        resp.headers["X-Cache"] = cache
    resp.headers["Server-Timing"] = server_timing(timings, cache)
    return resp


def _load_document(doc: Any, batch: dict[str, Any]) -> dict[str, Any] | ApiError:
    """One batch document loaded through ``TagRequest``, the batch's options filling in its own."""
    try:
        req = load(schemas.TagRequest(), doc)
    except ApiError as err:
        return err
    for key in OPTIONS:
        if req.get(key) is None and batch.get(key) is not None:
            req[key] = batch[key]
    return req


def _batch_item(index: int, doc: Any, outcome: dict[str, Any] | ApiError, timed: bool) -> dict[str, Any]:
    doc_id = doc.get("id") if isinstance(doc, dict) and isinstance(doc.get("id"), str) else None
    if doc_id is not None and unpaired_surrogate(doc_id) is not None:
        doc_id = None  # not echoed: it cannot be written as UTF-8 (the item's error says why)
    if isinstance(outcome, ApiError):
        # the batch's request id: what the access and error logs carry for this document
        problem = outcome.to_dict() | {"instance": f"/v1/tag/batch#/documents/{index}",
                                       "request_id": g.get("request_id", "")}
        return {"index": index, "id": doc_id, "status": outcome.status, "error": problem}
    return {"index": index, "id": doc_id, "status": 200, "result": outcome if timed else _untimed(outcome)}


def _labels_payload() -> dict[str, Any]:
    labels = default_labels()

    def entry(e: Any) -> dict[str, Any]:
        return {"id": e.id, "name": e.label.name, "description": e.label.description, "group": e.group}

    return {
        "version": labels.version,
        "entity_labels": [entry(e) for e in labels.entities],
        "topic_labels": [entry(t) for t in labels.topics],
    }


_DOCS_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Newsroom Tagger API</title>
  <link rel="stylesheet" href="{{ asset('swagger-ui.css') }}">
  <link rel="icon" type="image/png" href="{{ asset('favicon-32x32.png') }}">
  <style>body { margin: 0; }</style>
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{{ asset('swagger-ui-bundle.js') }}"></script>
  <script src="{{ asset('swagger-ui-standalone-preset.js') }}"></script>
  <script>
    window.ui = SwaggerUIBundle({
      url: "{{ spec_url }}",
      dom_id: "#swagger-ui",
      deepLinking: true,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: "StandaloneLayout"
    });
  </script>
</body>
</html>
"""
