"""A test double of the tagging engine, for HTTP-layer tests only (never used outside tests).

``CannedEngine`` "finds" a fixed, hand-written list of names wherever they occur in the text (plain
``str.find``) and returns fixed topics, so a test knows exactly what the API must answer. It can
block on an event or be slow (checking its deadline like the real engine), to test overload and
the time budget. ``factory`` builds one from the app's config, so a real gunicorn can serve it:
``TAGGER_ENGINE_FACTORY=engine_double:factory`` with ``tests/`` on the Python path, and
``TAGGER_TEST_DELAY_S`` for the time each call takes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from service.tagging.types import (
    Coverage,
    DeadlineExceeded,
    Document,
    Entity,
    Evidence,
    Label,
    Mention,
    ModelInfo,
    TagResult,
    Topic,
)

# name found in the text -> (canonical name, entity label it gets when that label is asked for)
CANNED_ENTITIES: dict[str, tuple[str, str]] = {
    "Joe Biden": ("Joe Biden", "political leader"),
    "Biden": ("Joe Biden", "political leader"),
    "Xi Jinping": ("Xi Jinping", "political leader"),
    "Peru": ("Peru", "country"),
    "China": ("China", "country"),
    "Lima": ("Lima", "location"),
}
# topic label -> a word whose sentence is the evidence
CANNED_TOPICS: dict[str, str] = {"diplomacy": "met", "trade and tariffs": "tariff"}


class CannedEngine:
    """Test double: fixed names found with ``str.find``, fixed topics; can block or be slow."""

    info = ModelInfo("canned-test-engine", "0")

    def __init__(self, delay_s: float = 0.0, gate: threading.Event | None = None) -> None:
        self.delay_s = delay_s
        self.gate = gate  # when set, tag_many waits for it (to hold a tagging slot in a test)
        self.calls: list[dict[str, Any]] = []
        self.entered = threading.Event()

    def tag_many(
        self,
        documents: Sequence[Document],
        entity_labels: Sequence[Label] | None = None,
        topic_labels: Sequence[Label] | None = None,
        *,
        threshold: float | None = None,
        topic_threshold: float | None = None,
        deadline: float | None = None,
        derive_countries: bool = True,
    ) -> list[TagResult]:
        self.calls.append(
            {
                "documents": list(documents),
                "entity_labels": entity_labels,
                "topic_labels": topic_labels,
                "threshold": threshold,
                "topic_threshold": topic_threshold,
                "deadline": deadline,
                "derive_countries": derive_countries,
            }
        )
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(10)
        if self.delay_s:
            end = time.monotonic() + self.delay_s
            while time.monotonic() < end:
                if deadline is not None and time.monotonic() > deadline:
                    raise DeadlineExceeded("canned engine ran out of time")
                time.sleep(0.01)
        ents = None if entity_labels is None else {lab.name for lab in entity_labels}
        tops = None if topic_labels is None else [lab.name for lab in topic_labels]
        return [self._one(doc, ents, tops, threshold) for doc in documents]

    def _one(
        self, doc: Document, ents: set[str] | None, tops: list[str] | None, threshold: float | None
    ) -> TagResult:
        found: dict[tuple[str, str], list[Mention]] = {}
        taken: set[tuple[str, int]] = set()
        for field, text in (("text", doc.text), ("title", doc.title or "")):
            for surface in sorted(CANNED_ENTITIES, key=len, reverse=True):
                canonical, label = CANNED_ENTITIES[surface]
                if ents is not None and label not in ents:
                    continue
                start = text.find(surface)
                while start >= 0:
                    span = {(field, i) for i in range(start, start + len(surface))}
                    if not span & taken:  # "Biden" inside "Joe Biden" is not a second mention
                        taken |= span
                        found.setdefault((canonical, label), []).append(
                            Mention(start, start + len(surface), surface, 0.9, field)
                        )
                    start = text.find(surface, start + 1)
        min_score = 0.0 if threshold is None else threshold
        entities = [
            Entity(name, label, 0.9, 0.5, sorted(ms, key=lambda m: (m.field, m.start)))
            for (name, label), ms in found.items()
            if min_score <= 0.9
        ]
        topics = []
        for label in tops if tops is not None else []:
            word = CANNED_TOPICS.get(label)
            at = doc.text.find(word) if word else -1
            if at >= 0:
                topics.append(Topic(label, 0.8, [Evidence(0, len(doc.text), doc.text)]))
        return TagResult(
            entities, topics, Coverage(len(doc.text), len(doc.text.split()), 1, False), {"model": 1.0}
        )


def factory(config: Mapping[str, Any]) -> CannedEngine:
    """A ``CannedEngine`` whose calls take ``TEST_DELAY_S`` seconds (from ``TAGGER_TEST_DELAY_S``)."""
    return CannedEngine(delay_s=float(config.get("TEST_DELAY_S") or 0.0))
