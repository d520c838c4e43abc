"""Fixtures for the API tests: the app with a test double engine, its client, log capture.

The HTTP-layer tests run against ``CannedEngine`` (``engine_double.py``), a test double with
hand-written answers; tests of the real engine and model are marked ``model``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from engine_double import CannedEngine
from flask import Flask
from flask.testing import FlaskClient

from service import create_app

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
# The evaluation kit (gold file, score.py) beside the checkout, as in CI; absent in a bare clone.
SHARED = ROOT.parent / "shared"
# The model the model-marked tests use: read before the autouse fixture below clears TAGGER_*.
MODEL = os.environ.get("TAGGER_MODEL") or str(ROOT / "models" / "embedded")

__all__ = ["MODEL", "SEEDS", "SHARED", "CannedEngine"]


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


@pytest.fixture(scope="session")
def real_app() -> Flask:
    """The app with the real engine and model (``MODEL``), loaded once for the whole test session.

    Skips when the model folder is missing. Built with TAGGER_* set aside by hand: a session
    fixture is set up before the function-scoped ``_clean_env`` of the test that first asks for it.
    """
    if not os.path.isdir(MODEL):
        pytest.skip(f"no model folder at {MODEL} (build the embedded model first)")
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith("TAGGER_"):
                mp.delenv(name)
        app = create_app(
            {"MODEL": MODEL, "LOAD_IN_BACKGROUND": False, "TIME_BUDGET_S": 300.0, "ACCESS_LOG": False}
        )
    app.config["TESTING"] = True
    return app


@pytest.fixture(scope="session")
def real_client(real_app: Flask) -> FlaskClient:
    """A test client of ``real_app``, checked ready (model loaded, warmed up, self-tested)."""
    client = real_app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.get_json()
    return client


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
