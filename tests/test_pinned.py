"""PinnedEngine: the engine is built, and every call runs, in one dedicated thread."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from service.api.state import build_tagger
from service.tagging.pinned import PinnedEngine


class ThreadRecorder:
    """An engine double that records the thread of its construction and of each call."""

    def __init__(self) -> None:
        self.built_in = threading.get_ident()
        self.called_in: list[int] = []
        self.info = "info"

    def tag_many(self, docs: list[str], *, fail: bool = False) -> list[str]:
        self.called_in.append(threading.get_ident())
        if fail:
            raise ValueError("engine refused")
        return [d.upper() for d in docs]

    def tag(self, doc: str) -> str:
        self.called_in.append(threading.get_ident())
        return doc.upper()


def test_build_and_every_call_run_in_the_same_thread_which_is_not_the_callers():
    pinned = PinnedEngine(ThreadRecorder)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda i: pinned.tag_many([f"d{i}"]), range(12)))
    assert pinned.tag("x") == "X"
    assert results == [[f"D{i}"] for i in range(12)]
    engine = pinned.engine
    assert engine.built_in == pinned.thread_ident != threading.get_ident()
    assert engine.called_in == [pinned.thread_ident] * 13
    assert pinned.info == "info"
    pinned.close()


def test_errors_reach_the_caller_and_the_thread_keeps_serving():
    pinned = PinnedEngine(ThreadRecorder)
    with pytest.raises(ValueError, match="engine refused"):
        pinned.tag_many(["a"], fail=True)
    assert pinned.tag_many(["b"]) == ["B"]
    pinned.close()


def test_a_failing_build_raises_in_the_constructor():
    def build() -> ThreadRecorder:
        raise OSError("no model here")

    with pytest.raises(OSError, match="no model here"):
        PinnedEngine(build)


def test_a_call_from_the_engine_thread_itself_runs_inline_instead_of_deadlocking():
    pinned = PinnedEngine(ThreadRecorder)
    assert pinned.call(lambda: pinned.tag("inner")) == "INNER"
    pinned.close()


@pytest.mark.model
def test_the_production_engine_is_pinned_to_the_thread_that_loaded_the_model(monkeypatch):
    from conftest import MODEL

    from service.tagging import engine as engine_module
    from service.tagging.types import Document

    seen: list[int] = []
    original = engine_module.Tagger.tag_many

    def spy(self, *args, **kwargs):
        seen.append(threading.get_ident())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(engine_module.Tagger, "tag_many", spy)
    built = build_tagger({"MODEL": MODEL, "TORCH_THREADS": 0, "THRESHOLD": 0.5})
    assert isinstance(built, PinnedEngine)
    seen.clear()  # the warm-up and self-test ran in the constructor
    result = built.tag_many(
        [Document(text="President Joe Biden met Xi Jinping in Lima, Peru.")]
    )
    assert seen == [built.thread_ident] != [threading.get_ident()]
    # The engine answered from its own thread. Which names a bare nine-word sentence yields is the
    # model's business (models/README.md "Limits": leaders score lower in short sentences).
    assert {e.text for e in result[0].entities} >= {"Lima", "Peru"}
    built.close()
