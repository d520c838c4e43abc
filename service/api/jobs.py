"""Loaded requests to engine calls and back: what the tag views share.

Each document is first looked up in the worker's result cache (:mod:`service.api.cache`); a hit
is answered as it was, without a tagging slot or the model. An answer is cached under what made
it: a document tagged alone in its engine call under its key, one tagged beside others under its
key plus :data:`BATCHED`. The two can differ: windows of several documents share the model's
batches, and their padding moves scores in the last digits (``bench/README.md`` "Caching"). ``/v1/tag``
promises the same bytes as tagging the article alone (a strong ETag), so it reads only the first
kind (``exact``); a batch reads both. The others are prepared (``format:
html`` -> the visible text the engine reads, :mod:`service.api.html`) and tagged while holding a
tagging slot: documents that ask for the same labels and thresholds go to the engine together
(``tag_many``: their windows share the model's batches); each result is mapped to a
``TagResponse`` dict with its offsets into the strings the caller sent. A document whose engine
call runs past the request's deadline gets a 504 problem instead of a result, so a batch returns
what it finished. What was tagged (documents, characters) and the time spent in the engine are
added up in ``g`` for the access log and the metrics (:func:`record_work`), and so are cache hits
and misses (``g.cache_hits``, ``g.cache_misses``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import g

from service.api.cache import ResultCache, result_cache
from service.api.errors import ApiError, invalid, time_budget_exceeded
from service.api.html import visible_text
from service.api.io import answer_etag
from service.api.limits import deadline, tagging_slot
from service.api.mapping import Field, tag_response
from service.api.state import Engine
from service.tagging.labels import default_labels
from service.tagging.types import DeadlineExceeded, Document, Label

log = logging.getLogger("service.api")

OPTIONS = ("entity_labels", "topic_labels", "threshold", "topic_threshold", "derive_countries")
BATCHED = "+batched"  # the cache key suffix of an answer tagged in one engine call with other documents


@dataclass(frozen=True)
class Prepared:
    """A document as the engine reads it, and its fields as read and as sent."""

    document: Document
    text: Field
    title: Field | None


def prepare(req: dict[str, Any]) -> Prepared | ApiError:
    """What the engine reads of a loaded ``TagRequest``: its text as sent, or with ``format: html``
    the visible text; a 422 problem when HTML has nothing visible."""
    text, title = req["text"], req.get("title") or None
    if req.get("format") != "html":
        return Prepared(Document(text, title), Field(text), Field(title) if title else None)
    try:
        body = visible_text(text)
        head = visible_text(title) if title else None
    except Exception:  # html.parser is tolerant; a failure here is a bug, but the input must not 500
        log.exception("HTML could not be read")
        return invalid({"text": ["The text could not be read as HTML; send it with format 'text'."]})
    if not body.text.strip():
        return invalid({"text": ["The HTML has no visible text (only markup, scripts, styles or comments)."]})
    return Prepared(Document(body.text, head.text if head is not None and head.text else None),
                    Field(text, body), Field(title, head) if title and head is not None else None)


def _key(req: dict[str, Any]) -> tuple:
    def labels(value: list[Label] | None) -> tuple | None:
        return None if value is None else tuple(value)

    return (labels(req.get("entity_labels")), labels(req.get("topic_labels")),
            req.get("threshold"), req.get("topic_threshold"), req.get("derive_countries") is not False)


def tag_documents(
    engine: Engine, requests: Sequence[dict[str, Any]], budget_s: float, *, exact: bool = True
) -> list[dict | ApiError]:
    """Tag every loaded ``TagRequest``; per document a ``TagResponse`` dict or a 422/504 ``ApiError``.

    Answers come from the result cache where it has them; a tagging slot is held only when some
    document needs the model (503 when none comes free). ``exact``: only answers of the document
    tagged alone, byte for byte what the model gives it now; otherwise answers tagged beside other
    documents serve too.
    """
    cache = result_cache()
    out: list[dict | ApiError | None] = [None] * len(requests)
    keys = [answer_etag("document", req, engine.info) for req in requests] if cache is not None else []
    hits: dict[int, dict[str, Any]] = {}
    todo: dict[int, Prepared] = {}
    for i, req in enumerate(requests):
        found = _cached(cache, keys[i], exact) if cache is not None else None
        if found is not None:
            hits[i] = found
            continue
        prepared = prepare(req)
        if isinstance(prepared, ApiError):
            out[i] = prepared
        else:
            todo[i] = prepared
    g.cache_hits = g.get("cache_hits", 0) + len(hits)
    g.cache_misses = g.get("cache_misses", 0) + (len(requests) - len(hits) if cache is not None else 0)
    if todo:
        with tagging_slot():
            done = _run_engine(engine, requests, todo, budget_s)
        for i, (answer, alone) in done.items():
            out[i] = answer
            if cache is not None and not isinstance(answer, ApiError):
                cache.put(keys[i] if alone else keys[i] + BATCHED, answer)
    request_ms = round((time.monotonic() - g.started) * 1000, 1)
    timings = {"queue": g.get("queue_ms", 0.0), "request": request_ms}
    for i, found in hits.items():  # the engine's stages did not run for these: only this request's times
        out[i] = {**found, "timings_ms": dict(timings)}
    for i in todo:
        fresh = out[i]
        if isinstance(fresh, dict):
            # a copy: the cached answer keeps the engine's stages, not this request's times
            out[i] = {**fresh, "timings_ms": {**fresh["timings_ms"], **timings}}
    return [o if o is not None else time_budget_exceeded(budget_s) for o in out]


def _cached(cache: ResultCache, key: str, exact: bool) -> dict[str, Any] | None:
    """The cached answer of ``key``: tagged alone, or (unless ``exact``) beside other documents."""
    found = cache.get(key)
    if found is None and not exact:
        found = cache.get(key + BATCHED)
    return found


def _run_engine(
    engine: Engine, requests: Sequence[dict[str, Any]], todo: dict[int, Prepared], budget_s: float
) -> dict[int, tuple[dict | ApiError, bool]]:
    """Engine calls for the prepared documents, grouped by labels and thresholds; 504 past the deadline.

    Per document its answer, and whether it was tagged alone (the only document of its engine call).
    """
    defaults = default_labels()
    groups: dict[tuple, list[int]] = {}
    for i in todo:
        groups.setdefault(_key(requests[i]), []).append(i)
    done: dict[int, tuple[dict | ApiError, bool]] = {i: (time_budget_exceeded(budget_s), False) for i in todo}
    for (ent, top, threshold, topic_threshold, derive), members in groups.items():
        docs = [todo[i].document for i in members]
        started = time.monotonic()
        try:
            results = engine.tag_many(
                docs,
                list(ent) if ent is not None else None,
                list(top) if top is not None else None,
                threshold=threshold,
                topic_threshold=topic_threshold,
                deadline=deadline(),
                derive_countries=derive,
            )
        except DeadlineExceeded:
            record_work(time.monotonic() - started, [])
            break
        record_work(time.monotonic() - started, docs)
        for i, result in zip(members, results, strict=True):
            req = requests[i]
            answer = tag_response(
                result,
                text=todo[i].text,
                title=todo[i].title,
                doc_id=req.get("id"),
                entity_names=[lab.name for lab in (ent if ent is not None else defaults.entity_labels)],
                topic_names=[lab.name for lab in (top if top is not None else defaults.topic_labels)],
                model=engine.info,
                labels_version=defaults.version,
                timings_ms={},
            )
            done[i] = (answer, len(members) == 1)
    return done


def record_work(model_s: float, tagged: Sequence[Document]) -> None:
    """Add an engine call's time and the documents it tagged to this request's totals in ``g``."""
    g.model_s = g.get("model_s", 0.0) + model_s
    g.documents = g.get("documents", 0) + len(tagged)
    g.characters = g.get("characters", 0) + sum(len(d.text) + len(d.title or "") for d in tagged)
