"""Engine results (plain dataclasses) to response dicts, with offsets in both units.

Offsets ``start``/``end`` are Python ``str`` indices (Unicode code points): ``text[start:end]`` is
the span. JavaScript counts UTF-16 code units, where a character outside the Basic Multilingual
Plane (most emoji, some CJK) takes two, so every span also carries ``start_utf16``/``end_utf16``:
``text.slice(start_utf16, end_utf16)`` in a browser. Combining characters, right-to-left scripts
and control characters are one code point and one code unit each, so they need nothing special.

Places resolved by the gazetteer add ``ids``, ``country`` and ``confidence`` to their entity; a
country the article implies adds ``evidence`` (the spans that imply it, each with its ``kind`` and
``place``), and ``derived: true`` when the article never names it. Topics that are defaults carry
their ``id`` (``/v1/labels``). All of these are additions: older clients read the rest as before.

With ``format: html`` the engine reads the visible text (:mod:`service.api.html`) and its spans
index into that; :func:`tag_response` maps each one back to the string the caller sent (both units,
over the sent string), keeps the reader's view of it in ``visible`` and adds ``visible_text``.
The engine never sees markup and never knows it was there.

The HTTP layer guarantees the contract the evaluation reads: a span whose text is not
``field[start:end]`` or whose label was not asked for is a bug in the engine; it is dropped and
logged as an error rather than sent.
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from service.api.html import VisibleText
from service.tagging.labels import default_labels
from service.tagging.types import Clue, Entity, Evidence, Mention, ModelInfo, TagResult, Topic

log = logging.getLogger("service.api")


class Utf16:
    """Code point offsets of one string to UTF-16 code unit offsets."""

    def __init__(self, text: str) -> None:
        # Positions of astral characters; each adds one code unit to every offset after it.
        self._astral = [i for i, ch in enumerate(text) if ord(ch) > 0xFFFF] if not text.isascii() else []

    def __call__(self, offset: int) -> int:
        """The UTF-16 offset of code point offset ``offset``."""
        return offset + bisect_left(self._astral, offset) if self._astral else offset


def _score(value: float) -> float:
    """Scores in [0, 1], 4 decimals (float noise can put a sigmoid a hair outside)."""
    return round(min(max(float(value), 0.0), 1.0), 4)


class Field:
    """One request field as the engine read it (``tagged``) and as the caller sent it (``sent``)."""

    def __init__(self, sent: str, view: VisibleText | None = None) -> None:
        self.sent = sent
        self.view = view  # format html: the visible text the engine read, with its map back
        self.tagged = view.text if view is not None else sent
        self.utf16 = Utf16(sent)  # offsets go out over the sent string, in both units
        self.tagged_utf16 = Utf16(self.tagged) if view is not None else self.utf16


def _span(span: Mention | Evidence | Clue, fields: dict[str, Field]) -> dict[str, Any] | None:
    field = fields.get(span.field)
    tagged = field.tagged if field is not None else None
    inside = tagged is not None and 0 <= span.start < span.end <= len(tagged)
    if field is None or not inside or field.tagged[span.start : span.end] != span.text:
        log.error("engine returned a span that is not in the %s: %d:%d %r", span.field, span.start, span.end,
                  span.text[:80])
        return None
    start, end = span.start, span.end
    if field.view is not None:
        start, end = field.view.to_source(start, end)
        if start >= end:  # only breaks the markup implied (no character of the source): nothing to point at
            return None
    out = {
        "start": start,
        "end": end,
        "start_utf16": field.utf16(start),
        "end_utf16": field.utf16(end),
        "text": field.sent[start:end],
        "field": span.field,
    }
    if field.view is not None:  # where the reader sees it: for a page that shows the visible text
        out |= {"visible": span.text, "visible_start": span.start, "visible_end": span.end,
                "visible_start_utf16": field.tagged_utf16(span.start),
                "visible_end_utf16": field.tagged_utf16(span.end)}
    return out


def _scored(spans: Sequence[Mention], fields: dict[str, Field]) -> list[dict[str, Any]]:
    """Mentions (or place evidence) as response dicts; spans that are not in their field are dropped."""
    out = []
    for m in spans:
        span = _span(m, fields)
        if span is not None:
            span["score"] = _score(m.score)
            if isinstance(m, Clue):
                span["kind"] = m.kind
                span["place"] = m.place
            out.append(span)
    return out


def _entity(ent: Entity, fields: dict[str, Field]) -> dict[str, Any] | None:
    mentions = _scored(ent.mentions, fields)
    evidence = _scored(ent.evidence, fields)
    # a derived country has no mention of its own: its evidence is what the response shows of it
    if not mentions and not (ent.derived and evidence):
        return None
    out: dict[str, Any] = {
        "text": ent.text,
        "label": ent.label,
        "score": _score(ent.score),
        "relevance": _score(ent.relevance),
        "mentions": mentions,
        "derived": ent.derived,
    }
    if ent.ids:
        out["ids"] = dict(ent.ids)
    if ent.country is not None:
        out["country"] = {"code": ent.country.code, "name": ent.country.name}
    if ent.confidence is not None:
        out["confidence"] = _score(ent.confidence)
    if evidence:
        out["evidence"] = evidence
    return out


@lru_cache(maxsize=1)
def _topic_ids() -> dict[str, str]:
    """Default topic name -> its id (the IPTC Media Topic code for the IPTC ones), as /v1/labels lists."""
    return {t.label.name: t.id for t in default_labels().topics}


def _topic(topic: Topic, fields: dict[str, Field]) -> dict[str, Any]:
    evidence = [e for e in (_span(ev, fields) for ev in topic.evidence) if e is not None]
    out: dict[str, Any] = {"label": topic.label, "score": _score(topic.score), "evidence": evidence}
    topic_id = _topic_ids().get(topic.label)
    if topic_id is not None:
        out["id"] = topic_id
    return out


def tag_response(
    result: TagResult,
    *,
    text: Field | str,
    title: Field | str | None,
    doc_id: str | None,
    entity_names: Sequence[str],
    topic_names: Sequence[str],
    model: ModelInfo,
    labels_version: str,
    timings_ms: dict[str, float],
) -> dict[str, Any]:
    """The ``TagResponse`` dict of one engine result; ``text`` and ``title`` as read and as sent (a plain
    ``str`` is a field the engine read as sent)."""
    body_field = text if isinstance(text, Field) else Field(text)
    title_field = title if isinstance(title, Field) else Field(title) if title else None
    fields = {"text": body_field} | ({"title": title_field} if title_field is not None else {})
    ent_ok, top_ok = set(entity_names), set(topic_names)
    entities = []
    for ent in result.entities:
        if ent.label not in ent_ok:
            log.error("engine returned an entity label that was not asked for: %r", ent.label)
            continue
        out = _entity(ent, fields)
        if out is not None:
            entities.append(out)
    topics = []
    for top in result.topics:
        if top.label not in top_ok:
            log.error("engine returned a topic label that was not asked for: %r", top.label)
            continue
        topics.append(_topic(top, fields))
    body: dict[str, Any] = {
        "entities": entities,
        "topics": topics,
        "entity_labels": [
            {"label": r.label, "entities": r.entities, "nearest_concept": r.nearest_concept,
             "similarity": None if r.similarity is None else round(max(-1.0, min(1.0, r.similarity)), 4)}
            for r in result.labels
            if r.label in ent_ok
        ],
        "model": {"name": model.name, "version": model.version, "precision": model.precision},
        "labels_version": labels_version,
        "coverage": {
            "chars": result.coverage.chars,
            "words": result.coverage.words,
            "chunks": result.coverage.chunks,
            "truncated": result.coverage.truncated,
        },
        "timings_ms": {k: float(v) for k, v in {**result.timings_ms, **timings_ms}.items()},
    }
    if body_field.view is not None:
        body["visible_text"] = {"text": body_field.tagged,
                                "title": title_field.tagged if title_field is not None else None}
    if doc_id is not None:
        body = {"id": doc_id, **body}
    return body
