"""Tag news articles with the people, countries, organisations and places they name, and with the topics
they cover, over HTTP. Labels are zero-shot: send your own entity labels and topic labels with each
request, or use the defaults (`GET /v1/labels`). The model is GLiNER; the service ships with a small
embedded default model and runs offline on CPU.

**Entities** are grouped: `text` is the canonical name of one real-world thing and `mentions` are all
its occurrences. **Topics** come with the sentences that support them (`evidence`). Every span gives
its offsets twice: `start`/`end` in Unicode code points (`text[start:end]` in Python) and
`start_utf16`/`end_utf16` in UTF-16 code units (`text.slice(start_utf16, end_utf16)` in JavaScript).
The whole article is read, in overlapping windows; `coverage` says how much. CMS bodies may be sent
as HTML (`"format": "html"`): markup, scripts and styles are dropped before tagging, and every span
still indexes the string sent, with its place in `visible_text` beside it.

**Caching**: answers carry an `ETag` over the request, model and labels version; `If-None-Match` gets
a 304. Each worker keeps recent answers (`TAGGER_RESULT_CACHE_SIZE`), and `X-Cache` says whether the
documents came from it. Responses are gzipped when the client accepts it.

**Errors** are always `application/problem+json` (RFC 9457) with `type`, `title`, `status`, `detail`,
`instance` and `request_id`; a 422 adds `errors`, the messages by field. Problem types are
`urn:newsroom-tagger:problem:<name>`: `malformed-json` (400), `unauthorized` (401), `forbidden-origin`
(403), `not-found` (404), `method-not-allowed` (405), `body-too-large` (413), `unsupported-media-type`
(415), `invalid-fields` (422), `internal-error` (500), `not-ready` and `overloaded` (503, with
`Retry-After`), `time-budget-exceeded` (504).

**Limits** (defaults; each set by a `TAGGER_*` environment variable): body 2 MiB, text 100,000
characters, title 1,000, 50 labels per list of at most 100 characters each, 32 documents per batch, a
time budget of 30 s per request. Each worker tags a bounded number of requests at once and lets a
bounded number wait; past that it answers 503 with `Retry-After` instead of queueing.

**Access**: API keys are optional (`Authorization: Bearer <key>` when `TAGGER_API_KEYS` is set;
`/healthz`, `/readyz`, `/openapi.yaml` and `/docs` stay open). Browsers may call from the origins in
`TAGGER_CORS_ORIGINS`. Send `X-Request-ID` to trace a request; it is echoed and logged.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from flask import Flask

__all__ = ["create_app"]


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """The WSGI app: defaults, then ``TAGGER_*`` environment variables, then ``overrides``.

    ``overrides`` may also carry ``ENGINE`` (an engine object, ready at once) or ``ENGINE_FACTORY``
    (a callable taking the config and returning an engine, or its ``"module:name"``, which
    ``TAGGER_ENGINE_FACTORY`` can set too; default: the real ``Tagger``). The engine
    is built in a background thread unless ``LOAD_IN_BACKGROUND`` is false, and lives in
    ``app.extensions["tagger"]`` (an :class:`service.api.state.EngineState`).
    """
    from service import config as cfg
    from service.api import errors, io, logs, metrics, security
    from service.api.limits import EXTENSION as SLOTS
    from service.api.limits import Slots
    from service.api.routes import bp
    from service.api.state import EXTENSION, EngineState, build_tagger

    app = Flask(__name__)
    app.config.update(cfg.defaults())
    app.config.from_prefixed_env(cfg.PREFIX)
    app.config.update(overrides or {})
    cfg.normalise(app.config)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    logs.configure_logging(app.config["LOG_LEVEL"])
    # '/docs//x' would otherwise be redirected to a Location built from the Host header, which a
    # client (or a poisoned cache) controls; no route needs doubled slashes, so they are a 404.
    app.url_map.merge_slashes = False

    logs.register(app)  # first: request id and start time for every later hook
    security.register(app)
    errors.register(app)
    app.register_blueprint(bp)
    counted = metrics.register(app)
    io.register(app)  # after the others: its hooks run first, on the view's own answer
    app.extensions[SLOTS] = Slots(app.config["MAX_CONCURRENCY"], app.config["MAX_QUEUE"],
                                  on_change=counted.slots_changed)

    state = EngineState()
    app.extensions[EXTENSION] = state
    if app.config.get("ENGINE") is not None:
        state.set_ready(app.config["ENGINE"])
    else:
        factory = app.config.get("ENGINE_FACTORY") or build_tagger
        if isinstance(factory, str):  # "package.module:callable", e.g. from TAGGER_ENGINE_FACTORY
            module, _, attr = factory.partition(":")
            factory = getattr(importlib.import_module(module), attr)
        state.start(factory, app.config, background=app.config["LOAD_IN_BACKGROUND"])
    return app
