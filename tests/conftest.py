"""Fixtures for the API tests: the app with a test double engine, its client, log capture.

``CannedEngine`` is a test double for the HTTP layer only: it "finds" a fixed, hand-written list of
names wherever they occur in the text (plain ``str.find``) and returns fixed topics, so the tests
know exactly what the API must answer. It is never used outside tests. Tests of the real engine
are marked ``model``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service import create_app
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

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"

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
    ) -> list[TagResult]:
        self.calls.append({"documents": list(documents), "entity_labels": entity_labels,
                           "topic_labels": topic_labels, "threshold": threshold,
                           "topic_threshold": topic_threshold, "deadline": deadline})
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

    def _one(self, doc: Document, ents: set[str] | None, tops: list[str] | None,
             threshold: float | None) -> TagResult:
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
                            Mention(start, start + len(surface), surface, 0.9, field))
                    start = text.find(surface, start + 1)
        min_score = 0.0 if threshold is None else threshold
        entities = [Entity(name, label, 0.9, 0.5, sorted(ms, key=lambda m: (m.field, m.start)))
                    for (name, label), ms in found.items() if 0.9 >= min_score]
        topics = []
        for label in (tops if tops is not None else []):
            word = CANNED_TOPICS.get(label)
            at = doc.text.find(word) if word else -1
            if at >= 0:
                topics.append(Topic(label, 0.8, [Evidence(0, len(doc.text), doc.text)]))
        return TagResult(entities, topics, Coverage(len(doc.text), len(doc.text.split()), 1, False),
                         {"model": 1.0})


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No TAGGER_* variable from the environment leaks into a test."""
    for name in list(os.environ):
        if name.startswith("TAGGER_"):
            monkeypatch.delenv(name)


@pytest.fixture
def engine() -> CannedEngine:
    """The test double engine the default ``app`` uses."""
    return CannedEngine()


@pytest.fixture
def make_app() -> Callable[..., Flask]:
    """``make_app(**config)``: an app with a ``CannedEngine`` unless ENGINE/ENGINE_FACTORY is given."""

    def make(**overrides: Any) -> Flask:
        if "ENGINE" not in overrides and "ENGINE_FACTORY" not in overrides:
            overrides["ENGINE"] = CannedEngine()
        app = create_app(overrides)
        app.config["TESTING"] = True
        return app

    return make


@pytest.fixture
def app(make_app: Callable[..., Flask], engine: CannedEngine) -> Flask:
    """The app with the ``engine`` fixture, default settings."""
    return make_app(ENGINE=engine)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of ``app``."""
    return app.test_client()


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def service_logs() -> Iterator[list[logging.LogRecord]]:
    """Every record logged under the ``service`` loggers during the test (they do not propagate)."""
    handler = _Records()
    logger = logging.getLogger("service")
    logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)


def assert_problem(resp: Any, status: int, slug: str, *, fields: Sequence[str] = ()) -> dict[str, Any]:
    """``resp`` is a problem+json of ``status`` and type ``slug``; ``fields`` have messages in ``errors``."""
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    body = resp.get_json()
    assert body["type"] == f"urn:newsroom-tagger:problem:{slug}"
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["request_id"] == resp.headers["X-Request-ID"]
    assert "Traceback" not in resp.get_data(as_text=True)
    for field in fields:
        assert field in body["errors"], body
        assert body["errors"][field], body
    if status == 422:
        assert isinstance(body["errors"], dict) and body["errors"]
    return body


@pytest.fixture
def problem() -> Callable[..., dict[str, Any]]:
    """``problem(resp, status, slug, fields=...)``: assert a problem+json answer, return its body."""
    return assert_problem
