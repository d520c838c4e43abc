"""The engine the app holds (``app.extensions["tagger"]``): loaded once per worker, ready or not.

In production the engine is built in a background thread when the app starts, so ``/healthz``
answers at once while ``/readyz`` (and the tagging endpoints) answer 503 until the model is loaded,
warmed up and self-tested. If loading fails the state stays ``failed``: 503, and the error is
logged. The reason (which names the model's folder) is shown only to a caller with a valid API
key; anyone else learns the kind of error and that the log has the rest. Tests hand in their own
engine (``ENGINE``) or factory (``ENGINE_FACTORY``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from service.api.errors import not_ready
from service.api.security import authenticated
from service.tagging.types import Document, Label, ModelInfo, TagResult

log = logging.getLogger("service.api")

EXTENSION = "tagger"


class Engine(Protocol):
    """What the HTTP layer needs from the engine (:class:`service.tagging.engine.Tagger`)."""

    @property
    def info(self) -> ModelInfo: ...

    def tag_many(
        self,
        documents: list[Document],
        entity_labels: list[Label] | None = None,
        topic_labels: list[Label] | None = None,
        *,
        threshold: float | None = None,
        topic_threshold: float | None = None,
        deadline: float | None = None,
        derive_countries: bool = True,
    ) -> list[TagResult]: ...


EngineFactory = Callable[[Mapping[str, Any]], Engine]


def build_tagger(config: Mapping[str, Any]) -> Engine:
    """The production engine: the configured model, loaded, warmed up and self-tested.

    Built and called in one dedicated thread (:class:`~service.tagging.pinned.PinnedEngine`):
    torch is about 2x slower when request threads call a model another thread loaded.
    """
    from service.tagging.engine import Tagger
    from service.tagging.pinned import PinnedEngine

    return PinnedEngine(lambda: Tagger.from_config(config))


class EngineState:
    """The engine of this worker and whether it is ready."""

    def __init__(self) -> None:
        self.status = "loading"
        self.engine: Engine | None = None
        self.error: str | None = None
        self.error_kind: str | None = None
        self.started = time.monotonic()
        self.load_seconds: float | None = None
        self._thread: threading.Thread | None = None

    def set_ready(self, engine: Engine) -> None:
        """Use ``engine`` from now on."""
        self.engine = engine
        self.load_seconds = round(time.monotonic() - self.started, 3)
        self.status = "ready"

    def start(self, factory: EngineFactory, config: Mapping[str, Any], *, background: bool) -> None:
        """Build the engine with ``factory``: in a daemon thread, or here and now."""
        self.started = time.monotonic()
        if not background:
            self._load(factory, config)
            return
        self._thread = threading.Thread(target=self._load, args=(factory, dict(config)),
                                        name="tagger-load", daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the background load to end (tests, warm-up scripts); True when ready."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.status == "ready"

    def _load(self, factory: EngineFactory, config: Mapping[str, Any]) -> None:
        log.info("loading model %s", config.get("MODEL"))
        try:
            engine = factory(config)
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            self.error_kind = type(exc).__name__
            self.status = "failed"
            log.error("model failed to load; the service stays not ready: %s", self.error, exc_info=exc)
            return
        self.set_ready(engine)
        info = engine.info
        log.info("model %s %s ready in %.1f s", info.name, info.version, self.load_seconds or 0.0)

    def get(self) -> Engine:
        """The engine, or a 503 problem while it loads (with ``Retry-After``) or after it failed."""
        if self.status == "ready" and self.engine is not None:
            return self.engine
        if self.status == "failed":
            if authenticated():
                raise not_ready(f"The model failed to load: {self.error}", None)
            raise not_ready(f"The model failed to load ({self.error_kind}); the reason is in the service "
                            "log (or ask with an API key).", None)
        waited = time.monotonic() - self.started
        raise not_ready(f"The model is loading ({waited:.0f} s so far); retry shortly.", 5)
