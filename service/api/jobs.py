"""Loaded requests to engine calls and back: what the tag views share.

Documents that ask for the same labels and thresholds go to the engine together (``tag_many``:
their windows share the model's batches); each document's result is mapped to a ``TagResponse``
dict. A document whose engine call runs past the request's deadline gets a 504 problem instead
of a result, so a batch returns what it finished. What was tagged (documents, characters) and the
time spent in the engine are added up in ``g`` for the access log and the metrics
(:func:`record_work`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from flask import g

from service.api.errors import ApiError, time_budget_exceeded
from service.api.limits import deadline
from service.api.mapping import tag_response
from service.api.state import Engine
from service.tagging.labels import default_labels
from service.tagging.types import DeadlineExceeded, Document, Label

OPTIONS = ("entity_labels", "topic_labels", "threshold", "topic_threshold", "derive_countries")


def _key(req: dict[str, Any]) -> tuple:
    def labels(value: list[Label] | None) -> tuple | None:
        return None if value is None else tuple(value)

    return (labels(req.get("entity_labels")), labels(req.get("topic_labels")),
            req.get("threshold"), req.get("topic_threshold"), req.get("derive_countries") is not False)


def tag_documents(
    engine: Engine, requests: Sequence[dict[str, Any]], budget_s: float
) -> list[dict | ApiError]:
    """Tag every loaded ``TagRequest``; per document a ``TagResponse`` dict or a 504 ``ApiError``."""
    defaults = default_labels()
    groups: dict[tuple, list[int]] = {}
    for i, req in enumerate(requests):
        groups.setdefault(_key(req), []).append(i)
    out: list[dict | ApiError] = [time_budget_exceeded(budget_s)] * len(requests)
    for (ent, top, threshold, topic_threshold, derive), members in groups.items():
        docs = [Document(requests[i]["text"], requests[i].get("title") or None) for i in members]
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
        request_ms = round((time.monotonic() - g.started) * 1000, 1)
        for i, result in zip(members, results, strict=True):
            req = requests[i]
            out[i] = tag_response(
                result,
                text=req["text"],
                title=req.get("title") or None,
                doc_id=req.get("id"),
                entity_names=[lab.name for lab in (ent if ent is not None else defaults.entity_labels)],
                topic_names=[lab.name for lab in (top if top is not None else defaults.topic_labels)],
                model=engine.info,
                labels_version=defaults.version,
                timings_ms={"queue": g.get("queue_ms", 0.0), "request": request_ms},
            )
    return out


def record_work(model_s: float, tagged: Sequence[Document]) -> None:
    """Add an engine call's time and the documents it tagged to this request's totals in ``g``."""
    g.model_s = g.get("model_s", 0.0) + model_s
    g.documents = g.get("documents", 0) + len(tagged)
    g.characters = g.get("characters", 0) + sum(len(d.text) + len(d.title or "") for d in tagged)
